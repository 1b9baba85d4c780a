/**
 * Reads the servers' own view of delivery: the `prism_event_lag_seconds` histogram (an event's
 * `at` to the moment its server hands it to the room's sockets), summed over every server's
 * /metrics. Set beside the latency k6 measures, it splits Prism's time from the network and the
 * load generator's. scripts/loadtest.sh calls it once k6 is done, before the cluster stops.
 *
 *   node loadtest/lib/server-lag.mjs --out FILE http://127.0.0.1:PORT/metrics ...
 *
 * Writes {servers, count, buckets: [[upperBoundMs, cumulativeCount], ...]}.
 */
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args[outAt + 1] : '';
const urls = args.filter((_, i) => i !== outAt && i !== outAt + 1);
if (!out || urls.length === 0) {
  console.error('usage: node loadtest/lib/server-lag.mjs --out FILE METRICS_URL...');
  process.exit(2);
}

const BUCKET = /^prism_event_lag_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)/;
const sums = new Map();
let servers = 0;
for (const url of urls) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    for (const line of (await res.text()).split('\n')) {
      const m = BUCKET.exec(line);
      if (!m) continue;
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000;
      sums.set(le, (sums.get(le) || 0) + Number(m[2]));
    }
    servers += 1;
  } catch (error) {
    console.error(`server-lag: ${url}: ${error.message}`);
  }
}
const buckets = [...sums].sort((a, b) => a[0] - b[0]);
const count = buckets.length ? buckets.at(-1)[1] : 0;
writeFileSync(
  out,
  JSON.stringify({ servers, count, buckets: buckets.map(([le, n]) => [le === Infinity ? null : le, n]) }),
);
