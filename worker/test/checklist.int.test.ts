/**
 * The checklist through real parts: servers and a BullMQ worker on a real Redis, the Bedrock SDK
 * talking to the local ConverseStream stand-in (or the rules provider). What a reviewer notices:
 * once the last section is analysed, each checkpoint gets one verdict, live on every instance,
 * its evidence word for word from the document; a retried job adds nothing; a re-analysis
 * refreshes the verdicts but keeps a person's override.
 */
import { type ChecklistEntry, DEFAULT_REVIEW_RUBRIC, type ReviewEvent } from '@prism/core';
import { queuePrefix } from '@prism/store';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  REDIS_URL,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';
import type { AiProvider } from '../src/ai/provider.ts';
import { RulesProvider } from '../src/ai/rules.ts';
import { standInProvider } from './stand-in-provider.ts';

const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 2000, firstTokenMs: 5 });
});
afterAll(async () => {
  await standIn.close();
});

const REPORT = [
  {
    title: 'Summary',
    paragraphs: [
      'The payment service was unavailable for four hours on 3 March.',
      'Customers could not complete checkout during that time.',
    ],
  },
  { title: 'Root cause', paragraphs: ['A configuration change disabled the connection pool.'] },
  { title: 'Actions', paragraphs: ['We will improve monitoring soon.', 'The budget owner is TBD.'] },
];
const LINES = REPORT.flatMap((s) => [s.title, ...s.paragraphs]);

const checklistEvents = (feed: ReviewFeed) =>
  feed.events.filter(
    (e): e is Extract<ReviewEvent, { type: 'checklist.updated' }> => e.type === 'checklist.updated',
  );

async function room(name: string, provider: AiProvider) {
  const prefix = uniquePrefix(name);
  cleanupKeys(prefix);
  const a = await startServer(prefix);
  const b = await startServer(prefix);
  await startWorker(prefix, provider);
  const owner = await session(a.url, 'Olga');
  const review = await createReview(a.url, owner.token, await makeDocx(REPORT));
  const socketA = await connect(a.url, owner.token);
  const socketB = await connect(b.url, owner.token);
  const feedA = new ReviewFeed(socketA, review.id);
  const feedB = new ReviewFeed(socketB, review.id);
  await feedA.join();
  await feedB.join();
  return { prefix, review, socketA, socketB, feedA, feedB };
}

const bedrock = () => standInProvider(standIn, { models: [MODEL] });

const sectionsDone = (feed: ReviewFeed, count: number) =>
  new Set(
    feed.events
      .filter((e) => e.type === 'section.status' && e.data.status === 'done')
      .map((e) => (e as Extract<ReviewEvent, { type: 'section.status' }>).data.sectionId),
  ).size === count;

describe('the checklist on Bedrock', () => {
  it('one call after the last section: a verdict per checkpoint, live on both instances, evidence verbatim', async () => {
    standIn.reset();
    standIn.config.invalidQuote = true;
    const r = await room('checklist-ai', bedrock());
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id });
    await waitFor(() => checklistEvents(r.feedB).length === 12, 30_000, 'twelve verdicts');
    await waitFor(() => r.feedA.seq === r.feedB.seq, 5000, 'both clients level');
    expect(sectionsDone(r.feedA, 3)).toBe(true);

    // After the last section is done, never before.
    const lastDone = r.feedA.events.findLast((e) => e.type === 'section.status' && e.data.status === 'done')!;
    const verdicts = checklistEvents(r.feedA);
    expect(verdicts.every((e) => e.seq > lastDone.seq)).toBe(true);
    expect(verdicts.map((e) => e.data.n)).toEqual(DEFAULT_REVIEW_RUBRIC.checkpoints.map((c) => c.n));
    expect(checklistEvents(r.feedB)).toEqual(verdicts);
    expect(standIn.requestsOf('checklist')).toHaveLength(1);
    // Over the same cached prefix as the sections.
    const checklistRequest = standIn.requestsOf('checklist')[0]!.body;
    const sectionRequest = standIn.requestsOf('analysis')[0]!.body;
    expect(checklistRequest.system).toEqual(sectionRequest.system);

    for (const { data } of verdicts) {
      expect(data).toMatchObject({ source: 'ai', model: MODEL, round: expect.any(String) });
      for (const evidence of data.evidence) {
        expect(LINES.some((line) => line.includes(evidence.quote))).toBe(true);
      }
    }
    expect(verdicts.map((e) => e.data.verdict).slice(0, 5)).toEqual([
      'pass',
      'fail',
      'partial',
      'pass',
      'na',
    ]);
    // The stand-in's invented quote on checkpoint 1 is dropped; its real one kept.
    expect(verdicts[0]!.data.evidence).toHaveLength(1);

    const snapshot = (await call(r.socketB, 'review:join', { reviewId: r.review.id })).snapshot;
    expect(snapshot.rubric).toEqual(DEFAULT_REVIEW_RUBRIC);
    expect((snapshot.checklist as ChecklistEntry[]).map((e) => e.verdict)).toEqual(
      verdicts.map((e) => e.data.verdict),
    );
  });

  it('a retried checklist job of the same round writes nothing twice', async () => {
    standIn.reset();
    const r = await room('checklist-retry', bedrock());
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id });
    await waitFor(() => checklistEvents(r.feedA).length === 12, 30_000, 'twelve verdicts');
    const round = checklistEvents(r.feedA)[0]!.data.round!;

    // The same round again, as a retry or a duplicate delivery would run it.
    const connection = { url: REDIS_URL };
    const prefix = queuePrefix(r.prefix, false);
    const queue = new Queue('analysis', { connection, prefix });
    const events = new QueueEvents('analysis', { connection, prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add(
        'analysis.checklist',
        { reviewId: r.review.id, round },
        { jobId: `retry-${round}` },
      );
      const result = await job.waitUntilFinished(events, 30_000);
      expect(result).toMatchObject({ written: 0, kept: DEFAULT_REVIEW_RUBRIC.checkpoints.map((c) => c.n) });
    } finally {
      await Promise.all([queue.close(), events.close()]);
    }
    // The model was asked again, but the room got no second verdict.
    expect(standIn.requestsOf('checklist')).toHaveLength(2);
    const seq = r.feedA.seq;
    await call(r.socketA, 'presence:update', { reviewId: r.review.id, typing: false });
    expect(r.feedA.seq).toBe(seq);
    expect(checklistEvents(r.feedA)).toHaveLength(12);
  });
});

describe('the checklist with the rules provider', () => {
  it('deterministic verdicts once, the rest labelled; a re-analysis refreshes them but keeps an override', async () => {
    const r = await room('checklist-rules', new RulesProvider());
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id });
    await waitFor(() => checklistEvents(r.feedB).length === 12, 30_000, 'twelve verdicts');
    // The verdicts below are read from A's feed: wait for it too (B may be ahead of it).
    await waitFor(() => checklistEvents(r.feedA).length === 12, 5000, 'twelve verdicts on A');
    const first = checklistEvents(r.feedA).map((e) => e.data);
    const byN = new Map(first.map((e) => [e.n, e]));
    expect(first.every((e) => e.source === 'rules')).toBe(true);
    expect(byN.get(7)).toMatchObject({
      verdict: 'fail',
      evidence: [{ quote: 'We will improve monitoring soon.' }],
    });
    expect(byN.get(11)).toMatchObject({ verdict: 'fail', evidence: [{ quote: 'TBD' }] });
    expect(byN.get(3)).toMatchObject({ verdict: 'na', needsModel: true });
    expect(byN.get(3)!.explanation).toMatch(/^Needs a model/);

    const override = await call(r.socketA, 'checklist:override', {
      reviewId: r.review.id,
      n: 7,
      verdict: 'pass',
      comment: 'The owners are in the linked tracker.',
    });
    expect(override.ok).toBe(true);
    await waitFor(() => checklistEvents(r.feedB).length === 13, 5000, 'the override on the other instance');

    // Analyse one section again: a new round refreshes the verdicts, not the override.
    await call(r.socketA, 'analysis:start', {
      reviewId: r.review.id,
      sectionIds: [r.review.sections[0]!.id],
    });
    await waitFor(() => checklistEvents(r.feedA).length === 13 + 11, 30_000, 'the refreshed verdicts');
    const refreshed = checklistEvents(r.feedA)
      .slice(13)
      .map((e) => e.data);
    expect(refreshed.map((e) => e.n)).not.toContain(7);
    expect(new Set(refreshed.map((e) => e.round)).size).toBe(1);
    expect(refreshed[0]!.round).not.toBe(first[0]!.round);
    const snapshot = (await call(r.socketB, 'review:join', { reviewId: r.review.id })).snapshot;
    const seven = (snapshot.checklist as ChecklistEntry[]).find((e) => e.n === 7);
    expect(seven).toMatchObject({ verdict: 'pass', source: 'user', by: { name: 'Olga' } });
    expect(r.feedA.duplicatesSeen + r.feedA.gapsSeen).toBe(0);
  });
});
