/**
 * Text helpers the rules share: the section's lines and cells with their offsets, a sentence
 * splitter that knows abbreviations and decimals, and small wording helpers.
 */

/** A comma-separated list of words and phrases. */
export const list = (text: string): string[] => text.split(',').map((item) => item.trim());

export const STOPWORDS = new Set(
  (
    'a about above after again all also am an and any are as at be because been before being below between both but by ' +
    'can could did do does doing down during each few for from further had has have having he her here hers him his how ' +
    'i if in into is it its itself just me more most my no nor not now of off on once only or other our ours out over own ' +
    'same she should so some such than that the their theirs them then there these they this those through to too under ' +
    'until up very was we were what when where which while who whom why will with would you your yours'
  ).split(' '),
);

/** One paragraph or table cell of a section: the unit a quote must stay inside. */
export interface Cell {
  /** Its position among the section's cells. */
  index: number;
  /** Its position among the section's lines (a line is a paragraph or a table row). */
  line: number;
  text: string;
}

/** The section's cells: lines (paragraphs or table rows), split at tabs (table cells). */
export function cellsOf(text: string): Cell[] {
  const cells: Cell[] = [];
  text.split(/\r\n|\r|\n/).forEach((line, lineIndex) => {
    for (const cell of line.split('\t')) {
      if (cell.trim() !== '') cells.push({ index: cells.length, line: lineIndex, text: cell });
    }
  });
  return cells;
}

/** The section's cells without its first line when that line is the heading (core repeats it). */
export function bodyCells(section: { title: string; text: string }): Cell[] {
  const cells = cellsOf(section.text);
  const first = cells[0];
  if (first && first.line === 0 && normal(first.text) === normal(section.title)) return cells.slice(1);
  return cells;
}

export interface Span {
  start: number;
  end: number;
  text: string;
}

export const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;

/** The words of a piece of text with their offsets in it. */
export function wordsOf(text: string, offset = 0): Span[] {
  return [...text.matchAll(WORD)].map((m) => ({
    start: offset + m.index,
    end: offset + m.index + m[0].length,
    text: m[0],
  }));
}

/**
 * Abbreviations after which a full stop does not end the sentence ("vs.", "e.g.", "Fig. 3",
 * "Dr. Lee"); compared in lower case without the final dot.
 */
const ABBREVIATIONS = new Set(
  list(
    'vs, v, e.g, i.e, etc, cf, al, approx, ca, fig, figs, no, nos, vol, p, pp, ch, sec, eq, ref, dr, mr, mrs, ms, ' +
      'prof, st, jr, sr, inc, ltd, co, corp, dept, est, jan, feb, mar, apr, jun, jul, aug, sep, sept, oct, nov, dec, ' +
      'mon, tue, wed, thu, fri, sat, sun, art, para, min, max, no, tel, ext, resp, incl, excl, esp, viz',
  ),
);

/**
 * The sentences of a paragraph, with their offsets. A full stop ends a sentence only when a space
 * and a capital, digit or quote follow and the word before it is not an abbreviation, an initial
 * ("J. Smith") or part of a number ("3.5").
 */
export function splitSentences(text: string): Span[] {
  const sentences: Span[] = [];
  let start = 0;
  const boundary = /[.!?…]+["”’)\]]*(?=\s+["“‘([]?[\p{Lu}\p{N}])/gu;
  for (const match of text.matchAll(boundary)) {
    const end = match.index + match[0].length;
    if (match[0].startsWith('.') && match[0].length === 1) {
      const before = /([\p{L}.]+)$/u.exec(text.slice(start, match.index))?.[1] ?? '';
      const word = before.toLowerCase();
      if (ABBREVIATIONS.has(word) || /^\p{Lu}$/u.test(before) || /^(\p{L}\.)+\p{L}$/u.test(before)) continue;
    }
    push(sentences, text, start, end);
    start = end;
  }
  push(sentences, text, start, text.length);
  return sentences;
}

function push(sentences: Span[], text: string, from: number, to: number): void {
  const piece = text.slice(from, to);
  const lead = piece.length - piece.trimStart().length;
  const trimmed = piece.trim();
  if (trimmed === '') return;
  sentences.push({ start: from + lead, end: from + lead + trimmed.length, text: trimmed });
}

export const q = (text: string): string => `“${text}”`;

export function listOf(items: string[], conjunction = 'and'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items.at(-1)}`;
}

export const normal = (text: string): string =>
  text.toLowerCase().replace(/’/g, "'").replace(/\s+/g, ' ').trim();

export function unique<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Gives `replacement` the capital of `original` when it had one. */
export function matchCase(original: string, replacement: string): string {
  const first = original.charAt(0);
  if (first !== first.toUpperCase() || first === first.toLowerCase()) return replacement;
  return replacement.charAt(0).toUpperCase() + replacement.slice(1);
}

/** The first words of a sentence, verbatim (a short quote that still finds the sentence). */
export function opening(sentence: string, words = 8): string {
  const spans = wordsOf(sentence);
  if (spans.length <= words) return sentence.trim();
  return sentence.slice(0, spans[words - 1]!.end).trim();
}

/** "3 more" / "1 more", for descriptions that list a few occurrences and count the rest. */
export function andMore(shown: string[], total: number): string {
  const rest = total - shown.length;
  return rest > 0 ? `${listOf([...shown, `${rest} more`])}` : listOf(shown);
}

/** A stable, short description of how often something occurs. */
export const times = (n: number): string => (n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`);
