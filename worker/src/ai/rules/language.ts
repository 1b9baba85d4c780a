/**
 * Which language a section is in (franc, trigram statistics over 82 languages), so the prose
 * checks, which are English, run only on English, and a section in another language says so.
 */
import { francAll } from 'franc-min';
import { STOPWORDS } from './text.ts';

const LETTER = /\p{L}/gu;
const LATIN = /\p{Script=Latin}/gu;
const WORD = /[\p{L}']+/gu;
/** Below this many letters English is recognised by its function words alone. */
const FRANC_MIN_LETTERS = 200;
/** franc's score of the runner-up (the best is 1) from which the two cannot be told apart. */
const AMBIGUOUS = 0.9;
/** Below this many letters franc confuses neighbours (Russian and Bulgarian): no name then. */
const NAME_MIN_LETTERS = 120;
/** franc reads this much of a section: enough for a stable answer, fast on a 100-page one. */
const SAMPLE = 6000;

const names = new Intl.DisplayNames(['en'], { type: 'language' });

/**
 * English checks only make sense on English: text mostly in another script (CJK, Arabic,
 * Cyrillic, Greek, Hebrew, Devanagari...) or Latin text without English function words (French,
 * Spanish...) gets none. Used per paragraph, where franc is unreliable (too short).
 */
export function looksEnglish(text: string): boolean {
  const letters = text.match(LETTER)?.length ?? 0;
  if (letters === 0) return false;
  const latin = text.match(LATIN)?.length ?? 0;
  if (latin / letters < 0.8) return false;
  const words = text.toLowerCase().match(WORD) ?? [];
  if (words.length < 12) return true;
  const common = words.filter((w) => STOPWORDS.has(w)).length;
  return common / words.length >= 0.1;
}

export interface Language {
  /** ISO 639-3 code ("eng", "rus"), or "und" when there is too little text to tell. */
  code: string;
  /** Its English name ("Russian"), or undefined when unknown. */
  name?: string;
  /**
   * The prose checks apply: the section is English, or too short to tell (each paragraph is
   * still checked for English before they run).
   */
  prose: boolean;
}

/** The language of a whole section. */
export function detectLanguage(text: string): Language {
  const sample = text.slice(0, SAMPLE);
  const letters = sample.match(LETTER)?.length ?? 0;
  // Nothing to read (numbers, an empty section): nothing to say about its language either.
  if (letters === 0) return { code: 'und', prose: true };
  if (letters < FRANC_MIN_LETTERS && looksEnglish(sample))
    return { code: 'eng', name: 'English', prose: true };
  const ranked = francAll(sample, { minLength: 3 });
  let code = ranked[0]?.[0] ?? 'und';
  // Scots is English to the trigrams of most business English; franc cannot tell them apart.
  if (code === 'sco') code = 'eng';
  if (code === 'eng') return { code, name: 'English', prose: true };
  // franc mistakes short, jargon-heavy English for a Latin-script neighbour: trust function words.
  if (looksEnglish(sample)) {
    const words = sample.toLowerCase().match(WORD) ?? [];
    const common = words.filter((w) => STOPWORDS.has(w)).length;
    if (words.length > 0 && common / words.length >= 0.2)
      return { code: 'eng', name: 'English', prose: true };
  }
  // A few Latin words where two languages score alike ("List item 1", names, codes) are no
  // language franc can tell (on long text neighbours score alike too, and franc is right): the per-paragraph English test decides. In other scripts close neighbours
  // (Russian, Bulgarian) always score alike, and the best one is named from enough text.
  const short = letters < FRANC_MIN_LETTERS;
  const ambiguous = code === 'und' || (short && (ranked[1]?.[1] ?? 0) >= AMBIGUOUS);
  const latin = (sample.match(LATIN)?.length ?? 0) / letters >= 0.8;
  if (ambiguous && latin) return { code: 'und', prose: true };
  if (code === 'und' || letters < NAME_MIN_LETTERS) return { code, prose: false };
  let name: string | undefined;
  try {
    const named = names.of(code);
    name = named && named !== code ? named : undefined;
  } catch {
    name = undefined;
  }
  return { code, ...(name ? { name } : {}), prose: false };
}

/**
 * What a section in another language is told: the prose checks are English only. `someEnglish`:
 * some of its paragraphs are English and were checked.
 */
export function languageNote(language: Language, someEnglish = false): string | undefined {
  if (language.prose) return undefined;
  const which = language.name ? `this section is ${language.name}` : 'this section is not in English';
  return someEnglish
    ? `Prose checks cover English; ${which}: structural checks, and prose checks on its English paragraphs only.`
    : `Prose checks cover English; ${which}: structural checks only.`;
}
