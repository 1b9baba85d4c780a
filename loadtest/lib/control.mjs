/**
 * The load test's control process, on the load generator's side (127.0.0.1 only). k6 VUs share
 * no memory, so what needs one view of several VUs goes through here:
 *
 *   POST /receipts {reviewId, receipts: "seq:ms,seq:ms,..."}   one reviewer's live receipt times
 *   GET  /spreads?min=N   per event (reviewId, seq) received live by >= N reviewers: last - first
 *   POST /kill {name, signal?}   kill a cluster child by its pid file ($CLUSTER_DIR/pids/<name>.pid),
 *                                for failover; answers {name, pid, signal, at}
 *   GET  /kills            what was killed, when
 *   POST /lag-mark {mark}  reads the servers' own delivery lag now (lib/server-lag.mjs), kept
 *                          under `mark` with the time: the ramp marks each stage as it starts
 *   GET  /lag-marks        [{mark, at, reading}] in the order they were taken
 *   POST /checks {reviewId, reviewer, base, head, kept, log, tail, gaps, dups}   one reviewer's
 *                          final sequence check, appended as a line to CHECKS_FILE (the raw data
 *                          the merge of several load generators checks again)
 *   POST /rooms {rooms: [room]}   rooms made in k6's setup(), kept in the order posted (several
 *                          posts append): setup's data is copied into every VU, rooms are not
 *   GET  /rooms/<n>        the n-th room posted (0-based), 404 when there is none
 *
 *   node loadtest/lib/control.mjs        prints its URL on stdout; CLUSTER_DIR for /kill;
 *                                        METRICS_URLS (space-separated) for /lag-mark
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { readServerLag } from './server-lag.mjs';

const clusterDir = process.env.CLUSTER_DIR;
const checksFile = process.env.CHECKS_FILE;
const metricsUrls = (process.env.METRICS_URLS || '').split(' ').filter(Boolean);
const events = new Map(); // `${reviewId} ${seq}` -> {first, last, count}
const kills = [];
const lagMarks = [];
const rooms = [];

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

const send = (res, status, value) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method === 'POST' && url.pathname === '/receipts') {
      const { reviewId, receipts } = await body(req);
      for (const pair of String(receipts || '').split(',')) {
        if (!pair) continue;
        const [seq, at] = pair.split(':').map(Number);
        const key = `${reviewId} ${seq}`;
        const entry = events.get(key);
        if (!entry) events.set(key, { first: at, last: at, count: 1 });
        else {
          entry.first = Math.min(entry.first, at);
          entry.last = Math.max(entry.last, at);
          entry.count += 1;
        }
      }
      return send(res, 200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/checks') {
      const check = await body(req);
      if (checksFile) appendFileSync(checksFile, `${JSON.stringify(check)}\n`);
      return send(res, 200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/rooms') {
      const posted = (await body(req)).rooms;
      if (!Array.isArray(posted)) return send(res, 400, { error: 'rooms: an array' });
      rooms.push(...posted);
      return send(res, 200, { rooms: rooms.length });
    }
    const room = /^\/rooms\/(\d+)$/.exec(url.pathname);
    if (req.method === 'GET' && room) {
      const found = rooms[Number(room[1])];
      return found
        ? send(res, 200, found)
        : send(res, 404, { error: `no room ${room[1]} (${rooms.length} made)` });
    }
    if (req.method === 'GET' && url.pathname === '/spreads') {
      const min = Number(url.searchParams.get('min') || 2);
      const spreads = [];
      for (const entry of events.values()) if (entry.count >= min) spreads.push(entry.last - entry.first);
      return send(res, 200, { events: events.size, spreads });
    }
    if (req.method === 'POST' && url.pathname === '/kill') {
      const { name, signal = 'SIGKILL' } = await body(req);
      if (!clusterDir) return send(res, 409, { error: 'no CLUSTER_DIR: nothing to kill (TARGET_URL run)' });
      if (!/^[a-z]+-\d$/.test(String(name))) return send(res, 400, { error: 'bad name' });
      const pid = Number(readFileSync(join(clusterDir, 'pids', `${name}.pid`), 'utf8').trim());
      process.kill(pid, signal);
      const kill = { name, pid, signal, at: new Date().toISOString() };
      kills.push(kill);
      console.error(`control: killed ${name} (pid ${pid}) with ${signal}`);
      return send(res, 200, kill);
    }
    if (req.method === 'GET' && url.pathname === '/kills') return send(res, 200, { kills });
    if (req.method === 'POST' && url.pathname === '/lag-mark') {
      const { mark } = await body(req);
      if (metricsUrls.length === 0) return send(res, 409, { error: 'no METRICS_URLS (TARGET_URL run)' });
      const at = Date.now();
      lagMarks.push({ mark: String(mark), at, reading: await readServerLag(metricsUrls) });
      return send(res, 200, { ok: true });
    }
    if (req.method === 'GET' && url.pathname === '/lag-marks') return send(res, 200, { marks: lagMarks });
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
    send(res, 404, { error: 'not found' });
  } catch (error) {
    send(res, 500, { error: String(error?.message ?? error) });
  }
});

server.listen(Number(process.env.CONTROL_PORT || 0), '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
