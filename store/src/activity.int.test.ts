/**
 * The review's progress and last activity, kept by the append itself (event-log.ts) and read by
 * the library (activity.ts): every kind of item write moves the counts exactly as a count of the
 * items would, in one script call or a batch, and a review without the counts is counted once.
 */
import { type FeedbackItem, type NewReviewEvent, progressOf } from '@prism/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupKeys, REDIS_URL, uniquePrefix } from '../../test/helpers.ts';
import { ActivityStore } from './activity.ts';
import { EventLog, type Write } from './event-log.ts';

const actor = { id: 'u_1', name: 'Olga' };
const item = (id: string, status: FeedbackItem['status']): string =>
  JSON.stringify({ id, sectionId: 's1', status, version: 1 });
const event = (reviewId: string, at: string, type: NewReviewEvent['type'] = 'feedback.updated') =>
  ({ reviewId, type, at, actor, data: {} }) as NewReviewEvent;

describe('review activity', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  it('moves with every item write as a count of the items would, and only forward in time', async () => {
    const prefix = uniquePrefix('activity');
    cleanupKeys(prefix);
    const log = new EventLog(redis, { prefix });
    const activity = new ActivityStore(redis, prefix);
    const reviewId = 'r_counts';
    const keys = log.keys(reviewId);
    await redis.set(keys.meta, JSON.stringify({ id: reviewId }));
    await redis.hset(keys.activity, 'decided', 0, 'total', 0, 'updatedAt', '2026-12-01T09:00:00.000Z');
    // A count of the items, as the library made it before: what does not parse counts as pending.
    const parsed = (raw: string): Pick<FeedbackItem, 'status'> => {
      try {
        return JSON.parse(raw) as FeedbackItem;
      } catch {
        return { status: 'pending' };
      }
    };
    const counted = async () => progressOf(Object.values(await redis.hgetall(keys.feedback)).map(parsed));
    const write = async (at: string, ...writes: Write[]) => {
      expect((await log.append(event(reviewId, at), { writes })).ok).toBe(true);
      expect((await activity.read(reviewId))?.progress).toEqual(await counted());
    };
    const hset = (id: string, status: FeedbackItem['status']): Write => ({
      op: 'hset',
      key: 'feedback',
      field: id,
      value: item(id, status),
    });
    await write('2026-12-01T10:00:00.000Z', hset('a', 'pending'), hset('b', 'accepted'));
    await write('2026-12-01T10:01:00.000Z', hset('a', 'rejected'));
    await write('2026-12-01T10:02:00.000Z', hset('a', 'rejected'));
    await write('2026-12-01T10:03:00.000Z', hset('b', 'pending'));
    await write('2026-12-01T10:04:00.000Z', { op: 'hdel', key: 'feedback', field: 'a' });
    await write('2026-12-01T10:05:00.000Z', { op: 'hdel', key: 'feedback', field: 'nothing' });
    // A value that is not an item's JSON counts as pending, as a count of the items did.
    await write('2026-12-01T10:06:00.000Z', { op: 'hset', key: 'feedback', field: 'odd', value: 'x' });
    expect(await activity.read(reviewId)).toEqual({
      progress: { decided: 0, total: 2 },
      updatedAt: '2026-12-01T10:06:00.000Z',
    });
    // An event from a process whose clock is behind does not move the last activity back;
    // a join is not activity.
    await write('2026-12-01T08:00:00.000Z', hset('c', 'accepted'));
    await log.append(event(reviewId, '2026-12-02T00:00:00.000Z', 'member.joined'));
    expect(await activity.read(reviewId)).toEqual({
      progress: { decided: 1, total: 3 },
      updatedAt: '2026-12-01T10:06:00.000Z',
    });
    // A batch, and a write that drops every item.
    const results = await log.appendMany([
      { event: event(reviewId, '2026-12-01T11:00:00.000Z'), options: { writes: [hset('d', 'pending')] } },
      { event: event(reviewId, '2026-12-01T11:01:00.000Z'), options: { writes: [hset('d', 'accepted')] } },
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect((await activity.read(reviewId))?.progress).toEqual({ decided: 2, total: 4 });
    await write('2026-12-01T11:02:00.000Z', { op: 'del', key: 'feedback' });
    expect((await activity.read(reviewId))?.progress).toEqual({ decided: 0, total: 0 });
  });

  it('counts a review without the hash once, and writes nothing for a review that left Redis', async () => {
    const prefix = uniquePrefix('activity');
    cleanupKeys(prefix);
    const log = new EventLog(redis, { prefix });
    const activity = new ActivityStore(redis, prefix);
    const keys = log.keys('r_old');
    await redis.set(keys.meta, JSON.stringify({ id: 'r_old' }));
    // Stored before reviews kept the counts: appends leave the counts alone.
    await log.append(event('r_old', '2026-12-01T10:00:00.000Z'), {
      writes: [
        { op: 'hset', key: 'feedback', field: 'a', value: item('a', 'accepted') },
        { op: 'hset', key: 'feedback', field: 'b', value: item('b', 'pending') },
      ],
    });
    expect(await redis.exists(keys.activity)).toBe(0);
    const many = await activity.readMany(['r_old', 'r_gone']);
    expect(many.get('r_old')).toEqual({
      progress: { decided: 1, total: 2 },
      updatedAt: '2026-12-01T10:00:00.000Z',
    });
    expect(many.has('r_gone')).toBe(false);
    expect(await redis.exists(log.keys('r_gone').activity)).toBe(0);
    // From now on the appends keep it.
    await log.append(event('r_old', '2026-12-01T10:01:00.000Z'), {
      writes: [{ op: 'hset', key: 'feedback', field: 'b', value: item('b', 'accepted') }],
    });
    expect(await activity.read('r_old')).toEqual({
      progress: { decided: 2, total: 2 },
      updatedAt: '2026-12-01T10:01:00.000Z',
    });
  });
});
