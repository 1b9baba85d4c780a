/**
 * The review event log (ARCHITECTURE principle 2). One Lua script, atomically: checks the guards
 * the caller's decision was based on, applies the state writes, assigns the next `seq` (exactly +1
 * per review), appends the event to the review's stream under the id `<seq>-0`, and PUBLISHes it
 * on the review's channel. Because the PUBLISH happens inside the script, every subscriber sees a
 * review's events in `seq` order, whichever server or worker appended them. On a Redis Cluster the
 * script publishes with SPUBLISH (sharded pub/sub): the channel carries the review's hash tag, so
 * a review's events stay on the shard that holds its keys.
 */
import type { NewReviewEvent, ReviewEvent } from '@prism/core';
import type { Redis } from 'ioredis';
import { type ReviewKeys, reviewKeys } from './keys.ts';

// The review's progress (decided and total items) and last activity live in its `activity` hash
// (keys.ts), kept here by the item writes themselves, so no one has to count the items again. A
// review stored before that hash existed has none: nothing is counted until a reader counts its
// items once (store/src/activity.ts); from then on every write keeps the counts.
const TALLY = `
-- 0: no item, 1: pending, 2: decided (an item that does not decode counts as pending, as before).
local function counted(raw)
  if not raw then return 0 end
  local ok, item = pcall(cjson.decode, raw)
  if ok and type(item) == 'table' and item.status ~= 'pending' then return 2 end
  return 1
end
local function tally(field, after)
  local before = counted(redis.call('HGET', KEYS[FEEDBACK], field))
  local dt = (after > 0 and 1 or 0) - (before > 0 and 1 or 0)
  local dd = (after == 2 and 1 or 0) - (before == 2 and 1 or 0)
  if dt ~= 0 then redis.call('HINCRBY', KEYS[ACTIVITY], 'total', dt) end
  if dd ~= 0 then redis.call('HINCRBY', KEYS[ACTIVITY], 'decided', dd) end
end
`;

// One event, read from ARGV[i] on: its body, the guards (count, then kind/key/field/expected each),
// the writes (count, then op/key/a/b each). Returns the result and the index of the next event, so
// a batch can skip an event whose guard failed and go on with the next.
const APPEND_EVENT = `${TALLY}
local function append_event(i)
  local body = ARGV[i]
  local nguards = tonumber(ARGV[i + 1])
  local w0 = i + 3 + 4 * nguards
  local nwrites = tonumber(ARGV[w0 - 1])
  local next_i = w0 + 4 * nwrites
  -- A review without its meta was deleted or archived: nothing may recreate its keys.
  if redis.call('EXISTS', KEYS[3]) == 0 then return {0, 0, ''}, next_i end
  for g = 1, nguards do
    local j = i + 2 + 4 * (g - 1)
    local kind, key, field, expected = ARGV[j], KEYS[tonumber(ARGV[j + 1])], ARGV[j + 2], ARGV[j + 3]
    local current
    if kind == 'hget' or kind == 'role' then current = redis.call('HGET', key, field) else current = redis.call('GET', key) end
    if current == false then current = '' end
    local held
    if kind == 'role' then
      -- A JSON record whose role is one of the comma-separated roles expected.
      local ok, record = pcall(cjson.decode, current)
      held = ok and type(record) == 'table' and type(record.role) == 'string'
        and string.find(',' .. expected .. ',', ',' .. record.role .. ',', 1, true) ~= nil
    elseif kind == 'status' then
      -- Absent, or a JSON record whose status is not the one expected.
      local ok, record = pcall(cjson.decode, current)
      held = current == '' or (ok and type(record) == 'table' and record.status ~= expected)
    else
      held = current == expected
    end
    if not held then return {0, g, current}, next_i end
  end
  local tallied = redis.call('EXISTS', KEYS[ACTIVITY]) == 1
  for w = 1, nwrites do
    local j = w0 + 4 * (w - 1)
    local op, key, a, b = ARGV[j], KEYS[tonumber(ARGV[j + 1])], ARGV[j + 2], ARGV[j + 3]
    local items = tallied and key == KEYS[FEEDBACK]
    if op == 'hset' then
      if items then tally(a, counted(b)) end
      redis.call('HSET', key, a, b)
    elseif op == 'hdel' then
      if items then tally(a, 0) end
      redis.call('HDEL', key, a)
    elseif op == 'set' then redis.call('SET', key, a)
    elseif op == 'del' then
      if items then redis.call('HSET', KEYS[ACTIVITY], 'decided', 0, 'total', 0) end
      redis.call('DEL', key)
    elseif op == 'hmax' then
      -- The last activity moves forward only (events of several processes, several clocks).
      local cur = redis.call('HGET', key, a)
      if tallied and (cur == false or b > cur) then redis.call('HSET', key, a, b) end
    elseif op == 'happend' then
      local cur = redis.call('HGET', key, a)
      if cur == false then cur = '' end
      redis.call('HSET', key, a, cur .. b)
    elseif op == 'hincrby' then redis.call('HINCRBY', key, a, tonumber(b))
    else return redis.error_reply('unknown op ' .. op), next_i end
  end
  local seq = redis.call('INCR', KEYS[1])
  local event = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
  if tonumber(ARGV[2]) > 0 then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', event)
  else
    redis.call('XADD', KEYS[2], seq .. '-0', 'e', event)
  end
  redis.call(PUBLISH_COMMAND, ARGV[1], event)
  return {1, seq}, next_i
end
`;

/** The append scripts for standalone Redis (PUBLISH) or a cluster (SPUBLISH). */
const withPublish = (script: string, sharded: boolean): string =>
  [
    `local PUBLISH_COMMAND = '${sharded ? 'SPUBLISH' : 'PUBLISH'}'`,
    `local FEEDBACK, ACTIVITY = ${KEY_INDEX.get('feedback')}, ${KEY_INDEX.get('activity')}`,
    script,
  ].join('\n');

// ARGV: channel, maxLen, then one event.
const APPEND_SCRIPT = `${APPEND_EVENT}
local result = append_event(3)
return result
`;

// ARGV: channel, maxLen, the number of events, then each event as above. One result per event.
const APPEND_MANY_SCRIPT = `${APPEND_EVENT}
local results = {}
local i = 4
for n = 1, tonumber(ARGV[3]) do
  local result
  result, i = append_event(i)
  if result.err then return result end
  results[n] = result
end
return results
`;

/** Events one `appendMany` script call carries: bounds how long Redis runs one script. */
const APPEND_BATCH = 100;

type KeyName = keyof Omit<ReviewKeys, 'channel'>;

/**
 * A precondition. `hget` / `get`: the hash field / string key holds exactly `expected` ('' =
 * absent). `role`: the hash field holds a JSON record whose `role` is one of `roles`. `status`:
 * the string key is absent or holds a JSON record whose `status` is not `not`.
 */
export type Guard =
  | { kind: 'hget'; key: KeyName; field: string; expected: string }
  | { kind: 'get'; key: KeyName; expected: string }
  | { kind: 'role'; key: KeyName; field: string; roles: readonly string[] }
  | { kind: 'status'; key: KeyName; not: string };

/** A state change applied in the same atomic step as the append. */
export type Write =
  | { op: 'hset'; key: KeyName; field: string; value: string }
  | { op: 'hdel'; key: KeyName; field: string }
  | { op: 'set'; key: KeyName; value: string }
  | { op: 'del'; key: KeyName }
  | { op: 'happend'; key: KeyName; field: string; value: string }
  | { op: 'hincrby'; key: KeyName; field: string; by: number }
  /** Sets the field to `value` if that is greater (ISO times): the `activity` hash's `updatedAt`. */
  | { op: 'hmax'; key: KeyName; field: string; value: string };

/** `guard: 0`: the review is gone (deleted or archived), nothing was written. */
export type AppendResult = { ok: true; seq: number } | { ok: false; guard: number; current: string };

export interface EventLogOptions {
  prefix: string;
  /**
   * Approximate number of events a review's stream keeps (older ones force a `reset` on rejoin);
   * 0, the default, keeps every event: `since` and the archive need the whole log, and a review
   * idle for REVIEW_ARCHIVE_AFTER_DAYS leaves Redis, log and all, for the object store.
   */
  maxLen?: number;
  /** Called after each successful append (metrics). */
  onAppend?: (event: NewReviewEvent) => void;
}

export interface AppendOptions {
  guards?: Guard[];
  writes?: Write[];
}

const KEY_ORDER: KeyName[] = [
  'seq',
  'log',
  'meta',
  'sections',
  'status',
  'members',
  'feedback',
  'chat',
  'partials',
  'usage',
  'jobs',
  'lifecycle',
  'revision',
  'checklist',
  'activity',
];
const KEY_INDEX = new Map(KEY_ORDER.map((name, i) => [name, i + 1]));

type RawResult = [number, number, string?];

type Scripted = Redis & {
  prismAppend(numKeys: number, ...args: (string | number)[]): Promise<RawResult>;
  prismAppendMany(numKeys: number, ...args: (string | number)[]): Promise<RawResult[]>;
};

/** One event with the guards and writes of its append, for `appendMany`. */
export interface PendingAppend {
  event: NewReviewEvent;
  options?: AppendOptions;
}

/** The script arguments of one event: its body, then its guards and its writes, each counted. */
function encodeEvent(event: NewReviewEvent, options: AppendOptions): (string | number)[] {
  const args: (string | number)[] = [JSON.stringify(event)];
  const guards = options.guards ?? [];
  args.push(guards.length);
  for (const guard of guards) {
    const field = guard.kind === 'hget' || guard.kind === 'role' ? guard.field : '';
    const expected =
      guard.kind === 'role' ? guard.roles.join(',') : guard.kind === 'status' ? guard.not : guard.expected;
    args.push(guard.kind, KEY_INDEX.get(guard.key)!, field, expected);
  }
  const writes = [...(options.writes ?? [])];
  // Every event but a join is activity on the review: the library sorts by work on it.
  if (event.type !== 'member.joined') {
    writes.push({ op: 'hmax', key: 'activity', field: 'updatedAt', value: event.at });
  }
  args.push(writes.length);
  for (const write of writes) {
    const index = KEY_INDEX.get(write.key)!;
    switch (write.op) {
      case 'hset':
      case 'happend':
      case 'hmax':
        args.push(write.op, index, write.field, write.value);
        break;
      case 'hdel':
        args.push(write.op, index, write.field, '');
        break;
      case 'set':
        args.push(write.op, index, write.value, '');
        break;
      case 'del':
        args.push(write.op, index, '', '');
        break;
      case 'hincrby':
        args.push(write.op, index, write.field, write.by);
        break;
    }
  }
  return args;
}

export class EventLog {
  readonly prefix: string;
  readonly maxLen: number;
  private readonly redis: Scripted;
  private readonly onAppend: ((event: NewReviewEvent) => void) | undefined;

  constructor(redis: Redis, options: EventLogOptions) {
    this.prefix = options.prefix;
    this.onAppend = options.onAppend;
    this.maxLen = options.maxLen ?? 0;
    const sharded = redis.isCluster === true;
    if (!('prismAppend' in redis)) {
      redis.defineCommand('prismAppend', { lua: withPublish(APPEND_SCRIPT, sharded) });
    }
    if (!('prismAppendMany' in redis)) {
      redis.defineCommand('prismAppendMany', { lua: withPublish(APPEND_MANY_SCRIPT, sharded) });
    }
    this.redis = redis as Scripted;
  }

  keys(reviewId: string): ReviewKeys {
    return reviewKeys(this.prefix, reviewId);
  }

  /** Appends one event; with guards, only if they all hold (else nothing is written). */
  async append(event: NewReviewEvent, options: AppendOptions = {}): Promise<AppendResult> {
    const keys = this.keys(event.reviewId);
    const keyList = KEY_ORDER.map((name) => keys[name]);
    return this.result(
      event,
      await this.redis.prismAppend(
        keyList.length,
        ...keyList,
        keys.channel,
        this.maxLen,
        ...encodeEvent(event, options),
      ),
    );
  }

  /**
   * Appends several events of one review, in order, each exactly as `append` would: a failed
   * guard skips that event alone. Events go APPEND_BATCH to a script call and every call is sent
   * at once, so the whole list costs one round trip instead of one per event; each batch is
   * atomic, and `seq` stays gap-free and in list order (other appends may fall between batches).
   * Results are in the order of `entries`.
   */
  async appendMany(entries: PendingAppend[]): Promise<AppendResult[]> {
    if (entries.length === 0) return [];
    const reviewId = entries[0]!.event.reviewId;
    if (entries.some(({ event }) => event.reviewId !== reviewId)) {
      throw new Error('appendMany takes the events of one review');
    }
    const keys = this.keys(reviewId);
    const keyList = KEY_ORDER.map((name) => keys[name]);
    const batches: PendingAppend[][] = [];
    for (let start = 0; start < entries.length; start += APPEND_BATCH) {
      batches.push(entries.slice(start, start + APPEND_BATCH));
    }
    // Issued in one synchronous pass: ioredis writes them back to back and Redis runs them in order.
    const replies = await Promise.all(
      batches.map((batch) =>
        this.redis.prismAppendMany(
          keyList.length,
          ...keyList,
          keys.channel,
          this.maxLen,
          batch.length,
          ...batch.flatMap(({ event, options }) => encodeEvent(event, options ?? {})),
        ),
      ),
    );
    return batches.flatMap((batch, b) => batch.map(({ event }, n) => this.result(event, replies[b]![n]!)));
  }

  private result(event: NewReviewEvent, [ok, value, current]: RawResult): AppendResult {
    if (ok !== 1) return { ok: false, guard: value, current: current ?? '' };
    this.onAppend?.(event);
    return { ok: true, seq: value };
  }

  /** Every event the stream still holds, oldest first (the oldest may have been trimmed). */
  async all(reviewId: string): Promise<ReviewEvent[]> {
    const entries = (await this.redis.xrange(this.keys(reviewId).log, '-', '+')) as [string, string[]][];
    return entries.map(([, fields]) => JSON.parse(fields[1]!) as ReviewEvent);
  }

  /** The review's current `seq` (0 before its first event). */
  async seq(reviewId: string): Promise<number> {
    return Number((await this.redis.get(this.keys(reviewId).seq)) ?? 0);
  }

  /**
   * Events after `since`, or `undefined` when the stream no longer reaches back that far (the
   * caller then sends a snapshot with `reset`).
   */
  async since(reviewId: string, since: number): Promise<ReviewEvent[] | undefined> {
    const keys = this.keys(reviewId);
    const [[, seqRaw], [, entries]] = (await this.redis
      .multi()
      .get(keys.seq)
      .xrange(keys.log, `${since + 1}-0`, '+')
      .exec()) as [[null, string | null], [null, [string, string[]][]]];
    const seq = Number(seqRaw ?? 0);
    if (since >= seq) return [];
    const events = entries.map(([, fields]) => JSON.parse(fields[1]!) as ReviewEvent);
    if (events.length === 0 || events[0]!.seq !== since + 1) return undefined;
    return events;
  }

  /**
   * At most `count` events after `after`, oldest first, for a reader fed at its own pace; `[]`
   * when there are none yet, `undefined` when the stream no longer reaches back that far.
   */
  async page(reviewId: string, after: number, count: number): Promise<ReviewEvent[] | undefined> {
    const entries = (await this.redis.xrange(
      this.keys(reviewId).log,
      `${after + 1}-0`,
      '+',
      'COUNT',
      count,
    )) as [string, string[]][];
    const events = entries.map(([, fields]) => JSON.parse(fields[1]!) as ReviewEvent);
    if (events.length > 0 && events[0]!.seq !== after + 1) return undefined;
    return events;
  }
}
