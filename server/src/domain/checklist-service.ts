/**
 * Checklist overrides (CONTRACT 7.4): an owner or reviewer gives a checkpoint their own verdict
 * with a comment. The entry becomes source `user` with `by`, is appended to the review's log as
 * `checklist.updated` (live for everyone, kept in the activity) and is never replaced by a later
 * analysis. Verdicts themselves are generated only by workers.
 */
import {
  type ChecklistEntry,
  type ChecklistOverridePayload,
  overrideEntry,
  PrismError,
  type User,
} from '@prism/core';
import { reviewRubric } from '@prism/store';
import type { ReviewService } from './review-service.ts';

export class ChecklistService {
  private readonly reviews: ReviewService;
  private readonly now: () => string;

  constructor(reviews: ReviewService, now: () => string = () => new Date().toISOString()) {
    this.reviews = reviews;
    this.now = now;
  }

  async override(user: User, payload: ChecklistOverridePayload): Promise<ChecklistEntry> {
    const { meta } = await this.reviews.authorize(payload.reviewId, user, 'checklist:override');
    const rubric = reviewRubric(meta);
    if (!rubric.checkpoints.some((c) => c.n === payload.n)) {
      throw new PrismError(
        'invalid',
        `n: the rubric "${rubric.name}" has checkpoints 1 to ${rubric.checkpoints.length}.`,
      );
    }
    const by = { id: user.id, name: user.name };
    return this.reviews.store.checklist.override(
      payload.reviewId,
      (current) => overrideEntry(current, payload.n, payload.verdict, payload.comment, by, this.now()),
      payload.n,
      by,
    );
  }
}
