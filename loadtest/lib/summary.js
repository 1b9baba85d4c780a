/**
 * handleSummary for every scenario: writes k6's summary data plus Prism's figures to
 * `$RESULTS_DIR/<prefix><scenario>-<RUN_ID>.json` and a short markdown table beside it, and prints
 * the table and the thresholds (k6's own end-of-test summary is replaced by this).
 */

import { MODEL_TTFT_MS, ttftOverhead } from './prism.js';
import { MARKDOWN_HEADER, markdownRow } from './table.js';

const values = (data, name) => data.metrics[name]?.values || {};

/** The figures every results file carries (null where the run measured nothing). */
export function figures(data, extra) {
  const lat = values(data, 'event_latency_ms');
  const ttft = values(data, 'ttft_ms');
  const gap = values(data, 'token_gap_ms');
  const spread = values(data, 'fanout_spread_ms');
  const deliveries = values(data, 'deliveries');
  const num = (v) => (v === undefined ? null : v);
  return Object.assign(
    {
      reviewers: num(values(data, 'reviewers_joined').count),
      verified: num(values(data, 'reviewers_verified').count),
      deliveries: num(deliveries.count),
      deliveriesPerSecond: num(deliveries.rate),
      eventLatencyMs: {
        p50: num(lat.med),
        p95: num(lat['p(95)']),
        p99: num(lat['p(99)']),
        max: num(lat.max),
      },
      ttftMs: { count: num(ttft.count), p50: num(ttft.med), p95: num(ttft['p(95)']), max: num(ttft.max) },
      ttftOverheadMs: ttftOverhead(ttft),
      tokenGapMs: { p50: num(gap.med), p95: num(gap['p(95)']) },
      fanoutSpreadMs: {
        count: num(spread.count),
        p50: num(spread.med),
        p95: num(spread['p(95)']),
        p99: num(spread['p(99)']),
      },
      eventBytes: { avg: num(values(data, 'event_bytes').avg), p50: num(values(data, 'event_bytes').med) },
      errors: values(data, 'errors').count || 0,
      seqGaps: values(data, 'seq_gaps').count || 0,
      seqDups: values(data, 'seq_dups').count || 0,
      reconnects: values(data, 'reconnects').count || 0,
      reconnectMs: values(data, 'reconnect_ms').count
        ? {
            p50: values(data, 'reconnect_ms').med,
            p95: values(data, 'reconnect_ms')['p(95)'],
            max: values(data, 'reconnect_ms').max,
          }
        : null,
      repliesFailed: values(data, 'replies_failed').count || 0,
      uploadsRefused: values(data, 'uploads_refused').count || 0,
      modelTtftMs: MODEL_TTFT_MS,
      latencyByType: latencyByType(data),
    },
    extra || {},
  );
}

/** Thresholds that cannot fail (`>=0`) only ask k6 to summarise a sub-metric: not listed. */
const reportOnly = (expr) => /(>=0|>= 0)$/.test(expr.replace(/\s+/g, ''));

export function thresholdResults(data) {
  const out = [];
  for (const name of Object.keys(data.metrics).sort()) {
    const t = data.metrics[name].thresholds;
    if (!t) continue;
    for (const expr of Object.keys(t)) {
      if (!reportOnly(expr)) out.push({ metric: name, threshold: expr, ok: t[expr].ok });
    }
  }
  return out;
}

/** Event latency per type (from the report-only sub-metrics), for finding where time goes. */
export function latencyByType(data) {
  const out = {};
  for (const name of Object.keys(data.metrics)) {
    const m = /^event_latency_ms\{type:(.+)\}$/.exec(name);
    if (!m) continue;
    const v = data.metrics[name].values;
    if (v.count) out[m[1]] = { count: v.count, p50: v.med, p95: v['p(95)'], p99: v['p(99)'], max: v.max };
  }
  return out;
}

/**
 * Builds handleSummary for a scenario. `options.prefix` names the file ('' for Prism, 'baseline-'),
 * `options.extra(data)` adds scenario figures (ramp stages, failover kills).
 */
export function summaryHandler(scenario, options) {
  const opts = options || {};
  return (data) => {
    const runId = __ENV.RUN_ID || new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
    const dir = (__ENV.RESULTS_DIR || 'loadtest/results').replace(/\/+$/, '');
    const base = `${dir}/${opts.prefix || ''}${scenario}-${runId}`;
    const f = figures(data, opts.extra ? opts.extra(data) : undefined);
    const thresholds = thresholdResults(data);
    const passed = thresholds.every((t) => t.ok);
    const result = {
      scenario,
      kind: opts.prefix ? opts.prefix.replace(/-$/, '') : 'prism',
      runId,
      target: __ENV.TARGET_URL || null,
      segment: __ENV.SEGMENT || null,
      at: new Date().toISOString(),
      durationMs: data.state.testRunDurationMs,
      passed,
      thresholds,
      figures: f,
      k6: { metrics: data.metrics, state: data.state, options: data.options },
    };
    const lines = [
      `### ${opts.prefix ? opts.prefix.replace(/-$/, '') + ' ' : ''}${scenario} (${runId})`,
      '',
      MARKDOWN_HEADER,
      markdownRow(opts.prefix ? `baseline ${scenario}` : `prism ${scenario}`, f),
      '',
    ];
    if (opts.markdown) lines.push(opts.markdown(f, data), '');
    lines.push(`Thresholds: ${passed ? 'all passed' : 'FAILED'}`);
    for (const t of thresholds) lines.push(`- ${t.ok ? 'ok  ' : 'FAIL'} \`${t.metric}\` ${t.threshold}`);
    const md = `${lines.join('\n')}\n`;
    const out = {};
    out[`${base}.json`] = JSON.stringify(result, null, 2);
    out[`${base}.md`] = md;
    out.stdout = `\n${md}\nresults: ${base}.json\n`;
    return out;
  };
}
