/**
 * The arithmetic of merging several load generators' results (loadtest/src/merge.ts): latency
 * percentiles of the merged samples (never an average of the generators' percentiles), counts
 * summed, and every reviewer's final sequence check done again over all generators' records.
 */

/** k6's own percentile of sorted values: linear interpolation between the closest ranks. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  if (n === 1) return sorted[0] ?? null;
  const rank = (p / 100) * (n - 1);
  const lower = Math.floor(rank);
  const upper = Math.min(n - 1, lower + 1);
  const a = sorted[lower] ?? 0;
  const b = sorted[upper] ?? 0;
  return a + (b - a) * (rank - lower);
}

/** Samples of one metric from several generators, summarised as k6 does for a Trend. */
export interface TrendSummary {
  count: number;
  avg: number | null;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export function summarise(parts: readonly (readonly number[])[]): TrendSummary {
  let count = 0;
  for (const part of parts) count += part.length;
  const all = new Float64Array(count);
  let at = 0;
  let sum = 0;
  for (const part of parts) {
    for (const v of part) {
      all[at++] = v;
      sum += v;
    }
  }
  all.sort();
  return {
    count,
    avg: count ? sum / count : null,
    min: count ? (all[0] ?? null) : null,
    p50: percentile(all, 50),
    p90: percentile(all, 90),
    p95: percentile(all, 95),
    p99: percentile(all, 99),
    max: count ? (all[count - 1] ?? null) : null,
  };
}

/**
 * One reviewer's final check, as its load generator recorded it (loadtest/lib/prism.js
 * Reviewer.compare): the seqs it kept (in order, repeats included), the review log's seqs after
 * its base that it read at the end, the log's newest seq, those still in flight (not counted).
 */
export interface CheckRecord {
  reviewId: string;
  reviewer: string;
  base: number;
  head: number;
  kept: number[];
  log: number[];
  tail: number[];
  gaps?: number;
  dups?: number;
}

export interface SequenceCheck {
  reviews: number;
  reviewers: number;
  gaps: number;
  dups: number;
  /** Reviewers with gaps or duplicates: which generator, who, how many. */
  failures: { segment: string; reviewId: string; reviewer: string; gaps: number; dups: number }[];
}

/**
 * Checks every reviewer of every generator again, against the union of what all reviewers of
 * the same review read of its log (a review's reviewers may be spread over generators): a seq of
 * the log after the reviewer's base and up to the newest it read, not kept and not in flight, is
 * a gap; a seq kept twice, or kept (up to that newest) but in no reading of the log, a duplicate.
 */
export function checkSequences(
  segments: readonly { segment: string; records: readonly CheckRecord[] }[],
): SequenceCheck {
  const logs = new Map<string, Set<number>>();
  for (const { records } of segments) {
    for (const r of records) {
      let log = logs.get(r.reviewId);
      if (!log) {
        log = new Set();
        logs.set(r.reviewId, log);
      }
      for (const seq of r.log) log.add(seq);
    }
  }
  const out: SequenceCheck = { reviews: logs.size, reviewers: 0, gaps: 0, dups: 0, failures: [] };
  for (const { segment, records } of segments) {
    for (const r of records) {
      out.reviewers += 1;
      const log = logs.get(r.reviewId) ?? new Set<number>();
      const kept = new Set(r.kept);
      const tail = new Set(r.tail);
      let gaps = 0;
      for (const seq of log) {
        if (seq > r.base && seq <= r.head && !kept.has(seq) && !tail.has(seq)) gaps += 1;
      }
      let dups = r.kept.length - kept.size;
      for (const seq of kept) if (seq <= r.head && !log.has(seq)) dups += 1;
      out.gaps += gaps;
      out.dups += dups;
      if (gaps || dups)
        out.failures.push({ segment, reviewId: r.reviewId, reviewer: r.reviewer, gaps, dups });
    }
  }
  return out;
}

/** Parses checks.ndjson (one record a line; blank lines skipped). */
export function parseChecks(text: string): CheckRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as CheckRecord);
}
