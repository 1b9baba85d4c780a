/**
 * The review library: one record per review (title, owner, workspace, status, progress, last
 * activity) and the text its search covers, kept OUTSIDE the review's own keys, so a review that
 * was archived (its `review:{id}:*` keys gone) is still listed and found.
 *
 * A record lives in its review's home: the review's workspace, or its owner when it has none.
 * Each home is one hash tag (`library:{ws:<id>}` / `library:{user:<id>}`), and every write below
 * is one script on one home, so no command spans two slots of a Redis Cluster:
 *
 *   library:{home}:records   hash     reviewId -> LibraryRecord JSON
 *   library:{home}:texts     hash     reviewId -> search text (title + the document's distinct words)
 *   library:{home}:recent    zset     reviewId -> updatedAt (ms): the home's reviews by last activity
 *   library:{home}:version   counter  +1 on every change of the home's records
 *   library:{home}:changes   zset     reviewId -> the version of its last change (removed ones too)
 *   library:review:{id}:home string   the review's home (never changes), under the review's own tag
 *
 * `version` and `changes` let a server that cached a home at version v ask for exactly what
 * changed since (`read(home, v)`), instead of reading the whole home again. A change that alters
 * nothing (a touch with the same progress and an older time) does not bump the version, so caches
 * stay warm while a room streams. The person's index is the membership set the review store keeps
 * (`user:{id}:reviews`, see keys.ts): the reviews a person belongs to, whatever their home.
 */
import type { ReviewStatus, Role, SectionRef, User } from '@prism/core';
import type { Redis } from 'ioredis';
import { userReviewsKey } from './keys.ts';

/** What the library knows of a review (CONTRACT 7.3 `ReviewSummary` fields, minus the caller's role). */
export interface LibraryRecord {
  id: string;
  title: string;
  owner: User;
  workspaceId?: string;
  status: ReviewStatus;
  progress: { decided: number; total: number };
  createdAt: string;
  /** The time of the review's last activity. */
  updatedAt: string;
  /** +1 whenever the search text changes: a cache re-indexes a review only when this moved. */
  textRev: number;
  sections: SectionRef[];
  /** Each member's role in the review itself (mirrors its membership, kept after archive). */
  members: Record<string, Role>;
  /** Who submitted it and when, while it is `submitted`. */
  submitted?: { by: User; at: string };
}

/** A new review for the library; its search text is given whole (callers cap it: `MAX_SEARCH_TEXT`). */
export interface NewLibraryRecord {
  id: string;
  title: string;
  owner: User;
  workspaceId?: string | undefined;
  createdAt: string;
  sections: SectionRef[];
  status?: ReviewStatus;
  progress?: { decided: number; total: number };
  updatedAt?: string;
  members?: Record<string, Role>;
  submitted?: { by: User; at: string } | undefined;
  text: string;
}

/** A home's changes since a version: `full` when the caller's version was unusable (everything is here). */
export interface LibraryChanges {
  version: number;
  full: boolean;
  /** Changed records; `null` for a review removed since. */
  changed: Map<string, LibraryRecord | null>;
}

/** Search text past this many characters is cut (the distinct words of a few hundred pages). */
export const MAX_SEARCH_TEXT = 60_000;

/** A review's home: `ws:<workspaceId>` or `user:<ownerId>`. */
export const libraryHome = (record: { workspaceId?: string | undefined; owner: User }): string =>
  record.workspaceId ? `ws:${record.workspaceId}` : `user:${record.owner.id}`;

export interface LibraryKeys {
  version: string;
  changes: string;
  recent: string;
  records: string;
  texts: string;
}

export function libraryKeys(prefix: string, home: string): LibraryKeys {
  const base = `${prefix}library:{${home}}`;
  return {
    version: `${base}:version`,
    changes: `${base}:changes`,
    recent: `${base}:recent`,
    records: `${base}:records`,
    texts: `${base}:texts`,
  };
}

/** The keys the record, touch and remove scripts take, in their KEYS order (with their count first). */
const scriptKeys = (keys: LibraryKeys): [5, string, string, string, string, string] => [
  5,
  keys.version,
  keys.changes,
  keys.recent,
  keys.records,
  keys.texts,
];

/** Where a review's record lives (under the review's own tag, but not one of `reviewKeys`). */
export const libraryHomeKey = (prefix: string, reviewId: string): string =>
  `${prefix}library:review:{${reviewId}}:home`;

// KEYS: version, changes, recent, records, texts. ARGV: id, record JSON, text, updatedAt ms.
const RECORD_SCRIPT = `
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
local v = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], v, ARGV[1])
return v
`;

// KEYS: version, changes, recent, records, texts. ARGV: id, updatedAt ('' keeps), updatedAt ms,
// decided ('' keeps), total, status ('' keeps), search text ('' keeps), submitted JSON (with a
// status: '' clears it), member id ('' none), member role. Returns the new version, or 0 when
// nothing changed (or there is no record).
const TOUCH_SCRIPT = `
local raw = redis.call('HGET', KEYS[4], ARGV[1])
if not raw then return 0 end
local r = cjson.decode(raw)
local changed = false
if ARGV[2] ~= '' and ARGV[2] > r.updatedAt then
  r.updatedAt = ARGV[2]
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  changed = true
end
if ARGV[4] ~= '' then
  local decided, total = tonumber(ARGV[4]), tonumber(ARGV[5])
  if r.progress.decided ~= decided or r.progress.total ~= total then
    r.progress = { decided = decided, total = total }
    changed = true
  end
end
if ARGV[6] ~= '' then
  if r.status ~= ARGV[6] then changed = true end
  r.status = ARGV[6]
  if ARGV[8] ~= '' then r.submitted = cjson.decode(ARGV[8]) else r.submitted = nil end
end
if ARGV[9] ~= '' then
  if type(r.members) ~= 'table' then r.members = {} end
  if r.members[ARGV[9]] ~= ARGV[10] then
    r.members[ARGV[9]] = ARGV[10]
    changed = true
  end
end
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[7])
  r.textRev = r.textRev + 1
  changed = true
end
if not changed then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], cjson.encode(r))
local v = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], v, ARGV[1])
return v
`;

// KEYS: version, changes, recent, records, texts. ARGV: id. A tombstone stays in `changes`, so
// caches learn of the removal.
const REMOVE_SCRIPT = `
if redis.call('HDEL', KEYS[4], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local v = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], v, ARGV[1])
return v
`;

// KEYS: version, changes, records. ARGV: since (-1: everything). Returns {version, full, ids, raws}
// ('' for a removed review; Lua arrays cannot hold nil).
const READ_SCRIPT = `
local version = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since >= 0 and since == version then return {version, 0, {}, {}} end
local ids
local full = 0
if since < 0 or since > version then
  ids = redis.call('HKEYS', KEYS[3])
  full = 1
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf')
end
local raws = {}
if #ids > 0 then
  local got = redis.call('HMGET', KEYS[3], unpack(ids))
  for i = 1, #ids do raws[i] = got[i] or '' end
end
return {version, full, ids, raws}
`;

type Scripted = Redis & {
  prismLibraryRecord(n: number, ...args: (string | number)[]): Promise<number>;
  prismLibraryTouch(n: number, ...args: (string | number)[]): Promise<number>;
  prismLibraryRemove(n: number, ...args: (string | number)[]): Promise<number>;
  prismLibraryRead(n: number, ...args: (string | number)[]): Promise<[number, number, string[], string[]]>;
};

const SCRIPTS = {
  prismLibraryRecord: { lua: RECORD_SCRIPT },
  prismLibraryTouch: { lua: TOUCH_SCRIPT },
  prismLibraryRemove: { lua: REMOVE_SCRIPT },
  prismLibraryRead: { lua: READ_SCRIPT },
} as const;

/** What `touch` may change; anything left out is kept. */
export interface LibraryTouch {
  updatedAt?: string;
  progress?: { decided: number; total: number };
  status?: ReviewStatus;
  /** With `status: 'submitted'`: who and when (any other status clears it). */
  submitted?: { by: User; at: string };
  /** A member joined or was raised to this role. */
  member?: { userId: string; role: Role };
  /** A new search text (a new revision of the document); capped at MAX_SEARCH_TEXT. */
  text?: string;
}

/** A stored record; Redis' Lua JSON writes an empty list back as `{}`, so lists are checked. */
function parseRecord(raw: string): LibraryRecord {
  const record = JSON.parse(raw) as LibraryRecord;
  if (!Array.isArray(record.sections)) record.sections = [];
  if (typeof record.members !== 'object' || record.members === null) record.members = {};
  return record;
}

/** Homes of reviews are fixed at upload, so a process remembers them (a bounded map). */
const HOME_CACHE_MAX = 50_000;

export class LibraryStore {
  private readonly redis: Scripted;
  readonly prefix: string;
  private readonly homes = new Map<string, string>();

  constructor(redis: Redis, prefix: string) {
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, definition);
    }
    this.redis = redis as Scripted;
    this.prefix = prefix;
  }

  keys(home: string): LibraryKeys {
    return libraryKeys(this.prefix, home);
  }

  /** Adds (or replaces) a review's record and search text: on upload. */
  async record(input: NewLibraryRecord): Promise<void> {
    const record: LibraryRecord = {
      id: input.id,
      title: input.title,
      owner: input.owner,
      ...(input.workspaceId ? { workspaceId: input.workspaceId } : {}),
      status: input.status ?? 'open',
      progress: input.progress ?? { decided: 0, total: 0 },
      createdAt: input.createdAt,
      updatedAt: input.updatedAt ?? input.createdAt,
      textRev: 1,
      sections: input.sections,
      members: input.members ?? { [input.owner.id]: 'owner' },
      ...(input.submitted ? { submitted: input.submitted } : {}),
    };
    const home = libraryHome(record);
    const keys = this.keys(home);
    // The locator first: a touch that comes right after the upload must find the record's home.
    await this.redis.set(libraryHomeKey(this.prefix, input.id), home);
    this.remember(input.id, home);
    await this.redis.prismLibraryRecord(
      ...scriptKeys(keys),
      record.id,
      JSON.stringify(record),
      input.text.slice(0, MAX_SEARCH_TEXT),
      Date.parse(record.updatedAt),
    );
  }

  /**
   * Moves a review's last activity forward (never back) and sets its progress; a no-op for a
   * review the library does not hold. True when the record changed.
   */
  async touch(
    reviewId: string,
    updatedAt: string | undefined,
    progress?: LibraryTouch['progress'],
  ): Promise<boolean> {
    return this.update(reviewId, { ...(updatedAt ? { updatedAt } : {}), ...(progress ? { progress } : {}) });
  }

  /**
   * Sets a review's status (submit, reopen, archive, restore); `by` and `at` say who submitted it.
   * True when it changed.
   */
  async setStatus(reviewId: string, status: ReviewStatus, by?: { by: User; at: string }): Promise<boolean> {
    return this.update(reviewId, {
      status,
      ...(by ? { updatedAt: by.at } : {}),
      ...(by && status === 'submitted' ? { submitted: by } : {}),
    });
  }

  /** Any of `touch`'s and `setStatus`'s changes (and a new search text) at once, in one script on the review's home. */
  async update(reviewId: string, change: LibraryTouch): Promise<boolean> {
    const home = await this.home(reviewId);
    if (!home) return false;
    const keys = this.keys(home);
    const version = await this.redis.prismLibraryTouch(
      ...scriptKeys(keys),
      reviewId,
      change.updatedAt ?? '',
      change.updatedAt ? Date.parse(change.updatedAt) : 0,
      change.progress ? change.progress.decided : '',
      change.progress ? change.progress.total : '',
      change.status ?? '',
      change.text?.slice(0, MAX_SEARCH_TEXT) ?? '',
      change.submitted ? JSON.stringify(change.submitted) : '',
      change.member?.userId ?? '',
      change.member?.role ?? '',
    );
    return version > 0;
  }

  /** Forgets a review (deleted): its record, text and locator. True when there was a record. */
  async remove(reviewId: string): Promise<boolean> {
    const home = await this.home(reviewId);
    if (!home) return false;
    const keys = this.keys(home);
    const removed = await this.redis.prismLibraryRemove(...scriptKeys(keys), reviewId);
    await this.redis.del(libraryHomeKey(this.prefix, reviewId));
    this.homes.delete(reviewId);
    return removed > 0;
  }

  /** The review's home, or undefined when the library holds no record of it. */
  async home(reviewId: string): Promise<string | undefined> {
    const known = this.homes.get(reviewId);
    if (known) return known;
    const home = await this.redis.get(libraryHomeKey(this.prefix, reviewId));
    if (home) this.remember(reviewId, home);
    return home ?? undefined;
  }

  /** The homes of several reviews (cached ones without a round trip); unknown ones are left out. */
  async homesOf(reviewIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const id of reviewIds) {
      const home = this.homes.get(id);
      if (home) found.set(id, home);
      else missing.push(id);
    }
    // One GET per review: each locator is its own slot. Sent back to back, answered together.
    const replies = await Promise.all(missing.map((id) => this.redis.get(libraryHomeKey(this.prefix, id))));
    missing.forEach((id, i) => {
      const home = replies[i];
      if (!home) return;
      this.remember(id, home);
      found.set(id, home);
    });
    return found;
  }

  /** One review's record, if the library holds it. */
  async get(reviewId: string): Promise<LibraryRecord | undefined> {
    const home = await this.home(reviewId);
    if (!home) return undefined;
    const raw = await this.redis.hget(this.keys(home).records, reviewId);
    return raw ? parseRecord(raw) : undefined;
  }

  /**
   * What changed in a home since `since` (a version this caller read before), in one round trip;
   * `since` of -1 (or one the home never reached: Redis was emptied) reads every record (`full`).
   */
  async read(home: string, since = -1): Promise<LibraryChanges> {
    const keys = this.keys(home);
    const [version, full, ids, raws] = await this.redis.prismLibraryRead(
      3,
      keys.version,
      keys.changes,
      keys.records,
      since,
    );
    const changed = new Map<string, LibraryRecord | null>();
    ids.forEach((id, i) => {
      const raw = raws[i];
      changed.set(id, raw ? parseRecord(raw) : null);
    });
    return { version: Number(version), full: full === 1, changed };
  }

  /** The search texts of some of a home's reviews (one HMGET); missing ones are left out. */
  async texts(home: string, reviewIds: readonly string[]): Promise<Map<string, string>> {
    const texts = new Map<string, string>();
    if (reviewIds.length === 0) return texts;
    const replies = await this.redis.hmget(this.keys(home).texts, ...reviewIds);
    reviewIds.forEach((id, i) => {
      const text = replies[i];
      if (text != null) texts.set(id, text);
    });
    return texts;
  }

  /** A home's current version (one GET): equal to a cache's, nothing changed since it read. */
  async version(home: string): Promise<number> {
    return Number((await this.redis.get(this.keys(home).version)) ?? 0);
  }

  /** A home's review ids by last activity, newest first, at most `limit`; `before` (ms) for idle ones. */
  async recent(home: string, options: { limit?: number; before?: number } = {}): Promise<string[]> {
    const max = options.before === undefined ? '+inf' : `(${options.before}`;
    return this.redis.zrevrangebyscore(
      this.keys(home).recent,
      max,
      '-inf',
      'LIMIT',
      0,
      options.limit ?? 1000,
    );
  }

  /** The reviews a person belongs to (the review store's membership index). */
  async reviewIdsOf(userId: string): Promise<string[]> {
    return this.redis.smembers(userReviewsKey(this.prefix, userId));
  }

  private remember(reviewId: string, home: string): void {
    if (this.homes.size >= HOME_CACHE_MAX) this.homes.delete(this.homes.keys().next().value!);
    this.homes.set(reviewId, home);
  }
}
