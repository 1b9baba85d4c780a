import { describe, expect, it } from 'vitest';
import { timeAfter } from './shared.ts';

describe('timeAfter', () => {
  it('is now when the clock moved on, else 1 ms past the last, so findings keep the order found', () => {
    expect(timeAfter(undefined, '2026-12-08T00:00:00.005Z')).toBe('2026-12-08T00:00:00.005Z');
    expect(timeAfter('2026-12-08T00:00:00.004Z', '2026-12-08T00:00:00.005Z')).toBe(
      '2026-12-08T00:00:00.005Z',
    );
    // Three found within one millisecond: 005, 006, 007.
    const second = timeAfter('2026-12-08T00:00:00.005Z', '2026-12-08T00:00:00.005Z');
    expect(second).toBe('2026-12-08T00:00:00.006Z');
    expect(timeAfter(second, '2026-12-08T00:00:00.005Z')).toBe('2026-12-08T00:00:00.007Z');
    const times = [undefined as string | undefined];
    for (let i = 0; i < 50; i += 1) times.push(timeAfter(times.at(-1)));
    const made = times.slice(1) as string[];
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
  });
});
