/**
 * Submitting and reopening a review: one `review.status` event whose append also sets the
 * review's status, guarded on the status it was decided on, so two submits at once make one event
 * and a status never changes without its event. Submitting first stops the analysis still queued
 * or running, so no finding arrives in a completed review.
 */
import { type LifecycleRecord, PrismError, type ReviewStatus, submitSummary, type User } from '@prism/core';
import type { LibraryStore } from '@prism/store';
import type { AiService } from './ai-service.ts';
import type { ReviewService } from './review-service.ts';

const MAX_RACES = 10;

export class LifecycleService {
  private readonly reviews: ReviewService;
  private readonly ai: AiService;
  private readonly now: () => string;
  private readonly library: LibraryStore | undefined;

  constructor(
    reviews: ReviewService,
    ai: AiService,
    library?: LibraryStore,
    now: () => string = () => new Date().toISOString(),
  ) {
    this.reviews = reviews;
    this.ai = ai;
    this.library = library;
    this.now = now;
  }

  /** Owner or reviewer: marks the review submitted (a no-op when it already is). */
  async submit(user: User, reviewId: string): Promise<ReviewStatus> {
    await this.reviews.authorize(reviewId, user, 'review:submit');
    if ((await this.reviews.store.lifecycle(reviewId)).status === 'submitted') return 'submitted';
    await this.ai.cancelAnalysis(user, { reviewId });
    return this.change(user, reviewId, 'submitted');
  }

  /** Owner: opens a submitted review again (a no-op when it is open). */
  async reopen(user: User, reviewId: string): Promise<ReviewStatus> {
    await this.reviews.authorize(reviewId, user, 'review:reopen');
    return this.change(user, reviewId, 'open');
  }

  private async change(user: User, reviewId: string, status: ReviewStatus): Promise<ReviewStatus> {
    const store = this.reviews.store;
    for (let attempt = 0; attempt < MAX_RACES; attempt += 1) {
      const current = await store.lifecycle(reviewId);
      if (current.status === status) return status;
      const items = await store.feedbackItems(reviewId);
      const at = this.now();
      const record: LifecycleRecord = { status, by: user, at };
      const appended = await store.log.append(
        {
          reviewId,
          type: 'review.status',
          at,
          actor: user,
          data: { status, summary: submitSummary(items.map(({ item }) => item)) },
        },
        {
          guards: [{ kind: 'get', key: 'lifecycle', expected: current.raw }],
          writes: [{ op: 'set', key: 'lifecycle', value: JSON.stringify(record) }],
        },
      );
      if (appended.ok) {
        // The library lists it under its new status at once (its activity follows with the event).
        await this.library?.setStatus(reviewId, status, { by: user, at });
        return status;
      }
    }
    throw new PrismError('conflict', "This review's status is changing too fast; try again.");
  }
}
