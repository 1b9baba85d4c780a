/**
 * Rate limits leave room for real use and scripts (CONTRACT section 4: at least 20 events/s per
 * connection with bursts of 100) and refuse a flood with `rate_limited` without disconnecting; a
 * person's events are counted across servers too.
 */
import { describe, expect, it } from 'vitest';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  session,
  startServer,
  testRedis,
  uniquePrefix,
} from '../../test/helpers.ts';
import { PERSON_PER_WINDOW, PersonEvents } from '../src/infra/rate-limit.ts';

describe('rate limits', () => {
  it('answers a burst of 100 in full, refuses a flood beyond it, and keeps the socket', async () => {
    const prefix = uniquePrefix('ratelimit');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const owner = await session(server.url, 'Owner');
    const review = await createReview(server.url, owner.token);
    const socket = await connect(server.url, owner.token);
    await call(socket, 'review:join', { reviewId: review.id });

    const presence = () =>
      call(socket, 'presence:update', { reviewId: review.id, sectionId: review.sections[0]!.id });
    const burst = await Promise.all(Array.from({ length: 100 }, presence));
    expect(burst.filter((ack) => ack.ok)).toHaveLength(100);

    const flood = await Promise.all(Array.from({ length: 200 }, presence));
    const refused = flood.filter((ack) => !ack.ok);
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((ack) => ack.error.code))).toEqual(new Set(['rate_limited']));
    expect(socket.connected).toBe(true);
  });

  it('sustains 20 events/s on one connection without refusals', async () => {
    const prefix = uniquePrefix('ratesustain');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const owner = await session(server.url, 'Owner');
    const review = await createReview(server.url, owner.token);
    const socket = await connect(server.url, owner.token);
    await call(socket, 'review:join', { reviewId: review.id });
    // 3 s at 20/s after a burst of 100 has spent the burst allowance: the sustained floor must hold.
    await Promise.all(
      Array.from({ length: 100 }, () => call(socket, 'presence:update', { reviewId: review.id })),
    );
    const answers: boolean[] = [];
    const started = Date.now();
    for (let i = 0; i < 60; i += 1) {
      const ack = await call(socket, 'presence:update', { reviewId: review.id, typing: i % 2 === 0 });
      answers.push(ack.ok);
      const next = started + (i + 1) * 50;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
    expect(answers.filter((ok) => !ok)).toHaveLength(0);
  });

  it("refuses a person on every server once their events add up past the window's limit", async () => {
    const prefix = uniquePrefix('rateperson');
    cleanupKeys(prefix);
    const redis = testRedis();
    // Two servers' counts, each within its own limits, together over the person's allowance.
    // A clock in the middle of a window, so the two syncs count in the same one.
    const middle = Math.floor(Date.now() / 10_000) * 10_000 + 5000;
    const now = () => middle;
    const count = () => new PersonEvents(redis, `${prefix}rl:person:`, 1000, now);
    const [a, b] = [count(), count()];
    const half = Math.ceil(PERSON_PER_WINDOW / 2) + 1;
    for (let i = 0; i < half; i += 1) {
      a.count('u_flood');
      b.count('u_flood');
      a.count('u_calm');
    }
    await a.sync();
    expect(a.refused('u_flood')).toBe(false);
    await b.sync();
    expect(b.refused('u_flood')).toBe(true);
    // Once the other server adds anything, it learns the total too; someone else is untouched.
    a.count('u_flood');
    await a.sync();
    expect(a.refused('u_flood')).toBe(true);
    expect(a.refused('u_calm')).toBe(false);
  });
});
