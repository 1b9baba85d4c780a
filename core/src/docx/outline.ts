/**
 * Where a Word document's sections start, decided once from word/document.xml (see anchors.ts for
 * the parser) so the review's sections (sections.ts, from mammoth's HTML) and the export's anchors
 * (anchors.ts) always split at the same paragraphs.
 *
 * Headings, from most to least trusted:
 *   1. heading styles, levels 1-3 (what mammoth turns into h1-h3);
 *   2. outline levels 1-3, set on the paragraph (`w:outlineLvl`) or through its style and the
 *      styles it is based on; they count only when at least two paragraphs carry one, so a stray
 *      style used once is no structure;
 *   3. bold numbered lines ("1.", "2.1", "IV.", "Article 3", "Section 2");
 *   4. other lines people write as headings: short all-bold lines, numbered lines, ALL CAPS lines,
 *      known section names ("Summary", "Recommendations").
 * Lines of a typed table of contents ("PURPOSE1-1", "Scope ..... 4") are not headings. Three or
 * more heading lines with no text between (a cover page, a contents list) start one section, at
 * the last of them (the one its text follows); the others are text of the section before, unless
 * heading-styled or of a more trusted kind than the last (a stack of numbered headings).
 *
 * The split, where these disagree:
 *   - the marked split, at headings 1-3, when it makes at least two sections; otherwise the split
 *     at every heading (1-4);
 *   - the split at every heading instead of the marked one when it is closer to analysable sizes
 *     by at least one section's worth: its text beyond MAX_SECTION_CHARS per section is at least
 *     MAX_SECTION_CHARS less. A part it would start at a written heading (4) that is shorter than
 *     MIN_WRITTEN_PART_CHARS stays with the part before (a list of names, a label).
 * So headings the author marked are always kept, weaker ones are added only when they are the
 * only structure or the marked split leaves sections far too long (and then everywhere, so alike
 * headings split alike), and a stray outline level or a cover page cannot swallow a document.
 *
 * Text before the first heading is a section titled by its own first line: no title is invented.
 */
import type { WordDocumentXml, WordParagraph, WordRun } from './anchors.ts';

export const MAX_TITLE_CHARS = 120;
/** A "heading" longer than this is a body paragraph styled as a heading. */
const MAX_HEADING_CHARS = 120;
/** A section longer than this is too long for one good analysis (see the split rule above). */
export const MAX_SECTION_CHARS = 12_000;
/**
 * A part the weakest headings (4) would start that is shorter than this is a line of a list
 * (names in an annex, labels), not a section, when they supplement the marked headings.
 */
const MIN_WRITTEN_PART_CHARS = 300;
/** A typed table-of-contents entry: dot leaders then a page, or a page glued on ("PURPOSE1-1"). */
const CONTENTS_ENTRY = /(\.{3,}|…)\s*\d{1,4}$|\p{L}\d{1,3}-\d{1,3}$/u;
/** This many heading lines in a row with no text between are a list of lines, not headings. */
const HEADING_RUN = 3;

/** Whitespace collapsed: how quotes and section text are compared everywhere in Prism. */
export const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

export const shortTitle = (text: string): string => {
  const clean = collapse(text);
  return clean.length <= MAX_TITLE_CHARS ? clean : `${clean.slice(0, MAX_TITLE_CHARS - 1).trimEnd()}…`;
};

/** Style names by id, with each paragraph style's outline level (0-8) resolved through basedOn. */
export class StyleTable extends Map<string, string> {
  readonly outline = new Map<string, number>();
}

/** Section names reports use, recognised as headings when they stand alone on a line. */
const KNOWN_SECTIONS = new RegExp(
  `^(${[
    'executive summary',
    'summary',
    'introduction',
    'background',
    'context',
    'scope',
    'purpose',
    'objectives?',
    'methodology',
    'method',
    'approach',
    'findings',
    'results',
    'analysis',
    'discussion',
    'impact',
    'root cause',
    'timeline',
    'recommendations?',
    'actions?',
    'next steps',
    'action items',
    'risks?',
    'conclusions?',
    'lessons learned',
    'appendix( [a-z0-9]+)?',
    'references',
    'glossary',
    'definitions',
  ].join('|')})\\s*:?$`,
  'i',
);
/** "1.", "2.1", "A.", "IV." then text ("28 days", "11 U.S.C." are no numbering). */
const NUMBERED = /^((\d{1,2}(\.\d{1,2}){1,3})\.?|\d{1,2}\.|[A-Z]\.|[IVXLC]{1,6}\.)\s+\S/;
/** Numbering written the Chinese and Japanese way, no space after it: "１．", "二、", "第三部分：", "（1）". */
const CJK_NUMBERED =
  /^(([0-9０-９]{1,2}|[一二三四五六七八九十]{1,3})[．.、]|第[一二三四五六七八九十0-9０-９]{1,3}[部章节條条]分?[：:\s]?|[（(]([0-9０-９]{1,2}|[一二三四五六七八九十]{1,3})[）)])\s*[^\s0-9０-９]/u;
/** "Article 3", "Section 2.1", "Sec. 4", "Chapter IV", "§ 5": numbered by a word. */
const NAMED_NUMBER =
  /^(article|art\.|section|sec\.|§|chapter|part|clause|schedule|annex|appendix)\s*(\d{1,3}(\.\d{1,2}){0,3}|[IVXLC]{1,6}|[A-Z])\b\.?(\s|$)/i;

/** Level of a numbered line ("2.1 Scope" is 2), at most 3; undefined when it is not numbered. */
export function numberedLevel(text: string): number | undefined {
  if (text.length === 0 || text.length > 100) return undefined;
  const named = NAMED_NUMBER.exec(text);
  if (named) return Math.min(named[2]!.split('.').length, 3);
  const numbered = NUMBERED.exec(text);
  if (!numbered) return CJK_NUMBERED.test(text) ? 1 : undefined;
  return Math.min(numbered[2] ? numbered[2].split('.').length : 1, 3);
}

/**
 * The level of a line of text people wrote as a heading without a heading style, or undefined:
 * numbered lines ("1.", "2.1", "A.", "IV.", "Article 3") not ending like a sentence, ALL CAPS
 * lines and known section names. Numbered ones take their depth as level.
 */
export function textHeadingLevel(text: string): number | undefined {
  if (text.length === 0 || text.length > 100) return undefined;
  const numbered = numberedLevel(text);
  if (numbered !== undefined && text.length <= 80 && !/[.:;,]$/.test(text)) return numbered;
  const letters = text.replace(/[^\p{L}]/gu, '');
  if (
    letters.length >= 4 &&
    letters === letters.toUpperCase() &&
    letters !== letters.toLowerCase() &&
    text.length <= 80
  ) {
    return 1;
  }
  return KNOWN_SECTIONS.test(text) ? 1 : undefined;
}

/** Heading level the way mammoth's default style map reads the paragraph style. */
export function styleLevel(paragraph: WordParagraph, styles: Map<string, string>): number | undefined {
  const id = paragraph.styleId;
  if (!id) return undefined;
  for (const candidate of [id, styles.get(id) ?? '']) {
    const match = /^heading ?([1-6])$/i.exec(candidate);
    if (match) return Number(match[1]);
    if (/^heading$/i.test(candidate)) return 1;
  }
  return undefined;
}

/** Outline level 1-9 set on the paragraph or through its style; undefined for body text. */
function outlineLevel(paragraph: WordParagraph, styles: Map<string, string>): number | undefined {
  const raw =
    paragraph.outlineLevel ??
    (paragraph.styleId && styles instanceof StyleTable ? styles.outline.get(paragraph.styleId) : undefined);
  return raw !== undefined && raw >= 0 && raw <= 8 ? raw + 1 : undefined;
}

const strongRun = (run: WordRun, styles: Map<string, string>): boolean =>
  run.bold || (run.styleId !== undefined && /^strong$/i.test(styles.get(run.styleId) ?? ''));

/** A short paragraph whose visible text is all bold (directly or by the Strong style), no link. */
function allBold(paragraph: WordParagraph, styles: Map<string, string>, text: string): boolean {
  if (text.length === 0 || text.length > 100) return false;
  return paragraph.runs.every(
    (run) => collapse(run.text) === '' || (strongRun(run, styles) && !run.inHyperlink),
  );
}

type Kind = 'style' | 'outline' | 'boldNumbered' | 'written';
interface Line {
  paragraph: WordParagraph;
  text: string;
  kind?: Kind;
  level: number;
  /** A typed table-of-contents entry: neither heading nor text when runs of headings are found. */
  contents?: boolean;
}

/** A section start: the paragraph, its level and title; `occurrence` tells equal texts apart. */
export interface PlannedSection {
  position: number;
  level: number;
  title: string;
  /** The paragraph's text, whitespace collapsed. */
  text: string;
  /**
   * How many earlier paragraphs that mammoth shows as a top-level p or h have the same text
   * (body paragraphs with text, not in a table, not list items): finds it among the HTML blocks.
   */
  occurrence: number;
}

/** Paragraphs mammoth shows as top-level blocks of their own (not list items, not in tables). */
const topLevelBlock = (paragraph: WordParagraph, styles: Map<string, string>): boolean =>
  paragraph.bodyLevel && (!paragraph.numbered || styleLevel(paragraph, styles) !== undefined);

/** Reads every paragraph once: its text, size and, when it reads as one, its heading kind and level. */
function readLines(doc: WordDocumentXml, styles: Map<string, string>): Line[] {
  const lines: Line[] = [];
  // One paragraph with an outline level is a stray style or a formatting accident, not an outline.
  const outlined = doc.paragraphs.filter((p) => {
    const length = collapse(p.text).length;
    return (
      p.bodyLevel &&
      !p.numbered &&
      length > 0 &&
      length <= MAX_HEADING_CHARS &&
      styleLevel(p, styles) === undefined &&
      (outlineLevel(p, styles) ?? 9) <= 3
    );
  }).length;
  for (const paragraph of doc.paragraphs) {
    const text = collapse(paragraph.text);
    const line: Line = { paragraph, text, level: 1 };
    lines.push(line);
    if (!paragraph.bodyLevel || text.length > MAX_HEADING_CHARS || !/[\p{L}\p{N}]/u.test(text)) continue;
    const style = styleLevel(paragraph, styles);
    if (style !== undefined) {
      if (style <= 3) Object.assign(line, { kind: 'style', level: style });
      continue;
    }
    // Word's own list numbering makes a list item in mammoth's HTML, never a heading.
    if (paragraph.numbered) continue;
    if (CONTENTS_ENTRY.test(text)) {
      line.contents = true;
      continue;
    }
    const outline = outlined >= 2 ? outlineLevel(paragraph, styles) : undefined;
    if (outline !== undefined && outline <= 3) {
      Object.assign(line, { kind: 'outline', level: outline });
      continue;
    }
    const bold = allBold(paragraph, styles, text);
    const numbered = numberedLevel(text);
    if (bold && numbered !== undefined) Object.assign(line, { kind: 'boldNumbered', level: numbered });
    else if (bold) Object.assign(line, { kind: 'written', level: 1 });
    else {
      const written = textHeadingLevel(text);
      if (written !== undefined) Object.assign(line, { kind: 'written', level: written });
    }
  }
  dropHeadingRuns(lines);
  return lines;
}

const RANK: Record<Kind, number> = { style: 4, outline: 3, boldNumbered: 2, written: 1 };

/**
 * In a run of HEADING_RUN or more heading lines with no text between, the last stays a heading,
 * and so do the lines of a stronger kind than it (a stack "Part One / 1. Politics / Summary:" keeps
 * its numbered lines); lines like the last before it (a cover page, a typed contents list) do not.
 */
function dropHeadingRuns(lines: Line[]): void {
  let run: Line[] = [];
  const close = () => {
    const last = run.at(-1);
    if (last?.kind && run.length >= HEADING_RUN) {
      for (const line of run.slice(0, -1)) {
        if (line.kind !== 'style' && RANK[line.kind!] <= RANK[last.kind]) line.kind = undefined;
      }
    }
    run = [];
  };
  for (const line of lines) {
    if (line.kind) run.push(line);
    else if (line.text.length > 0 && !line.contents) close();
  }
  close();
}

/** How many paragraphs read as headings of any kind (after the guards): structure a split can use. */
export function countHeadingLines(doc: WordDocumentXml, styles: Map<string, string>): number {
  return readLines(doc, styles).filter((line) => line.kind !== undefined).length;
}

interface Part {
  /** Index into lines of its first line. */
  from: number;
  to: number;
  chars: number;
}

/** Splits lines[from, to) at the lines `isStart` picks; the part before the first start kept. */
function splitAt(lines: Line[], from: number, to: number, isStart: (line: Line) => boolean): Part[] {
  const parts: Part[] = [];
  let current: Part | undefined;
  for (let i = from; i < to; i += 1) {
    const line = lines[i]!;
    if (!current || (i > from && isStart(line))) {
      current = { from: i, to: i + 1, chars: 0 };
      parts.push(current);
    }
    current.to = i + 1;
    current.chars += line.text.length;
  }
  return parts;
}

/** Headings 1-3 of the rule above: marked by the author, or bold and numbered. */
const MARKED = new Set<Kind | undefined>(['style', 'outline', 'boldNumbered']);
const WRITTEN = new Set<Kind | undefined>(['style', 'outline', 'boldNumbered', 'written']);

/** Text beyond MAX_SECTION_CHARS in each part, summed: how far a split is from analysable sections. */
const excess = (parts: Part[]): number =>
  parts.reduce((sum, part) => sum + Math.max(0, part.chars - MAX_SECTION_CHARS), 0);

/** A part that a written heading (kind 4) starts and that is shorter than `minChars` joins the part before. */
function mergeShortWritten(lines: Line[], parts: Part[], minChars: number): Part[] {
  const kept: Part[] = [];
  for (const part of parts) {
    const before = kept.at(-1);
    if (before && part.chars < minChars && lines[part.from]!.kind === 'written') {
      before.to = part.to;
      before.chars += part.chars;
    } else kept.push({ ...part });
  }
  return kept;
}

/** Number of parts that hold text. */
const withText = (lines: Line[], parts: Part[]): Part[] =>
  parts.filter((part) => lines.slice(part.from, part.to).some((line) => line.text.length > 0));

/**
 * Where Prism's sections start in a parsed main part, by the rule in this file's comment. Empty
 * when no paragraph has text (all of it in text boxes, which the parser leaves out).
 */
export function planSections(doc: WordDocumentXml, styles: Map<string, string>): PlannedSection[] {
  const lines = readLines(doc, styles);
  const firstText = lines.findIndex((line) => line.text.length > 0);
  if (firstText === -1) return [];
  const end = lines.length;

  const marked = withText(
    lines,
    splitAt(lines, firstText, end, (l) => MARKED.has(l.kind)),
  );
  const all = withText(
    lines,
    splitAt(lines, firstText, end, (l) => WRITTEN.has(l.kind)),
  );
  let parts = marked;
  if (marked.length < 2) {
    if (all.length >= 2) parts = all;
  } else {
    // The written headings too, when they take at least a section's worth of text out of
    // sections too long to analyse; lines of a list among them (short parts) are no sections.
    const supplemented = mergeShortWritten(lines, all, MIN_WRITTEN_PART_CHARS);
    if (excess(supplemented) <= excess(marked) - MAX_SECTION_CHARS) parts = supplemented;
  }

  // Occurrence of each text among the paragraphs mammoth shows as blocks of their own.
  const seen = new Map<string, number>();
  const occurrence = new Map<number, number>();
  const starts = new Set(parts.map((part) => part.from));
  for (const [i, line] of lines.entries()) {
    if (line.text.length === 0 || !topLevelBlock(line.paragraph, styles)) continue;
    const count = seen.get(line.text) ?? 0;
    seen.set(line.text, count + 1);
    if (starts.has(i)) occurrence.set(i, count);
  }
  return parts.map((part) => {
    const line = lines[part.from]!;
    return {
      position: line.paragraph.position,
      level: line.kind ? line.level : 1,
      title: shortTitle(line.text),
      text: line.text,
      occurrence: occurrence.get(part.from) ?? -1,
    };
  });
}
