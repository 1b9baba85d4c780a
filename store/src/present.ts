/**
 * Writes outside the event log that must not bring a review back: a worker still running on a
 * review that was archived or deleted meanwhile would otherwise recreate its `jobs` or `usage`
 * key. One script checks the review's meta is there and writes, atomically; -1 when it is gone.
 */
import type { Redis } from 'ioredis';
import type { ReviewKeys } from './keys.ts';

// KEYS: meta, the hash. ARGV: op (hset, hsetnx, hincrby), then field/value pairs.
const WRITE_IF_PRESENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local op = ARGV[1]
if op == 'hsetnx' then return redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) end
for i = 2, #ARGV, 2 do
  if op == 'hset' then redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  else redis.call('HINCRBY', KEYS[2], ARGV[i], tonumber(ARGV[i + 1])) end
end
return 1
`;

type Scripted = Redis & {
  prismWriteIfPresent(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

/** Applies `op` to the review's `hash` with `pairs` (field, value, ...) only while the review exists. */
export async function writeIfPresent(
  redis: Redis,
  keys: ReviewKeys,
  hash: 'jobs' | 'usage' | 'learning',
  op: 'hset' | 'hsetnx' | 'hincrby',
  pairs: (string | number)[],
): Promise<number> {
  if (!('prismWriteIfPresent' in redis))
    redis.defineCommand('prismWriteIfPresent', { lua: WRITE_IF_PRESENT });
  return (redis as Scripted).prismWriteIfPresent(2, keys.meta, keys[hash], op, ...pairs);
}
