/**
 * The servers' own view of delivery: the `prism_event_lag_seconds` histogram (an event's `at` to
 * the moment its server hands it to the room's sockets), summed over every server's /metrics. Set
 * beside the latency k6 measures, it splits Prism's time from the network's and the load
 * generator's. scripts/loadtest.sh reads it once k6 is done (the whole run); the control process
 * reads it at each ramp stage change (per level).
 *
 *   node loadtest/lib/server-lag.mjs --out FILE http://127.0.0.1:PORT/metrics ...
 *
 * A reading is {servers, count, buckets: [[upperBoundMs or null for +Inf, cumulativeCount], ...]}.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const BUCKET = /^prism_event_lag_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)/;

/** One reading over all the servers that answer (`servers` says how many did). */
export async function readServerLag(urls) {
  const sums = new Map();
  let servers = 0;
  for (const url of urls) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      for (const line of (await res.text()).split('\n')) {
        const m = BUCKET.exec(line);
        if (!m) continue;
        const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]) * 1000;
        sums.set(le, (sums.get(le) || 0) + Number(m[2]));
      }
      servers += 1;
    } catch (error) {
      console.error(`server-lag: ${url}: ${error.message}`);
    }
  }
  const buckets = [...sums].sort((a, b) => a[0] - b[0]);
  return {
    servers,
    count: buckets.length ? buckets.at(-1)[1] : 0,
    buckets: buckets.map(([le, n]) => [Number.isFinite(le) ? le : null, n]),
  };
}

/** What happened between two readings (cumulative counts subtracted bucket by bucket). */
export function lagBetween(before, after) {
  const earlier = new Map(before.buckets);
  const buckets = after.buckets.map(([le, n]) => [le, n - (earlier.get(le) || 0)]);
  return { servers: after.servers, count: after.count - before.count, buckets };
}

/** The smallest bucket bound holding fraction `q` of the reading's samples, in ms (null: +Inf). */
export function lagBound(reading, q) {
  const need = q * reading.count;
  const hit = reading.buckets.find(([, n]) => n >= need);
  return hit ? hit[0] : null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args[outAt + 1] : '';
  const urls = args.filter((_, i) => i !== outAt && i !== outAt + 1);
  if (!out || urls.length === 0) {
    console.error('usage: node loadtest/lib/server-lag.mjs --out FILE METRICS_URL...');
    process.exit(2);
  }
  writeFileSync(out, JSON.stringify(await readServerLag(urls)));
}
