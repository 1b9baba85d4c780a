/**
 * Where the open review is in its life (CONTRACT 7.3): open, or submitted by someone (then read-only
 * until the owner reopens it). Loaded from the snapshot, changed by the `review.status` event, so every
 * member sees a submit the moment it is logged. The room owns one and calls `load` and `apply`.
 */
import { reviewPath } from '../api.ts';
import type { ReviewEvent, ReviewSnapshot, ReviewStatus, User } from '../types.ts';

export class ReviewLifecycle {
  status = $state<ReviewStatus>('open');
  /** Who submitted and when, while submitted. */
  submitted = $state.raw<{ by: User; at: string } | null>(null);

  readonly isSubmitted: boolean = $derived(this.status === 'submitted');

  load(snapshot: Pick<ReviewSnapshot, 'status' | 'submitted'>): void {
    // Older servers send no status: such a review is open.
    this.status = snapshot.status ?? 'open';
    this.submitted = snapshot.submitted ?? null;
  }

  /** Any event of the log; only `review.status` changes anything here. */
  apply(event: ReviewEvent): void {
    if (event.type !== 'review.status') return;
    this.status = event.data.status;
    this.submitted = event.data.status === 'submitted' ? { by: event.actor, at: event.at } : null;
  }
}

// The counts a submit announces: the server's own rule (core imports nothing heavier than its error codes).
export { submitSummary } from '../../../../core/src/lifecycle.ts';

/** Where the review package downloads as a zip (a plain link: the session cookie goes with it). */
export const packageUrl = (reviewId: string): string => reviewPath(reviewId, 'package');
