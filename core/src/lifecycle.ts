/**
 * A review's life: open, then submitted (complete) by an owner or reviewer, reopened by the owner.
 * Pure rules; the server's lifecycle routes turn them into log appends.
 */
import { PrismError } from './errors.ts';
import type { ReviewStatus, SubmitSummary } from './protocol.ts';
import type { FeedbackItem, User } from './schemas.ts';

/** The stored status of a review; no record means `open` (every review before its first submit). */
export interface LifecycleRecord {
  status: ReviewStatus;
  by: User;
  at: string;
}

export const SUBMITTED_MESSAGE = 'This review was submitted; reopen it to change it.';

/** The counts a submit announces: every item by its decision, and the people's own among them. */
export function submitSummary(items: readonly Pick<FeedbackItem, 'status' | 'source'>[]): SubmitSummary {
  const summary: SubmitSummary = { accepted: 0, rejected: 0, pending: 0, custom: 0 };
  for (const item of items) {
    summary[item.status] += 1;
    if (item.source === 'user') summary.custom += 1;
  }
  return summary;
}

/** Decided (accepted or rejected) of all items: the progress a review list shows. */
export function progressOf(items: readonly Pick<FeedbackItem, 'status'>[]): {
  decided: number;
  total: number;
} {
  let decided = 0;
  for (const item of items) if (item.status !== 'pending') decided += 1;
  return { decided, total: items.length };
}

/** A submitted review refuses what would change its findings or conversation until it is reopened. */
export function assertOpen(status: ReviewStatus): void {
  if (status === 'submitted') throw new PrismError('conflict', SUBMITTED_MESSAGE);
}
