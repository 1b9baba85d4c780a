import { describe, expect, it } from 'vitest';
import { findMentions, mentionQuery } from './mentions.ts';

const members = [
  { id: 'u_ann', name: 'Ann' },
  { id: 'u_annlee', name: 'Ann Lee' },
  { id: 'u_bob', name: 'Bob' },
];

describe('findMentions', () => {
  it('matches names case-insensitively, the longest first, names with spaces', () => {
    expect(findMentions('@ann lee please check', members)).toEqual(['u_annlee']);
    expect(findMentions('@Ann, and @BOB.', members)).toEqual(['u_ann', 'u_bob']);
  });

  it('needs a boundary after the name and before the @', () => {
    expect(findMentions('@Bobby and mail bob@ann.com', members)).toEqual([]);
    expect(findMentions('(@Bob)', members)).toEqual(['u_bob']);
  });

  it('lists each person once and ignores people who are not members', () => {
    expect(findMentions('@Bob @bob @Carol', members)).toEqual(['u_bob']);
    expect(findMentions('no mentions here', members)).toEqual([]);
  });
});

describe('mentionQuery', () => {
  it('finds the partial name before the caret', () => {
    expect(mentionQuery('hi @An', 6)).toEqual({ start: 3, query: 'An' });
    expect(mentionQuery('hi @Ann L', 9)).toEqual({ start: 3, query: 'Ann L' });
    expect(mentionQuery('mail me@x', 9)).toBeUndefined();
    expect(mentionQuery('no at', 5)).toBeUndefined();
  });
});
