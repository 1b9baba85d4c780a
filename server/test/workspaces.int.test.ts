/**
 * Workspaces (CONTRACT 7.2) through two servers on one Redis: create, invite, accept, members,
 * removal; a workspace's reviews are open to its members (admins as owners, members as
 * reviewers); a removed member's open socket is out of the room at once, on the other server too,
 * and refused on its next event.
 */
import { describe, expect, it } from 'vitest';
import {
  api,
  call,
  cleanupKeys,
  connect,
  corpus,
  type Person,
  session,
  startServer,
  uniquePrefix,
  upload,
  waitFor,
} from '../../test/helpers.ts';

type Body = Record<string, any>;

async function send(url: string, person: Person, path: string, method: string, body?: unknown) {
  const res = await api(url, person.token, path, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body };
}

describe('workspaces', () => {
  it('create, invite, accept, members, reviews in a workspace, and removal at once on two servers', async () => {
    const prefix = uniquePrefix('workspaces');
    cleanupKeys(prefix);
    const one = await startServer(prefix);
    const two = await startServer(prefix);
    const ada = await session(one.url, 'Ada');
    const bob = await session(two.url, 'Bob');
    const cleo = await session(one.url, 'Cleo');
    const eve = await session(two.url, 'Eve');

    // Names: 1-80 characters once trimmed, else a stable code.
    for (const [name, code] of [
      ['', 'invalid'],
      ['   ', 'invalid'],
      ['x'.repeat(81), 'too_long'],
      [42, 'invalid'],
    ] as const) {
      const bad = await send(one.url, ada, '/api/workspaces', 'POST', { name });
      expect([bad.status, bad.body.error?.code]).toEqual([400, code]);
    }
    const created = await send(one.url, ada, '/api/workspaces', 'POST', { name: '  Legal team ' });
    expect(created.status).toBe(201);
    const workspace = created.body.workspace as { id: string; name: string; role: string };
    expect(workspace).toEqual({ id: expect.any(String), name: 'Legal team', role: 'admin' });
    const ws = workspace.id;
    expect((await send(two.url, ada, '/api/workspaces', 'GET')).body).toEqual({ workspaces: [workspace] });
    expect((await send(two.url, ada, '/api/me', 'GET')).body.workspaces).toEqual([workspace]);
    expect((await send(two.url, bob, '/api/me', 'GET')).body.workspaces).toEqual([]);

    // Invites: admins only, a known role; accepted on the other server.
    expect(
      (await send(one.url, ada, `/api/workspaces/${ws}/invites`, 'POST', { role: 'owner' })).body.error.code,
    ).toBe('invalid');
    expect(
      (await send(one.url, eve, `/api/workspaces/${ws}/invites`, 'POST', { role: 'member' })).status,
    ).toBe(403);
    expect(
      (await send(one.url, ada, '/api/workspaces/w_nope/invites', 'POST', { role: 'member' })).status,
    ).toBe(404);
    const memberInvite = await send(one.url, ada, `/api/workspaces/${ws}/invites`, 'POST', {
      role: 'member',
    });
    expect(memberInvite.body.url).toContain('/invite?token=');
    const adminInvite = await send(one.url, ada, `/api/workspaces/${ws}/invites`, 'POST', { role: 'admin' });
    const accepted = await send(two.url, bob, '/api/invites/accept', 'POST', {
      token: memberInvite.body.token,
    });
    expect(accepted.body).toEqual({ workspaceId: ws, role: 'member' });
    expect(
      (await send(one.url, cleo, '/api/invites/accept', 'POST', { token: adminInvite.body.token })).body,
    ).toEqual({
      workspaceId: ws,
      role: 'admin',
    });
    // A member invite never lowers an admin.
    expect(
      (await send(one.url, cleo, '/api/invites/accept', 'POST', { token: memberInvite.body.token })).body
        .role,
    ).toBe('admin');
    const tampered = `${String(memberInvite.body.token).slice(0, -3)}AAA`;
    expect((await send(two.url, eve, '/api/invites/accept', 'POST', { token: tampered })).status).toBe(403);
    expect(
      (await send(two.url, bob, `/api/workspaces/${ws}/invites`, 'POST', { role: 'member' })).status,
    ).toBe(403);

    const members = await send(two.url, bob, `/api/workspaces/${ws}/members`, 'GET');
    expect(members.body.members.map((m: Body) => [m.user.name, m.role])).toEqual([
      ['Ada', 'admin'],
      ['Cleo', 'admin'],
      ['Bob', 'member'],
    ]);
    expect((await send(two.url, eve, `/api/workspaces/${ws}/members`, 'GET')).status).toBe(403);

    // Uploads into the workspace: members only; only the default rubric.
    const file = corpus('pandoc-headers.docx');
    const outsiderUpload = await upload(one.url, eve.token, file, { workspaceId: ws });
    expect(outsiderUpload.status).toBe(403);
    expect((await upload(one.url, ada.token, file, { workspaceId: 'w_nope' })).status).toBe(404);
    const badRubric = await upload(one.url, ada.token, file, { workspaceId: ws, rubricId: 'legal' });
    expect([badRubric.status, ((await badRubric.json()) as Body).error.message]).toEqual([
      400,
      expect.stringContaining('rubricId'),
    ]);
    const uploaded = await upload(one.url, ada.token, file, { workspaceId: ws, rubricId: 'default' });
    expect(uploaded.status).toBe(201);
    const review = ((await uploaded.json()) as Body).review as {
      id: string;
      workspaceId: string;
      sections: { id: string }[];
    };
    expect(review.workspaceId).toBe(ws);
    const reviewId = review.id;
    const sectionId = review.sections[0]!.id;

    // Cleo (admin) acts as owner; Bob (member) as reviewer; Eve (outsider) not at all.
    expect(
      (await send(one.url, cleo, `/api/reviews/${reviewId}/invites`, 'POST', { role: 'viewer' })).status,
    ).toBe(200);
    expect(
      (await send(two.url, bob, `/api/reviews/${reviewId}/invites`, 'POST', { role: 'viewer' })).status,
    ).toBe(403);
    expect((await send(two.url, bob, `/api/reviews/${reviewId}`, 'GET')).status).toBe(200);
    expect((await send(two.url, eve, `/api/reviews/${reviewId}`, 'GET')).status).toBe(403);

    // Ada watches the room's presence from the first server.
    const adaSocket = await connect(one.url, ada.token);
    let inRoom: string[] = [];
    adaSocket.on(
      'presence',
      (payload: { reviewId: string; members: { user: { name: string }; online: boolean }[] }) => {
        if (payload.reviewId === reviewId)
          inRoom = payload.members.filter((m) => m.online).map((m) => m.user.name);
      },
    );
    expect((await call(adaSocket, 'review:join', { reviewId })).ok).toBe(true);
    const bobSocket = await connect(two.url, bob.token);
    expect((await call(bobSocket, 'review:join', { reviewId })).ok).toBe(true);
    const added = await call(bobSocket, 'feedback:add', {
      reviewId,
      sectionId,
      type: 'important',
      category: 'Evidence',
      description: 'Bob, a member, reviews in the workspace',
    });
    expect(added.ok).toBe(true);
    const room = `review:${reviewId}`;
    await waitFor(
      () => two.app.io.sockets.adapter.rooms.get(room)?.has(bobSocket.id!),
      5000,
      'Bob in the room',
    );
    await waitFor(() => inRoom.includes('Bob'), 5000, 'Ada sees Bob in the room');

    // Removal, on the other server: Bob's socket leaves the room at once and is refused next.
    expect((await send(one.url, bob, `/api/workspaces/${ws}/members/${cleo.user.id}`, 'DELETE')).status).toBe(
      403,
    );
    expect((await send(one.url, ada, `/api/workspaces/${ws}/members/u_nobody`, 'DELETE')).status).toBe(404);
    const removed = await api(one.url, ada.token, `/api/workspaces/${ws}/members/${bob.user.id}`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    await waitFor(
      () => !two.app.io.sockets.adapter.rooms.get(room)?.has(bobSocket.id!),
      5000,
      'Bob out of the room',
    );
    await waitFor(() => inRoom.length > 0 && !inRoom.includes('Bob'), 5000, 'Ada sees Bob leave');
    const refused = await call(bobSocket, 'feedback:add', {
      reviewId,
      sectionId,
      type: 'important',
      category: 'Evidence',
      description: 'after removal',
    });
    expect(refused.error?.code).toBe('forbidden');
    expect((await call(bobSocket, 'review:join', { reviewId })).error?.code).toBe('forbidden');
    expect((await send(two.url, bob, `/api/reviews/${reviewId}`, 'GET')).status).toBe(403);
    expect((await send(two.url, bob, `/api/workspaces/${ws}/members`, 'GET')).status).toBe(403);
    expect((await send(two.url, bob, '/api/me', 'GET')).body.workspaces).toEqual([]);

    // The last admin stays.
    expect(
      (await api(one.url, ada.token, `/api/workspaces/${ws}/members/${cleo.user.id}`, { method: 'DELETE' }))
        .status,
    ).toBe(204);
    const last = await send(one.url, ada, `/api/workspaces/${ws}/members/${ada.user.id}`, 'DELETE');
    expect([last.status, last.body.error?.code]).toEqual([409, 'last_admin']);
  });

  it('a review invite never grants a workspace, nor a workspace invite a review', async () => {
    const prefix = uniquePrefix('workspace-tokens');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const ada = await session(server.url, 'Ada');
    const eve = await session(server.url, 'Eve');
    const ws = (await send(server.url, ada, '/api/workspaces', 'POST', { name: 'Audit' })).body.workspace.id;
    const uploaded = await upload(server.url, ada.token, corpus('pandoc-headers.docx'));
    const reviewId = ((await uploaded.json()) as Body).review.id;
    const reviewInvite = await send(server.url, ada, `/api/reviews/${reviewId}/invites`, 'POST', {
      role: 'reviewer',
    });
    // A review invite is a review invite: Eve joins the review, not the workspace.
    expect(
      (await send(server.url, eve, '/api/invites/accept', 'POST', { token: reviewInvite.body.token })).body,
    ).toEqual({
      reviewId,
      role: 'reviewer',
    });
    expect((await send(server.url, eve, `/api/workspaces/${ws}/members`, 'GET')).status).toBe(403);
    // A workspace invite is a workspace invite: Cleo joins the workspace, not Ada's own review.
    const cleo = await session(server.url, 'Cleo');
    const wsInvite = await send(server.url, ada, `/api/workspaces/${ws}/invites`, 'POST', { role: 'admin' });
    expect(
      (await send(server.url, cleo, '/api/invites/accept', 'POST', { token: wsInvite.body.token })).body,
    ).toEqual({
      workspaceId: ws,
      role: 'admin',
    });
    expect((await send(server.url, cleo, `/api/reviews/${reviewId}`, 'GET')).status).toBe(403);
    // A session token is no invite of either kind.
    expect((await send(server.url, eve, '/api/invites/accept', 'POST', { token: ada.token })).status).toBe(
      403,
    );
  });
});
