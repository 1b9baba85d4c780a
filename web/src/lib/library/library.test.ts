import { describe, expect, it } from 'vitest';
import { filterFrom, searchFor, timeAgo } from './library.ts';

describe('library filter in the URL', () => {
  it('reads q and a known status, ignoring an unknown one', () => {
    expect(filterFrom(new URLSearchParams('q=budget%20plan&status=submitted'))).toEqual({
      q: 'budget plan',
      status: 'submitted',
    });
    expect(filterFrom(new URLSearchParams('status=closed'))).toEqual({ q: '', status: null });
    expect(filterFrom(new URLSearchParams(`q=${'x'.repeat(300)}`)).q).toHaveLength(200);
  });

  it('writes only what filters, keeping other parameters', () => {
    const params = new URLSearchParams('workspace=w_1&q=old');
    expect(searchFor(params, { q: '  budget ', status: 'open' })).toBe('?workspace=w_1&q=budget&status=open');
    expect(searchFor(params, { q: '', status: null })).toBe('?workspace=w_1');
    expect(searchFor(new URLSearchParams(), { q: ' ', status: null })).toBe('');
  });
});

describe('timeAgo', () => {
  const now = Date.parse('2026-12-07T12:00:00.000Z');
  it('says how long ago, in the largest unit that fits', () => {
    expect(timeAgo('2026-12-07T11:59:30.000Z', now, 'en')).toBe('just now');
    expect(timeAgo('2026-12-07T11:55:00.000Z', now, 'en')).toBe('5 minutes ago');
    expect(timeAgo('2026-12-07T09:00:00.000Z', now, 'en')).toBe('3 hours ago');
    expect(timeAgo('2026-12-06T10:00:00.000Z', now, 'en')).toBe('yesterday');
    expect(timeAgo('2026-11-16T12:00:00.000Z', now, 'en')).toBe('3 weeks ago');
    expect(timeAgo('2025-11-01T12:00:00.000Z', now, 'en')).toBe('last year');
    expect(timeAgo('not a date', now, 'en')).toBe('');
  });
});
