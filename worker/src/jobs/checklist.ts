/**
 * The checklist (CONTRACT 7.4): once every section of a review is analysed, one job gives each
 * checkpoint of the review's rubric a verdict: one model call over the cached prefix (Bedrock), or
 * the rules provider's deterministic verdicts ("Needs a model" for what it cannot judge).
 *
 * Exactly once per round, like the whole-document pass (rounds.ts): the first finishing section
 * job to claim the round queues the job. Its appends are fenced by the attempt and carry the
 * round, so a retried or duplicated job never writes a checkpoint twice; a person's override is
 * never replaced (store/src/checklist.ts).
 */
import { type ChecklistEntry, PrismError } from '@prism/core';
import { type Guard, reviewRubric } from '@prism/store';
import { UnrecoverableError, Worker } from 'bullmq';
import { rulesChecklist } from '../ai/checklist-rules.ts';
import { ProviderError } from '../ai/provider.ts';
import { claimRound, finishedRound } from './rounds.ts';
import { assertBudget, documentContext, newAttempt, Superseded } from './shared.ts';
import type { Handler, JobContext } from './types.ts';

const THROTTLE_WAIT_MS = 15_000;

/** The `jobs` field a checklist round is claimed under, and the attempt fence. */
const roundField = (round: string): string => `checklist:round:${round}`;
const FENCE = 'checklist';

/**
 * Queues the checklist when every section of the review is done, once per round. Never fails the
 * section job that calls it: a lost checklist is logged, not the section's problem.
 */
export async function queueChecklistIfDone(context: JobContext, reviewId: string): Promise<void> {
  try {
    const round = await finishedRound(context, reviewId, 1);
    if (!round || !(await claimRound(context, reviewId, roundField(round)))) return;
    await context.enqueue('analysis.checklist', { reviewId, round }, `c.${reviewId}.${round}`);
  } catch (error) {
    context.logger.warn({ err: error, reviewId }, 'could not queue the checklist');
  }
}

export const judgeChecklist: Handler<'analysis.checklist'> = async (job, context, signal) => {
  const { store, provider, logger } = context;
  const { reviewId, round } = job.data;
  const attempt = newAttempt(job.id, job.attemptsMade);
  const fence: Guard = { kind: 'hget', key: 'jobs', field: FENCE, expected: attempt };

  try {
    const rubric = reviewRubric(await store.meta(reviewId));
    const document = await documentContext(store, reviewId);
    await store.setJobField(reviewId, FENCE, attempt);
    let entries: ChecklistEntry[];
    let model = 'rules';
    if (provider.checklist) {
      await assertBudget(store, reviewId, context.tokenBudget);
      const result = await provider.checklist({ document, rubric }, signal ?? new AbortController().signal);
      await store.addUsage(reviewId, result.model, result.usage);
      entries = result.entries;
      model = result.model;
    } else {
      entries = rulesChecklist(document, rubric);
    }
    const at = new Date().toISOString();
    const { written, kept, current } = await store.checklist.refresh(
      reviewId,
      entries.map((entry) => ({ ...entry, round, at })),
      fence,
      at,
    );
    if (!current) throw new Superseded();
    return { written: written.length, kept, model };
  } catch (error) {
    if (error instanceof Superseded) return { superseded: true };
    if (signal?.aborted) return { cancelled: true };
    if (error instanceof ProviderError && error.retryable) {
      await context.rateLimit(THROTTLE_WAIT_MS);
      throw Worker.RateLimitError();
    }
    const message =
      error instanceof ProviderError || error instanceof PrismError ? error.message : 'unexpected failure';
    logger.warn({ err: error, reviewId }, 'checklist failed');
    throw new UnrecoverableError(message);
  }
};
