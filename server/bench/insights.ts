/**
 * The workspace insights for a workspace of 1,000 reviews of 40 items each (half decided), on the
 * real Redis: reviews created through the review store, items appended through the event log as
 * the room appends them (`feedback.added`), records in the library store. Then the insights as a
 * server computes them (InsightsService over the library index and the insights store):
 *
 *   cold      the first request of a fresh service (every review read), 5 fresh services
 *   unchanged the ETag check alone (the stamps of every review): what a polling page costs
 *   warm      the full figures with nothing changed (stamps, then sums over cached summaries)
 *   deciding  the full figures with one review decided on before each request (one review re-read)
 *
 * Prints p50 / p95 / max in ms.
 *
 *   npx tsx server/bench/insights.ts      (BENCH_REVIEWS, BENCH_ITEMS to change the size)
 */
import { randomBytes } from 'node:crypto';
import { type FeedbackItem, PRISM_ACTOR } from '@prism/core';
import { deleteKeys, EventLog, LibraryStore, ReviewStore } from '@prism/store';
import { Redis } from 'ioredis';
import type { InsightsService } from '../src/domain/insights.ts';
import { benchInsights, createWorkspaceReview } from './workspace.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench-insights:${randomBytes(3).toString('hex')}:`;
const REVIEWS = Number(process.env.BENCH_REVIEWS ?? 1000);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 40);
const RUNS = 50;
const CATEGORIES = [
  'Evidence',
  'Clarity',
  'Passive voice',
  'Undefined acronym',
  'Wordiness',
  'Actions',
  'Risks',
];
const TYPES = ['critical', 'important', 'suggestion', 'positive'] as const;
const WORKSPACE = 'w_bench';

const redis = new Redis(REDIS_URL, { lazyConnect: false });
const log = new EventLog(redis, { prefix: PREFIX });
const reviews = new ReviewStore(redis, log);
const library = new LibraryStore(redis, PREFIX);
const stores = { redis, log, reviews, library, prefix: PREFIX };
const owner = { id: 'u_bench', name: 'Bench' };

function item(review: number, n: number): FeedbackItem {
  const decided = n % 2 === 0;
  return {
    id: `f_${review}_${n}`,
    sectionId: `s${n % 8}`,
    type: TYPES[n % TYPES.length]!,
    category: CATEGORIES[(review + n) % CATEGORIES.length]!,
    description: `Finding ${n} of review ${review}`,
    questions: [],
    refs: [1 + ((review * 7 + n) % 12)],
    risk: 'low',
    confidence: 0.8,
    source: n % 3 === 0 ? 'rules' : 'ai',
    status: decided ? (n % 4 === 0 ? 'accepted' : 'rejected') : 'pending',
    ...(decided
      ? { decidedBy: owner, decidedAt: new Date(Date.UTC(2026, 10, 1 + (n % 30))).toISOString() }
      : {}),
    createdBy: PRISM_ACTOR,
    createdAt: new Date(Date.UTC(2026, 10, 1 + (review % 30))).toISOString(),
    version: decided ? 2 : 1,
  };
}

async function seed(): Promise<string[]> {
  const ids: string[] = [];
  const sections = Array.from({ length: 8 }, (_, i) => ({
    id: `s${i}`,
    title: `Section ${i}`,
    level: 1,
    index: i,
  }));
  for (let start = 0; start < REVIEWS; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, REVIEWS - start) }, async (_, k) => {
        const r = start + k;
        const id = `r_bench${r}`;
        ids.push(id);
        const createdAt = new Date(Date.UTC(2026, 10, 1 + (r % 30))).toISOString();
        await createWorkspaceReview(stores, {
          id,
          title: `Review ${r}`,
          createdAt,
          owner,
          workspaceId: WORKSPACE,
          sections,
        });
        await log.appendMany(
          Array.from({ length: ITEMS }, (_, n) => {
            const it = item(r, n);
            return {
              event: {
                reviewId: id,
                type: 'feedback.added',
                at: it.createdAt,
                actor: PRISM_ACTOR,
                data: { item: it },
              },
              options: { writes: [{ op: 'hset', key: 'feedback', field: it.id, value: JSON.stringify(it) }] },
            };
          }) as never,
        );
      }),
    );
  }
  return ids;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const line = (label: string, times: number[]): void =>
  console.log(
    `${label.padEnd(10)} p50 ${percentile(times, 50).toFixed(1).padStart(7)} ms  p95 ${percentile(times, 95).toFixed(1).padStart(7)} ms  max ${Math.max(
      ...times,
    )
      .toFixed(1)
      .padStart(7)} ms  (${times.length} runs)`,
  );

const service = (): InsightsService => benchInsights(stores);

async function full(insights: InsightsService): Promise<number> {
  return (await insights.figures(WORKSPACE, await insights.version(WORKSPACE))).acceptance.length;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main(): Promise<void> {
  const seeded = performance.now();
  const ids = await seed();
  console.log(
    `${REVIEWS} reviews x ${ITEMS} items seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
  );
  const cold: number[] = [];
  for (let i = 0; i < 5; i += 1) cold.push(await timed(() => full(service())));
  line('cold', cold);
  const insights = service();
  await full(insights);
  const unchanged: number[] = [];
  for (let i = 0; i < RUNS; i += 1) unchanged.push(await timed(() => insights.version(WORKSPACE)));
  line('unchanged', unchanged);
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i += 1) warm.push(await timed(() => full(insights)));
  line('warm', warm);
  const deciding: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const id = ids[(i * 37) % ids.length]!;
    const stored = await reviews.item(id, `f_${ids.indexOf(id)}_1`);
    const next = { ...stored!.item, status: 'accepted' as const, version: stored!.item.version + 1 };
    await log.append(
      {
        reviewId: id,
        type: 'feedback.updated',
        at: new Date().toISOString(),
        actor: owner,
        data: { item: next },
      },
      { writes: [{ op: 'hset', key: 'feedback', field: next.id, value: JSON.stringify(next) }] },
    );
    deciding.push(await timed(() => full(insights)));
  }
  line('deciding', deciding);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await deleteKeys(redis, PREFIX);
    redis.disconnect();
  });
