/**
 * The ramp's schedule, shared by scenarios/ramp.js and the baseline's ramp so both climb the
 * same stairs: levels of reviewers (one VU holds one room of 10), each reached in UP_S and held
 * for HOLD_S. Samples are tagged `stage: up<level>` while climbing and `stage: L<level>` while
 * holding; the hold samples decide whether a level passed.
 *
 *   RAMP_LEVELS=500,1000,2000,3000,4000,5000,6000  RAMP_UP_S=12  RAMP_HOLD_S=25  RAMP_WIND_DOWN_S=15
 *   (7 x 37 s + 15 s: under 5 minutes)
 */
import exec from 'k6/execution';
import { sinceStart, ttftOverhead } from './prism.js';

export const ROOM_SIZE = 10;
export const LEVELS = String(__ENV.RAMP_LEVELS || '500,1000,2000,3000,4000,5000,6000')
  .split(',')
  .map((v) => Number(v.trim()))
  .filter((v) => v > 0);
export const UP_S = Number(__ENV.RAMP_UP_S || 12);
export const HOLD_S = Number(__ENV.RAMP_HOLD_S || 25);
export const WIND_DOWN_S = Number(__ENV.RAMP_WIND_DOWN_S || 15);
/** The target the issue sets: at this level p95 <= 50 ms, p99 <= 150 ms, no errors. */
export const TARGET_LEVEL = Number(__ENV.RAMP_TARGET || 5000);
export const P95_MS = Number(__ENV.RAMP_P95_MS || 50);
export const P99_MS = Number(__ENV.RAMP_P99_MS || 150);

export const STEP_S = UP_S + HOLD_S;
export const TOTAL_S = LEVELS.length * STEP_S;

/** ramping-vus stages (VUs = rooms). */
export function stages() {
  const out = [];
  for (const level of LEVELS) {
    out.push({ target: Math.ceil(level / ROOM_SIZE), duration: `${UP_S}s` });
    out.push({ target: Math.ceil(level / ROOM_SIZE), duration: `${HOLD_S}s` });
  }
  return out;
}

/** The level being climbed to or held at a time (ms since the scenario started; the last after). */
const levelIndexAt = (ms) => Math.min(LEVELS.length - 1, Math.floor(ms / 1000 / STEP_S));

/** The stage tag for a time (ms since the scenario started). */
export function stageAt(ms) {
  const s = ms / 1000;
  if (s >= TOTAL_S) return 'end';
  const i = levelIndexAt(ms);
  return `${s - i * STEP_S < UP_S ? 'up' : 'L'}${LEVELS[i]}`;
}

/**
 * Tags this VU (one room) with the level whose climb created it, `room_level`, for good: a room
 * asks the assistant once, a few seconds after it opens, so its TTFT belongs to that level even
 * when the first token arrives after the next stage began.
 */
export function tagRoomLevel() {
  exec.vu.metrics.tags.room_level = String(LEVELS[levelIndexAt(sinceStart())]);
}

/** Per-level TTFT thresholds that always pass (ramp only: the baseline has no assistant). */
export function ttftThresholds() {
  const t = {};
  for (const level of LEVELS) t[`ttft_ms{room_level:${level}}`] = ['p(95)>=0'];
  return t;
}

/** Sets this VU's `stage` tag (every metric it emits from now on carries it); returns it. */
export function tagStage() {
  const stage = stageAt(sinceStart());
  if (exec.vu.metrics.tags.stage !== stage) exec.vu.metrics.tags.stage = stage;
  return stage;
}

/**
 * Thresholds: at levels up to TARGET_LEVEL they are the targets (they fail the run); above it they
 * always pass and exist only so the summary has per-level figures (the ceiling is read from them).
 */
export function stageThresholds() {
  const t = {};
  for (const level of LEVELS) {
    const gate = level <= TARGET_LEVEL;
    t[`event_latency_ms{stage:L${level}}`] = gate ? [`p(95)<=${P95_MS}`, `p(99)<=${P99_MS}`] : ['p(95)>=0'];
    t[`errors{stage:L${level}}`] = gate ? ['count==0'] : ['count>=0'];
    t[`deliveries{stage:L${level}}`] = ['count>=0'];
    t[`other_frames{stage:L${level}}`] = ['count>=0'];
    t[`held{stage:L${level}}`] = ['count>=0'];
    t[`fanout_spread_ms{stage:L${level}}`] = ['p(95)>=0'];
    t[`vu_tick_lag_ms{stage:L${level}}`] = ['p(95)>=0'];
  }
  return t;
}

/** Per-level figures from the summary data, and the ceiling (highest level meeting the targets). */
export function stageFigures(data) {
  const v = (name) => data.metrics[name]?.values || {};
  const levels = LEVELS.map((level) => {
    const lat = v(`event_latency_ms{stage:L${level}}`);
    const ttft = v(`ttft_ms{room_level:${level}}`);
    const spread = v(`fanout_spread_ms{stage:L${level}}`);
    const tickLag = v(`vu_tick_lag_ms{stage:L${level}}`);
    const deliveries = v(`deliveries{stage:L${level}}`).count || 0;
    const otherFrames = v(`other_frames{stage:L${level}}`).count || 0;
    const errors = v(`errors{stage:L${level}}`).count || 0;
    const held = v(`held{stage:L${level}}`).count || 0;
    // A level the run never held (it stopped before) has empty sub-metrics: no figures.
    const reached = held > 0 && deliveries > 0;
    const ok =
      reached && errors === 0 && lat['p(95)'] <= P95_MS && lat['p(99)'] <= P99_MS && held >= level * 0.99;
    const or = (x) => (reached && x !== undefined ? x : null);
    return {
      level,
      reached,
      held,
      deliveriesPerSecond: reached ? deliveries / HOLD_S : null,
      // Presence frames (Prism) the sockets read beside the deliveries.
      otherFramesPerSecond: reached ? otherFrames / HOLD_S : null,
      p50: or(lat.med),
      p95: or(lat['p(95)']),
      p99: or(lat['p(99)']),
      spreadP95: or(spread['p(95)']),
      // The load generator's own lag (its VUs' ticks), which its event latency includes.
      tickLagP95: or(tickLag['p(95)']),
      // For the rooms this level opened.
      ttftOverheadMs: ttftOverhead(ttft),
      errors,
      ok,
    };
  });
  // The highest level held within the targets (a lower level may have missed them in a burst,
  // e.g. while its rooms were being created: the table shows it).
  const ceiling = levels.filter((l) => l.ok).pop() || null;
  return {
    levels,
    ceiling: ceiling ? ceiling.level : 0,
    ceilingDeliveriesPerSecond: ceiling ? ceiling.deliveriesPerSecond : null,
    targetLevel: TARGET_LEVEL,
    p95Ms: P95_MS,
    p99Ms: P99_MS,
  };
}

export function stageMarkdown(stage) {
  const f = (x, d) => (x === null || x === undefined ? '-' : Number(x).toFixed(d === undefined ? 1 : d));
  const rows = stage.levels.map(
    (l) =>
      `| ${l.level} | ${l.held} | ${f(l.deliveriesPerSecond, 0)} | ${f(l.otherFramesPerSecond, 0)} | ${f(l.p50)} | ${f(l.p95)} | ${f(l.p99)} | ${f(
        l.spreadP95,
      )} | ${f(l.tickLagP95)} | ${f(l.ttftOverheadMs.p50, 0)} / ${f(l.ttftOverheadMs.p95, 0)} | ${l.errors} | ${l.reached ? (l.ok ? 'yes' : 'no') : 'not reached'} |`,
  );
  return [
    `Levels (held ${HOLD_S} s each after a ${UP_S} s climb; target p95 <= ${P95_MS} ms, p99 <= ${P99_MS} ms, 0 errors):`,
    '',
    '| reviewers | held | deliveries/s | other frames/s | p50 ms | p95 ms | p99 ms | spread p95 ms | k6 tick lag p95 ms | TTFT overhead p50 / p95 ms (rooms opened at this level) | errors | meets target |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Ceiling: ${stage.ceiling ? `${stage.ceiling} reviewers (${f(stage.ceilingDeliveriesPerSecond, 0)} deliveries/s)` : 'below the first level'}`,
  ].join('\n');
}
