/**
 * Quotes in the document: each item's `quote` is verbatim text of one paragraph or table cell of its
 * section, compared with whitespace collapsed. We find it in the rendered section and wrap it in
 * `<mark data-feedback-id>` elements (one per text node it spans); when the finding names the words at
 * issue inside its quote, only those words are wrapped.
 */

const BLOCKS = new Set([
  'P',
  'LI',
  'TD',
  'TH',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'BLOCKQUOTE',
  'PRE',
  'DD',
  'DT',
  'CAPTION',
  'DIV',
  'TABLE',
  'TR',
  'UL',
  'OL',
]);

export const collapse = (value: string): string => value.replace(/\s+/g, ' ').trim();

/** The nearest block-level ancestor of `node` inside `root` (or root itself). */
export function blockOf(node: Node, root: Element): Element {
  let current: Node | null = node.nodeType === Node.ELEMENT_NODE ? node : node.parentNode;
  while (current && current !== root) {
    if (current.nodeType === Node.ELEMENT_NODE && BLOCKS.has((current as Element).tagName)) {
      return current as Element;
    }
    current = current.parentNode;
  }
  return root;
}

interface Flat {
  text: string;
  /** For each character of `text`: the text node and offset it came from (null for block breaks). */
  map: ({ node: Text; offset: number } | null)[];
}

function flatten(root: Element): Flat {
  const walker = root.ownerDocument.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let text = '';
  const map: Flat['map'] = [];
  let lastBlock: Element | null = null;
  for (let node = walker.nextNode() as Text | null; node; node = walker.nextNode() as Text | null) {
    const block = blockOf(node, root);
    if (lastBlock && block !== lastBlock) {
      text += '\u0000';
      map.push(null);
    }
    lastBlock = block;
    const data = node.data;
    for (let i = 0; i < data.length; i += 1) {
      const char = data[i]!;
      if (/\s/.test(char)) {
        const previous = text.at(-1);
        if (previous === undefined || previous === ' ' || previous === '\u0000') continue;
        text += ' ';
      } else {
        text += char;
      }
      map.push({ node, offset: i });
    }
  }
  return { text, map };
}

function wrap(node: Text, start: number, end: number, id: string): void {
  let target = node;
  if (end < target.length) target.splitText(end);
  if (start > 0) target = target.splitText(start);
  const mark = target.ownerDocument.createElement('mark');
  mark.className = 'quote';
  mark.dataset.feedbackId = id;
  target.parentNode?.insertBefore(mark, target);
  mark.appendChild(target);
}

export interface QuoteMark {
  id: string;
  quote: string;
  /** The words at issue inside the quote: only they are marked (the whole quote when none is found in it). */
  focus?: string[];
}

/**
 * The words a description puts in quote marks that also occur in `quote`: what a rules finding flags
 * inside the sentence it quotes (“was merged” is passive voice).
 */
export function flaggedWords(description: string, quote: string): string[] {
  const inQuote = collapse(quote);
  const words: string[] = [];
  for (const match of description.matchAll(/[“"‘]([^”"’“]{1,80})[”"’]/g)) {
    const word = collapse(match[1] ?? '');
    if (word && inQuote.includes(word) && !words.includes(word)) words.push(word);
  }
  // “the” inside “the the”: the longer names the place, the shorter would mark another “the”.
  return words.filter((word) => !words.some((other) => other !== word && other.includes(word)));
}

/** Wraps each quote's first occurrence (or the focus words in it) in marks. Returns the ids found. */
export function highlightQuotes(root: Element, quotes: QuoteMark[]): Set<string> {
  const found = new Set<string>();
  for (const { id, quote, focus } of quotes) {
    const needle = collapse(quote);
    if (!needle) continue;
    const flat = flatten(root);
    const at = flat.text.indexOf(needle);
    if (at < 0) continue;
    let ranges: [number, number][] = [];
    for (const word of focus ?? []) {
      const w = collapse(word);
      const k = w ? needle.indexOf(w) : -1;
      if (k >= 0) ranges.push([at + k, at + k + w.length]);
    }
    if (ranges.length === 0) ranges = [[at, at + needle.length]];
    // Last first: splitting a text node keeps the offsets before the split valid. Overlaps are merged.
    ranges.sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const range of ranges) {
      const last = merged.at(-1);
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push([...range]);
    }
    for (const [start, end] of merged.reverse()) {
      // The text nodes the range spans, with the part of each that is in it.
      const spans = new Map<Text, { start: number; end: number }>();
      for (let i = start; i < end; i += 1) {
        const entry = flat.map[i];
        if (!entry) continue;
        const span = spans.get(entry.node);
        if (span) span.end = entry.offset + 1;
        else spans.set(entry.node, { start: entry.offset, end: entry.offset + 1 });
      }
      for (const [node, { start: from, end: to }] of [...spans].reverse()) wrap(node, from, to, id);
    }
    found.add(id);
  }
  return found;
}

/**
 * The selected text inside `root` as a quote the server accepts: clipped to the block where the
 * selection starts, whitespace collapsed, at most `max` characters. Null when nothing usable is selected.
 */
export function selectedQuote(
  root: Element,
  selection: Selection | null,
  max = 1000,
): { quote: string; range: Range } | null {
  if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
  const range = selection.getRangeAt(0);
  if (!root.contains(range.startContainer)) return null;
  const block = blockOf(range.startContainer, root);
  const clipped = range.cloneRange();
  if (!block.contains(range.endContainer)) clipped.setEndAfter(block.lastChild ?? block);
  let quote = collapse(clipped.toString());
  if (quote.length > max) quote = quote.slice(0, max).trim();
  if (!quote) return null;
  return { quote, range: clipped };
}
