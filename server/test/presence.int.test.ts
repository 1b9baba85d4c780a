/**
 * Who is here, on which section, typing or not, reaches people on other instances through the
 * Redis adapter; and an upload with analyze=true starts the review's analysis at once. A server
 * that never answers presence requests (an older version during a rolling deploy) slows a join
 * by the adapter's timeout at most, and does not break it. People on a server that stops are
 * shown offline at once, and those on a server that falls silent after three missed beats.
 */
import { createServer } from 'node:http';
import type { PresenceMember } from '@prism/core';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Server } from 'socket.io';
import { describe, expect, it } from 'vitest';
import {
  api,
  call,
  cleanupKeys,
  connect,
  createReview,
  invite,
  makeDocx,
  REDIS_CLUSTER,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  testRedis,
  uniquePrefix,
  upload,
  waitFor,
} from '../../test/helpers.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';
import { PRESENCE_ANSWER_MS } from '../src/realtime/presence.ts';

/**
 * A bare Socket.IO server on the servers' adapter channel (the sharded adapter on a Redis
 * Cluster, as they use), knowing nothing of Prism. `close()` stops it and its Redis clients.
 */
function adapterPeer(prefix: string): { server: Server; close(): Promise<void> } {
  const pub = testRedis();
  const sub = testRedis('adapter-sub');
  const server = new Server(createServer(), {
    adapter: REDIS_CLUSTER
      ? createShardedAdapter(pub, sub, { channelPrefix: `${prefix}socket.io` })
      : createAdapter(pub, sub, { key: `${prefix}socket.io` }),
  });
  return {
    server,
    async close() {
      await server.close();
      pub.disconnect();
      sub.disconnect();
    },
  };
}

describe('presence and analyze on upload', () => {
  it('shows a person on another instance, their section and typing; and analyze=true starts analysis', async () => {
    const prefix = uniquePrefix('presence');
    cleanupKeys(prefix);
    const a = await startServer(prefix);
    const b = await startServer(prefix);
    await startWorker(prefix, new RulesProvider());
    const owner = await session(a.url, 'Olga');
    const doc = await makeDocx([
      { title: 'Summary', paragraphs: ['The decision was made by the the committee.'] },
      {
        title: 'Actions',
        paragraphs: ['In order to utilize the tool, staff should perhaps attend training.'],
      },
    ]);
    const res = await upload(a.url, owner.token, doc, { analyze: 'true' });
    expect(res.status).toBe(201);
    const { review } = (await res.json()) as { review: { id: string; sections: { id: string }[] } };

    const invite = (await (
      await api(a.url, owner.token, `/api/reviews/${review.id}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'reviewer' }),
      })
    ).json()) as { token: string };
    const ravi = await session(b.url, 'Ravi');
    await api(b.url, ravi.token, '/api/invites/accept', {
      method: 'POST',
      body: JSON.stringify({ token: invite.token }),
    });

    const olgaSocket = await connect(a.url, owner.token);
    const seen: PresenceMember[][] = [];
    olgaSocket.on('presence', (payload) => {
      if (payload.reviewId === review.id) seen.push(payload.members);
    });
    const feed = new ReviewFeed(olgaSocket, review.id);
    const joined = await feed.join();
    const raviSocket = await connect(b.url, ravi.token);
    const raviView: PresenceMember[][] = [];
    raviSocket.on('presence', (payload) => {
      if (payload.reviewId === review.id) raviView.push(payload.members);
    });
    const raviJoin = await call(raviSocket, 'review:join', { reviewId: review.id });
    // Ravi is b's first person in the review: b asked a who is there.
    expect(raviJoin.snapshot.members.find((m: PresenceMember) => m.user.name === 'Olga')).toMatchObject({
      online: true,
    });
    const second = review.sections[1]!.id;
    expect(
      (await call(raviSocket, 'presence:update', { reviewId: review.id, sectionId: second, typing: true }))
        .ok,
    ).toBe(true);

    const raviSeen = () => seen.at(-1)?.find((m) => m.user.name === 'Ravi');
    await waitFor(() => raviSeen()?.typing === true, 5000, 'Ravi typing, seen on the other instance');
    expect(raviSeen()).toMatchObject({ role: 'reviewer', sectionId: second, online: true });
    expect(seen.at(-1)!.find((m) => m.user.name === 'Olga')).toMatchObject({ role: 'owner', online: true });
    // And b shows its own socket the same room, Olga (on a) included.
    await waitFor(
      () => raviView.at(-1)?.find((m) => m.user.name === 'Ravi')?.typing === true,
      5000,
      'Ravi sees himself typing',
    );
    expect(raviView.at(-1)!.find((m) => m.user.name === 'Olga')).toMatchObject({
      role: 'owner',
      online: true,
    });

    // The same section clicked again tells the room nothing: no frame to anyone. An absence has
    // no event to wait for; four coalescing windows (150 ms each) of quiet stand for it.
    const framesBefore = seen.length + raviView.length;
    expect(
      (await call(raviSocket, 'presence:update', { reviewId: review.id, sectionId: second, typing: true }))
        .ok,
    ).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(seen.length + raviView.length).toBe(framesBefore);

    raviSocket.disconnect();
    await waitFor(() => raviSeen()?.online === false, 5000, 'Ravi gone');

    // The upload asked for analysis: every section ends done without anyone pressing a button.
    const status = () => {
      const current = new Map<string, string>(
        joined.sections.map((x: { id: string; status: string }) => [x.id, x.status]),
      );
      for (const e of feed.events)
        if (e.type === 'section.status') current.set(e.data.sectionId, e.data.status);
      return [...current.values()];
    };
    await waitFor(() => status().every((x) => x === 'done'), 20_000, 'the analysis the upload started');
  });

  it('joins and shows who is here when another server on the adapter never answers', async () => {
    const prefix = uniquePrefix('presence-silent');
    cleanupKeys(prefix);
    const a = await startServer(prefix);
    // A Socket.IO server on the same adapter channel that knows nothing of presence:collect.
    const silent = adapterPeer(prefix);
    try {
      const owner = await session(a.url, 'Olga');
      const review = await createReview(a.url, owner.token);
      const socket = await connect(a.url, owner.token);
      const seen: PresenceMember[][] = [];
      socket.on('presence', (payload) => {
        if (payload.reviewId === review.id) seen.push(payload.members);
      });

      const started = Date.now();
      const joined = await call(socket, 'review:join', { reviewId: review.id });
      const took = Date.now() - started;
      expect(joined.ok).toBe(true);
      expect(joined.snapshot.members.find((m: PresenceMember) => m.user.name === 'Olga')).toMatchObject({
        online: true,
      });
      // It waited for the silent server, but no longer than the adapter's timeout (plus slack).
      expect(took).toBeGreaterThanOrEqual(PRESENCE_ANSWER_MS - 100);
      expect(took).toBeLessThan(PRESENCE_ANSWER_MS + 2500);
      await waitFor(
        () => seen.at(-1)?.find((m) => m.user.name === 'Olga')?.online === true,
        PRESENCE_ANSWER_MS + 5000,
        'a presence broadcast despite the silent server',
      );
    } finally {
      await silent.close();
    }
  });

  /** A review of Olga's on `a` with Ravi a member (signed in on `b`), Olga's socket in its room. */
  async function olgaAndRavi(a: string, b: string) {
    const owner = await session(a, 'Olga');
    const review = await createReview(a, owner.token);
    const ravi = await session(b, 'Ravi');
    await invite(a, owner, ravi, review.id, 'reviewer', b);
    const olga = await connect(a, owner.token);
    const seen: PresenceMember[][] = [];
    olga.on('presence', (payload) => {
      if (payload.reviewId === review.id) seen.push(payload.members);
    });
    expect((await call(olga, 'review:join', { reviewId: review.id })).ok).toBe(true);
    await waitFor(() => seen.length > 0, 5000, 'Olga sees the room');
    const raviSeen = () => seen.at(-1)?.find((m) => m.user.name === 'Ravi');
    return { review, ravi, seen, raviSeen };
  }

  it('shows people offline at once when their server stops', async () => {
    const prefix = uniquePrefix('presence-stop');
    cleanupKeys(prefix);
    const a = await startServer(prefix);
    const b = await startServer(prefix);
    const { review, ravi, raviSeen } = await olgaAndRavi(a.url, b.url);
    const raviSocket = await connect(b.url, ravi.token);
    expect((await call(raviSocket, 'review:join', { reviewId: review.id })).ok).toBe(true);
    await waitFor(() => raviSeen()?.online === true, 5000, 'Ravi, on the other server, online');

    // Server b stops: its sockets close without a word to the room, but b says it is going (a
    // would otherwise wait three missed beats of 5 s, PRESENCE_ALIVE_MS's default).
    await b.close();
    await waitFor(() => raviSeen()?.online === false, 3000, 'Ravi offline once his server stopped');
  });

  it('shows people offline after three missed beats when their server falls silent', async () => {
    const prefix = uniquePrefix('presence-silent-server');
    cleanupKeys(prefix);
    const a = await startServer(prefix, { env: { PRESENCE_ALIVE_MS: '300' } });
    const { review, seen, raviSeen } = await olgaAndRavi(a.url, a.url);
    expect(raviSeen()?.online).toBe(false);
    // A server that crashes says nothing: this one shows Ravi in the room, then falls silent.
    const ghost = adapterPeer(prefix);
    try {
      const roster = seen
        .at(-1)!
        .map((m) => ({ user: m.user, role: m.role, joinedAt: new Date().toISOString() }));
      // Socket.IO's typing of serverSideEmit wants the events declared; this server declares none.
      (ghost.server as unknown as { serverSideEmit(...args: unknown[]): void }).serverSideEmit(
        'presence:here',
        review.id,
        {
          server: 'about-to-crash',
          v: 1,
          entries: [{ userId: raviSeen()!.user.id, sectionId: null, typing: true }],
        },
        roster,
      );
      await waitFor(() => raviSeen()?.typing === true, 3000, 'Ravi shown by the server about to crash');
      const silentSince = Date.now();
      await waitFor(() => raviSeen()?.online === false, 5000, 'Ravi offline once his server fell silent');
      // Three beats of 300 ms missed, found at a beat: about a second, not at once.
      expect(Date.now() - silentSince).toBeGreaterThanOrEqual(500);
    } finally {
      await ghost.close();
    }
  });
});
