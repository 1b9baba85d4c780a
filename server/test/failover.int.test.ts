/**
 * Losing a server loses nothing: its clients reconnect to another instance, catch up with
 * `since`, and end with exactly the events everyone else has. A SIGTERM drains instead.
 */
import { describe, expect, it } from 'vitest';
import {
  type ClientSocket,
  call,
  cleanupKeys,
  connect,
  createReview,
  keepAddingFeedback,
  ReviewFeed,
  session,
  spawnServer,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';

describe('instance failure', () => {
  it('kill -9 of an instance while its clients receive events: they resume on another with nothing missing or doubled', async () => {
    const prefix = uniquePrefix('kill');
    cleanupKeys(prefix);
    const [a, b] = await Promise.all([spawnServer(prefix, 'A'), spawnServer(prefix, 'B')]);
    const owner = await session(a.url, 'Owner');
    const review = await createReview(a.url, owner.token);

    const clients: { socket: ClientSocket; feed: ReviewFeed; on: 'A' | 'B'; disconnected: boolean }[] = [];
    for (const [server, on] of [
      [a, 'A'],
      [a, 'A'],
      [a, 'A'],
      [b, 'B'],
      [b, 'B'],
    ] as const) {
      const socket = await connect(server.url, owner.token);
      const feed = new ReviewFeed(socket, review.id);
      await feed.join();
      const client = { socket, feed, on, disconnected: false };
      socket.on('disconnect', () => {
        client.disconnected = true;
      });
      clients.push(client);
    }

    // A producer on B keeps writing before, during and after the kill.
    const producer = await connect(b.url, owner.token);
    const feedback = keepAddingFeedback(producer, review.id, review.sections[0]!.id);

    await waitFor(
      () => feedback.atLeast(20) && clients.every((c) => c.feed.events.length >= 10),
      20_000,
      'traffic',
    );
    a.proc.kill('SIGKILL');
    await a.exited;
    const orphans = clients.filter((c) => c.on === 'A');
    await waitFor(() => orphans.every((c) => c.disconnected), 10_000, 'clients of A to notice');
    const before = feedback.written;

    // Each orphan reconnects (as a browser behind the load balancer would) to B and catches up.
    await Promise.all(
      orphans.map(async (client) => {
        const socket = await connect(b.url, owner.token);
        await client.feed.catchUp(socket);
      }),
    );
    await waitFor(() => feedback.atLeast(before + 20), 20_000, 'more traffic after failover');
    await feedback.stop();

    const finalSeq = (await call(producer, 'review:join', { reviewId: review.id })).snapshot.seq as number;
    for (const client of clients) {
      await waitFor(
        () => client.feed.seq === finalSeq,
        10_000,
        `client on ${client.on} to reach ${finalSeq}`,
      );
    }
    const reference = clients[3]!.feed;
    const first = reference.events[0]!.seq;
    expect(reference.seqs()).toEqual(Array.from({ length: finalSeq - first + 1 }, (_, i) => first + i));
    for (const client of clients) {
      // Same events in the same order as a client that never lost its connection.
      expect(client.feed.events.map((e) => `${e.seq}:${e.type}`)).toEqual(
        reference.events.map((e) => `${e.seq}:${e.type}`),
      );
      const descriptions = client.feed.events.map(
        (e) => (e.data as { item: { description: string } }).item.description,
      );
      expect(new Set(descriptions).size).toBe(descriptions.length);
    }
  });

  it('SIGTERM drains: clients are disconnected so they can reconnect elsewhere, and the process exits cleanly', async () => {
    const prefix = uniquePrefix('drain');
    cleanupKeys(prefix);
    const server = await spawnServer(prefix, 'D', { DRAIN_TIMEOUT_MS: '4000' });
    const owner = await session(server.url, 'Owner');
    const sockets = await Promise.all(Array.from({ length: 5 }, () => connect(server.url, owner.token)));
    const reasons: string[] = [];
    for (const socket of sockets) socket.on('disconnect', (reason) => reasons.push(reason));

    server.proc.kill('SIGTERM');
    const code = await server.exited;
    expect(code).toBe(0);
    expect(reasons).toEqual(Array(5).fill('io server disconnect'));
  });
});
