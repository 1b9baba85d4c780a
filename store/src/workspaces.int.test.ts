import { describe, expect, it } from 'vitest';
import { cleanupKeys, testRedis, uniquePrefix } from '../../test/helpers.ts';
import { waitReady } from './redis.ts';
import { WorkspaceStore } from './workspaces.ts';

const ada = { id: 'u_ada', name: 'Ada' };
const bob = { id: 'u_bob', name: 'Bob' };

describe('WorkspaceStore', () => {
  it('creates with an admin, adds members (an invite only raises a role), lists, and keeps the last admin', async () => {
    const redis = testRedis();
    await waitReady(redis);
    const prefix = uniquePrefix('workspaces');
    cleanupKeys(prefix);
    const store = new WorkspaceStore(redis, prefix);
    const at = '2026-12-01T10:00:00.000Z';
    expect(await store.create({ id: 'w_1', name: 'Legal', createdAt: at, createdBy: ada })).toEqual({
      id: 'w_1',
      name: 'Legal',
      role: 'admin',
    });
    await store.create({ id: 'w_2', name: 'Audit', createdAt: at, createdBy: ada });
    expect(await store.addMember('w_1', bob, 'member')).toBe('member');
    expect(await store.addMember('w_1', ada, 'member')).toBe('admin');
    expect(await store.addMember('w_nope', bob, 'member')).toBeUndefined();
    expect(await store.role('w_1', 'u_bob')).toBe('member');
    expect(await store.role('w_2', 'u_bob')).toBeUndefined();
    expect((await store.members('w_1')).map((m) => [m.user.name, m.role])).toEqual([
      ['Ada', 'admin'],
      ['Bob', 'member'],
    ]);
    expect(await store.listForUser('u_ada')).toEqual([
      { id: 'w_2', name: 'Audit', role: 'admin' },
      { id: 'w_1', name: 'Legal', role: 'admin' },
    ]);
    expect(await store.removeMember('w_1', 'u_ada')).toBe('last_admin');
    expect(await store.role('w_1', 'u_ada')).toBe('admin');
    expect(await store.addMember('w_1', bob, 'admin')).toBe('admin');
    expect(await store.removeMember('w_1', 'u_ada')).toBe('removed');
    expect(await store.removeMember('w_1', 'u_ada')).toBe('absent');
    expect(await store.listForUser('u_ada')).toEqual([{ id: 'w_2', name: 'Audit', role: 'admin' }]);
    expect(await store.listForUser('u_bob')).toEqual([{ id: 'w_1', name: 'Legal', role: 'admin' }]);
    expect(await store.get('w_1')).toMatchObject({ name: 'Legal', createdBy: ada });
  });
});
