import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupKeys, REDIS_URL, uniquePrefix } from '../../test/helpers.ts';
import { EventLog } from './event-log.ts';
import { ReviewStore } from './reviews.ts';

describe('ReviewStore.access', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  it("reads a review revised by another process afresh, in the access check's own round trip", async () => {
    const prefix = uniquePrefix('access');
    cleanupKeys(prefix);
    const log = new EventLog(redis, { prefix });
    const here = new ReviewStore(redis, log);
    const reviewId = 'r_revised';
    const keys = log.keys(reviewId);
    const meta = { id: reviewId, title: 'First', sections: [{ id: 's1', title: 'A', level: 1, index: 0 }] };
    await redis.set(keys.meta, JSON.stringify(meta));
    expect((await here.access(reviewId, 'u_1', false)).meta?.title).toBe('First');
    expect(here.cachedMeta(reviewId)?.title).toBe('First');
    // Another server writes revision 2 (a new meta with it, as a revision's append does).
    await redis.set(keys.meta, JSON.stringify({ ...meta, title: 'Second', revision: 2 }));
    await redis.set(keys.revision, '2');
    const again = await here.access(reviewId, 'u_1', false);
    expect(again.meta?.title).toBe('Second');
    expect(here.cachedMeta(reviewId)?.revision).toBe(2);
    // Unrevised since: the cache answers (and a deleted review is no longer found).
    expect((await here.access(reviewId, 'u_1', false)).meta?.title).toBe('Second');
    await redis.del(keys.meta);
    expect((await here.access(reviewId, 'u_1', false)).meta).toBeUndefined();
  });
});
