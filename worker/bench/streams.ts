/**
 * Streaming benchmark: 50 concurrent chat replies from the Bedrock stand-in through the real
 * SDK, a BullMQ worker, the event log and a server to 50 socket.io clients, on a private Redis.
 * Prints time-to-first-token at the client minus at the stand-in (p50/p95) and Redis commands
 * per model delta (every command the processes sent to Redis while streaming).
 *
 *   npm run bench -w worker          (BENCH_STREAMS=50 BENCH_TPS=60 BENCH_TOKENS=150 to vary)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReviewEvent } from '@prism/core';
import { closeRedis, createRedis, FileObjectStore, waitReady } from '@prism/store';
import { Redis } from 'ioredis';
import pino from 'pino';
import { io } from 'socket.io-client';
import { createApp } from '../../server/src/app.ts';
import { loadConfig as serverConfig } from '../../server/src/config.ts';
import { createMetrics } from '../../server/src/infra/metrics.ts';
import { startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import { BedrockProvider } from '../src/ai/bedrock.ts';
import type { AiProvider } from '../src/ai/provider.ts';
import { createWorker } from '../src/app.ts';
import { loadConfig as workerConfig } from '../src/config.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 50);
const TPS = Number(process.env.BENCH_TPS ?? 60);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 150);
const FIRST_TOKEN_MS = 800;
const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const silent = pino({ level: 'silent' });

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

// Every command any client of this process sends (servers, worker, BullMQ: one ioredis), i.e.
// round trips' worth of work; Redis's own counters would add the commands scripts run inside.
let commandsSent = 0;
let measuring = false;
const byName: Record<string, number> = {};
const send = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<typeof send>) {
  commandsSent += 1;
  if (measuring) {
    const name = (args[0] as { name?: string }).name ?? '?';
    byName[name] = (byName[name] ?? 0) + 1;
  }
  return send.apply(this, args);
};

async function main(): Promise<void> {
  // A private Redis: other work on the machine must not count as ours.
  const redisPort = await freePort();
  const redisDir = mkdtempSync(join(tmpdir(), 'prism-bench-redis-'));
  const redisProc: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      redisDir,
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${redisPort}`;
  const admin = new Redis(url, { retryStrategy: (n) => (n > 50 ? null : 100) });
  admin.on('error', () => {});
  await admin.ping();

  const standIn = await startBedrockStandIn({
    tokensPerSecond: TPS,
    firstTokenMs: FIRST_TOKEN_MS,
    chatTokens: TOKENS,
  });
  const prefix = 'bench:';
  const settings = { url, instance: 'bench' };
  const serverRedis = {
    commands: createRedis(settings, 'commands', silent),
    subscriber: createRedis(settings, 'subscriber', silent),
    adapterPub: createRedis(settings, 'adapter-pub', silent),
    adapterSub: createRedis(settings, 'adapter-sub', silent),
    queue: createRedis(settings, 'queue', silent),
  };
  const workerRedis = {
    commands: createRedis(settings, 'commands', silent),
    blocking: createRedis(settings, 'worker', silent),
    control: createRedis(settings, 'subscriber', silent),
  };
  await Promise.all([...Object.values(serverRedis), ...Object.values(workerRedis)].map((c) => waitReady(c)));
  const objects = new FileObjectStore(mkdtempSync(join(tmpdir(), 'prism-bench-objects-')));
  const app = createApp({
    config: serverConfig({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'silent', PORT: '0' }),
    logger: silent,
    metrics: createMetrics('bench'),
    objects,
    redis: serverRedis,
    version: 'bench',
  });
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(app.http.address() as { port: number }).port}`;

  // Count the model's deltas as the worker receives them from the SDK.
  let modelDeltas = 0;
  const bedrock = new BedrockProvider({
    region: 'eu-north-1',
    models: [MODEL],
    endpoint: standIn.url,
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
    logger: silent,
  });
  const countingProvider: AiProvider = {
    name: 'bedrock',
    describe: () => bedrock.describe(),
    analyze: (request, sink, signal) => bedrock.analyze(request, sink, signal),
    chat: (request, sink, signal) =>
      bedrock.chat(
        request,
        {
          started: (model) => sink.started(model),
          text: (delta) => {
            modelDeltas += 1;
            sink.text(delta);
          },
        },
        signal,
      ),
  };
  const worker = await createWorker({
    config: workerConfig({
      REDIS_URL: url,
      REDIS_KEY_PREFIX: prefix,
      AI_PROVIDER: 'bedrock',
      WORKER_CONCURRENCY: String(STREAMS),
      LOG_LEVEL: 'silent',
    }),
    logger: silent,
    provider: countingProvider,
    objects,
    redis: workerRedis,
    version: 'bench',
  });

  const { makeDoc, session, uploadReview } = await import('../../server/bench/doc.ts');
  const doc = await makeDoc();
  const token = await session(base, 'Bench');

  const clients = await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const reviewId = await uploadReview(base, token, doc);
      const socket = io(base, { auth: { token }, transports: ['websocket'], forceNew: true });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      await socket.timeout(10_000).emitWithAck('review:join', { reviewId });
      return { socket, reviewId, firstDelta: 0, done: false };
    }),
  );

  const before = commandsSent;
  measuring = true;
  const sentAt = Date.now();
  for (const client of clients) {
    client.socket.on('review:event', (event: ReviewEvent) => {
      if (event.type === 'chat.delta' && !client.firstDelta) client.firstDelta = Date.now();
      if (event.type === 'chat.done' || event.type === 'chat.failed') client.done = true;
    });
  }
  await Promise.all(
    clients.map((client) =>
      client.socket
        .timeout(10_000)
        .emitWithAck('chat:send', { reviewId: client.reviewId, text: 'What happened?' }),
    ),
  );
  while (!clients.every((c) => c.done)) await new Promise((r) => setTimeout(r, 50));
  const after = commandsSent;
  measuring = false;
  const seconds = (Date.now() - sentAt) / 1000;

  // The stand-in sends its first token FIRST_TOKEN_MS after it receives the request.
  const requests = standIn.requests.filter((r) => r.modelId === MODEL);
  const firstTokenAtStandIn = requests.map((r) => r.receivedAt + FIRST_TOKEN_MS).sort((a, b) => a - b);
  const firstAtClient = clients.map((c) => c.firstDelta).sort((a, b) => a - b);
  // Pair the k-th first token sent with the k-th received: streams are alike, so order holds.
  const overhead = firstAtClient.map((t, i) => t - firstTokenAtStandIn[i]!);
  const commands = after - before;
  console.log(
    JSON.stringify(
      {
        streams: STREAMS,
        tokensPerSecond: TPS,
        tokensPerReply: TOKENS,
        seconds: Math.round(seconds * 10) / 10,
        ttftOverheadMs: {
          p50: percentile(overhead, 50),
          p95: percentile(overhead, 95),
          max: Math.max(...overhead),
        },
        ttftAtClientMs: {
          p50: percentile(
            firstAtClient.map((t) => t - sentAt),
            50,
          ),
        },
        modelDeltas,
        redisCommands: commands,
        commandsPerDelta: Math.round((commands / modelDeltas) * 1000) / 1000,
        byCommand: Object.fromEntries(
          Object.entries(byName)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 8),
        ),
      },
      null,
      2,
    ),
  );

  for (const client of clients) client.socket.disconnect();
  await worker.close();
  await app.drain(0);
  await Promise.all([...Object.values(serverRedis), ...Object.values(workerRedis)].map((c) => closeRedis(c)));
  await standIn.close();
  admin.disconnect();
  redisProc.kill('SIGKILL');
  rmSync(redisDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
