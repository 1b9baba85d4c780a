/**
 * Server CPU per presence change: rooms of reviewers spread over three Prism servers (each room's
 * sockets alternate between them, as a load balancer spreads them), every reviewer now and then
 * starting or stopping typing (`presence:update`), which every socket of the room is shown.
 * The servers are pinned to one core and this process (and a Redis it starts) to the other;
 * server CPU is utime + stime from /proc over the measured window, which ends once every update
 * is acknowledged and the room has been quiet for a moment.
 *
 *   npm run bench:presence
 *     BENCH_PRESENCE_ROOMS=60       rooms
 *     BENCH_PRESENCE_SIZE=10        sockets per room
 *     BENCH_PRESENCE_RATE=300       updates per second, over all rooms
 *     BENCH_PRESENCE_SECONDS=20     measured window (after BENCH_PRESENCE_WARMUP=3 s)
 *     BENCH_PRESENCE_SERVERS=3
 *     BENCH_PRESENCE_PROF=DIR       every server writes a V8 CPU profile there (profile-top.ts
 *                                   lists its top functions; the window goes to DIR/window.json)
 *
 * Ends with the line scripts read:
 *
 *   cpu per presence change: <us> us (<servers> servers, rooms of <size>), <n> presence frames per change
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRedis, deleteKeys, waitReady } from '@prism/store';
import pino from 'pino';
import { prismSide, type Room, Tally } from './cpu-sides.ts';
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
import { type Started, startPrism, stopProcess } from './spawn.ts';

const ROOMS = Number(process.env.BENCH_PRESENCE_ROOMS ?? 60);
const SIZE = Number(process.env.BENCH_PRESENCE_SIZE ?? 10);
const RATE = Number(process.env.BENCH_PRESENCE_RATE ?? 300);
const SECONDS = Number(process.env.BENCH_PRESENCE_SECONDS ?? 20);
const WARMUP = Number(process.env.BENCH_PRESENCE_WARMUP ?? 3);
const SERVERS = Number(process.env.BENCH_PRESENCE_SERVERS ?? 3);
const PROF = process.env.BENCH_PRESENCE_PROF ? resolve(process.env.BENCH_PRESENCE_PROF) : undefined;
const PREFIX = `bench-presence:${randomBytes(3).toString('hex')}:`;
const silent = pino({ level: 'silent' });

/** What the clients counted. */
const counts = { updates: 0, acked: 0, failed: 0, frames: 0 };

function answered(ok: boolean): void {
  if (ok) counts.acked += 1;
  else counts.failed += 1;
}

/** Sends `RATE` updates a second for `seconds`, round robin over rooms and their sockets. */
async function drive(rooms: Room[], seconds: number): Promise<void> {
  const started = performance.now();
  let issued = 0;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(seconds, (performance.now() - started) / 1000);
      for (const due = Math.floor(RATE * elapsed); issued < due; issued += 1) {
        const room = rooms[issued % rooms.length]!;
        const socket = room.sockets[Math.floor(issued / rooms.length) % room.sockets.length]!;
        room.sent += 1;
        counts.updates += 1;
        // Each socket alternates: typing, then not, so every update is a change.
        const typing = Math.floor(issued / rooms.length / room.sockets.length) % 2 === 0;
        socket
          .timeout(30_000)
          .emitWithAck('presence:update', { reviewId: room.id, typing })
          .then(
            (ack: { ok?: boolean }) => answered(ack?.ok === true),
            () => answered(false),
          );
      }
      if (elapsed >= seconds) {
        clearInterval(timer);
        done();
      }
    }, 5);
  });
}

/** Until every update is answered and no presence frame arrived for `quietMs`. */
async function settle(quietMs = 1000, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let frames = counts.frames;
  let quietSince = Date.now();
  while (Date.now() < until) {
    await sleep(50);
    if (counts.frames !== frames) {
      frames = counts.frames;
      quietSince = Date.now();
    }
    if (counts.acked + counts.failed >= counts.updates && Date.now() - quietSince >= quietMs) return;
  }
}

async function main(): Promise<void> {
  pinLoadGenerator();
  if (PROF) mkdirSync(PROF, { recursive: true });
  const redis = await redisUrl();
  const client = createRedis({ url: redis.url, instance: 'bench-presence' }, 'commands', silent);
  await waitReady(client);
  const secret = randomBytes(32).toString('hex');
  const servers: Started[] = [];
  console.log(
    `bench:presence: ${ROOMS} rooms of ${SIZE} over ${SERVERS} servers, ${RATE} updates/s, ${SECONDS} s measured after ${WARMUP} s; ` +
      `servers ${PIN ? 'on CPU 1, load generator on CPU 0' : 'not pinned (needs 2 CPUs and taskset)'}; loadavg ${loadavg()}`,
  );
  try {
    for (let n = 1; n <= SERVERS; n += 1) {
      servers.push(
        await startPrism({
          prefix: PREFIX,
          name: `bench-presence-${n}`,
          source: true,
          nodeArgs: PROF
            ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`, `--cpu-prof-name=server-${n}.cpuprofile`]
            : [],
          ...(SERVER_CPUS ? { cpus: SERVER_CPUS } : {}),
          env: benchPrismEnv(redis.url, secret),
        }),
      );
    }
    const rooms = await prismSide(servers, client, PREFIX, new Tally()).open(ROOMS, SIZE);
    for (const room of rooms)
      for (const socket of room.sockets) socket.on('presence', () => (counts.frames += 1));
    await drive(rooms, WARMUP);
    await settle();
    const before = { cpu: servers.reduce((s, p) => s + cpuSeconds(p.proc.pid!), 0), ...counts };
    const t0 = performance.now();
    const fromUs = process.hrtime.bigint() / 1000n;
    await drive(rooms, SECONDS);
    await settle();
    if (PROF) {
      const window = { from: Number(fromUs), to: Number(process.hrtime.bigint() / 1000n) };
      writeFileSync(`${PROF}/window.json`, JSON.stringify(window));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = servers.reduce((s, p) => s + cpuSeconds(p.proc.pid!), 0) - before.cpu;
    const updates = counts.updates - before.updates;
    const frames = counts.frames - before.frames;
    const us = (cpu * 1e6) / Math.max(1, updates);
    console.log(
      `${updates} updates in ${seconds.toFixed(1)} s (${counts.failed} failed), ${frames} presence frames shown, ` +
        `server CPU ${cpu.toFixed(2)} s (${((100 * cpu) / seconds).toFixed(0)} % of a core); loadavg ${loadavg()}`,
    );
    for (const room of rooms) for (const socket of room.sockets) socket.disconnect();
    console.log(
      `cpu per presence change: ${us.toFixed(0)} us (${SERVERS} servers, rooms of ${SIZE}), ${(frames / Math.max(1, updates)).toFixed(1)} presence frames per change`,
    );
  } finally {
    await Promise.all(servers.map((s) => stopProcess(s.proc)));
    await deleteKeys(client, PREFIX).catch(() => {});
    client.disconnect();
    redis.proc?.kill('SIGTERM');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
