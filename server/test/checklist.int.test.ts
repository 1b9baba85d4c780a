/**
 * Checklist overrides through two real servers on a real Redis: an owner's or reviewer's verdict
 * with a comment reaches every socket at once, is in the snapshot and the log, and goes into the
 * exports and the reviewed DOCX; viewers and outsiders are refused, bad payloads get stable codes.
 */
import type { ChecklistEntry, ReviewEvent } from '@prism/core';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  api,
  call,
  connect,
  invite,
  ReviewFeed,
  serverWithReview,
  session,
  startServer,
  waitFor,
} from '../../test/helpers.ts';

const SECTIONS = [
  { title: 'Summary', paragraphs: ['The payment service was unavailable for four hours on 3 March.'] },
  { title: 'Actions', paragraphs: ['We will improve monitoring soon.'] },
];

const checklistEvents = (feed: ReviewFeed) =>
  feed.events.filter(
    (e): e is Extract<ReviewEvent, { type: 'checklist.updated' }> => e.type === 'checklist.updated',
  );

describe('checklist:override', () => {
  it('is live on a second server, in the snapshot, the log and every export; viewers and outsiders are refused', async () => {
    const { prefix, server, owner, review } = await serverWithReview('checklist-override', SECTIONS);
    const other = await startServer(prefix);
    const reviewer = await session(server.url, 'Rafa');
    const viewer = await session(server.url, 'Vera');
    const outsider = await session(server.url, 'Oscar');
    await invite(server.url, owner, reviewer, review.id, 'reviewer');
    await invite(server.url, owner, viewer, review.id, 'viewer');

    const ownerSocket = await connect(server.url, owner.token);
    const watcher = await connect(other.url, viewer.token);
    const feed = new ReviewFeed(watcher, review.id);
    await feed.join();
    const initial = (await call(ownerSocket, 'review:join', { reviewId: review.id })).snapshot;
    expect(initial.rubric.checkpoints).toHaveLength(12);
    expect(initial.checklist).toEqual([]);

    const ack = await call(ownerSocket, 'checklist:override', {
      reviewId: review.id,
      n: 7,
      verdict: 'fail',
      comment: '  No action has an owner.  ',
    });
    expect(ack.ok).toBe(true);
    expect(ack.entry).toMatchObject({
      n: 7,
      verdict: 'fail',
      explanation: 'No action has an owner.',
      source: 'user',
      by: { id: owner.user.id, name: 'Olga' },
    });
    await waitFor(() => checklistEvents(feed).length === 1, 5000, 'the override on the other server');
    const [event] = checklistEvents(feed);
    expect(event!.data).toEqual(ack.entry);
    expect(event!.actor).toEqual({ id: owner.user.id, name: 'Olga' });

    // A reviewer overrides the owner's verdict; the first verdict is remembered.
    const reviewerSocket = await connect(other.url, reviewer.token);
    await call(reviewerSocket, 'review:join', { reviewId: review.id });
    const second = await call(reviewerSocket, 'checklist:override', {
      reviewId: review.id,
      n: 7,
      verdict: 'partial',
      comment: 'Two of three actions have owners.',
    });
    expect(second.ok).toBe(true);
    expect(second.entry).toMatchObject({ verdict: 'partial', by: { name: 'Rafa' } });
    await waitFor(() => checklistEvents(feed).length === 2, 5000, 'the second override');

    // Refused: a viewer, an outsider; bad payloads get stable codes.
    const viewerSocket = await connect(server.url, viewer.token);
    await call(viewerSocket, 'review:join', { reviewId: review.id });
    const bad = { reviewId: review.id, n: 7, verdict: 'pass', comment: 'Fine.' };
    expect((await call(viewerSocket, 'checklist:override', bad)).error.code).toBe('forbidden');
    const outsiderSocket = await connect(server.url, outsider.token);
    expect((await call(outsiderSocket, 'checklist:override', bad)).error.code).toBe('forbidden');
    expect((await call(ownerSocket, 'checklist:override', { ...bad, n: 13 })).error.code).toBe('invalid');
    expect((await call(ownerSocket, 'checklist:override', { ...bad, n: 0 })).error.code).toBe('invalid');
    expect((await call(ownerSocket, 'checklist:override', { ...bad, verdict: 'maybe' })).error.code).toBe(
      'invalid',
    );
    expect((await call(ownerSocket, 'checklist:override', { ...bad, comment: ' ' })).error.code).toBe(
      'invalid',
    );
    expect(
      (await call(ownerSocket, 'checklist:override', { ...bad, comment: 'x'.repeat(2001) })).error.code,
    ).toBe('too_long');
    expect((await call(ownerSocket, 'checklist:override', { ...bad, reviewId: 'nope' })).error.code).toBe(
      'not_found',
    );
    // Nothing refused reached the log.
    expect(checklistEvents(feed)).toHaveLength(2);

    const snapshot = (await call(viewerSocket, 'review:join', { reviewId: review.id })).snapshot;
    expect(snapshot.checklist as ChecklistEntry[]).toEqual([second.entry]);
    // Nothing generated was overridden (no analysis ran): the entry says so by having no `overridden`.
    expect(snapshot.checklist[0].overridden).toBeUndefined();

    // Exports, from the other server, for any member.
    const json = (await (
      await api(other.url, viewer.token, `/api/reviews/${review.id}/export?format=json`)
    ).json()) as {
      checklist: ChecklistEntry[];
      rubric: { id: string };
      activity: ReviewEvent[];
    };
    expect(json.checklist).toEqual([second.entry]);
    expect(json.rubric.id).toBe('default');
    expect(json.activity.filter((e) => e.type === 'checklist.updated')).toHaveLength(2);
    const csv = await (
      await api(other.url, viewer.token, `/api/reviews/${review.id}/export?format=csv&table=checklist`)
    ).text();
    const rows = csv
      .replace(/^\ufeff/, '')
      .trim()
      .split('\r\n');
    expect(rows).toHaveLength(13);
    expect(rows[7]).toMatch(/^7,Actions,true,partial,Two of three actions have owners\.,,user,Rafa,/);
    const docx = await api(other.url, viewer.token, `/api/reviews/${review.id}/export?format=docx`);
    const files = unzipSync(new Uint8Array(await docx.arrayBuffer()));
    const comments = strFromU8(files['word/comments.xml']!);
    expect(comments).toContain('7. Actions: Partial');
    expect(comments).toContain('1. Executive summary: Not judged');
    const packageZip = await api(other.url, owner.token, `/api/reviews/${review.id}/package`);
    expect(packageZip.status).toBe(200);
    const packed = unzipSync(new Uint8Array(await packageZip.arrayBuffer()));
    const packedChecklist = Object.keys(packed).find((path) => path.endsWith('feedback/checklist.json'))!;
    expect(JSON.parse(strFromU8(packed[packedChecklist]!)).checklist).toEqual([second.entry]);
  });
});
