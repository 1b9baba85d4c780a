import { describe, expect, it } from 'vitest';
import { looksLikeHeading, PART_CHARS, splitIntoParts } from './parts.ts';

const paragraph = (i: number): string =>
  `Paragraph ${i}: the service handled ${1000 + i} requests an hour, and the error rate stayed below one in a thousand during the whole test window.`;

describe('splitIntoParts', () => {
  it('leaves a section that fits in one call whole', () => {
    expect(splitIntoParts('A short section.\nWith two lines.')).toBeUndefined();
  });

  it('splits a long section into about equal parts of whole lines that join back to the text', () => {
    const text = Array.from({ length: 200 }, (_, i) => paragraph(i)).join('\n');
    const parts = splitIntoParts(text)!;
    expect(parts.length).toBe(Math.ceil(text.length / PART_CHARS));
    expect(parts.map((p) => p.text).join('\n')).toBe(text);
    for (const part of parts) {
      expect(part.text.length).toBeLessThanOrEqual(PART_CHARS);
      expect(part.count).toBe(parts.length);
    }
    expect(parts.map((p) => p.index)).toEqual(parts.map((_, i) => i + 1));
    const sizes = parts.map((p) => p.text.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(PART_CHARS / 3);
  });

  it('starts a part at a sub-heading once the part holds most of its share', () => {
    const lines = Array.from({ length: 120 }, (_, i) => paragraph(i));
    lines.splice(60, 0, '4.2 Results by region');
    const parts = splitIntoParts(lines.join('\n'))!;
    expect(parts.length).toBe(2);
    expect(parts[1]!.text.startsWith('4.2 Results by region')).toBe(true);
  });

  it('never cuts a paragraph, even one longer than a part', () => {
    const huge = 'word '.repeat(3000).trim();
    const parts = splitIntoParts(`Intro line.\n${huge}\nClosing line.`)!;
    expect(parts.some((p) => p.text.split('\n').includes(huge))).toBe(true);
  });
});

describe('looksLikeHeading', () => {
  it('knows numbered and short unpunctuated lines from sentences', () => {
    expect(looksLikeHeading('2.1 Scope')).toBe(true);
    expect(looksLikeHeading('Results by region')).toBe(true);
    expect(looksLikeHeading('The team measured it twice.')).toBe(false);
    expect(looksLikeHeading('Name\tValue')).toBe(false);
  });
});
