/**
 * A review's life (CONTRACT 7.3), through two real servers on one Redis and socket clients: a
 * submit reaches every member live with exact counts, the list shows status, progress and last
 * activity, a submitted review refuses changes until the owner reopens it, and the package
 * downloads as a zip holding the same files the worker archives.
 */
import type { FeedbackItem, ReviewEvent, ReviewSummary } from '@prism/core';
import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type ClientSocket,
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
  type TestServer,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';

const SUBMITTED = 'This review was submitted; reopen it to change it.';

const post = (server: TestServer, person: Person, path: string, body: unknown = {}) =>
  api(server.url, person.token, path, { method: 'POST', body: JSON.stringify(body) });

async function list(server: TestServer, person: Person): Promise<ReviewSummary[]> {
  return (
    (await (await api(server.url, person.token, '/api/reviews')).json()) as { reviews: ReviewSummary[] }
  ).reviews;
}

const statusEvents = (feed: ReviewFeed): ReviewEvent<'review.status'>[] =>
  feed.events.filter((e): e is ReviewEvent<'review.status'> => e.type === 'review.status');

describe('review lifecycle', () => {
  const prefix = uniquePrefix('lifecycle');
  cleanupKeys(prefix);

  let a: TestServer;
  let b: TestServer;
  let owner: Person;
  let reviewer: Person;
  let viewer: Person;
  let outsider: Person;

  /** A review with AI findings (as a worker writes them) and people's items, members on both servers. */
  async function reviewWithItems() {
    const doc = await makeDocx([
      {
        title: 'Summary',
        paragraphs: ['The outage lasted four hours.', 'Customers in the EU were affected.'],
      },
      { title: 'Actions', paragraphs: ['Add alerting on queue depth.'] },
    ]);
    const review = await createReview(a.url, owner.token, doc);
    await invite(a.url, owner, reviewer, review.id, 'reviewer');
    await invite(a.url, owner, viewer, review.id, 'viewer');
    const sectionId = review.sections[0]!.id;
    const ai = (n: number): FeedbackItem => ({
      id: `f_ai${n}`,
      sectionId,
      type: 'important',
      category: 'Evidence',
      description: `AI finding ${n}.`,
      questions: [],
      refs: [],
      risk: 'medium',
      confidence: 0.9,
      quote: 'The outage lasted four hours.',
      source: 'ai',
      model: 'stand-in',
      status: 'pending',
      createdBy: { id: 'prism', name: 'Prism' },
      createdAt: new Date(Date.now() + n).toISOString(),
      version: 1,
    });
    for (const item of [ai(1), ai(2), ai(3)]) {
      const appended = await a.app.service.store.log.append(
        {
          reviewId: review.id,
          type: 'feedback.added',
          at: item.createdAt,
          actor: item.createdBy,
          data: { item },
        },
        { writes: [{ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(item) }] },
      );
      expect(appended.ok).toBe(true);
    }
    const ownerSocket = await connect(a.url, owner.token);
    const reviewerSocket = await connect(b.url, reviewer.token);
    const decide = async (socket: ClientSocket, feedbackId: string, status: string, version = 1) => {
      const ack = await call(socket, 'feedback:decide', { reviewId: review.id, feedbackId, status, version });
      expect(ack.ok, JSON.stringify(ack.error)).toBe(true);
      return ack.item as FeedbackItem;
    };
    const add = async (socket: ClientSocket, description: string) => {
      const ack = await call(socket, 'feedback:add', {
        reviewId: review.id,
        sectionId,
        type: 'suggestion',
        category: 'Clarity',
        description,
      });
      expect(ack.ok, JSON.stringify(ack.error)).toBe(true);
      return ack.item as FeedbackItem;
    };
    await decide(reviewerSocket, 'f_ai1', 'accepted');
    await decide(ownerSocket, 'f_ai2', 'rejected');
    const kept = await add(ownerSocket, 'Name the service in the title.');
    const dropped = await add(reviewerSocket, 'A remark the owner turns down.');
    await decide(ownerSocket, dropped.id, 'rejected');
    return { review, sectionId, ownerSocket, reviewerSocket, kept };
  }

  beforeAll(async () => {
    a = await startServer(prefix, { instance: 'lifecycle-a' });
    b = await startServer(prefix, { instance: 'lifecycle-b' });
    owner = await session(a.url, 'Olga');
    reviewer = await session(a.url, 'Ravi');
    viewer = await session(a.url, 'Vera');
    outsider = await session(a.url, 'Otto');
  });

  it('submits for everyone live with exact counts, shows it in the list, and refuses changes', async () => {
    const { review, sectionId, reviewerSocket, kept } = await reviewWithItems();
    const viewerFeed = new ReviewFeed(await connect(b.url, viewer.token), review.id);
    await viewerFeed.join();

    const before = (await list(b, owner)).find((r) => r.id === review.id)!;
    expect(before).toMatchObject({ status: 'open', progress: { decided: 4, total: 5 } });
    expect(before.submitted).toBeUndefined();

    // The reviewer submits through server A; the viewer, on server B, sees it arrive.
    const res = await post(a, reviewer, `/api/reviews/${review.id}/submit`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'submitted' });
    const [event] = await waitFor(
      () => {
        const events = statusEvents(viewerFeed);
        return events.length > 0 && events;
      },
      5000,
      'the review.status event on the other server',
    );
    expect(event!.actor).toEqual(reviewer.user);
    // accepted: one AI finding and the owner's own item; rejected: one AI finding and one person's item.
    expect(event!.data).toEqual({
      status: 'submitted',
      summary: { accepted: 2, rejected: 2, pending: 1, custom: 2 },
    });

    for (const server of [a, b]) {
      const listed = (await list(server, owner)).find((r) => r.id === review.id)!;
      expect(listed).toMatchObject({
        status: 'submitted',
        progress: { decided: 4, total: 5 },
        updatedAt: event!.at,
        submitted: { by: reviewer.user, at: event!.at },
      });
    }
    const snapshot = (await (
      await api(b.url, viewer.token, `/api/reviews/${review.id}`)
    ).json()) as ReviewSummary & {
      seq: number;
    };
    expect(snapshot).toMatchObject({
      status: 'submitted',
      seq: event!.seq,
      submitted: { by: reviewer.user },
    });

    // Read-only until reopened: decisions, new items, edits, analysis and questions are refused.
    const refused = {
      decide: await call(reviewerSocket, 'feedback:decide', {
        reviewId: review.id,
        feedbackId: 'f_ai3',
        status: 'accepted',
        version: 1,
      }),
      add: await call(reviewerSocket, 'feedback:add', {
        reviewId: review.id,
        sectionId,
        type: 'critical',
        category: 'Late',
        description: 'Too late to add.',
      }),
      edit: await call(reviewerSocket, 'feedback:edit', {
        reviewId: review.id,
        feedbackId: kept.id,
        version: kept.version,
        description: 'Changed after submit.',
      }),
      analysis: await call(reviewerSocket, 'analysis:start', { reviewId: review.id }),
      chat: await call(reviewerSocket, 'chat:send', { reviewId: review.id, text: 'Anything else?' }),
    };
    for (const [label, ack] of Object.entries(refused)) {
      expect(ack, label).toMatchObject({ ok: false, error: { code: 'conflict', message: SUBMITTED } });
    }
    // Still readable and exportable.
    const exported = await api(b.url, viewer.token, `/api/reviews/${review.id}/export?format=json`);
    expect(exported.status).toBe(200);
    const json = (await exported.json()) as { feedback: { accepted: FeedbackItem[] } };
    expect(json.feedback.accepted.map((i) => i.id).sort()).toEqual(['f_ai1', kept.id].sort());
    expect(await (await api(a.url, owner.token, `/api/reviews/${review.id}`)).json()).toMatchObject({
      seq: event!.seq,
    });
  });

  it('makes one event of two submits, lets only the owner reopen, and then takes changes again', async () => {
    const { review, reviewerSocket } = await reviewWithItems();
    const feed = new ReviewFeed(await connect(b.url, owner.token), review.id);
    await feed.join();

    // Two people submit at the same moment on two servers, then one of them again.
    const answers = await Promise.all([
      post(a, owner, `/api/reviews/${review.id}/submit`),
      post(b, reviewer, `/api/reviews/${review.id}/submit`),
    ]);
    for (const res of answers) expect(await res.json()).toEqual({ status: 'submitted' });
    const again = await post(a, reviewer, `/api/reviews/${review.id}/submit`, {});
    expect(await again.json()).toEqual({ status: 'submitted' });

    // Neither the reviewer nor a viewer can reopen; a viewer cannot submit; outsiders get nothing.
    for (const [person, action, status] of [
      [reviewer, 'reopen', 403],
      [viewer, 'reopen', 403],
      [viewer, 'submit', 403],
      [outsider, 'submit', 403],
      [outsider, 'reopen', 403],
    ] as const) {
      const res = await post(b, person, `/api/reviews/${review.id}/${action}`);
      expect(res.status, `${person.user.name} ${action}`).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    const unknown = await post(a, owner, '/api/reviews/r_doesnotexist0000/submit');
    expect(unknown.status).toBe(404);
    const notJson = await api(a.url, owner.token, `/api/reviews/${review.id}/reopen`, {
      method: 'POST',
      body: 'status=open',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    // Refused as a client error (a form post is not JSON), and the review stays submitted.
    expect(notJson.status).toBeGreaterThanOrEqual(400);
    expect(notJson.status).toBeLessThan(500);
    expect((await list(a, owner)).find((r) => r.id === review.id)?.status).toBe('submitted');

    const reopened = await post(a, owner, `/api/reviews/${review.id}/reopen`);
    expect(await reopened.json()).toEqual({ status: 'open' });
    const events = await waitFor(
      () => {
        const seen = statusEvents(feed);
        return seen.length === 2 && seen;
      },
      5000,
      'the reopen event',
    );
    // Exactly one submit, then the reopen right after it: nothing else was appended in between.
    expect(events.map((e) => [e.data.status, e.actor.id])).toEqual([
      ['submitted', expect.any(String)],
      ['open', owner.user.id],
    ]);
    expect(events[1]!.seq).toBe(events[0]!.seq + 1);
    expect(events[1]!.data.summary).toEqual({ accepted: 2, rejected: 2, pending: 1, custom: 2 });
    expect((await list(a, reviewer)).find((r) => r.id === review.id)).toMatchObject({ status: 'open' });
    expect((await list(a, reviewer)).find((r) => r.id === review.id)?.submitted).toBeUndefined();

    const decided = await call(reviewerSocket, 'feedback:decide', {
      reviewId: review.id,
      feedbackId: 'f_ai3',
      status: 'accepted',
      version: 1,
    });
    expect(decided.ok).toBe(true);
    const reopenedAgain = await post(a, owner, `/api/reviews/${review.id}/reopen`);
    expect(await reopenedAgain.json()).toEqual({ status: 'open' });
  });

  it('downloads the package as a zip with the reviewed document, the original, JSON and CSV', async () => {
    const { review, kept } = await reviewWithItems();
    const res = await api(b.url, viewer.token, `/api/reviews/${review.id}/package`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const disposition = res.headers.get('content-disposition') ?? '';
    expect(disposition).toMatch(/^attachment; filename="\d{8}_\d{6}_[^"/]+\.zip"/);
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const root = /filename="([^"]+)\.zip"/.exec(disposition)![1]!;
    const names = Object.keys(files).sort();
    expect(names).toEqual(
      [
        'documents/report.docx',
        'documents/report_reviewed.docx',
        'feedback/accepted.json',
        'feedback/ai_suggestions.json',
        'feedback/checklist.csv',
        'feedback/checklist.json',
        'feedback/custom.json',
        'feedback/findings.csv',
        'feedback/rejected.json',
        'logs/activity.jsonl',
        'logs/chat.json',
        'report.json',
      ].map((name) => `${root}/${name}`),
    );
    const file = (name: string) => files[`${root}/${name}`]!;

    const accepted = JSON.parse(strFromU8(file('feedback/accepted.json'))) as FeedbackItem[];
    expect(accepted.map((i) => i.id).sort()).toEqual(['f_ai1', kept.id].sort());
    expect(strFromU8(file('feedback/findings.csv')).split('\r\n').filter(Boolean)).toHaveLength(1 + 5);
    expect(JSON.parse(strFromU8(file('report.json'))).summary).toMatchObject({
      findings: 5,
      accepted: 2,
      rejected: 2,
      pending: 1,
      custom: 2,
    });
    // The original is the uploaded file; the reviewed one has the accepted items as comments.
    expect(strFromU8(unzipSync(file('documents/report.docx'))['word/document.xml']!)).toContain(
      'The outage lasted four hours.',
    );
    const comments = strFromU8(unzipSync(file('documents/report_reviewed.docx'))['word/comments.xml']!);
    expect(comments).toContain('AI finding 1.');
    expect(comments).toContain('Name the service in the title.');
    expect(comments).not.toContain('AI finding 2.');

    expect((await api(b.url, outsider.token, `/api/reviews/${review.id}/package`)).status).toBe(403);
    expect((await api(b.url, owner.token, '/api/reviews/r_doesnotexist0000/package')).status).toBe(404);
  });
});
