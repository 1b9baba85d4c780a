/**
 * The run's report: Prism's figures beside the raw Socket.IO baseline's at the same load, the
 * ratio, and CPU per process (what limited the run). scripts/loadtest.sh writes it to
 * loadtest/results/report-<scenario>-<timestamp>.md.
 *
 *   node loadtest/lib/report.mjs --prism FILE [--baseline FILE] [--cpu FILE] [--baseline-cpu FILE]
 *     [--lag-marks FILE] --out FILE
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { coresText, cpuBetween, limitOf } from './cpu-window.mjs';
import { lagBetween, lagBound } from './server-lag.mjs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const load = (file) => (file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null);
const prism = load(args.prism);
if (!prism) {
  console.error('report: no Prism results file');
  process.exit(1);
}
const baseline = load(args.baseline);
const cpu = load(args.cpu);
const baselineCpu = load(args['baseline-cpu']);
// The servers' own lag: read at each ramp stage's start, and once at the end ("done": whole run).
const lagMarks = load(args['lag-marks'])?.marks ?? [];
const serverLag = lagMarks.find((m) => m.mark === 'done')?.reading;

const f1 = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? '-' : Number(v).toFixed(d));
const reach = (l) => (l.reached === false ? 'not reached' : l.ok ? 'yes' : 'no');
const ratio = (a, b) => (a === null || a === undefined || !b ? '-' : `${(a / b).toFixed(2)}x`);

function row(label, f) {
  return `| ${label} | ${f1(f.reviewers, 0)} | ${f1(f.deliveriesPerSecond, 0)} | ${f1(f.eventLatencyMs.p50)} | ${f1(
    f.eventLatencyMs.p95,
  )} | ${f1(f.eventLatencyMs.p99)} | ${f.ttftMs?.count ? `${f1(f.ttftMs.p50, 0)} (+${f1(f.ttftOverheadMs.p50, 0)})` : '-'} | ${f1(
    f.fanoutSpreadMs.p95,
  )} | ${f.errors} | ${f.seqGaps} / ${f.seqDups} | ${f.reconnects} |`;
}

const lines = [];
const p = prism.figures;
lines.push(`## Load test: ${prism.scenario} (${prism.runId})`, '');
lines.push(
  `Target: ${prism.target ?? '-'}. Thresholds: ${
    prism.passed
      ? 'all passed'
      : `FAILED (${prism.thresholds
          .filter((t) => !t.ok)
          .map((t) => `\`${t.metric}\` ${t.threshold}`)
          .join(', ')})`
  }.`,
  '',
);
lines.push(
  '| run | reviewers | deliveries/s | p50 ms | p95 ms | p99 ms | TTFT p50 ms (overhead) | fan-out spread p95 ms | errors | gaps / dups | reconnects |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  row(`Prism ${prism.scenario}`, p),
);
if (baseline) lines.push(row('raw Socket.IO + Redis adapter', baseline.figures));
if (p.uploadsRefused) {
  lines.push(
    '',
    `Uploads a busy server refused (503 unavailable or 429, with Retry-After) and the client made again after waiting: ${p.uploadsRefused}.`,
  );
}
lines.push('');

if (p.ttftMs?.count) {
  lines.push(
    `TTFT: p50 ${f1(p.ttftMs.p50, 0)} ms, p95 ${f1(p.ttftMs.p95, 0)} ms from chat:send to the first chat.delta, of which the model stand-in takes ${p.modelTtftMs} ms: Prism's overhead p50 ${f1(
      p.ttftOverheadMs.p50,
      0,
    )} ms, p95 ${f1(p.ttftOverheadMs.p95, 0)} ms (${p.ttftMs.count} replies). Token gap p50 ${f1(p.tokenGapMs.p50, 0)} ms, p95 ${f1(
      p.tokenGapMs.p95,
      0,
    )} ms.`,
    '',
  );
}

if (p.killed) {
  lines.push(
    `Failover: killed ${p.killed.join(' and ')} (SIGKILL) at ${p.killAtMs / 1000} s; ${p.reconnects} reviewers reconnected${
      p.reconnectMs
        ? `, from the drop to caught up (rejoined with \`since\`) p50 ${f1(p.reconnectMs.p50, 0)} ms, p95 ${f1(p.reconnectMs.p95, 0)} ms, max ${f1(
            p.reconnectMs.max,
            0,
          )} ms`
        : ''
    }; ${p.repliesFailed} replies failed (interrupted by the worker kill); ${p.seqGaps} gaps and ${p.seqDups} duplicates in ${
      p.verified
    } reviewers' final sequences.`,
    '',
  );
}

const types = Object.entries(p.latencyByType || {});
if (types.length) {
  lines.push(
    `Prism event latency by type (p50 / p95 / p99 ms, deliveries): ${types
      .sort((x, y) => y[1].count - x[1].count)
      .map(([type, v]) => `${type} ${f1(v.p50)} / ${f1(v.p95)} / ${f1(v.p99)} (${v.count})`)
      .join('; ')}.`,
    '',
  );
}

if (baseline) {
  const b = baseline.figures;
  if (p.stages && b.stages) {
    lines.push('Per level, Prism / baseline at the same reviewers and room event rate:', '');
    lines.push(
      '| reviewers | Prism held | Prism deliveries/s | Prism p50 / p95 / p99 ms | Prism TTFT overhead p50 / p95 ms | baseline deliveries/s | baseline p50 / p95 / p99 ms | p95 ratio | Prism meets target | baseline meets target |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const l of p.stages.levels) {
      const bl = b.stages.levels.find((x) => x.level === l.level) || {};
      lines.push(
        `| ${l.level} | ${l.held} | ${f1(l.deliveriesPerSecond, 0)} | ${f1(l.p50)} / ${f1(l.p95)} / ${f1(l.p99)} | ${f1(
          l.ttftOverheadMs?.p50,
          0,
        )} / ${f1(l.ttftOverheadMs?.p95, 0)} | ${f1(bl.deliveriesPerSecond, 0)} | ${f1(bl.p50)} / ${f1(bl.p95)} / ${f1(bl.p99)} | ${ratio(l.p95, bl.p95)} | ${reach(l)} | ${reach(bl)} |`,
      );
    }
    lines.push('');
    const top = p.stages.levels.at(-1)?.level;
    // Recomputed from the levels (results files from older runs kept the first-failure rule).
    for (const st of [p.stages, b.stages]) {
      const best = st.levels.filter((l) => l.ok).pop();
      st.ceiling = best ? best.level : 0;
      st.ceilingDeliveriesPerSecond = best ? best.deliveriesPerSecond : null;
    }
    const ceiling = (st) =>
      st.ceiling
        ? `${st.ceiling} reviewers${st.ceiling === top ? ' or more (the top level passed)' : ''} at ${f1(st.ceilingDeliveriesPerSecond, 0)} deliveries/s`
        : 'no level met the target';
    lines.push(
      `Ceiling (highest level meeting p95 <= ${p.stages.p95Ms} ms, p99 <= ${p.stages.p99Ms} ms, 0 errors): Prism ${ceiling(
        p.stages,
      )}; baseline ${ceiling(b.stages)}; ratio of deliveries/s at the ceilings ${ratio(
        p.stages.ceilingDeliveriesPerSecond,
        b.stages.ceilingDeliveriesPerSecond,
      )} (target >= 1.0x).`,
      '',
    );
  } else {
    lines.push(
      `Prism / baseline at the same load: p50 ${ratio(p.eventLatencyMs.p50, b.eventLatencyMs.p50)}, p95 ${ratio(
        p.eventLatencyMs.p95,
        b.eventLatencyMs.p95,
      )}, p99 ${ratio(p.eventLatencyMs.p99, b.eventLatencyMs.p99)}, fan-out spread p95 ${ratio(
        p.fanoutSpreadMs.p95,
        b.fanoutSpreadMs.p95,
      )}. Deliveries: Prism ${p.deliveries}, baseline ${b.deliveries} (the baseline replays Prism's room events evenly over the same window: ${f1(
        b.replayed?.roomEventsPerSecond,
        2,
      )} events/s per room, frames of ${b.replayed?.smallBytes} B and ${b.replayed?.largeBytes} B).`,
      '',
    );
  }
}

function cpuTable(title, c) {
  if (!c) return;
  const procs = Object.entries(c.processes).sort((a, b) => b[1].cpuAvgPct - a[1].cpuAvgPct);
  lines.push(
    `${title}: the machine (${c.cores} cores, everything on it, other people's work included) was ${c.machine.busyAvgPct} % busy on average, ${c.machine.busyMaxPct} % at most.`,
    '',
    '| process | CPU avg % | CPU max % | RSS start / max MB |',
    '| --- | --- | --- | --- |',
  );
  for (const [name, s] of procs) {
    lines.push(`| ${name} | ${s.cpuAvgPct} | ${s.cpuMaxPct} | ${s.rssStartMB} / ${s.rssMaxMB} |`);
  }
  lines.push('', `(100 % = one core.) ${limiter(c)}`, '');
}

/** What limited the run, from the CPU samples. */
function limiter(c) {
  const procs = Object.entries(c.processes).sort((a, b) => b[1].cpuMaxPct - a[1].cpuMaxPct);
  const hot = procs.filter(([, s]) => s.cpuMaxPct >= 90).map(([n]) => n);
  const parts = [];
  if (c.machine.busyMaxPct >= 90) parts.push(`the machine's ${c.cores} cores were saturated at the peak`);
  if (hot.length)
    parts.push(
      `single processes near a full core at their peak: ${hot.join(', ')} (Node and Redis use one core each)`,
    );
  const k6 = c.processes.k6;
  if (k6 && k6.cpuMaxPct >= 70) parts.push(`the load generator (k6) itself used up to ${k6.cpuMaxPct} %`);
  const ours = Object.values(c.processes).reduce((sum, s) => sum + s.cpuAvgPct, 0);
  const others = c.machine.busyAvgPct * c.cores - ours;
  if (others >= 50) {
    parts.push(
      `this run's processes used ${ours} % of a core on average while the machine was ${c.machine.busyAvgPct * c.cores} % busy: other work on the machine (other test runs) took about ${others} %, so these figures are pessimistic`,
    );
  }
  if (!parts.length) {
    const [name, s] = procs[0] || ['-', { cpuMaxPct: 0 }];
    return `Nothing was saturated (busiest: ${name} at ${s.cpuMaxPct} % at its peak).`;
  }
  return `Limits: ${parts.join('; ')}.`;
}

const bound = (reading, q) => {
  const ms = lagBound(reading, q);
  return ms === null ? 'over the largest bucket' : `<= ${ms} ms`;
};
const within = (reading, ms) => {
  const hit = reading.buckets.find(([le]) => le === ms);
  return hit && reading.count ? f1((100 * hit[1]) / reading.count, 2) : '-';
};
if (serverLag?.count) {
  lines.push(
    `Servers' own lag (event \`at\` to the relay handing it to the room's sockets, ${serverLag.count} events over ${serverLag.servers} servers, whole run, from their /metrics): p50 ${bound(serverLag, 0.5)}, p95 ${bound(serverLag, 0.95)}, p99 ${bound(serverLag, 0.99)}; ${within(serverLag, 5)} % within 5 ms, ${within(serverLag, 25)} % within 25 ms. What k6 measures beyond this is the sockets, HAProxy and the load generator itself.`,
    '',
  );
}
// Why sockets left the servers before k6 closed its own (the ramp's `end` mark): a ping timeout is
// a pong that did not come in time, a transport close the client or HAProxy closing, ...
// A run stopped early by its thresholds has no `end` mark: then the whole run, k6's closes included.
const endMark = lagMarks.find((m) => m.mark === 'end');
const ended = (endMark ?? lagMarks.find((m) => m.mark === 'done'))?.reading;
const gone = Object.entries(ended?.disconnects ?? {}).sort((a, b) => b[1] - a[1]);
if (ended) {
  lines.push(
    `Sockets that left the servers ${endMark ? "before the ramp's end" : "in the whole run (k6's own closes at its end included)"}, by Socket.IO's reason: ${
      gone.length ? gone.map(([reason, n]) => `${reason} ${n}`).join(', ') : 'none'
    }. Slow readers (sockets fed from the log after SOCKET_SEND_QUEUE_LIMIT frames waited for them): ${
      ended.slowReaders ?? 0
    }.`,
    '',
  );
}
// Per ramp level: between the mark taken as its hold started and the next one.
const holds = lagMarks
  .map((m, i) => ({ ...m, next: lagMarks[i + 1] }))
  .filter((m) => /^L\d+$/.test(m.mark) && m.next);
if (holds.length && p.stages) {
  lines.push(
    "Servers' own lag per level (its hold), beside k6's event latency, and the CPU each process used during the hold (in cores; what limited the level):",
    '',
    '| reviewers | events relayed | servers p95 / p99 | servers within 5 ms | k6 p95 / p99 ms | k6 tick lag p95 ms | machine busy avg / max % | each core busy avg % | cores used | limit |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const hold of holds) {
    const lag = lagBetween(hold.reading, hold.next.reading);
    const level = Number(hold.mark.slice(1));
    const k6 = p.stages.levels.find((l) => l.level === level) || {};
    const used = cpuBetween(cpu, hold.at, hold.next.at);
    lines.push(
      `| ${level} | ${lag.count} | ${bound(lag, 0.95)} / ${bound(lag, 0.99)} | ${within(lag, 5)} % | ${f1(k6.p95)} / ${f1(k6.p99)} | ${f1(
        k6.tickLagP95,
      )} | ${used ? `${f1(used.machineAvgPct, 0)} / ${f1(used.machineMaxPct, 0)}` : '-'} | ${
        used?.coreAvgPct?.length ? used.coreAvgPct.map((pct) => f1(pct, 0)).join(' / ') : '-'
      } | ${coresText(used)} | ${limitOf(used, cpu?.cores ?? '-')} |`,
    );
  }
  lines.push('');
}

cpuTable('CPU during the Prism run', cpu);
cpuTable('CPU during the baseline run', baselineCpu);

const servers = cpu ? Object.entries(cpu.processes).filter(([n]) => n.startsWith('server-')) : [];
if (servers.length && p.reviewers && p.stages) {
  const grown = servers.reduce((sum, [, s]) => sum + Math.max(0, s.rssMaxMB - s.rssStartMB), 0);
  lines.push(
    `Server memory: RSS grew ${grown.toFixed(0)} MB across ${servers.length} servers for ${p.reviewers} reviewers at the peak, about ${f1(
      (grown * 1024) / p.reviewers,
      0,
    )} KB per connection (an upper bound: it includes the rooms' state and buffers under load, not idle sockets only).`,
    '',
  );
}

writeFileSync(args.out, `${lines.join('\n')}\n`);
