/**
 * The servers' own view of delivery: the `prism_event_lag_seconds` histogram (an event's `at` to
 * the moment its server hands it to the room's sockets), summed over every server's /metrics. Set
 * beside the latency k6 measures, it splits Prism's time from the network's and the load
 * generator's. The control process takes the readings: as each ramp stage starts (per level) and
 * once k6 is done (the whole run).
 *
 * A reading is {servers, count, buckets: [[upperBoundMs or null for +Inf, cumulativeCount], ...],
 * disconnects: {reason: cumulativeCount}}: the sockets that left the servers, by Socket.IO's reason
 * (`ping timeout`: no pong in time; `transport close`: the client or a proxy closed it; ...), and
 * slowReaders: how many times a socket fell so far behind that it was fed from the log.
 */
const BUCKET = /^prism_event_lag_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\}\s+(\S+)/;
const DISCONNECT = /^prism_socket_disconnects_total\{[^}]*reason="([^"]+)"[^}]*\}\s+(\S+)/;
const SLOW = /^prism_slow_readers_total(?:\{[^}]*\})?\s+(\S+)/;

/** One reading over all the servers that answer (`servers` says how many did). */
export async function readServerLag(urls) {
  const sums = new Map();
  const disconnects = {};
  let slowReaders = 0;
  let servers = 0;
  for (const url of urls) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      for (const line of (await res.text()).split('\n')) {
        const gone = DISCONNECT.exec(line);
        if (gone) disconnects[gone[1]] = (disconnects[gone[1]] || 0) + Number(gone[2]);
        const slow = SLOW.exec(line);
        if (slow) slowReaders += Number(slow[1]);
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
    disconnects,
    slowReaders,
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
