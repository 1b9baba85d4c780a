/**
 * A reader that cannot keep up (a stalled tab, a thin link) is fed from the review's log at its
 * own pace instead of having every live event queued for it on the server: the rest of the room
 * is not held up, and once it reads again it gets every event once, in order, then live ones.
 */

import type { Socket as TcpSocket } from 'node:net';
import type { ReviewEvent } from '@prism/core';
import { describe, expect, it } from 'vitest';
import {
  type ClientSocket,
  call,
  cleanupKeys,
  connect,
  createReview,
  invite,
  recordEvents,
  session,
  spawnServer,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';

/** The TCP connection under a socket.io-client on the websocket transport. */
function tcpOf(socket: ClientSocket): TcpSocket {
  const transport = socket.io.engine.transport as unknown as { ws: { _socket: TcpSocket } };
  return transport.ws._socket;
}

/** One figure of a server's Prometheus text (the first sample of `name`). */
async function metric(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} not in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Re-reads a server figure until it holds (there is no event to wait for on /metrics). */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sequence numbers with what is wrong with them: none missing between first and last, none twice. */
function order(events: ReviewEvent[]): { first: number; last: number; gaps: number; repeats: number } {
  const seqs = events.map((e) => e.seq);
  let gaps = 0;
  let repeats = 0;
  for (let i = 1; i < seqs.length; i += 1) {
    if (seqs[i]! <= seqs[i - 1]!) repeats += 1;
    else if (seqs[i]! !== seqs[i - 1]! + 1) gaps += 1;
  }
  return { first: seqs[0] ?? 0, last: seqs.at(-1) ?? 0, gaps, repeats };
}

describe('a slow reader', () => {
  it('is fed from the log at its own pace: the room goes on live, and it ends with every event once, in order', async () => {
    const prefix = uniquePrefix('slow');
    cleanupKeys(prefix);
    const server = await spawnServer(prefix, 'S', { SOCKET_SEND_QUEUE_LIMIT: '32' });
    const owner = await session(server.url, 'Olga');
    const review = await createReview(server.url, owner.token);
    const sectionId = review.sections[0]!.id;

    // Four reviewers on four sockets each will write 800 items of 12 KB (within the rate limits).
    const writers: ClientSocket[] = [];
    for (let w = 0; w < 4; w += 1) {
      const editor = w === 0 ? owner : await session(server.url, `Editor ${w}`);
      if (w > 0) await invite(server.url, owner, editor, review.id, 'reviewer');
      for (let i = 0; i < 4; i += 1) writers.push(await connect(server.url, editor.token));
    }
    const fast = await connect(server.url, owner.token);
    const slow = await connect(server.url, owner.token);
    const joinedAt = (await call(slow, 'review:join', { reviewId: review.id })).snapshot.seq as number;
    await call(fast, 'review:join', { reviewId: review.id });
    const fastSeen = recordEvents(fast);
    const slowSeen = recordEvents(slow);

    // The slow reader stops reading its connection: the kernel's buffers fill, then the server's.
    tcpOf(slow).pause();
    const long = (n: number, word: string): string => `${word} ${n} `.repeat(4000).slice(0, 4000);
    const perSocket = 50;
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let n = 0; n < perSocket; n += 1) {
          const ack = await call(writer, 'feedback:add', {
            reviewId: review.id,
            sectionId,
            type: 'suggestion',
            category: 'Clarity',
            description: long(n, `point ${w}`),
            suggestion: long(n, 'rewrite'),
            replacement: long(n, 'replace'),
          });
          if (!ack.ok && ack.error.code === 'rate_limited') {
            n -= 1; // refused, not added: wait as a client backs off, and send it again
            await new Promise((resolve) => setTimeout(resolve, 250));
            continue;
          }
          expect(ack.ok, JSON.stringify(ack.error)).toBe(true);
        }
      }),
    );
    // Each item added is one event.
    const lastSeq = joinedAt + writers.length * perSocket;

    // The rest of the room had everything live while the slow reader read nothing.
    await waitFor(() => fastSeen.at(-1)?.event.seq === lastSeq, 20_000, 'the fast reader to have it all');
    expect(order(fastSeen.map((s) => s.event))).toMatchObject({ gaps: 0, repeats: 0 });
    await eventually(
      async () => (await metric(server.metricsUrl, 'prism_slow_readers')) === 1,
      10_000,
      'the server to stop queueing for the slow reader',
    );
    expect(await metric(server.metricsUrl, 'prism_slow_readers_total')).toBeGreaterThanOrEqual(1);
    // What waits on the server for it stays near the limit (32), not the ~700 frames it missed.
    expect(await metric(server.metricsUrl, 'prism_socket_queued_frames_max')).toBeLessThanOrEqual(64);
    expect(slowSeen.length).toBeLessThan(lastSeq - joinedAt);

    // It reads again: it catches up from the log, every event once and in order, then goes live.
    tcpOf(slow).resume();
    await waitFor(() => slowSeen.at(-1)?.event.seq === lastSeq, 30_000, 'the slow reader to catch up');
    expect(order(slowSeen.map((s) => s.event))).toEqual({
      first: joinedAt + 1,
      last: lastSeq,
      gaps: 0,
      repeats: 0,
    });
    expect(await metric(server.metricsUrl, 'prism_slow_reader_events_total')).toBeGreaterThan(0);
    await eventually(
      async () => (await metric(server.metricsUrl, 'prism_slow_readers')) === 0,
      10_000,
      'the slow reader to take live events again',
    );
    const fed = await metric(server.metricsUrl, 'prism_slow_reader_events_total');
    const ack = await call(writers[0]!, 'feedback:add', {
      reviewId: review.id,
      sectionId,
      type: 'suggestion',
      category: 'Clarity',
      description: 'one more',
    });
    expect(ack.ok).toBe(true);
    await waitFor(() => slowSeen.at(-1)?.event.seq === lastSeq + 1, 10_000, 'a live event');
    expect(await metric(server.metricsUrl, 'prism_slow_reader_events_total')).toBe(fed);
    // Socket.IO's own reasons for sockets leaving are counted as people leave.
    fast.disconnect();
    await eventually(
      async () =>
        (await fetch(`${server.metricsUrl}/metrics`).then((r) => r.text())).includes(
          'prism_socket_disconnects_total{reason="client namespace disconnect"',
        ),
      10_000,
      'the disconnect to be counted',
    );
  }, 90_000);
});
