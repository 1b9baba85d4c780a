/**
 * Redis key names. Every key of a review carries the hash tag `{reviewId}`, so the append script
 * (which touches several of them) runs unchanged on a Redis cluster.
 */
export interface ReviewKeys {
  seq: string;
  log: string;
  channel: string;
  meta: string;
  sections: string;
  status: string;
  members: string;
  feedback: string;
  chat: string;
  partials: string;
  usage: string;
  /** Attempt fences and job ids: `analysis:<sectionId>`, `chat:<messageId>`. */
  jobs: string;
  /** The review's status record (`LifecycleRecord` JSON); absent while it was never submitted. */
  lifecycle: string;
  /** The document's latest revision number (CONTRACT 7.5); absent while it has only its upload. */
  revision: string;
  /** The checklist's verdicts: checkpoint `n` -> `ChecklistEntry` JSON (CONTRACT 7.4). */
  checklist: string;
  /** The team's preferences taken when its analysis last started (`TeamPreferences` JSON, field `preferences`). */
  learning: string;
  /**
   * What the library shows of the review, kept by the event log's append with every item write
   * (event-log.ts): `decided` and `total` (its items' progress) and `updatedAt` (its last activity).
   */
  activity: string;
}

export function reviewKeys(prefix: string, reviewId: string): ReviewKeys {
  const base = `${prefix}review:{${reviewId}}`;
  return {
    seq: `${base}:seq`,
    log: `${base}:log`,
    channel: `${base}:events`,
    meta: `${base}:meta`,
    sections: `${base}:sections`,
    status: `${base}:status`,
    members: `${base}:members`,
    feedback: `${base}:feedback`,
    chat: `${base}:chat`,
    partials: `${base}:partials`,
    usage: `${base}:usage`,
    jobs: `${base}:jobs`,
    lifecycle: `${base}:lifecycle`,
    revision: `${base}:revision`,
    checklist: `${base}:checklist`,
    learning: `${base}:learning`,
    activity: `${base}:activity`,
  };
}

/** Cross-instance control messages (cancel a job wherever it runs). */
export const controlChannel = (prefix: string): string => `${prefix}control`;

/** The reviews a user belongs to (outside the review's hash slot; written after the member). */
export const userReviewsKey = (prefix: string, userId: string): string => `${prefix}user:{${userId}}:reviews`;
