/**
 * The one-line-per-run markdown table of a load test's figures: a single run's summary
 * (summary.js, under k6) and the merge of several generators' runs (src/merge.ts, under Node)
 * print the same header and rows. Plain JS with no imports, so both runtimes load it as is.
 */

/** A figure with `digits` decimals (by default 0 from 100 up, else 1); '-' for none. */
export const fmt = (v, digits) => {
  if (v === undefined || v === null || Number.isNaN(v)) return '-';
  const d = digits === undefined ? (Math.abs(v) >= 100 ? 0 : 1) : digits;
  return Number(v).toFixed(d);
};

export const MARKDOWN_HEADER =
  '| run | reviewers | deliveries/s | p50 ms | p95 ms | p99 ms | TTFT p50 ms (overhead) | fan-out spread p95 ms | errors | gaps / dups | reconnects |\n' +
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';

export function markdownRow(label, f) {
  return `| ${label} | ${fmt(f.reviewers, 0)} | ${fmt(f.deliveriesPerSecond, 0)} | ${fmt(f.eventLatencyMs.p50)} | ${fmt(
    f.eventLatencyMs.p95,
  )} | ${fmt(f.eventLatencyMs.p99)} | ${fmt(f.ttftMs.p50, 0)} (+${fmt(f.ttftOverheadMs.p50, 0)}) | ${fmt(
    f.fanoutSpreadMs.p95,
  )} | ${f.errors} | ${f.seqGaps} / ${f.seqDups} | ${f.reconnects} |`;
}
