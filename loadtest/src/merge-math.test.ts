import { describe, expect, it } from 'vitest';
import { type CheckRecord, checkSequences, percentile, summarise } from './merge-math.ts';

const seqs = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const check = (
  reviewId: string,
  reviewer: string,
  kept: number[],
  log: number[],
  extra: Partial<CheckRecord> = {},
) => ({
  reviewId,
  reviewer,
  base: 0,
  head: log.length ? Math.max(...log) : -1,
  kept,
  log,
  tail: [],
  ...extra,
});

describe('merged percentiles', () => {
  it('interpolates between the closest ranks as k6 does', () => {
    expect(percentile([10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([0, 10], 95)).toBeCloseTo(9.5);
    expect(percentile([], 50)).toBeNull();
  });

  it('are the percentiles of all samples together, not the average of each generator’s', () => {
    // One generator saw fast deliveries, the other (a slow network) slow ones, ten times fewer.
    const fast = Array.from({ length: 900 }, (_, i) => 10 + (i % 10));
    const slow = Array.from({ length: 100 }, (_, i) => 500 + i);
    const merged = summarise([fast, slow]);
    const averaged = ((summarise([fast]).p95 ?? 0) + (summarise([slow]).p95 ?? 0)) / 2;
    expect(merged.count).toBe(1000);
    // 95 % of 1,000: 900 fast plus 50 of the slow ones; the p95 is among the slow ones' middle.
    expect(merged.p95).toBeCloseTo(549.05, 1);
    expect(merged.p50).toBeLessThan(20);
    expect(merged.p95).not.toBeCloseTo(averaged, 0);
    expect(merged.min).toBe(10);
    expect(merged.max).toBe(599);
    expect(merged.avg).toBeCloseTo(
      (fast.reduce((a, v) => a + v, 0) + slow.reduce((a, v) => a + v, 0)) / 1000,
    );
  });
});

describe('sequences checked across generators', () => {
  it('finds none where every reviewer kept every event of its review', () => {
    const result = checkSequences([
      {
        segment: '1/2',
        records: [check('r1', 'a', seqs(1, 40), seqs(1, 40)), check('r1', 'b', seqs(1, 40), seqs(1, 40))],
      },
      { segment: '2/2', records: [check('r2', 'c', seqs(1, 25), seqs(1, 25))] },
    ]);
    expect(result).toMatchObject({ reviews: 2, reviewers: 3, gaps: 0, dups: 0, failures: [] });
  });

  it('reports a gap in one segment, naming it and the reviewer', () => {
    const missing = seqs(1, 40).filter((s) => s !== 17 && s !== 18);
    const result = checkSequences([
      { segment: '1/2', records: [check('r1', 'a', seqs(1, 40), seqs(1, 40))] },
      { segment: '2/2', records: [check('r2', 'c', missing, seqs(1, 40))] },
    ]);
    expect(result.gaps).toBe(2);
    expect(result.dups).toBe(0);
    expect(result.failures).toEqual([{ segment: '2/2', reviewId: 'r2', reviewer: 'c', gaps: 2, dups: 0 }]);
  });

  it('checks a reviewer against what reviewers of the same review on another generator read of its log', () => {
    // The review's reviewers are on two generators; b's own reading of the log lost seq 9 (as
    // the reviewer did), a's reading has it: across both, b missed it.
    const logWithout9 = seqs(1, 12).filter((s) => s !== 9);
    const result = checkSequences([
      { segment: '1/2', records: [check('r1', 'a', seqs(1, 12), seqs(1, 12))] },
      { segment: '2/2', records: [check('r1', 'b', logWithout9, logWithout9)] },
    ]);
    expect(result.reviews).toBe(1);
    expect(result.failures).toEqual([{ segment: '2/2', reviewId: 'r1', reviewer: 'b', gaps: 1, dups: 0 }]);
  });

  it('counts an event kept twice, or kept but in no reading of the log, as a duplicate; in-flight ones are not gaps', () => {
    const result = checkSequences([
      {
        segment: '1/1',
        records: [
          check('r1', 'a', [1, 2, 2, 3], seqs(1, 3)),
          check('r1', 'b', [1, 2, 3, 99], seqs(1, 3), { head: 100 }),
          check('r1', 'c', [1, 2], seqs(1, 3), { tail: [3] }),
          check('r1', 'd', [3], seqs(1, 3), { base: 2 }),
        ],
      },
    ]);
    expect(result.gaps).toBe(0);
    expect(result.dups).toBe(2);
    expect(result.failures.map((f) => [f.reviewer, f.dups])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
  });
});
