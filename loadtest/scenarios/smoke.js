/**
 * smoke: 100 reviewers for one minute, one VU = one reviewer = one socket, in rooms of 10 (CI runs
 * it). Each room: the owner analyses two sections and asks the assistant; two more reviewers ask
 * too (so ttft_ms is measured in every room); everyone adds feedback, decides AI items and moves
 * around (presence) at human pace. From 42 s on nobody acts; each reviewer waits for a quiet room
 * and checks its sequence against the review's log (seq_gaps, seq_dups).
 *
 *   npm run loadtest -- smoke          (REVIEWERS=100 DURATION_S=60 to change)
 *   npm run loadtest -- smoke --segment 1/2   (half of it: whole rooms of this generator's VUs)
 */
import exec from 'k6/execution';
import {
  acceptInvite,
  byTypeThresholds,
  createRooms,
  drive,
  exportReceipts,
  importSpreads,
  Reviewer,
  rand,
  segmentMin,
  sinceStart,
  sleepMs,
  touchCounters,
} from '../lib/prism.js';
import { summaryHandler } from '../lib/summary.js';

const REVIEWERS = Number(__ENV.REVIEWERS || 100);
const ROOM_SIZE = 10;
// Split over several load generators (--segment I/N), each runs whole rooms of its own reviewers.
const LOCAL_REVIEWERS = segmentMin(REVIEWERS);
const ROOMS = Math.ceil(LOCAL_REVIEWERS / ROOM_SIZE);
const DURATION_MS = Number(__ENV.DURATION_S || 60) * 1000;
const STOP_AT = DURATION_MS * 0.7; // no new actions after this; quiet room, then the final check
const END_AT = DURATION_MS - 2000;
const doc = open('../fixtures/docx4j-contributor-agreement-libreoffice.docx', 'b');

export const options = {
  setupTimeout: '120s',
  teardownTimeout: '60s',
  scenarios: {
    smoke: {
      executor: 'per-vu-iterations',
      vus: REVIEWERS,
      iterations: 1,
      maxDuration: `${Math.round(DURATION_MS / 1000) + 30}s`,
    },
  },
  thresholds: Object.assign(byTypeThresholds(), {
    errors: ['count==0'],
    seq_gaps: ['count==0'],
    seq_dups: ['count==0'],
    reviewers_joined: [`count>=${LOCAL_REVIEWERS}`],
    reviewers_verified: [`count>=${LOCAL_REVIEWERS}`],
    event_latency_ms: [`p(95)<${Number(__ENV.SMOKE_P95_MS || 250)}`, 'p(99)<1000'],
    ttft_measured: [`count>=${ROOMS}`],
    ttft_ms: ['p(95)<5000'],
    fanout_spread_events: ['count>0'],
    fanout_spread_ms: ['p(95)<250'],
    http_req_failed: ['rate==0'],
  }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

export function setup() {
  // This generator's VUs (all of them when it runs alone): rooms of ROOM_SIZE.
  const rooms = Math.ceil(exec.instance.vusInitialized / ROOM_SIZE);
  return { rooms: createRooms(rooms, doc, 'Smoke owner') };
}

export default async function (data) {
  touchCounters();
  const rooms = data.rooms.length;
  const i = exec.vu.idInInstance - 1;
  const room = data.rooms[i % rooms];
  const index = Math.floor(i / rooms); // 0 is the room's owner
  const name = index === 0 ? `Smoke owner ${(i % rooms) + 1}` : `Reviewer ${exec.vu.idInTest}`;
  const who = index === 0 ? room.owner : acceptInvite(room, name);
  await sleepMs(rand(0, 3000)); // people arrive over a few seconds
  const reviewer = new Reviewer({ room, token: who.token, name, index, exportReceipts: true }).connect();

  // Human pace: a plan of actions at times (ms since the scenario started).
  const plan = [];
  const at = (min, max, fn) => plan.push({ t: rand(min, max) * (DURATION_MS / 60000), fn });
  if (index === 0) at(5000, 8000, () => reviewer.analyse(room.sections.slice(0, 2)));
  if (index === 0 || index === 3 || index === 6) {
    at(index === 0 ? 12000 : 8000, 32000, () =>
      reviewer.ask('What is the main risk for a contributor in this agreement?'),
    );
  }
  at(6000, 22000, () => reviewer.addFeedback(1));
  at(22000, 40000, () => reviewer.addFeedback(2));
  for (let t = 4000; t < 40000; t += 15000) at(t, t + 10000, () => reviewer.presence());
  plan.sort((a, b) => a.t - b.t);

  let nextDecision = rand(8000, 12000);
  await drive({
    reviewers: [reviewer],
    stopAt: STOP_AT,
    endAt: END_AT,
    onTick: (_now, t) => {
      if (!reviewer.joined) return;
      while (plan.length && plan[0].t <= t) plan.shift().fn();
      if (t >= nextDecision) {
        reviewer.decideOne(ROOM_SIZE);
        nextDecision = t + rand(2000, 5000);
      }
    },
  });
  exportReceipts(room.reviewId, reviewer.receipts);
  if (sinceStart() > DURATION_MS + 5000) console.warn(`${name} ended late (${sinceStart()} ms)`);
}

export function teardown() {
  // fan-out spread of every event all ROOM_SIZE reviewers received live (see SpreadTracker).
  importSpreads(ROOM_SIZE);
}

export const handleSummary = summaryHandler('smoke');
