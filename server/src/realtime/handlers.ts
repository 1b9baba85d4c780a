/**
 * Socket event handlers: thin. Each parses its payload with the schema from core, checks access
 * through the review service, and answers its ack exactly once, whatever happens. An invalid
 * payload, a missing ack or a thrown error never disconnects the socket or crashes the server.
 */
import {
  type AckError,
  AddFeedbackPayload,
  AnalysisCancelPayload,
  AnalysisStartPayload,
  ChatCancelPayload,
  ChatSendPayload,
  ChecklistOverridePayload,
  type ClientEventName,
  DecidePayload,
  DeleteFeedbackPayload,
  describeIssues,
  EditFeedbackPayload,
  isPrismError,
  JoinPayload,
  LeavePayload,
  PresencePayload,
  PrismError,
  ReplyPayload,
  ResolvePayload,
  reviewRoom,
} from '@prism/core';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { AiService } from '../domain/ai-service.ts';
import { ChecklistService } from '../domain/checklist-service.ts';
import type { ReviewService } from '../domain/review-service.ts';
import type { Metrics } from '../infra/metrics.ts';
import type { RateLimits } from '../infra/rate-limit.ts';
import type { Presence } from './presence.ts';
import type { Relay } from './relay.ts';
import type { PrismSocket } from './types.ts';

export interface HandlerDeps {
  service: ReviewService;
  ai: AiService;
  relay: Relay;
  presence: Presence;
  limits: RateLimits;
  metrics: Metrics;
  logger: Logger;
}

/** What a handler answers; `after` runs right after the ack is sent (join uses it). */
interface Handled {
  result: Record<string, unknown>;
  after?: () => void;
}

type Ack = (response: Record<string, unknown>) => void;

export function registerHandlers(socket: PrismSocket, deps: HandlerDeps): void {
  const { service, ai, relay, presence, limits, metrics, logger } = deps;
  const user = socket.data.user;

  function on<S extends z.ZodType>(
    event: ClientEventName,
    schema: S,
    handler: (payload: z.infer<S>) => Promise<Handled>,
  ): void {
    // Registered untyped on purpose: clients may send anything, in any number of arguments.
    (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(
      event,
      (...args: unknown[]) => {
        const started = performance.now();
        const ack = typeof args.at(-1) === 'function' ? (args.pop() as Ack) : undefined;
        const answer = (response: Record<string, unknown>, ok: boolean): void => {
          metrics.ackLatency.observe({ event, ok: String(ok) }, (performance.now() - started) / 1000);
          ack?.(response);
        };
        run(schema, handler, args[0])
          .then(({ result, after }) => {
            answer({ ok: true, ...result }, true);
            after?.();
          })
          .catch((error: unknown) => answer(toAckError(error, event), false));
      },
    );
  }

  async function run<S extends z.ZodType>(
    schema: S,
    handler: (payload: z.infer<S>) => Promise<Handled>,
    raw: unknown,
  ): Promise<Handled> {
    if (!(await limits.socketEvent(socket.id, user.id))) {
      throw new PrismError('rate_limited', 'Too many actions at once; slow down for a moment.');
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const { code, message } = describeIssues(parsed.error);
      throw new PrismError(code, message);
    }
    return handler(parsed.data);
  }

  function toAckError(error: unknown, event: string): AckError & Record<string, unknown> {
    if (isPrismError(error)) return { ok: false, error: error.toBody(), ...error.extra };
    logger.error({ err: error, event, user: user.id }, 'socket handler failed');
    return {
      ok: false,
      error: { code: 'internal', message: 'Something went wrong on the server; try again.' },
    };
  }

  on('review:join', JoinPayload, async ({ reviewId, since }) => {
    const { role } = await service.authorize(reviewId, user, 'review:read');
    const joining = await relay.beginJoin(socket, reviewId);
    try {
      socket.data.presence[reviewId] ??= { sectionId: null, typing: false };
      socket.data.roles = { ...socket.data.roles, [reviewId]: role };
      if (since !== undefined) {
        const events = await service.store.log.since(reviewId, since);
        if (events) {
          const last = events.at(-1)?.seq ?? since;
          return { result: { events }, after: () => joined(reviewId, joining, last) };
        }
      }
      const online = await presence.online(reviewId, { joining: true });
      online.add(user.id);
      const snapshot = await service.store.snapshot(reviewId, role, online);
      const result = since === undefined ? { snapshot } : { reset: true, snapshot };
      return { result, after: () => joined(reviewId, joining, snapshot.seq) };
    } catch (error) {
      relay.abortJoin(joining, reviewId);
      throw error;
    }
  });

  function joined(reviewId: string, joining: Awaited<ReturnType<Relay['beginJoin']>>, seq: number): void {
    relay.completeJoin(joining, reviewId, seq);
    presence.changed(reviewId);
  }

  on('review:leave', LeavePayload, async ({ reviewId }) => {
    // A socket in the room was let in by its join: leaving needs no look-up (which would restore an
    // archived review the moment its last reader left).
    if (!socket.rooms.has(reviewRoom(reviewId))) await service.authorize(reviewId, user, 'review:read');
    relay.leave(socket, reviewId);
    delete socket.data.presence[reviewId];
    presence.changed(reviewId);
    return { result: {} };
  });

  on('presence:update', PresencePayload, async ({ reviewId, sectionId, typing }) => {
    // A socket in the room was let in by its join and is taken out when it may no longer read
    // (workspace removal, deletion): moving around in it needs no look-up.
    if (!socket.rooms.has(reviewRoom(reviewId))) await service.authorize(reviewId, user, 'review:read');
    const current = socket.data.presence[reviewId] ?? { sectionId: null, typing: false };
    const next = {
      sectionId: sectionId === undefined ? current.sectionId : sectionId,
      typing: typing ?? current.typing,
    };
    socket.data.presence[reviewId] = next;
    // Where the person already was (a section clicked again): nothing to tell the room.
    if (next.sectionId !== current.sectionId || next.typing !== current.typing) presence.changed(reviewId);
    return { result: {} };
  });

  on('feedback:decide', DecidePayload, async (payload) => ({
    result: { item: await service.decide(user, payload) },
  }));
  on('feedback:add', AddFeedbackPayload, async (payload) => ({
    result: { item: await service.addFeedback(user, payload) },
  }));
  on('feedback:edit', EditFeedbackPayload, async (payload) => ({
    result: { item: await service.editFeedback(user, payload) },
  }));
  on('feedback:delete', DeleteFeedbackPayload, async (payload) => {
    await service.deleteFeedback(user, payload);
    return { result: {} };
  });

  on('feedback:reply', ReplyPayload, async (payload) => ({
    result: { reply: await service.reply(user, payload) },
  }));
  on('feedback:resolve', ResolvePayload, async (payload) => ({
    result: { item: await service.resolve(user, payload) },
  }));

  const checklist = new ChecklistService(service);
  on('checklist:override', ChecklistOverridePayload, async (payload) => ({
    result: { entry: await checklist.override(user, payload) },
  }));

  on('analysis:start', AnalysisStartPayload, async (payload) => ({
    result: { jobs: await ai.startAnalysis(user, payload) },
  }));
  on('analysis:cancel', AnalysisCancelPayload, async (payload) => {
    await ai.cancelAnalysis(user, payload);
    return { result: {} };
  });
  on('chat:send', ChatSendPayload, async (payload) => ({ result: await ai.sendChat(user, payload) }));
  on('chat:cancel', ChatCancelPayload, async (payload) => {
    await ai.cancelChat(user, payload);
    return { result: {} };
  });

  socket.on('disconnecting', () => {
    const reviews = [...socket.rooms]
      .filter((room) => room.startsWith('review:'))
      .map((room) => room.slice(7));
    relay.disconnected(reviews);
    for (const reviewId of reviews) presence.changed(reviewId);
  });
}
