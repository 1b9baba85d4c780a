/**
 * The checklist's typed writes (CONTRACT 7.4): the review's `checklist` hash holds one entry per
 * checkpoint, and every change is a `checklist.updated` append guarded by the exact entry read,
 * so a person's override and a worker's refresh never cross. A worker's entries are also fenced by
 * its attempt: a superseded attempt writes nothing.
 */
import {
  type ChecklistEntry,
  DEFAULT_REVIEW_RUBRIC,
  mayRefresh,
  PRISM_ACTOR,
  PrismError,
  type Rubric,
  sortChecklist,
  type User,
} from '@prism/core';
import type { Redis } from 'ioredis';
import type { EventLog, Guard, PendingAppend } from './event-log.ts';
import { parseAll } from './hash-values.ts';

/** An entry and its exact stored serialization (the guard of a compare-and-set append). */
export interface StoredEntry {
  entry: ChecklistEntry;
  raw: string;
}

/** The rubric a review is judged against: its own (a workspace rubric, kept at upload), else the default. */
export const reviewRubric = (meta: { rubric?: Rubric } | undefined): Rubric =>
  meta?.rubric ?? DEFAULT_REVIEW_RUBRIC;

/** Parses the `checklist` hash into entries in checkpoint order. */
export const checklistFrom = (hash: Record<string, string>): ChecklistEntry[] =>
  sortChecklist(parseAll<ChecklistEntry>(hash));

/** What a worker's refresh did: entries written, and those kept (a person's override, or already written). */
export interface RefreshResult {
  written: ChecklistEntry[];
  kept: number[];
  /** False when the attempt's fence no longer held (a newer attempt took over): nothing more was written. */
  current: boolean;
}

const MAX_RACES = 5;

export class ChecklistStore {
  private readonly redis: Redis;
  private readonly log: EventLog;

  constructor(redis: Redis, log: EventLog) {
    this.redis = redis;
    this.log = log;
  }

  async entries(reviewId: string): Promise<Map<number, StoredEntry>> {
    const hash = await this.redis.hgetall(this.log.keys(reviewId).checklist);
    return new Map(
      Object.entries(hash).map(([n, raw]) => [Number(n), { entry: JSON.parse(raw) as ChecklistEntry, raw }]),
    );
  }

  async entry(reviewId: string, n: number): Promise<StoredEntry | undefined> {
    const raw = await this.redis.hget(this.log.keys(reviewId).checklist, String(n));
    return raw ? { entry: JSON.parse(raw) as ChecklistEntry, raw } : undefined;
  }

  /**
   * Writes a worker's verdicts, all in one atomic append when nothing raced: each entry guarded by
   * the attempt's `fence` and by the entry it replaces. A person's override is never replaced, and
   * an entry of the same round is not written again (a retried job).
   */
  async refresh(
    reviewId: string,
    entries: ChecklistEntry[],
    fence: Guard,
    at: string = new Date().toISOString(),
  ): Promise<RefreshResult> {
    const written: ChecklistEntry[] = [];
    const kept: number[] = [];
    let todo = entries;
    for (let race = 0; race < MAX_RACES && todo.length > 0; race += 1) {
      const stored = await this.entries(reviewId);
      const appends: PendingAppend[] = [];
      const planned: ChecklistEntry[] = [];
      for (const entry of todo) {
        const current = stored.get(entry.n);
        if (!mayRefresh(current?.entry, entry)) {
          kept.push(entry.n);
          continue;
        }
        planned.push(entry);
        appends.push({
          event: { reviewId, type: 'checklist.updated', at, actor: PRISM_ACTOR, data: entry },
          options: {
            guards: [
              fence,
              { kind: 'hget', key: 'checklist', field: String(entry.n), expected: current?.raw ?? '' },
            ],
            writes: [{ op: 'hset', key: 'checklist', field: String(entry.n), value: JSON.stringify(entry) }],
          },
        });
      }
      const results = await this.log.appendMany(appends);
      const raced: ChecklistEntry[] = [];
      for (const [i, result] of results.entries()) {
        if (result.ok) written.push(planned[i]!);
        else if (result.guard === 2) raced.push(planned[i]!);
        else return { written, kept, current: false };
      }
      todo = raced;
    }
    return { written, kept, current: true };
  }

  /** A person's override: replaces whatever the entry holds, compare-and-set against a racing write. */
  async override(
    reviewId: string,
    make: (current: ChecklistEntry | undefined) => ChecklistEntry,
    n: number,
    actor: User,
  ): Promise<ChecklistEntry> {
    for (let race = 0; race < MAX_RACES * 4; race += 1) {
      const current = await this.entry(reviewId, n);
      const entry = make(current?.entry);
      const result = await this.log.append(
        { reviewId, type: 'checklist.updated', at: entry.at ?? new Date().toISOString(), actor, data: entry },
        {
          guards: [{ kind: 'hget', key: 'checklist', field: String(n), expected: current?.raw ?? '' }],
          writes: [{ op: 'hset', key: 'checklist', field: String(n), value: JSON.stringify(entry) }],
        },
      );
      if (result.ok) return entry;
      if (result.guard === 0) throw new PrismError('not_found', 'There is no review with this id.');
    }
    throw new Error('the checklist kept changing; try again');
  }
}
