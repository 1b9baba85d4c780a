/**
 * Prose checks on English paragraphs and table cells: passive voice, hedges, weasel and filler
 * words, wordy phrases and repeated words (the unified/retext ecosystem, with Prism's word lists),
 * and sentences too long to follow. This module finds the flagged words; `wording.ts` turns them
 * into one finding per kind per section.
 */
import retextEnglish from 'retext-english';
import retextIntensify from 'retext-intensify';
import retextPassive from 'retext-passive';
import retextRepeatedWords from 'retext-repeated-words';
import retextSimplify from 'retext-simplify';
import { unified } from 'unified';
import { VFile } from 'vfile';
import { looksEnglish } from './language.ts';
import { type Cell, list, normal, type Span, STOPWORDS, splitSentences, wordsOf } from './text.ts';

export type ProseKind =
  | 'Passive voice'
  | 'Long sentence'
  | 'Hedging'
  | 'Weasel words'
  | 'Filler words'
  | 'Wordiness'
  | 'Repeated word';

/** One flagged span of one cell. */
export interface Hit {
  kind: ProseKind;
  cell: Cell;
  start: number;
  end: number;
  /** The flagged words, verbatim. */
  actual: string;
  /** Replacements retext-simplify proposes. */
  expected: string[];
  /** Weasel words: a vague amount or an intensifier. */
  sort?: 'quantity' | 'intensifier';
  /** Long sentence: its number of words. */
  words?: number;
}

/** Sentences from this many words are hard to follow in one reading. */
export const LONG_SENTENCE = 35;
/** Prose checks need prose: a cell of fewer words is a label, a value or a heading. */
const MIN_PROSE_WORDS = 4;

const HEDGES = new Set(
  list(
    'perhaps, maybe, might, possibly, probably, presumably, apparently, seem, seems, seemed, appears, ' +
      'conceivably, supposedly, arguably, reportedly, somewhat, sort of, kind of, more or less, hopefully, ' +
      'think, believe, guess, suppose, speculate, unsure, in my opinion, in my view',
  ),
);

/** Words that add emphasis but no information. */
const INTENSIFIERS = new Set(
  list('very, quite, really, extremely, exceedingly, remarkably, surprisingly, interestingly'),
);

/** Amounts without a number. */
const VAGUE_QUANTITIES = new Set(list('a lot, lots, significantly, substantially, huge, vast, tiny'));

const FILLERS = new Set(list('basically, actually, literally, essentially, obviously, totally, frankly'));

/**
 * retext-simplify phrases that are ordinary, precise business or technical English (or whose
 * proposed replacement is worse); the rest (in order to, utilize, prior to, due to the fact
 * that, commence...) are genuinely wordy.
 */
const SIMPLIFY_IGNORE = list(
  'a number of, abundance, accelerate, accompany, accordingly, accrue, accurate, ' +
    'additional, address, addressees, adjustment, admissible, advise, aggregate, aircraft, ' +
    'allocate, alleviate, alternatively, and/or, apparent, appropriate, approximate, ' +
    'arrive onboard, attempt, authorise, authorize, benefit, benefit from, capability, ' +
    'caveat, combat environment, combined, comply with, component, comprise, concerning, ' +
    'consequently, consolidate, constitutes, contains, currently, delete, depart, designate, ' +
    'desire, determine, disclose, e.g., economical, effect, elect, eliminate, employ, ' +
    'encounter, ensure, equitable, equivalent, establish, evaluate, evident, exclusively, ' +
    'expertise, expiration, failed to, feasible, females, finalise, finalize, forfeit, ' +
    'forward, frequently, function, has no effect, however, i.e., identical, identify, ' +
    'immediately, impacted, implement, in addition, indicate, indication, initial, ' +
    'interface, is responsible for, it is, liaison, limited number, literally, magnitude, ' +
    'maintain, maximum, minimise, minimize, minimum, modify, monitor, multiple, ' +
    'nevertheless, objective, observe, on the contrary, on the other hand, operate, option, ' +
    'overall, parameters, participate, pass away, perform, permit, portion, previous, ' +
    'previously, prioritise, prioritize, proceed, provide, provided that, purchase, reflect, ' +
    'regarding, relative to, relocate, remain, remainder, render, represents, request, ' +
    'require, requirement, residence, retain, satisfy, selection, shall, similar to, submit, ' +
    'subsequent, substantial, sufficient, terminate, the use of, there are, there is, ' +
    'timely, took advantage of, transmit, type, validate, very, viable, vice, warrant, ' +
    'whereas, your office, notify, obtain, assist, assistance, therefore, demonstrate, initiate, as to, ' +
    'proficiency, remuneration',
);

/** retext-passive participles that follow "is/was" far more often as adjectives or idioms ("is set to 30"). */
const PASSIVE_IGNORE = ['been', 'become', 'come', 'gone', 'fit', 'bound', 'born', 'set', 'done', 'known'];

const BE_VERBS = new Set(
  list("am, are, is, was, were, be, been, being, isn't, aren't, wasn't, weren't, 're, 's"),
);

/** Words allowed between the "be" verb and a participle: "was not restarted". */
const PASSIVE_GAP = new Set(['not', 'never', 'also', 'then', 'already', 'still', 'just', 'all', 'both']);

/**
 * Participles that after "be" describe a state, not an action ("when you are finished", "she is
 * married", "we are interested", "it is based on"): they are adjectives there, not passives.
 */
const STATIVE = new Set(
  list(
    'advanced, aged, attached, automated, balanced, based, bored, centralised, centralized, closed, ' +
      'committed, complicated, concerned, confused, dedicated, defined, described, detailed, determined, ' +
      'disappointed, distributed, divorced, done, dressed, embarrassed, enclosed, engaged, excited, expected, ' +
      'experienced, finished, focused, frightened, gone, included, interested, involved, known, limited, ' +
      'listed, located, married, mentioned, needed, noted, opened, outlined, pleased, prepared, qualified, ' +
      'related, relaxed, required, retired, satisfied, scared, shown, skilled, sophisticated, summarised, ' +
      'summarized, supposed, surprised, talented, tired, used, worried, amazed, annoyed, delighted, ' +
      'exhausted, impressed, obliged, overwhelmed, puzzled, thrilled, convinced, acquainted, entitled, ' +
      'equipped, situated, aligned, allowed, designed',
  ),
);

const processor = unified()
  .use(retextEnglish)
  .use(retextPassive, { ignore: PASSIVE_IGNORE })
  .use(retextSimplify, { ignore: SIMPLIFY_IGNORE })
  .use(retextRepeatedWords)
  .use(retextIntensify);
processor.freeze();

function offsets(place: unknown): [number, number] | undefined {
  if (!place || typeof place !== 'object') return undefined;
  const p = place as { offset?: number; start?: { offset?: number }; end?: { offset?: number } };
  const start = p.start ? p.start.offset : p.offset;
  const end = p.end ? p.end.offset : p.offset;
  return start === undefined || end === undefined || end <= start ? undefined : [start, end];
}

/** Turns one retext message into a hit, or drops it. */
function hitOf(
  message: { source?: string | undefined; place?: unknown; expected?: string[] | undefined },
  cell: Cell,
): Hit | undefined {
  const at = offsets(message.place);
  if (!at) return undefined;
  const [start, end] = at;
  const actual = cell.text.slice(start, end);
  const word = normal(actual);
  const base = { cell, start, end, actual, expected: [] as string[] };
  switch (message.source) {
    case 'retext-passive':
      return STATIVE.has(word) ? undefined : { ...base, kind: 'Passive voice' };
    case 'retext-simplify': {
      const expected = (message.expected ?? []).filter((e) => e.trim() !== '' && e !== 'remove');
      return { ...base, kind: 'Wordiness', expected };
    }
    case 'retext-repeated-words': {
      // "NA NA", "11 11", "Go Go": codes, values and names in tables, not a slip of the pen.
      const first = actual.split(/\s+/)[0] ?? '';
      if (!/^\p{Ll}+$/u.test(first) || (first.length < 3 && !STOPWORDS.has(first))) return undefined;
      // "that that" and "had had" are grammatical.
      if (first === 'that' || first === 'had') return undefined;
      return { ...base, kind: 'Repeated word', expected: [first] };
    }
    case 'retext-intensify': {
      if (word === 'rather' && /^\s+than\b/i.test(cell.text.slice(end))) return undefined;
      if (HEDGES.has(word)) return { ...base, kind: 'Hedging' };
      if (VAGUE_QUANTITIES.has(word)) return { ...base, kind: 'Weasel words', sort: 'quantity' };
      if (INTENSIFIERS.has(word)) return { ...base, kind: 'Weasel words', sort: 'intensifier' };
      if (FILLERS.has(word)) return { ...base, kind: 'Filler words' };
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Passive hits with their "be" verb ("was written", not just "written"), plus regular participles. */
function passiveHits(sentence: Span, words: Span[], listed: Hit[], cell: Cell): Hit[] {
  const hits: Hit[] = [];
  const at = (i: number): string => normal(words[i]?.text ?? '');
  const phrase = (from: number, to: number): Hit => {
    const start = words[from]!.start;
    const end = words[to]!.end;
    return { kind: 'Passive voice', cell, start, end, actual: cell.text.slice(start, end), expected: [] };
  };
  const beBefore = (i: number): number | undefined => {
    let be = i - 1;
    if (be >= 0 && !BE_VERBS.has(at(be)) && (PASSIVE_GAP.has(at(be)) || at(be).endsWith('ly'))) be--;
    return be >= 0 && BE_VERBS.has(at(be)) ? be : undefined;
  };
  for (const hit of listed) {
    const index = words.findIndex((w) => w.start === hit.start);
    if (index === -1) continue;
    const be = beBefore(index);
    hits.push(be === undefined ? hit : phrase(be, index));
  }
  for (let i = 1; i < words.length; i++) {
    const word = at(i);
    if (word.length < 5 || !/^[a-z]+ed$/.test(word) || word.endsWith('eed') || STATIVE.has(word)) continue;
    if (hits.some((h) => h.start <= words[i]!.start && words[i]!.end <= h.end)) continue;
    const be = beBefore(i);
    if (be !== undefined) hits.push(phrase(be, i));
  }
  // "was written by the platform team" says who acted: only an actorless passive hides it.
  return hits.filter(
    (h) =>
      h.start >= sentence.start && h.end <= sentence.end && !AGENT.test(cell.text.slice(h.end, sentence.end)),
  );
}

/** "by" and the actor; "by Friday", "by 3 May", "by the end of" are deadlines, not actors. */
const AGENT =
  /^\s+by\s+(?!(?:the\s+)?(?:end|close|start|beginning|time|middle)\b|(?:next|this|mid|early|late|noon|midnight|tomorrow|tonight|then|now|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|october|november|december|q[1-4])\b|\d)/i;

/** Every prose hit of one paragraph or table cell, in order. */
export function proseHits(cell: Cell): Hit[] {
  const words = wordsOf(cell.text);
  if (words.length < MIN_PROSE_WORDS || !looksEnglish(cell.text)) return [];
  const file = new VFile(cell.text);
  processor.runSync(processor.parse(file), file);
  const raw: Hit[] = [];
  for (const message of file.messages) {
    const hit = hitOf(message, cell);
    if (hit) raw.push(hit);
  }
  const hits: Hit[] = [];
  for (const sentence of splitSentences(cell.text)) {
    const inside = words.filter((w) => w.start >= sentence.start && w.end <= sentence.end);
    const mine = raw.filter((h) => h.start >= sentence.start && h.end <= sentence.end);
    hits.push(
      ...passiveHits(
        sentence,
        inside,
        mine.filter((h) => h.kind === 'Passive voice'),
        cell,
      ),
    );
    hits.push(...mine.filter((h) => h.kind !== 'Passive voice'));
    if (inside.length >= LONG_SENTENCE) {
      hits.push({
        kind: 'Long sentence',
        cell,
        start: sentence.start,
        end: sentence.end,
        actual: sentence.text,
        expected: [],
        words: inside.length,
      });
    }
  }
  // One span, one hit: "very" is both simplify's and intensify's; the first kind keeps it.
  const seen = new Set<string>();
  return hits
    .filter((h) => {
      const key = `${h.start}:${h.end}`;
      if (h.kind !== 'Long sentence' && seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.start - b.start);
}
