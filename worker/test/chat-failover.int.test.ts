/**
 * Killing the worker that streams a chat reply never makes the room see the answer twice: the
 * next worker takes the job once the dead one's lock expires, finds the words already sent, and
 * ends the reply as `interrupted` with that text kept (a new model call would start over, and the
 * room already shows the beginning). Every `chat.delta` index is sent once, in order.
 */
import type { ChatMessage, ReviewEvent } from '@prism/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  ReviewFeed,
  session,
  startServer,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';
import { FAILOVER_MODEL, roomWithWorker, spawnWorker } from './workers.ts';

let standIn: StandIn;
beforeAll(async () => {
  // About 1,200 characters at 20 tokens a second: the reply streams for about 15 s.
  standIn = await startBedrockStandIn({ tokensPerSecond: 20, firstTokenMs: 20, chatTokens: 300 });
});
afterAll(async () => {
  await standIn.close();
});

type ChatEvent = Extract<ReviewEvent, { type: 'chat.delta' | 'chat.done' | 'chat.failed' }>;

describe('worker failure mid-reply', () => {
  it('kill -9 of the worker streaming a chat reply: no delta index twice, the reply ends interrupted with its text', async () => {
    const { prefix, server, first, owner, review, socket, feed } = await roomWithWorker('chatkill', standIn, [
      'The backup job failed silently for nine days.',
      'Restores were never tested.',
    ]);
    const ack = await call(socket, 'chat:send', { reviewId: review.id, text: 'Why did nobody notice?' });
    expect(ack.ok).toBe(true);
    const replyId = ack.replyId as string;
    const ofReply = (): ChatEvent[] =>
      feed.events.filter(
        (e): e is ChatEvent =>
          (e.type === 'chat.delta' || e.type === 'chat.done' || e.type === 'chat.failed') &&
          e.data.messageId === replyId,
      );
    await waitFor(() => ofReply().filter((e) => e.type === 'chat.delta').length >= 3, 20_000, 'a few words');

    const second = await spawnWorker(prefix, 'worker-2', standIn);
    first.proc.kill('SIGKILL');
    await first.exited;
    const sentBeforeKill = ofReply().filter((e) => e.type === 'chat.delta').length;
    const end = await waitFor(
      () => ofReply().find((e) => e.type === 'chat.done' || e.type === 'chat.failed'),
      45_000,
      'the reply to end on the other worker',
    );
    expect(second.proc.exitCode).toBeNull();

    const events = ofReply();
    const deltas = events.filter((e) => e.type === 'chat.delta');
    // 0..n, each once, in order, and nothing after the end.
    expect(deltas.map((e) => e.data.index)).toEqual(deltas.map((_, i) => i));
    expect(deltas.length).toBeGreaterThanOrEqual(sentBeforeKill);
    expect(events.at(-1)).toBe(end);
    expect(end.type).toBe('chat.failed');
    if (end.type === 'chat.failed') expect(end.data.error.code).toBe('interrupted');
    // The model was asked once: the answer was not started over behind the room's back.
    expect(standIn.callCount(FAILOVER_MODEL)).toBe(1);

    // What a follower of the room pieced together is what a newcomer is shown: one coherent text.
    const followed = deltas.map((e) => e.data.text).join('');
    expect(followed.length).toBeGreaterThan(0);
    // A second tab opened now: a new socket, a fresh snapshot.
    const joinedAs = await connect(server.url, owner.token);
    const snapshot = (await call(joinedAs, 'review:join', { reviewId: review.id })).snapshot;
    const reply = (snapshot.chat as ChatMessage[]).find((m) => m.id === replyId)!;
    expect(reply.status).toBe('failed');
    expect(reply.error?.code).toBe('interrupted');
    expect(reply.text).toBe(followed);
    expect(reply.lastIndex).toBeUndefined();
    expect(feed.gapsSeen).toBe(0);
  }, 90_000);

  it('a reply no worker has taken is stopped by the server: chat.failed cancelled, in the log and the snapshot', async () => {
    const prefix = uniquePrefix('chatstop');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const owner = await session(server.url, 'Olga');
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([{ title: 'Findings', paragraphs: ['Restores were never tested.'] }]),
    );
    const socket = await connect(server.url, owner.token);
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();
    const ack = await call(socket, 'chat:send', { reviewId: review.id, text: 'Were restores tested?' });
    const stopped = await call(socket, 'chat:cancel', { reviewId: review.id, messageId: ack.replyId });
    expect(stopped.ok).toBe(true);
    const failed = await waitFor(
      () => feed.events.find((e) => e.type === 'chat.failed' && e.data.messageId === ack.replyId),
      10_000,
      'the reply to be stopped',
    );
    expect(failed.type === 'chat.failed' && failed.data.error.code).toBe('cancelled');
    const snapshot = (await call(socket, 'review:join', { reviewId: review.id })).snapshot;
    const reply = (snapshot.chat as ChatMessage[]).find((m) => m.id === ack.replyId)!;
    expect(reply.status).toBe('failed');
    expect(reply.error?.code).toBe('cancelled');
  });
});
