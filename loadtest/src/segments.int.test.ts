/**
 * Two load generators split one scenario: `npm run loadtest -- smoke --segment 1/2` and `2/2` run
 * at the same time against one Prism (this test's server and worker), each into its own results
 * directory; the merge adds their counts up and finds no gap or duplicate across them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupKeys, ROOT, uniquePrefix } from '../../test/helpers.ts';
import { markdown, merge, readSegment } from './merge.ts';
import { runLoadtest, startTarget } from './run-loadtest.ts';

const REVIEWERS = 20; // two rooms of ten, one per generator
const prefix = uniquePrefix('lt-segments');
const dir = mkdtempSync(join(tmpdir(), 'prism-segments-'));
afterAll(() => {
  cleanupKeys(prefix);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one segment with scripts/loadtest.sh; resolves with its exit code and output. */
function runSegment(target: string, segment: string, results: string) {
  const knobs = [`REVIEWERS=${REVIEWERS}`, 'DURATION_S=20', 'SMOKE_P95_MS=5000'];
  return runLoadtest(['smoke', '--segment', segment, ...knobs.flatMap((k) => ['-e', k])], {
    TARGET_URL: target,
    LOADTEST_RESULTS: results,
  });
}

describe('load generators split one scenario', () => {
  it('two segments of smoke at once, merged: counts are the sum, no gap or duplicate across them', async () => {
    const server = await startTarget(prefix, dir);

    const dirs = [join(dir, 'segment-1'), join(dir, 'segment-2')];
    const runs = await Promise.all([
      runSegment(server.url, '1/2', dirs[0] as string),
      runSegment(server.url, '2/2', dirs[1] as string),
    ]);
    for (const run of runs) {
      // 0, or 99 when a timing threshold failed on a busy machine: the results are written either way.
      expect([0, 99], run.output.slice(-3000)).toContain(run.code);
    }
    for (const [i, d] of dirs.entries()) {
      for (const f of ['report.html', 'samples.json.gz', 'checks.ndjson']) {
        expect(existsSync(join(d, f)), `${d}/${f}\n${runs[i]?.output.slice(-3000)}`).toBe(true);
      }
      expect(readFileSync(join(d, 'report.html'), 'utf8')).toContain('<html');
    }

    const segments = await Promise.all(dirs.map((d) => readSegment(d)));
    expect(segments.map((s) => s.summary.segment)).toEqual(['1/2', '2/2']);
    const merged = merge(segments);
    const per = segments.map((s) => s.summary.figures);

    // Each generator ran its half: ten reviewers, every one joined and verified its sequence.
    expect(
      per.map((f) => f.reviewers),
      runs.map((r) => r.output.slice(-4000)).join('\n'),
    ).toEqual([REVIEWERS / 2, REVIEWERS / 2]);
    expect(merged.figures.reviewers).toBe(REVIEWERS);
    expect(merged.figures.verified).toBe(REVIEWERS);
    expect(merged.figures.deliveries).toBe((per[0]?.deliveries ?? 0) + (per[1]?.deliveries ?? 0));
    expect(merged.figures.deliveries).toBeGreaterThan(0);
    // Percentiles from all samples: the merged count is both generators' samples together.
    expect(merged.trends.event_latency_ms.count).toBe(
      segments[0]!.samples.event_latency_ms.length + segments[1]!.samples.event_latency_ms.length,
    );
    expect(merged.trends.event_latency_ms.count).toBeGreaterThan(0);
    // The raw checks: one per reviewer, across both generators, and nothing lost or doubled.
    expect(merged.sequences.reviewers).toBe(REVIEWERS);
    expect(merged.sequences.reviews).toBe(2);
    expect(merged.sequences).toMatchObject({ gaps: 0, dups: 0, failures: [] });
    expect(merged.figures.seqGaps).toBe(0);
    expect(merged.figures.seqDups).toBe(0);
    expect(merged.problems.filter((p) => !p.endsWith('thresholds failed'))).toEqual([]);

    const md = markdown(merged);
    expect(md).toContain(`| prism smoke (merged) | ${REVIEWERS} |`);
    expect(md).toContain('| segment 1/2 ');
    expect(md).toContain('| segment 2/2 ');

    // The same through the npm script a load tester runs: merged.md and merged.json written.
    const out = join(dir, 'merged');
    const cli = spawnSync('npm', ['run', '-s', 'loadtest:merge', '--', '--out', out, ...dirs], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(cli.status, cli.stderr).toBe(merged.passed ? 0 : 1);
    expect(readFileSync(join(out, 'merged.md'), 'utf8')).toBe(md);
    expect(JSON.parse(readFileSync(join(out, 'merged.json'), 'utf8')).figures.reviewers).toBe(REVIEWERS);
  }, 240_000);
});
