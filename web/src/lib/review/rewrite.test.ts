import { describe, expect, it } from 'vitest';
import { rewriteParts } from './rewrite.ts';

describe('rewriteParts', () => {
  it('strikes out and adds only the words that change', () => {
    const parts = rewriteParts('In order to utilize the system', 'To use the system');
    expect(parts.filter((p) => p.op === 'delete').map((p) => p.text.trim())).toEqual(['In order to utilize']);
    expect(parts.filter((p) => p.op === 'insert').map((p) => p.text.trim())).toEqual(['To use']);
    expect(parts.filter((p) => p.op === 'equal').map((p) => p.text.trim())).toContain('the system');
  });

  it('reads back as the quote without insertions and as the replacement without deletions', () => {
    const quote = 'The the budget owner is TBD.';
    const replacement = 'The budget owner is Dana Lee.';
    const parts = rewriteParts(quote, replacement);
    expect(
      parts
        .filter((p) => p.op !== 'insert')
        .map((p) => p.text)
        .join(''),
    ).toBe(quote);
    expect(
      parts
        .filter((p) => p.op !== 'delete')
        .map((p) => p.text)
        .join(''),
    ).toBe(replacement);
  });
});
