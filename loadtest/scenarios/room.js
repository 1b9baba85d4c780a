/**
 * room: a review the way a team does one. ROOMS rooms of 10 reviewers (one VU per room, one socket
 * per reviewer): the owner uploads the document in setup and invites nine colleagues (their own
 * sessions and accepts), analyses every section, and the room then works through the AI's
 * findings at human pace: each reviewer decides the items that fall to them every 5-15 s, adds
 * feedback now and then, asks the assistant a question or two, and moves between sections. At the
 * end every reviewer's sequence is checked against the log; fan-out spread is exact (one VU sees
 * the whole room).
 *
 *   npm run loadtest -- room      (ROOMS=20 DURATION_S=180 to change)
 */
import exec from 'k6/execution';
import {
  acceptInvites,
  byTypeThresholds,
  connectRoom,
  createRooms,
  drive,
  error,
  rand,
  segmentMin,
  touchCounters,
} from '../lib/prism.js';
import { summaryHandler } from '../lib/summary.js';

const ROOM_SIZE = 10;
const ROOMS = Number(__ENV.ROOMS || 20);
const LOCAL_ROOMS = segmentMin(ROOMS); // this load generator's share (--segment I/N)
const DURATION_MS = Number(__ENV.DURATION_S || 180) * 1000;
const STOP_AT = DURATION_MS * 0.8;
const END_AT = DURATION_MS - 2000;
const doc = open('../fixtures/docx4j-contributor-agreement-libreoffice.docx', 'b');

export const options = {
  setupTimeout: '120s',
  scenarios: {
    room: {
      executor: 'per-vu-iterations',
      vus: ROOMS,
      iterations: 1,
      maxDuration: `${Math.round(DURATION_MS / 1000) + 30}s`,
    },
  },
  thresholds: Object.assign(byTypeThresholds(), {
    errors: ['count==0'],
    seq_gaps: ['count==0'],
    seq_dups: ['count==0'],
    reviewers_joined: [`count>=${LOCAL_ROOMS * ROOM_SIZE}`],
    reviewers_verified: [`count>=${LOCAL_ROOMS * ROOM_SIZE}`],
    event_latency_ms: ['p(95)<250', 'p(99)<1000'],
    ttft_measured: [`count>=${LOCAL_ROOMS}`],
    ttft_ms: ['p(95)<5000'],
    fanout_spread_ms: ['p(95)<250'],
  }),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

export function setup() {
  // One room per VU of this generator (its VUs: all of them when it runs alone).
  return { rooms: createRooms(exec.instance.vusInitialized, doc, 'Room owner') };
}

export default async function (data) {
  touchCounters();
  const vu = exec.vu.idInTest;
  const room = data.rooms[exec.vu.idInInstance - 1];
  let people;
  try {
    people = [room.owner].concat(
      acceptInvites(
        room,
        Array.from({ length: ROOM_SIZE - 1 }, (_, i) => `Room ${vu} reviewer ${i + 1}`),
      ),
    );
  } catch (e) {
    error('room_setup', String(e));
    return;
  }
  // Colleagues open the link over a few seconds.
  const { reviewers, spread } = await connectRoom(room, people, `Room ${vu}`, [100, 600]);

  // Per reviewer: when they next act, and their questions for the assistant.
  const next = reviewers.map(() => rand(8000, 15000));
  const questions = reviewers.map((_, i) => (i % 3 === 0 ? [rand(10000, STOP_AT - 20000)] : []));
  let analysed = false;
  await drive({
    reviewers,
    spread,
    stopAt: STOP_AT,
    endAt: END_AT,
    sharedLog: true,
    onTick: (_now, t) => {
      const owner = reviewers[0];
      if (!analysed && owner.joined && t > 5000) {
        analysed = true;
        owner.analyse(room.sections);
      }
      reviewers.forEach((r, i) => {
        if (!r.joined) return;
        if (questions[i].length && t >= questions[i][0]) {
          questions[i].shift();
          r.ask(
            'Which obligations in this section would worry a first-time contributor?',
            r.sections[i % r.sections.length],
          );
        }
        if (t < next[i]) return;
        next[i] = t + rand(5000, 15000);
        const roll = Math.random();
        if (roll < 0.7 && r.decideOne(ROOM_SIZE)) return;
        if (roll < 0.85) r.addFeedback(Math.floor(t / 1000));
        else r.presence();
      });
    },
  });
}

export const handleSummary = summaryHandler('room');
