/**
 * A review's end (CONTRACT 7.3) through two real servers on one Redis and a real S3-API server:
 * archiving moves every key to one object and restoring (two servers at once) brings back the
 * byte-identical snapshot with `seq` going on gap-free; an archive that cannot be written leaves
 * the review as it was; deleting leaves no key and no object, tells the room, writes the audit
 * line and answers 404 on every route after; only the owner may archive or delete.
 */
import type { ReviewEvent } from '@prism/core';
import { AuditLog, S3ObjectStore, scanKeys } from '@prism/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  call,
  cleanupKeys,
  connect,
  createReview,
  invite,
  makeDocx,
  type Person,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  type TestServer,
  testRedis,
  uniquePrefix,
  upload,
  waitFor,
} from '../../test/helpers.ts';
import { type S3TestServer, startS3Server } from '../../test/s3-server.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';

const prefix = uniquePrefix('archive');
let s3: S3TestServer;
let objects: S3ObjectStore;
let a: TestServer;
let b: TestServer;
let owner: Person;
let reviewer: Person;
let viewer: Person;
let outsider: Person;
const redis = testRedis();

const store = (bucket: string, secret?: string) =>
  new S3ObjectStore({
    bucket,
    prefix: `prism/${prefix.replaceAll(':', '_')}`,
    region: s3.region,
    endpoint: s3.endpoint,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: secret ?? s3.secretAccessKey },
  });

/**
 * The review's keys: SCAN of `<prefix>review:{<id>}*`; with `all`, of `<prefix>*{<id>}*` (the
 * library's locator of its record too, which an archived review keeps).
 */
async function reviewKeysInRedis(reviewId: string, all = false): Promise<string[]> {
  const pattern = all ? `${prefix}*{${reviewId}}*` : `${prefix}review:{${reviewId}}*`;
  return (await scanKeys(redis, pattern)).sort();
}

async function snapshotText(server: TestServer, person: Person, reviewId: string): Promise<string> {
  const res = await api(server.url, person.token, `/api/reviews/${reviewId}`);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

/** A review with two sections, the three members, a finding, a decision and a reply in its log. */
async function busyReview(): Promise<{ id: string; sections: { id: string }[] }> {
  const review = await createReview(
    a.url,
    owner.token,
    await makeDocx([
      { title: 'Budget', paragraphs: ['Spending on quokka habitats rose by a tenth.'] },
      { title: 'Risks', paragraphs: ['The tamarind supplier may be late.'] },
    ]),
  );
  await invite(a.url, owner, reviewer, review.id, 'reviewer');
  await invite(a.url, owner, viewer, review.id, 'viewer', b.url);
  const socket = await connect(a.url, reviewer.token);
  const added = await call(socket, 'feedback:add', {
    reviewId: review.id,
    sectionId: review.sections[0]!.id,
    type: 'important',
    category: 'clarity',
    description: 'Say which habitats.',
    quote: 'quokka habitats',
  });
  expect(added.ok, JSON.stringify(added)).toBe(true);
  const item = added.item;
  const decided = await call(socket, 'feedback:decide', {
    reviewId: review.id,
    feedbackId: item.id,
    status: 'accepted',
    version: item.version,
  });
  expect(decided.ok, JSON.stringify(decided)).toBe(true);
  const replied = await call(socket, 'feedback:reply', {
    reviewId: review.id,
    feedbackId: item.id,
    text: 'Agreed, @Olga.',
  });
  expect(replied.ok, JSON.stringify(replied)).toBe(true);
  socket.disconnect();
  return review;
}

beforeAll(async () => {
  cleanupKeys(prefix);
  s3 = await startS3Server({ bucket: 'prism-archive-test' });
  objects = store(s3.bucket);
  a = await startServer(prefix, { instance: 'archive-a', objects });
  b = await startServer(prefix, { instance: 'archive-b', objects: store(s3.bucket) });
  owner = await session(a.url, 'Olga');
  reviewer = await session(a.url, 'Ravi');
  viewer = await session(a.url, 'Vera');
  outsider = await session(a.url, 'Otto');
}, 120_000);

afterAll(async () => {
  objects?.destroy();
  await s3?.stop();
});

describe('archive and restore', () => {
  it('moves every key to one object and restores it once, on two servers at once, byte-identical', async () => {
    const review = await busyReview();
    const before = await snapshotText(a, owner, review.id);
    const seqBefore = JSON.parse(before).seq as number;
    expect(await reviewKeysInRedis(review.id)).not.toEqual([]);
    // The counts the append keeps for the library leave with the other keys and come back with them.
    const activityKey = `${prefix}review:{${review.id}}:activity`;
    const activity = await redis.hgetall(activityKey);
    expect(activity).toMatchObject({ decided: '1', total: '1' });
    const progressOn = async (server: TestServer, status: string) => {
      const res = await api(server.url, owner.token, `/api/reviews?status=${status}`);
      const { reviews } = (await res.json()) as { reviews: { id: string; progress: unknown }[] };
      return reviews.find((r) => r.id === review.id)?.progress;
    };

    const archived = await api(a.url, owner.token, `/api/reviews/${review.id}/archive`, {
      method: 'POST',
      body: '{}',
    });
    expect(archived.status, await archived.clone().text()).toBe(200);
    expect(await archived.json()).toEqual({ status: 'archived' });
    expect(await reviewKeysInRedis(review.id)).toEqual([]);
    expect(await objects.list(`reviews/${review.id}/`)).toContain(`reviews/${review.id}/archive.json.gz`);
    // The library still lists it, as archived.
    const listed = await api(b.url, owner.token, '/api/reviews?status=archived');
    expect(((await listed.json()) as { reviews: { id: string }[] }).reviews.map((r) => r.id)).toContain(
      review.id,
    );
    // With the progress it had: its record is all the library has of it now.
    expect(await progressOn(b, 'archived')).toEqual({ decided: 1, total: 1 });

    // Both servers read it at the same moment: each restores or waits for the other.
    const [onA, onB] = await Promise.all([
      snapshotText(a, owner, review.id),
      snapshotText(b, owner, review.id),
    ]);
    expect(onA).toBe(before);
    expect(onB).toBe(before);
    // Restored once: the stream holds each event once, and the archive object is gone.
    expect(await redis.xlen(`${prefix}review:{${review.id}}:log`)).toBe(seqBefore);
    expect(await objects.list(`reviews/${review.id}/`)).not.toContain(`reviews/${review.id}/archive.json.gz`);
    const open = await api(b.url, owner.token, '/api/reviews?status=open');
    expect(((await open.json()) as { reviews: { id: string }[] }).reviews.map((r) => r.id)).toContain(
      review.id,
    );
    expect(await redis.hgetall(activityKey)).toEqual(activity);
    expect(await progressOn(a, 'open')).toEqual({ decided: 1, total: 1 });

    // Archived again, a join restores it, replays from the start and the log goes on gap-free.
    await api(a.url, owner.token, `/api/reviews/${review.id}/archive`, { method: 'POST', body: '{}' });
    expect(await reviewKeysInRedis(review.id)).toEqual([]);
    const socket = await connect(b.url, reviewer.token);
    const replay = await call(socket, 'review:join', { reviewId: review.id, since: 0 });
    expect(replay.ok, JSON.stringify(replay)).toBe(true);
    const events = replay.events as ReviewEvent[];
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: seqBefore }, (_, i) => i + 1));
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();
    expect(feed.seq).toBe(seqBefore);
    const owners = await connect(a.url, owner.token);
    const added = await call(owners, 'feedback:add', {
      reviewId: review.id,
      sectionId: review.sections[1]!.id,
      type: 'suggestion',
      category: 'risk',
      description: 'Name a second supplier.',
    });
    expect(added.ok, JSON.stringify(added)).toBe(true);
    await waitFor(() => feed.seq === seqBefore + 1, 10_000, 'the next event on the other server');
    expect(feed.events.at(-1)!.seq).toBe(seqBefore + 1);
    expect(feed.gapsSeen).toBe(0);
    // The restored counts go on from where they were (a person's item starts accepted).
    expect(await progressOn(b, 'open')).toEqual({ decided: 2, total: 2 });
  });

  it('stays archived when a reader in the room leaves it', async () => {
    const review = await busyReview();
    const socket = await connect(b.url, reviewer.token);
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();
    const archived = await api(a.url, owner.token, `/api/reviews/${review.id}/archive`, {
      method: 'POST',
      body: '{}',
    });
    expect(archived.status).toBe(200);
    const left = await call(socket, 'review:leave', { reviewId: review.id });
    expect(left.ok, JSON.stringify(left)).toBe(true);
    expect(await reviewKeysInRedis(review.id)).toEqual([]);
  });

  it('leaves the review untouched when the archive cannot be written', async () => {
    const review = await busyReview();
    const before = await snapshotText(a, owner, review.id);
    const keys = await reviewKeysInRedis(review.id);
    for (const broken of [store('prism-no-such-bucket'), store(s3.bucket, 'not-the-secret')]) {
      const c = await startServer(prefix, { instance: 'archive-broken', objects: broken });
      const res = await api(c.url, owner.token, `/api/reviews/${review.id}/archive`, {
        method: 'POST',
        body: '{}',
      });
      expect(res.status).toBeGreaterThanOrEqual(500);
      await c.close();
      broken.destroy();
      expect(await reviewKeysInRedis(review.id)).toEqual(keys);
      expect(await snapshotText(a, owner, review.id)).toBe(before);
    }
  });

  it('lets only the owner archive, with a JSON object as the body', async () => {
    const review = await busyReview();
    for (const person of [reviewer, viewer, outsider]) {
      const res = await api(b.url, person.token, `/api/reviews/${review.id}/archive`, {
        method: 'POST',
        body: '{}',
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    const anonymous = await fetch(`${b.url}/api/reviews/${review.id}/archive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    // The owner too needs a JSON object as the body (a cross-site form cannot send one).
    const notObject = await api(b.url, owner.token, `/api/reviews/${review.id}/archive`, {
      method: 'POST',
      body: '[]',
    });
    expect(notObject.status).toBe(400);
    expect(((await notObject.json()) as { error: { code: string } }).error.code).toBe('invalid');
    expect((await reviewKeysInRedis(review.id)).length).toBeGreaterThan(0);
  });
});

describe('delete', () => {
  it('removes every key and object, tells the room on both servers, audits it, and is 404 everywhere after', async () => {
    const worker = await startWorker(prefix, new RulesProvider(), {}, store(s3.bucket));
    const review = await busyReview();
    // A package written to the store by the worker: deleting the review takes it too.
    const ownerSocket = await connect(a.url, owner.token);
    const ownerFeed = new ReviewFeed(ownerSocket, review.id);
    await ownerFeed.join();
    const exported = await api(a.url, owner.token, `/api/reviews/${review.id}/export`, {
      method: 'POST',
      body: '{}',
    });
    expect(exported.status).toBe(202);
    const ready = await waitFor(
      () => ownerFeed.events.find((event) => event.type === 'export.ready'),
      30_000,
      'export.ready',
    );
    const folder = (ready as ReviewEvent<'export.ready'>).data.location;
    expect((await objects.list(folder)).length).toBeGreaterThan(0);
    await worker.close();
    const inviteRes = await api(a.url, owner.token, `/api/reviews/${review.id}/invites`, {
      method: 'POST',
      body: JSON.stringify({ role: 'viewer' }),
    });
    const { token: inviteToken } = (await inviteRes.json()) as { token: string };

    const reviewerSocket = await connect(b.url, reviewer.token);
    const reviewerFeed = new ReviewFeed(reviewerSocket, review.id);
    await reviewerFeed.join();

    for (const person of [reviewer, viewer, outsider]) {
      const refused = await api(a.url, person.token, `/api/reviews/${review.id}`, { method: 'DELETE' });
      expect(refused.status).toBe(403);
    }
    expect((await fetch(`${a.url}/api/reviews/${review.id}`, { method: 'DELETE' })).status).toBe(401);

    const deleted = await api(a.url, owner.token, `/api/reviews/${review.id}`, { method: 'DELETE' });
    expect(deleted.status, await deleted.clone().text()).toBe(204);

    for (const feed of [ownerFeed, reviewerFeed]) {
      const last = await waitFor(
        () => feed.events.find((event) => event.type === 'review.deleted'),
        10_000,
        'review.deleted',
      );
      expect(last.actor.name).toBe('Olga');
      expect((last as ReviewEvent<'review.deleted'>).data.title).toBe('Budget');
    }
    // Each server took its sockets out of the room.
    const room = `review:${review.id}`;
    for (const server of [a, b]) {
      await waitFor(() => !server.app.io.sockets.adapter.rooms.has(room), 10_000, 'the room emptied');
    }
    expect(await reviewKeysInRedis(review.id)).toEqual([]);
    expect(await objects.list(`reviews/${review.id}/`)).toEqual([]);
    expect(await objects.list(folder)).toEqual([]);
    expect(await reviewKeysInRedis(review.id, true)).toEqual([]);

    const audit = await new AuditLog(redis, prefix).read({ userId: owner.user.id });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'review.deleted', reviewId: review.id, title: 'Budget' });
    expect(audit[0]!.by.id).toBe(owner.user.id);

    const routes: [string, RequestInit?][] = [
      [`/api/reviews/${review.id}`],
      [`/api/reviews/${review.id}/export?format=json`],
      [`/api/reviews/${review.id}/package`],
      [`/api/reviews/${review.id}/export`, { method: 'POST', body: '{}' }],
      [`/api/reviews/${review.id}/invites`, { method: 'POST', body: JSON.stringify({ role: 'viewer' }) }],
      [`/api/reviews/${review.id}/submit`, { method: 'POST', body: '{}' }],
      [`/api/reviews/${review.id}/reopen`, { method: 'POST', body: '{}' }],
      [`/api/reviews/${review.id}/archive`, { method: 'POST', body: '{}' }],
      [`/api/reviews/${review.id}`, { method: 'DELETE' }],
    ];
    for (const server of [a, b]) {
      for (const person of [owner, reviewer]) {
        for (const [path, init] of routes) {
          const res = await api(server.url, person.token, path, init);
          expect(res.status, `${init?.method ?? 'GET'} ${path}`).toBe(404);
        }
      }
      const accepted = await api(server.url, outsider.token, '/api/invites/accept', {
        method: 'POST',
        body: JSON.stringify({ token: inviteToken }),
      });
      expect(accepted.status).toBe(404);
      const joined = await call(reviewerSocket, 'review:join', { reviewId: review.id });
      expect(joined.ok).toBe(false);
      expect(joined.error.code).toBe('not_found');
    }
    const listed = await api(b.url, owner.token, '/api/reviews');
    expect(((await listed.json()) as { reviews: { id: string }[] }).reviews.map((r) => r.id)).not.toContain(
      review.id,
    );
    // A worker still busy with it cannot bring keys back: its appends and job writes are refused.
    const late = a.app.service.store;
    await late.setJobField(review.id, 'analysis:s1', 'late');
    expect(await late.claimJobField(review.id, 'round:1', 'late')).toBe(false);
    await late.addUsage(review.id, 'rules', { inputTokens: 5, outputTokens: 5 });
    const appended = await late.log.append({
      reviewId: review.id,
      type: 'section.status',
      at: new Date().toISOString(),
      actor: owner.user,
      data: { sectionId: 's1', status: 'done' },
    });
    expect(appended.ok).toBe(false);
    // Nothing came back meanwhile.
    expect(await reviewKeysInRedis(review.id, true)).toEqual([]);
  }, 60_000);

  it('deletes an archived review: its archive object goes too', async () => {
    const review = await busyReview();
    await api(a.url, owner.token, `/api/reviews/${review.id}/archive`, { method: 'POST', body: '{}' });
    expect(await objects.list(`reviews/${review.id}/`)).toContain(`reviews/${review.id}/archive.json.gz`);
    const deleted = await api(b.url, owner.token, `/api/reviews/${review.id}`, { method: 'DELETE' });
    expect(deleted.status, await deleted.clone().text()).toBe(204);
    expect(await objects.list(`reviews/${review.id}/`)).toEqual([]);
    expect(await reviewKeysInRedis(review.id, true)).toEqual([]);
    expect((await api(a.url, owner.token, `/api/reviews/${review.id}`)).status).toBe(404);
  });

  it("writes a workspace review's deletion in its workspace's audit log, archived or not", async () => {
    const created = await api(a.url, owner.token, '/api/workspaces', {
      method: 'POST',
      body: JSON.stringify({ name: 'Audited' }),
    });
    const { workspace } = (await created.json()) as { workspace: { id: string } };
    const doc = await makeDocx([{ title: 'Budget', paragraphs: ['Spending rose by a tenth.'] }]);
    const ids: string[] = [];
    for (const archiveFirst of [false, true]) {
      const uploaded = await upload(a.url, owner.token, doc, { workspaceId: workspace.id, title: 'Budget' });
      expect(uploaded.status).toBe(201);
      const { review } = (await uploaded.json()) as { review: { id: string } };
      ids.push(review.id);
      if (archiveFirst) {
        const archived = await api(a.url, owner.token, `/api/reviews/${review.id}/archive`, {
          method: 'POST',
          body: '{}',
        });
        expect(archived.status).toBe(200);
      }
      expect((await api(b.url, owner.token, `/api/reviews/${review.id}`, { method: 'DELETE' })).status).toBe(
        204,
      );
    }
    const audit = await new AuditLog(redis, prefix).read({ workspaceId: workspace.id });
    expect(audit.map((entry) => entry.reviewId).sort()).toEqual([...ids].sort());
    expect(audit.every((entry) => entry.action === 'review.deleted' && entry.by.id === owner.user.id)).toBe(
      true,
    );
    // Not under the owner's own reviews.
    const own = await new AuditLog(redis, prefix).read({ userId: owner.user.id });
    expect(own.some((entry) => ids.includes(entry.reviewId))).toBe(false);
  });
});
