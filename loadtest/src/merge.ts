/**
 * Merges the results of several load generators that split one scenario (`npm run loadtest --
 * <scenario> --segment I/N` on each), into one report:
 *
 *   npm run loadtest:merge -- [--out DIR] <results dir> <results dir> ...
 *
 * Each directory holds one generator's summary (<scenario>-<run>.json), samples.json.gz (k6's
 * every sample) and checks.ndjson (each reviewer's final sequence check, raw). Counts are summed,
 * latency percentiles computed again from all generators' samples together, and every reviewer's
 * sequence checked again against all readings of its review's log. Writes merged.json and
 * merged.md (the single run's table, the merged row first, then a row per segment) into DIR
 * (default loadtest/results/merged-<scenario>-<time>/) and prints the markdown. Exits 1 when a
 * generator's thresholds failed, a gap or duplicate is found, or the directories do not make one
 * run (different scenarios, a segment twice or missing).
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';
import { MARKDOWN_HEADER, markdownRow } from '../lib/table.js';
import {
  type CheckRecord,
  checkSequences,
  parseChecks,
  type SequenceCheck,
  summarise,
  type TrendSummary,
} from './merge-math.ts';

/** The Trend metrics whose percentiles the report shows. */
const TRENDS = [
  'event_latency_ms',
  'ttft_ms',
  'token_gap_ms',
  'fanout_spread_ms',
  'reconnect_ms',
  'event_bytes',
] as const;
type Trend = (typeof TRENDS)[number];
const METRIC = /"metric":"([a-z_]+)"/;

interface Figures {
  reviewers: number | null;
  verified: number | null;
  deliveries: number | null;
  deliveriesPerSecond: number | null;
  eventLatencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  ttftMs: { count: number | null; p50: number | null; p95: number | null; max: number | null };
  ttftOverheadMs: { p50: number | null; p95: number | null };
  fanoutSpreadMs: { count: number | null; p50: number | null; p95: number | null; p99: number | null };
  errors: number;
  seqGaps: number;
  seqDups: number;
  reconnects: number;
  repliesFailed: number;
  modelTtftMs: number;
  [more: string]: unknown;
}

interface Summary {
  scenario: string;
  kind: string;
  runId: string;
  target: string | null;
  segment: string | null;
  durationMs: number;
  passed: boolean;
  thresholds: { metric: string; threshold: string; ok: boolean }[];
  figures: Figures;
}

export interface Segment {
  dir: string;
  summary: Summary;
  samples: Record<Trend, number[]>;
  checks: CheckRecord[];
}

export interface Merged {
  scenario: string;
  segments: { dir: string; segment: string | null; runId: string; passed: boolean; figures: Figures }[];
  figures: Figures;
  trends: Record<Trend, TrendSummary>;
  sequences: SequenceCheck;
  /** Why the directories do not make one run, or what failed. */
  problems: string[];
  passed: boolean;
}

/** Reads one generator's results directory. */
export async function readSegment(dir: string): Promise<Segment> {
  const files = readdirSync(dir).filter(
    (f) => /^[a-z0-9-]+-\d{8}T\d{6}Z\.json$/.test(f) && !f.startsWith('baseline-'),
  );
  if (files.length !== 1)
    throw new Error(`${dir}: expected one <scenario>-<run>.json summary, found ${files.length}`);
  const summary = JSON.parse(readFileSync(join(dir, files[0] as string), 'utf8')) as Summary;
  const samples = Object.fromEntries(TRENDS.map((t) => [t, [] as number[]])) as Record<Trend, number[]>;
  const samplesFile = join(dir, 'samples.json.gz');
  if (!existsSync(samplesFile))
    throw new Error(`${dir}: no samples.json.gz (run with --segment or LOADTEST_RESULTS)`);
  const lines = createInterface({
    input: createReadStream(samplesFile).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  const wanted = new Set<string>(TRENDS);
  for await (const line of lines) {
    // Cheap filter before parsing: most samples are k6's own (http_req_*, iterations, ...).
    if (!line.includes('"type":"Point"')) continue;
    const name = METRIC.exec(line)?.[1];
    if (!name || !wanted.has(name)) continue;
    const point = JSON.parse(line) as { metric: string; data: { value: number } };
    if (point.metric === name) samples[name as Trend].push(point.data.value);
  }
  const checksFile = join(dir, 'checks.ndjson');
  const checks = existsSync(checksFile) ? parseChecks(readFileSync(checksFile, 'utf8')) : [];
  return { dir, summary, samples, checks };
}

const sum = (values: (number | null | undefined)[]): number | null =>
  values.some((v) => typeof v === 'number') ? values.reduce<number>((a, v) => a + (v ?? 0), 0) : null;

/** Combines the generators' results (pure: readSegment did the reading). */
export function merge(segments: readonly Segment[]): Merged {
  const problems: string[] = [];
  if (segments.length === 0) throw new Error('no results to merge');
  const first = segments[0] as Segment;
  const scenario = first.summary.scenario;
  for (const s of segments) {
    if (s.summary.scenario !== scenario)
      problems.push(`${s.dir}: scenario ${s.summary.scenario}, not ${scenario}`);
  }
  // Segments named I/N: all N present, none twice.
  const named = segments.map((s) => s.summary.segment).filter((x): x is string => Boolean(x));
  if (named.length) {
    const counts = new Set(named.map((x) => x.split('/')[1]));
    const seen = new Set(named);
    if (counts.size !== 1 || named.length !== segments.length)
      problems.push(`segments of different splits: ${named.join(', ')}`);
    else {
      const n = Number([...counts][0]);
      if (seen.size !== named.length) problems.push(`a segment is there twice: ${named.join(', ')}`);
      const missing = Array.from({ length: n }, (_, i) => `${i + 1}/${n}`).filter((x) => !seen.has(x));
      if (missing.length) problems.push(`segments missing: ${missing.join(', ')}`);
    }
  }

  const trends = Object.fromEntries(
    TRENDS.map((t) => [t, summarise(segments.map((s) => s.samples[t]))]),
  ) as Record<Trend, TrendSummary>;
  const sequences = checkSequences(
    segments.map((s) => ({ segment: s.summary.segment ?? s.dir, records: s.checks })),
  );
  const fs = segments.map((s) => s.summary.figures);
  const reportedGaps = fs.reduce((a, f) => a + f.seqGaps, 0);
  const reportedDups = fs.reduce((a, f) => a + f.seqDups, 0);
  const verified = sum(fs.map((f) => f.verified)) ?? 0;
  if (sequences.reviewers !== verified) {
    problems.push(`${verified} reviewers verified their sequences, ${sequences.reviewers} checks recorded`);
  }
  const lat = trends.event_latency_ms;
  const ttft = trends.ttft_ms;
  const spread = trends.fanout_spread_ms;
  const model = first.summary.figures.modelTtftMs;
  const less = (v: number | null) => (v === null ? null : v - model);
  const figures: Figures = {
    reviewers: sum(fs.map((f) => f.reviewers)),
    verified,
    deliveries: sum(fs.map((f) => f.deliveries)),
    // The generators ran at the same time: their rates add up.
    deliveriesPerSecond: sum(fs.map((f) => f.deliveriesPerSecond)),
    eventLatencyMs: { p50: lat.p50, p95: lat.p95, p99: lat.p99, max: lat.max },
    ttftMs: { count: ttft.count, p50: ttft.p50, p95: ttft.p95, max: ttft.max },
    ttftOverheadMs: { p50: less(ttft.p50), p95: less(ttft.p95) },
    tokenGapMs: { p50: trends.token_gap_ms.p50, p95: trends.token_gap_ms.p95 },
    fanoutSpreadMs: { count: spread.count, p50: spread.p50, p95: spread.p95, p99: spread.p99 },
    eventBytes: { avg: trends.event_bytes.avg, p50: trends.event_bytes.p50 },
    errors: fs.reduce((a, f) => a + f.errors, 0),
    // The check done again over all generators' records (each generator's own figures beside it).
    seqGaps: Math.max(sequences.gaps, reportedGaps),
    seqDups: Math.max(sequences.dups, reportedDups),
    reconnects: fs.reduce((a, f) => a + f.reconnects, 0),
    repliesFailed: fs.reduce((a, f) => a + (f.repliesFailed ?? 0), 0),
    modelTtftMs: model,
  };
  for (const s of segments)
    if (!s.summary.passed) problems.push(`${s.summary.segment ?? s.dir}: thresholds failed`);
  if (figures.seqGaps || figures.seqDups)
    problems.push(`${figures.seqGaps} gaps, ${figures.seqDups} duplicates`);
  return {
    scenario,
    segments: segments.map((s) => ({
      dir: s.dir,
      segment: s.summary.segment,
      runId: s.summary.runId,
      passed: s.summary.passed,
      figures: s.summary.figures,
    })),
    figures,
    trends,
    sequences,
    problems,
    passed: problems.length === 0,
  };
}

export function markdown(m: Merged): string {
  const lines = [
    `### ${m.scenario}, ${m.segments.length} load generators merged`,
    '',
    MARKDOWN_HEADER,
    markdownRow(`prism ${m.scenario} (merged)`, m.figures),
    ...m.segments.map((s) => markdownRow(`segment ${s.segment ?? '-'} (${s.runId})`, s.figures)),
    '',
    `Latency percentiles from the ${m.trends.event_latency_ms.count} event latency samples of all generators together.`,
    `Sequences checked again across all generators: ${m.sequences.reviewers} reviewers of ${m.sequences.reviews} reviews, ` +
      `${m.sequences.gaps} gaps, ${m.sequences.dups} duplicates.`,
  ];
  for (const f of m.sequences.failures.slice(0, 20)) {
    lines.push(
      `- segment ${f.segment}: ${f.reviewer} in ${f.reviewId}: ${f.gaps} gaps, ${f.dups} duplicates`,
    );
  }
  lines.push('', `Result: ${m.passed ? 'all passed' : 'FAILED'}`);
  for (const p of m.problems) lines.push(`- ${p}`);
  for (const s of m.segments) {
    lines.push(`- segment ${s.segment ?? '-'}: thresholds ${s.passed ? 'passed' : 'FAILED'} (${s.dir})`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  let out: string | undefined;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (a === '--out') out = argv[++i];
    else if (a.startsWith('--out=')) out = a.slice(6);
    else dirs.push(a);
  }
  if (dirs.length === 0) {
    console.error('usage: npm run loadtest:merge -- [--out DIR] <results dir> <results dir> ...');
    return 2;
  }
  const segments = await Promise.all(dirs.map((d) => readSegment(resolve(d))));
  const merged = merge(segments);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const target = resolve(out ?? `loadtest/results/merged-${merged.scenario}-${stamp}`);
  mkdirSync(target, { recursive: true });
  const md = markdown(merged);
  writeFileSync(join(target, 'merged.json'), `${JSON.stringify(merged, null, 2)}\n`);
  writeFileSync(join(target, 'merged.md'), md);
  process.stdout.write(`${md}\nmerged: ${join(target, 'merged.json')}\n`);
  return merged.passed ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`loadtest:merge: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
