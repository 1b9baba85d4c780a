/**
 * Idle archiving and retention (CONTRACT 7.1): a review untouched for REVIEW_ARCHIVE_AFTER_DAYS
 * (30) is archived to the object store and leaves Redis; one untouched for REVIEW_RETENTION_DAYS
 * (unset: kept for ever) is deleted, archive included. Untouched = since its last activity: the
 * `at` of its last event, or its library record's `updatedAt`, whichever is later. Every worker
 * runs a pass now and then; a pass takes a short lock per review, and archiving itself only
 * removes keys whose `seq` did not move, so any number of workers may run at once.
 */
import { PRISM_ACTOR } from '@prism/core';
import {
  ArchiveStore,
  AuditLog,
  deleteAndAudit,
  type EventLog,
  type LibraryStore,
  lastEventAt,
  type ObjectStore,
  scanKeys,
} from '@prism/store';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

const DAY_MS = 24 * 60 * 60 * 1000;
const LOCK_MS = 5 * 60_000;

export interface RetentionSettings {
  archiveAfterDays: number;
  /** Undefined: keep reviews for ever. */
  retentionDays?: number | undefined;
  /** How often each worker runs a pass. */
  intervalMs: number;
}

/** Reads REVIEW_ARCHIVE_AFTER_DAYS (30), REVIEW_RETENTION_DAYS (unset) and RETENTION_INTERVAL_MS (1 h). */
export function retentionSettings(source: NodeJS.ProcessEnv): RetentionSettings {
  const days = (name: string, fallback?: number): number | undefined => {
    const raw = source[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of days`);
    return value;
  };
  const interval = Number(source.RETENTION_INTERVAL_MS?.trim() || 3_600_000);
  if (!Number.isInteger(interval) || interval < 1000) {
    throw new Error('RETENTION_INTERVAL_MS must be a whole number of milliseconds, at least 1000');
  }
  return {
    archiveAfterDays: days('REVIEW_ARCHIVE_AFTER_DAYS', 30)!,
    retentionDays: days('REVIEW_RETENTION_DAYS'),
    intervalMs: interval,
  };
}

export interface RetentionDeps {
  redis: Redis;
  log: EventLog;
  objects: ObjectStore;
  library: LibraryStore;
  settings: RetentionSettings;
  logger?: Logger;
}

export interface RetentionResult {
  archived: string[];
  deleted: string[];
}

const idOf = (key: string): string | undefined => /\{([^}]+)\}/.exec(key)?.[1];

/** The reviews Prism holds: those in Redis (by meta) and those the library knows (archived ones too). */
async function reviewIds(redis: Redis, prefix: string): Promise<string[]> {
  const [metas, homes] = await Promise.all([
    scanKeys(redis, `${prefix}review:{*}:meta`),
    scanKeys(redis, `${prefix}library:review:{*}:home`),
  ]);
  const ids = new Set<string>();
  for (const key of [...metas, ...homes]) {
    const id = idOf(key);
    if (id) ids.add(id);
  }
  return [...ids];
}

/** When the review last changed: its last event's `at`, or its library record's `updatedAt`. */
async function lastActivity(deps: RetentionDeps, archives: ArchiveStore, reviewId: string): Promise<number> {
  const keys = deps.log.keys(reviewId);
  const [last, record] = await Promise.all([
    deps.redis.xrevrange(keys.log, '+', '-', 'COUNT', 1) as Promise<[string, string[]][]>,
    deps.library.get(reviewId),
  ]);
  const times: number[] = [];
  const lastAt = lastEventAt(last);
  if (lastAt) times.push(Date.parse(lastAt));
  if (record?.updatedAt) times.push(Date.parse(record.updatedAt));
  if (times.length === 0) {
    // Neither in Redis nor in the library: an archive alone; its last archived event says.
    const archive = await archives.read(reviewId);
    const log = archive?.keys.log;
    const archivedAt = log?.type === 'stream' ? lastEventAt(log.entries.slice(-1)) : undefined;
    if (archivedAt) times.push(Date.parse(archivedAt));
  }
  return times.length > 0 ? Math.max(...times.filter(Number.isFinite)) : Number.NaN;
}

/**
 * One pass over every review at time `now`. Archives (and deletes) what has been idle long
 * enough; a review another worker holds right now is left for the next pass.
 */
export async function runRetention(deps: RetentionDeps, now: Date = new Date()): Promise<RetentionResult> {
  const { redis, log, objects, library, settings } = deps;
  const archives = new ArchiveStore(redis, log, objects, () => now);
  const audit = new AuditLog(redis, log.prefix);
  const result: RetentionResult = { archived: [], deleted: [] };
  for (const reviewId of await reviewIds(redis, log.prefix)) {
    const lock = `${log.prefix}retention:{${reviewId}}`;
    if ((await redis.set(lock, String(process.pid), 'PX', LOCK_MS, 'NX')) !== 'OK') continue;
    try {
      const at = await lastActivity(deps, archives, reviewId);
      if (!Number.isFinite(at)) continue;
      const idle = now.getTime() - at;
      if (settings.retentionDays !== undefined && idle >= settings.retentionDays * DAY_MS) {
        const deleted = await deleteAndAudit(
          { archives, redis, log, objects, audit, library },
          reviewId,
          PRISM_ACTOR,
          now.toISOString(),
        );
        if (deleted) result.deleted.push(reviewId);
        // No review behind the record (nor an archive): the record goes all the same.
        else await library.remove(reviewId);
      } else if (idle >= settings.archiveAfterDays * DAY_MS && (await archives.archive(reviewId))) {
        await library.setStatus(reviewId, 'archived');
        result.archived.push(reviewId);
      }
    } catch (error) {
      deps.logger?.warn({ err: error, reviewId }, 'retention pass skipped a review');
    } finally {
      await redis.del(lock);
    }
  }
  return result;
}

/** Runs a pass every `intervalMs` (the first soon after start); stop() waits for a running one. */
export function scheduleRetention(deps: RetentionDeps): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    running = runRetention(deps).catch((error: unknown) =>
      deps.logger?.warn({ err: error }, 'retention pass failed'),
    );
  };
  const first = setTimeout(tick, Math.min(deps.settings.intervalMs, 60_000));
  const timer = setInterval(tick, deps.settings.intervalMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
