/**
 * A review's archive (CONTRACT 7.3): every key of the review, the whole event log with its stream
 * ids included, as one versioned gzip JSON object in the object store. Archiving writes the object,
 * reads it back and compares, and only then removes the keys, in one script that first checks the
 * review's `seq` is still the one archived (an event that landed meanwhile makes it start over).
 * Restoring writes the keys back exactly as they were, under a single-slot lock so two instances
 * restoring at once restore once (the other waits for it), then removes the object.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ReviewEvent, User } from '@prism/core';
import type { Redis } from 'ioredis';
import type { AuditLog } from './audit.ts';
import type { EventLog } from './event-log.ts';
import type { ReviewKeys } from './keys.ts';
import type { LibraryStore } from './library.ts';
import type { ObjectStore } from './objects.ts';
import type { ReviewMeta } from './reviews.ts';

export const ARCHIVE_FORMAT = 'prism.review-archive';
export const ARCHIVE_VERSION = 1;

/** One key as archived: a string, a hash, or the event stream (`[id, [field, value, ...]]`). */
export type ArchivedKey =
  | { type: 'string'; value: string }
  | { type: 'hash'; value: Record<string, string> }
  | { type: 'stream'; entries: [string, string[]][] };

/**
 * The archive object, version 1: each key the review had, by its name in `ReviewKeys`, exactly as
 * Redis held it (a key the review never had is absent).
 */
export interface ReviewArchive {
  format: typeof ARCHIVE_FORMAT;
  version: typeof ARCHIVE_VERSION;
  reviewId: string;
  archivedAt: string;
  seq: number;
  keys: Partial<Record<KeyName, ArchivedKey>>;
}

type KeyName = Exclude<keyof ReviewKeys, 'channel'>;

/** The names of every stored key of a review (all but its pub/sub channel), as `reviewKeys` has them. */
const keyNames = (keys: ReviewKeys): KeyName[] =>
  (Object.keys(keys) as (keyof ReviewKeys)[]).filter((name): name is KeyName => name !== 'channel');

// KEYS: every key of the review. Reads each by its type, atomically: {type, value} per key.
const READ_ALL = `
local out = {}
for i, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key).ok
  if t == 'string' then out[i] = {t, redis.call('GET', key)}
  elseif t == 'hash' then out[i] = {t, redis.call('HGETALL', key)}
  elseif t == 'stream' then out[i] = {t, redis.call('XRANGE', key, '-', '+')}
  elseif t == 'none' then out[i] = {t}
  else return redis.error_reply('unexpected type ' .. t .. ' of ' .. key) end
end
return out
`;

/** The ids Prism gives reviews (a kind prefix and base64url), the only ones archives are written for. */
const ARCHIVABLE_ID = /^[A-Za-z0-9_-]{1,200}$/;

/** Where a review's objects live; everything under it goes when the review is deleted. */
export const reviewObjectPrefix = (reviewId: string): string => `reviews/${reviewId}/`;
export const archiveObjectKey = (reviewId: string): string => `reviews/${reviewId}/archive.json.gz`;

/** The review's stored keys: what archive and delete remove. */
export const allReviewKeys = (keys: ReviewKeys): string[] => keyNames(keys).map((name) => keys[name]);
const lockKey = (keys: ReviewKeys): string => keys.meta.replace(/:meta$/, ':restoring');

// KEYS: seq, then every key to remove. ARGV: the seq archived. Removes them only if seq is unchanged.
const REMOVE_IF_SEQ = `
local seq = redis.call('GET', KEYS[1])
if seq == false then seq = '0' end
if seq ~= ARGV[1] then return 0 end
redis.call('DEL', unpack(KEYS))
return 1
`;

// KEYS: the lock. ARGV: the holder's token. Releases the lock only if it is still the holder's.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type Scripted = Redis & {
  prismReadReview(numKeys: number, ...keys: string[]): Promise<[string, unknown?][]>;
  prismRemoveIfSeq(numKeys: number, ...args: string[]): Promise<number>;
  prismReleaseLock(numKeys: number, ...args: string[]): Promise<number>;
};

const MAX_RACES = 5;
const LOCK_MS = 60_000;

export class ArchiveStore {
  private readonly redis: Scripted;
  private readonly log: EventLog;
  private readonly objects: ObjectStore;
  private readonly now: () => Date;

  constructor(redis: Redis, log: EventLog, objects: ObjectStore, now: () => Date = () => new Date()) {
    if (!('prismReadReview' in redis)) redis.defineCommand('prismReadReview', { lua: READ_ALL });
    if (!('prismRemoveIfSeq' in redis)) redis.defineCommand('prismRemoveIfSeq', { lua: REMOVE_IF_SEQ });
    if (!('prismReleaseLock' in redis)) redis.defineCommand('prismReleaseLock', { lua: RELEASE });
    this.redis = redis as Scripted;
    this.log = log;
    this.objects = objects;
    this.now = now;
  }

  /** Everything the review holds in Redis, read atomically; undefined when it has no meta. */
  async dump(reviewId: string): Promise<ReviewArchive | undefined> {
    const keys = this.log.keys(reviewId);
    const names = keyNames(keys);
    const replies = await this.redis.prismReadReview(names.length, ...names.map((name) => keys[name]));
    const archived: ReviewArchive['keys'] = {};
    names.forEach((name, i) => {
      const [type, value] = replies[i] ?? ['none'];
      if (type === 'string') archived[name] = { type, value: value as string };
      else if (type === 'hash') {
        const flat = value as string[];
        const hash: Record<string, string> = {};
        for (let f = 0; f < flat.length; f += 2) hash[flat[f]!] = flat[f + 1]!;
        archived[name] = { type, value: hash };
      } else if (type === 'stream') archived[name] = { type, entries: value as [string, string[]][] };
    });
    const meta = archived.meta;
    if (meta?.type !== 'string') return undefined;
    const seq = archived.seq;
    return {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      reviewId,
      archivedAt: this.now().toISOString(),
      seq: seq?.type === 'string' ? Number(seq.value) : 0,
      keys: archived,
    };
  }

  /**
   * Moves the review to the object store. False when it has no keys (already archived, or gone).
   * Throws, leaving every key in place, when the object cannot be written or does not read back.
   */
  async archive(reviewId: string): Promise<boolean> {
    return this.locked(reviewId, () => this.archiveHeld(reviewId));
  }

  private async archiveHeld(reviewId: string): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_RACES; attempt += 1) {
      const archive = await this.dump(reviewId);
      if (!archive) return false;
      const body = gzipSync(JSON.stringify(archive));
      const key = archiveObjectKey(reviewId);
      await this.objects.put(key, body, 'application/gzip');
      const back = await this.objects.get(key);
      if (!back.equals(body)) throw new Error(`the archive of ${reviewId} did not read back as written`);
      const keys = this.log.keys(reviewId);
      const removed = await this.redis.prismRemoveIfSeq(
        allReviewKeys(keys).length,
        ...allReviewKeys(keys),
        String(archive.seq),
      );
      if (removed === 1) return true;
    }
    throw new Error(`review ${reviewId} kept changing while it was archived`);
  }

  /** The archive object, or undefined when there is none. */
  async read(reviewId: string): Promise<ReviewArchive | undefined> {
    let body: Buffer;
    try {
      body = await this.objects.get(archiveObjectKey(reviewId));
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw error;
    }
    const archive = JSON.parse(gunzipSync(body).toString('utf8')) as ReviewArchive;
    if (archive.format !== ARCHIVE_FORMAT || archive.version !== ARCHIVE_VERSION) {
      throw new Error(`review ${reviewId}: unknown archive format ${archive.format} v${archive.version}`);
    }
    return archive;
  }

  /**
   * Brings an archived review back into Redis, exactly as it was archived. True when the review is
   * in Redis afterwards (restored here, by another instance meanwhile, or never archived); false
   * when there is neither a review nor an archive of it.
   */
  async restore(reviewId: string): Promise<boolean> {
    // Only an id that names a folder of the store can have been archived: anything else (a NUL,
    // a slash, a quote from a hostile payload) has no archive, and is not looked up.
    if (!ARCHIVABLE_ID.test(reviewId)) return false;
    const keys = this.log.keys(reviewId);
    if ((await this.redis.exists(keys.meta)) === 1) return true;
    return this.locked(reviewId, () => this.restoreHeld(reviewId, keys));
  }

  /**
   * Runs `work` holding the review's single-slot lock (archive and restore never overlap, and
   * two restores make one); a caller that finds it held waits for its holder to finish.
   */
  private async locked<T>(reviewId: string, work: () => Promise<T>): Promise<T> {
    const lock = lockKey(this.log.keys(reviewId));
    const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
    const deadline = Date.now() + LOCK_MS;
    while (Date.now() < deadline) {
      if ((await this.redis.set(lock, token, 'PX', LOCK_MS, 'NX')) === 'OK') {
        try {
          return await work();
        } finally {
          await this.redis.prismReleaseLock(1, lock, token);
        }
      }
      await new Promise((done) => setTimeout(done, 25));
    }
    throw new Error(`review ${reviewId} stayed locked for ${LOCK_MS} ms`);
  }

  private async restoreHeld(reviewId: string, keys: ReviewKeys): Promise<boolean> {
    if ((await this.redis.exists(keys.meta)) === 1) return true;
    const archive = await this.read(reviewId);
    if (!archive) return false;
    const multi = this.redis.multi();
    const entries = Object.entries(archive.keys) as [KeyName, ArchivedKey][];
    // Meta last: a review is whole once its meta is there.
    entries.sort(([x], [y]) => Number(x === 'meta') - Number(y === 'meta'));
    for (const [name, stored] of entries) {
      const key = keys[name];
      if (stored.type === 'string') multi.set(key, stored.value);
      else if (stored.type === 'hash') multi.hset(key, stored.value);
      else for (const [id, fields] of stored.entries) multi.xadd(key, id, ...fields);
    }
    const replies = (await multi.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    await this.objects.delete(archiveObjectKey(reviewId));
    return true;
  }

  /** Removes every key of the review (its lock included). */
  async removeKeys(reviewId: string): Promise<void> {
    const keys = this.log.keys(reviewId);
    await this.redis.del(...allReviewKeys(keys), lockKey(keys));
  }
}

/** What deleting a review found: its meta, as it was. */
export interface DeletedReview {
  meta: ReviewMeta;
}

/**
 * Deletes a review wherever it is (in Redis or archived): the room hears `review.deleted` (the
 * last event of its log), then every key goes, then every object (its folder, the archive, and
 * each exported package folder its log names). Undefined when there was no such review.
 */
export async function deleteReview(
  archives: ArchiveStore,
  redis: Redis,
  log: EventLog,
  objects: ObjectStore,
  reviewId: string,
  by: User,
  at: string = new Date().toISOString(),
): Promise<DeletedReview | undefined> {
  const keys = log.keys(reviewId);
  const raw = await redis.get(keys.meta);
  let meta: ReviewMeta;
  let events: ReviewEvent[];
  if (raw) {
    meta = JSON.parse(raw) as ReviewMeta;
    events = await log.all(reviewId);
    await log.append({ reviewId, type: 'review.deleted', at, actor: by, data: { title: meta.title } });
  } else {
    const archive = await archives.read(reviewId);
    if (!archive) return undefined;
    meta = JSON.parse((archive.keys.meta as { value: string }).value) as ReviewMeta;
    const log = archive.keys.log;
    events = (log?.type === 'stream' ? log.entries : []).map(
      ([, fields]) => JSON.parse(fields[1]!) as ReviewEvent,
    );
  }
  await archives.removeKeys(reviewId);
  const folders = new Set<string>();
  for (const event of events) {
    if (event.type === 'export.ready' && event.data.location.endsWith('/')) folders.add(event.data.location);
  }
  for (const folder of folders) await objects.deletePrefix(folder);
  await objects.deletePrefix(reviewObjectPrefix(reviewId));
  // A restore that raced the delete (it read the archive before it went) leaves nothing either.
  await archives.removeKeys(reviewId);
  return { meta };
}

/**
 * Deletes a review (`deleteReview`) and says so: one `review.deleted` line in the audit log of its
 * home (the library record's workspace, else the meta's, else its owner), then its library record
 * goes. Undefined, and nothing written, when there was no such review.
 */
export async function deleteAndAudit(
  deps: {
    archives: ArchiveStore;
    redis: Redis;
    log: EventLog;
    objects: ObjectStore;
    audit: AuditLog;
    library?: LibraryStore | undefined;
  },
  reviewId: string,
  by: User,
  at: string = new Date().toISOString(),
): Promise<DeletedReview | undefined> {
  const record = await deps.library?.get(reviewId);
  const deleted = await deleteReview(deps.archives, deps.redis, deps.log, deps.objects, reviewId, by, at);
  if (!deleted) return undefined;
  const { meta } = deleted;
  const workspaceId = record?.workspaceId ?? meta.workspaceId;
  await deps.audit.write(workspaceId ? { workspaceId } : { userId: meta.owner.id }, {
    at,
    by,
    action: 'review.deleted',
    reviewId,
    title: meta.title,
  });
  await deps.library?.remove(reviewId);
  return deleted;
}
