/**
 * Splicing markup into a Word main part at exact character offsets, shared by the comment and the
 * tracked-change export: finding a quote among the paragraphs (whitespace collapsed), cutting runs
 * where a quote starts or ends mid-run (closing and reopening the run with the same properties),
 * and applying all edits to the raw XML in one pass so nothing else is re-serialized.
 */
import { type CharRef, collapse, type WordParagraph } from './anchors.ts';

// XML 1.0 cannot carry these characters at all, escaped or not.
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export const escapeXml = (value: string): string =>
  value
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** Word wants an xsd:dateTime without fractions; anything unparsable becomes now. */
export function wordDate(value: string): string {
  const time = Date.parse(value);
  return new Date(Number.isNaN(time) ? Date.now() : time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Edits

/** Markup inserted at one offset: cut markup (`before`/`after`) around the markers ending and starting there. */
export interface Slot {
  /** Closes the run (and text) the cut is in; '' when the cut is between runs. */
  before: string;
  after: string;
  ends: string[];
  starts: string[];
}

/**
 * A stretch of the XML rewritten as a whole (a tracked change): `[start, end)` becomes
 * `head + starts + body + ends + tail`. Markers of other items that fall inside it go to `starts`
 * (before the change) or `ends` (after it), and cuts inside it are dropped, since the stretch is
 * rebuilt from scratch.
 */
export interface Rewrite {
  start: number;
  end: number;
  head: string;
  body: string;
  tail: string;
  starts: string[];
  ends: string[];
}

/** Edits on the raw XML, applied in one pass in document order so offsets stay valid. */
export class Edits {
  private readonly slots = new Map<number, Slot>();
  private readonly inserts = new Map<number, { end: number; text: string }>();
  private readonly selfClosing = new Map<number, { paragraph: WordParagraph; slot: Slot }>();
  private readonly rewrites: Rewrite[] = [];

  slot(position: number, before = '', after = ''): Slot {
    let slot = this.slots.get(position);
    if (!slot) {
      slot = { before, after, ends: [], starts: [] };
      this.slots.set(position, slot);
    } else if (slot.before !== before || slot.after !== after) {
      throw new Error(`conflicting cuts at offset ${position}`);
    }
    return slot;
  }

  /** A slot inside a self-closing `<w:p/>`, which becomes `<w:p>...</w:p>`. */
  emptyParagraph(paragraph: WordParagraph): Slot {
    let entry = this.selfClosing.get(paragraph.start);
    if (!entry) {
      entry = { paragraph, slot: { before: '', after: '', ends: [], starts: [] } };
      this.selfClosing.set(paragraph.start, entry);
    }
    return entry.slot;
  }

  /** Replaces `[start, end)` (an insertion when equal); one such edit per start. */
  replace(start: number, end: number, text: string): void {
    this.inserts.set(start, { end, text });
  }

  /** Whether `[start, end)` overlaps a rewrite already planned. */
  overlapsRewrite(start: number, end: number): boolean {
    return this.rewrites.some((r) => start < r.end && r.start < end);
  }

  /** Plans a rewrite; the caller checks `overlapsRewrite` first. */
  rewrite(rewrite: Rewrite): void {
    if (this.overlapsRewrite(rewrite.start, rewrite.end)) {
      throw new Error(`overlapping rewrites at offset ${rewrite.start}`);
    }
    this.rewrites.push(rewrite);
  }

  apply(xml: string): string {
    const edits: { start: number; end: number; text: string }[] = [];
    const within = (position: number, strict: boolean): Rewrite | undefined =>
      this.rewrites.find((r) => (strict ? r.start < position : r.start <= position) && position < r.end);
    for (const [position, slot] of this.slots) {
      const rewrite = within(position, true);
      if (rewrite) {
        // Inside a rewritten stretch: the markers go around the change, the cut is not needed.
        rewrite.starts.push(...slot.starts);
        rewrite.ends.unshift(...slot.ends);
        continue;
      }
      edits.push({
        start: position,
        end: position,
        text: slot.before + slot.ends.join('') + slot.starts.join('') + slot.after,
      });
    }
    for (const [start, { end, text }] of this.inserts) {
      // A tag inside a rewritten stretch (`xml:space` on a cut `w:t`) is rebuilt with it.
      if (start === end || !within(start, false)) edits.push({ start, end, text });
    }
    for (const { paragraph, slot } of this.selfClosing.values()) {
      const tag = xml.slice(paragraph.start, paragraph.end);
      edits.push({
        start: paragraph.start,
        end: paragraph.end,
        text: `${tag.replace(/\s*\/>$/, '>')}${slot.starts.join('')}${slot.ends.join('')}</${tagName(tag)}>`,
      });
    }
    for (const r of this.rewrites) {
      edits.push({
        start: r.start,
        end: r.end,
        text: r.head + r.starts.join('') + r.body + r.ends.join('') + r.tail,
      });
    }
    // In document order; at one offset, an insertion goes before a replacement starting there.
    edits.sort((a, b) => a.start - b.start || a.end - b.end);
    const out: string[] = [];
    let at = 0;
    for (const edit of edits) {
      if (edit.start < at) throw new Error(`overlapping edits at offset ${edit.start}`);
      out.push(xml.slice(at, edit.start), edit.text);
      at = edit.end;
    }
    out.push(xml.slice(at));
    return out.join('');
  }
}

// ---------------------------------------------------------------------------------------------
// Finding quotes

/** Where a quote is: its paragraph and its first and last characters. */
export interface Match {
  paragraph: WordParagraph;
  first: CharRef;
  last: CharRef;
}

/** The paragraph's text with whitespace collapsed, and for each kept character its index in `chars`. */
function collapsed(paragraph: WordParagraph): { text: string; map: number[] } {
  let text = '';
  const map: number[] = [];
  for (let i = 0; i < paragraph.text.length; i += 1) {
    const ch = paragraph.text[i]!;
    if (/\s/.test(ch)) {
      if (text.length > 0 && !text.endsWith(' ')) {
        text += ' ';
        map.push(i);
      }
    } else {
      text += ch;
      map.push(i);
    }
  }
  if (text.endsWith(' ')) {
    text = text.slice(0, -1);
    map.pop();
  }
  return { text, map };
}

/** Collapsed text of paragraphs, computed once per export. */
export type Views = Map<WordParagraph, { text: string; map: number[] }>;

function view(paragraph: WordParagraph, views: Views): { text: string; map: number[] } {
  let found = views.get(paragraph);
  if (!found) {
    found = collapsed(paragraph);
    views.set(paragraph, found);
  }
  return found;
}

/** The quote as a whole (whitespace collapsed) in its section, else anywhere; no partial matches. */
export function exactQuote(
  quote: string,
  section: WordParagraph[],
  all: WordParagraph[],
  views: Views,
): Match | undefined {
  const whole = collapse(quote);
  if (!whole) return undefined;
  return search(section, whole, views) ?? search(all, whole, views);
}

/** The first paragraph containing `needle` (collapsed, non-empty). */
function search(paragraphs: WordParagraph[], needle: string, views: Views): Match | undefined {
  for (const paragraph of paragraphs) {
    if (paragraph.chars.length < needle.length) continue;
    const { text, map } = view(paragraph, views);
    const at = text.indexOf(needle);
    if (at < 0) continue;
    const first = paragraph.chars[map[at]!];
    const last = paragraph.chars[map[at + needle.length - 1]!];
    if (first && last) return { paragraph, first, last };
  }
  return undefined;
}

/**
 * Where a quote is: the whole quote in its section, then anywhere; then its longest line or table
 * cell (a quote spanning cells or lines); then, within the section, its longest prefix found (at
 * least 8 characters and a quarter of the quote: mammoth's text runs nested list items together).
 */
export function findQuote(
  quote: string,
  section: WordParagraph[],
  all: WordParagraph[],
  views: Views,
): Match | undefined {
  const whole = collapse(quote);
  if (!whole) return undefined;
  const parts = quote
    .split(/[\t\n\r]+/)
    .map(collapse)
    .filter((part) => part.length >= 12 && part !== whole)
    .sort((a, b) => b.length - a.length);
  for (const needle of [whole, ...parts]) {
    const match = search(section, needle, views) ?? search(all, needle, views);
    if (match) return match;
  }
  const shortest = Math.max(8, Math.ceil(whole.length / 4));
  if (whole.length <= shortest) return undefined;
  let low = shortest; // invariant: prefixes longer than `high` are not found
  let high = whole.length - 1;
  let best: Match | undefined;
  while (low <= high) {
    const length = Math.floor((low + high) / 2);
    const match = search(section, whole.slice(0, length).trimEnd(), views);
    if (match) {
      best = match;
      low = length + 1;
    } else {
      high = length - 1;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Cutting runs

/** Raw offset inside a `w:t` for a character offset, or undefined when it falls inside an entity. */
function rawOffset(ref: CharRef, offset: number): number | undefined {
  let seen = 0;
  for (const piece of ref.child.pieces) {
    if (offset === seen) return piece.start;
    if (offset < seen + piece.text.length) {
      // Entities and character references decode to fewer characters than they take.
      return piece.end - piece.start === piece.text.length ? piece.start + (offset - seen) : undefined;
    }
    seen += piece.text.length;
  }
  return offset === seen ? (ref.child.pieces.at(-1)?.end ?? ref.child.openEnd) : undefined;
}

/** Markup that cuts a run at one character boundary. */
export interface Cut {
  position: number;
  before: string;
  after: string;
  /** A `w:t` open tag that must now keep its spaces: its range and the tag to put there. */
  preserve?: { start: number; end: number; tag: string };
}

export const tagName = (tag: string): string => /^<([^\s/>]+)/.exec(tag)?.[1] ?? '';

/**
 * Where to cut so a marker sits before (`side: 'before'`) or after a character: between runs when
 * the character starts or ends its run, else by closing and reopening the run (same properties).
 */
export function cutAt(xml: string, ref: CharRef, side: 'before' | 'after'): Cut {
  const { child } = ref;
  const { run } = child;
  const reopenRun = run.openTag.replace(/\s*\/>$/, '>') + run.rPr;
  const closeRun = `</${tagName(run.openTag)}>`;
  const offset = side === 'before' ? ref.offset : ref.offset + 1;
  const atStart = child.kind !== 't' ? side === 'before' : offset === 0;
  const atEnd = child.kind !== 't' ? side === 'after' : offset >= child.text.length;

  if (atStart) {
    if (child.childIndex === 0) return { position: run.start, before: '', after: '' };
    return { position: child.start, before: closeRun, after: reopenRun };
  }
  if (atEnd) {
    if (child.childIndex === run.contentCount - 1) return { position: run.end, before: '', after: '' };
    return { position: child.end, before: closeRun, after: reopenRun };
  }
  const position = rawOffset(ref, offset);
  if (position === undefined) {
    // Inside a character reference: cannot happen for whole characters, but stay safe.
    return side === 'before'
      ? { position: child.start, before: closeRun, after: reopenRun }
      : { position: child.end, before: closeRun, after: reopenRun };
  }
  const openTag = xml.slice(child.start, child.openEnd);
  const textTag = tagName(openTag);
  const cut: Cut = {
    position,
    before: `</${textTag}>${closeRun}`,
    after: `${reopenRun}<${textTag} xml:space="preserve">`,
  };
  if (!child.preserve) {
    const tag = /\sxml:space\s*=\s*["'][^"']*["']/.test(openTag)
      ? openTag.replace(/(\sxml:space\s*=\s*)["'][^"']*["']/, '$1"preserve"')
      : openTag.replace(/\s*>$/, ' xml:space="preserve">');
    cut.preserve = { start: child.start, end: child.openEnd, tag };
  }
  return cut;
}
