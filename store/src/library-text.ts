/**
 * What the library's search covers of a document, and how words are cut and compared, in one
 * place so the stored text and the index agree. A search matches words, and the library sorts by
 * last activity, not by relevance, so a document is stored as its distinct words in the order they
 * first appear: a 100-page report is a few thousand words instead of hundreds of thousands of
 * characters, which keeps Redis, the transfer and each server's index small.
 */
import { MAX_SEARCH_TEXT } from './library.ts';

/** Words: runs of letters, digits and marks; everything else separates them. */
const WORD = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** A word as the index keeps it: lower case, without accents ("Café" and "cafe" match). */
export function normalizeWord(word: string): string {
  return word
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

/** The words of `text`, normalized, in order (MiniSearch's `tokenize` + `processTerm` in one). */
export function words(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(WORD)) {
    const word = normalizeWord(match[0]);
    if (word) found.push(word);
  }
  return found;
}

/**
 * The search text of a review: the distinct words of its title and its sections, first
 * appearance first, capped at MAX_SEARCH_TEXT characters (whole words).
 */
export function searchText(title: string, sections: readonly { title?: string; text: string }[]): string {
  const seen = new Set<string>();
  const kept: string[] = [];
  let length = 0;
  const add = (text: string): boolean => {
    for (const word of words(text)) {
      if (seen.has(word)) continue;
      if (length + word.length + 1 > MAX_SEARCH_TEXT) return false;
      seen.add(word);
      kept.push(word);
      length += word.length + 1;
    }
    return true;
  };
  if (add(title)) {
    for (const section of sections) {
      if (!add(section.title ?? '') || !add(section.text)) break;
    }
  }
  return kept.join(' ');
}
