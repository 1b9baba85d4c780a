/**
 * The library's progress through two real servers on one Redis: it is kept by the review's own
 * appends (store/src/activity.ts), so after every kind of change to the items (people's items,
 * decisions back and forth, a delete, a worker's findings, a revision that outdates one and drops
 * a pending finding, a re-analysis replacing one) the list shows, straight after the change and
 * through the other server, exactly a count of the items; a review from before the counts is
 * counted once and kept from then on.
 */
import { type FeedbackItem, progressOf, type ReviewSummary } from '@prism/core';
import { reviewKeys } from '@prism/store';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  type Person,
  REDIS_URL,
  session,
  startServer,
  type TestServer,
  uniquePrefix,
} from '../../test/helpers.ts';

const prefix = uniquePrefix('library-progress');

async function list(server: TestServer, person: Person): Promise<ReviewSummary[]> {
  const res = await api(server.url, person.token, '/api/reviews');
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { reviews: ReviewSummary[] }).reviews;
}

describe('library progress', () => {
  cleanupKeys(prefix);
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    a = await startServer(prefix, { instance: 'progress-a' });
    b = await startServer(prefix, { instance: 'progress-b' });
  });

  it('keeps progress equal to a count of the items through every kind of change, and counts an older review once', async () => {
    const pia = await session(a.url, 'Pia');
    const review = await createReview(
      a.url,
      pia.token,
      await makeDocx([
        { title: 'Plan', paragraphs: ['The pelican budget is final.', 'Staff stays the same.'] },
        { title: 'Costs', paragraphs: ['Costs fall in June.'] },
      ]),
    );
    const [plan, costs] = review.sections.map((section) => section.id) as [string, string];
    const socket = await connect(b.url, pia.token);
    const store = a.app.service.store;
    // After each change: listed at once through the other server, equal to a count of the items.
    const check = async (what: string): Promise<void> => {
      const counted = progressOf((await store.feedbackItems(review.id)).map(({ item }) => item));
      const listed = (await list(a, pia)).find((summary) => summary.id === review.id);
      expect(listed?.progress, what).toEqual(counted);
    };
    const add = async (sectionId: string, description: string, quote?: string): Promise<FeedbackItem> => {
      const ack = await call(socket, 'feedback:add', {
        reviewId: review.id,
        sectionId,
        type: 'suggestion',
        category: 'Clarity',
        description,
        ...(quote ? { quote } : {}),
      });
      expect(ack.ok, JSON.stringify(ack.error)).toBe(true);
      return ack.item as FeedbackItem;
    };
    const decide = async (item: FeedbackItem, status: FeedbackItem['status']): Promise<FeedbackItem> => {
      const current = (await store.item(review.id, item.id))!.item;
      const ack = await call(socket, 'feedback:decide', {
        reviewId: review.id,
        feedbackId: item.id,
        status,
        version: current.version,
      });
      expect(ack.ok, JSON.stringify(ack.error)).toBe(true);
      return ack.item as FeedbackItem;
    };
    /** A pending finding appended the way a worker's analysis writes it. */
    const finding = async (id: string, sectionId: string): Promise<void> => {
      const item = {
        id,
        sectionId,
        type: 'important',
        category: 'Evidence',
        description: `Finding ${id}.`,
        questions: [],
        refs: [],
        risk: 'medium',
        confidence: 0.9,
        source: 'ai',
        model: 'stand-in',
        status: 'pending',
        createdBy: { id: 'prism', name: 'Prism' },
        createdAt: new Date().toISOString(),
        version: 1,
        replies: [],
        resolved: false,
      } as FeedbackItem;
      const appended = await store.log.append(
        {
          reviewId: review.id,
          type: 'feedback.added',
          at: item.createdAt,
          actor: item.createdBy,
          data: { item },
        },
        {
          guards: [{ kind: 'hget', key: 'feedback', field: id, expected: '' }],
          writes: [{ op: 'hset', key: 'feedback', field: id, value: JSON.stringify(item) }],
        },
      );
      expect(appended.ok).toBe(true);
    };

    await check('a new review');
    // People's own items start accepted.
    const quoted = await add(plan, 'Which budget?', 'The pelican budget is final.');
    const second = await add(plan, 'Name the staff.');
    const third = await add(costs, 'Which June?');
    await check('three added');
    await decide(second, 'pending');
    await check('back to pending');
    await decide(second, 'rejected');
    await decide(second, 'rejected');
    await check('rejected, and the same decision again');
    await finding('f_plan_ai', plan);
    await finding('f_costs_ai', costs);
    await finding('f_costs_kept', costs);
    await check('three findings');
    await decide({ id: 'f_costs_kept' } as FeedbackItem, 'accepted');
    await check('a finding accepted');
    await decide(second, 'accepted');
    await check('a rejection turned into an acceptance');
    const deleted = (await store.item(review.id, third.id))!.item;
    const ack = await call(socket, 'feedback:delete', {
      reviewId: review.id,
      feedbackId: third.id,
      version: deleted.version,
    });
    expect(ack.ok, JSON.stringify(ack.error)).toBe(true);
    await check('a decided one deleted');

    // A revision that drops the quoted sentence: that item is outdated (and still counted as
    // decided), the pending finding of the changed section goes; the other section is unchanged.
    const form = new FormData();
    form.set(
      'file',
      new Blob([
        await makeDocx([
          { title: 'Plan', paragraphs: ['The heron budget is open.', 'Staff stays the same.'] },
          { title: 'Costs', paragraphs: ['Costs fall in June.'] },
        ]),
      ]),
      'plan-v2.docx',
    );
    const revised = await fetch(`${b.url}/api/reviews/${review.id}/revisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pia.token}` },
      body: form,
    });
    expect(revised.status, await revised.clone().text()).toBe(201);
    const items = (await store.feedbackItems(review.id)).map(({ item }) => item);
    expect(items.find((item) => item.id === quoted.id)).toMatchObject({ outdated: true, status: 'accepted' });
    expect(items.some((item) => item.id === 'f_plan_ai')).toBe(false);
    await check('a revision that outdated one and removed a pending finding');

    // Re-analysis of a section replaces its pending findings: the old one removed, a new one added.
    const old = (await store.item(review.id, 'f_costs_ai'))!;
    const removed = await store.log.append(
      {
        reviewId: review.id,
        type: 'feedback.deleted',
        at: new Date().toISOString(),
        actor: { id: 'prism', name: 'Prism' },
        data: { item: old.item },
      },
      {
        guards: [{ kind: 'hget', key: 'feedback', field: old.item.id, expected: old.raw }],
        writes: [{ op: 'hdel', key: 'feedback', field: old.item.id }],
      },
    );
    expect(removed.ok).toBe(true);
    await finding('f_costs_ai2', costs);
    await check('a re-analysis replaced a pending finding');
    expect((await list(a, pia)).find((summary) => summary.id === review.id)?.progress).toEqual({
      decided: 3,
      total: 4,
    });

    // A review stored before reviews kept their counts has no `activity` hash: the first list
    // counts its items once and keeps the hash, which the next changes move.
    const keys = reviewKeys(prefix, review.id);
    await redis.del(keys.activity);
    await check('an older review, counted once');
    expect(await redis.hmget(keys.activity, 'decided', 'total')).toEqual(['3', '4']);
    await decide(second, 'pending');
    await check('a decision after the count');
    expect(await redis.hmget(keys.activity, 'decided', 'total')).toEqual(['2', '4']);
    socket.disconnect();
  });
});
