/**
 * Splits a section too long for one good analysis into parts of whole lines (paragraphs and
 * table rows), so every quote a part's findings make is still verbatim text of the section.
 * Parts are about equal in size, and a part prefers to start at a sub-heading.
 */
import type { SectionPart } from './provider.ts';

/** Sections longer than this are analysed in parts (characters). */
export const PART_CHARS = 12_000;

/** A line that reads as a sub-heading: numbered ("2.1 Scope", "B. Costs") or short and unpunctuated. */
export function looksLikeHeading(line: string): boolean {
  const text = line.trim();
  if (text === '' || text.length > 120 || text.includes('\t')) return false;
  if (/^(\d+(\.\d+)*\.?|[A-Z]\.|[IVXLC]+\.)\s+\S/.test(text)) return true;
  return text.length <= 80 && !/[.,;:!?]$/.test(text) && !/[.!?]\s/.test(text);
}

/**
 * The parts of `text` (undefined when it fits in one). Each part is whole lines; a part ends at
 * its share of the text, or earlier at a sub-heading once it holds 60 % of its share. A single
 * line longer than `maxChars` is a part of its own (a paragraph is never cut).
 */
export function splitIntoParts(text: string, maxChars = PART_CHARS): SectionPart[] | undefined {
  if (text.length <= maxChars) return undefined;
  const share = Math.ceil(text.length / Math.ceil(text.length / maxChars));
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const line of text.split('\n')) {
    const full = size > 0 && size + line.length + 1 > Math.min(maxChars, share * 1.15);
    const atHeading = size >= share * 0.6 && looksLikeHeading(line);
    if (current.length > 0 && (full || atHeading)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(line);
    size += line.length + 1;
  }
  if (current.length > 0) chunks.push(current);
  const texts = chunks.map((lines) => lines.join('\n')).filter((part) => part.trim() !== '');
  if (texts.length <= 1) return undefined;
  return texts.map((part, i) => ({ index: i + 1, count: texts.length, text: part }));
}
