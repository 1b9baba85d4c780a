/**
 * A suggested rewrite as a reader sees it on a card: the quote and its replacement compared word
 * by word (the `diff` library), so only what changes is struck out or added.
 */
import { diffWords } from 'diff';

export interface RewritePart {
  op: 'equal' | 'insert' | 'delete';
  text: string;
}

/** The word-level changes that turn `quote` into `replacement`, in reading order. */
export function rewriteParts(quote: string, replacement: string): RewritePart[] {
  return diffWords(quote, replacement).map((change) => ({
    op: change.added ? 'insert' : change.removed ? 'delete' : 'equal',
    text: change.value,
  }));
}
