/**
 * Re-review of a revised document (CONTRACT 7.5) through two real servers, a real worker (rules
 * provider) and Redis: v1 is analysed and decided, v2 edits one section and adds one; carried and
 * outdated counts are exact and ids kept, a member on the other server sees `revision.added` live
 * and a fresh snapshot agrees with it, re-analysis runs only the changed and new sections, the
 * diff route marks the edit, and a bad file or a refused person changes nothing.
 */
import {
  type FeedbackItem,
  progressOf,
  type ReviewEvent,
  type ReviewSnapshot,
  type ReviewSummary,
  type SectionState,
} from '@prism/core';
import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  type ClientSocket,
  call,
  connect,
  invite,
  makeDocx,
  type Person,
  ReviewFeed,
  serverWithReview,
  session,
  startServer,
  startWorker,
  type TestServer,
  testRedis,
  upload,
  waitFor,
} from '../../test/helpers.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';
import { createRateLimits, UPLOADS_PER_PERSON } from '../src/infra/rate-limit.ts';

const SUMMARY = 'The outage lasted four hours and the MTTD was far too long for EU customers.';
const ACTIONS_V1 = 'Add alerting on queue depth. The SRE team takes over the pager rotation in March.';
const ACTIONS_V2 = 'Add alerting on queue depth and on error rates. The SRE team owns dashboards from March.';
const FOLLOW_UP = 'Revisit the dashboards in January and report to the board.';

const v1 = [
  { title: 'Summary', paragraphs: [SUMMARY] },
  { title: 'Actions', paragraphs: [ACTIONS_V1] },
];
const v2 = [
  { title: 'Summary', paragraphs: [SUMMARY] },
  { title: 'Actions', paragraphs: [ACTIONS_V2] },
  { title: 'Follow-up', paragraphs: [FOLLOW_UP] },
];

let prefix: string;
let a: TestServer;
let b: TestServer;
let owner: Person;
let reviewer: Person;
let viewer: Person;
let outsider: Person;
let reviewId: string;
let ownerSocket: ClientSocket;
let reviewerFeed: ReviewFeed;
let v1File: Uint8Array;
let v2File: Uint8Array;
const redis = testRedis();

const reviseAs = (url: string, person: Person, file: Uint8Array, name = 'report-v2.docx') => {
  const form = new FormData();
  form.set('file', new Blob([file]), name);
  return fetch(`${url}/api/reviews/${reviewId}/revisions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${person.token}` },
    body: form,
  });
};

const snapshotOf = async (url: string, person: Person): Promise<ReviewSnapshot> =>
  (await (await api(url, person.token, `/api/reviews/${reviewId}`)).json()) as ReviewSnapshot;

/** The review's progress as the library lists it. */
const listedProgress = async (url: string, person: Person) =>
  (
    (await (await api(url, person.token, '/api/reviews')).json()) as { reviews: ReviewSummary[] }
  ).reviews.find((review) => review.id === reviewId)?.progress;

/** Waits until every section named is `done` in the feed's events after `fromSeq`. */
const analysed = (feed: ReviewFeed, sectionIds: string[], fromSeq: number) =>
  waitFor(
    () => {
      const done = new Set(
        feed.events
          .filter((e): e is ReviewEvent<'section.status'> => e.type === 'section.status' && e.seq > fromSeq)
          .filter((e) => e.data.status === 'done')
          .map((e) => e.data.sectionId),
      );
      return sectionIds.every((id) => done.has(id)) ? true : undefined;
    },
    30_000,
    `analysis of ${sectionIds.join(', ')}`,
  );

const add = async (sectionId: string, description: string, quote: string): Promise<FeedbackItem> => {
  const ack = await call(ownerSocket, 'feedback:add', {
    reviewId,
    sectionId,
    type: 'important',
    category: 'Clarity',
    description,
    quote,
  });
  expect(ack.ok).toBe(true);
  return ack.item as FeedbackItem;
};

describe('revisions', () => {
  let before: ReviewSnapshot;
  let summaryId: string;
  let actionsId: string;
  let expectedCarried: string[];
  let expectedOutdated: string[];
  let expectedRemoved: string[];

  beforeAll(async () => {
    const started = await serverWithReview('revisions', v1, { instance: 'rev-a', owner: 'Olga' });
    a = started.server;
    prefix = started.prefix;
    owner = started.owner;
    b = await startServer(started.prefix, { instance: 'rev-b' });
    await startWorker(started.prefix, new RulesProvider());
    reviewId = started.review.id;
    v1File = started.file;
    [summaryId, actionsId] = started.review.sections.map((s) => s.id) as [string, string];
    reviewer = await session(b.url, 'Ravi');
    viewer = await session(b.url, 'Vera');
    outsider = await session(b.url, 'Otto');
    await invite(a.url, owner, reviewer, reviewId, 'reviewer');
    await invite(a.url, owner, viewer, reviewId, 'viewer');
    ownerSocket = await connect(a.url, owner.token);
    const ownerFeed = new ReviewFeed(ownerSocket, reviewId);
    await ownerFeed.join();
    reviewerFeed = new ReviewFeed(await connect(b.url, reviewer.token), reviewId);
    await reviewerFeed.join();

    // v1: analysed by the rules, then decided.
    const started1 = await call(ownerSocket, 'analysis:start', { reviewId });
    expect(started1.ok).toBe(true);
    await analysed(ownerFeed, [summaryId, actionsId], 0);
    const findings = (await snapshotOf(a.url, owner)).feedback;
    const inSummary = findings.filter((i) => i.sectionId === summaryId);
    const inActions = findings.filter((i) => i.sectionId === actionsId);
    expect(inSummary.length).toBeGreaterThan(0);
    expect(inActions.length).toBeGreaterThan(0);
    // Every finding of the unchanged section is decided (carried); those of the edited one stay pending (removed).
    for (const item of inSummary) {
      const ack = await call(ownerSocket, 'feedback:decide', {
        reviewId,
        feedbackId: item.id,
        status: 'accepted',
        version: item.version,
      });
      expect(ack.ok).toBe(true);
    }
    const kept = await add(summaryId, 'Say how the four hours were measured.', 'four hours');
    const stillThere = await add(actionsId, 'Which queues?', 'alerting on queue depth');
    const gone = await add(actionsId, 'Who covers nights?', 'pager rotation');
    expectedCarried = [...inSummary.map((i) => i.id), kept.id, stillThere.id].sort();
    expectedOutdated = [gone.id];
    expectedRemoved = inActions.map((i) => i.id).sort();
    before = await snapshotOf(a.url, owner);
    expect(before.revision).toBe(1);
  }, 90_000);

  it("refuses a file that is not a document with the upload's code, and changes nothing", async () => {
    const junk = new TextEncoder().encode('This is not a Word document at all.');
    const asUpload = await upload(a.url, owner.token, junk);
    const asRevision = await reviseAs(a.url, owner, junk);
    expect(asRevision.status).toBe(asUpload.status);
    expect(asRevision.status).toBeGreaterThanOrEqual(400);
    expect(((await asRevision.json()) as { error: { code: string } }).error.code).toBe(
      ((await asUpload.json()) as { error: { code: string } }).error.code,
    );
    const after = await snapshotOf(a.url, owner);
    expect(after.seq).toBe(before.seq);
    expect(after.revision).toBe(1);
    expect(after.sections).toEqual(before.sections);
  });

  it('refuses a viewer and an outsider', async () => {
    const file = await makeDocx(v2);
    const asViewer = await reviseAs(b.url, viewer, file);
    expect(asViewer.status).toBe(403);
    expect(((await asViewer.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    const asOutsider = await reviseAs(b.url, outsider, file);
    expect(asOutsider.status).toBe(403);
    expect((await snapshotOf(a.url, owner)).seq).toBe(before.seq);
  });

  it("spends one of the person's uploads on each revision: past the minute's allowance, 429 with Retry-After, and nothing changes", async () => {
    const hasty = await session(b.url, 'Rita');
    await invite(a.url, owner, hasty, reviewId, 'reviewer');
    // The allowance the servers share in Redis, spent to the last one; a refused file spends that.
    const limits = createRateLimits(redis, prefix);
    for (let spent = 1; spent < UPLOADS_PER_PERSON; spent += 1) await limits.upload(hasty.user.id);
    const seq = (await snapshotOf(a.url, owner)).seq;
    const junk = await reviseAs(b.url, hasty, new TextEncoder().encode('Not a Word document.'));
    expect(junk.status).toBeGreaterThanOrEqual(400);
    expect(junk.status).not.toBe(429);
    const refused = await reviseAs(b.url, hasty, await makeDocx(v2));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    const after = await snapshotOf(a.url, owner);
    expect(after.seq).toBe(seq);
    expect(after.revision).toBe(1);
    expect(after.sections).toEqual(before.sections);
  });

  it('applies v2 from a reviewer: ids kept, exact carried and outdated, live on the other server, and in a fresh snapshot', async () => {
    v2File = await makeDocx(v2);
    const res = await reviseAs(b.url, reviewer, v2File);
    expect(res.status).toBe(201);
    const { revision } = (await res.json()) as { revision: { number: number; changedSections: string[] } };
    expect(revision.number).toBe(2);
    expect(revision.changedSections).toHaveLength(2);
    expect(revision.changedSections[0]).toBe(actionsId);
    const newId = revision.changedSections[1]!;
    expect([summaryId, actionsId]).not.toContain(newId);

    const live = await waitFor(
      () => reviewerFeed.events.find((e): e is ReviewEvent<'revision.added'> => e.type === 'revision.added'),
      10_000,
      'revision.added on the other server',
    );
    expect(live.data).toMatchObject({
      number: 2,
      changedSections: [actionsId, newId],
      carried: expectedCarried.length,
      outdated: expectedOutdated.length,
    });
    expect(live.data.removedItems.sort()).toEqual(expectedRemoved);
    expect(live.actor).toEqual(reviewer.user);

    const after = await snapshotOf(a.url, owner);
    expect(after.revision).toBe(2);
    expect(after.revisions!.map((r) => r.number)).toEqual([1, 2]);
    expect(after.revisions![1]).toEqual(live.data.revision);
    expect(after.revisions![1]!.newSections).toEqual([newId]);
    expect(after.sections.map((s) => [s.id, s.title])).toEqual([
      [summaryId, 'Summary'],
      [actionsId, 'Actions'],
      [newId, 'Follow-up'],
    ]);
    expect(after.sections).toEqual(live.data.sections);
    const status = (id: string) => after.sections.find((s: SectionState) => s.id === id)!.status;
    expect([status(summaryId), status(actionsId), status(newId)]).toEqual(['done', 'idle', 'idle']);
    expect(after.sections[1]!.text).toContain('error rates');

    const byId = new Map(after.feedback.map((i) => [i.id, i]));
    for (const id of expectedCarried) {
      const item = byId.get(id)!;
      const was = before.feedback.find((i) => i.id === id)!;
      expect(item).toMatchObject({ status: was.status, outdated: false, revision: 2, version: was.version });
    }
    for (const id of expectedOutdated) expect(byId.get(id)).toMatchObject({ outdated: true, revision: 1 });
    for (const id of expectedRemoved) expect(byId.has(id)).toBe(false);
    expect(after.feedback.filter((i) => i.outdated).length).toBe(expectedOutdated.length);
    // The library's progress is a count of the items as they are now (outdated ones kept as decided).
    expect(await listedProgress(b.url, owner)).toEqual(progressOf(after.feedback));
    // A late joiner on the other server gets the same.
    const late = new ReviewFeed(await connect(b.url, viewer.token), reviewId);
    const joined = (await late.join()) as ReviewSnapshot;
    expect(joined.revision).toBe(2);
    expect(joined.revisions).toEqual(after.revisions);
    expect(joined.sections).toEqual(after.sections);
  });

  it('re-analyses only the changed and new sections', async () => {
    const snapshot = await snapshotOf(a.url, owner);
    const [, changed, added] = snapshot.sections.map((s) => s.id) as [string, string, string];
    const fromSeq = reviewerFeed.seq;
    const ack = await call(ownerSocket, 'analysis:start', { reviewId });
    expect(ack.ok).toBe(true);
    expect((ack.jobs as { sectionId: string }[]).map((j) => j.sectionId).sort()).toEqual(
      [changed, added].sort(),
    );
    await analysed(reviewerFeed, [changed, added], fromSeq);
    const touched = new Set(
      reviewerFeed.events
        .filter((e) => e.seq > fromSeq)
        .flatMap((e) =>
          e.type === 'section.status'
            ? [e.data.sectionId]
            : e.type === 'feedback.added'
              ? [e.data.item.sectionId]
              : [],
        ),
    );
    expect([...touched].sort()).toEqual([changed, added].sort());
    const items = (await snapshotOf(a.url, owner)).feedback.filter(
      (i) => i.sectionId === changed && i.source === 'rules',
    );
    expect(items.every((i) => i.revision === 2)).toBe(true);
    // The worker's new findings are in the library's progress as soon as they are in the review.
    expect(await listedProgress(b.url, owner)).toEqual(progressOf((await snapshotOf(a.url, owner)).feedback));
  }, 60_000);

  it('answers the word diff of a section against the revision before', async () => {
    const snapshotNow = await snapshotOf(a.url, owner);
    expect(before.sections[1]!.text).toContain(ACTIONS_V1);
    const diff = await api(
      a.url,
      viewer.token,
      `/api/reviews/${reviewId}/revisions/2/diff?sectionId=${actionsId}`,
    );
    expect(diff.status).toBe(200);
    const { changes } = (await diff.json()) as { changes: { op: string; text: string }[] };
    const text = (op: string) =>
      changes
        .filter((c) => c.op === op)
        .map((c) => c.text)
        .join('');
    expect(
      changes
        .filter((c) => c.op !== 'insert')
        .map((c) => c.text)
        .join(''),
    ).toBe(before.sections[1]!.text);
    expect(
      changes
        .filter((c) => c.op !== 'delete')
        .map((c) => c.text)
        .join(''),
    ).toBe(snapshotNow.sections[1]!.text);
    expect(text('delete')).toContain('pager');
    expect(text('insert')).toContain('error');

    const snapshot = await snapshotOf(a.url, owner);
    const added = snapshot.sections[2]!.id;
    const whole = (await (
      await api(a.url, owner.token, `/api/reviews/${reviewId}/revisions/2/diff?sectionId=${added}`)
    ).json()) as { changes: { op: string; text: string }[] };
    expect(whole.changes).toEqual([{ op: 'insert', text: snapshot.sections[2]!.text }]);
    expect(snapshot.sections[2]!.text).toContain(FOLLOW_UP);

    expect(
      (await api(a.url, owner.token, `/api/reviews/${reviewId}/revisions/3/diff?sectionId=${added}`)).status,
    ).toBe(404);
    expect(
      (await api(a.url, owner.token, `/api/reviews/${reviewId}/revisions/2/diff?sectionId=nope`)).status,
    ).toBe(404);
    expect(
      (await api(a.url, outsider.token, `/api/reviews/${reviewId}/revisions/2/diff?sectionId=${added}`))
        .status,
    ).toBe(403);
  });

  it('is found in the library by words only the new revision has', async () => {
    const found = async (q: string) =>
      (
        (await (await api(a.url, owner.token, `/api/reviews?q=${q}`)).json()) as { reviews: { id: string }[] }
      ).reviews.map((r) => r.id);
    expect(await found('January')).toContain(reviewId);
    expect(await found('rotation')).not.toContain(reviewId);
  });

  it('exports the latest revision', async () => {
    const res = await api(a.url, owner.token, `/api/reviews/${reviewId}/export?format=docx`);
    expect(res.status).toBe(200);
    const xml = strFromU8(unzipSync(new Uint8Array(await res.arrayBuffer()))['word/document.xml']!);
    expect(xml).toContain('Follow-up');
    expect(xml).not.toContain('pager rotation');
  });

  it("keeps every revision's original in the package", async () => {
    const res = await api(a.url, viewer.token, `/api/reviews/${reviewId}/package`);
    expect(res.status).toBe(200);
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const originals = Object.keys(files).filter((name) => name.includes('documents/revisions/'));
    expect(originals.map((name) => name.split('documents/revisions/')[1]).sort()).toEqual([
      '1_report.docx',
      '2_report-v2.docx',
    ]);
    const bytes = (n: number) => files[originals.find((name) => name.includes(`revisions/${n}_`))!]!;
    expect(Buffer.from(bytes(1)).equals(Buffer.from(v1File))).toBe(true);
    expect(Buffer.from(bytes(2)).equals(Buffer.from(v2File))).toBe(true);
  });
});
