/**
 * What the library shows of a review that lives in Redis: its progress (decided of all items) and
 * its last activity, read from the review's `activity` hash (keys.ts), which the event log's
 * append keeps with every item write (event-log.ts). A list reads the hashes of all its reviews in
 * one round trip: no items are read or counted, so it shows a change the moment its append
 * returned, on any server, and a person's command waits for no library write before its ack.
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

// One review's activity from KEYS[k..k+3] (meta, activity, feedback, log) as one string,
// "<decided> <total> <updatedAt>" ('' without a meta), counting its items once when it has none.
const READ_ONE = `
local function read(k)
  local v = redis.call('HMGET', KEYS[k + 1], 'decided', 'total', 'updatedAt')
  if v[2] then return (v[1] or '0') .. ' ' .. v[2] .. ' ' .. (v[3] or '') end
  if redis.call('EXISTS', KEYS[k]) == 0 then return '' end
  local items = redis.call('HVALS', KEYS[k + 2])
  local decided = 0
  for i = 1, #items do
    local ok, item = pcall(cjson.decode, items[i])
    if ok and type(item) == 'table' and item.status ~= 'pending' then decided = decided + 1 end
  end
  local at = ''
  local last = redis.call('XREVRANGE', KEYS[k + 3], '+', '-', 'COUNT', 1)
  if last[1] then
    local ok, event = pcall(cjson.decode, last[1][2][2])
    if ok and type(event) == 'table' and type(event.at) == 'string' then at = event.at end
  end
  redis.call('HSET', KEYS[k + 1], 'decided', decided, 'total', #items, 'updatedAt', at)
  return decided .. ' ' .. #items .. ' ' .. at
end
`;

// KEYS: the four keys of each review in turn. Returns one string per review (see READ_ONE). Only
// for a single Redis: on a cluster, a script may not touch the keys of several reviews' slots.
const READ_SCRIPT = `${READ_ONE}
local out = {}
for n = 1, #KEYS / 4 do out[n] = read(4 * n - 3) end
return out
`;

/** Reviews one script call reads on a single Redis: bounds how long Redis runs one script. */
const READ_BATCH = 500;

type Scripted = Redis & { prismReadActivity(n: number, ...keys: string[]): Promise<string[]> };

function parse(raw: string | undefined): ReviewActivity | undefined {
  if (!raw) return undefined;
  const [decided, total, at] = raw.split(' ');
  return {
    progress: { decided: Number(decided), total: Number(total) },
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

  /** The four keys the script reads for each review, in its order. */
  private keysOf(reviewIds: readonly string[]): string[] {
    return reviewIds.flatMap((id) => {
      const keys = reviewKeys(this.prefix, id);
      return [keys.meta, keys.activity, keys.feedback, keys.log];
    });
  }

  private async call(reviewIds: readonly string[]): Promise<string[]> {
    const keys = this.keysOf(reviewIds);
    return this.redis.prismReadActivity(keys.length, ...keys);
  }

  /** One review's activity; undefined when it is not in Redis (archived or deleted). */
  async read(reviewId: string): Promise<ReviewActivity | undefined> {
    return parse((await this.call([reviewId]))[0]);
  }

  /**
   * The activity of several reviews, in one round trip. Each review is its own hash slot: on a
   * cluster the calls go one per review, back to back; on a single Redis one script reads up to
   * READ_BATCH reviews (a thousand small commands cost the server more than the reading itself).
   * Reviews not in Redis are left out.
   */
  async readMany(reviewIds: readonly string[]): Promise<Map<string, ReviewActivity>> {
    const found = new Map<string, ReviewActivity>();
    if (reviewIds.length === 0) return found;
    let replies: string[];
    if (this.redis.isCluster) {
      replies = (await Promise.all(reviewIds.map((id) => this.call([id])))).map((reply) => reply[0] ?? '');
    } else {
      const batches: string[][] = [];
      for (let start = 0; start < reviewIds.length; start += READ_BATCH) {
        batches.push(reviewIds.slice(start, start + READ_BATCH));
      }
      replies = (await Promise.all(batches.map((batch) => this.call(batch)))).flat();
    }
    reviewIds.forEach((id, i) => {
      const activity = parse(replies[i]);
      if (activity) found.set(id, activity);
    });
    return found;
  }
}
