/**
 * Access is checked on every socket event and every /api route (CONTRACT sections 3-4): an
 * outsider is refused everything, a viewer may only read and show presence, a reviewer may not
 * invite nor touch other people's items, the owner may do anything. A refusal writes nothing to
 * the review's log. Identity itself (session tokens, invite tokens, the websocket Origin) cannot
 * be forged.
 */

import type { FeedbackItem, ReviewEvent } from '@prism/core';
import { io as ioClient } from 'socket.io-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type ClientSocket,
  call,
  cleanupKeys,
  connect,
  createReview,
  makeDocx,
  onCleanup,
  ReviewFeed,
  session,
  startServer,
  type TestServer,
  uniquePrefix,
  upload,
  waitFor,
} from '../../test/helpers.ts';
import { TokenSigner } from '../src/domain/tokens.ts';

const SECRET = 'access-test-secret-0123456789abcdef';
const PUBLIC_URL = 'http://prism.test';
const UNKNOWN_REVIEW = 'r_doesnotexist0000';

type Person = { user: { id: string; name: string }; token: string };
type Ack = { ok: boolean; error?: { code: string; message: string }; item?: FeedbackItem } & Record<
  string,
  any
>;

/** What a user notices of an ack: `ok` or the error code. */
const outcome = (ack: Ack): string => (ack.ok ? 'ok' : ack.error!.code);

/** What a user notices of an HTTP answer: the status and, for errors, the code. */
async function answer(res: Response): Promise<{ status: number; code?: string }> {
  const body = (await res.json()) as { error?: { code: string; message: string } };
  if (res.status >= 400) {
    expect(body.error?.message).toEqual(expect.any(String));
    return { status: res.status, code: body.error?.code };
  }
  return { status: res.status };
}

async function inviteToken(url: string, owner: Person, reviewId: string, role: 'reviewer' | 'viewer') {
  const res = await api(url, owner.token, `/api/reviews/${reviewId}/invites`, {
    method: 'POST',
    body: JSON.stringify({ role }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { token: string; url: string };
}

const accept = (url: string, person: Person, token: string): Promise<Response> =>
  api(url, person.token, '/api/invites/accept', { method: 'POST', body: JSON.stringify({ token }) });

/** A socket.io-client handshake that reports its outcome instead of throwing. */
function tryConnect(
  url: string,
  options: { token?: string; headers?: Record<string, string> },
): Promise<{ socket: ClientSocket; error?: Error }> {
  const socket = ioClient(url, {
    ...(options.token === undefined ? {} : { auth: { token: options.token } }),
    ...(options.headers ? { extraHeaders: options.headers } : {}),
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  }) as unknown as ClientSocket;
  onCleanup(() => socket.disconnect());
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (error) => resolve({ socket, error }));
  });
}

/** A token with its claims rewritten but its MAC kept: valid shape, wrong signature. */
function tamper(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [version, payload, mac] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(claims);
  return `${version}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${mac}`;
}

describe('access control', () => {
  const prefix = uniquePrefix('access');
  cleanupKeys(prefix);

  let server: TestServer;
  let owner: Person;
  let reviewer: Person;
  let viewer: Person;
  let outsider: Person;
  let reviewId: string;
  let sectionId: string;
  let ownerItem: FeedbackItem;
  let reviewerItem: FeedbackItem;
  /** The owner's socket, joined: sees every event of the review. */
  let watcher: ClientSocket;
  let feed: ReviewFeed;
  let presence: {
    reviewId: string;
    members: { user: { id: string }; typing: boolean; sectionId: string | null }[];
  }[];
  let markers = 0;

  const addItem = async (socket: ClientSocket, description: string): Promise<FeedbackItem> => {
    const ack: Ack = await call(socket, 'feedback:add', {
      reviewId,
      sectionId,
      type: 'important',
      category: 'Evidence',
      description,
    });
    expect(outcome(ack)).toBe('ok');
    return ack.item!;
  };

  const seqNow = async (): Promise<number> => {
    const res = await api(server.url, owner.token, `/api/reviews/${reviewId}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { seq: number }).seq;
  };

  /**
   * Runs refused attempts and proves they appended nothing: the review's `seq` is unchanged, and
   * a change made afterwards is the very next event the watcher receives (events arrive in `seq`
   * order, so an event appended by a refused attempt would have arrived before it).
   */
  async function expectNothingAppended(attempts: () => Promise<void>): Promise<void> {
    const before = await seqNow();
    const seen = feed.events.length;
    await attempts();
    expect(await seqNow()).toBe(before);
    markers += 1;
    const marker = await addItem(watcher, `marker ${markers}`);
    await waitFor(
      () => feed.events.some((e) => e.type === 'feedback.added' && e.data.item.id === marker.id),
      5000,
      'the marker event',
    );
    expect(feed.events.slice(seen).map((e) => [e.seq, e.type])).toEqual([[before + 1, 'feedback.added']]);
  }

  /** One valid payload for every client event of CONTRACT section 4, aimed at `item`. */
  const everyEvent = (
    target: string,
    item: { id: string; version: number },
  ): [label: string, event: string, payload: Record<string, unknown>][] => [
    ['review:join', 'review:join', { reviewId: target }],
    ['review:join since', 'review:join', { reviewId: target, since: 0 }],
    ['review:leave', 'review:leave', { reviewId: target }],
    ['analysis:start', 'analysis:start', { reviewId: target }],
    ['analysis:cancel', 'analysis:cancel', { reviewId: target }],
    [
      'feedback:decide',
      'feedback:decide',
      { reviewId: target, feedbackId: item.id, status: 'rejected', version: item.version },
    ],
    [
      'feedback:add',
      'feedback:add',
      {
        reviewId: target,
        sectionId,
        type: 'critical',
        category: 'Intrusion',
        description: 'Should not land.',
      },
    ],
    [
      'feedback:edit',
      'feedback:edit',
      { reviewId: target, feedbackId: item.id, version: item.version, description: 'Changed.' },
    ],
    ['feedback:delete', 'feedback:delete', { reviewId: target, feedbackId: item.id, version: item.version }],
    ['feedback:reply', 'feedback:reply', { reviewId: target, feedbackId: item.id, text: 'Intruding.' }],
    ['feedback:resolve', 'feedback:resolve', { reviewId: target, feedbackId: item.id, resolved: true }],
    ['chat:send', 'chat:send', { reviewId: target, text: 'What does section 1 claim?' }],
    ['chat:cancel', 'chat:cancel', { reviewId: target, messageId: 'm_someone' }],
    ['presence:update', 'presence:update', { reviewId: target, sectionId, typing: true }],
  ];

  async function attemptAll(
    socket: ClientSocket,
    list: ReturnType<typeof everyEvent>,
  ): Promise<Record<string, string>> {
    const results: Record<string, string> = {};
    for (const [label, event, payload] of list) results[label] = outcome(await call(socket, event, payload));
    return results;
  }

  /** Every /api route that names a review, with a valid body. */
  const everyReviewRoute = (target: string): [label: string, path: string, init: RequestInit][] => [
    ['GET review', `/api/reviews/${target}`, {}],
    [
      'POST invites',
      `/api/reviews/${target}/invites`,
      { method: 'POST', body: JSON.stringify({ role: 'viewer' }) },
    ],
    ['GET export', `/api/reviews/${target}/export?format=json`, {}],
    ['POST export', `/api/reviews/${target}/export`, { method: 'POST', body: JSON.stringify({}) }],
    ['POST submit', `/api/reviews/${target}/submit`, { method: 'POST', body: JSON.stringify({}) }],
    ['POST reopen', `/api/reviews/${target}/reopen`, { method: 'POST', body: JSON.stringify({}) }],
    ['GET package', `/api/reviews/${target}/package`, {}],
  ];

  beforeAll(async () => {
    server = await startServer(prefix, { env: { SESSION_SECRET: SECRET, PUBLIC_URL } });
    owner = await session(server.url, 'Olga');
    reviewer = await session(server.url, 'Ravi');
    viewer = await session(server.url, 'Vera');
    outsider = await session(server.url, 'Otto');
    const doc = await makeDocx([
      { title: 'Summary', paragraphs: ['The outage lasted four hours.'] },
      { title: 'Actions', paragraphs: ['Add alerting on queue depth.'] },
    ]);
    const review = await createReview(server.url, owner.token, doc);
    reviewId = review.id;
    sectionId = review.sections[0]!.id;
    for (const [person, role] of [
      [reviewer, 'reviewer'],
      [viewer, 'viewer'],
    ] as const) {
      const { token } = await inviteToken(server.url, owner, reviewId, role);
      expect(await (await accept(server.url, person, token)).json()).toEqual({ reviewId, role });
    }
    watcher = await connect(server.url, owner.token);
    presence = [];
    watcher.on('presence', (payload) => presence.push(payload));
    feed = new ReviewFeed(watcher, reviewId);
    await feed.join();
    ownerItem = await addItem(watcher, 'The owner wrote this.');
    reviewerItem = await addItem(await connect(server.url, reviewer.token), 'The reviewer wrote this.');
  });

  it('refuses an outsider every socket event and every review route, and appends nothing', async () => {
    const socket = await connect(server.url, outsider.token);
    await expectNothingAppended(async () => {
      const results = await attemptAll(socket, everyEvent(reviewId, ownerItem));
      // Soft: one wrong answer must not hide whether the rest were refused and nothing was written.
      expect
        .soft(results)
        .toEqual(Object.fromEntries(everyEvent(reviewId, ownerItem).map(([label]) => [label, 'forbidden'])));

      const routes: Record<string, unknown> = {};
      for (const [label, path, init] of everyReviewRoute(reviewId)) {
        routes[label] = await answer(await api(server.url, outsider.token, path, init));
      }
      expect(routes).toEqual(
        Object.fromEntries(
          everyReviewRoute(reviewId).map(([label]) => [label, { status: 403, code: 'forbidden' }]),
        ),
      );
    });
    // The outsider never sees the review listed, and their socket never received its events.
    const list = (await (await api(server.url, outsider.token, '/api/reviews')).json()) as {
      reviews: { id: string }[];
    };
    expect(list.reviews.map((r) => r.id)).not.toContain(reviewId);
    expect(socket.connected).toBe(true);
  });

  it('answers not_found for a review that does not exist, on every event and route, to members and outsiders', async () => {
    for (const person of [outsider, owner]) {
      const socket = await connect(server.url, person.token);
      const list = everyEvent(UNKNOWN_REVIEW, ownerItem);
      expect
        .soft(await attemptAll(socket, list))
        .toEqual(Object.fromEntries(list.map(([label]) => [label, 'not_found'])));
      const routes: Record<string, unknown> = {};
      for (const [label, path, init] of everyReviewRoute(UNKNOWN_REVIEW)) {
        routes[label] = await answer(await api(server.url, person.token, path, init));
      }
      expect(routes).toEqual(
        Object.fromEntries(
          everyReviewRoute(UNKNOWN_REVIEW).map(([label]) => [label, { status: 404, code: 'not_found' }]),
        ),
      );
    }
  });

  it('lets a viewer join, read and show presence, and refuses every change', async () => {
    const socket = await connect(server.url, viewer.token);
    await expectNothingAppended(async () => {
      const joined: Ack = await call(socket, 'review:join', { reviewId });
      expect(outcome(joined)).toBe('ok');
      expect(joined.snapshot.role).toBe('viewer');
      expect(joined.snapshot.feedback.map((i: FeedbackItem) => i.id)).toEqual(
        expect.arrayContaining([ownerItem.id, reviewerItem.id]),
      );
      const read = await api(server.url, viewer.token, `/api/reviews/${reviewId}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { role: string }).role).toBe('viewer');

      expect(outcome(await call(socket, 'presence:update', { reviewId, sectionId, typing: true }))).toBe(
        'ok',
      );
      // The owner sees the viewer there, typing: presence is answered and shown, not logged.
      await waitFor(
        () =>
          presence.some((p) =>
            p.members.some((m) => m.user.id === viewer.user.id && m.typing && m.sectionId === sectionId),
          ),
        5000,
        "the viewer's presence",
      );

      const refused = everyEvent(reviewId, reviewerItem).filter(
        ([label]) => !['review:join', 'review:join since', 'review:leave', 'presence:update'].includes(label),
      );
      expect(await attemptAll(socket, refused)).toEqual(
        Object.fromEntries(refused.map(([label]) => [label, 'forbidden'])),
      );

      const invites = await api(server.url, viewer.token, `/api/reviews/${reviewId}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'viewer' }),
      });
      expect(await answer(invites)).toEqual({ status: 403, code: 'forbidden' });
      const exportPackage = await api(server.url, viewer.token, `/api/reviews/${reviewId}/export`, {
        method: 'POST',
        body: JSON.stringify({}),
      });
      expect(await answer(exportPackage)).toEqual({ status: 403, code: 'forbidden' });
      // Submitting and reopening are for the team doing the review, not for readers.
      for (const action of ['submit', 'reopen']) {
        const res = await api(server.url, viewer.token, `/api/reviews/${reviewId}/${action}`, {
          method: 'POST',
          body: JSON.stringify({}),
        });
        expect(await answer(res), action).toEqual({ status: 403, code: 'forbidden' });
      }
      // The package is for every member.
      const zip = await api(server.url, viewer.token, `/api/reviews/${reviewId}/package`);
      expect(zip.status).toBe(200);
      expect(zip.headers.get('content-type')).toBe('application/zip');
      await zip.body?.cancel();
      // Downloading an export is for any member: whatever this build answers, it is not a refusal.
      const download = await api(server.url, viewer.token, `/api/reviews/${reviewId}/export?format=json`);
      expect([401, 403]).not.toContain(download.status);
      await download.body?.cancel();

      expect(outcome(await call(socket, 'review:leave', { reviewId }))).toBe('ok');
    });
    // The viewer's item list is what it was: nothing was decided, edited or deleted.
    const after = (await (await api(server.url, viewer.token, `/api/reviews/${reviewId}`)).json()) as {
      feedback: FeedbackItem[];
    };
    expect(after.feedback.find((i) => i.id === reviewerItem.id)).toEqual(reviewerItem);
    expect(after.feedback.find((i) => i.id === ownerItem.id)).toEqual(ownerItem);
  });

  it("refuses a reviewer invites and changes to the owner's items, but allows their own", async () => {
    const socket = await connect(server.url, reviewer.token);
    await expectNothingAppended(async () => {
      const invites = await api(server.url, reviewer.token, `/api/reviews/${reviewId}/invites`, {
        method: 'POST',
        body: JSON.stringify({ role: 'reviewer' }),
      });
      expect(await answer(invites)).toEqual({ status: 403, code: 'forbidden' });
      const edit: Ack = await call(socket, 'feedback:edit', {
        reviewId,
        feedbackId: ownerItem.id,
        version: ownerItem.version,
        description: 'Hijacked.',
      });
      expect(outcome(edit)).toBe('forbidden');
      const del: Ack = await call(socket, 'feedback:delete', {
        reviewId,
        feedbackId: ownerItem.id,
        version: ownerItem.version,
      });
      expect(outcome(del)).toBe('forbidden');
    });

    // What the reviewer's role allows is not refused (AI events may be `unavailable` in this build).
    for (const [event, payload] of [
      ['analysis:start', { reviewId }],
      ['analysis:cancel', { reviewId }],
      ['chat:send', { reviewId, text: 'Is the timeline complete?' }],
      ['chat:cancel', { reviewId, messageId: 'm_someone' }],
    ] as const) {
      expect(outcome(await call(socket, event, payload)), event).not.toBe('forbidden');
    }
    const exportPackage = await api(server.url, reviewer.token, `/api/reviews/${reviewId}/export`, {
      method: 'POST',
      body: JSON.stringify({}),
    });
    expect([401, 403]).not.toContain(exportPackage.status);
    await exportPackage.body?.cancel();
    // Reopening is the owner's; the reviewer's submit is in lifecycle.int.test.ts (it closes the review).
    await expectNothingAppended(async () => {
      const reopen = await api(server.url, reviewer.token, `/api/reviews/${reviewId}/reopen`, {
        method: 'POST',
        body: JSON.stringify({}),
      });
      expect(await answer(reopen)).toEqual({ status: 403, code: 'forbidden' });
    });
    const zip = await api(server.url, reviewer.token, `/api/reviews/${reviewId}/package`);
    expect(zip.status).toBe(200);
    await zip.body?.cancel();

    // A reviewer decides anyone's item, and edits and deletes their own.
    const decided: Ack = await call(socket, 'feedback:decide', {
      reviewId,
      feedbackId: ownerItem.id,
      status: 'rejected',
      version: ownerItem.version,
    });
    expect(decided.item).toMatchObject({ status: 'rejected', decidedBy: reviewer.user });
    const own = await addItem(socket, 'Mine to change.');
    const edited: Ack = await call(socket, 'feedback:edit', {
      reviewId,
      feedbackId: own.id,
      version: own.version,
      description: 'Mine, changed.',
    });
    expect(edited.item).toMatchObject({ description: 'Mine, changed.', version: own.version + 1 });
    const deleted: Ack = await call(socket, 'feedback:delete', {
      reviewId,
      feedbackId: own.id,
      version: edited.item!.version,
    });
    expect(outcome(deleted)).toBe('ok');

    const state = (await (await api(server.url, owner.token, `/api/reviews/${reviewId}`)).json()) as {
      feedback: FeedbackItem[];
    };
    expect(state.feedback.map((i) => i.id)).not.toContain(own.id);
    expect(state.feedback.find((i) => i.id === ownerItem.id)).toMatchObject({
      description: ownerItem.description,
      status: 'rejected',
    });
  });

  it("lets the owner edit and delete anyone's item", async () => {
    const reviewerSocket = await connect(server.url, reviewer.token);
    const theirs = await addItem(reviewerSocket, 'The reviewer stands behind this.');
    const edited: Ack = await call(watcher, 'feedback:edit', {
      reviewId,
      feedbackId: theirs.id,
      version: theirs.version,
      category: 'Clarity',
    });
    expect(edited.item).toMatchObject({ category: 'Clarity', version: 2, createdBy: reviewer.user });
    const editedAgain: Ack = await call(watcher, 'feedback:edit', {
      reviewId,
      feedbackId: reviewerItem.id,
      version: reviewerItem.version,
      description: 'The owner sharpened this.',
    });
    expect(outcome(editedAgain)).toBe('ok');
    reviewerItem = editedAgain.item!;
    const deleted: Ack = await call(watcher, 'feedback:delete', {
      reviewId,
      feedbackId: theirs.id,
      version: 2,
    });
    expect(outcome(deleted)).toBe('ok');
    await waitFor(
      () => feed.events.some((e) => e.type === 'feedback.deleted' && e.data.item.id === theirs.id),
      5000,
      'the deletion',
    );
    const state = (await (await api(server.url, reviewer.token, `/api/reviews/${reviewId}`)).json()) as {
      feedback: FeedbackItem[];
    };
    expect(state.feedback.map((i) => i.id)).not.toContain(theirs.id);
    expect(state.feedback.find((i) => i.id === reviewerItem.id)?.description).toBe(
      'The owner sharpened this.',
    );
  });

  it('answers 401 unauthorized on every /api route without a valid session', async () => {
    const forged = new TokenSigner(['not-the-servers-secret-0123456789']).session(owner.user);
    const renamed = tamper(owner.token, (claims) => {
      claims.sub = outsider.user.id;
    });
    const { token: invite } = await inviteToken(server.url, owner, reviewId, 'reviewer');
    const credentials: [label: string, headers: Record<string, string>][] = [
      ['none', {}],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['garbage', { authorization: 'Bearer not-a-token' }],
      ['wrong secret', { authorization: `Bearer ${forged}` }],
      ['tampered claims', { authorization: `Bearer ${renamed}` }],
      ['invite as session', { authorization: `Bearer ${invite}` }],
      ['garbage cookie', { cookie: 'prism_session=v1.abc.def' }],
    ];
    const form = new FormData();
    form.set('file', new Blob([await makeDocx([{ title: 'T', paragraphs: ['text'] }])]), 'x.docx');
    const routes: [string, string, RequestInit][] = [
      ['GET reviews', '/api/reviews', {}],
      ['GET me', '/api/me', {}],
      ['POST reviews', '/api/reviews', { method: 'POST', body: form }],
      ['POST accept', '/api/invites/accept', { method: 'POST', body: JSON.stringify({ token: invite }) }],
      ...everyReviewRoute(reviewId),
    ];
    for (const [label, headers] of credentials) {
      const results: Record<string, unknown> = {};
      for (const [route, path, init] of routes) {
        const res = await fetch(`${server.url}${path}`, {
          ...init,
          headers: {
            ...(init.body instanceof FormData ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
        });
        results[route] = await answer(res);
      }
      expect(results, label).toEqual(
        Object.fromEntries(routes.map(([route]) => [route, { status: 401, code: 'unauthorized' }])),
      );
    }
    // Nobody became a member or an owner on the way.
    const members = (await (await api(server.url, owner.token, `/api/reviews/${reviewId}`)).json()) as {
      members: { user: { id: string } }[];
    };
    expect(members.members.map((m) => m.user.id)).not.toContain(outsider.user.id);
  });

  it('refuses a socket handshake with a missing, bad, forged or tampered token', async () => {
    const forged = new TokenSigner(['not-the-servers-secret-0123456789']).session(owner.user);
    const renamed = tamper(owner.token, (claims) => {
      claims.name = 'Mallory';
    });
    const { token: invite } = await inviteToken(server.url, owner, reviewId, 'viewer');
    const tokens: [string, string | undefined][] = [
      ['missing', undefined],
      ['empty', ''],
      ['garbage', 'not-a-token'],
      ['wrong secret', forged],
      ['tampered claims', renamed],
      ['invite as session', invite],
    ];
    for (const [label, token] of tokens) {
      const { socket, error } = await tryConnect(server.url, token === undefined ? {} : { token });
      expect(error?.message, label).toBe('unauthorized');
      expect(socket.connected, label).toBe(false);
    }
    // The genuine token still works, as does the session cookie alone on the handshake.
    expect((await tryConnect(server.url, { token: owner.token })).error).toBeUndefined();
    const byCookie = await tryConnect(server.url, {
      headers: { cookie: `prism_session=${encodeURIComponent(viewer.token)}` },
    });
    expect(byCookie.error).toBeUndefined();
    const joined: Ack = await call(byCookie.socket, 'review:join', { reviewId });
    expect(joined.snapshot.role).toBe('viewer');
  });

  it('refuses a websocket handshake from a foreign Origin; allows none and PUBLIC_URL', async () => {
    for (const origin of ['http://evil.example', 'http://prism.test.evil.example', 'https://prism.test']) {
      const { socket, error } = await tryConnect(server.url, { token: owner.token, headers: { origin } });
      expect(error, origin).toBeInstanceOf(Error);
      expect(socket.connected, origin).toBe(false);
    }
    const none = await tryConnect(server.url, { token: owner.token });
    expect(none.error).toBeUndefined();
    const own = await tryConnect(server.url, { token: owner.token, headers: { origin: PUBLIC_URL } });
    expect(own.error).toBeUndefined();
    expect(outcome(await call(own.socket, 'review:join', { reviewId }))).toBe('ok');
  });

  it('refuses a tampered, forged or expired invite token and adds no member', async () => {
    const { token } = await inviteToken(server.url, owner, reviewId, 'viewer');
    const signer = new TokenSigner([SECRET]);
    const bad: [string, string][] = [
      [
        'role raised',
        tamper(token, (claims) => {
          claims.role = 'reviewer';
        }),
      ],
      [
        'owner claimed',
        tamper(token, (claims) => {
          claims.role = 'owner';
        }),
      ],
      [
        'other review',
        tamper(token, (claims) => {
          claims.rid = 'r_other';
        }),
      ],
      ['mac cut', token.slice(0, -2)],
      [
        'wrong secret',
        new TokenSigner(['not-the-servers-secret-0123456789']).invite(reviewId, 'reviewer', owner.user),
      ],
      ['expired', signer.invite(reviewId, 'reviewer', owner.user, -60)],
      ['session as invite', outsider.token],
    ];
    await expectNothingAppended(async () => {
      for (const [label, forged] of bad) {
        expect(await answer(await accept(server.url, outsider, forged)), label).toEqual({
          status: 403,
          code: 'forbidden',
        });
      }
      expect(await answer(await api(server.url, outsider.token, `/api/reviews/${reviewId}`))).toEqual({
        status: 403,
        code: 'forbidden',
      });
    });
    // The untouched token, signed the same way, works: the refusals above were the tampering.
    const legit = await session(server.url, 'Lena');
    expect(await (await accept(server.url, legit, token)).json()).toEqual({ reviewId, role: 'viewer' });
  });

  it('keeps the higher role when a member accepts an invite for a lower one', async () => {
    const { token: viewerInvite, url } = await inviteToken(server.url, owner, reviewId, 'viewer');
    expect(url.startsWith(`${PUBLIC_URL}/`)).toBe(true);
    await expectNothingAppended(async () => {
      expect(await (await accept(server.url, reviewer, viewerInvite)).json()).toEqual({
        reviewId,
        role: 'reviewer',
      });
      expect(await (await accept(server.url, owner, viewerInvite)).json()).toEqual({
        reviewId,
        role: 'owner',
      });
    });
    const read = (await (await api(server.url, reviewer.token, `/api/reviews/${reviewId}`)).json()) as {
      role: string;
    };
    expect(read.role).toBe('reviewer');
    const socket = await connect(server.url, reviewer.token);
    await addItem(socket, 'Still a reviewer.');

    // The other way round, a viewer who accepts a reviewer invite becomes a reviewer.
    const upgraded = await session(server.url, 'Uma');
    expect(await (await accept(server.url, upgraded, viewerInvite)).json()).toEqual({
      reviewId,
      role: 'viewer',
    });
    const { token: reviewerInvite } = await inviteToken(server.url, owner, reviewId, 'reviewer');
    expect(await (await accept(server.url, upgraded, reviewerInvite)).json()).toEqual({
      reviewId,
      role: 'reviewer',
    });
    const list = (await (await api(server.url, upgraded.token, '/api/reviews')).json()) as {
      reviews: { id: string; role: string }[];
    };
    expect(list.reviews).toEqual([expect.objectContaining({ id: reviewId, role: 'reviewer' })]);
  });

  it('announces an accepted invite with exactly one member.joined, however often it is accepted', async () => {
    const { token } = await inviteToken(server.url, owner, reviewId, 'reviewer');
    const nina = await session(server.url, 'Nina');
    const seen = feed.events.length;
    const start = await seqNow();
    for (let i = 0; i < 3; i += 1) {
      expect(await (await accept(server.url, nina, token)).json()).toEqual({ reviewId, role: 'reviewer' });
    }
    const marker = await addItem(watcher, 'after Nina');
    await waitFor(
      () => feed.events.some((e) => e.type === 'feedback.added' && e.data.item.id === marker.id),
      5000,
      'the marker event',
    );
    const events = feed.events.slice(seen);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [start + 1, 'member.joined'],
      [start + 2, 'feedback.added'],
    ]);
    const joined = events[0] as ReviewEvent<'member.joined'>;
    expect(joined.actor).toEqual(nina.user);
    expect(joined.data).toEqual({ user: nina.user, role: 'reviewer' });
    const snapshot = (await (await api(server.url, nina.token, `/api/reviews/${reviewId}`)).json()) as {
      members: { user: { id: string }; role: string }[];
    };
    expect(snapshot.members.filter((m) => m.user.id === nina.user.id)).toEqual([
      expect.objectContaining({ role: 'reviewer' }),
    ]);
  });

  it('lets several people use one invite token', async () => {
    const { token } = await inviteToken(server.url, owner, reviewId, 'viewer');
    const people = await Promise.all(['Pia', 'Quinn', 'Rosa'].map((name) => session(server.url, name)));
    const answers = await Promise.all(people.map(async (p) => (await accept(server.url, p, token)).json()));
    expect(answers).toEqual(people.map(() => ({ reviewId, role: 'viewer' })));
    for (const person of people) {
      const socket = await connect(server.url, person.token);
      const joined: Ack = await call(socket, 'review:join', { reviewId });
      expect(joined.snapshot.role).toBe('viewer');
    }
    const snapshot = (await (await api(server.url, owner.token, `/api/reviews/${reviewId}`)).json()) as {
      members: { user: { id: string }; role: string }[];
    };
    for (const person of people) {
      expect(snapshot.members.filter((m) => m.user.id === person.user.id)).toEqual([
        expect.objectContaining({ role: 'viewer' }),
      ]);
    }
  });

  it('uploads and reviews of one person stay invisible to another', async () => {
    const res = await upload(
      server.url,
      outsider.token,
      await makeDocx([{ title: 'Mine', paragraphs: ['Private.'] }]),
    );
    expect(res.status).toBe(201);
    const { review } = (await res.json()) as { review: { id: string } };
    for (const person of [owner, reviewer, viewer]) {
      expect(await answer(await api(server.url, person.token, `/api/reviews/${review.id}`))).toEqual({
        status: 403,
        code: 'forbidden',
      });
      const list = (await (await api(server.url, person.token, '/api/reviews')).json()) as {
        reviews: { id: string }[];
      };
      expect(list.reviews.map((r) => r.id)).not.toContain(review.id);
    }
  });

  it('lists every review a person belongs to, newest first, each with their role', async () => {
    const vera = await session(server.url, 'Vera');
    const own: string[] = [];
    for (const title of ['First', 'Second', 'Third', 'Fourth']) {
      const res = await upload(server.url, vera.token, await makeDocx([{ title, paragraphs: ['Mine.'] }]));
      expect(res.status).toBe(201);
      own.push(((await res.json()) as { review: { id: string } }).review.id);
    }
    // Joined last, but the oldest review of all.
    const { token } = await inviteToken(server.url, owner, reviewId, 'viewer');
    expect((await accept(server.url, vera, token)).status).toBe(200);
    // Twice: the first read fetches the new reviews' meta, the second finds it cached.
    for (let read = 0; read < 2; read += 1) {
      const list = (await (await api(server.url, vera.token, '/api/reviews')).json()) as {
        reviews: { id: string; role: string; createdAt: string }[];
      };
      expect(list.reviews.map(({ id, role }) => ({ id, role }))).toEqual([
        ...own.map((id) => ({ id, role: 'owner' })).reverse(),
        { id: reviewId, role: 'viewer' },
      ]);
      const times = list.reviews.map((r) => r.createdAt);
      expect(times).toEqual([...times].sort().reverse());
    }
  });
});
