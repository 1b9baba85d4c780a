/**
 * Rate limits leave room for real use and scripts (CONTRACT section 4: at least 20 events/s per
 * connection with bursts of 100) and refuse a flood with `rate_limited` without disconnecting; a
 * person's events are counted across servers too, up to the window's limit exactly.
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
import { PERSON_LEASE, PERSON_PER_WINDOW, PersonEvents } from '../src/infra/rate-limit.ts';

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

  it("grants a person's events across servers up to the window's limit exactly, then refuses them on every server", async () => {
    const prefix = uniquePrefix('rateperson');
    cleanupKeys(prefix);
    const redis = testRedis();
    // Four servers' shares of one person's count; a clock in the middle of a window.
    let now = Math.floor(Date.now() / 10_000) * 10_000 + 5000;
    const servers = Array.from(
      { length: 4 },
      () => new PersonEvents(redis, `${prefix}rl:person:`, () => now),
    );
    let granted = 0;
    for (let round = 0; round < 1000; round += 1) {
      const answers = await Promise.all(servers.map((server) => server.take('u_flood')));
      granted += answers.filter(Boolean).length;
    }
    expect(granted).toBe(PERSON_PER_WINDOW);
    // Every server refuses them now, and someone else is untouched.
    for (const server of servers) expect(await server.take('u_flood')).toBe(false);
    expect(await servers[0]!.take('u_calm')).toBe(true);
    // A restarted server (a fresh share) takes from the same count: still refused.
    expect(await new PersonEvents(redis, `${prefix}rl:person:`, () => now).take('u_flood')).toBe(false);
    // The next window grants them again.
    now += 10_000;
    expect(await servers[1]!.take('u_flood')).toBe(true);
  });

  it('refuses a person who floods from sockets on three servers past the limit, with rate_limited', async () => {
    const prefix = uniquePrefix('ratespread');
    cleanupKeys(prefix);
    const servers = [await startServer(prefix), await startServer(prefix), await startServer(prefix)];
    const owner = await session(servers[0]!.url, 'Owner');
    const review = await createReview(servers[0]!.url, owner.token);
    // Six sockets on each server: each server's own limits let 600 through in a second, 1,800 in all.
    const sockets = await Promise.all(
      Array.from({ length: 18 }, (_, i) => connect(servers[i % 3]!.url, owner.token)),
    );
    for (const socket of sockets) await call(socket, 'review:join', { reviewId: review.id });
    // Start at the beginning of a window, so the flood is counted in one.
    const intoWindow = Date.now() % 10_000;
    if (intoWindow > 6000) await new Promise((resolve) => setTimeout(resolve, 10_000 - intoWindow + 50));
    const answers = (
      await Promise.all(
        sockets.map((socket) =>
          Promise.all(
            Array.from({ length: 125 }, () => call(socket, 'presence:update', { reviewId: review.id })),
          ),
        ),
      )
    ).flat();
    const ok = answers.filter((ack) => ack.ok).length;
    expect(ok).toBeLessThanOrEqual(PERSON_PER_WINDOW);
    // At most one unspent lease per server is lost to the person.
    expect(ok).toBeGreaterThanOrEqual(PERSON_PER_WINDOW - 3 * PERSON_LEASE);
    const refused = answers.filter((ack) => !ack.ok);
    expect(new Set(refused.map((ack) => ack.error.code))).toEqual(new Set(['rate_limited']));
    expect(sockets.every((socket) => socket.connected)).toBe(true);
  });
});
