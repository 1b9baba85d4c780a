/**
 * Writes the assistant's reply to a question: streams the text as coalesced `chat.delta`
 * events (contiguous index from 0), each also appended to the reply's stored partial text so a
 * joiner mid-reply gets the beginning and then the rest, and ends with `chat.done` or
 * `chat.failed` (partial text kept). A reply that already streamed is never restarted.
 */
import { type ChatMessage, type Failure, PRISM_ACTOR, PrismError } from '@prism/core';
import { type Guard, partialIndexField, usageWrites } from '@prism/store';
import { UnrecoverableError, Worker } from 'bullmq';
import { Coalescer } from '../ai/coalescer.ts';
import { ProviderError } from '../ai/provider.ts';
import { chatFindings } from './memory.ts';
import { assertBudget, documentContext, newAttempt, Superseded } from './shared.ts';
import type { Handler } from './types.ts';

const HISTORY_TURNS = 20;
const THROTTLE_WAIT_MS = 15_000;

export const replyToChat: Handler<'chat.reply'> = async (job, context, signal) => {
  const { log, store, provider } = context;
  const { reviewId, questionId, replyId, sectionId } = job.data;
  const attempt = newAttempt(job.id, job.attemptsMade);
  const guard: Guard = { kind: 'hget', key: 'jobs', field: `chat:${replyId}`, expected: attempt };
  const now = (): string => new Date().toISOString();

  // Take the fence before reading: an older attempt still alive can append nothing more, so the
  // partial text read below is all the room will ever have seen of this reply.
  await store.setJobField(reviewId, `chat:${replyId}`, attempt);
  const messages = await store.chat(reviewId);
  // The reply with what earlier attempts appended (`store.chat` holds only its placeholder).
  const reply = await store.chatMessage(reviewId, replyId);
  const question = messages.find((m) => m.id === questionId);
  if (!reply || !question || reply.status !== 'streaming') return { skipped: true };
  const resumed = reply.lastIndex !== undefined || reply.text !== '';
  delete reply.lastIndex;

  let index = 0;
  let streamed = '';
  const fail = async (error: Failure): Promise<void> => {
    const failed: ChatMessage = { ...reply, status: 'failed', text: streamed, error };
    await log.append(
      { reviewId, type: 'chat.failed', at: now(), actor: PRISM_ACTOR, data: { messageId: replyId, error } },
      {
        guards: [guard],
        writes: [
          { op: 'hset', key: 'chat', field: replyId, value: JSON.stringify(failed) },
          { op: 'hdel', key: 'partials', field: replyId },
          { op: 'hdel', key: 'partials', field: partialIndexField(replyId) },
        ],
      },
    );
  };

  // A previous attempt died after its first words reached the room. A new model call would start
  // the answer over, and the room already shows its beginning: end it, keeping what it wrote, so
  // no delta index is ever sent twice and the person can ask again.
  if (resumed) {
    streamed = reply.text;
    await fail({ code: 'interrupted', message: 'The answer was interrupted; ask again for a complete one.' });
    return { interrupted: true };
  }

  const deltas = new Coalescer(async (text) => {
    const result = await log.append(
      {
        reviewId,
        type: 'chat.delta',
        at: now(),
        actor: PRISM_ACTOR,
        data: { messageId: replyId, index, text },
      },
      {
        guards: [guard],
        writes: [
          { op: 'happend', key: 'partials', field: replyId, value: text },
          { op: 'hset', key: 'partials', field: partialIndexField(replyId), value: String(index) },
        ],
      },
    );
    if (!result.ok) throw new Superseded();
    index += 1;
    streamed += text;
  });

  try {
    await assertBudget(store, reviewId, context.tokenBudget);
    const document = await documentContext(store, reviewId);
    const history = messages
      .filter(
        (m) =>
          m.id !== questionId && m.id !== replyId && m.status === 'done' && m.createdAt <= question.createdAt,
      )
      .slice(-HISTORY_TURNS)
      .map((m) => ({ role: m.role, author: m.author.name, text: m.text }));
    let model = provider.name as string;
    const result = await provider.chat(
      {
        document,
        history,
        question: { role: 'user', author: question.author.name, text: question.text },
        ...(sectionId ? { sectionId } : {}),
        // The findings and who decided them, so "why did we reject X?" has an answer.
        findings: chatFindings((await store.feedbackItems(reviewId)).map(({ item }) => item)),
        ...(job.data.thinking ? { thinking: true } : {}),
      },
      {
        started: async (answering) => {
          model = answering;
        },
        text: (delta) => deltas.push(delta),
      },
      signal ?? new AbortController().signal,
    );
    await deltas.close();
    const done: ChatMessage = { ...reply, status: 'done', text: streamed, model: result.model || model };
    if (result.citations?.length) done.citations = result.citations;
    delete done.lastIndex;
    const appended = await log.append(
      {
        reviewId,
        type: 'chat.done',
        at: now(),
        actor: PRISM_ACTOR,
        data: {
          messageId: replyId,
          text: streamed,
          model: done.model!,
          usage: result.usage,
          ...(done.citations ? { citations: done.citations } : {}),
        },
      },
      {
        guards: [guard],
        writes: [
          { op: 'hset', key: 'chat', field: replyId, value: JSON.stringify(done) },
          { op: 'hdel', key: 'partials', field: replyId },
          { op: 'hdel', key: 'partials', field: partialIndexField(replyId) },
          ...usageWrites(done.model!, result.usage),
        ],
      },
    );
    if (!appended.ok) throw new Superseded();
    return { model: done.model, deltas: index };
  } catch (error) {
    if (error instanceof Superseded) {
      deltas.discard();
      return { superseded: true };
    }
    // What was already gathered reaches the room before the failure does.
    await deltas.close().catch(() => {});
    if (signal?.aborted) {
      await fail({ code: 'cancelled', message: 'The answer was stopped.' }).catch(() => {});
      return { cancelled: true };
    }
    if (error instanceof ProviderError && error.retryable && index === 0) {
      await context.rateLimit(THROTTLE_WAIT_MS);
      throw Worker.RateLimitError();
    }
    const body =
      error instanceof ProviderError || error instanceof PrismError
        ? { code: error.code, message: error.message }
        : { code: 'internal', message: 'The answer failed unexpectedly; ask again.' };
    await fail(body).catch(() => {});
    throw new UnrecoverableError(body.message);
  }
};
