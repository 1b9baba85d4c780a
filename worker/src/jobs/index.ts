/**
 * The worker's handler table. Until an AI provider is wired, analysis and chat jobs end the way
 * Prism ends any job no model can answer: visibly failed in the room, with the reason, never
 * with made-up output.
 */
import { PRISM_ACTOR } from '@prism/core';
import { UnrecoverableError } from 'bullmq';
import type { HandlerTable } from './types.ts';

const NO_PROVIDER = { code: 'unavailable', message: 'No AI provider is configured on the workers.' } as const;

export const handlers: HandlerTable = {
  async 'analysis.section'(job, { log }) {
    const { reviewId, sectionId } = job.data;
    await log.append({
      reviewId,
      type: 'section.status',
      at: new Date().toISOString(),
      actor: PRISM_ACTOR,
      data: { sectionId, status: 'failed', error: NO_PROVIDER },
    });
    throw new UnrecoverableError(NO_PROVIDER.message);
  },
  async 'chat.reply'(job, { log }) {
    const { reviewId, replyId } = job.data;
    await log.append({
      reviewId,
      type: 'chat.failed',
      at: new Date().toISOString(),
      actor: PRISM_ACTOR,
      data: { messageId: replyId, error: NO_PROVIDER },
    });
    throw new UnrecoverableError(NO_PROVIDER.message);
  },
  async 'export.package'() {
    throw new UnrecoverableError('Review packages are written by a later version of the worker.');
  },
};
