/**
 * Analysis and chat commands. The server records what people asked (a section queued, a
 * question and the reply's placeholder) and enqueues the work; workers write the answers.
 * Cancelling removes work that has not started, or asks every worker to abort it where it runs.
 */
import {
  type AnalysisCancelPayload,
  type AnalysisStartPayload,
  type ChatCancelPayload,
  type ChatMessage,
  type ChatSendPayload,
  type ControlMessage,
  PRISM_ACTOR,
  PrismError,
  type TeamPreferences,
  type User,
} from '@prism/core';
import { controlChannel, spentTokens } from '@prism/store';
import type { Redis } from 'ioredis';
import type { Queues } from '../infra/queues.ts';
import { newId } from './ids.ts';
import type { ReviewService } from './review-service.ts';

/** How long an analysis start waits for the team's preferences before it goes on with the stored ones. */
const PREFERENCES_WAIT_MS = 2000;

export class AiService {
  private readonly reviews: ReviewService;
  readonly queues: Queues;
  private readonly publisher: Redis;
  private readonly prefix: string;
  private readonly budget: number;
  /**
   * The preferences of a workspace's team, taken when an analysis starts (CONTRACT 7.4, learning);
   * undefined when they cannot be read now (the review keeps the ones it had).
   */
  preferences?: (workspaceId: string) => Promise<TeamPreferences | undefined>;

  constructor(options: {
    reviews: ReviewService;
    queues: Queues;
    publisher: Redis;
    prefix: string;
    budget: number;
  }) {
    this.reviews = options.reviews;
    this.queues = options.queues;
    this.publisher = options.publisher;
    this.prefix = options.prefix;
    this.budget = options.budget;
  }

  private get store() {
    return this.reviews.store;
  }

  private async assertBudget(reviewId: string): Promise<void> {
    const spent = spentTokens(await this.store.usage(reviewId));
    if (spent >= this.budget) {
      throw new PrismError(
        'budget_exhausted',
        `This review has used its model budget (${spent.toLocaleString('en')} of ${this.budget.toLocaleString('en')} tokens); analysis and questions are closed.`,
      );
    }
  }

  private async cancelRunning(jobIds: string[], reason: string): Promise<void> {
    if (jobIds.length === 0) return;
    const message: ControlMessage = { kind: 'cancel', jobIds, reason };
    await this.publisher.publish(controlChannel(this.prefix), JSON.stringify(message));
  }

  /** What a start without `sectionIds` runs: every section, or after a revision those not `done` (CONTRACT 7.5). */
  private async defaultSections(
    reviewId: string,
    sections: readonly { id: string }[],
    revision: number | undefined,
  ): Promise<string[]> {
    if ((revision ?? 1) === 1) return sections.map((s) => s.id);
    const { statuses } = await this.store.analysisState(reviewId);
    return sections.filter((s) => statuses[s.id]?.status !== 'done').map((s) => s.id);
  }

  async startAnalysis(
    user: User,
    payload: AnalysisStartPayload,
  ): Promise<{ sectionId: string; jobId: string }[]> {
    const { meta } = await this.reviews.authorize(payload.reviewId, user, 'analysis:run');
    const known = new Set(meta.sections.map((s) => s.id));
    const sectionIds =
      payload.sectionIds ?? (await this.defaultSections(payload.reviewId, meta.sections, meta.revision));
    const unknown = sectionIds.find((id) => !known.has(id));
    if (unknown) throw new PrismError('not_found', `This review has no section ${unknown}.`);
    await this.assertBudget(payload.reviewId);
    await this.takePreferences(payload.reviewId, meta.workspaceId);

    // A few round trips whatever the number of sections: one read, one batch of run numbers, one
    // batch of `queued` events, then every job in one pipeline.
    const sections = await this.store.queueSections(
      payload.reviewId,
      sectionIds,
      user,
      (sectionId, run) => `a.${payload.reviewId}.${sectionId}.${run}`,
    );
    await this.queues.addBulk(
      'analysis.section',
      sections
        .filter((section) => section.queued)
        .map(({ sectionId, jobId }) => ({
          jobId,
          payload: {
            reviewId: payload.reviewId,
            sectionId,
            thinking: payload.thinking ?? false,
            requestedBy: user,
          },
        })),
    );
    return sections.map(({ sectionId, jobId }) => ({ sectionId, jobId }));
  }

  /**
   * Keeps the workspace team's preferences with the review before its jobs run, so every call of
   * the run shares one prompt prefix. Not while a section is queued or analysing (a retry mid-run
   * keeps the run's prefix), and not past PREFERENCES_WAIT_MS (a cold server reading a large
   * workspace answers the start first; its read goes on and serves the next start).
   */
  private async takePreferences(reviewId: string, workspaceId: string | undefined): Promise<void> {
    if (!workspaceId || !this.preferences) return;
    const { statuses } = await this.store.analysisState(reviewId);
    if (Object.values(statuses).some((s) => s.status === 'queued' || s.status === 'analyzing')) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), PREFERENCES_WAIT_MS);
    });
    const preferences = await Promise.race([this.preferences(workspaceId), late]).finally(() =>
      clearTimeout(timer),
    );
    if (preferences) await this.store.setPreferences(reviewId, preferences);
  }

  async cancelAnalysis(user: User, payload: AnalysisCancelPayload): Promise<void> {
    const { meta } = await this.reviews.authorize(payload.reviewId, user, 'analysis:run');
    const sectionIds = payload.sectionIds ?? meta.sections.map((s) => s.id);
    const busy = await this.store.busySections(payload.reviewId, sectionIds);
    const removed = await this.queues.removeUnlocked(
      'analysis.section',
      busy.map((section) => section.jobId),
    );
    await this.store.cancelSections(
      payload.reviewId,
      busy.filter((_, i) => removed[i]),
      user,
    );
    await this.cancelRunning(
      busy.filter((_, i) => !removed[i]).map((section) => section.jobId),
      `cancelled by ${user.name}`,
    );
  }

  async sendChat(user: User, payload: ChatSendPayload): Promise<{ messageId: string; replyId: string }> {
    const { meta } = await this.reviews.authorize(payload.reviewId, user, 'chat:send');
    if (payload.sectionId && !meta.sections.some((s) => s.id === payload.sectionId)) {
      throw new PrismError('not_found', 'This review has no such section.');
    }
    await this.assertBudget(payload.reviewId);
    const now = Date.now();
    const question: ChatMessage = {
      id: newId('m'),
      role: 'user',
      author: user,
      text: payload.text,
      createdAt: new Date(now).toISOString(),
      status: 'done',
      ...(payload.sectionId ? { sectionId: payload.sectionId } : {}),
    };
    const reply: ChatMessage = {
      id: newId('m'),
      role: 'assistant',
      author: PRISM_ACTOR,
      text: '',
      // A millisecond later, so the reply sorts after its question in every snapshot.
      createdAt: new Date(now + 1).toISOString(),
      status: 'streaming',
      replyTo: question.id,
    };
    await this.store.postChatMessages(payload.reviewId, [question, reply]);
    const jobId = `c.${payload.reviewId}.${reply.id}`;
    await this.queues.add(
      'chat.reply',
      {
        reviewId: payload.reviewId,
        questionId: question.id,
        replyId: reply.id,
        ...(payload.sectionId ? { sectionId: payload.sectionId } : {}),
        ...(payload.thinking ? { thinking: true } : {}),
      },
      jobId,
    );
    return { messageId: question.id, replyId: reply.id };
  }

  async cancelChat(user: User, payload: ChatCancelPayload): Promise<void> {
    await this.reviews.authorize(payload.reviewId, user, 'chat:send');
    const messages = await this.store.chat(payload.reviewId);
    const reply = messages.find(
      (m) => m.role === 'assistant' && (m.id === payload.messageId || m.replyTo === payload.messageId),
    );
    if (!reply) throw new PrismError('not_found', 'There is no such answer in this review.');
    if (reply.status !== 'streaming') return;
    const jobId = `c.${payload.reviewId}.${reply.id}`;
    if (await this.queues.removeIfWaiting('chat.reply', jobId)) {
      // No worker holds it (not started, or waiting again after its worker died): stop it here.
      await this.store.stopChatReply(payload.reviewId, reply.id, user, {
        code: 'cancelled',
        message: `Stopped by ${user.name}.`,
      });
      return;
    }
    await this.cancelRunning([jobId], `stopped by ${user.name}`);
  }
}
