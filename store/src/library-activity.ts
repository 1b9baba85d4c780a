/**
 * Keeps library records up to date as reviews change, cheaply and off every command's path. The
 * records are what is left of a review once it is archived, and what idle archiving goes by; a
 * list of reviews in Redis reads their progress and last activity live from each review's own
 * `activity` hash (store/src/activity.ts), which the append keeps, so it never waits for these.
 * Every append of a review's log passes through `noted` (the EventLog's `onAppend`, in servers
 * and workers alike), which only marks the review dirty in memory; at most every `delayMs` per
 * process, each dirty review gets one read of its `activity` hash (no items are read) and one
 * `update` of its record. Joins are mirrored into the record's member roles the same way (a join
 * is not activity: the library sorts by work on the review); `settle` writes a review's pending
 * change at once, for a join, so the person who joined is listed with their role straight away.
 *
 * A process that dies before its flush leaves a record behind by at most `delayMs` of changes;
 * the next change to the review (on any process) brings it up to date.
 */
import type { NewReviewEvent, Role } from '@prism/core';
import type { Redis } from 'ioredis';
import { ActivityStore } from './activity.ts';
import type { LibraryStore, LibraryTouch } from './library.ts';
import { searchText } from './library-text.ts';

interface Dirty {
  at?: string;
  recount: boolean;
  /** The sections of a new revision of the document: the search text changes with them. */
  sections?: readonly { title?: string; text: string }[];
  members: Map<string, Role>;
}

export interface LibraryActivityOptions {
  redis: Redis;
  library: LibraryStore;
  /** Longest a change waits before its record is written (default 250 ms). */
  delayMs?: number;
  onError?: (error: unknown, reviewId: string) => void;
}

/** Whether an event can change a review's items (and so its progress). */
const changesItems = (type: string): boolean => type.startsWith('feedback.') || type.startsWith('revision.');

export class LibraryActivity {
  private readonly activity: ActivityStore;
  private readonly library: LibraryStore;
  private readonly delayMs: number;
  private readonly onError: (error: unknown, reviewId: string) => void;
  private dirty = new Map<string, Dirty>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(options: LibraryActivityOptions) {
    this.activity = new ActivityStore(options.redis, options.library.prefix);
    this.library = options.library;
    this.delayMs = options.delayMs ?? 250;
    this.onError = options.onError ?? (() => {});
  }

  /** An event was appended to a review's log (synchronous and cheap: it only marks the review). */
  noted(event: NewReviewEvent): void {
    let entry = this.dirty.get(event.reviewId);
    if (!entry) {
      entry = { recount: false, members: new Map() };
      this.dirty.set(event.reviewId, entry);
    }
    if (event.type === 'member.joined') {
      const { user, role } = event.data as { user: { id: string }; role: Role };
      entry.members.set(user.id, role);
    } else if (!entry.at || event.at > entry.at) entry.at = event.at;
    if (changesItems(event.type)) entry.recount = true;
    if (event.type === 'revision.added') {
      const { sections } = event.data as { sections?: { title?: string; text?: string }[] };
      if (sections) entry.sections = sections.map(({ title, text }) => ({ title, text: text ?? '' }));
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.delayMs);
  }

  /** Writes every pending change now (tests, and shutdown after the last appends). */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.dirty;
    if (batch.size === 0) return;
    this.dirty = new Map();
    this.flushing = Promise.all([...batch].map(([reviewId, entry]) => this.write(reviewId, entry))).then(
      () => undefined,
    );
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  /** Writes the review's pending change now, if it has one (after a join). */
  async settle(reviewId: string): Promise<void> {
    const entry = this.dirty.get(reviewId);
    if (!entry) return;
    this.dirty.delete(reviewId);
    await this.write(reviewId, entry);
  }

  private async write(reviewId: string, entry: Dirty): Promise<void> {
    try {
      const change: LibraryTouch = entry.at ? { updatedAt: entry.at } : {};
      if (entry.recount) {
        // Undefined once the review left Redis (archived or deleted): its record keeps its counts.
        const activity = await this.activity.read(reviewId);
        if (activity) change.progress = activity.progress;
      }
      if (entry.sections) {
        // A new revision: search the document as it reads now (title words first, as at upload).
        const record = await this.library.get(reviewId);
        if (record) change.text = searchText(record.title, entry.sections);
      }
      await this.library.update(reviewId, change);
      // Joins are rare: one small write each.
      for (const [userId, role] of entry.members)
        await this.library.update(reviewId, { member: { userId, role } });
    } catch (error) {
      this.onError(error, reviewId);
    }
  }

  /** Flushes what is pending; call before closing the Redis connection. */
  async close(): Promise<void> {
    await this.flush();
  }
}
