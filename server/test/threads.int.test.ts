/**
 * Threads on feedback items (CONTRACT 7.5), through two real servers on one Redis: a reply reaches
 * a member on the other server with its `@Name` mentions resolved to user ids, a reply racing a
 * decision loses neither, resolve / reopen is live, bad input gets its stable code, and the JSON,
 * CSV and reviewed DOCX exports carry the thread (Word reply comments linked in commentsExtended.xml).
 */
import type { FeedbackItem, Reply, ReviewEvent } from '@prism/core';
import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type ClientSocket,
  call,
  connect,
  invite,
  type Person,
  ReviewFeed,
  serverWithReview,
  session,
  startServer,
  type TestServer,
  waitFor,
} from '../../test/helpers.ts';

let a: TestServer;
let b: TestServer;
let owner: Person;
let reviewer: Person;
let viewer: Person;
let reviewId: string;
let sectionId: string;
let ownerSocket: ClientSocket;
let reviewerSocket: ClientSocket;
let ownerFeed: ReviewFeed;

async function addItem(description: string, quote?: string): Promise<FeedbackItem> {
  const ack = await call(ownerSocket, 'feedback:add', {
    reviewId,
    sectionId,
    type: 'important',
    category: 'Evidence',
    description,
    ...(quote ? { quote } : {}),
  });
  expect(ack.ok).toBe(true);
  return ack.item as FeedbackItem;
}

/** The latest `feedback.updated` of `feedbackId` the feed has seen that `check` accepts. */
const updated = (
  feed: ReviewFeed,
  feedbackId: string,
  check: (item: FeedbackItem) => boolean,
  what: string,
) =>
  waitFor(
    () =>
      feed.events
        .filter((e): e is ReviewEvent<'feedback.updated'> => e.type === 'feedback.updated')
        .map((e) => e.data.item)
        .filter((item) => item.id === feedbackId && check(item))
        .at(-1),
    10_000,
    what,
  );

const reply = (socket: ClientSocket, feedbackId: string, text: string) =>
  call(socket, 'feedback:reply', { reviewId, feedbackId, text });

describe('feedback threads', () => {
  beforeAll(async () => {
    const started = await serverWithReview(
      'threads',
      [
        { title: 'Summary', paragraphs: ['The outage lasted four hours and affected EU customers.'] },
        { title: 'Actions', paragraphs: ['Add alerting on queue depth.'] },
      ],
      { instance: 'threads-a', owner: 'Olga Ström' },
    );
    a = started.server;
    owner = started.owner;
    b = await startServer(started.prefix, { instance: 'threads-b' });
    reviewer = await session(b.url, 'Ann Lee');
    viewer = await session(b.url, 'Vera');
    reviewId = started.review.id;
    sectionId = started.review.sections[0]!.id;
    await invite(a.url, owner, reviewer, reviewId, 'reviewer');
    await invite(a.url, owner, viewer, reviewId, 'viewer');
    ownerSocket = await connect(a.url, owner.token);
    reviewerSocket = await connect(b.url, reviewer.token);
    ownerFeed = new ReviewFeed(ownerSocket, reviewId);
    await ownerFeed.join();
    await new ReviewFeed(reviewerSocket, reviewId).join();
  });

  it('delivers a reply to the other server with its mentions resolved to member ids', async () => {
    const item = await addItem('Say how the four hours were measured.');
    const ack = await reply(
      ownerSocket,
      item.id,
      '@ann lee can you check the pager log? cc @Vera, not @Nobody',
    );
    expect(ack.ok).toBe(true);
    const sent = ack.reply as Reply;
    expect(sent).toMatchObject({
      author: owner.user,
      text: '@ann lee can you check the pager log? cc @Vera, not @Nobody',
      mentions: [reviewer.user.id, viewer.user.id],
    });

    const reviewerFeed = new ReviewFeed(await connect(b.url, reviewer.token), reviewId);
    const snapshot = await reviewerFeed.join();
    const seen = (snapshot.feedback as FeedbackItem[]).find((i) => i.id === item.id)!;
    expect(seen.replies).toEqual([sent]);
    expect(seen.resolved).toBe(false);
    // A reply keeps the version a decider names.
    expect(seen.version).toBe(item.version);

    // Live: the owner on server A sees the reviewer's answer, sent through server B.
    const answer = await reply(reviewerSocket, item.id, 'Checked: 4h02m from first page to all-clear.');
    expect(answer.ok).toBe(true);
    const live = await updated(ownerFeed, item.id, (i) => (i.replies?.length ?? 0) === 2, 'the answer');
    expect(live.replies!.map((r) => [r.author.name, r.text])).toEqual([
      ['Olga Ström', sent.text],
      ['Ann Lee', 'Checked: 4h02m from first page to all-clear.'],
    ]);
    expect(live.replies![1]!.mentions).toEqual([]);
  });

  it('lands replies racing a decision on another server, with no conflict for anyone', async () => {
    const item = await addItem('Name the customers affected.');
    const pending = await call(ownerSocket, 'feedback:decide', {
      reviewId,
      feedbackId: item.id,
      status: 'pending',
      version: item.version,
    });
    expect(pending.ok).toBe(true);
    const seenVersion = (pending.item as FeedbackItem).version;

    const replies = Array.from({ length: 6 }, (_, i) => reply(reviewerSocket, item.id, `Reply ${i + 1}`));
    const decision = call(ownerSocket, 'feedback:decide', {
      reviewId,
      feedbackId: item.id,
      status: 'accepted',
      version: seenVersion,
    });
    const acks = await Promise.all([decision, ...replies]);
    expect(acks.map((ack) => (ack.ok ? 'ok' : ack.error.code))).toEqual(Array(7).fill('ok'));

    const final = await updated(
      ownerFeed,
      item.id,
      (i) => i.status === 'accepted' && (i.replies?.length ?? 0) === 6,
      'the decision and all six replies',
    );
    expect(final.replies!.map((r) => r.text).sort()).toEqual(
      ['Reply 1', 'Reply 2', 'Reply 3', 'Reply 4', 'Reply 5', 'Reply 6'].sort(),
    );
    expect(final.decidedBy).toEqual(owner.user);
  });

  it('resolves and reopens a thread live, the same state being a no-op', async () => {
    const item = await addItem('The timeline is missing.');
    const resolved = await call(reviewerSocket, 'feedback:resolve', {
      reviewId,
      feedbackId: item.id,
      resolved: true,
    });
    expect(resolved.ok).toBe(true);
    expect(resolved.item).toMatchObject({ id: item.id, resolved: true, version: item.version });
    await updated(ownerFeed, item.id, (i) => i.resolved === true, 'resolved on server A');

    const before = ownerFeed.seq;
    const again = await call(reviewerSocket, 'feedback:resolve', {
      reviewId,
      feedbackId: item.id,
      resolved: true,
    });
    expect(again.ok).toBe(true);

    const reopened = await call(ownerSocket, 'feedback:resolve', {
      reviewId,
      feedbackId: item.id,
      resolved: false,
    });
    expect(reopened.item.resolved).toBe(false);
    const event = await updated(ownerFeed, item.id, (i) => i.resolved === false, 'reopened');
    expect(event.resolved).toBe(false);
    // The repeated resolve wrote nothing: the next event is the reopen.
    expect(ownerFeed.events.filter((e) => e.seq > before).map((e) => e.type)).toEqual(['feedback.updated']);
  });

  it('refuses bad replies with stable codes and writes nothing', async () => {
    const item = await addItem('A remark to answer.');
    const gone = await addItem('A remark that will be deleted.');
    const deleted = await call(ownerSocket, 'feedback:delete', {
      reviewId,
      feedbackId: gone.id,
      version: gone.version,
    });
    expect(deleted.ok).toBe(true);
    const viewerSocket = await connect(b.url, viewer.token);
    await new ReviewFeed(viewerSocket, reviewId).join();

    const before = ownerFeed.seq;
    const outcomes = {
      tooLong: await reply(reviewerSocket, item.id, 'x'.repeat(4001)),
      blank: await reply(reviewerSocket, item.id, '   '),
      deleted: await reply(reviewerSocket, gone.id, 'Still there?'),
      unknown: await reply(reviewerSocket, 'f_nosuchitem', 'Hello?'),
      viewerReply: await reply(viewerSocket, item.id, 'I only read.'),
      viewerResolve: await call(viewerSocket, 'feedback:resolve', {
        reviewId,
        feedbackId: item.id,
        resolved: true,
      }),
      resolveDeleted: await call(ownerSocket, 'feedback:resolve', {
        reviewId,
        feedbackId: gone.id,
        resolved: true,
      }),
    };
    expect(
      Object.fromEntries(Object.entries(outcomes).map(([k, ack]) => [k, ack.ok ? 'ok' : ack.error.code])),
    ).toEqual({
      tooLong: 'too_long',
      blank: 'invalid',
      deleted: 'not_found',
      unknown: 'not_found',
      viewerReply: 'forbidden',
      viewerResolve: 'forbidden',
      resolveDeleted: 'not_found',
    });
    for (const ack of Object.values(outcomes)) expect(ack.error.message).toEqual(expect.any(String));
    // Exactly 4,000 characters is fine.
    expect((await reply(reviewerSocket, item.id, 'y'.repeat(4000))).ok).toBe(true);
    await waitFor(() => ownerFeed.seq === before + 1, 10_000, 'the one accepted reply');
    expect(ownerFeed.events.filter((e) => e.seq > before).map((e) => e.type)).toEqual(['feedback.updated']);
  });

  it('exports replies in JSON, CSV and as linked Word reply comments', async () => {
    const item = await addItem('Say which customers were affected.', 'affected EU customers');
    expect((await reply(reviewerSocket, item.id, 'All EU tenants on cluster 3.')).ok).toBe(true);
    expect((await reply(ownerSocket, item.id, 'Thanks, @Ann Lee.\nAdding it.')).ok).toBe(true);
    expect(
      (await call(ownerSocket, 'feedback:resolve', { reviewId, feedbackId: item.id, resolved: true })).ok,
    ).toBe(true);

    const json = (await (
      await api(a.url, owner.token, `/api/reviews/${reviewId}/export?format=json`)
    ).json()) as {
      feedback: { accepted: FeedbackItem[] };
    };
    const exported = json.feedback.accepted.find((i) => i.id === item.id)!;
    expect(exported.resolved).toBe(true);
    expect(exported.replies!.map((r) => [r.author.id, r.text, r.mentions])).toEqual([
      [reviewer.user.id, 'All EU tenants on cluster 3.', []],
      [owner.user.id, 'Thanks, @Ann Lee.\nAdding it.', [reviewer.user.id]],
    ]);

    const csv = await (await api(b.url, reviewer.token, `/api/reviews/${reviewId}/export?format=csv`)).text();
    const header = csv.split('\r\n')[0]!.split(',');
    expect(header.slice(-2)).toEqual(['replies', 'resolved']);
    expect(csv).toContain(
      '"Ann Lee: All EU tenants on cluster 3. | Olga Ström: Thanks, @Ann Lee.\nAdding it.",true',
    );

    const res = await api(a.url, owner.token, `/api/reviews/${reviewId}/export?format=docx`);
    expect(res.status).toBe(200);
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const comments = strFromU8(files['word/comments.xml']!);
    const extended = strFromU8(files['word/commentsExtended.xml']!);
    const document = strFromU8(files['word/document.xml']!);
    expect(strFromU8(files['[Content_Types].xml']!)).toContain(
      'PartName="/word/commentsExtended.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.commentsExtended+xml"',
    );
    expect(strFromU8(files['word/_rels/document.xml.rels']!)).toMatch(
      /Type="http:\/\/schemas.microsoft.com\/office\/2011\/relationships\/commentsExtended" Target="commentsExtended.xml"/,
    );

    // The parent: the comment whose text is the item's description; its last paragraph's paraId.
    const commentOf = (text: string) => {
      const match = [...comments.matchAll(/<w:comment [^>]*w:id="(\d+)"[^>]*>([\s\S]*?)<\/w:comment>/g)].find(
        (m) => m[2]!.includes(text),
      );
      expect(match, text).toBeDefined();
      const paraIds = [...match![2]!.matchAll(/w14:paraId="([0-9A-F]{8})"/g)].map((m) => m[1]!);
      return { id: match![1]!, author: /w:author="([^"]*)"/.exec(match![0])![1], paraId: paraIds.at(-1)! };
    };
    const parent = commentOf('Say which customers were affected.');
    const first = commentOf('All EU tenants on cluster 3.');
    const second = commentOf('Adding it.');
    expect([first.author, second.author]).toEqual(['Ann Lee', 'Olga Ström']);
    expect(extended).toContain(`<w15:commentEx w15:paraId="${parent.paraId}" w15:done="1"/>`);
    for (const child of [first, second]) {
      expect(extended).toContain(
        `<w15:commentEx w15:paraId="${child.paraId}" w15:paraIdParent="${parent.paraId}"`,
      );
      // Each reply is anchored in the document where its parent is.
      expect(document).toContain(`<w:commentRangeStart w:id="${child.id}"/>`);
      expect(document).toContain(`<w:commentReference w:id="${child.id}"/>`);
    }
    const start = document.indexOf(`<w:commentRangeStart w:id="${parent.id}"/>`);
    expect(document.indexOf(`<w:commentRangeStart w:id="${first.id}"/>`)).toBeGreaterThan(start);
  });

  it('refuses replies and resolve on a submitted review until it is reopened', async () => {
    const item = await addItem('One more remark.');
    const submitted = await api(a.url, owner.token, `/api/reviews/${reviewId}/submit`, {
      method: 'POST',
      body: '{}',
    });
    expect(submitted.status).toBe(200);
    const refused = [
      await reply(reviewerSocket, item.id, 'Too late?'),
      await call(reviewerSocket, 'feedback:resolve', { reviewId, feedbackId: item.id, resolved: true }),
    ];
    expect(refused.map((ack) => (ack.ok ? 'ok' : ack.error.code))).toEqual(['conflict', 'conflict']);
    const reopened = await api(a.url, owner.token, `/api/reviews/${reviewId}/reopen`, {
      method: 'POST',
      body: '{}',
    });
    expect(reopened.status).toBe(200);
    expect((await reply(reviewerSocket, item.id, 'Now it lands.')).ok).toBe(true);
  });
});
