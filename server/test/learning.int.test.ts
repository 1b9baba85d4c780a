/**
 * Learning from decisions (CONTRACT 7.4) through two servers, a worker and the Bedrock stand-in:
 * a team rejects the "Clarity" findings of its first review and accepts its "Timeline" ones; in its
 * next review, new Clarity findings rank below Timeline ones and are shown collapsed with why, the
 * cached prompt prefix of every call carries the team's preferences (one prefix for the whole run,
 * so the cache holds), and the ranks a late joiner's snapshot shows on the other server are those
 * the live events carried. A first review, with no history, ranks every item the same and its
 * prompt carries no preferences.
 */
import type { FeedbackItem, ReviewEvent } from '@prism/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  type ClientSocket,
  call,
  cleanupKeys,
  connect,
  makeDocx,
  type Person,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  uniquePrefix,
  upload,
  waitFor,
  workspaceWith,
} from '../../test/helpers.ts';
import { standInProvider } from '../../worker/test/stand-in-provider.ts';

const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 4000, firstTokenMs: 5, findingsPerSection: 5 });
});
afterAll(async () => {
  await standIn.close();
});

/** Six sections: the stand-in's five findings a section (one Clarity, one Timeline) make six of each. */
const document = () =>
  makeDocx(
    ['Summary', 'Background', 'Timeline', 'Impact', 'Root cause', 'Actions'].map((title, i) => ({
      title,
      paragraphs: [
        `The ${title.toLowerCase()} of the outage on ${i + 3} March is described here by the operations team.`,
        `Payments failed for ${i + 2} hours while the database was restarted twice by the on-call engineer.`,
        `Customers in ${i + 2} regions saw errors, and support handled ${(i + 1) * 40} tickets that day.`,
      ],
    })),
  );

async function analysed(url: string, person: Person, workspaceId: string) {
  const res = await upload(url, person.token, await document(), { workspaceId });
  expect(res.status).toBe(201);
  const reviewId = ((await res.json()) as { review: { id: string } }).review.id;
  const socket = await connect(url, person.token);
  const feed = new ReviewFeed(socket, reviewId);
  await feed.join();
  expect((await call(socket, 'analysis:start', { reviewId })).ok).toBe(true);
  const done = () =>
    feed.events.filter((e) => e.type === 'section.status' && e.data.status === 'done').length === 6;
  await waitFor(done, 30_000, 'six sections analysed');
  const items = feed.events
    .filter((e): e is Extract<ReviewEvent, { type: 'feedback.added' }> => e.type === 'feedback.added')
    .map((e) => e.data.item);
  return { reviewId, socket, feed, items };
}

async function decide(
  socket: ClientSocket,
  reviewId: string,
  item: FeedbackItem,
  status: 'accepted' | 'rejected',
) {
  const res = await call(socket, 'feedback:decide', {
    reviewId,
    feedbackId: item.id,
    status,
    version: item.version,
  });
  expect(res.ok, JSON.stringify(res.error)).toBe(true);
}

describe('learning from decisions', () => {
  it('ranks and collapses what the team rejects, and tells the model in the cached prefix', async () => {
    const prefix = uniquePrefix('learning');
    cleanupKeys(prefix);
    const one = await startServer(prefix);
    const two = await startServer(prefix);
    const ada = await session(one.url, 'Ada');
    const bob = await session(two.url, 'Bob');
    const ws = await workspaceWith(one.url, ada, 'Ops', [bob], two.url);
    standIn.reset();
    await startWorker(prefix, standInProvider(standIn, { models: [MODEL] }));

    // The first review: no history, so every item ranks the same and the prompt states nothing.
    const first = await analysed(one.url, ada, ws);
    expect(first.items.length).toBe(30);
    expect(new Set(first.items.map((item) => item.rank))).toEqual(new Set([0.5]));
    expect(first.items.some((item) => item.collapsed)).toBe(false);
    const firstSystems = standIn.requestsOf('analysis').map((r) => JSON.stringify(r.body.system));
    expect(firstSystems.some((system) => system.includes('team_preferences'))).toBe(false);

    // The team decides on both servers: every Clarity remark rejected, every Timeline one accepted.
    const bobSocket = await connect(two.url, bob.token);
    const clarity = first.items.filter((item) => item.category === 'Clarity');
    const timeline = first.items.filter((item) => item.category === 'Timeline');
    expect([clarity.length, timeline.length]).toEqual([6, 6]);
    for (const item of clarity) await decide(bobSocket, first.reviewId, item, 'rejected');
    for (const item of timeline) await decide(first.socket, first.reviewId, item, 'accepted');

    // The next review learns from it.
    standIn.reset();
    const next = await analysed(two.url, bob, ws);
    const rankOf = (category: string) => next.items.filter((item) => item.category === category);
    const nextClarity = rankOf('Clarity');
    const nextTimeline = rankOf('Timeline');
    expect(nextClarity).toHaveLength(6);
    const highestClarity = Math.max(...nextClarity.map((item) => item.rank!));
    const lowestTimeline = Math.min(...nextTimeline.map((item) => item.rank!));
    expect(highestClarity).toBeLessThan(0.3);
    expect(lowestTimeline).toBeGreaterThan(0.7);
    // Other kinds sit between the two.
    expect(rankOf('Impact').length).toBeGreaterThan(0);
    for (const item of rankOf('Impact')) {
      expect(item.rank!).toBeGreaterThan(highestClarity);
      expect(item.rank!).toBeLessThan(lowestTimeline);
    }
    for (const item of nextClarity) {
      expect(item.collapsed).toBe('Your team rejected 6 of 6 “clarity” findings in this workspace.');
    }
    expect(next.items.filter((item) => item.collapsed)).toHaveLength(6);

    // Every call of the run shares one prefix that states the team's preferences.
    const systems = standIn.requestsOf('analysis').map((r) => JSON.stringify(r.body.system));
    expect(systems.length).toBeGreaterThanOrEqual(6);
    expect(new Set(systems).size).toBe(1);
    expect(systems[0]).toContain('<team_preferences>');
    expect(systems[0]).toContain('It rejects most “clarity” findings.');
    expect(systems[0]).toContain('It accepts nearly all “timeline” findings.');

    // A late joiner on the other server sees the ranks the live events carried.
    const late = await connect(one.url, ada.token);
    const snapshot = (await call(late, 'review:join', { reviewId: next.reviewId })).snapshot;
    const shown = new Map((snapshot.feedback as FeedbackItem[]).map((item) => [item.id, item]));
    for (const item of next.items) {
      expect(shown.get(item.id)).toMatchObject({ rank: item.rank });
      expect(shown.get(item.id)?.collapsed).toBe(item.collapsed);
    }

    // The team goes on deciding the same way, and writes a finding of its own in that category: the
    // next analysis start states the same preferences, so its calls reuse the cached prefix.
    const nextSocket = await connect(two.url, bob.token);
    for (const item of nextClarity.slice(0, 2)) await decide(nextSocket, next.reviewId, item, 'rejected');
    const own = await call(nextSocket, 'feedback:add', {
      reviewId: next.reviewId,
      sectionId: nextClarity[0]!.sectionId,
      type: 'suggestion',
      category: 'Clarity',
      description: 'Say which team restarted the database.',
    });
    expect(own.ok).toBe(true);
    standIn.reset();
    const sectionId = nextClarity[0]!.sectionId;
    expect(
      (await call(nextSocket, 'analysis:start', { reviewId: next.reviewId, sectionIds: [sectionId] })).ok,
    ).toBe(true);
    await waitFor(
      () =>
        next.feed.events.filter((e) => e.type === 'section.status' && e.data.status === 'done').length === 7,
      30_000,
      'the section analysed again',
    );
    const again = standIn.requestsOf('analysis').map((r) => JSON.stringify(r.body.system));
    expect(again).toEqual([systems[0]]);
  });
});
