/**
 * failover: kill one server and one worker (SIGKILL) while 100 reviewers work (one VU per
 * reviewer, rooms of 10). Every owner analyses every section and three reviewers per room ask the
 * assistant around the kill, so both killed processes have work in flight. Reviewers on the dead
 * server reconnect (socket.io-client's backoff, through HAProxy to a live server) and rejoin with
 * `review:join {since}` as the web app does; at the end every reviewer's sequence must be
 * gap-free and duplicate-free against the review's log.
 *
 * The kill goes through the control process (loadtest/lib/control.mjs), so it needs the cluster
 * scripts/loadtest.sh starts; against TARGET_URL nothing is killed (the run says so).
 *
 *   npm run loadtest -- failover    (REVIEWERS=100 DURATION_S=90 KILL_AT_S=30 KILL=server-2,worker-1)
 */
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import {
  acceptInvite,
  byTypeThresholds,
  CONTROL,
  createRooms,
  drive,
  error,
  exportReceipts,
  importSpreads,
  Reviewer,
  rand,
  sleepMs,
  touchCounters,
} from '../lib/prism.js';
import { summaryHandler } from '../lib/summary.js';

const REVIEWERS = Number(__ENV.REVIEWERS || 100);
const ROOM_SIZE = 10;
const ROOMS = Math.ceil(REVIEWERS / ROOM_SIZE);
const DURATION_MS = Number(__ENV.DURATION_S || 90) * 1000;
const KILL_AT = Number(__ENV.KILL_AT_S || 30) * 1000;
const KILL = String(__ENV.KILL || 'server-2,worker-1')
  .split(',')
  .filter(Boolean);
/** scripts/loadtest.sh sets CAN_KILL=1 when it started the cluster (the control process has its pid files). */
const CAN_KILL = __ENV.CAN_KILL === '1';
const STOP_AT = DURATION_MS * 0.65;
const END_AT = DURATION_MS - 2000;
const doc = open('../fixtures/docx4j-contributor-agreement-libreoffice.docx', 'b');

export const options = {
  setupTimeout: '120s',
  teardownTimeout: '60s',
  scenarios: {
    failover: {
      executor: 'per-vu-iterations',
      vus: REVIEWERS,
      iterations: 1,
      maxDuration: `${Math.round(DURATION_MS / 1000) + 30}s`,
    },
  },
  thresholds: Object.assign(byTypeThresholds(), {
    seq_gaps: ['count==0'],
    seq_dups: ['count==0'],
    errors: ['count==0'],
    reviewers_joined: [`count>=${REVIEWERS}`],
    reviewers_verified: [`count>=${REVIEWERS}`],
    // Reviewers on the killed server did reconnect (0 would mean nothing was killed).
    reconnects: [CAN_KILL ? 'count>0' : 'count>=0'],
    kills: [CAN_KILL ? `count>=${KILL.length}` : 'count>=0'],
    fanout_spread_ms: ['p(95)>=0'],
    ttft_ms: ['p(95)>=0'],
    reconnect_ms: ['p(95)>=0'],
  }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

const kills = new Counter('kills');

export function setup() {
  return { rooms: createRooms(ROOMS, doc, 'Failover owner') };
}

export default async function (data) {
  touchCounters();
  kills.add(0);
  const i = exec.vu.idInTest - 1;
  const room = data.rooms[i % ROOMS];
  const index = Math.floor(i / ROOMS);
  const name = index === 0 ? `Failover owner ${(i % ROOMS) + 1}` : `Reviewer ${i + 1}`;
  const who = index === 0 ? room.owner : acceptInvite(room, name);
  await sleepMs(rand(0, 3000));
  const reviewer = new Reviewer({
    room,
    token: who.token,
    name,
    index,
    exportReceipts: true,
    expectDrops: true,
  }).connect();

  const plan = [];
  const at = (min, max, fn) => plan.push({ t: rand(min, max), fn });
  if (index === 0) at(KILL_AT - 12000, KILL_AT - 6000, () => reviewer.analyse(room.sections));
  if (index === 0 || index === 3 || index === 6) {
    at(KILL_AT - 8000, KILL_AT + 2000, () => reviewer.ask('Summarise the obligations of the contributor.'));
    at(KILL_AT + 5000, STOP_AT - 8000, () => reviewer.ask('And of the sponsor?'));
  }
  for (let t = 5000; t < STOP_AT - 2000; t += 12000) at(t, t + 10000, () => reviewer.addFeedback(t));
  plan.sort((a, b) => a.t - b.t);
  // VU 1 pulls the trigger (k6 cannot kill processes; the control process can).
  let trigger = exec.vu.idInTest === 1;
  const fire = () => {
    trigger = false;
    if (!CONTROL || !CAN_KILL) return console.warn('failover: not our cluster (TARGET_URL): nothing killed');
    for (const target of KILL) {
      const res = http.post(`${CONTROL}/kill`, JSON.stringify({ name: target }), {
        headers: { 'content-type': 'application/json' },
        tags: { name: 'control' },
      });
      if (res.status === 200) {
        kills.add(1);
        console.log(`failover: killed ${target} at ${new Date().toISOString()}`);
      } else {
        console.warn(`failover: could not kill ${target}: HTTP ${res.status} ${res.body}`);
        if (res.status !== 409) error('kill_failed', target);
      }
    }
  };

  let nextDecision = rand(8000, 12000);
  await drive({
    reviewers: [reviewer],
    stopAt: STOP_AT,
    endAt: END_AT,
    quietMs: 2000,
    inFlightMs: 3000,
    onTick: (_now, t) => {
      if (trigger && t >= KILL_AT) fire();
      if (!reviewer.joined) return;
      while (plan.length && plan[0].t <= t) plan.shift().fn();
      if (t >= nextDecision) {
        reviewer.decideOne(ROOM_SIZE);
        nextDecision = t + rand(2000, 5000);
      }
    },
  });
  exportReceipts(room.reviewId, reviewer.receipts);
}

export function teardown() {
  importSpreads(ROOM_SIZE);
}

export const handleSummary = summaryHandler('failover', {
  extra: () => ({ killAtMs: KILL_AT, killed: KILL }),
  markdown: (f) =>
    `Killed ${f.killed.join(' and ')} (SIGKILL) at ${f.killAtMs / 1000} s. ${f.reconnects} reviewers reconnected${
      f.reconnectMs
        ? `: dropped to caught up (rejoined with \`since\`) p50 ${Math.round(f.reconnectMs.p50)} ms, p95 ${Math.round(
            f.reconnectMs.p95,
          )} ms, max ${Math.round(f.reconnectMs.max)} ms`
        : ''
    }. Replies that failed (interrupted by the worker kill): ${f.repliesFailed}.`,
});
