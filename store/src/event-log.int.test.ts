import type { NewReviewEvent, ReviewEvent } from '@prism/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupKeys, REDIS_URL, uniquePrefix, waitFor } from '../../test/helpers.ts';
import { EventLog } from './event-log.ts';

const actor = { id: 'u_1', name: 'Olga' };
const statusEvent = (reviewId: string, sectionId: string): NewReviewEvent => ({
  reviewId,
  type: 'section.status',
  at: new Date().toISOString(),
  actor,
  data: { sectionId, status: 'queued' },
});

describe('EventLog.appendMany', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  const subscriber = new Redis(REDIS_URL);
  subscriber.on('error', () => {});
  afterAll(() => {
    redis.disconnect();
    subscriber.disconnect();
  });

  it('appends across several script batches in order, gap-free, skipping only the events whose guard fails', async () => {
    const prefix = uniquePrefix('appendmany');
    cleanupKeys(prefix);
    const log = new EventLog(redis, { prefix });
    const reviewId = 'r_many';
    const keys = log.keys(reviewId);
    await redis.set(keys.meta, JSON.stringify({ id: reviewId }));
    const published: ReviewEvent[] = [];
    subscriber.on('message', (_channel, raw: string) => published.push(JSON.parse(raw) as ReviewEvent));
    await subscriber.subscribe(keys.channel);
    await log.append(statusEvent(reviewId, 'before'));
    // Sections whose index is a multiple of 7 were taken by someone else meanwhile.
    const ids = Array.from({ length: 250 }, (_, i) => `s${i}`);
    await redis.hset(keys.jobs, ...ids.filter((_, i) => i % 7 === 0).flatMap((id) => [`job:${id}`, 'other']));

    const results = await log.appendMany(
      ids.map((id) => ({
        event: statusEvent(reviewId, id),
        options: {
          guards: [{ kind: 'hget', key: 'jobs', field: `job:${id}`, expected: '' }],
          writes: [
            { op: 'hset', key: 'jobs', field: `job:${id}`, value: 'mine' },
            { op: 'hincrby', key: 'usage', field: 'queued', by: 1 },
          ],
        },
      })),
    );

    const kept = ids.filter((_, i) => i % 7 !== 0);
    expect(results.filter((r) => r.ok).map((r) => (r.ok ? r.seq : 0))).toEqual(kept.map((_, n) => n + 2));
    results.forEach((result, i) => {
      if (i % 7 === 0) expect(result).toEqual({ ok: false, guard: 1, current: 'other' });
    });
    const events = await log.all(reviewId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: kept.length + 1 }, (_, n) => n + 1));
    expect(events.slice(1).map((e) => (e.type === 'section.status' ? e.data.sectionId : ''))).toEqual(kept);
    expect(await redis.hget(keys.usage, 'queued')).toBe(String(kept.length));
    expect(await redis.hget(keys.jobs, 'job:s7')).toBe('other');
    expect(await redis.hget(keys.jobs, 'job:s8')).toBe('mine');
    await log.append(statusEvent(reviewId, 'after'));
    expect(await log.seq(reviewId)).toBe(kept.length + 2);
    // Subscribers hear every appended event, in seq order.
    await waitFor(() => published.length >= kept.length + 2, 5000, 'every event published');
    expect(published.map((e) => e.seq)).toEqual(Array.from({ length: kept.length + 2 }, (_, n) => n + 1));
  });
});

describe('EventLog history', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  it('keeps every event of a review with more events than a stream used to hold: since(0) is whole and gap-free', async () => {
    const prefix = uniquePrefix('history');
    cleanupKeys(prefix);
    const log = new EventLog(redis, { prefix });
    const reviewId = 'r_long';
    await redis.set(log.keys(reviewId).meta, JSON.stringify({ id: reviewId }));
    // More than the 10,000 the stream was once capped at.
    const count = 10_250;
    const results = await log.appendMany(
      Array.from({ length: count }, (_, i) => ({ event: statusEvent(reviewId, `s${i}`) })),
    );
    expect(results.every((result) => result.ok)).toBe(true);
    const events = await log.since(reviewId, 0);
    expect(events?.length).toBe(count);
    expect(events?.every((event, i) => event.seq === i + 1)).toBe(true);
    expect((await log.since(reviewId, 5_000))?.[0]?.seq).toBe(5_001);
  });
});

describe('EventLog.page', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  it('reads a slow reader its next events a page at a time, and says when the stream no longer reaches back', async () => {
    const prefix = uniquePrefix('page');
    cleanupKeys(prefix);
    const reviewId = 'r_page';
    const whole = new EventLog(redis, { prefix });
    await redis.set(whole.keys(reviewId).meta, JSON.stringify({ id: reviewId }));
    await whole.appendMany(Array.from({ length: 25 }, (_, i) => ({ event: statusEvent(reviewId, `s${i}`) })));
    expect((await whole.page(reviewId, 0, 10))?.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await whole.page(reviewId, 20, 10))?.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
    expect(await whole.page(reviewId, 25, 10)).toEqual([]);

    // A stream trimmed past the reader's place: undefined, not the later events as if none were missed.
    await redis.xtrim(whole.keys(reviewId).log, 'MAXLEN', 5);
    expect(await whole.page(reviewId, 3, 10)).toBeUndefined();
    expect((await whole.page(reviewId, 20, 10))?.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
  });
});

describe('EventLog guards on who and what state', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  it('appends only while the member holds one of the roles and the review is not in the status named', async () => {
    const prefix = uniquePrefix('guard-access');
    cleanupKeys(prefix);
    const log = new EventLog(redis, { prefix });
    const reviewId = 'r_access';
    const keys = log.keys(reviewId);
    await redis.set(keys.meta, JSON.stringify({ id: reviewId }));
    await redis.hset(keys.members, 'u_rev', JSON.stringify({ user: actor, role: 'reviewer' }));
    await redis.hset(keys.members, 'u_view', JSON.stringify({ user: actor, role: 'viewer' }));
    const writers = ['owner', 'reviewer'];
    const append = (userId: string) =>
      log.append(statusEvent(reviewId, userId), {
        guards: [
          { kind: 'role', key: 'members', field: userId, roles: writers },
          { kind: 'status', key: 'lifecycle', not: 'submitted' },
        ],
      });

    expect(await append('u_rev')).toEqual({ ok: true, seq: 1 });
    // A viewer, a stranger: the first guard fails, with what the member record holds.
    expect(await append('u_view')).toMatchObject({
      ok: false,
      guard: 1,
      current: expect.stringContaining('viewer'),
    });
    expect(await append('u_none')).toEqual({ ok: false, guard: 1, current: '' });
    // An open review's status record lets the append through; a submitted one does not.
    await redis.set(keys.lifecycle, JSON.stringify({ status: 'open' }));
    expect(await append('u_rev')).toEqual({ ok: true, seq: 2 });
    await redis.set(keys.lifecycle, JSON.stringify({ status: 'submitted', by: actor, at: '' }));
    expect(await append('u_rev')).toMatchObject({ ok: false, guard: 2 });
    // A member record that is not JSON never passes for a role.
    await redis.hset(keys.members, 'u_bad', 'reviewer');
    await redis.del(keys.lifecycle);
    expect(await append('u_bad')).toEqual({ ok: false, guard: 1, current: 'reviewer' });
    expect((await log.all(reviewId)).map((e) => e.seq)).toEqual([1, 2]);
  });
});
