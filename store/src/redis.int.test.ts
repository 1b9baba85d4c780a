import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../../test/helpers.ts';
import { deleteKeys } from './redis.ts';

describe('deleteKeys', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  it('deletes every key under the prefix, past one SCAN page, and nothing else', async () => {
    const prefix = uniquePrefix('deletekeys');
    const neighbour = `${prefix.slice(0, -1)}x:kept`;
    const keys = Array.from({ length: 2500 }, (_, i) => `${prefix}${i}`);
    await redis.mset(...keys.flatMap((key) => [key, '1']), neighbour, '1');
    await deleteKeys(redis, prefix);
    expect(await redis.exists(...keys.slice(0, 100), keys.at(-1)!)).toBe(0);
    expect(await redis.get(neighbour)).toBe('1');
    await redis.del(neighbour);
  });
});
