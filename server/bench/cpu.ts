/**
 * Server CPU per delivered event: Prism and the raw baseline (plain Socket.IO with the Redis
 * adapter, loadtest/baseline/server.mjs) in the same run, with the same script (cpu-sides.ts):
 * rooms of reviewers split across two server processes, events of the sizes Prism sends, half
 * of them reviewers' commands and half from the worker's side. Deliveries are counted on the
 * clients. The servers are pinned to one core and this process (the load generator, and a Redis
 * it starts) to the other, so the load generator's cost stays out of the figure; server CPU is
 * utime + stime from /proc/<pid>/stat over the measured window, which ends once every delivery
 * has arrived.
 *
 * Phases, each with fresh servers: Prism then raw with rooms of 10, then with rooms of 50; each
 * warms up, then measures. Ends with the line scripts read:
 *
 *   cpu per delivery: prism <us> us, raw <us> us, ratio <r>        (rooms of 10)
 *
 *   npm run bench:cpu
 *     BENCH_CPU_REVIEWERS=400     sockets per phase
 *     BENCH_CPU_DELIVERIES=10000  deliveries per second offered (split evenly over the rooms)
 *     BENCH_CPU_COMMANDS=0.5      share of events that are reviewers' commands
 *     BENCH_CPU_SECONDS=20        measured window per phase (after BENCH_CPU_WARMUP=5 s)
 *     BENCH_CPU_ROOMS=10,50       room sizes
 *     BENCH_CPU_PROF=DIR          every server writes a V8 CPU profile there (node --cpu-prof;
 *                                 server/bench/profile-top.ts lists its top functions; the
 *                                 measured window goes to DIR/window-<side>-<room size>.json)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRedis, deleteKeys, waitReady } from '@prism/store';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { prismSide, rawSide, type Side, Tally } from './cpu-sides.ts';
import {
  benchPrismEnv,
  cpuSeconds,
  loadavg,
  PIN,
  pinLoadGenerator,
  redisUrl,
  SERVER_CPUS,
  sleep,
} from './machine.ts';
import { type Started, startBaseline, startPrism, stopProcess } from './spawn.ts';

const REVIEWERS = Number(process.env.BENCH_CPU_REVIEWERS ?? 400);
const DELIVERIES = Number(process.env.BENCH_CPU_DELIVERIES ?? 10_000);
const COMMANDS = Number(process.env.BENCH_CPU_COMMANDS ?? 0.5);
const SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 20);
const WARMUP = Number(process.env.BENCH_CPU_WARMUP ?? 5);
const ROOM_SIZES = (process.env.BENCH_CPU_ROOMS ?? '10,50').split(',').map(Number);
const PROF = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
const PREFIX = `bench-cpu:${randomBytes(3).toString('hex')}:`;
const silent = pino({ level: 'silent' });

interface Phase {
  side: 'prism' | 'raw';
  roomSize: number;
  rooms: number;
  deliveries: number;
  expected: number;
  seconds: number;
  cpuSeconds: number;
  usPerDelivery: number;
  serverCorePct: number;
  gaps: number;
  acksFailed: number;
  failures: string;
  frameBytes: Record<string, number>;
  loadavg: string;
}

/** Sends the script for `seconds`: every room gets `perRoom` events a second, paced by the clock. */
async function drive(side: Side, rooms: Awaited<ReturnType<Side['open']>>, perRoom: number, seconds: number) {
  const started = performance.now();
  let issued = 0;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(seconds, (performance.now() - started) / 1000);
      const due = Math.floor(perRoom * rooms.length * elapsed);
      for (; issued < due; issued += 1) {
        const room = rooms[issued % rooms.length]!;
        const n = room.sent;
        room.sent += 1;
        // Commands and worker events interleaved evenly at the share asked for.
        if (Math.floor((n + 1) * COMMANDS) > Math.floor(n * COMMANDS)) {
          side.command(room, Math.floor(n * COMMANDS) % room.sockets.length);
        } else side.workerEvent(room);
      }
      if (elapsed >= seconds) {
        clearInterval(timer);
        done();
      }
    }, 5);
  });
  return issued;
}

/** Waits until every logged event reached every socket of its room (or `timeoutMs`). */
async function settle(
  side: Side,
  tally: Tally,
  roomSize: number,
  issuedCommands: () => number,
  timeoutMs = 20_000,
) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const answered = tally.acksOk + tally.acksFailed >= issuedCommands();
    if (answered && tally.delivered >= side.logged() * roomSize) return;
    await sleep(20);
  }
}

async function phase(
  kind: 'prism' | 'raw',
  roomSize: number,
  redis: { url: string; client: Redis },
  feedbackBytes: number,
): Promise<Phase> {
  const rooms = Math.max(1, Math.round(REVIEWERS / roomSize));
  const perRoom = DELIVERIES / (rooms * roomSize);
  const tag = `${kind}-${roomSize}`;
  const servers: Started[] = [];
  const tally = new Tally();
  // Both servers of a side sign with one secret: a session made on one is good on the other.
  const secret = randomBytes(32).toString('hex');
  try {
    for (const n of [1, 2]) {
      const name = `bench-cpu-${tag}-${n}`;
      const common = {
        prefix: PREFIX,
        name,
        nodeArgs: PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`, `--cpu-prof-name=${name}.cpuprofile`] : [],
        ...(SERVER_CPUS ? { cpus: SERVER_CPUS } : {}),
      };
      servers.push(
        kind === 'prism'
          ? await startPrism({
              ...common,
              env: benchPrismEnv(redis.url, secret),
            })
          : await startBaseline({ ...common, env: { REDIS_URL: redis.url } }),
      );
    }
    const side =
      kind === 'prism'
        ? prismSide(servers, redis.client, PREFIX, tally)
        : rawSide(servers, redis.client, PREFIX, tally, () => feedbackBytes);
    const opened = await side.open(rooms, roomSize);
    let commands = 0;
    const counting: Side = {
      ...side,
      command: (room, who) => {
        commands += 1;
        side.command(room, who);
      },
    };
    await drive(counting, opened, perRoom, WARMUP);
    await settle(side, tally, roomSize, () => commands);
    const before = {
      cpu: servers.reduce((s, p) => s + cpuSeconds(p.proc.pid!), 0),
      delivered: tally.delivered,
    };
    const logged = side.logged();
    // The window on the monotonic clock V8's profiles use (profile-top.ts --window keeps it only).
    const fromUs = process.hrtime.bigint() / 1000n;
    const t0 = performance.now();
    await drive(counting, opened, perRoom, SECONDS);
    await settle(side, tally, roomSize, () => commands);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = servers.reduce((s, p) => s + cpuSeconds(p.proc.pid!), 0) - before.cpu;
    const deliveries = tally.delivered - before.delivered;
    if (PROF) {
      const window = { from: Number(fromUs), to: Number(process.hrtime.bigint() / 1000n) };
      writeFileSync(`${PROF}/window-${tag}.json`, JSON.stringify(window));
    }
    for (const room of opened) for (const socket of room.sockets) socket.disconnect();
    return {
      side: kind,
      roomSize,
      rooms,
      deliveries,
      expected: (side.logged() - logged) * roomSize,
      seconds,
      cpuSeconds: cpu,
      usPerDelivery: (cpu * 1e6) / Math.max(1, deliveries),
      serverCorePct: (100 * cpu) / seconds,
      gaps: tally.gaps,
      acksFailed: tally.acksFailed,
      failures: [...tally.failures].map(([code, n]) => `${code} ${n}`).join(', '),
      frameBytes: Object.fromEntries([...tally.sizes.keys()].map((type) => [type, tally.meanSize(type)])),
      loadavg: loadavg(),
    };
  } finally {
    await Promise.all(servers.map((s) => stopProcess(s.proc)));
  }
}

const fixed = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  pinLoadGenerator();
  if (PROF) mkdirSync(PROF, { recursive: true });
  const redis = await redisUrl();
  const client = createRedis({ url: redis.url, instance: 'bench-cpu' }, 'commands', silent);
  await waitReady(client);
  const phases: Phase[] = [];
  const startedAt = Date.now();
  console.log(
    `bench:cpu: ${REVIEWERS} reviewers a phase, ${DELIVERIES} deliveries/s offered, ${Math.round(COMMANDS * 100)} % commands, ` +
      `${SECONDS} s measured after ${WARMUP} s; servers ${PIN ? 'on CPU 1, load generator on CPU 0' : 'not pinned (needs 2 CPUs and taskset)'}; ` +
      `Redis ${redis.proc ? `started here (${redis.url})` : redis.url}; loadavg ${loadavg()}`,
  );
  try {
    for (const roomSize of ROOM_SIZES) {
      const prism = await phase('prism', roomSize, { url: redis.url, client }, 0);
      phases.push(prism);
      report(prism);
      const bytes = prism.frameBytes['feedback.added'] ?? 0;
      const raw = await phase('raw', roomSize, { url: redis.url, client }, bytes);
      phases.push(raw);
      report(raw);
    }
  } finally {
    await deleteKeys(client, PREFIX).catch(() => {});
    client.disconnect();
    redis.proc?.kill('SIGTERM');
  }
  console.log('');
  console.log(
    '| rooms of | prism us/delivery | raw us/delivery | ratio | prism / raw server core % | deliveries/s | loadavg (prism; raw) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const size of ROOM_SIZES) {
    const p = phases.find((x) => x.side === 'prism' && x.roomSize === size)!;
    const r = phases.find((x) => x.side === 'raw' && x.roomSize === size)!;
    console.log(
      `| ${size} | ${fixed(p.usPerDelivery)} | ${fixed(r.usPerDelivery)} | ${fixed(p.usPerDelivery / r.usPerDelivery, 2)} | ` +
        `${fixed(p.serverCorePct, 0)} / ${fixed(r.serverCorePct, 0)} | ${Math.round(p.deliveries / p.seconds)} / ${Math.round(r.deliveries / r.seconds)} | ${p.loadavg}; ${r.loadavg} |`,
    );
  }
  console.log(`took ${Math.round((Date.now() - startedAt) / 1000)} s`);
  const p10 = phases.find((x) => x.side === 'prism' && x.roomSize === 10);
  const r10 = phases.find((x) => x.side === 'raw' && x.roomSize === 10);
  if (p10 && r10) {
    console.log(
      `cpu per delivery: prism ${fixed(p10.usPerDelivery)} us, raw ${fixed(r10.usPerDelivery)} us, ratio ${fixed(p10.usPerDelivery / r10.usPerDelivery, 2)}`,
    );
  }
}

function report(p: Phase): void {
  const missing = p.expected - p.deliveries;
  console.log(
    `${p.side.padEnd(5)} rooms of ${p.roomSize} (${p.rooms} rooms): ${p.deliveries} deliveries in ${fixed(p.seconds)} s` +
      `${missing ? ` (${missing} of ${p.expected} missing)` : ''}, server CPU ${fixed(p.cpuSeconds, 2)} s ` +
      `(${fixed(p.serverCorePct, 0)} % of a core) = ${fixed(p.usPerDelivery)} us/delivery; ` +
      `frames ${JSON.stringify(p.frameBytes)}; gaps ${p.gaps}; failed acks ${p.acksFailed}${p.failures ? ` (${p.failures})` : ''}; loadavg ${p.loadavg}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
