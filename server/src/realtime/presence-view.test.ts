import type { MemberRecord } from '@prism/store';
import { describe, expect, it } from 'vitest';
import { presentMembers, RemotePresence } from './presence-view.ts';
import type { PresenceEntry } from './types.ts';

const entry = (userId: string, sectionId: string | null = null, typing = false): PresenceEntry => ({
  userId,
  sectionId,
  typing,
});
const member = (id: string, role: MemberRecord['role'] = 'reviewer'): MemberRecord => ({
  user: { id, name: id.toUpperCase() },
  role,
  joinedAt: '2026-12-07T00:00:00.000Z',
});

describe('RemotePresence', () => {
  it('keeps what each server said of a tracked review, the newest only', () => {
    const remote = new RemotePresence();
    remote.track('r1');
    expect(remote.apply('r1', { server: 'a', v: 2, entries: [entry('ann', 's2')] })).toBe(true);
    // An answer that left server a before its announcement arrives after it: dropped.
    expect(remote.apply('r1', { server: 'a', v: 1, entries: [entry('ann', 's1')] })).toBe(false);
    expect(remote.apply('r1', { server: 'b', v: 7, entries: [entry('bo')] })).toBe(true);
    expect(remote.entries('r1')).toEqual([entry('ann', 's2'), entry('bo')]);
    // Everyone on a leaves: an older answer naming them cannot bring them back.
    expect(remote.apply('r1', { server: 'a', v: 3, entries: [] })).toBe(true);
    expect(remote.apply('r1', { server: 'a', v: 2, entries: [entry('ann')] })).toBe(false);
    expect(remote.entries('r1')).toEqual([entry('bo')]);
  });

  it('ignores reviews it does not keep, and stops keeping one on untrack', () => {
    const remote = new RemotePresence();
    expect(remote.apply('r1', { server: 'a', v: 1, entries: [entry('ann')] })).toBe(false);
    expect(remote.entries('r1')).toEqual([]);
    remote.track('r1');
    remote.apply('r1', { server: 'a', v: 2, entries: [entry('ann')] });
    remote.untrack('r1');
    expect(remote.tracked('r1')).toBe(false);
    remote.track('r1');
    expect(remote.entries('r1')).toEqual([]);
  });

  it('forgets a server that left or fell silent, naming the reviews that changed', () => {
    let now = 1000;
    const remote = new RemotePresence(() => now);
    remote.track('r1');
    remote.track('r2');
    remote.apply('r1', { server: 'a', v: 1, entries: [entry('ann')] });
    remote.apply('r2', { server: 'a', v: 2, entries: [] });
    remote.apply('r2', { server: 'b', v: 1, entries: [entry('bo')] });
    now = 5000;
    remote.heard('b');
    // a was last heard at 1000: silent since before 3000, so gone; only r1 showed anyone of it.
    expect(remote.expire(3000)).toEqual(['r1']);
    expect(remote.entries('r1')).toEqual([]);
    expect(remote.entries('r2')).toEqual([entry('bo')]);
    expect(remote.forget('b')).toEqual(['r2']);
    expect(remote.entries('r2')).toEqual([]);
    expect(remote.expire(10_000)).toEqual([]);
  });
});

describe('presentMembers', () => {
  it('marks who is online, where and typing; two tabs type if either does', () => {
    const members = presentMembers(
      [member('ann', 'owner'), member('bo'), member('cy')],
      [entry('ann', 's1'), entry('bo', null, false), entry('bo', 's3', true)],
    );
    expect(
      members.map(({ user, role, sectionId, typing, online }) => [user.id, role, sectionId, typing, online]),
    ).toEqual([
      ['ann', 'owner', 's1', false, true],
      ['bo', 'reviewer', 's3', true, true],
      ['cy', 'reviewer', null, false, false],
    ]);
  });

  it('adds people in the room through their workspace, who hold no membership', () => {
    const visitor: PresenceEntry = {
      ...entry('dee', 's2'),
      user: { id: 'dee', name: 'Dee' },
      role: 'viewer',
    };
    const members = presentMembers([member('ann', 'owner')], [visitor, entry('ghost')]);
    expect(members).toEqual([
      { user: { id: 'ann', name: 'ANN' }, role: 'owner', sectionId: null, typing: false, online: false },
      { user: { id: 'dee', name: 'Dee' }, role: 'viewer', sectionId: 's2', typing: false, online: true },
    ]);
  });
});
