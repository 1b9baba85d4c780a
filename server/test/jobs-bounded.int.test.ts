/**
 * `analysis:start` and `analysis:cancel` on a review with 500 sections cost a handful of Redis
 * round trips, not several per section. The server (a real process) reaches the real Redis
 * through a proxy that delays every packet by 25 ms each way, like a Redis a network away: each
 * round trip then shows as a burst of packets after a silence, which the proxy counts, and the
 * time a person waits for the ack follows from it. Before the batching, a start did five round
 * trips per section (2,500 here, over two minutes behind this proxy).
 */
import { createConnection, createServer, type Socket } from 'node:net';
import type { ReviewEvent } from '@prism/core';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  onCleanup,
  REDIS_URL,
  ReviewFeed,
  session,
  spawnServer,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';

const SECTIONS = 500;
const DELAY_MS = 25;
/** Round trips a start or a cancel may take, whatever the number of sections (a few spare for presence). */
const MAX_ROUND_TRIPS = 20;

/**
 * A TCP proxy to Redis that delays every chunk by `delayMs` in each direction (order kept: timers
 * of one duration fire in the order they were set) and counts round trips: a chunk from a client
 * that arrives at least `delayMs` after that client's previous one began a new round trip, since
 * a command that waits for a reply cannot follow its predecessor sooner than twice the delay.
 */
async function startLatencyProxy(target: URL, delayMs: number) {
  let roundTrips = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    let last = Number.NEGATIVE_INFINITY;
    client.on('data', (chunk) => {
      const now = performance.now();
      if (now - last >= delayMs) roundTrips += 1;
      last = now;
      setTimeout(() => upstream.write(chunk), delayMs);
    });
    upstream.on('data', (chunk) => setTimeout(() => client.write(chunk), delayMs));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return { url: `redis://127.0.0.1:${port}`, roundTrips: () => roundTrips, close };
}

const statusEvents = (events: ReviewEvent[], status: string) =>
  events.filter(
    (e): e is Extract<ReviewEvent, { type: 'section.status' }> =>
      e.type === 'section.status' && e.data.status === status,
  );

/** Runs `action` and says how long it took and how many round trips the proxy saw meanwhile. */
async function measured<T>(
  proxy: { roundTrips(): number },
  action: () => Promise<T>,
): Promise<{ value: T; ms: number; roundTrips: number }> {
  const before = proxy.roundTrips();
  const started = performance.now();
  const value = await action();
  return { value, ms: performance.now() - started, roundTrips: proxy.roundTrips() - before };
}

describe('analysis of a 500-section review', () => {
  const figures: string[] = [];
  afterAll(() => {
    if (figures.length > 0)
      console.log(`jobs-bounded (${DELAY_MS} ms each way to Redis): ${figures.join('; ')}`);
  });

  it('start queues every section in a few round trips, once each; cancel removes every waiting job the same way', async () => {
    const prefix = uniquePrefix('jobsbounded');
    cleanupKeys(prefix);
    const proxy = await startLatencyProxy(new URL(REDIS_URL), DELAY_MS);
    onCleanup(() => proxy.close());
    // No worker: every job stays waiting, which is what a cancel must be able to clear.
    const server = await spawnServer(prefix, 'jobs-1', { REDIS_URL: proxy.url });
    const owner = await session(server.url, 'Olga');
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx(
        Array.from({ length: SECTIONS }, (_, i) => ({
          title: `Part ${i + 1}`,
          paragraphs: [`Paragraph ${i + 1} says what part ${i + 1} found.`],
        })),
      ),
    );
    expect(review.sections).toHaveLength(SECTIONS);
    const sectionIds = review.sections.map((s) => s.id);
    const socket = await connect(server.url, owner.token);
    const feed = new ReviewFeed(socket, review.id);
    const joinedSeq = (await feed.join()).seq as number;
    const queue = new Queue('analysis', { connection: { url: REDIS_URL }, prefix: `${prefix}bull` });
    onCleanup(() => queue.close());
    const waiting = async (): Promise<number> => {
      const counts = await queue.getJobCounts('wait', 'delayed', 'prioritized');
      return (counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0);
    };

    const start = await measured(proxy, () =>
      call(socket, 'analysis:start', { reviewId: review.id }, 60_000),
    );
    expect(start.value.ok).toBe(true);
    const jobs = start.value.jobs as { sectionId: string; jobId: string }[];
    expect(jobs.map((j) => j.sectionId)).toEqual(sectionIds);
    expect(new Set(jobs.map((j) => j.jobId)).size).toBe(SECTIONS);
    expect(start.roundTrips).toBeLessThanOrEqual(MAX_ROUND_TRIPS);
    figures.push(`start ${Math.round(start.ms)} ms, ${start.roundTrips} round trips`);

    await waitFor(
      () => statusEvents(feed.events, 'queued').length >= SECTIONS,
      20_000,
      'every section queued',
    );
    expect(await waiting()).toBe(SECTIONS);
    // A second start finds every section queued: the same jobs, nothing new in the log.
    const again = await call(socket, 'analysis:start', { reviewId: review.id }, 60_000);
    expect(again.jobs).toEqual(jobs);
    expect(await waiting()).toBe(SECTIONS);

    const cancel = await measured(proxy, () =>
      call(socket, 'analysis:cancel', { reviewId: review.id }, 60_000),
    );
    expect(cancel.value.ok).toBe(true);
    expect(cancel.roundTrips).toBeLessThanOrEqual(MAX_ROUND_TRIPS);
    figures.push(`cancel ${Math.round(cancel.ms)} ms, ${cancel.roundTrips} round trips`);
    expect(await waiting()).toBe(0);
    await waitFor(
      () => statusEvents(feed.events, 'cancelled').length >= SECTIONS,
      20_000,
      'every section cancelled',
    );

    // Exactly one `queued` and one `cancelled` per section, in a gap-free log: nothing else.
    const queued = statusEvents(feed.events, 'queued').map((e) => e.data.sectionId);
    const cancelled = statusEvents(feed.events, 'cancelled').map((e) => e.data.sectionId);
    expect(queued).toEqual(sectionIds);
    expect(cancelled).toEqual(sectionIds);
    expect(feed.events).toHaveLength(2 * SECTIONS);
    expect(feed.seqs()).toEqual(Array.from({ length: 2 * SECTIONS }, (_, i) => joinedSeq + i + 1));
    expect(feed.gapsSeen).toBe(0);
    const snapshot = (await call(socket, 'review:join', { reviewId: review.id })).snapshot;
    expect(snapshot.seq).toBe(joinedSeq + 2 * SECTIONS);
    expect(new Set(snapshot.sections.map((s: { status: string }) => s.status))).toEqual(
      new Set(['cancelled']),
    );
  }, 180_000);
});
