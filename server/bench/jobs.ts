/**
 * Jobs benchmark: one server process, a review with BENCH_SECTIONS sections (500, the upload cap),
 * no worker. Times `analysis:start` of every section and `analysis:cancel` of all of them (every
 * job still waiting) as the person's ack sees them, BENCH_RUNS times, and prints the median and the
 * worst.
 *
 *   npx tsx server/bench/jobs.ts            (BENCH_SECTIONS=500 BENCH_RUNS=5 to change)
 */
import { randomBytes } from 'node:crypto';
import { deleteKeys } from '@prism/store';
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { session, uploadReview } from './doc.ts';
import { REDIS_URL, startPrism } from './spawn.ts';

const SECTIONS = Number(process.env.BENCH_SECTIONS ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PREFIX = `bench:jobs:${randomBytes(3).toString('hex')}:`;

const document = (): Promise<Buffer> =>
  Packer.toBuffer(
    new Document({
      sections: [
        {
          children: Array.from({ length: SECTIONS }, (_, i) => [
            new Paragraph({ text: `Part ${i + 1}`, heading: HeadingLevel.HEADING_1 }),
            new Paragraph(`Paragraph ${i + 1} says what part ${i + 1} found.`),
          ]).flat(),
        },
      ],
    }),
  );

/** Milliseconds from emit to ack; throws on an error ack. */
async function timed(socket: Socket, event: string, payload: unknown): Promise<number> {
  const started = performance.now();
  const ack = await socket.timeout(120_000).emitWithAck(event, payload);
  if (!ack.ok) throw new Error(`${event}: ${JSON.stringify(ack.error)}`);
  return performance.now() - started;
}

const summary = (name: string, ms: number[]): string => {
  const sorted = [...ms].sort((a, b) => a - b);
  return `${name} median ${Math.round(sorted[Math.floor(sorted.length / 2)]!)} ms, worst ${Math.round(sorted.at(-1)!)} ms`;
};

const server = await startPrism({ prefix: PREFIX, name: 'bench-jobs', source: true });
const redis = new Redis(REDIS_URL);
try {
  const token = await session(server.url, 'Bench');
  const reviewId = await uploadReview(server.url, token, await document());
  const socket = io(server.url, { auth: { token }, transports: ['websocket'], forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  await socket.emitWithAck('review:join', { reviewId });
  const starts: number[] = [];
  const cancels: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    starts.push(await timed(socket, 'analysis:start', { reviewId }));
    cancels.push(await timed(socket, 'analysis:cancel', { reviewId }));
  }
  socket.disconnect();
  console.log(
    `jobs, ${SECTIONS} sections, ${RUNS} runs: ${summary('analysis:start', starts)}; ${summary('analysis:cancel', cancels)}`,
  );
} finally {
  server.proc.kill('SIGTERM');
  await deleteKeys(redis, PREFIX);
  redis.disconnect();
}
