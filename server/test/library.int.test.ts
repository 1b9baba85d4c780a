/**
 * The review library (CONTRACT 7.3) through two real servers on one Redis: a review uploaded on
 * one is found on the other by a word of its document, progress follows decisions and findings
 * appended elsewhere at once (library-progress.int.test.ts counts every kind of change), the
 * status filter follows submit and reopen, an archived review (its keys gone from Redis) is still
 * listed and found, people in a room are listed, and bad queries and non-members are refused with
 * stable codes.
 */
import type { FeedbackItem, ReviewSummary } from '@prism/core';
import { deleteKeys, LibraryStore } from '@prism/store';
import { Redis } from 'ioredis';
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
  REDIS_URL,
  ReviewFeed,
  session,
  startServer,
  type TestServer,
  uniquePrefix,
  upload,
} from '../../test/helpers.ts';

const prefix = uniquePrefix('library');

async function list(server: TestServer, person: Person, query = ''): Promise<ReviewSummary[]> {
  const res = await api(server.url, person.token, `/api/reviews${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { reviews: ReviewSummary[] }).reviews;
}

/** Re-reads until `check` holds (a change written by another process's debounce), for at most 10 s. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const ids = (reviews: ReviewSummary[]): string[] => reviews.map((review) => review.id);

describe('review library', () => {
  cleanupKeys(prefix);
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  afterAll(() => redis.disconnect());

  let a: TestServer;
  let b: TestServer;
  let owner: Person;
  let reviewer: Person;
  let outsider: Person;
  let budget: { id: string; sections: { id: string }[] };
  let hiring: { id: string; sections: { id: string }[] };

  beforeAll(async () => {
    a = await startServer(prefix, { instance: 'library-a' });
    b = await startServer(prefix, { instance: 'library-b' });
    owner = await session(a.url, 'Olga');
    reviewer = await session(a.url, 'Ravi');
    outsider = await session(a.url, 'Otto');
    budget = await createReview(
      a.url,
      owner.token,
      await makeDocx([
        { title: 'Budget for the Fjällräven partnership', paragraphs: ['Spending on quokka habitats rose.'] },
        { title: 'Risks', paragraphs: ['The tamarind supplier may be late.'] },
      ]),
    );
    hiring = await createReview(
      a.url,
      owner.token,
      await makeDocx([{ title: 'Hiring plan', paragraphs: ['Two engineers join in March.'] }]),
    );
    await invite(a.url, owner, reviewer, budget.id, 'reviewer');
  });

  it('finds a review uploaded on one server by words of its text on the other, and only for its members', async () => {
    expect(ids(await list(b, owner, '?q=quokka'))).toEqual([budget.id]);
    // Title words, several words (all must match), the last one as it is being typed, any case or accent.
    expect(ids(await list(b, owner, '?q=fjallraven'))).toEqual([budget.id]);
    expect(ids(await list(b, owner, `?q=${encodeURIComponent('TAMARIND supp')}`))).toEqual([budget.id]);
    expect(ids(await list(b, owner, '?q=tamarind%20engineers'))).toEqual([]);
    expect(ids(await list(b, owner, '?q=engineers'))).toEqual([hiring.id]);
    expect(ids(await list(b, owner, '?q=nothinglikethis'))).toEqual([]);
    // A blank search is no search.
    expect((await list(b, owner, '?q=%20')).length).toBe(2);
    // The reviewer was invited to one of them; an outsider finds nothing.
    expect(ids(await list(b, reviewer, '?q=quokka'))).toEqual([budget.id]);
    expect(ids(await list(b, reviewer, '?q=engineers'))).toEqual([]);
    expect(await list(b, outsider, '?q=quokka')).toEqual([]);
    // A third, cold server answers the same from what Redis holds.
    const c = await startServer(prefix, { instance: 'library-c' });
    expect(ids(await list(c, owner, '?q=quokka'))).toEqual([budget.id]);
    const [listed] = await list(c, reviewer);
    expect(listed).toMatchObject({ id: budget.id, role: 'reviewer', owner: owner.user, status: 'open' });
    expect(listed!.sections.map((section) => section.id)).toEqual(
      budget.sections.map((section) => section.id),
    );
  });

  it('answers 304 to the ETag of what the caller saw while nothing changed, on either server, and the new list once something did', async () => {
    const nora = await session(a.url, 'Nora');
    await createReview(
      a.url,
      nora.token,
      await makeDocx([{ title: 'Roadmap', paragraphs: ['We ship in May.'] }]),
    );
    const first = await api(a.url, nora.token, '/api/reviews');
    const etag = first.headers.get('etag');
    expect(first.status).toBe(200);
    expect(etag).toBeTruthy();
    // The browser may keep it, and must ask again each time (a refresh costs a 304, not the list).
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    const body = await first.text();
    for (const server of [a, b]) {
      const again = await api(server.url, nora.token, '/api/reviews', {
        headers: { 'if-none-match': etag! },
      });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
    }
    // Someone else's ETag is no shortcut: the outsider gets their own (empty) list.
    const other = await api(b.url, outsider.token, '/api/reviews', { headers: { 'if-none-match': etag! } });
    expect(other.status).toBe(200);
    expect(((await other.json()) as { reviews: unknown[] }).reviews).toEqual([]);
    // A new review of hers: 200, a new ETag, and the review in it.
    const added = await createReview(
      a.url,
      nora.token,
      await makeDocx([{ title: 'Quarterly review', paragraphs: ['Sales grew.'] }]),
    );
    const changed = await api(b.url, nora.token, '/api/reviews', { headers: { 'if-none-match': etag! } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const text = await changed.text();
    expect(text).not.toBe(body);
    expect(ids((JSON.parse(text) as { reviews: ReviewSummary[] }).reviews)).toContain(added.id);
  });

  it('shows progress after decisions at once, and after findings a worker appends as soon as they are appended', async () => {
    const sectionId = budget.sections[0]!.id;
    const socket = await connect(b.url, reviewer.token);
    const added = await call(socket, 'feedback:add', {
      reviewId: budget.id,
      sectionId,
      type: 'suggestion',
      category: 'Clarity',
      description: 'Say which habitats.',
    });
    expect(added.ok, JSON.stringify(added.error)).toBe(true);
    const decided = await call(socket, 'feedback:decide', {
      reviewId: budget.id,
      feedbackId: (added.item as FeedbackItem).id,
      status: 'accepted',
      version: 1,
    });
    expect(decided.ok, JSON.stringify(decided.error)).toBe(true);
    // Decided through B, listed through A straight after the ack.
    const [first] = await list(a, owner, '?q=quokka');
    expect(first).toMatchObject({ progress: { decided: 1, total: 1 } });
    expect(first!.updatedAt).toBe((decided.item as FeedbackItem).decidedAt);

    // Two findings appended the way a worker writes them (through the log, no person's command).
    for (const n of [1, 2]) {
      const item: FeedbackItem = {
        id: `f_w${n}`,
        sectionId,
        type: 'important',
        category: 'Evidence',
        description: `Finding ${n}.`,
        questions: [],
        refs: [],
        risk: 'medium',
        confidence: 0.9,
        source: 'ai',
        model: 'stand-in',
        status: 'pending',
        createdBy: { id: 'prism', name: 'Prism' },
        createdAt: new Date().toISOString(),
        version: 1,
        replies: [],
        resolved: false,
      } as FeedbackItem;
      await a.app.service.store.log.append(
        {
          reviewId: budget.id,
          type: 'feedback.added',
          at: item.createdAt,
          actor: item.createdBy,
          data: { item },
        },
        { writes: [{ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(item) }] },
      );
    }
    // At once too: the append that wrote them moved the review's counts (store/src/activity.ts).
    const [found] = await list(b, owner, '?q=quokka');
    expect(found!.progress).toEqual({ decided: 1, total: 3 });
    // Last activity first.
    expect(ids(await list(b, owner))).toEqual([budget.id, hiring.id]);
  });

  it('filters by status after submit and reopen, on either server', async () => {
    const submit = await api(a.url, owner.token, `/api/reviews/${hiring.id}/submit`, {
      method: 'POST',
      body: '{}',
    });
    expect(submit.status).toBe(200);
    for (const server of [a, b]) {
      expect(ids(await list(server, owner, '?status=submitted'))).toEqual([hiring.id]);
      expect(ids(await list(server, owner, '?status=open'))).toEqual([budget.id]);
      expect(ids(await list(server, owner, '?status=submitted&q=engineers'))).toEqual([hiring.id]);
    }
    const [submitted] = await list(b, owner, '?status=submitted');
    expect(submitted).toMatchObject({ status: 'submitted', submitted: { by: owner.user } });
    const reopen = await api(b.url, owner.token, `/api/reviews/${hiring.id}/reopen`, {
      method: 'POST',
      body: '{}',
    });
    expect(reopen.status).toBe(200);
    expect(await list(a, owner, '?status=submitted')).toEqual([]);
    expect(ids(await list(a, owner, '?status=open')).sort()).toEqual([budget.id, hiring.id].sort());
  });

  it('finds a review by the words of its latest revision, no longer by words it dropped', async () => {
    const review = await createReview(
      a.url,
      owner.token,
      await makeDocx([{ title: 'Draft memo', paragraphs: ['The axolotl budget is pending.'] }]),
    );
    const form = new FormData();
    form.set(
      'file',
      new Blob([await makeDocx([{ title: 'Draft memo', paragraphs: ['The narwhal budget is approved.'] }])]),
      'memo-v2.docx',
    );
    const revised = await fetch(`${b.url}/api/reviews/${review.id}/revisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    expect(revised.status, await revised.clone().text()).toBe(201);
    await eventually(
      () => list(a, owner, '?q=narwhal'),
      (found) => found.length === 1,
      'the revision in the search',
    ).then((found) => expect(ids(found)).toEqual([review.id]));
    expect(await list(b, owner, '?q=axolotl')).toEqual([]);
    expect(ids(await list(b, owner, '?q=memo'))).toEqual([review.id]);
  });

  it('lists and finds an archived review whose own keys are gone from Redis', async () => {
    const review = await createReview(
      a.url,
      owner.token,
      await makeDocx([{ title: 'Old audit', paragraphs: ['The marmalade ledger was closed.'] }]),
    );
    // What archiving does to Redis: the library record says archived, the review's keys leave.
    await new LibraryStore(redis, prefix).setStatus(review.id, 'archived');
    await deleteKeys(redis, `${prefix}review:{${review.id}}`);
    const archived = await list(b, owner, '?status=archived&q=marmalade');
    expect(archived).toEqual([
      expect.objectContaining({ id: review.id, status: 'archived', title: 'Old audit' }),
    ]);
    expect(ids(await list(a, owner, '?status=archived'))).toEqual([review.id]);
  });

  it('lists the people in a review right now, whichever server holds their socket', async () => {
    const feed = new ReviewFeed(await connect(a.url, reviewer.token), budget.id);
    await feed.join();
    const [listed] = await list(b, owner, '?q=quokka');
    expect(listed!.here).toEqual([reviewer.user]);
    const [other] = await list(b, owner, '?q=engineers');
    expect(other!.here).toBeUndefined();
  });

  it("lists a workspace's reviews to its members, searched and filtered, and refuses everyone else", async () => {
    const created = await api(a.url, owner.token, '/api/workspaces', {
      method: 'POST',
      body: JSON.stringify({ name: 'Audit team' }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { workspace } = (await created.json()) as { workspace: { id: string } };
    const shared = await upload(
      a.url,
      owner.token,
      await makeDocx([{ title: 'Vendor audit', paragraphs: ['The pangolin contract renews in May.'] }]),
      { workspaceId: workspace.id },
    );
    expect(shared.status, await shared.clone().text()).toBe(201);
    const { review } = (await shared.json()) as { review: { id: string } };
    // Reviewer joins the workspace as a member through its invite.
    const invited = await api(a.url, owner.token, `/api/workspaces/${workspace.id}/invites`, {
      method: 'POST',
      body: JSON.stringify({ role: 'member' }),
    });
    const { token } = (await invited.json()) as { token: string };
    const accepted = await api(b.url, reviewer.token, '/api/invites/accept', {
      method: 'POST',
      body: JSON.stringify({ token }),
    });
    expect(accepted.status, await accepted.clone().text()).toBe(200);

    const inWorkspace = `?workspaceId=${workspace.id}`;
    expect(await list(b, owner, inWorkspace)).toEqual([
      expect.objectContaining({ id: review.id, workspaceId: workspace.id, role: 'owner', owner: owner.user }),
    ]);
    // A member acts as a reviewer in the workspace's reviews, and finds them by their text.
    expect(await list(a, reviewer, `${inWorkspace}&q=pangolin`)).toEqual([
      expect.objectContaining({ id: review.id, role: 'reviewer' }),
    ]);
    expect(await list(a, reviewer, `${inWorkspace}&q=quokka`)).toEqual([]);
    expect(await list(a, reviewer, `${inWorkspace}&status=submitted`)).toEqual([]);
    // The owner's own list (no workspaceId) has it too, beside the reviews outside any workspace.
    expect(ids(await list(b, owner, '?q=pangolin'))).toEqual([review.id]);
    const refused = await api(b.url, outsider.token, `/api/reviews${inWorkspace}&q=pangolin`);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });

  it('refuses bad queries and a workspace the caller is not a member of, with stable codes', async () => {
    const answer = async (query: string, person: Person = owner) => {
      const res = await api(b.url, person.token, `/api/reviews${query}`);
      return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
    };
    expect(await answer('?status=closed')).toEqual({ status: 400, code: 'invalid' });
    expect(await answer(`?q=${'a'.repeat(201)}`)).toEqual({ status: 400, code: 'too_long' });
    expect(await answer('?q=a&q=b')).toEqual({ status: 400, code: 'invalid' });
    expect(await answer('?workspaceId=w_nobody')).toEqual({ status: 403, code: 'forbidden' });
    expect(await answer(`?workspaceId=${'w'.repeat(101)}`)).toEqual({ status: 400, code: 'invalid' });
    const anonymous = await fetch(`${b.url}/api/reviews?q=quokka`);
    expect(anonymous.status).toBe(401);
  });
});
