/**
 * Killing a worker mid-section loses nothing: BullMQ hands the job to another worker once the
 * dead one's lock expires, the new attempt replaces what the dead one left pending, and the
 * room ends with each finding exactly once.
 */
import type { FeedbackItem, ReviewEvent } from '@prism/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import { call, waitFor } from '../../test/helpers.ts';
import { roomWithWorker, spawnWorker } from './workers.ts';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 30, firstTokenMs: 20, findingsPerSection: 4 });
});
afterAll(async () => {
  await standIn.close();
});

describe('worker failure', () => {
  it('kill -9 of the worker running a section: the job finishes on another worker, no finding twice', async () => {
    const { prefix, first, review, socket, feed } = await roomWithWorker('workerkill', standIn, [
      'The backup job failed silently for nine days.',
      'Nobody was alerted because the alert was routed to a retired mailbox.',
      'Restores were never tested.',
    ]);
    const sectionId = review.sections[0]!.id;
    await call(socket, 'analysis:start', { reviewId: review.id, sectionIds: [sectionId] });
    await waitFor(() => feed.events.some((e) => e.type === 'feedback.added'), 20_000, 'a first finding');

    const second = await spawnWorker(prefix, 'worker-2', standIn);
    first.proc.kill('SIGKILL');
    await first.exited;
    standIn.config.tokensPerSecond = 400;
    const isDone = (e: ReviewEvent) => e.type === 'section.status' && e.data.status === 'done';
    await waitFor(() => feed.events.some(isDone), 45_000, 'the section to finish on the other worker');
    expect(second.proc.exitCode).toBeNull();

    const snapshot = (await call(socket, 'review:join', { reviewId: review.id })).snapshot;
    const items = snapshot.feedback as FeedbackItem[];
    expect(items).toHaveLength(4);
    expect(new Set(items.map((i) => i.description)).size).toBe(4);
    // The dead attempt's findings were replaced, not kept beside the new ones.
    const added = feed.events.filter((e) => e.type === 'feedback.added').map((e) => e.data.item.id);
    const deleted = feed.events.filter((e) => e.type === 'feedback.deleted').map((e) => e.data.item.id);
    expect(new Set(added).size).toBe(added.length);
    expect(added.filter((id) => !deleted.includes(id)).sort()).toEqual(items.map((i) => i.id).sort());
    expect(feed.gapsSeen).toBe(0);
  });
});
