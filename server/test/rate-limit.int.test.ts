/**
 * Rate limits leave room for real use and scripts (CONTRACT section 4: at least 20 events/s per
 * connection with bursts of 100) and refuse a flood with `rate_limited` without disconnecting.
 */
import { describe, expect, it } from 'vitest';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  session,
  startServer,
  uniquePrefix,
} from '../../test/helpers.ts';

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
});
