/**
 * The `rules` provider: what Prism does when no model is configured (ARCHITECTURE principle 7).
 * Analysis runs real prose checks from the unified/retext ecosystem (passive voice, readability,
 * simpler alternatives, repeated words, hedges, weasel and filler words) over each paragraph and
 * table cell of the section and turns them into findings that name exactly what they flag. Chat
 * searches the document (MiniSearch) and answers with the passages that best match the question,
 * saying plainly that no model answered. Nothing here pretends to be a model: the job stores every
 * item with source "rules" and model "rules".
 */
import MiniSearch from 'minisearch';
import retextEnglish from 'retext-english';
import retextIntensify from 'retext-intensify';
import retextPassive from 'retext-passive';
import retextReadability from 'retext-readability';
import retextRepeatedWords from 'retext-repeated-words';
import retextSimplify from 'retext-simplify';
import { unified } from 'unified';
import { VFile } from 'vfile';
import type {
  AiProvider,
  AnalysisRequest,
  AnalysisResult,
  AnalysisSink,
  ChatRequest,
  ChatResult,
  ChatSink,
  DocumentSection,
  Finding,
} from './provider.ts';
import { ProviderError } from './provider.ts';

export const RULES_MODEL = 'rules';
/** At most this many findings per section: the most useful ones, in document order. */
export const MAX_FINDINGS = 12;
/**
 * Readability: the reader's age, and how many of the 7 formulas must rate a sentence above it.
 * Two of the 7 (Dale-Chall, Spache) hardly ever rate a sentence above 18, so 5/7 is the strictest
 * useful threshold; at 16 or 18 plain 12-word sentences with one long word flag, at 20 only dense,
 * jargon-heavy ones do.
 */
const READING_AGE = 20;
const READABILITY_THRESHOLD = 5 / 7;
const READABILITY_MIN_WORDS = 8;
/** Sentences this long are flagged whatever the formulas say; from VERY_LONG on they matter more. */
const LONG_SENTENCE = 35;
const VERY_LONG_SENTENCE = 50;
const QUOTE_MAX = 1000;
/*
 * Confidence is how reliably the rule finds what it names: 0.95 repeated words, 0.9 passive voice
 * (retext-passive's list) and long sentences, 0.85 regular-participle passives, hedges and vague
 * amounts, 0.8 simplify, intensifiers and fillers; readability formulas 0.82-0.95 with agreement.
 * All are at least 0.8, the job's default MIN_CONFIDENCE: a lower one would never be shown.
 */
const CLARITY = 9;
const EVIDENCE = 3;
const IMPACT = 5;

/** A comma-separated list of words and phrases. */
const list = (text: string): string[] => text.split(',').map((item) => item.trim());

// ---------------------------------------------------------------------------------------------
// Word lists. retext-intensify flags about 400 words, many of them ordinary ("that", "then",
// "up", "decided"); only the ones below become findings, each under the category it belongs to.

const HEDGES = new Set(
  list(
    'perhaps, maybe, might, possibly, probably, presumably, presumable, apparently, seem, ' +
      'seems, seemed, appear to be, appears, appeared, conceivably, supposedly, arguably, ' +
      'reportedly, alleged, somewhat, sort of, kind of, more or less, hopefully, ' +
      'likely, unlikely, think, thinks, believe, believes, believed, assume, assumes, guess, ' +
      'guessed, suppose, supposes, speculate, speculated, look like, looks like, unsure, ' +
      'in my opinion, in my view, my understanding is, my impression',
  ),
);

/** Words that add emphasis but no information. */
const INTENSIFIERS = new Set(
  list(
    'very, quite, really, extremely, fairly, rather, pretty, relatively, exceedingly, ' +
      'remarkably, surprisingly, interestingly',
  ),
);

/** Amounts without a number. */
const VAGUE_QUANTITIES = new Set(
  list(
    'many, several, various, a lot, lots, significantly, substantially, largely, mostly, huge, vast, tiny',
  ),
);

const FILLERS = new Set(
  list(
    'basically, actually, literally, essentially, obviously, clearly, simply, totally, ' +
      'absolutely, definitely, certainly, truly, frankly',
  ),
);

/**
 * retext-simplify phrases that are ordinary, precise business or technical English (or whose
 * proposed replacement is worse); the remaining ~170 (in order to, utilize, prior to, due to the
 * fact that, commence, facilitate...) are genuinely wordy.
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
    'whereas, your office',
);

/** retext-passive participles that follow "is/was" far more often as adjectives or idioms ("is set to 30"). */
const PASSIVE_IGNORE = ['been', 'become', 'come', 'gone', 'fit', 'bound', 'born', 'set'];

const BE_VERBS = new Set(list("am, are, is, was, were, be, been, being, isn't, aren't, wasn't, weren't"));

/** Words allowed between the "be" verb and a regular participle: "was not restarted". */
const PASSIVE_GAP = new Set(['not', 'never', 'also', 'then', 'already', 'still', 'just', 'all', 'both']);

/**
 * Regular (-ed) words that follow "is/was" as adjectives or as references to the document itself
 * ("as described below"): retext-passive lists irregular participles only, and Prism adds the
 * regular ones ("was decided", "were deployed") less these.
 */
const ED_ADJECTIVES = new Set(
  list(
    'advanced, aged, attached, automated, balanced, based, bored, centralised, centralized, ' +
      'committed, complicated, concerned, confused, dedicated, defined, described, detailed, ' +
      'determined, disappointed, distributed, embarrassed, enclosed, excited, expected, ' +
      'experienced, focused, frightened, included, interested, involved, limited, listed, ' +
      'located, married, mentioned, needed, noted, outlined, pleased, prepared, qualified, ' +
      'related, required, satisfied, scared, skilled, sophisticated, summarised, summarized, ' +
      'supposed, surprised, talented, tired, used, worried',
  ),
);

const STOPWORDS = new Set(
  (
    'a about above after again all also am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers him his how ' +
    'i if in into is it its itself just me more most my no nor not now of off on once only or other our ours out over own ' +
    'same she should so some such than that the their theirs them then there these they this those through to too under ' +
    'until up very was we were what when where which while who whom why will with would you your yours'
  ).split(' '),
);

// ---------------------------------------------------------------------------------------------
// Text helpers

/** A line of the section is a paragraph or a table row; table cells are separated by tabs. */
function cellsOf(text: string): string[] {
  const cells: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    for (const cell of line.split('\t')) if (cell.trim() !== '') cells.push(cell);
  }
  return cells;
}

const LETTER = /\p{L}/gu;
const LATIN = /\p{Script=Latin}/gu;
const WORD = /[\p{L}']+/gu;

/**
 * English checks only make sense on English: text mostly in another script (CJK, Arabic,
 * Cyrillic, Greek, Hebrew, Devanagari...) or Latin text without English function words (French,
 * Spanish...) gets none.
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

const q = (text: string): string => `“${text}”`;

function listOf(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1)}`;
}

const normal = (text: string): string => text.toLowerCase().replace(/’/g, "'").replace(/\s+/g, ' ').trim();

function unique<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Gives `replacement` the capital of `original` when it had one. */
function matchCase(original: string, replacement: string): string {
  const first = original.charAt(0);
  if (first !== first.toUpperCase() || first === first.toLowerCase()) return replacement;
  return replacement.charAt(0).toUpperCase() + replacement.slice(1);
}

/** A verbatim, trimmed piece of `text` of at most `max` characters around [start, end). */
function excerpt(text: string, start: number, end: number, max = QUOTE_MAX): string {
  if (text.trim().length <= max) return text.trim();
  const room = Math.max(0, max - (end - start));
  let from = Math.max(0, start - Math.floor(room / 3));
  let to = Math.min(text.length, from + max);
  if (to - from < max) from = Math.max(0, to - max);
  // Cut at word boundaries, inside the window.
  if (from > 0) {
    const space = text.indexOf(' ', from);
    if (space !== -1 && space < start) from = space + 1;
  }
  if (to < text.length) {
    const space = text.lastIndexOf(' ', to);
    if (space > end) to = space;
  }
  return text.slice(from, to).trim().slice(0, max).trim();
}

/** The first words of a sentence, to tell two similar findings apart. */
function opening(sentence: string, words = 7): string {
  const parts = sentence.trim().split(/\s+/);
  const head = parts.slice(0, words).join(' ');
  return parts.length > words ? `${head}…` : head;
}

// ---------------------------------------------------------------------------------------------
// The retext pipeline and the nlcst tree it produces

interface TreeNode {
  type: string;
  value?: string;
  children?: TreeNode[];
  position?: { start: { offset?: number | undefined }; end: { offset?: number | undefined } } | undefined;
}

interface Word {
  text: string;
  start: number;
  end: number;
}

interface Sentence {
  start: number;
  end: number;
  text: string;
  words: Word[];
}

const processor = unified()
  .use(retextEnglish)
  .use(retextPassive, { ignore: PASSIVE_IGNORE })
  .use(retextReadability, {
    age: READING_AGE,
    threshold: READABILITY_THRESHOLD,
    minWords: READABILITY_MIN_WORDS,
  })
  .use(retextSimplify, { ignore: SIMPLIFY_IGNORE })
  .use(retextRepeatedWords)
  .use(retextIntensify);
processor.freeze();

function sentencesOf(tree: TreeNode, cell: string): Sentence[] {
  const sentences: Sentence[] = [];
  const walk = (node: TreeNode): void => {
    if (node.type === 'SentenceNode') {
      const start = node.position?.start.offset;
      const end = node.position?.end.offset;
      if (start === undefined || end === undefined) return;
      const words: Word[] = [];
      for (const child of node.children ?? []) {
        const s = child.position?.start.offset;
        const e = child.position?.end.offset;
        if (child.type === 'WordNode' && s !== undefined && e !== undefined) {
          words.push({ text: cell.slice(s, e), start: s, end: e });
        }
      }
      sentences.push({ start, end, text: cell.slice(start, end), words });
      return;
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(tree);
  return sentences;
}

// ---------------------------------------------------------------------------------------------
// Hits (one flagged span) and candidates (one finding: one category on one sentence)

type Category =
  | 'Passive voice'
  | 'Readability'
  | 'Hedging'
  | 'Weasel words'
  | 'Filler words'
  | 'Wordiness'
  | 'Repeated word';

interface Hit {
  category: Category;
  start: number;
  end: number;
  /** The flagged text, verbatim. */
  actual: string;
  /** Replacements retext proposes (simplify, repeated words). */
  expected: string[];
  /** Simplify: the phrase can simply go. */
  omit: boolean;
  /** Weasel words: 'quantity' or 'intensifier'. */
  kind?: 'quantity' | 'intensifier';
  /** Readability: how many of the 7 formulas rate the sentence too hard (0 when only long). */
  formulas?: number;
  /** Passive voice: found by Prism's regular-participle check rather than retext-passive's list. */
  inferred?: boolean;
}

interface Candidate {
  category: Category;
  cell: number;
  sentence: Sentence;
  cellText: string;
  hits: Hit[];
  finding: Finding;
  score: number;
}

const CATEGORY_ORDER: Category[] = [
  'Repeated word',
  'Passive voice',
  'Wordiness',
  'Hedging',
  'Weasel words',
  'Filler words',
  'Readability',
];

/** How useful a finding of each category is to a review team, before adjustments. */
const USEFULNESS: Record<Category, number> = {
  'Repeated word': 0.95,
  Readability: 0.75,
  'Passive voice': 0.7,
  Wordiness: 0.65,
  Hedging: 0.6,
  'Weasel words': 0.5,
  'Filler words': 0.4,
};

function offsetOf(point: unknown): number | undefined {
  if (!point || typeof point !== 'object') return undefined;
  const p = point as { offset?: number; start?: { offset?: number } };
  return p.start ? p.start.offset : p.offset;
}

function endOffsetOf(place: unknown): number | undefined {
  if (!place || typeof place !== 'object') return undefined;
  const p = place as { offset?: number; end?: { offset?: number } };
  return p.end ? p.end.offset : p.offset;
}

/** Turns one retext message into a hit, or drops it. */
function hitOf(
  message: {
    source?: string | undefined;
    ruleId?: string | undefined;
    reason: string;
    place?: unknown;
    actual?: string | undefined;
    expected?: string[] | undefined;
  },
  cell: string,
): Hit | undefined {
  const start = offsetOf(message.place);
  const end = endOffsetOf(message.place);
  if (start === undefined || end === undefined || end <= start) return undefined;
  const actual = cell.slice(start, end);
  const word = normal(actual);
  const base = { start, end, actual, expected: [] as string[], omit: false };
  switch (message.source) {
    case 'retext-passive':
      return { ...base, category: 'Passive voice' };
    case 'retext-readability': {
      const all = /according to all/.test(message.reason);
      const some = /according to (\d+) out of/.exec(message.reason);
      // Should the wording ever change, the threshold is what the message guarantees.
      const formulas = all ? 7 : some ? Number(some[1]) : Math.ceil(READABILITY_THRESHOLD * 7);
      return { ...base, category: 'Readability', formulas };
    }
    case 'retext-simplify': {
      // "aforementioned" has the replacement "remove": that means it can go.
      const expected = (message.expected ?? []).filter((e) => e.trim() !== '');
      const replacements = expected.filter((e) => e !== 'remove');
      return {
        ...base,
        category: 'Wordiness',
        expected: replacements,
        omit: /remove it/.test(message.reason) || replacements.length < expected.length,
      };
    }
    case 'retext-repeated-words':
      if (/^\d/.test(word)) return undefined;
      return { ...base, category: 'Repeated word', expected: message.expected ?? [] };
    case 'retext-intensify': {
      // "rather than" is a comparison, not a softener.
      if (word === 'rather' && /^\s+than\b/i.test(cell.slice(end))) return undefined;
      if (HEDGES.has(word)) return { ...base, category: 'Hedging' };
      if (VAGUE_QUANTITIES.has(word)) return { ...base, category: 'Weasel words', kind: 'quantity' };
      if (INTENSIFIERS.has(word)) return { ...base, category: 'Weasel words', kind: 'intensifier' };
      if (FILLERS.has(word)) return { ...base, category: 'Filler words' };
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Passive hits with their "be" verb ("was written", not just "written"), plus regular participles. */
function passiveHits(sentence: Sentence, retextHits: Hit[], cell: string): Hit[] {
  const hits: Hit[] = [];
  const words = sentence.words;
  const at = (i: number): string => normal(words[i]?.text ?? '');
  const phrase = (from: number, to: number): Hit => {
    const start = words[from]!.start;
    const end = words[to]!.end;
    return {
      category: 'Passive voice',
      start,
      end,
      actual: cell.slice(start, end),
      expected: [],
      omit: false,
    };
  };
  for (const hit of retextHits) {
    const index = words.findIndex((w) => w.start === hit.start);
    hits.push(index > 0 && BE_VERBS.has(at(index - 1)) ? phrase(index - 1, index) : hit);
  }
  for (let i = 1; i < words.length; i++) {
    const word = at(i);
    if (word.length < 5 || !word.endsWith('ed') || word.endsWith('eed') || ED_ADJECTIVES.has(word)) continue;
    if (!/^[a-z]+$/.test(word)) continue;
    if (hits.some((h) => h.start <= words[i]!.start && words[i]!.end <= h.end)) continue;
    let be = i - 1;
    if (!BE_VERBS.has(at(be)) && (PASSIVE_GAP.has(at(be)) || at(be).endsWith('ly'))) be--;
    if (be >= 0 && BE_VERBS.has(at(be))) hits.push({ ...phrase(be, i), inferred: true });
  }
  return hits.sort((a, b) => a.start - b.start);
}

/** The sentence with its edits applied, for an `example`; undefined when nothing changes. */
function rewrite(
  sentence: Sentence,
  edits: { start: number; end: number; text: string }[],
): string | undefined {
  let text = sentence.text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    const s = edit.start - sentence.start;
    const e = edit.end - sentence.start;
    text = text.slice(0, s) + edit.text + text.slice(e);
  }
  text = text
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/ ([,.;:!?])/g, '$1')
    .trim();
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return text !== sentence.text.trim() && text.length <= 4000 ? text : undefined;
}

function agentAfter(sentence: Sentence, hit: Hit): string | undefined {
  const rest = sentence.text.slice(hit.end - sentence.start);
  const match = /^\s+by\s+((?:[\p{L}\p{N}'’-]+\s?){1,4})/u.exec(rest);
  if (!match) return undefined;
  // Stop before a verb-ish connector so "by the team and then" gives "the team".
  const words = match[1]!.trim().split(/\s+/);
  const stop = words.findIndex(
    (w, i) => i > 0 && /^(and|or|but|to|in|on|at|for|with|after|before|when)$/i.test(w),
  );
  return (stop === -1 ? words : words.slice(0, stop)).join(' ');
}

function longWords(sentence: Sentence): string[] {
  const words = unique(
    sentence.words.filter((w) => /^[\p{L}-]+$/u.test(w.text) && w.text.length >= 11),
    (w) => w.text.toLowerCase(),
  );
  return words
    .sort((a, b) => b.text.length - a.text.length)
    .slice(0, 2)
    .sort((a, b) => a.start - b.start)
    .map((w) => w.text);
}

/** Where a long sentence could be split: the connector nearest its middle. */
function splitPoint(sentence: Sentence): string | undefined {
  const middle = sentence.text.length / 2;
  let best: { index: number; after: string } | undefined;
  for (const match of sentence.text.matchAll(
    /(;\s+|,\s+(?=(?:and|but|so|which|while|because|although)\b))/g,
  )) {
    const index = match.index + match[0].length;
    if (!best || Math.abs(index - middle) < Math.abs(best.index - middle)) {
      best = { index, after: sentence.text.slice(index) };
    }
  }
  if (!best || best.index < 30 || best.index > sentence.text.length - 30) return undefined;
  return best.after.split(/\s+/).slice(0, 4).join(' ');
}

function build(
  category: Category,
  sentence: Sentence,
  hits: Hit[],
  cell: string,
): Omit<Finding, 'quote'> & {
  score: number;
} {
  const words = unique(
    hits.map((h) => h.actual.replace(/\s+/g, ' ')),
    (w) => w.toLowerCase(),
  );
  const quoted = words.map(q);
  const refs = [CLARITY];
  switch (category) {
    case 'Passive voice': {
      const agent = hits.length === 1 ? agentAfter(sentence, hits[0]!) : undefined;
      const verb = quoted.length === 1 ? 'is' : 'are';
      return {
        type: 'suggestion',
        category,
        description: agent
          ? `${listOf(quoted)} ${verb} passive voice: the actor (${q(agent)}) comes after the action instead of leading the sentence.`
          : `${listOf(quoted)} ${verb} passive voice, so the sentence does not say who acted.`,
        suggestion: agent
          ? `Make ${q(agent)} the subject and use the active verb.`
          : 'Name who acted and make them the subject of an active verb.',
        questions: agent ? [] : ['Who did this?'],
        refs,
        risk: 'low',
        confidence: hits.every((h) => h.inferred) ? 0.85 : 0.9,
        score: USEFULNESS[category] + 0.03 * (hits.length - 1),
      };
    }
    case 'Readability': {
      const count = sentence.words.length;
      const formulas = Math.max(...hits.map((h) => h.formulas ?? 0));
      const veryLong = count >= VERY_LONG_SENTENCE;
      const long = count >= LONG_SENTENCE;
      const hard = longWords(sentence);
      const split = long ? splitPoint(sentence) : undefined;
      const rating = `${formulas} of 7 readability formulas rate it above a reading age of ${READING_AGE}`;
      let description: string;
      if (long && formulas > 0) description = `This ${count}-word sentence is long and dense: ${rating}.`;
      else if (long)
        description = `This sentence runs to ${count} words; sentences over ${LONG_SENTENCE} words are hard to follow in one reading.`;
      else
        description = `This ${count}-word sentence is hard to read: ${rating}${hard.length > 0 ? `, largely because of long words such as ${listOf(hard.map(q))}` : ''}.`;
      let suggestion: string;
      if (long)
        suggestion = `Split it into sentences of under 25 words, one point each${split ? `, for example before ${q(split)}` : ''}.`;
      else
        suggestion = `Use shorter, everyday words${hard.length > 0 ? ` (for ${q(hard[0]!)} and the like)` : ''}, or split the sentence in two.`;
      return {
        type: veryLong ? 'important' : 'suggestion',
        category,
        description,
        suggestion,
        questions: [],
        refs,
        risk: veryLong ? 'medium' : 'low',
        // A word count is a fact; the formulas agree more or less.
        confidence: long ? 0.9 : Math.round((0.5 + (formulas / 7) * 0.45) * 100) / 100,
        score: USEFULNESS[category] + (veryLong ? 0.15 : long ? 0.05 : 0),
      };
    }
    case 'Hedging':
      return {
        type: 'suggestion',
        category,
        description: `${listOf(quoted)} ${quoted.length === 1 ? 'hedges' : 'hedge'} this statement, so the reader cannot tell what is established and what is a guess.`,
        suggestion:
          'If it is confirmed, state it plainly; if it is not, say what is uncertain and what would settle it.',
        questions: ['Is this confirmed?'],
        refs: [CLARITY, EVIDENCE],
        risk: 'low',
        confidence: 0.85,
        score: USEFULNESS[category] + 0.03 * (hits.length - 1),
      };
    case 'Weasel words': {
      const quantities = unique(
        hits.filter((h) => h.kind === 'quantity').map((h) => q(h.actual.replace(/\s+/g, ' '))),
        (w) => w.toLowerCase(),
      );
      const intensifiers = unique(
        hits.filter((h) => h.kind === 'intensifier').map((h) => q(h.actual.replace(/\s+/g, ' '))),
        (w) => w.toLowerCase(),
      );
      const parts: string[] = [];
      if (quantities.length > 0)
        parts.push(
          `${listOf(quantities)} ${quantities.length === 1 ? 'is a vague amount' : 'are vague amounts'} with no number behind ${quantities.length === 1 ? 'it' : 'them'}`,
        );
      if (intensifiers.length > 0)
        parts.push(
          `${listOf(intensifiers)} ${intensifiers.length === 1 ? 'is an intensifier' : 'are intensifiers'} that ${intensifiers.length === 1 ? 'adds' : 'add'} emphasis but no information`,
        );
      const description = `${parts.join('; ')}.`;
      return {
        type: 'suggestion',
        category,
        description,
        suggestion:
          quantities.length > 0
            ? 'Give the number or range (for example “14 of 20 customers”, “40% slower”).'
            : 'Delete the intensifier, or replace it with the fact that makes it true (a number, a date, an effect).',
        questions: quantities.length > 0 ? ['How many, or how much, exactly?'] : [],
        refs: quantities.length > 0 ? [CLARITY, IMPACT] : refs,
        risk: 'low',
        confidence: quantities.length > 0 ? 0.85 : 0.8,
        score: USEFULNESS[category] + (quantities.length > 0 ? 0.1 : 0) + 0.02 * (hits.length - 1),
      };
    }
    case 'Filler words':
      return {
        type: 'suggestion',
        category,
        description: `${listOf(quoted)} ${quoted.length === 1 ? 'is a filler word' : 'are filler words'} that ${quoted.length === 1 ? 'adds' : 'add'} nothing to the sentence.`,
        suggestion: `Delete ${quoted.length === 1 ? 'it' : 'them'}; if the point needs support, give the evidence instead.`,
        questions: [],
        refs,
        risk: 'low',
        confidence: 0.8,
        score: USEFULNESS[category],
      };
    case 'Wordiness': {
      const swaps = unique(hits, (h) => normal(h.actual));
      const says = swaps.map((h) => {
        const alternatives = h.expected.slice(0, 2).map((e) => q(matchCase(h.actual, e)));
        if (alternatives.length === 0) return `${q(h.actual)} can go`;
        return `${q(h.actual)} can be ${listOf(alternatives, 'or')}${h.omit ? ' (or go)' : ''}`;
      });
      const does = swaps.map((h) =>
        h.expected.length === 0
          ? `delete ${q(h.actual)}`
          : `write ${q(matchCase(h.actual, h.expected[0]!))} for ${q(h.actual)}`,
      );
      const example = rewrite(
        sentence,
        hits.map((h) => ({
          start: h.start,
          end: h.end,
          text: h.expected.length > 0 ? matchCase(h.actual, h.expected[0]!) : '',
        })),
      );
      const suggestion = `${does.join('; ')}.`;
      return {
        type: 'suggestion',
        category,
        description: `Wordy: ${says.join('; ')}.`,
        suggestion: suggestion.charAt(0).toUpperCase() + suggestion.slice(1),
        ...(example ? { example } : {}),
        questions: [],
        refs,
        risk: 'low',
        confidence: 0.8,
        score: USEFULNESS[category] + 0.03 * (hits.length - 1),
      };
    }
    case 'Repeated word': {
      const repeated = unique(
        hits.map((h) => h.expected[0] ?? h.actual.split(/\s+/)[0] ?? h.actual),
        (w) => w.toLowerCase(),
      );
      const example = rewrite(
        sentence,
        hits.map((h) => {
          const first = cell.slice(h.start, h.end).split(/\s+/)[0] ?? '';
          return { start: h.start, end: h.end, text: first };
        }),
      );
      return {
        type: 'suggestion',
        category,
        description: `${listOf(repeated.map(q))} ${repeated.length === 1 ? 'appears' : 'each appear'} twice in a row (${listOf(words.map(q))}).`,
        suggestion: `Delete the second ${listOf(repeated.map(q))}.`,
        ...(example ? { example } : {}),
        questions: [],
        refs,
        risk: 'low',
        confidence: 0.95,
        score: USEFULNESS[category],
      };
    }
  }
}

/** Every candidate finding of one table cell or paragraph, in document order. */
function checkCell(cell: string, cellIndex: number): Candidate[] {
  if (!looksEnglish(cell)) return [];
  const file = new VFile(cell);
  const tree = processor.runSync(processor.parse(file), file) as unknown as TreeNode;
  const sentences = sentencesOf(tree, cell);
  if (sentences.length === 0) return [];

  const hits: Hit[] = [];
  for (const message of file.messages) {
    const hit = hitOf(message, cell);
    if (hit) hits.push(hit);
  }
  const sentenceOf = (offset: number): number =>
    sentences.findIndex((s) => s.start <= offset && offset < s.end);

  const candidates: Candidate[] = [];
  sentences.forEach((sentence, index) => {
    const inside = hits.filter((h) => sentenceOf(h.start) === index);
    const byCategory = new Map<Category, Hit[]>();
    const add = (hit: Hit): void => {
      // One span, one finding: a later category never re-flags exactly the words an earlier one
      // took ("very" is both simplify's and intensify's); "significantly" inside "was
      // significantly affected" is still a weasel word.
      for (const list of byCategory.values()) {
        if (list.some((h) => h.start === hit.start && h.end === hit.end)) return;
      }
      byCategory.set(hit.category, [...(byCategory.get(hit.category) ?? []), hit]);
    };
    const passive = passiveHits(
      sentence,
      inside.filter((h) => h.category === 'Passive voice'),
      cell,
    );
    for (const category of CATEGORY_ORDER) {
      if (category === 'Passive voice') passive.forEach(add);
      else if (category === 'Readability') {
        const flagged = inside.filter((h) => h.category === 'Readability');
        if (flagged.length > 0) byCategory.set(category, flagged);
        else if (sentence.words.length >= LONG_SENTENCE)
          byCategory.set(category, [
            {
              category,
              start: sentence.start,
              end: sentence.end,
              actual: sentence.text,
              expected: [],
              omit: false,
              formulas: 0,
            },
          ]);
      } else inside.filter((h) => h.category === category).forEach(add);
    }
    for (const [category, list] of byCategory) {
      if (list.length === 0) continue;
      const sorted = [...list].sort((a, b) => a.start - b.start);
      const { score, ...finding } = build(category, sentence, sorted, cell);
      candidates.push({ category, cell: cellIndex, sentence, cellText: cell, hits: sorted, finding, score });
    }
  });
  return candidates;
}

function quoteOf(candidate: Candidate): string {
  const { sentence, hits, cellText } = candidate;
  const first = hits[0]!;
  if (sentence.text.trim().length <= QUOTE_MAX) return sentence.text.trim();
  // A sentence over 1000 characters: the part of it around what is flagged.
  const from = candidate.category === 'Readability' ? sentence.start : first.start;
  return excerpt(
    cellText.slice(sentence.start, sentence.end),
    from - sentence.start,
    first.end - sentence.start,
  );
}

/** The findings of one section: at most MAX_FINDINGS, the most useful, in document order. */
export function checkSection(section: DocumentSection, signal?: AbortSignal): Finding[] {
  const all: Candidate[] = [];
  cellsOf(section.text).forEach((cell, index) => {
    if (signal?.aborted) throw signal.reason;
    all.push(...checkCell(cell, index));
  });
  const ordered = all.sort(
    (a, b) =>
      a.cell - b.cell ||
      a.sentence.start - b.sentence.start ||
      a.hits[0]!.start - b.hits[0]!.start ||
      CATEGORY_ORDER.indexOf(a.category) - CATEGORY_ORDER.indexOf(b.category),
  );

  // Two findings never read the same: a repeat names its sentence, an exact repeat goes.
  const seen = new Set<string>();
  const distinct: Candidate[] = [];
  for (const candidate of ordered) {
    let description = candidate.finding.description;
    if (seen.has(description)) {
      description = `${description.replace(/\.$/, '')} (in ${q(opening(candidate.sentence.text))}).`;
      if (seen.has(description)) continue;
    }
    seen.add(description);
    candidate.finding = { ...candidate.finding, description, quote: quoteOf(candidate) };
    distinct.push(candidate);
  }

  // Keep the most useful, spread over the categories, then restore document order.
  const chosen = new Set<Candidate>();
  const perCategory = new Map<Category, number>();
  while (chosen.size < MAX_FINDINGS && chosen.size < distinct.length) {
    let best: Candidate | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const candidate of distinct) {
      if (chosen.has(candidate)) continue;
      const score = candidate.score - 0.2 * (perCategory.get(candidate.category) ?? 0);
      if (score > bestScore) {
        best = candidate;
        bestScore = score;
      }
    }
    if (!best) break;
    chosen.add(best);
    perCategory.set(best.category, (perCategory.get(best.category) ?? 0) + 1);
  }
  return distinct.filter((c) => chosen.has(c)).map((c) => c.finding);
}

// ---------------------------------------------------------------------------------------------
// Chat: the passages of the document that best match the question

interface Passage {
  id: number;
  sectionId: string;
  title: string;
  text: string;
}

const PASSAGES = 3;
const PASSAGE_MAX = 500;
const NO_MODEL = 'No AI model is configured on this Prism, so this is not an AI answer';

const processTerm = (term: string): string | null => {
  const t = term.toLowerCase();
  return t.length < 2 || STOPWORDS.has(t) ? null : t;
};

/** The part of a long passage around the first word of the question it contains. */
function passageExcerpt(text: string, terms: string[]): string {
  const trimmed = text.trim();
  if (trimmed.length <= PASSAGE_MAX) return trimmed;
  const lower = trimmed.toLowerCase();
  const hits = terms.map((t) => lower.indexOf(t.toLowerCase())).filter((i) => i >= 0);
  const at = hits.length > 0 ? Math.min(...hits) : 0;
  const piece = excerpt(trimmed, at, at + 1, PASSAGE_MAX - 2);
  const start = trimmed.indexOf(piece);
  return `${start > 0 ? '…' : ''}${piece}${start + piece.length < trimmed.length ? '…' : ''}`;
}

export function searchAnswer(request: ChatRequest): { text: string; citations: string[] } {
  const passages: Passage[] = [];
  for (const section of request.document.sections) {
    for (const line of section.text.split(/\r\n|\r|\n/)) {
      const text = line.replace(/\t+/g, ' · ').trim();
      if (text !== '')
        passages.push({ id: passages.length, sectionId: section.id, title: section.title, text });
    }
  }
  const index = new MiniSearch<Passage>({
    fields: ['text', 'title'],
    storeFields: ['sectionId', 'title', 'text'],
    processTerm,
    searchOptions: { fuzzy: 0.2, prefix: true, boost: { text: 2 } },
  });
  index.addAll(unique(passages, (p) => `${p.sectionId}\u0000${p.text}`));
  const results = index.search(request.question.text, {
    boostDocument: (_id, _term, stored) =>
      request.sectionId && stored?.sectionId === request.sectionId ? 1.2 : 1,
  });
  const top = results[0]?.score ?? 0;
  const best = results.filter((r) => r.score >= top * 0.25).slice(0, PASSAGES);
  const question = request.question.text.trim().replace(/\s+/g, ' ');
  const shortQuestion = question.length > 200 ? `${question.slice(0, 200)}…` : question;
  if (best.length === 0) {
    return {
      text: `${NO_MODEL}. Prism can only search the document for passages that match your question, and no passage matches ${q(shortQuestion)}. Try other words, such as a term the document itself uses.`,
      citations: [],
    };
  }
  const lines = best.map((r, i) => {
    const passage = passageExcerpt(String(r.text), r.terms);
    const number = best.length > 1 ? `${i + 1}. ` : '';
    return `${number}From ${q(String(r.title))} [${String(r.sectionId)}]: ${q(passage)}`;
  });
  const intro =
    best.length === 1
      ? 'this is the passage of the document that best matches your question'
      : `these are the ${best.length} passages of the document that best match your question`;
  return {
    text: `${NO_MODEL}: ${intro}.\n\n${lines.join('\n')}`,
    citations: unique(
      best.map((r) => String(r.sectionId)),
      (id) => id,
    ),
  };
}

/** The text in pieces of a few words each; joined, they give the text back exactly. */
export function chunks(text: string, words = 4): string[] {
  const tokens = text.split(/(?<=\s)(?=\S)/);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i += words) out.push(tokens.slice(i, i + words).join(''));
  return out;
}

// ---------------------------------------------------------------------------------------------

export class RulesProvider implements AiProvider {
  readonly name = 'rules' as const;

  async analyze(request: AnalysisRequest, sink: AnalysisSink, signal: AbortSignal): Promise<AnalysisResult> {
    if (signal.aborted) throw signal.reason;
    const section = request.document.sections.find((s) => s.id === request.sectionId);
    if (!section) throw new ProviderError('not_found', 'The section to analyze does not exist.');
    const findings = checkSection(section, signal);
    await sink.started(RULES_MODEL);
    for (const finding of findings) {
      if (signal.aborted) throw signal.reason;
      await sink.finding(finding);
    }
    if (signal.aborted) throw signal.reason;
    return { model: RULES_MODEL, usage: { inputTokens: 0, outputTokens: 0 }, stopReason: 'end_turn' };
  }

  async chat(request: ChatRequest, sink: ChatSink, signal: AbortSignal): Promise<ChatResult> {
    if (signal.aborted) throw signal.reason;
    const answer = searchAnswer(request);
    await sink.started(RULES_MODEL);
    for (const piece of chunks(answer.text)) {
      if (signal.aborted) throw signal.reason;
      sink.text(piece);
    }
    return {
      model: RULES_MODEL,
      usage: { inputTokens: 0, outputTokens: 0 },
      text: answer.text,
      stopReason: 'end_turn',
      citations: answer.citations,
    };
  }

  describe(): Record<string, unknown> {
    return { provider: 'rules' };
  }
}
