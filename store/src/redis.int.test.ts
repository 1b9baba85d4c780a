import { describe, expect, it } from 'vitest';
import { testRedis, uniquePrefix } from '../../test/helpers.ts';
import { deleteKeys, waitReady } from './redis.ts';

describe('deleteKeys', () => {
  it('deletes every key under the prefix, past one SCAN page, and nothing else (on every master of a cluster)', async () => {
    const redis = testRedis();
    await waitReady(redis);
    const prefix = uniquePrefix('deletekeys');
    const neighbour = `${prefix.slice(0, -1)}x:kept`;
    const keys = Array.from({ length: 2500 }, (_, i) => `${prefix}${i}`);
    // One key per command: on a cluster the keys live on every master.
    await Promise.all([...keys, neighbour].map((key) => redis.set(key, '1')));
    await deleteKeys(redis, prefix);
    const left = await Promise.all(keys.map((key) => redis.exists(key)));
    expect(left.filter(Boolean)).toHaveLength(0);
    expect(await redis.get(neighbour)).toBe('1');
    await redis.del(neighbour);
  });
});
