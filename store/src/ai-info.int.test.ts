import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../../test/helpers.ts';
import { aiInfoKey, readAiInfo, writeAiInfo } from './ai-info.ts';
import { EventLog } from './event-log.ts';
import { deleteKeys } from './redis.ts';
import { ReviewStore } from './reviews.ts';

describe('the AI provider key', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('is written with a TTL and read back; nothing written reads as null', async () => {
    const prefix = uniquePrefix('aiinfo');
    prefixes.push(prefix);
    expect(await readAiInfo(redis, prefix)).toBeNull();
    const other = uniquePrefix('aiinfo');
    prefixes.push(other);
    await writeAiInfo(redis, other, { provider: 'bedrock', models: ['m1', 'm2'] }, 30);
    expect(await readAiInfo(redis, other)).toEqual({ provider: 'bedrock', models: ['m1', 'm2'] });
    const ttl = await redis.ttl(aiInfoKey(other));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  it('shows in the snapshot as `ai`', async () => {
    const prefix = uniquePrefix('aiinfo');
    prefixes.push(prefix);
    await writeAiInfo(redis, prefix, { provider: 'rules' });
    const store = new ReviewStore(redis, new EventLog(redis, { prefix }));
    const owner = { id: 'u1', name: 'Olivia' };
    await store.create(
      {
        id: 'r1',
        title: 'Plan',
        createdAt: new Date().toISOString(),
        owner,
        sections: [{ id: 's1', title: 'Plan', level: 1, index: 0 }],
        original: { key: 'k', name: 'plan.docx', bytes: 1 },
      },
      [{ id: 's1', title: 'Plan', level: 1, index: 0, html: '<p>Plan</p>', text: 'Plan' }],
    );
    const snapshot = await store.snapshot('r1', 'owner');
    expect(snapshot.ai).toEqual({ provider: 'rules' });
  });
});
