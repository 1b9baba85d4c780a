/**
 * A revised document's writes (CONTRACT 7.5): one append of `revision.added` that replaces the
 * review's meta and sections, sets changed and new sections `idle`, writes the carried and
 * outdated items, removes the dropped ones, and raises the `revision` key, guarded on everything
 * the decision was read from (the revision, every section's status, every item it touches).
 */
import type { FeedbackItem, ReviewEventData, RevisionInfo, Section, User } from '@prism/core';
import type { AppendResult, EventLog, Guard, Write } from './event-log.ts';
import type { ReviewMeta, SectionStatusRecord, StoredItem } from './reviews.ts';

/** A revision's record in the review's meta: what lists show, and where its original is. */
export interface RevisionRecord extends RevisionInfo {
  original: { key: string; name: string; bytes: number };
}

/** Revision 1 (the upload) of a review never revised. */
export const firstRevision = (meta: ReviewMeta): RevisionRecord => ({
  number: 1,
  at: meta.createdAt,
  by: meta.owner,
  name: meta.original.name,
  changedSections: [],
  newSections: [],
  removedSections: [],
  carried: 0,
  outdated: 0,
  original: meta.original,
});

/** Every revision's record, oldest first. */
export const revisionRecords = (meta: ReviewMeta): RevisionRecord[] =>
  meta.revisions ?? [firstRevision(meta)];

/** Every revision as snapshots show it (without where the originals are). */
export const revisionsOf = (meta: ReviewMeta): RevisionInfo[] =>
  revisionRecords(meta).map(({ original: _original, ...info }) => info);

/** Where a revision's original and its sections' text (for diffs) are kept, under the review's prefix. */
export const revisionObjectKeys = (reviewId: string, revision: number) => ({
  original: `reviews/${reviewId}/revisions/${revision}/original.docx`,
  texts: `reviews/${reviewId}/revisions/${revision}/sections.json`,
});

export interface RevisionWrite {
  reviewId: string;
  actor: User;
  at: string;
  /** The meta of the new revision (its `revision` is the new number). */
  meta: ReviewMeta;
  /** Every section of the new revision. */
  sections: Section[];
  /** The previous revision's status of every section, exactly as read (guards). */
  previousStatuses: Record<string, string>;
  /** Changed and new sections: set `idle`. */
  idle: string[];
  /** Sections the new revision no longer has. */
  removedSections: string[];
  /** Carried and outdated items: their new value and the stored one they replace. */
  updated: { item: FeedbackItem; before: StoredItem }[];
  /** Items removed (pending findings of changed sections). */
  removed: StoredItem[];
  data: ReviewEventData['revision.added'];
}

const IDLE: SectionStatusRecord = { status: 'idle' };

export class RevisionStore {
  private readonly log: EventLog;

  constructor(log: EventLog) {
    this.log = log;
  }

  /** Appends the revision, or nothing when anything it was decided from has changed since. */
  async add(write: RevisionWrite): Promise<AppendResult> {
    const number = write.meta.revision ?? 1;
    const guards: Guard[] = [
      { kind: 'get', key: 'revision', expected: number === 2 ? '' : String(number - 1) },
      ...Object.entries(write.previousStatuses).map(
        ([field, expected]): Guard => ({ kind: 'hget', key: 'status', field, expected }),
      ),
      ...[...write.updated.map(({ before }) => before), ...write.removed].map(
        ({ item, raw }): Guard => ({ kind: 'hget', key: 'feedback', field: item.id, expected: raw }),
      ),
    ];
    const writes: Write[] = [
      { op: 'set', key: 'meta', value: JSON.stringify(write.meta) },
      { op: 'set', key: 'revision', value: String(number) },
      { op: 'del', key: 'sections' },
      ...write.sections.map(
        (section): Write => ({
          op: 'hset',
          key: 'sections',
          field: section.id,
          value: JSON.stringify(section),
        }),
      ),
      ...write.removedSections.map((field): Write => ({ op: 'hdel', key: 'status', field })),
      ...write.idle.map(
        (field): Write => ({ op: 'hset', key: 'status', field, value: JSON.stringify(IDLE) }),
      ),
      ...write.updated.map(
        ({ item }): Write => ({ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(item) }),
      ),
      ...write.removed.map(({ item }): Write => ({ op: 'hdel', key: 'feedback', field: item.id })),
    ];
    return this.log.append(
      {
        reviewId: write.reviewId,
        type: 'revision.added',
        at: write.at,
        actor: write.actor,
        data: write.data,
      },
      { guards, writes },
    );
  }
}
