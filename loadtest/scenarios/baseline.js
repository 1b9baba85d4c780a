/**
 * The baseline: raw Socket.IO + @socket.io/redis-adapter (loadtest/baseline/server.mjs, behind the
 * same HAProxy layout) carrying the load a Prism scenario just measured, so Prism's figures read
 * as a ratio. scripts/loadtest.sh runs it after the Prism run with SCENARIO (smoke, room, ramp)
 * and PRISM_RESULT (that run's results file):
 *
 *   - the same reviewers in rooms of 10 (smoke: one VU per socket, like Prism's smoke; room and
 *     ramp: one VU per room), over the same time (ramp: the same levels, lib/ramp-plan.js);
 *   - the same room events per second (Prism's deliveries / 10, per level for ramp), one
 *     publisher per room, at Prism's event sizes (a mix of its median and p95 frame sizes with
 *     Prism's mean);
 *   - the same metrics (event_latency_ms from the server's `at`, deliveries, fanout_spread_ms,
 *     errors, seq_gaps/seq_dups: plain Socket.IO has no replay, so a gap stays a gap).
 *
 * Writes baseline-<scenario>-<RUN_ID>.json/.md. Its thresholds describe, they do not gate.
 */
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { WebSocket } from 'k6/websockets';
import {
  error,
  exportReceipts,
  importSpreads,
  metrics,
  rand,
  SpreadTracker,
  sinceStart,
  sleepMs,
  TARGET,
  touchCounters,
} from '../lib/prism.js';
import {
  HOLD_S,
  ROOM_SIZE,
  STEP_S,
  stageAt,
  stageFigures,
  stageMarkdown,
  stages,
  stageThresholds,
  TOTAL_S,
  tagStage,
  UP_S,
  WIND_DOWN_S,
} from '../lib/ramp-plan.js';
import { FrameCache, SocketIoClient, socketIoUrl } from '../lib/socketio.js';
import { summaryHandler } from '../lib/summary.js';

const MODE = __ENV.SCENARIO || 'smoke';
const prism = __ENV.PRISM_RESULT ? JSON.parse(open(__ENV.PRISM_RESULT)) : null;
const pf = prism ? prism.figures : {};
const held = new Counter('held');

// ---- the load to replay ----
const REVIEWERS = MODE === 'ramp' ? 0 : Number(pf.reviewers || __ENV.REVIEWERS || 100);
const ROOMS = Math.ceil(REVIEWERS / ROOM_SIZE);
const DURATION_MS = Number(__ENV.DURATION_S || (MODE === 'room' ? 180 : 60)) * 1000;
// Prism's smoke acts from about 4 s to 70 % of the run, room to 80 %: publish over the same window.
const ACTIVE_FROM = 4000;
const ACTIVE_TO = DURATION_MS * (MODE === 'room' ? 0.8 : 0.7);
const roomEventsPerSecond = (() => {
  if (MODE === 'ramp') return 0;
  const deliveries = Number(pf.deliveries || 0);
  return deliveries / ROOM_SIZE / Math.max(1, ROOMS) / ((ACTIVE_TO - ACTIVE_FROM) / 1000);
})();
/**
 * Per level (ramp): room events per second per room = deliveries per second per reviewer, as
 * Prism's scenario offered them. A level Prism held within its targets delivered what was offered;
 * a level where it fell behind delivered less, so from there on the baseline keeps the rate of the
 * last level Prism met (or of its first level when none did): the baseline gets the same offered
 * load, not Prism's degraded throughput.
 */
const levelRates = {};
if (MODE === 'ramp' && pf.stages) {
  const levels = pf.stages.levels.filter((l) => l.reached && l.held > 0 && l.deliveriesPerSecond > 0);
  const good = levels.filter((l) => l.ok);
  const ref = good.length ? good[good.length - 1] : levels[0];
  let last = ref ? ref.deliveriesPerSecond / ref.held : 1;
  for (const l of pf.stages.levels) {
    if (l.ok && l.held > 0) last = l.deliveriesPerSecond / l.held;
    levelRates[`L${l.level}`] = last;
  }
}
const rampRate = (stage) => {
  if (levelRates[stage] !== undefined) return levelRates[stage];
  const m = /^up(\d+)$/.exec(stage);
  if (m && levelRates[`L${m[1]}`] !== undefined) return levelRates[`L${m[1]}`];
  const known = Object.values(levelRates).filter((v) => v > 0);
  return known.length ? known[known.length - 1] : 1;
};
// Sizes: two sizes (Prism's median and p95 frame) mixed so the mean is Prism's mean.
const SMALL = Math.round(pf.eventBytes?.p50 || 230);
const MEAN = Math.round(pf.eventBytes?.avg || 430);
const LARGE = Math.max(SMALL + 1, Math.round(Number(__ENV.BASELINE_LARGE_BYTES || 0) || MEAN * 3));
const LARGE_SHARE = Math.min(1, Math.max(0, (MEAN - SMALL) / (LARGE - SMALL)));
const eventBytes = () => (Math.random() < LARGE_SHARE ? LARGE : SMALL);

export const options = {
  scenarios:
    MODE === 'ramp'
      ? {
          baseline: {
            executor: 'ramping-vus',
            startVUs: 0,
            stages: stages(),
            gracefulRampDown: '0s',
            gracefulStop: `${WIND_DOWN_S + 15}s`,
          },
        }
      : MODE === 'smoke'
        ? {
            baseline: {
              executor: 'per-vu-iterations',
              vus: REVIEWERS,
              iterations: 1,
              maxDuration: `${Math.round(DURATION_MS / 1000) + 30}s`,
            },
          }
        : {
            baseline: {
              executor: 'per-vu-iterations',
              vus: ROOMS,
              iterations: 1,
              maxDuration: `${Math.round(DURATION_MS / 1000) + 30}s`,
            },
          },
  thresholds: Object.assign(
    { errors: ['count>=0'], seq_gaps: ['count>=0'], seq_dups: ['count>=0'], event_latency_ms: ['p(95)>=0'] },
    MODE === 'ramp' ? stageThresholds() : {},
  ),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

/**
 * One plain Socket.IO client in one room: live events only, gaps counted, no replay. `frames`: the
 * VU's FrameCache when it holds the whole room.
 */
class Listener {
  constructor(room, spread, keepReceipts, frames) {
    this.room = room;
    this.spread = spread;
    this.keepReceipts = keepReceipts;
    this.receipts = [];
    this.received = 0;
    this.uncounted = 0;
    this.last = null;
    this.joined = false;
    this.stopped = false;
    const ws = new WebSocket(socketIoUrl(TARGET), null, { tags: { name: 'socket.io' } });
    this.sio = new SocketIoClient(ws, { ackTimeoutMs: 15000, frameCache: frames });
    this.sio.onConnect(() => {
      this.sio.emit('join', { room }, (err, res) => {
        if (err || !res || !res.ok) return error('join', err || res);
        this.joined = true;
        metrics.joined.add(1);
      });
    });
    this.sio.onConnectError((m) => error('connect_error', m));
    this.sio.onClose(() => {
      if (!this.stopped) error('unexpected_close', room);
    });
    this.sio.on('review:event', (event, at) => {
      metrics.eventLatency.add(at - Date.parse(event.at));
      this.uncounted += 1; // added to `deliveries` once a second (as Prism's reviewers do)
      if (++this.received % 10 === 1) metrics.eventBytes.add(this.sio.lastFrameBytes); // a sample is enough
      if (this.last !== null) {
        if (event.seq <= this.last) metrics.seqDups.add(1);
        else if (event.seq > this.last + 1) metrics.seqGaps.add(event.seq - this.last - 1);
      }
      if (this.last === null || event.seq > this.last) this.last = event.seq;
      if (this.spread) this.spread.receipt(room, event.seq, at);
      if (this.keepReceipts) this.receipts.push(`${event.seq}:${Math.round(at)}`);
    });
  }
  publish() {
    const sentAt = Date.now();
    this.sio.emit('publish', { room: this.room, type: 'chat.delta', bytes: eventBytes() }, (err, res) => {
      if (err === 'disconnected' && this.stopped) return;
      if (err || !res || !res.ok) return error('publish', err || res);
      metrics.ack.add(Date.now() - sentAt);
    });
  }
  countDeliveries() {
    if (this.uncounted === 0) return;
    metrics.deliveries.add(this.uncounted);
    this.uncounted = 0;
  }
  stop() {
    this.stopped = true;
    this.countDeliveries();
    this.sio.close();
  }
}

/**
 * Publishes at `rate(t)` events/s between `from` and `to` (ms since start), with exponential gaps
 * (one timer per event: cheap for the load generator); returns at `until`. A 1 s tick expires acks
 * and calls `tick(t)`.
 */
function run(listeners, publisher, rate, from, to, until, tick) {
  return new Promise((resolve) => {
    let done = false;
    const schedule = () => {
      if (done || !publisher) return;
      const t = sinceStart();
      const r = t < from ? 0 : rate(t);
      const wait = t < from ? from - t : r > 0 ? -Math.log(1 - Math.random()) * (1000 / r) : 1000;
      setTimeout(() => {
        if (done) return;
        const now = sinceStart();
        if (now >= from && now < to && publisher.joined && rate(now) > 0) publisher.publish();
        if (now < to) schedule();
      }, wait);
    };
    schedule();
    let lastTick = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      metrics.tickLag.add(Math.max(0, now - lastTick - 1000)); // as Prism's drive(): k6's own lag
      lastTick = now;
      const t = sinceStart();
      // Index loops, as Prism's drive(): for...of allocates per step in k6.
      for (let i = 0; i < listeners.length; i += 1) listeners[i].sio.expireAcks();
      for (let i = 0; i < listeners.length; i += 1) listeners[i].countDeliveries(); // before tick() moves the stage tag
      if (tick) tick(t);
      if (t >= until) {
        done = true;
        clearInterval(timer);
        resolve();
      }
    }, 1000);
  });
}

export default async function () {
  touchCounters();
  const vu = exec.vu.idInTest - 1;
  const runTag = __ENV.RUN_ID || 'run';
  if (MODE === 'smoke') {
    // One VU per socket, as Prism's smoke: reviewer vu in room vu % ROOMS; index 0 publishes.
    const room = `${runTag}-room-${vu % ROOMS}`;
    await sleepMs(rand(0, 3000));
    const me = new Listener(room, null, true);
    const publishing = Math.floor(vu / ROOMS) === 0;
    await run(
      [me],
      publishing ? me : null,
      () => roomEventsPerSecond,
      ACTIVE_FROM,
      ACTIVE_TO,
      DURATION_MS - 2000,
    );
    me.stop();
    exportReceipts(room, me.receipts);
    return;
  }
  // room / ramp: one VU per room of ROOM_SIZE sockets; the first one publishes.
  const room = `${runTag}-room-${vu}`;
  const spread = new SpreadTracker(ROOM_SIZE, 5000);
  const frames = new FrameCache(); // as Prism's rooms: each event parsed once per VU
  const listeners = [];
  for (let i = 0; i < ROOM_SIZE; i += 1) {
    listeners.push(new Listener(room, spread, false, frames));
    await sleepMs(rand(50, 250));
  }
  if (MODE === 'ramp') {
    const counted = {};
    await run(
      listeners,
      listeners[0],
      (t) => rampRate(stageAt(t)),
      0,
      TOTAL_S * 1000,
      TOTAL_S * 1000 + 3000,
      (t) => {
        const stage = tagStage();
        spread.sweep(Date.now());
        const into = (t / 1000) % STEP_S;
        if (stage[0] === 'L' && !counted[stage] && into >= UP_S + HOLD_S / 2) {
          counted[stage] = true;
          held.add(listeners.filter((l) => l.joined && l.sio.connected).length);
        }
      },
    );
  } else {
    await run(
      listeners,
      listeners[0],
      () => roomEventsPerSecond,
      ACTIVE_FROM,
      ACTIVE_TO,
      DURATION_MS - 2000,
      () => spread.sweep(Date.now()),
    );
  }
  for (const l of listeners) l.stop();
}

export function teardown() {
  if (MODE === 'smoke') importSpreads(ROOM_SIZE);
}

export const handleSummary = summaryHandler(MODE, {
  prefix: 'baseline-',
  extra: (data) =>
    Object.assign(
      {
        replayed: {
          mode: MODE,
          roomEventsPerSecond,
          smallBytes: SMALL,
          largeBytes: LARGE,
          largeShare: LARGE_SHARE,
        },
      },
      MODE === 'ramp' ? { stages: stageFigures(data) } : {},
    ),
  markdown: (f) =>
    MODE === 'ramp'
      ? stageMarkdown(f.stages)
      : `Replayed ${f.replayed.roomEventsPerSecond.toFixed(2)} events/s per room, frames of ${SMALL} B and ${LARGE} B (${Math.round(
          LARGE_SHARE * 100,
        )} % large).`,
});
