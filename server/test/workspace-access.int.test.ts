/**
 * The access matrix of the workspace routes (CONTRACT 7.2): every route for a workspace admin, a
 * workspace member, a reviewer and a viewer of one of its reviews (invited to the review, not to
 * the workspace), an outsider, and no token. A refusal changes nothing: the members stay the same.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  cleanupKeys,
  corpus,
  invite,
  type Person,
  session,
  startServer,
  type TestServer,
  uniquePrefix,
  upload,
} from '../../test/helpers.ts';

type Who = 'admin' | 'member' | 'reviewer' | 'viewer' | 'outsider' | 'none';
const EVERYONE: Who[] = ['admin', 'member', 'reviewer', 'viewer', 'outsider', 'none'];

describe('workspace access matrix', () => {
  let server: TestServer;
  const people = {} as Record<Exclude<Who, 'none'>, Person>;
  let workspaceId: string;
  let reviewId: string;
  let spare = 0;

  const json = (who: Who, path: string, method = 'GET', body?: unknown): Promise<Response> =>
    who === 'none'
      ? fetch(`${server.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
      : api(server.url, people[who].token, path, {
          method,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });

  const memberNames = async (): Promise<string[]> => {
    const res = await json('admin', `/api/workspaces/${workspaceId}/members`);
    return ((await res.json()) as { members: { user: { name: string } }[] }).members
      .map((m) => m.user.name)
      .sort();
  };

  /** A fresh member to remove. */
  const newMember = async (): Promise<Person> => {
    spare += 1;
    const person = await session(server.url, `Spare ${spare}`);
    const created = await json('admin', `/api/workspaces/${workspaceId}/invites`, 'POST', { role: 'member' });
    const { token } = (await created.json()) as { token: string };
    const accepted = await api(server.url, person.token, '/api/invites/accept', {
      method: 'POST',
      body: JSON.stringify({ token }),
    });
    expect(accepted.status).toBe(200);
    return person;
  };

  beforeAll(async () => {
    const prefix = uniquePrefix('workspace-access');
    cleanupKeys(prefix);
    server = await startServer(prefix);
    for (const who of ['admin', 'member', 'reviewer', 'viewer', 'outsider'] as const)
      people[who] = await session(server.url, who[0]!.toUpperCase() + who.slice(1));
    const created = await json('admin', '/api/workspaces', 'POST', { name: 'Matrix' });
    workspaceId = ((await created.json()) as { workspace: { id: string } }).workspace.id;
    const memberInvite = await json('admin', `/api/workspaces/${workspaceId}/invites`, 'POST', {
      role: 'member',
    });
    const { token } = (await memberInvite.json()) as { token: string };
    expect(
      (
        await api(server.url, people.member.token, '/api/invites/accept', {
          method: 'POST',
          body: JSON.stringify({ token }),
        })
      ).status,
    ).toBe(200);
    const uploaded = await upload(server.url, people.admin.token, corpus('pandoc-headers.docx'), {
      workspaceId,
    });
    reviewId = ((await uploaded.json()) as { review: { id: string } }).review.id;
    await invite(server.url, people.admin, people.reviewer, reviewId, 'reviewer');
    await invite(server.url, people.admin, people.viewer, reviewId, 'viewer');
  });

  it.each([
    [
      'POST /api/workspaces',
      { admin: 201, member: 201, reviewer: 201, viewer: 201, outsider: 201, none: 401 },
    ],
    [
      'GET /api/workspaces',
      { admin: 200, member: 200, reviewer: 200, viewer: 200, outsider: 200, none: 401 },
    ],
    ['POST invites', { admin: 200, member: 403, reviewer: 403, viewer: 403, outsider: 403, none: 401 }],
    ['GET members', { admin: 200, member: 200, reviewer: 403, viewer: 403, outsider: 403, none: 401 }],
    ['DELETE member', { admin: 204, member: 403, reviewer: 403, viewer: 403, outsider: 403, none: 401 }],
    ['upload into it', { admin: 201, member: 201, reviewer: 403, viewer: 403, outsider: 403, none: 401 }],
    ['read its review', { admin: 200, member: 200, reviewer: 200, viewer: 200, outsider: 403, none: 401 }],
    [
      'invite to its review',
      { admin: 200, member: 403, reviewer: 403, viewer: 403, outsider: 403, none: 401 },
    ],
    [
      'accept a workspace invite',
      { admin: 200, member: 200, reviewer: 200, viewer: 200, outsider: 200, none: 401 },
    ],
  ] as const)('%s', async (route, expected) => {
    for (const who of EVERYONE) {
      const before = await memberNames();
      let res: Response;
      let victim: Person | undefined;
      switch (route) {
        case 'POST /api/workspaces':
          res = await json(who, '/api/workspaces', 'POST', { name: `${who}'s` });
          break;
        case 'GET /api/workspaces':
          res = await json(who, '/api/workspaces');
          break;
        case 'POST invites':
          res = await json(who, `/api/workspaces/${workspaceId}/invites`, 'POST', { role: 'admin' });
          break;
        case 'GET members':
          res = await json(who, `/api/workspaces/${workspaceId}/members`);
          break;
        case 'DELETE member':
          victim = await newMember();
          res = await json(who, `/api/workspaces/${workspaceId}/members/${victim.user.id}`, 'DELETE');
          break;
        case 'upload into it':
          res =
            who === 'none'
              ? await fetch(`${server.url}/api/reviews`, { method: 'POST', body: new FormData() })
              : await upload(server.url, people[who].token, corpus('pandoc-headers.docx'), { workspaceId });
          break;
        case 'read its review':
          res = await json(who, `/api/reviews/${reviewId}`);
          break;
        case 'invite to its review':
          res = await json(who, `/api/reviews/${reviewId}/invites`, 'POST', { role: 'viewer' });
          break;
        case 'accept a workspace invite': {
          // A throwaway workspace, so accepting changes nothing of the matrix's own.
          const other = await json('outsider', '/api/workspaces', 'POST', { name: 'Elsewhere' });
          const otherId = ((await other.json()) as { workspace: { id: string } }).workspace.id;
          const made = await json('outsider', `/api/workspaces/${otherId}/invites`, 'POST', {
            role: 'member',
          });
          res = await json(who, '/api/invites/accept', 'POST', {
            token: ((await made.json()) as { token: string }).token,
          });
          break;
        }
      }
      expect([who, res.status]).toEqual([who, expected[who]]);
      if (res.status >= 400) {
        const body = (await res.json()) as { error: { code: string } };
        expect(body.error.code).toBe(res.status === 401 ? 'unauthorized' : 'forbidden');
        // A refusal changes no membership.
        const after = await memberNames();
        expect(after).toEqual(victim ? [...before, victim.user.name].sort() : before);
      }
    }
  });
});
