/**
 * Rounds of a review's analysis: once every section is done, the jobs that follow the whole
 * document (the whole-document pass, the checklist) run once per round. A round is the set of
 * section runs they follow (each section's job id), so two sections finishing at the same moment
 * on two workers compute the same round, and only the first claim of it (HSETNX in the review's
 * `jobs` hash) queues the job.
 */
import { createHash } from 'node:crypto';
import { analysisJobField } from '@prism/store';
import type { JobContext } from './types.ts';

/** The round the review's sections make when at least `minSections` (1 or more) exist and all are done. */
export async function finishedRound(
  context: JobContext,
  reviewId: string,
  minSections: number,
): Promise<string | undefined> {
  const sections = await context.store.sections(reviewId);
  if (sections.length < minSections) return undefined;
  const { statuses, jobs } = await context.store.analysisState(reviewId);
  if (!sections.every((s) => statuses[s.id]?.status === 'done')) return undefined;
  const runs = sections.map((s) => `${s.id}=${jobs[analysisJobField(s.id)] ?? ''}`).join('\n');
  return createHash('sha256').update(runs).digest('hex').slice(0, 16);
}

/** True when this call claimed `field` (a round's claim) first. */
export const claimRound = (context: JobContext, reviewId: string, field: string): Promise<boolean> =>
  context.store.claimJobField(reviewId, field, new Date().toISOString());
