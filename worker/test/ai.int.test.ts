/**
 * The AI path end to end through real parts: servers and a BullMQ worker on a real Redis, the
 * real Bedrock SDK talking ConverseStream to the local stand-in. What a reviewer notices: findings
 * arrive one by one in the same order on every instance; answers stream to everyone; a model
 * that cannot answer is replaced by the next before the first token, never after; failures say why.
 */
import type { ChatMessage, ReviewEvent } from '@prism/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  ReviewFeed,
  recordEvents,
  session,
  startServer,
  startWorker,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';
import { standInProvider } from './stand-in-provider.ts';

const FIRST = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const SECOND = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
const OLD = 'eu.anthropic.claude-3-5-sonnet-20240620-v1:0';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 400, firstTokenMs: 20 });
});
afterAll(async () => {
  await standIn.close();
});

const provider = (models: string[], inactivityTimeoutMs = 5000) =>
  standInProvider(standIn, { models, inactivityTimeoutMs });

const REPORT = [
  {
    title: 'Summary',
    paragraphs: [
      'The payment service was unavailable for four hours on 3 March.',
      'Customers could not complete checkout during that time.',
    ],
  },
  {
    title: 'Root cause',
    paragraphs: ['A configuration change disabled the connection pool.', 'It was probably tested somewhere.'],
  },
  {
    title: 'Actions',
    paragraphs: ['We will improve monitoring soon.', 'The team will review the change process.'],
  },
];

async function room(
  name: string,
  models: string[] = [FIRST, SECOND],
  options: { inactivityMs?: number; env?: Record<string, string> } = {},
) {
  const prefix = uniquePrefix(name);
  cleanupKeys(prefix);
  const a = await startServer(prefix, { env: options.env });
  const b = await startServer(prefix, { env: options.env });
  await startWorker(prefix, provider(models, options.inactivityMs), options.env);
  const owner = await session(a.url, 'Olga');
  const review = await createReview(a.url, owner.token, await makeDocx(REPORT));
  const socketA = await connect(a.url, owner.token);
  const socketB = await connect(b.url, owner.token);
  const seenA = recordEvents(socketA);
  const seenB = recordEvents(socketB);
  const feedA = new ReviewFeed(socketA, review.id);
  const feedB = new ReviewFeed(socketB, review.id);
  await feedA.join();
  await feedB.join();
  return { prefix, a, b, owner, review, socketA, socketB, seenA, seenB, feedA, feedB };
}

/** Like `waitFor`, for a check that must ask Redis (re-checked every 20 ms until the timeout). */
async function waitForAsync<T>(check: () => Promise<T | false>, timeoutMs: number, what: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ofType = <T extends ReviewEvent['type']>(events: ReviewEvent[], type: T) =>
  events.filter((e): e is Extract<ReviewEvent, { type: T }> => e.type === type);

const sectionStatus = (feed: ReviewFeed, sectionId: string) =>
  ofType(feed.events, 'section.status')
    .filter((e) => e.data.sectionId === sectionId)
    .at(-1)?.data;

describe('analysis on Bedrock', () => {
  it('streams findings one by one, in the same order on two instances, each with the model that wrote it', async () => {
    standIn.reset();
    standIn.config.tokensPerSecond = 150;
    const r = await room('stream');
    const sectionId = r.review.sections[0]!.id;
    const ack = await call(r.socketA, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId] });
    expect(ack.ok).toBe(true);
    expect(ack.jobs).toEqual([{ sectionId, jobId: expect.any(String) }]);

    await waitFor(() => sectionStatus(r.feedB, sectionId)?.status === 'done', 30_000, 'section done');
    await waitFor(() => r.feedA.seq === r.feedB.seq, 5000, 'both clients level');
    const added = ofType(r.feedA.events, 'feedback.added');
    expect(added.length).toBe(3);
    expect(r.feedB.events).toEqual(r.feedA.events);
    const statuses = ofType(r.feedA.events, 'section.status').map((e) => e.data.status);
    expect(statuses).toEqual(['queued', 'analyzing', 'done']);

    // One by one: the first finding reached the room well before the last one was written.
    const arrivals = r.seenB.filter((s) => s.event.type === 'feedback.added').map((s) => s.at);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(100);
    // A section's text is its heading and its paragraphs.
    const section = [REPORT[0]!.title, ...REPORT[0]!.paragraphs];
    for (const { data } of added) {
      expect(data.item).toMatchObject({
        source: 'ai',
        model: FIRST,
        status: 'pending',
        sectionId,
        version: 1,
      });
      expect(section.some((line) => line.includes(data.item.quote!))).toBe(true);
    }
    const done = sectionStatus(r.feedA, sectionId)!;
    expect(done.model).toBe(FIRST);
    expect(done.usage!.outputTokens).toBeGreaterThan(0);
  });

  it('sends the same system prefix with a cachePoint to every section, the whole-document pass, the checklist and chat, and reads the cache after the first', async () => {
    standIn.reset();
    const r = await room('cache');
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id });
    await waitFor(
      () => r.review.sections.every((s) => sectionStatus(r.feedA, s.id)?.status === 'done'),
      30_000,
      'all sections done',
    );
    const chat = await call(r.socketA, 'chat:send', { reviewId: r.review.id, text: 'What was the impact?' });
    await waitFor(() => ofType(r.feedA.events, 'chat.done').length === 1, 20_000, 'chat done');
    expect(chat.ok).toBe(true);

    // The whole-document pass follows the last section: the same prefix again.
    await waitFor(() => standIn.requestsOf('consistency').length === 1, 20_000, 'whole-document pass');
    // So does the checklist (CONTRACT 7.4): one call, its verdicts in the room.
    await waitFor(() => ofType(r.feedA.events, 'checklist.updated').length === 12, 20_000, 'the checklist');
    expect(standIn.requestsOf('checklist')).toHaveLength(1);
    const requests = standIn.requests.filter((q) => q.modelId === FIRST);
    expect(requests).toHaveLength(6);
    const systems = requests.map((q) => JSON.stringify(q.body.system));
    expect(new Set(systems).size).toBe(1);
    expect(requests[0]!.body.system!.at(-1)).toEqual({ cachePoint: { type: 'default' } });
    // What differs per call (the section, the question) comes after the cache point.
    const tasks = requests.map((q) => JSON.stringify(q.body.messages));
    expect(new Set(tasks).size).toBe(6);
    const usage = ofType(r.feedA.events, 'section.status')
      .filter((e) => e.data.status === 'done')
      .map((e) => e.data.usage!);
    expect(usage.filter((u) => (u.cacheWriteTokens ?? 0) > 0)).toHaveLength(1);
    expect(usage.filter((u) => (u.cacheReadTokens ?? 0) > 0)).toHaveLength(2);
    // The snapshot's stats add it all up, per model.
    // The pass has no event of its own: its usage is in the next snapshot.
    const snapshot = await waitForAsync(
      async () => {
        const joined = (await call(r.socketB, 'review:join', { reviewId: r.review.id })).snapshot;
        return joined.stats.usage.models[FIRST] === 6 && joined;
      },
      10_000,
      'usage of six calls',
    );
    expect(snapshot.stats.usage.outputTokens).toBeGreaterThan(0);
  });

  it('falls back past a throttled and an unknown model before the first token', async () => {
    standIn.reset();
    standIn.config.models[FIRST] = 'throttle';
    standIn.config.models[SECOND] = 'unknown';
    const r = await room('fallback', [FIRST, SECOND, OLD]);
    const sectionId = r.review.sections[1]!.id;
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId] });
    await waitFor(() => sectionStatus(r.feedA, sectionId)?.status === 'done', 20_000, 'done');
    expect(sectionStatus(r.feedA, sectionId)!.model).toBe(OLD);
    for (const { data } of ofType(r.feedA.events, 'feedback.added')) expect(data.item.model).toBe(OLD);
    expect(standIn.callCount(FIRST)).toBe(1);
    expect(standIn.callCount(SECOND)).toBe(1);
    // Claude 3.5 Sonnet takes no cachePoint: it was called without one.
    const old = standIn.requests.find((q) => q.modelId === OLD)!;
    expect(JSON.stringify(old.body.system)).not.toContain('cachePoint');
  });

  it('does not fall back for a malformed request or expired credentials: the section fails and says why', async () => {
    for (const [behaviour, code] of [
      ['malformed', 'model_request_invalid'],
      ['expired-credentials', 'model_access_denied'],
    ] as const) {
      standIn.reset();
      standIn.config.models[FIRST] = behaviour;
      const r = await room(`nofallback-${behaviour}`);
      const sectionId = r.review.sections[0]!.id;
      await call(r.socketA, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId] });
      await waitFor(
        () => sectionStatus(r.feedB, sectionId)?.status === 'failed',
        20_000,
        `${behaviour} to fail`,
      );
      expect(sectionStatus(r.feedB, sectionId)!.error).toMatchObject({ code, message: expect.any(String) });
      expect(standIn.callCount(SECOND)).toBe(0);
      expect(ofType(r.feedB.events, 'feedback.added')).toHaveLength(0);
    }
  });

  it('keeps complete findings when the answer hits max_tokens, and says the section was cut short', async () => {
    standIn.reset();
    standIn.config.stopReason = 'max_tokens';
    standIn.config.findingsPerSection = 4;
    const r = await room('maxtokens');
    const sectionId = r.review.sections[0]!.id;
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId] });
    await waitFor(() => sectionStatus(r.feedA, sectionId)?.status === 'done', 20_000, 'done');
    const done = sectionStatus(r.feedA, sectionId)!;
    expect(done.error?.code).toBe('truncated');
    const kept = ofType(r.feedA.events, 'feedback.added').length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(4);
  });

  it('drops quotes that are not in the section, hides low-confidence findings and merges duplicates', async () => {
    standIn.reset();
    // Five findings, the last with low confidence, the second quoting text the section lacks,
    // and a near-copy of the first: four reach the room, one of them without its quote.
    Object.assign(standIn.config, {
      findingsPerSection: 5,
      invalidQuote: true,
      duplicateFinding: true,
      lowConfidenceFindings: 1,
    });
    const r = await room('filter');
    const sectionId = r.review.sections[0]!.id;
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId] });
    await waitFor(() => sectionStatus(r.feedA, sectionId)?.status === 'done', 20_000, 'done');
    const items = ofType(r.feedA.events, 'feedback.added').map((e) => e.data.item);
    expect(items.length).toBe(4);
    expect(items.every((item) => item.confidence >= 0.8)).toBe(true);
    const text = [REPORT[0]!.title, ...REPORT[0]!.paragraphs];
    expect(
      items.every((item) => item.quote === undefined || text.some((line) => line.includes(item.quote!))),
    ).toBe(true);
    expect(items.some((item) => item.quote === undefined)).toBe(true);
  });

  it('streams reasoning with thinking on, and calls a model without thinking support without it', async () => {
    standIn.reset();
    standIn.config.models[FIRST] = { behaviour: 'ok', noThinking: true };
    const r = await room('thinking', [FIRST]);
    const sectionId = r.review.sections[0]!.id;
    await call(r.socketA, 'analysis:start', {
      reviewId: r.review.id,
      sectionIds: [sectionId],
      thinking: true,
    });
    await waitFor(() => sectionStatus(r.feedA, sectionId)?.status === 'done', 20_000, 'done');
    // First refused for thinking, then called again without it.
    const bodies = standIn.requests.map((q) => q.body);
    expect(bodies[0]!.additionalModelRequestFields).toMatchObject({ thinking: { type: 'enabled' } });
    expect(bodies.at(-1)!.additionalModelRequestFields).toBeUndefined();

    standIn.reset();
    const t = await room('thinking-ok', [FIRST]);
    await call(t.socketA, 'analysis:start', {
      reviewId: t.review.id,
      sectionIds: [sectionId],
      thinking: true,
    });
    await waitFor(() => sectionStatus(t.feedA, sectionId)?.status === 'done', 20_000, 'done');
    const thinking = standIn.requests[0]!.body;
    const budget = (thinking.additionalModelRequestFields as { thinking: { budget_tokens: number } }).thinking
      .budget_tokens;
    expect(budget).toBeGreaterThanOrEqual(1024);
    expect(thinking.inferenceConfig!.maxTokens!).toBeGreaterThan(budget);
    expect(thinking.inferenceConfig!.temperature).toBeUndefined();
    const reasoning = ofType(t.feedA.events, 'analysis.delta');
    expect(reasoning.length).toBeGreaterThan(0);
    expect(reasoning.map((e) => e.data.index)).toEqual(reasoning.map((_, i) => i));
  });

  it('re-analysis replaces pending AI items and keeps decided ones, user items and other sections', async () => {
    standIn.reset();
    const r = await room('reanalyze');
    const sectionId = r.review.sections[0]!.id;
    const otherId = r.review.sections[1]!.id;
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId, otherId] });
    await waitFor(
      () => [sectionId, otherId].every((id) => sectionStatus(r.feedA, id)?.status === 'done'),
      20_000,
      'first run',
    );
    const added = ofType(r.feedA.events, 'feedback.added').map((e) => e.data.item);
    const first = added.filter((i) => i.sectionId === sectionId);
    const other = added.filter((i) => i.sectionId === otherId);
    expect(other.length).toBeGreaterThan(0);
    const accepted = await call(r.socketA, 'feedback:decide', {
      reviewId: r.review.id,
      feedbackId: first[0]!.id,
      status: 'accepted',
      version: 1,
    });
    expect(accepted.ok).toBe(true);
    const comment = await call(r.socketA, 'feedback:add', {
      reviewId: r.review.id,
      sectionId,
      type: 'important',
      category: 'Evidence',
      description: 'Say how the four hours were measured.',
    });
    expect(comment.ok).toBe(true);
    // A user's item starts accepted; set back to pending, it is still not re-analysis's to replace.
    const reopened = await call(r.socketA, 'feedback:decide', {
      reviewId: r.review.id,
      feedbackId: comment.item.id,
      status: 'pending',
      version: 1,
    });
    expect(reopened.ok).toBe(true);
    const mark = r.feedA.seq;
    await call(r.socketB, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId] });
    await waitFor(
      () =>
        r.feedA.events.some((e) => e.seq > mark && e.type === 'section.status' && e.data.status === 'done'),
      20_000,
      'second run',
    );
    const snapshot = (await call(r.socketA, 'review:join', { reviewId: r.review.id })).snapshot;
    const items = snapshot.feedback.filter((i: { sectionId: string }) => i.sectionId === sectionId);
    expect(
      items
        .filter((i: { status: string; source: string }) => i.status === 'accepted' && i.source !== 'user')
        .map((i: { id: string }) => i.id),
    ).toEqual([first[0]!.id]);
    // Three new pending findings plus the user's comment, which re-analysis never touches.
    expect(
      items.filter((i: { status: string; source: string }) => i.status === 'pending' && i.source !== 'user'),
    ).toHaveLength(3);
    expect(items.filter((i: { source: string }) => i.source === 'user')).toEqual([
      expect.objectContaining({ id: comment.item.id, status: 'pending' }),
    ]);
    // The other section's pending findings stay as they were.
    const kept = snapshot.feedback.filter((i: { sectionId: string }) => i.sectionId === otherId);
    expect(kept.map((i: { id: string }) => i.id).sort()).toEqual(other.map((i) => i.id).sort());
    const deleted = ofType(r.feedA.events, 'feedback.deleted').map((e) => e.data.item.id);
    expect(deleted.sort()).toEqual([first[1]!.id, first[2]!.id].sort());
  });

  it('cancels a running analysis wherever it runs', async () => {
    standIn.reset();
    standIn.config.tokensPerSecond = 20;
    const r = await room('cancel');
    const sectionId = r.review.sections[0]!.id;
    await call(r.socketA, 'analysis:start', { reviewId: r.review.id, sectionIds: [sectionId] });
    await waitFor(() => sectionStatus(r.feedA, sectionId)?.status === 'analyzing', 10_000, 'analyzing');
    const ack = await call(r.socketB, 'analysis:cancel', { reviewId: r.review.id, sectionIds: [sectionId] });
    expect(ack.ok).toBe(true);
    await waitFor(() => sectionStatus(r.feedA, sectionId)?.status === 'cancelled', 10_000, 'cancelled');
    await waitFor(() => standIn.inFlight() === 0, 5000, 'the model call to be aborted');
  });
});

describe('chat on Bedrock', () => {
  it('streams a reply to everyone; deltas concatenate to chat.done on every client; a joiner mid-reply gets it all', async () => {
    standIn.reset();
    Object.assign(standIn.config, { tokensPerSecond: 60, chatTokens: 120 });
    const r = await room('chat');
    const ack = await call(r.socketA, 'chat:send', {
      reviewId: r.review.id,
      text: 'What was the root cause?',
    });
    expect(ack).toMatchObject({ ok: true, messageId: expect.any(String), replyId: expect.any(String) });

    // A third person joins on B once the reply has begun.
    await waitFor(() => ofType(r.feedB.events, 'chat.delta').length >= 2, 10_000, 'the reply to begin');
    const late = await connect(r.b.url, r.owner.token);
    const lateFeed = new ReviewFeed(late, r.review.id);
    const snapshot = await lateFeed.join();
    const partial = snapshot.chat.find((m: ChatMessage) => m.id === ack.replyId) as ChatMessage;
    expect(partial.status).toBe('streaming');
    expect(partial.text.length).toBeGreaterThan(0);
    expect(partial.lastIndex).toBeGreaterThanOrEqual(1);

    await waitFor(() => ofType(lateFeed.events, 'chat.done').length === 1, 20_000, 'reply done');
    await waitFor(() => ofType(r.feedA.events, 'chat.done').length === 1, 5000, 'reply done on A');
    for (const feed of [r.feedA, r.feedB]) {
      const deltas = ofType(feed.events, 'chat.delta');
      expect(deltas.map((d) => d.data.index)).toEqual(deltas.map((_, i) => i));
      const done = ofType(feed.events, 'chat.done')[0]!.data;
      expect(deltas.map((d) => d.data.text).join('')).toBe(done.text);
      expect(done).toMatchObject({ messageId: ack.replyId, model: FIRST, citations: ['s1'] });
    }
    const done = ofType(lateFeed.events, 'chat.done')[0]!.data;
    const rest = ofType(lateFeed.events, 'chat.delta').filter((d) => d.data.index > partial.lastIndex!);
    expect(partial.text + rest.map((d) => d.data.text).join('')).toBe(done.text);
    // Coalesced: far fewer Redis appends than tokens.
    expect(ofType(r.feedA.events, 'chat.delta').length).toBeLessThan(60);
  });

  it('fails visibly after the first token, keeping what was written; a stall times out', async () => {
    standIn.reset();
    standIn.config.midStreamError = { afterDeltas: 5, type: 'internalServerException' };
    const r = await room('midstream');
    const ack = await call(r.socketA, 'chat:send', { reviewId: r.review.id, text: 'Summarise the actions.' });
    await waitFor(() => ofType(r.feedB.events, 'chat.failed').length === 1, 20_000, 'failure');
    const failed = ofType(r.feedB.events, 'chat.failed')[0]!.data;
    expect(failed).toMatchObject({ messageId: ack.replyId, error: { code: 'model_stream_failed' } });
    expect(standIn.callCount(SECOND)).toBe(0);
    const kept = (await call(r.socketB, 'review:join', { reviewId: r.review.id })).snapshot.chat.find(
      (m: ChatMessage) => m.id === ack.replyId,
    );
    expect(kept.status).toBe('failed');
    expect(kept.text).toBe(
      ofType(r.feedB.events, 'chat.delta')
        .map((d) => d.data.text)
        .join(''),
    );

    standIn.reset();
    standIn.config.stallAfterDeltas = 3;
    const s = await room('stall', [FIRST, SECOND], { inactivityMs: 600 });
    await call(s.socketA, 'chat:send', { reviewId: s.review.id, text: 'Who owns the actions?' });
    await waitFor(() => ofType(s.feedA.events, 'chat.failed').length === 1, 20_000, 'stall to time out');
    expect(ofType(s.feedA.events, 'chat.failed')[0]!.data.error.code).toBe('model_stream_failed');
  });

  it('cancels a reply in progress', async () => {
    standIn.reset();
    Object.assign(standIn.config, { tokensPerSecond: 20, chatTokens: 400 });
    const r = await room('chatcancel');
    const ack = await call(r.socketA, 'chat:send', { reviewId: r.review.id, text: 'Explain everything.' });
    await waitFor(() => ofType(r.feedA.events, 'chat.delta').length >= 1, 10_000, 'the reply to begin');
    expect((await call(r.socketB, 'chat:cancel', { reviewId: r.review.id, messageId: ack.replyId })).ok).toBe(
      true,
    );
    await waitFor(() => ofType(r.feedA.events, 'chat.failed').length === 1, 10_000, 'cancelled');
    expect(ofType(r.feedA.events, 'chat.failed')[0]!.data.error.code).toBe('cancelled');
  });

  it('refuses analysis and chat once the review has spent its token budget', async () => {
    standIn.reset();
    const r = await room('budget', [FIRST], { env: { REVIEW_TOKEN_BUDGET: '500' } });
    await call(r.socketA, 'analysis:start', {
      reviewId: r.review.id,
      sectionIds: [r.review.sections[0]!.id],
    });
    await waitFor(() => sectionStatus(r.feedA, r.review.sections[0]!.id)?.status === 'done', 20_000, 'done');
    const again = await call(r.socketA, 'analysis:start', { reviewId: r.review.id });
    expect(again).toMatchObject({ ok: false, error: { code: 'budget_exhausted' } });
    const chat = await call(r.socketA, 'chat:send', { reviewId: r.review.id, text: 'One more?' });
    expect(chat).toMatchObject({ ok: false, error: { code: 'budget_exhausted' } });
  });
});
