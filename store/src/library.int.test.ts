import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupKeys, REDIS_URL, uniquePrefix } from '../../test/helpers.ts';
import { LibraryStore } from './library.ts';

const owner = { id: 'u_owner', name: 'Olga' };

describe('LibraryStore', () => {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  it('reads a home whole, then only what changed since a version; a no-op touch keeps the version', async () => {
    const prefix = uniquePrefix('library');
    cleanupKeys(prefix);
    const library = new LibraryStore(redis, prefix);
    const at = '2026-12-01T10:00:00.000Z';
    await library.record({
      id: 'r_1',
      title: 'Budget',
      owner,
      workspaceId: 'w_1',
      createdAt: at,
      sections: [],
      text: 'budget q3',
    });
    await library.record({
      id: 'r_2',
      title: 'Hiring',
      owner,
      workspaceId: 'w_1',
      createdAt: at,
      sections: [],
      text: 'hiring plan',
    });
    const first = await library.read('ws:w_1');
    expect(first.full).toBe(true);
    expect([...first.changed.keys()].sort()).toEqual(['r_1', 'r_2']);

    expect(await library.touch('r_1', '2026-12-01T09:00:00.000Z')).toBe(false);
    expect(await library.read('ws:w_1', first.version)).toMatchObject({
      version: first.version,
      full: false,
    });

    expect(await library.touch('r_1', '2026-12-01T11:00:00.000Z', { decided: 1, total: 3 })).toBe(true);
    expect(await library.setStatus('r_2', 'submitted', { by: owner, at: '2026-12-01T10:30:00.000Z' })).toBe(
      true,
    );
    expect(await library.update('r_2', { member: { userId: 'u_2', role: 'reviewer' } })).toBe(true);
    const next = await library.read('ws:w_1', first.version);
    expect(next.full).toBe(false);
    expect(next.changed.get('r_1')).toMatchObject({
      progress: { decided: 1, total: 3 },
      updatedAt: '2026-12-01T11:00:00.000Z',
      textRev: 1,
    });
    expect(next.changed.get('r_2')).toMatchObject({
      status: 'submitted',
      submitted: { by: owner, at: '2026-12-01T10:30:00.000Z' },
      members: { u_owner: 'owner', u_2: 'reviewer' },
      sections: [],
    });
    expect(await library.setStatus('r_2', 'open')).toBe(true);
    expect((await library.get('r_2'))?.submitted).toBeUndefined();
    expect(await library.recent('ws:w_1')).toEqual(['r_1', 'r_2']);

    expect(await library.update('r_2', { text: 'hiring plan revised' })).toBe(true);
    expect((await library.get('r_2'))?.textRev).toBe(2);
    expect((await library.texts('ws:w_1', ['r_2'])).get('r_2')).toBe('hiring plan revised');

    expect(await library.remove('r_1')).toBe(true);
    const after = await library.read('ws:w_1', next.version);
    expect(after.changed.get('r_1')).toBeNull();
    // Another process (no cached homes) finds nothing of it either.
    expect(await new LibraryStore(redis, prefix).get('r_1')).toBeUndefined();
  });

  it('keeps a review without a workspace under its owner', async () => {
    const prefix = uniquePrefix('library');
    cleanupKeys(prefix);
    const library = new LibraryStore(redis, prefix);
    await library.record({
      id: 'r_9',
      title: 'Mine',
      owner,
      createdAt: '2026-12-01T10:00:00.000Z',
      sections: [{ id: 's1', title: 'Intro', level: 1, index: 0 }],
      text: 'x',
    });
    expect(await library.home('r_9')).toBe('user:u_owner');
    expect((await library.read('user:u_owner')).changed.get('r_9')).toMatchObject({
      title: 'Mine',
      status: 'open',
      sections: [{ id: 's1', title: 'Intro', level: 1, index: 0 }],
    });
  });
});
