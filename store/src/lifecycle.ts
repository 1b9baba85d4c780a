/**
 * Reading a review's status and what a review list shows of it (status, progress, last activity).
 * The status changes only through the event log's append (`review.status` with a `set` of the
 * `lifecycle` key), so a snapshot's MULTI always reads a status that agrees with its `seq`.
 */
import {
  type FeedbackItem,
  type LifecycleRecord,
  progressOf,
  type ReviewStatus,
  type ReviewSummary,
  type User,
} from '@prism/core';
import type { Redis } from 'ioredis';
import type { EventLog } from './event-log.ts';

/** What a summary adds to the review's meta: the fields of CONTRACT 7.3. */
export type ReviewState = Pick<ReviewSummary, 'status' | 'progress' | 'updatedAt' | 'submitted'>;

/** The stored record and its exact serialization ('' when absent: the guard of a status change). */
export interface StoredLifecycle {
  status: ReviewStatus;
  record?: LifecycleRecord;
  raw: string;
}

export function parseLifecycle(raw: string | null | undefined): StoredLifecycle {
  if (!raw) return { status: 'open', raw: '' };
  const record = JSON.parse(raw) as LifecycleRecord;
  return { status: record.status, record, raw };
}

/** The `submitted` field of a summary: who and when, only while the review is submitted. */
export const submittedBy = (record: LifecycleRecord | undefined): { submitted?: { by: User; at: string } } =>
  record?.status === 'submitted' ? { submitted: { by: record.by, at: record.at } } : {};

/** The `at` of the newest entry of an XREVRANGE ... COUNT 1 reply, if any. */
export function lastEventAt(entries: [string, string[]][] | null | undefined): string | undefined {
  const fields = entries?.[0]?.[1];
  if (!fields) return undefined;
  return (JSON.parse(fields[1]!) as { at?: string }).at;
}

/** A review's state from its lifecycle record, its items and its last event. */
export function reviewState(
  lifecycle: string | null | undefined,
  items: readonly Pick<FeedbackItem, 'status'>[],
  lastAt: string | undefined,
  createdAt: string,
): ReviewState {
  const { status, record } = parseLifecycle(lifecycle);
  return { status, progress: progressOf(items), updatedAt: lastAt ?? createdAt, ...submittedBy(record) };
}

/**
 * The state of several reviews in one pipeline (each review is its own hash slot, and a list need
 * not be atomic): the lifecycle record, the items' statuses and the newest event of each.
 */
export async function reviewStates(
  redis: Redis,
  log: EventLog,
  reviews: readonly { id: string; createdAt: string }[],
): Promise<Map<string, ReviewState>> {
  const states = new Map<string, ReviewState>();
  if (reviews.length === 0) return states;
  const pipeline = redis.pipeline();
  for (const { id } of reviews) {
    const keys = log.keys(id);
    pipeline.get(keys.lifecycle).hvals(keys.feedback).xrevrange(keys.log, '+', '-', 'COUNT', 1);
  }
  const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  reviews.forEach(({ id, createdAt }, i) => {
    const [lifecycle, items, last] = replies.slice(i * 3, i * 3 + 3) as [
      string | null,
      string[],
      [string, string[]][],
    ];
    const statuses = items.map((raw) => JSON.parse(raw) as Pick<FeedbackItem, 'status'>);
    states.set(id, reviewState(lifecycle, statuses, lastEventAt(last), createdAt));
  });
  return states;
}
