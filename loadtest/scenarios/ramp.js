/**
 * ramp: climbs levels of reviewers (lib/ramp-plan.js: 500 to 6,000 by default, < 5 min after
 * making the rooms) to find the ceiling: the highest level whose hold still meets p95 <= 50 ms,
 * p99 <= 150 ms and 0 errors.
 * One VU holds one room of 10 sockets. Every room is made before the climb (setup(): the owner
 * uploads the document, 9 colleagues accept its invite with sessions of their own; the rooms reach
 * the VUs through the control process), so a level's hold measures what its rooms do, not their
 * making; RAMP_ROOMS=during has each VU make its room as it starts instead. Each room at human
 * pace: the owner analyses a section, one reviewer asks the assistant, and everyone adds
 * feedback, decides AI items or moves around about every ACT_EVERY_S seconds. Thresholds gate the
 * levels up to RAMP_TARGET (5,000, the target); higher levels only report. Fan-out spread is exact
 * here (one VU sees the whole room).
 *
 *   npm run loadtest -- ramp     (RAMP_LEVELS, RAMP_UP_S, RAMP_HOLD_S, ACT_EVERY_S, RAMP_ROOMS)
 */
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  connectRoom,
  drive,
  error,
  makeRooms,
  markServerLag,
  rand,
  sharedRoom,
  shareRooms,
  sinceStart,
  touchCounters,
} from '../lib/prism.js';
import {
  HOLD_S,
  LEVELS,
  ROOM_SIZE,
  stageAt,
  stageFigures,
  stageMarkdown,
  stages,
  stageThresholds,
  TOTAL_S,
  tagRoomLevel,
  tagStage,
  ttftThresholds,
  UP_S,
  WIND_DOWN_S,
} from '../lib/ramp-plan.js';
import { summaryHandler } from '../lib/summary.js';

// The baseline (scenarios/baseline.js) climbs the same levels at the rates measured here.
const ACT_EVERY_MS = Number(__ENV.ACT_EVERY_S || 10) * 1000;
/** One tick a second per room: at thousands of reviewers k6's ticks cost more than they give. */
const TICK_MS = 1000;
const doc = open('../fixtures/docx4j-contributor-agreement-libreoffice.docx', 'b');
const held = new Counter('held');
const ROOMS_BEFORE = (__ENV.RAMP_ROOMS || 'before') !== 'during';

export const options = {
  // Rooms made before the climb: 600 for the default levels, about a minute on the 2-core machine.
  setupTimeout: '15m',
  scenarios: {
    ramp: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: stages(),
      gracefulRampDown: '0s',
      gracefulStop: `${WIND_DOWN_S + 15}s`,
    },
  },
  thresholds: Object.assign(
    {
      // Gross failure anywhere: stop early rather than pile more load on a collapsed fleet.
      event_latency_ms: [{ threshold: 'p(95)<2000', abortOnFail: true, delayAbortEval: '30s' }],
      seq_gaps: ['count==0'],
      seq_dups: ['count==0'],
    },
    stageThresholds(),
    ttftThresholds(),
  ),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

/** VU 1 has the servers' own lag read as each stage starts: the report shows it per level. */
function markStages() {
  let last = '';
  const timer = setInterval(() => {
    const stage = stageAt(sinceStart());
    if (stage === last) return;
    last = stage;
    markServerLag(stage);
    if (stage === 'end') clearInterval(timer);
  }, 500);
}

/** Every VU's room (this load generator's VUs: a segment makes its own), when made before. */
export function setup() {
  if (!ROOMS_BEFORE) return { rooms: 0 };
  const count = exec.instance.vusInitialized;
  const started = Date.now();
  shareRooms(makeRooms(count, doc, 'Ramp', ROOM_SIZE));
  console.log(`ramp: ${count} rooms of ${ROOM_SIZE} made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { rooms: count };
}

/** This VU's room, with its people (the owner first). */
const openRoom = (vu) =>
  ROOMS_BEFORE ? sharedRoom(exec.vu.idInInstance - 1) : makeRooms(1, doc, `Ramp ${vu}`, ROOM_SIZE)[0];

export default async function () {
  touchCounters();
  tagStage();
  tagRoomLevel();
  const vu = exec.vu.idInTest;
  if (vu === 1) markStages();
  let room;
  try {
    room = openRoom(vu);
  } catch (e) {
    error('room_setup', String(e));
    return;
  }
  // The room fills over about a second.
  const { reviewers, spread } = await connectRoom(room, room.people, `Ramp ${vu}`, [50, 250]);

  const startedAt = Date.now();
  const stopAt = TOTAL_S * 1000;
  let analysed = false;
  let asked = false;
  const askAt = rand(5000, 20000);
  const countedHold = {};
  await drive({
    reviewers,
    spread,
    stopAt,
    endAt: stopAt + WIND_DOWN_S * 1000,
    sharedLog: true,
    tickMs: TICK_MS,
    onTick: (now, t) => {
      const stage = tagStage();
      // Once per hold, at its middle: how many of this room's reviewers are connected and joined.
      const into = (t / 1000) % (UP_S + HOLD_S);
      if (stage[0] === 'L' && !countedHold[stage] && into >= UP_S + HOLD_S / 2) {
        countedHold[stage] = true;
        held.add(reviewers.filter((r) => r.joined).length);
      }
      const age = now - startedAt;
      const owner = reviewers[0];
      if (!analysed && owner.joined && age > 3000) {
        analysed = true;
        owner.analyse([room.sections[Math.floor(Math.random() * room.sections.length)]]);
      }
      if (!asked && reviewers[1].joined && age > askAt) {
        asked = true;
        reviewers[1].ask('Which clause limits the contributor the most?');
      }
      const p = TICK_MS / ACT_EVERY_MS;
      for (let i = 0; i < reviewers.length; i += 1) {
        const r = reviewers[i]; // an index loop: for...of allocates per step in k6
        if (!r.joined || Math.random() >= p) continue;
        const roll = Math.random();
        if (roll < 0.45) r.addFeedback(Math.floor(age / 1000));
        else if (roll < 0.8 && r.decideOne(ROOM_SIZE)) {
          // decided one
        } else r.presence();
      }
    },
  });
}

export const handleSummary = summaryHandler('ramp', {
  extra: (data) => ({ stages: stageFigures(data), levels: LEVELS }),
  markdown: (f) => stageMarkdown(f.stages),
});
