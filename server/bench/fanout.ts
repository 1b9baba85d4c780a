/**
 * Fan-out benchmark: 2 server processes on one Redis, 200 clients in rooms of 10 split across
 * them, and a producer appending to the review logs the way workers do. Prints events/s appended
 * and delivered and append-to-receive latency (event `at` to client receipt).
 *
 *   npm run bench -w server            (BENCH_RATE=2500 BENCH_SECONDS=10 BENCH_CLIENTS=200 to change)
 */
import { randomBytes } from 'node:crypto';
import type { ReviewEvent } from '@prism/core';
import { createRedis, deleteKeys, EventLog, waitReady } from '@prism/store';
import { Redis } from 'ioredis';
import pino from 'pino';
import { io } from 'socket.io-client';
import { REDIS_URL, type Started, startPrism } from './spawn.ts';

const RATE = Number(process.env.BENCH_RATE ?? 2500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const ROOM_SIZE = 10;
const PREFIX = `bench:${randomBytes(3).toString('hex')}:`;
const silent = pino({ level: 'silent' });

const startServer = (name: string): Promise<Started> =>
  startPrism({
    prefix: PREFIX,
    name,
    source: true,
    // Every client connects as the one owner: above the per-person socket cap they would evict each other.
    env: { MAX_SOCKETS_PER_USER: String(CLIENTS) },
  });

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const servers = await Promise.all([startServer('bench-A'), startServer('bench-B')]);
  try {
    const rooms = Math.ceil(CLIENTS / ROOM_SIZE);
    const { makeDoc, session, uploadReview } = await import('./doc.ts');
    const doc = await makeDoc();
    const owner = await session(servers[0]!.url, 'Bench');
    const reviewIds: string[] = [];
    for (let r = 0; r < rooms; r += 1) reviewIds.push(await uploadReview(servers[r % 2]!.url, owner, doc));

    const latencies: number[] = [];
    let delivered = 0;
    let outOfOrder = 0;
    const sockets = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const reviewId = reviewIds[i % rooms]!;
        const socket = io(servers[i % 2]!.url, {
          auth: { token: owner },
          transports: ['websocket'],
          forceNew: true,
        });
        let last = 0;
        socket.on('review:event', (event: ReviewEvent) => {
          const now = Date.now();
          if (last && event.seq !== last + 1) outOfOrder += 1;
          last = event.seq;
          delivered += 1;
          if (event.type === 'chat.delta') latencies.push(now - Date.parse(event.at));
        });
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
        const ack = await socket.timeout(10_000).emitWithAck('review:join', { reviewId });
        last = ack.snapshot.seq;
        return socket;
      }),
    );

    const redis = createRedis({ url: REDIS_URL, instance: 'bench-producer' }, 'commands', silent);
    await waitReady(redis);
    const log = new EventLog(redis, { prefix: PREFIX });
    const text = 'the model writes a few tokens at a time ';
    let appended = 0;
    const tickMs = 5;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = (performance.now() - started) / 1000;
        if (elapsed >= SECONDS) {
          clearInterval(timer);
          resolve();
          return;
        }
        // Paced by elapsed time, not by ticks, so timer drift does not lower the rate.
        const due = Math.floor(RATE * elapsed);
        while (appended < due) {
          const reviewId = reviewIds[appended % rooms]!;
          const index = appended;
          appended += 1;
          void log.append({
            reviewId,
            type: 'chat.delta',
            at: new Date().toISOString(),
            actor: { id: 'prism', name: 'Prism' },
            data: { messageId: 'm_bench', index, text },
          });
        }
      }, tickMs);
    });
    const appendSeconds = (performance.now() - started) / 1000;
    const expected = appended * ROOM_SIZE;
    const waitStart = Date.now();
    while (delivered < expected && Date.now() - waitStart < 10_000)
      await new Promise((r) => setTimeout(r, 50));
    const totalSeconds = (performance.now() - started) / 1000;

    latencies.sort((a, b) => a - b);
    const figures = {
      servers: 2,
      clients: CLIENTS,
      rooms,
      targetRate: RATE,
      appendedPerSecond: Math.round(appended / appendSeconds),
      deliveredPerSecond: Math.round(delivered / totalSeconds),
      delivered: `${delivered}/${expected}`,
      outOfOrder,
      latencyMs: {
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
        max: latencies.at(-1),
      },
    };
    console.log(JSON.stringify(figures, null, 2));
    for (const socket of sockets) socket.disconnect();
    redis.disconnect();
  } finally {
    for (const server of servers) server.proc.kill('SIGKILL');
    const redis = new Redis(REDIS_URL);
    redis.on('error', () => {});
    await deleteKeys(redis, PREFIX);
    redis.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
