/**
 * What the library shows of a review that lives in Redis: its progress (decided of all items) and
 * its last activity, read from the review's `activity` hash (keys.ts), which the event log's
 * append keeps with every item write (event-log.ts). Reading it is one small script per review:
 * no items are read or counted, so a list shows a change the moment its append returned, on any
 * server, and a person's command waits for no library write before its ack.
 *
 * A review stored before the hash existed (or restored from an older archive) has none; the first
 * read counts its items once, in the same script (atomic with the appends, on the review's slot),
 * and writes the hash, which appends keep from then on. A review without its meta (archived or
 * deleted) reads as nothing, and nothing of it is written.
 */
import type { Redis } from 'ioredis';
import { reviewKeys } from './keys.ts';

/** A review's progress and last activity (CONTRACT 7.3 `ReviewSummary.progress` and `updatedAt`). */
export interface ReviewActivity {
  progress: { decided: number; total: number };
  /** Absent when neither the hash nor the log has a time (the library record's then stands). */
  updatedAt?: string;
}

// KEYS: meta, activity, feedback, log. Returns {decided, total, updatedAt}, or nil without a meta.
const READ_SCRIPT = `
local v = redis.call('HMGET', KEYS[2], 'decided', 'total', 'updatedAt')
if v[2] then return v end
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local items = redis.call('HVALS', KEYS[3])
local decided = 0
for i = 1, #items do
  local ok, item = pcall(cjson.decode, items[i])
  if ok and type(item) == 'table' and item.status ~= 'pending' then decided = decided + 1 end
end
local at = ''
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
if last[1] then
  local ok, event = pcall(cjson.decode, last[1][2][2])
  if ok and type(event) == 'table' and type(event.at) == 'string' then at = event.at end
end
redis.call('HSET', KEYS[2], 'decided', decided, 'total', #items, 'updatedAt', at)
return {tostring(decided), tostring(#items), at}
`;

type Raw = [string | null, string | null, string | null] | null;

type Scripted = Redis & { prismReadActivity(n: number, ...keys: string[]): Promise<Raw> };

function parse(raw: Raw): ReviewActivity | undefined {
  if (!raw || raw[1] == null) return undefined;
  const [decided, total, at] = raw;
  return {
    progress: { decided: Number(decided ?? 0), total: Number(total) },
    ...(at ? { updatedAt: at } : {}),
  };
}

export class ActivityStore {
  private readonly redis: Scripted;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    if (!('prismReadActivity' in redis)) redis.defineCommand('prismReadActivity', { lua: READ_SCRIPT });
    this.redis = redis as Scripted;
    this.prefix = prefix;
  }

  private call(reviewId: string): Promise<Raw> {
    const keys = reviewKeys(this.prefix, reviewId);
    return this.redis.prismReadActivity(4, keys.meta, keys.activity, keys.feedback, keys.log);
  }

  /** One review's activity; undefined when it is not in Redis (archived or deleted). */
  async read(reviewId: string): Promise<ReviewActivity | undefined> {
    return parse(await this.call(reviewId));
  }

  /**
   * The activity of several reviews, in one round trip: each review is its own hash slot, so on a
   * cluster the calls go one per review, back to back; on one Redis, in one pipeline (one write).
   * Reviews not in Redis are left out.
   */
  async readMany(reviewIds: readonly string[]): Promise<Map<string, ReviewActivity>> {
    const found = new Map<string, ReviewActivity>();
    if (reviewIds.length === 0) return found;
    let replies: Raw[];
    if (this.redis.isCluster) {
      replies = await Promise.all(reviewIds.map((id) => this.call(id)));
    } else {
      const pipeline = this.redis.pipeline();
      for (const id of reviewIds) {
        const keys = reviewKeys(this.prefix, id);
        (pipeline as unknown as Scripted).prismReadActivity(
          4,
          keys.meta,
          keys.activity,
          keys.feedback,
          keys.log,
        );
      }
      replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
        if (error) throw error;
        return value as Raw;
      });
    }
    reviewIds.forEach((id, i) => {
      const activity = parse(replies[i] ?? null);
      if (activity) found.set(id, activity);
    });
    return found;
  }
}
