/**
 * What every Prism scenario shares: the metrics, HTTP setup (sessions, upload, invites), and the
 * `Reviewer`: one Socket.IO connection that joins a review, keeps its event sequence the way the
 * web app does (apply by `seq`, ignore what it already has, close gaps with `review:join {since}`,
 * reconnect and rejoin with `since` after a drop), acts at human pace, and checks at the end that
 * what it kept is gap-free and duplicate-free against the review's log.
 *
 * Time: every receipt time is k6's frame-read timestamp (ms since the epoch, same clock for every
 * VU of this process); event latency is that minus the event's `at` (set by the server or worker
 * just before appending it), so load generator and servers must share a clock: they run on the
 * same machine here.
 */

import { sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { WebSocket } from 'k6/websockets';
import { FrameCache, SocketIoClient, socketIoUrl } from './socketio.js';

export const TARGET = (__ENV.TARGET_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
/** loadtest/lib/control.mjs: cross-VU aggregation (fan-out spread) and failover kills. */
export const CONTROL = (__ENV.CONTROL_URL || '').replace(/\/+$/, '');
export const RUN_ID = __ENV.RUN_ID || `${Date.now()}`;
/** Time the stand-in takes to the first token; TTFT overhead = ttft_ms - this. */
/**
 * This load generator's execution segment when several split one scenario (`npm run loadtest --
 * <scenario> --segment I/N` passes -e SEGMENT=I/N beside k6's --execution-segment): {index, count},
 * or null for a whole run (SEGMENTS=N: one of N runners the k6 operator started, index unknown). k6 scales VU counts itself; a scenario's own count thresholds use
 * segmentMin (k6 gives a segment floor(total/N) or one more).
 */
export const SEGMENT = (() => {
  const m = /^(\d+)\/(\d+)$/.exec(__ENV.SEGMENT || '');
  if (m) return { index: Number(m[1]), count: Number(m[2]) };
  // The k6 operator sets the segments itself, the same environment for every runner: SEGMENTS=N.
  const n = Number(__ENV.SEGMENTS || 0);
  return n > 1 ? { index: null, count: n } : null;
})();
export const segmentMin = (total) => (SEGMENT ? Math.floor(total / SEGMENT.count) : total);

export const MODEL_TTFT_MS = Number(__ENV.MODEL_TTFT_MS || 800);

/** Prism's share of TTFT from a `ttft_ms` summary's values: {p50, p95}, null where unmeasured. */
export function ttftOverhead(ttft) {
  const less = (ms) => (ms === undefined ? null : ms - MODEL_TTFT_MS);
  return { p50: less(ttft.med), p95: less(ttft['p(95)']) };
}

// ---------------------------------------------------------------------------------------------
// Metrics (names are the contract of the results files)

export const metrics = {
  eventLatency: new Trend('event_latency_ms', true),
  ttft: new Trend('ttft_ms', true),
  // How late a VU's tick ran (past its interval): the load generator's own lag, which k6's event
  // latency includes (a frame is timed when the VU's JS gets to it).
  tickLag: new Trend('vu_tick_lag_ms', true),
  tokenGap: new Trend('token_gap_ms', true),
  fanoutSpread: new Trend('fanout_spread_ms', true),
  seqGaps: new Counter('seq_gaps'),
  seqDups: new Counter('seq_dups'),
  reconnects: new Counter('reconnects'),
  errors: new Counter('errors'),
  deliveries: new Counter('deliveries'),
  // Frames of events the reviewers do not follow (`presence`): read by k6, not deliveries.
  otherFrames: new Counter('other_frames'),
  eventBytes: new Trend('event_bytes'),
  ack: new Trend('ack_ms', true),
  joined: new Counter('reviewers_joined'),
  verified: new Counter('reviewers_verified'),
  redelivered: new Counter('redelivered'),
  // Events the log held when it was read for the final check that reached the socket after.
  lateAfterRead: new Counter('late_after_read'),
  conflicts: new Counter('decide_conflicts'),
  interrupted: new Counter('acks_interrupted'),
  catchUps: new Counter('catch_ups'),
  // Socket dropped -> rejoined with \`since\` and caught up (failover: the outage a reviewer sees).
  recovery: new Trend('reconnect_ms', true),
  repliesFailed: new Counter('replies_failed'),
  // Trends take no `count` threshold: these count what the trends above measured.
  ttftMeasured: new Counter('ttft_measured'),
  spreadMeasured: new Counter('fanout_spread_events'),
  // Uploads the servers refused as busy (503 unavailable, 429 rate_limited) and tried again after
  // their Retry-After: the overload answer a client backs off on, not an error.
  uploadsRefused: new Counter('uploads_refused'),
};

/** Attempts of one upload, the first included, before a busy server's refusal counts as an error. */
const UPLOAD_ATTEMPTS = 6;
/** Seconds a refusal asks the client to wait (its Retry-After), jittered, at most 10. */
const retryAfter = (res) => Math.min(10, Number(res.headers['Retry-After'] || 1) || 1) * rand(0.8, 1.4);

const loggedErrors = { n: 0 };
/** Counts an error (tagged with its kind) and logs the first few of each VU in full. */
export function error(kind, detail) {
  metrics.errors.add(1, { kind });
  if (loggedErrors.n < 5) {
    loggedErrors.n += 1;
    console.warn(`VU ${exec.vu.idInTest}: ${kind}: ${detail === undefined ? '' : JSON.stringify(detail)}`);
  }
}

/** Every run reports these counters, even at zero (a Counter nobody added to is not in the summary). */
export function touchCounters() {
  metrics.seqGaps.add(0);
  metrics.seqDups.add(0);
  metrics.reconnects.add(0);
  metrics.errors.add(0);
  metrics.redelivered.add(0);
  metrics.conflicts.add(0);
  metrics.interrupted.add(0);
  metrics.catchUps.add(0);
  metrics.repliesFailed.add(0);
  metrics.uploadsRefused.add(0);
}

/** The event types whose latency the summaries break out (see `byTypeThresholds`). */
export const EVENT_TYPES = [
  'chat.delta',
  'chat.message',
  'chat.done',
  'feedback.added',
  'feedback.updated',
  'section.status',
];

/**
 * Thresholds that always pass and exist so handleSummary gets event latency per event type (k6
 * only summarises tagged sub-metrics that have a threshold).
 */
export function byTypeThresholds() {
  const t = {};
  for (const type of EVENT_TYPES) t[`event_latency_ms{type:${type}}`] = ['max>=0'];
  return t;
}

let latencyByType;
/**
 * Whether latency samples carry a `type` tag: only in scenarios whose thresholds break latency out
 * by type (byTypeThresholds), as a tagged sample costs k6 a tag set per delivery, which the large
 * scenarios cannot spare. Read from the test's options once per VU.
 */
function tagsLatencyByType() {
  if (latencyByType === undefined) {
    latencyByType = Object.keys(exec.test.options.thresholds || {}).some((name) =>
      name.startsWith('event_latency_ms{type:'),
    );
  }
  return latencyByType;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export const sleepMs = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
export const rand = (min, max) => min + Math.random() * (max - min);
export const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** A stable small hash of a string (to spread work across reviewers without talking). */
export function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// HTTP

const JSON_HEADERS = { 'content-type': 'application/json' };
const auth = (token) => ({ authorization: `Bearer ${token}` });

function must(res, what, status) {
  if (res.status !== (status || 200)) {
    throw new Error(`${what}: HTTP ${res.status} ${String(res.body).slice(0, 300)}`);
  }
  return res.json();
}

const httpParams = (name, token, json) => ({
  headers: Object.assign(json ? { ...JSON_HEADERS } : {}, token ? auth(token) : {}),
  tags: { name },
  timeout: '30s',
});

/**
 * POST /api/session for many names at once; returns [{token, user}], one person each. Each request
 * has an empty cookie jar of its own: with the VU's jar, the first session's cookie would go with
 * the next ones, and the server keeps the id of a caller who already has a session (a rename), so
 * every name would be the same person.
 */
export function sessions(names) {
  const out = [];
  for (let i = 0; i < names.length; i += 25) {
    const chunk = names.slice(i, i + 25);
    const responses = http.batch(
      chunk.map((name) => [
        'POST',
        `${TARGET}/api/session`,
        JSON.stringify({ name }),
        Object.assign(httpParams('POST /api/session', undefined, true), { jar: new http.CookieJar() }),
      ]),
    );
    for (const res of responses) out.push(must(res, 'POST /api/session'));
  }
  return out;
}

/**
 * Creates `count` reviews (one owner each, the same small document) with a reviewer invite:
 * [{index, reviewId, sections: [id], owner: {token, user}, invite}]. Done in setup() or by a VU.
 */
export function createRooms(count, doc, prefix) {
  const owners = sessions(Array.from({ length: count }, (_, i) => `${prefix || 'Owner'} ${i + 1}`));
  const rooms = [];
  for (let i = 0; i < count; i += 10) {
    const chunk = owners.slice(i, i + 10);
    const upload = (owner, j) => [
      'POST',
      `${TARGET}/api/reviews`,
      {
        file: http.file(doc, 'contributor-agreement.docx', DOCX_TYPE),
        title: `Load test room ${i + j + 1}`,
      },
      httpParams('POST /api/reviews', owner.token, false),
    ];
    const uploads = http.batch(chunk.map(upload));
    // A server too busy to read another document says so (503 unavailable, or 429) with
    // Retry-After: wait that long and upload again, as a person's browser would.
    for (let j = 0; j < uploads.length; j += 1) {
      for (
        let attempt = 1;
        attempt < UPLOAD_ATTEMPTS && [429, 503].includes(uploads[j].status);
        attempt += 1
      ) {
        metrics.uploadsRefused.add(1);
        sleep(retryAfter(uploads[j]));
        uploads[j] = http.request(...upload(chunk[j], j));
      }
    }
    const reviews = uploads.map((res) => must(res, 'POST /api/reviews', 201).review);
    const invites = http.batch(
      reviews.map((review, j) => [
        'POST',
        `${TARGET}/api/reviews/${review.id}/invites`,
        JSON.stringify({ role: 'reviewer' }),
        httpParams('POST /api/reviews/:id/invites', chunk[j].token, true),
      ]),
    );
    invites.forEach((res, j) => {
      const invite = must(res, 'POST /api/reviews/:id/invites');
      rooms.push({
        index: i + j,
        reviewId: reviews[j].id,
        sections: reviews[j].sections.map((s) => s.id),
        owner: chunk[j],
        invite: invite.token,
      });
    });
  }
  return rooms;
}

export const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** A reviewer's own session, then POST /api/invites/accept: returns {token, user, role}. */
export function acceptInvite(room, name) {
  const [person] = sessions([name]);
  const accepted = must(
    http.post(
      `${TARGET}/api/invites/accept`,
      JSON.stringify({ token: room.invite }),
      httpParams('POST /api/invites/accept', person.token, true),
    ),
    'POST /api/invites/accept',
  );
  if (accepted.reviewId !== room.reviewId) throw new Error('the invite opened another review');
  return { token: person.token, user: person.user, role: accepted.role };
}

/** Many reviewers of one room at once (several per VU): sessions, then accepts, batched. */
export function acceptInvites(room, names) {
  return acceptAll(names.map((name) => ({ room, name })));
}

/** Sessions for [{room, name}], then each accepts its room's invite, 25 at a time. */
function acceptAll(joiners) {
  const people = sessions(joiners.map((j) => j.name));
  const out = [];
  for (let i = 0; i < people.length; i += 25) {
    const responses = http.batch(
      people
        .slice(i, i + 25)
        .map((p, k) => [
          'POST',
          `${TARGET}/api/invites/accept`,
          JSON.stringify({ token: joiners[i + k].room.invite }),
          httpParams('POST /api/invites/accept', p.token, true),
        ]),
    );
    responses.forEach((res, k) => {
      const accepted = must(res, 'POST /api/invites/accept');
      const p = people[i + k];
      out.push({ token: p.token, user: p.user, role: accepted.role });
    });
  }
  return out;
}

/**
 * Rooms of `size` people made before a scenario starts (its setup()): `count` reviews as
 * createRooms makes them, each with `size - 1` colleagues who accepted its invite, ten rooms at a
 * time. Each room gets `people` (the owner first). Names are `${prefix} <room>.<i>`.
 */
export function makeRooms(count, doc, prefix, size) {
  const rooms = [];
  for (let i = 0; i < count; i += 10) {
    const chunk = createRooms(Math.min(10, count - i), doc, `${prefix} owner`).map((room, j) =>
      Object.assign(room, { index: i + j }),
    );
    const joiners = [];
    for (const room of chunk) {
      for (let k = 1; k < size; k += 1) joiners.push({ room, name: `${prefix} ${room.index + 1}.${k}` });
    }
    const accepted = acceptAll(joiners);
    chunk.forEach((room, j) => {
      room.people = [room.owner].concat(accepted.slice(j * (size - 1), (j + 1) * (size - 1)));
    });
    rooms.push(...chunk);
  }
  return rooms;
}

/**
 * Rooms made in setup() handed to the VUs through the control process: setup's return value is
 * copied into every VU, which at hundreds of rooms of ten sessions each is more memory than the
 * rooms' sockets. `shareRooms` posts them (setup), `sharedRoom(n)` reads the n-th (a VU).
 */
export function shareRooms(rooms) {
  if (!CONTROL) throw new Error('rooms made before the climb need the control process (CONTROL_URL)');
  for (let i = 0; i < rooms.length; i += 50) {
    const res = http.post(`${CONTROL}/rooms`, JSON.stringify({ rooms: rooms.slice(i, i + 50) }), {
      headers: JSON_HEADERS,
      tags: { name: 'control' },
    });
    if (res.status !== 200) throw new Error(`control /rooms: HTTP ${res.status} ${res.body}`);
  }
}

export function sharedRoom(index) {
  const res = http.get(`${CONTROL}/rooms/${index}`, { tags: { name: 'control' } });
  if (res.status !== 200) throw new Error(`control /rooms/${index}: HTTP ${res.status} ${res.body}`);
  return res.json();
}

// ---------------------------------------------------------------------------------------------
// Fan-out spread: the same event's receipt times across a room

/**
 * Spread = last receipt - first receipt of one event (by seq) across the room's reviewers, all
 * timed by this k6 process's clock. A VU that holds the whole room (room, ramp) computes it
 * itself: `complete` when every reviewer got the event live, or after `maxWaitMs`. When a room's
 * reviewers are spread over VUs (smoke, failover: one VU per reviewer), VUs share no memory, so
 * each sends its live receipts to the control process at the end (`exportReceipts`) and teardown()
 * reads the per-event spreads back (`importSpreads`).
 */
export class SpreadTracker {
  constructor(expectedPerRoom, maxWaitMs) {
    this.expected = expectedPerRoom;
    this.maxWaitMs = maxWaitMs || 5000;
    this.open = new Map(); // `${reviewId}:${seq}` -> {first, last, count, opened}
  }
  receipt(reviewId, seq, at) {
    const key = `${reviewId}:${seq}`;
    const entry = this.open.get(key);
    if (!entry) {
      this.open.set(key, { first: at, last: at, count: 1, opened: at });
      if (this.expected === 1) this.open.delete(key);
      return;
    }
    if (at < entry.first) entry.first = at;
    if (at > entry.last) entry.last = at;
    entry.count += 1;
    if (entry.count >= this.expected) {
      metrics.fanoutSpread.add(entry.last - entry.first);
      metrics.spreadMeasured.add(1);
      this.open.delete(key);
    }
  }
  /** Drops events some reviewer never got live (it was reconnecting): no spread for those. */
  sweep(now) {
    // forEach, not for...of: k6's JS engine allocates an object per step of an iterator.
    this.open.forEach((entry, key) => {
      if (now - entry.opened > this.maxWaitMs) this.open.delete(key);
    });
  }
}

/** One reviewer's live receipts, sent to the control process at the end (smoke, failover). */
export function exportReceipts(reviewId, receipts) {
  if (!CONTROL || receipts.length === 0) return;
  const res = http.post(`${CONTROL}/receipts`, JSON.stringify({ reviewId, receipts: receipts.join(',') }), {
    headers: JSON_HEADERS,
    tags: { name: 'control' },
  });
  if (res.status !== 200) console.warn(`control /receipts: HTTP ${res.status}`);
}

/** One reviewer's final check with its raw sequences, kept by the control process (CHECKS_FILE). */
function exportCheck(check) {
  if (!CONTROL) return;
  const res = http.post(`${CONTROL}/checks`, JSON.stringify(check), {
    headers: JSON_HEADERS,
    tags: { name: 'control' },
  });
  if (res.status !== 200) console.warn(`control /checks: HTTP ${res.status}`);
}

/**
 * Asks the control process to read the servers' own delivery lag now, under `mark` (the ramp
 * marks each stage as it starts, so the report has it per level). Nothing without a cluster.
 */
export function markServerLag(mark) {
  if (!CONTROL) return;
  http.post(`${CONTROL}/lag-mark`, JSON.stringify({ mark }), {
    headers: JSON_HEADERS,
    tags: { name: 'control' },
    responseCallback: http.expectedStatuses(200, 409),
  });
}

/** In teardown(): the spread of every event that `minReceivers` reviewers got live. */
export function importSpreads(minReceivers) {
  if (!CONTROL) return 0;
  const res = http.get(`${CONTROL}/spreads?min=${minReceivers}`, { tags: { name: 'control' } });
  if (res.status !== 200) {
    console.warn(`control /spreads: HTTP ${res.status}`);
    return 0;
  }
  const spreads = res.json().spreads;
  for (const value of spreads) metrics.fanoutSpread.add(value);
  metrics.spreadMeasured.add(spreads.length);
  return spreads.length;
}

// ---------------------------------------------------------------------------------------------
// The reviewer

const BUSY = { queued: true, analyzing: true };

/**
 * One person in one review over one socket.
 *
 * options: room ({reviewId, sections}), token, user, name, index (in the room), spread (a
 * SpreadTracker or null), frames (a FrameCache the VU's reviewers of one room share, so each room
 * event is parsed once per VU, not once per socket; its events are shared and read-only),
 * exportReceipts (keep live receipts for the control process), recordSeqs (keep every kept seq for the final check; default true), expectDrops (failover:
 * dropped sockets and failed replies are not errors), reconnect (default true), ackTimeoutMs,
 * onJoined(reviewer).
 */
export class Reviewer {
  constructor(options) {
    this.o = options;
    this.reviewId = options.room.reviewId;
    this.name = options.name;
    this.index = options.index || 0;
    this.sio = null;
    this.base = null; // the first snapshot's seq
    this.last = null; // the last seq kept
    this.seqs = [];
    this.receipts = [];
    this.buffer = null; // live events held while a catch-up is answered
    this.stopped = false;
    this.connectedOnce = false;
    this.attempt = 0;
    this.lastEventAt = Date.now();
    this.streaming = new Set(); // assistant replies still streaming
    this.busy = new Set(); // sections queued or analysing
    this.chats = new Map(); // replyId -> {sentAt, lastDeltaAt} for replies this reviewer asked for
    this.deltaAt = new Map(); // replyId -> last delta receipt (token gaps)
    this.pendingItems = []; // AI items to decide
    this.items = new Map(); // feedbackId -> {version, status}
    this.sections = options.room.sections || [];
    this.verifiedResult = null;
    this.uncounted = 0; // deliveries not yet added to the `deliveries` counter
  }

  /** The deliveries received since the last call (drive() adds them to `deliveries`). */
  takeDeliveries() {
    const n = this.uncounted;
    this.uncounted = 0;
    return n;
  }

  /** Events no handler follows (`presence`) this socket read since the last call. */
  takeIgnored() {
    return this.sio ? this.sio.takeIgnored() : 0;
  }

  get connected() {
    return Boolean(this.sio?.connected);
  }
  get joined() {
    return this.last !== null && this.connected && this.buffer === null;
  }

  connect() {
    const ws = new WebSocket(socketIoUrl(TARGET), null, { tags: { name: 'socket.io' } });
    const sio = new SocketIoClient(ws, {
      auth: { token: this.o.token },
      ackTimeoutMs: this.o.ackTimeoutMs || 15000,
      frameCache: this.o.frames,
    });
    this.sio = sio;
    this.connectStartedAt = Date.now();
    sio.onConnect(() => {
      this.attempt = 0;
      if (this.last === null) this.firstJoin();
      else this.catchUp('reconnect');
    });
    sio.onConnectError((message) => {
      error('connect_error', message);
      sio.close();
    });
    // A websocket error is followed by a close: the close handler counts it and reconnects.
    sio.onError((message) => {
      this.lastWsError = message;
    });
    sio.onClose((code, reason) => this.closed(sio, code, reason));
    sio.on('review:event', (event, at) => this.live(event, at, sio.lastFrameBytes));
    return this;
  }

  closed(sio, code, reason) {
    if (sio !== this.sio || this.stopped) return;
    // Outside failover a dropped socket is an error (counted once per outage, not per retry), with
    // how it closed: the websocket's code and reason, and its last error.
    if (this.attempt === 0 && !this.o.expectDrops) {
      error('unexpected_close', { name: this.name, code, reason, wsError: this.lastWsError });
    }
    if (this.o.reconnect === false) return;
    // socket.io-client's schedule: 1 s doubling up to 5 s, +-50 % jitter (spreads the herd).
    this.attempt += 1;
    const delay = Math.min(5000, 500 * 2 ** (this.attempt - 1)) * rand(0.5, 1.5);
    metrics.reconnects.add(1);
    if (this.droppedAt === undefined) this.droppedAt = Date.now();
    this.buffer = null;
    setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }

  /** emit with an ack; `done(response)` gets ok responses, errors are counted here. */
  call(event, payload, done, expected) {
    if (!this.sio) return;
    const sentAt = Date.now();
    this.sio.emit(event, payload, (err, response) => {
      if (err) {
        if (err === 'disconnected') metrics.interrupted.add(1, { event });
        else error(`ack_${err}`, { event });
        if (done) done(null, err);
        return;
      }
      metrics.ack.add(Date.now() - sentAt, { event });
      if (response?.ok !== true) {
        const code = response?.error ? response.error.code : 'no_response';
        if (expected?.[code]) {
          if (code === 'conflict') metrics.conflicts.add(1);
        } else {
          error(`ack_${event}_${code}`, response?.error);
        }
        if (done) done(null, code);
        return;
      }
      if (done) done(response);
    });
  }

  /** After a refused or timed-out join (counted as an error) on a live socket: try again in 1 s. */
  retryLater(fn, err) {
    if (err === 'disconnected') return; // the next connect joins
    const sio = this.sio;
    setTimeout(() => {
      if (!this.stopped && sio === this.sio && this.connected) fn();
    }, 1000);
  }

  firstJoin() {
    this.call('review:join', { reviewId: this.reviewId }, (res, err) => {
      if (!res) return this.retryLater(() => this.firstJoin(), err);
      const snap = res.snapshot;
      this.base = snap.seq;
      this.last = snap.seq;
      this.buffer = null;
      for (const m of snap.chat || []) {
        if (m.role === 'assistant' && m.status === 'streaming') this.streaming.add(m.id);
      }
      for (const s of snap.sections || []) if (BUSY[s.status]) this.busy.add(s.id);
      for (const item of snap.feedback || [])
        this.items.set(item.id, { version: item.version, status: item.status });
      if (snap.sections?.length) this.sections = snap.sections.map((s) => s.id);
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        metrics.joined.add(1);
        if (this.o.onJoined) this.o.onJoined(this);
      }
    });
  }

  /** `review:join {since}`: after a reconnect, or when a live event skipped a seq. */
  catchUp(why) {
    if (this.buffer !== null && why !== 'reconnect') return; // one at a time
    this.buffer = [];
    metrics.catchUps.add(1, { why });
    const sio = this.sio;
    this.call('review:join', { reviewId: this.reviewId, since: this.last }, (res, err) => {
      if (sio !== this.sio) return;
      const held = this.buffer || [];
      this.buffer = null;
      if (!res) {
        // Dropped again: the next connect catches up. Refused or timed out: again in 1 s.
        return this.retryLater(() => {
          if (this.buffer === null) this.catchUp(why);
        }, err);
      }
      if (res.reset) {
        // The log no longer reaches back: what we missed is gone for good.
        metrics.seqGaps.add(Math.max(0, res.snapshot.seq - this.last), { why: 'reset' });
        this.base = res.snapshot.seq;
        this.last = res.snapshot.seq;
        this.seqs = [];
      } else {
        for (const event of res.events) this.apply(event, 0, true);
      }
      for (const item of held) this.apply(item.event, item.at, false);
      if (why === 'reconnect' && this.droppedAt !== undefined) {
        metrics.recovery.add(Date.now() - this.droppedAt);
        this.droppedAt = undefined;
      }
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        metrics.joined.add(1);
        if (this.o.onJoined) this.o.onJoined(this);
      }
    });
  }

  live(event, at, bytes) {
    if (!event || event.reviewId !== this.reviewId) return;
    this.lastEventAt = at;
    const latency = at - Date.parse(event.at);
    if (tagsLatencyByType()) metrics.eventLatency.add(latency, { type: event.type });
    else metrics.eventLatency.add(latency);
    // Counted here, added to `deliveries` by drive()'s tick: one sample per VU and tick.
    this.uncounted += 1;
    this.received = (this.received || 0) + 1;
    if (this.received % 10 === 1) metrics.eventBytes.add(bytes); // one in ten: sizes, not a census
    if (this.last === null) return; // before the snapshot: the join ack covers it
    if (this.buffer !== null) {
      this.buffer.push({ event, at });
      return;
    }
    this.apply(event, at, false);
  }

  apply(event, at, replayed) {
    if (event.seq <= this.last) {
      if (!replayed) metrics.redelivered.add(1);
      return;
    }
    if (event.seq !== this.last + 1 && !replayed) {
      // A gap: hold this event and ask for what is missing.
      this.catchUp('gap');
      if (this.buffer !== null) this.buffer.push({ event, at });
      return;
    }
    this.last = event.seq;
    if (this.o.recordSeqs !== false) this.seqs.push(event.seq);
    if (!replayed) {
      if (this.o.spread) this.o.spread.receipt(this.reviewId, event.seq, at);
      if (this.o.exportReceipts) this.receipts.push(`${event.seq}:${Math.round(at)}`);
    }
    this.track(event, at, replayed);
  }

  /** What the reviewer follows: replies streaming, sections busy, items to decide, TTFT. */
  track(event, at, replayed) {
    const d = event.data || {};
    switch (event.type) {
      case 'chat.message':
        if (d.message && d.message.role === 'assistant' && d.message.status === 'streaming') {
          this.streaming.add(d.message.id);
        }
        return;
      case 'chat.delta': {
        if (replayed) return;
        const mine = this.chats.get(d.messageId);
        if (mine && mine.firstAt === undefined) {
          mine.firstAt = at;
          metrics.ttft.add(at - mine.sentAt);
          metrics.ttftMeasured.add(1);
        }
        const previous = this.deltaAt.get(d.messageId);
        if (previous !== undefined && d.index > 0) metrics.tokenGap.add(at - previous);
        this.deltaAt.set(d.messageId, at);
        return;
      }
      case 'chat.done':
      case 'chat.failed':
        this.streaming.delete(d.messageId);
        this.deltaAt.delete(d.messageId);
        if (event.type === 'chat.failed' && this.chats.has(d.messageId)) {
          metrics.repliesFailed.add(1, { code: d.error ? d.error.code : 'unknown' });
          if (!this.o.expectDrops) error('chat_failed', d.error);
        }
        this.chats.delete(d.messageId);
        return;
      case 'section.status':
        if (BUSY[d.status]) this.busy.add(d.sectionId);
        else this.busy.delete(d.sectionId);
        if (d.status === 'failed' && !this.o.expectDrops && this.index === 0)
          error('analysis_failed', d.error);
        return;
      case 'feedback.added':
      case 'feedback.updated':
        if (d.item) {
          this.items.set(d.item.id, { version: d.item.version, status: d.item.status });
          if (event.type === 'feedback.added' && d.item.status === 'pending')
            this.pendingItems.push(d.item.id);
        }
        return;
      case 'feedback.deleted':
        if (d.item) this.items.delete(d.item.id);
        return;
      default:
    }
  }

  // ---- actions (human pace is the caller's business) ----

  ask(text, sectionId) {
    const sentAt = Date.now();
    const payload = { reviewId: this.reviewId, text };
    if (sectionId) payload.sectionId = sectionId;
    this.call('chat:send', payload, (res) => {
      if (!res) return;
      // Deltas can only follow the ack (the model takes ~MODEL_TTFT_MS), so no race here.
      this.chats.set(res.replyId, { sentAt });
      this.streaming.add(res.replyId);
    });
  }

  analyse(sectionIds) {
    this.call('analysis:start', { reviewId: this.reviewId, sectionIds });
  }

  addFeedback(n) {
    const sectionId = pick(this.sections);
    if (!sectionId) return;
    this.call('feedback:add', {
      reviewId: this.reviewId,
      sectionId,
      type: pick(['suggestion', 'important', 'positive']),
      category: 'Clarity',
      description: `${this.name}: this clause could be clearer about who may sublicense (note ${n}).`,
      suggestion: 'Name the parties explicitly and say which rights survive termination.',
    });
  }

  /** Decides one AI item this reviewer is responsible for (items are split by hash: few conflicts). */
  decideOne(roomSize) {
    while (this.pendingItems.length) {
      const id = this.pendingItems.shift();
      const item = this.items.get(id);
      if (item?.status !== 'pending') continue;
      if (hash(id) % roomSize !== this.index % roomSize) continue;
      this.call(
        'feedback:decide',
        {
          reviewId: this.reviewId,
          feedbackId: id,
          status: Math.random() < 0.7 ? 'accepted' : 'rejected',
          version: item.version,
        },
        null,
        { conflict: true, not_found: true },
      );
      return true;
    }
    return false;
  }

  presence() {
    this.call('presence:update', { reviewId: this.reviewId, sectionId: pick(this.sections) || null });
  }

  /** Nothing moving in the room: no reply streaming, no section busy, nothing sent unanswered. */
  quiet(now, forMs) {
    return (
      this.joined &&
      this.streaming.size === 0 &&
      this.busy.size === 0 &&
      this.sio.pending.size === 0 &&
      now - this.lastEventAt >= forMs
    );
  }

  /**
   * The final check: the review's log since our first snapshot (`review:join {since: base}`)
   * against what we kept. A seq in the log we never kept is a gap, unless it is younger than
   * `inFlightMs` and after our last seq (still on its way); a seq kept twice, or kept but not in
   * the log, is a duplicate. Calls done({gaps, dups}) once.
   */
  verify(done, inFlightMs) {
    this.fetchLog(this.base, (events) => done(this.compare(events, inFlightMs)));
  }

  /** `review:join {since}` for the final check: calls back with the log's events, or null. */
  fetchLog(since, callback) {
    if (since === null || !this.connected) {
      error('verify_not_joined', this.name);
      callback(null);
      return;
    }
    this.buffer = this.buffer || [];
    this.sio.emit('review:join', { reviewId: this.reviewId, since }, (err, res) => {
      this.buffer = null;
      if (err || !res || !res.ok || res.reset) {
        error('verify_failed', err || (res && (res.error || 'reset')));
        callback(null);
        return;
      }
      callback(res.events);
    });
  }

  /**
   * Takes the log's events (from at most its base on) to compare with what this reviewer keeps,
   * and returns {checked}. The comparison itself waits for `settle()` (when the reviewer stops):
   * an event the log already holds may still be on its way to this socket when the log is read,
   * and on a saturated machine for longer than any fixed allowance, so what counts is whether it
   * arrived by the end of the run.
   */
  compare(events, inFlightMs) {
    if (this.verifiedResult) return this.verifiedResult;
    if (!events || this.base === null) {
      this.verifiedResult = { checked: false, gaps: 0, dups: 0 };
      return this.verifiedResult;
    }
    this.check = { events, inFlightMs: inFlightMs || 2000, readAt: Date.now(), lastAtRead: this.last };
    this.verifiedResult = { checked: true, pending: true };
    return this.verifiedResult;
  }

  /**
   * The comparison (once, when the reviewer stops): a seq in the log it never kept is a gap,
   * unless it is after its last seq and was younger than `inFlightMs` when the log was read (the
   * run ended before it could arrive); a seq kept twice, or kept but not in the log, is a
   * duplicate. A seq kept after the log's newest one arrived after the log was read: it is not
   * checked. Adds to seq_gaps / seq_dups once; returns {checked, gaps, dups, tail, late}, `late`
   * counting the log's events that arrived after the log was read.
   */
  settle() {
    const check = this.check;
    if (!check) return this.verifiedResult;
    this.check = null;
    const kept = new Set(this.seqs);
    const inLog = new Set();
    let gaps = 0;
    let late = 0;
    const tail = [];
    for (const event of check.events) {
      if (event.seq <= this.base) continue;
      inLog.add(event.seq);
      if (kept.has(event.seq)) {
        if (event.seq > check.lastAtRead) late += 1;
        continue;
      }
      if (event.seq > this.last && check.readAt - Date.parse(event.at) < check.inFlightMs)
        tail.push(event.seq);
      else gaps += 1;
    }
    const events = check.events;
    const head = events.length ? events[events.length - 1].seq : -1;
    let dups = this.seqs.length - kept.size;
    for (const seq of kept) if (seq <= head && !inLog.has(seq)) dups += 1;
    // The raw sequences behind these figures, for the merge of several load generators'
    // results (loadtest/src/merge.ts checks them again, all segments together).
    exportCheck({
      reviewId: this.reviewId,
      reviewer: this.name,
      base: this.base,
      head,
      kept: this.seqs,
      log: [...inLog],
      tail,
      gaps,
      dups,
    });
    if (gaps || dups)
      console.warn(`${this.name}: ${gaps} gaps, ${dups} duplicates (kept ${this.seqs.length})`);
    metrics.seqGaps.add(gaps);
    metrics.seqDups.add(dups);
    metrics.verified.add(1);
    if (late) metrics.lateAfterRead.add(late);
    this.verifiedResult = { checked: true, gaps, dups, tail: tail.length, late };
    return this.verifiedResult;
  }

  stop() {
    this.settle();
    this.stopped = true;
    if (this.sio) {
      if (this.sio.errors.length) error('client_exception', this.sio.errors[0]);
      this.sio.close();
    }
  }
}

/**
 * The reviewers of one room, held by one VU (room, ramp): one socket each for `people` (the owner
 * first), connected one after another with a pause of `gapMs` ([min, max], random) between them,
 * as colleagues open the link. They share one SpreadTracker (exact fan-out spread: the VU sees
 * the whole room) and one FrameCache (each room event parsed once). Resolves with
 * {reviewers, spread}.
 */
export async function connectRoom(room, people, namePrefix, gapMs) {
  const spread = new SpreadTracker(people.length, 5000);
  const frames = new FrameCache();
  const reviewers = [];
  for (let i = 0; i < people.length; i += 1) {
    if (i > 0) await sleepMs(rand(gapMs[0], gapMs[1]));
    reviewers.push(
      new Reviewer({
        room,
        token: people[i].token,
        name: `${namePrefix}.${i}`,
        index: i,
        spread,
        frames,
      }).connect(),
    );
  }
  return { reviewers, spread };
}

// ---------------------------------------------------------------------------------------------
// Scheduling

let scenarioStart = 0;
/** Milliseconds since this scenario started (the same for every VU; read from k6 once per VU). */
export const sinceStart = () => {
  if (!scenarioStart) scenarioStart = exec.scenario.startTime;
  return Date.now() - scenarioStart;
};

/**
 * Drives reviewers until `endAt` (ms since scenario start): a tick (every `tickMs`, 250 by default;
 * the ticks of many VUs are a large part of k6's own CPU) calls `onTick(now, t)`
 * and expires acks. From `stopAt` on, actions stop and each reviewer waits for a quiet room (or
 * `endAt - 1.5 s`), then verifies its sequence; sockets stay open (idle, answering pings) until
 * `endAt`. Resolves once every reviewer verified and endAt passed.
 */
export function drive({
  reviewers,
  stopAt,
  endAt,
  onTick,
  quietMs,
  inFlightMs,
  spread,
  onDone,
  sharedLog,
  tickMs,
}) {
  return new Promise((resolve) => {
    let remaining = reviewers.length;
    let finished = false;
    let fetching = false;
    const countDeliveries = () => {
      let n = 0;
      let other = 0;
      for (let i = 0; i < reviewers.length; i += 1) {
        n += reviewers[i].takeDeliveries();
        other += reviewers[i].takeIgnored();
      }
      if (n > 0) metrics.deliveries.add(n);
      if (other > 0) metrics.otherFrames.add(other);
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      countDeliveries();
      for (const r of reviewers) r.stop();
      if (onDone) onDone();
      resolve();
    };
    let lastTick = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      metrics.tickLag.add(Math.max(0, now - lastTick - (tickMs || 250)));
      lastTick = now;
      const t = sinceStart();
      // Index loops: k6's JS engine allocates an object per step of a for...of, and this runs
      // every tick of every VU.
      for (let i = 0; i < reviewers.length; i += 1) if (reviewers[i].sio) reviewers[i].sio.expireAcks(now);
      if (spread) spread.sweep(now);
      // Before onTick, which may move the VU's stage tag: the counts land in the stage they were
      // received in.
      countDeliveries();
      if (t < stopAt) {
        if (onTick) onTick(now, t);
        return;
      }
      const hard = t >= endAt - 1500;
      if (sharedLog) {
        // Reviewers of one room (one VU): one of them reads the log once, all compare with it.
        if (!fetching && (hard || reviewers.every((r) => !r.joined || r.quiet(now, quietMs || 1500)))) {
          fetching = true;
          const reader = reviewers.find((r) => r.joined) || reviewers[0];
          const bases = reviewers.filter((r) => r.base !== null).map((r) => r.base);
          reader.fetchLog(bases.length ? Math.min(...bases) : null, (events) => {
            for (const r of reviewers) {
              if (r.base === null) error('never_joined', r.name);
              r.compare(events, inFlightMs);
            }
            remaining = 0;
          });
        }
      } else {
        for (const r of reviewers) {
          if (r.verifying || r.verifiedResult) continue;
          if (hard || r.quiet(now, quietMs || 1500)) {
            r.verifying = true;
            r.verify(() => {
              remaining -= 1;
            }, inFlightMs);
          }
        }
      }
      if ((remaining === 0 && t >= endAt) || t >= endAt + 10000) finish();
    }, tickMs || 250);
  });
}
