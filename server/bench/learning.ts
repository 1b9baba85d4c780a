/**
 * What learning from decisions does to the findings list (CONTRACT 7.4): a scripted history is
 * replayed on the real Redis (reviews through the review store, items and decisions through the
 * event log as the room appends them, records in the library store) in which the team rejects
 * "Passive voice" findings 9 times in 10 and decides on six other categories at their own rates.
 * The team's preferences are then read as an analysis start reads them (InsightsService over the
 * library index and the insights store), and the next review's pending findings are ranked as the
 * worker ranks them (worker/src/ai/rank.ts).
 *
 * Before: no history, every item ranks the same and the room lists them by section, then as the
 * model made them. After: by rank first, as the room's "Team priority" does. Over SHUFFLES orders of the model's output, it prints how
 * far the Passive voice items drop (mean position, mean rank) and how many of them reach the top 10.
 *
 *   npm run bench:learning     (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import {
  type FeedbackItem,
  type FeedbackType,
  NO_PREFERENCES,
  PRISM_ACTOR,
  type TeamPreferences,
} from '@prism/core';
import { deleteKeys, EventLog, LibraryStore, ReviewStore } from '@prism/store';
import { Redis } from 'ioredis';
import { withRank } from '../../worker/src/ai/rank.ts';
import { benchInsights, createWorkspaceReview } from './workspace.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench-learning:${randomBytes(3).toString('hex')}:`;
const WORKSPACE = 'w_bench';
const HISTORY_REVIEWS = 10;
const SHUFFLES = 200;
const TOP = 10;
const TARGET = 'Passive voice';

/** The categories of the scripted history: type, the checkpoint cited, accepted decisions in 10. */
const KINDS: {
  category: string;
  type: FeedbackType;
  ref: number;
  acceptedIn10: number;
  perReview: number;
}[] = [
  { category: TARGET, type: 'suggestion', ref: 9, acceptedIn10: 1, perReview: 4 },
  { category: 'Missing owner', type: 'important', ref: 7, acceptedIn10: 9, perReview: 2 },
  { category: 'Evidence', type: 'critical', ref: 3, acceptedIn10: 8, perReview: 2 },
  { category: 'Timeline', type: 'important', ref: 6, acceptedIn10: 7, perReview: 2 },
  { category: 'Undefined acronym', type: 'suggestion', ref: 9, acceptedIn10: 6, perReview: 2 },
  { category: 'Wordiness', type: 'suggestion', ref: 9, acceptedIn10: 5, perReview: 2 },
  { category: 'Readability', type: 'suggestion', ref: 9, acceptedIn10: 4, perReview: 2 },
];

const redis = new Redis(REDIS_URL, { lazyConnect: false });
const log = new EventLog(redis, { prefix: PREFIX });
const reviews = new ReviewStore(redis, log);
const library = new LibraryStore(redis, PREFIX);
const stores = { redis, log, reviews, library, prefix: PREFIX };
const owner = { id: 'u_bench', name: 'Bench' };
const sections = Array.from({ length: 6 }, (_, i) => ({
  id: `s${i}`,
  title: `Section ${i}`,
  level: 1,
  index: i,
}));

function finding(id: string, kind: (typeof KINDS)[number], n: number): FeedbackItem {
  return {
    id,
    sectionId: `s${n % sections.length}`,
    type: kind.type,
    category: kind.category,
    description: `${kind.category} finding ${n}`,
    questions: [],
    refs: [kind.ref],
    risk: 'low',
    confidence: 0.9,
    source: 'ai',
    status: 'pending',
    createdBy: PRISM_ACTOR,
    createdAt: new Date(Date.UTC(2026, 10, 2)).toISOString(),
    version: 1,
  };
}

/** The history: each review's findings added, then decided (a `feedback.updated` each), as in the room. */
async function replayHistory(): Promise<{
  decisions: number;
  target: { accepted: number; rejected: number };
}> {
  let decisions = 0;
  const target = { accepted: 0, rejected: 0 };
  const counters = new Map<string, number>();
  for (let r = 0; r < HISTORY_REVIEWS; r += 1) {
    const id = `r_hist${r}`;
    const createdAt = new Date(Date.UTC(2026, 10, 1 + r)).toISOString();
    await createWorkspaceReview(stores, {
      id,
      title: `Review ${r}`,
      createdAt,
      owner,
      workspaceId: WORKSPACE,
      sections,
    });
    const items = KINDS.flatMap((kind) =>
      Array.from({ length: kind.perReview }, (_, k) =>
        finding(`f_${r}_${kind.ref}_${kind.category.length}_${k}`, kind, k),
      ),
    );
    await log.appendMany(
      items.map((item) => ({
        event: { reviewId: id, type: 'feedback.added', at: createdAt, actor: PRISM_ACTOR, data: { item } },
        options: { writes: [{ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(item) }] },
      })) as never,
    );
    // The k-th decision on a category (counted across reviews) is an acceptance when k mod 10 < acceptedIn10.
    const decided = items.map((item) => {
      const kind = KINDS.find((k) => k.category === item.category)!;
      const k = counters.get(kind.category) ?? 0;
      counters.set(kind.category, k + 1);
      const status = k % 10 < kind.acceptedIn10 ? ('accepted' as const) : ('rejected' as const);
      if (kind.category === TARGET) target[status] += 1;
      return { ...item, status, decidedBy: owner, decidedAt: createdAt, version: 2 };
    });
    await log.appendMany(
      decided.map((item) => ({
        event: { reviewId: id, type: 'feedback.updated', at: createdAt, actor: owner, data: { item } },
        options: { writes: [{ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(item) }] },
      })) as never,
    );
    decisions += decided.length;
    await library.record({
      id,
      title: `Review ${r}`,
      owner,
      workspaceId: WORKSPACE,
      createdAt,
      sections,
      text: '',
    });
  }
  return { decisions, target };
}

/** A deterministic shuffle (mulberry32): the model's order of its findings, one per seed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const sectionIndex = (sectionId: string): number => sections.findIndex((s) => s.id === sectionId);

interface Figures {
  meanPosition: number;
  inTop: number;
  meanRank: number;
  othersMeanRank: number;
  collapsed: number;
}

/**
 * The list of all sections as the room orders it by the team's priority (web/src/lib/review/
 * room.svelte.ts): rank, then section, then the order the items were made in.
 */
function measure(order: FeedbackItem[], preferences: TeamPreferences): Figures {
  const ranked = order
    .map((item, made) => ({ item: withRank(item, preferences, undefined), made }))
    .sort(
      (a, b) =>
        b.item.rank - a.item.rank ||
        sectionIndex(a.item.sectionId) - sectionIndex(b.item.sectionId) ||
        a.made - b.made,
    )
    .map(({ item }) => item);
  const target = ranked.flatMap((item, i) => (item.category === TARGET ? [{ item, position: i + 1 }] : []));
  const others = ranked.filter((item) => item.category !== TARGET);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    meanPosition: mean(target.map((t) => t.position)),
    inTop: target.filter((t) => t.position <= TOP).length,
    meanRank: mean(target.map((t) => t.item.rank)),
    othersMeanRank: mean(others.map((item) => item.rank)),
    collapsed: ranked.filter((item) => item.collapsed).length,
  };
}

const average = (runs: Figures[], key: keyof Figures): number =>
  runs.reduce((sum, run) => sum + run[key], 0) / runs.length;

async function main(): Promise<void> {
  const started = performance.now();
  const history = await replayHistory();
  const insights = benchInsights(stores);
  const preferences = await insights.preferences(WORKSPACE);
  const replayMs = performance.now() - started;

  // The next review: three times a history review's findings (48, 12 of them Passive voice), all pending.
  const next = KINDS.flatMap((kind) =>
    Array.from({ length: kind.perReview * 3 }, (_, k) => finding(`f_next_${kind.category}_${k}`, kind, k)),
  );
  const before: Figures[] = [];
  const after: Figures[] = [];
  for (let seed = 1; seed <= SHUFFLES; seed += 1) {
    const order = shuffled(next, seed);
    before.push(measure(order, NO_PREFERENCES));
    after.push(measure(order, preferences));
  }
  const targetCount = next.filter((item) => item.category === TARGET).length;

  console.log(
    `history: ${HISTORY_REVIEWS} reviews, ${history.decisions} decisions replayed and read in ${(replayMs / 1000).toFixed(1)} s; "${TARGET}" rejected ${history.target.rejected} of ${history.target.accepted + history.target.rejected}`,
  );
  console.log(
    `next review: ${next.length} pending findings, ${targetCount} of them "${TARGET}"; ${SHUFFLES} orders of the model's output`,
  );
  console.log('');
  const row = (label: string, a: string, b: string) =>
    console.log(`${label.padEnd(36)}${a.padStart(10)}${b.padStart(10)}`);
  row('', 'before', 'after');
  row(
    `"${TARGET}" mean position (1 = top)`,
    average(before, 'meanPosition').toFixed(1),
    average(after, 'meanPosition').toFixed(1),
  );
  row(
    `"${TARGET}" items in the top ${TOP}`,
    average(before, 'inTop').toFixed(2),
    average(after, 'inTop').toFixed(2),
  );
  row(`"${TARGET}" mean rank`, average(before, 'meanRank').toFixed(3), average(after, 'meanRank').toFixed(3));
  row(
    'other items mean rank',
    average(before, 'othersMeanRank').toFixed(3),
    average(after, 'othersMeanRank').toFixed(3),
  );
  row('collapsed', average(before, 'collapsed').toFixed(0), average(after, 'collapsed').toFixed(0));
  console.log('');
  console.log('the prompt statement:');
  console.log(preferences.statement);
  const drop = average(after, 'meanPosition') - average(before, 'meanPosition');
  console.log('');
  console.log(
    `learning: "${TARGET}" drops ${drop.toFixed(1)} places on average; ${(average(before, 'inTop') - average(after, 'inTop')).toFixed(2)} fewer in the top ${TOP} (${average(before, 'inTop').toFixed(2)} -> ${average(after, 'inTop').toFixed(2)})`,
  );
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
