/**
 * Chat writes made by servers: posting a question with its reply's placeholder, and stopping a
 * reply no worker holds. (Workers stream the reply itself, delta by delta.)
 */
import type { ChatMessage, Failure, User } from '@prism/core';
import type { Redis } from 'ioredis';
import type { EventLog } from './event-log.ts';
import { partialIndexField } from './reviews.ts';

/** Appends `chat.message` for each message, in order, in one round trip. */
export async function postChatMessages(
  log: EventLog,
  reviewId: string,
  messages: ChatMessage[],
): Promise<void> {
  await log.appendMany(
    messages.map((message) => ({
      event: {
        reviewId,
        type: 'chat.message',
        at: message.createdAt,
        actor: message.author,
        data: { message },
      },
      options: { writes: [{ op: 'hset', key: 'chat', field: message.id, value: JSON.stringify(message) }] },
    })),
  );
}

/**
 * Ends a streaming reply with `chat.failed` and `error`, keeping whatever text earlier attempts
 * streamed, if it is still streaming and unchanged since read. For a reply whose job was removed
 * before a worker took it. Resolves false when there was nothing to stop.
 */
export async function stopChatReply(
  redis: Redis,
  log: EventLog,
  reviewId: string,
  replyId: string,
  actor: User,
  error: Failure,
): Promise<boolean> {
  const keys = log.keys(reviewId);
  const [[, raw], [, partial]] = (await redis
    .multi()
    .hget(keys.chat, replyId)
    .hget(keys.partials, replyId)
    .exec()) as [[null, string | null], [null, string | null]];
  if (!raw) return false;
  const reply = JSON.parse(raw) as ChatMessage;
  if (reply.status !== 'streaming') return false;
  const failed: ChatMessage = { ...reply, status: 'failed', text: partial ?? reply.text, error };
  delete failed.lastIndex;
  const result = await log.append(
    {
      reviewId,
      type: 'chat.failed',
      at: new Date().toISOString(),
      actor,
      data: { messageId: replyId, error },
    },
    {
      guards: [{ kind: 'hget', key: 'chat', field: replyId, expected: raw }],
      writes: [
        { op: 'hset', key: 'chat', field: replyId, value: JSON.stringify(failed) },
        { op: 'hdel', key: 'partials', field: replyId },
        { op: 'hdel', key: 'partials', field: partialIndexField(replyId) },
      ],
    },
  );
  return result.ok;
}
