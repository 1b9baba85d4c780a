/**
 * Keeps library records true as reviews change, cheaply. Every append of a review's log passes
 * through `noted` (the EventLog's `onAppend`, in servers and workers alike), which only marks the
 * review dirty in memory; at most every `delayMs` per process, each dirty review gets one count of
 * its items inside Redis (a script on the review's own slot: no items travel) and one `update` of
 * its record. A room streaming chat deltas or findings costs a handful of writes a second, never
 * one per token or per event. Joins are mirrored into the record's member roles the same way; a
 * join is not activity (it does not move `updatedAt`): the library sorts by work on the review.
 * People's own commands (decisions, items, joins) call `settle` before they answer, so whoever
 * made a change sees it in the library at once; the debounce is for what workers stream.
 *
 * A process that dies before its flush leaves a record behind by at most `delayMs` of changes;
 * the next change to the review (on any process) brings it up to date.
 */
import type { NewReviewEvent, Role } from '@prism/core';
import type { Redis } from 'ioredis';
import { reviewKeys } from './keys.ts';
import type { LibraryStore, LibraryTouch } from './library.ts';
import { searchText } from './library-text.ts';

// KEYS: the review's feedback hash. Returns {decided, total}.
const PROGRESS_SCRIPT = `
local items = redis.call('HVALS', KEYS[1])
local decided = 0
for i = 1, #items do
  local ok, item = pcall(cjson.decode, items[i])
  if ok and item.status ~= 'pending' then decided = decided + 1 end
end
return {decided, #items}
`;

type Scripted = Redis & { prismLibraryProgress(n: number, key: string): Promise<[number, number]> };

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
  private readonly redis: Scripted;
  private readonly library: LibraryStore;
  private readonly delayMs: number;
  private readonly onError: (error: unknown, reviewId: string) => void;
  private dirty = new Map<string, Dirty>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(options: LibraryActivityOptions) {
    if (!('prismLibraryProgress' in options.redis)) {
      options.redis.defineCommand('prismLibraryProgress', { lua: PROGRESS_SCRIPT });
    }
    this.redis = options.redis as Scripted;
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

  /** Writes the review's pending change now, if it has one (before a command answers). */
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
        const [decided, total] = await this.redis.prismLibraryProgress(
          1,
          reviewKeys(this.library.prefix, reviewId).feedback,
        );
        change.progress = { decided: Number(decided), total: Number(total) };
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
