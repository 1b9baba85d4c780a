/**
 * The failure Prism exists to avoid ("Invalid or expired session" once a second process served a
 * user): a review made through one instance must be usable through any other, and every client,
 * wherever it is connected, must see the same events in the same gap-free `seq` order.
 */

import type { ReviewEvent } from '@prism/core';
import { createRedis, EventLog, waitReady } from '@prism/store';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  api,
  call,
  connect,
  invite,
  onCleanup,
  REDIS_CLUSTER,
  REDIS_URL,
  ReviewFeed,
  serverWithReview,
  session,
  startServer,
  waitFor,
} from '../../test/helpers.ts';

describe('two instances on one Redis', () => {
  it('serves a review created on A to a user on B: join, decide, read, in the same order everywhere', async () => {
    const {
      prefix,
      server: a,
      owner,
      review,
    } = await serverWithReview(
      'seed',
      [
        { title: 'Summary', paragraphs: ['The outage lasted four hours.'] },
        { title: 'Actions', paragraphs: ['Add alerting on queue depth.'] },
      ],
      { instance: 'A' },
    );
    const b = await startServer(prefix, { instance: 'B' });

    // The owner reads it through B: no session lives in A's memory.
    const readOnB = await api(b.url, owner.token, `/api/reviews/${review.id}`);
    expect(readOnB.status).toBe(200);
    const snapshotB = (await readOnB.json()) as { title: string; sections: { title: string }[] };
    expect(snapshotB.sections.map((s) => s.title)).toEqual(['Summary', 'Actions']);

    const invite = await api(a.url, owner.token, `/api/reviews/${review.id}/invites`, {
      method: 'POST',
      body: JSON.stringify({ role: 'reviewer' }),
    });
    const { token: inviteToken } = (await invite.json()) as { token: string };
    const reviewer = await session(b.url, 'Ravi');
    const accepted = await api(b.url, reviewer.token, '/api/invites/accept', {
      method: 'POST',
      body: JSON.stringify({ token: inviteToken }),
    });
    expect(await accepted.json()).toEqual({ reviewId: review.id, role: 'reviewer' });

    const socketA = await connect(a.url, owner.token);
    const socketB = await connect(b.url, reviewer.token);
    const feedA = new ReviewFeed(socketA, review.id);
    const feedB = new ReviewFeed(socketB, review.id);
    const snapA = await feedA.join();
    const snapB = await feedB.join();
    expect(snapB.members.map((m: { user: { name: string } }) => m.user.name).sort()).toEqual([
      'Olga',
      'Ravi',
    ]);

    // The reviewer (on B) adds a finding; the owner (on A) rejects it; the reviewer reverts it.
    const added = await call(socketB, 'feedback:add', {
      reviewId: review.id,
      sectionId: review.sections[0]!.id,
      type: 'important',
      category: 'Impact',
      description: 'State the customer impact in numbers.',
      quote: 'The outage lasted four hours.',
    });
    expect(added.ok).toBe(true);
    expect(added.item.status).toBe('accepted');
    const rejected = await call(socketA, 'feedback:decide', {
      reviewId: review.id,
      feedbackId: added.item.id,
      status: 'rejected',
      version: added.item.version,
    });
    expect(rejected.ok).toBe(true);
    expect(rejected.item.decidedBy.name).toBe('Olga');
    const reverted = await call(socketB, 'feedback:decide', {
      reviewId: review.id,
      feedbackId: added.item.id,
      status: 'pending',
      version: rejected.item.version,
    });
    expect(reverted.item).toMatchObject({ status: 'pending', version: 3 });

    await waitFor(
      () => feedA.seq === snapA.seq + 3 && feedB.seq >= snapA.seq + 3,
      5000,
      'three events on both',
    );
    expect(feedA.firstLive).toBe(snapA.seq + 1);
    expect(feedB.firstLive).toBe(snapB.seq + 1);
    // Same events, same order, the actor's own included.
    expect(feedA.events.map((e) => [e.seq, e.type, e.actor.name])).toEqual([
      [snapA.seq + 1, 'feedback.added', 'Ravi'],
      [snapA.seq + 2, 'feedback.updated', 'Olga'],
      [snapA.seq + 3, 'feedback.updated', 'Ravi'],
    ]);
    expect(feedB.events).toEqual(feedA.events);

    // A fresh read through A agrees with what both clients saw.
    const final = (await (await api(a.url, reviewer.token, `/api/reviews/${review.id}`)).json()) as {
      seq: number;
      feedback: { status: string; version: number }[];
    };
    expect(final.seq).toBe(feedA.seq);
    expect(final.feedback).toEqual([expect.objectContaining({ status: 'pending', version: 3 })]);
  });

  it('delivers events appended concurrently by two servers and a worker in seq order with no gap', async () => {
    const {
      prefix,
      server: a,
      owner,
      review,
    } = await serverWithReview('concurrent', undefined, { owner: 'Owner' });
    const b = await startServer(prefix);
    const sectionId = review.sections[0]!.id;

    const watchers = await Promise.all(
      [a, b, a, b].map(async (server) => {
        const socket = await connect(server.url, owner.token);
        const feed = new ReviewFeed(socket, review.id);
        await feed.join();
        return { socket, feed };
      }),
    );
    const start = watchers[0]!.feed.seq;

    // The worker side appends straight to the log, exactly as worker jobs do.
    const workerRedis = createRedis(
      { url: REDIS_URL, instance: 'test-worker', cluster: REDIS_CLUSTER },
      'commands',
      pino({ level: 'silent' }),
    );
    onCleanup(() => workerRedis.disconnect());
    await waitReady(workerRedis);
    const workerLog = new EventLog(workerRedis, { prefix });

    const perProducer = 60;
    const writerA = watchers[0]!.socket;
    const writerB = watchers[1]!.socket;
    const add = (socket: typeof writerA, n: number) =>
      call(socket, 'feedback:add', {
        reviewId: review.id,
        sectionId,
        type: 'suggestion',
        category: 'Style',
        description: `note ${n}`,
      });
    const results = await Promise.all([
      ...Array.from({ length: perProducer }, (_, n) => add(writerA, n)),
      ...Array.from({ length: perProducer }, (_, n) => add(writerB, n + 1000)),
      ...Array.from({ length: perProducer }, (_, n) =>
        workerLog.append({
          reviewId: review.id,
          type: 'section.status',
          at: new Date().toISOString(),
          actor: { id: 'prism', name: 'Prism' },
          data: { sectionId, status: n % 2 ? 'analyzing' : 'queued' },
        }),
      ),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);

    const total = perProducer * 3;
    for (const { feed } of watchers) {
      await waitFor(() => feed.seq === start + total, 10_000, 'every event on every client');
      expect(feed.seqs()).toEqual(Array.from({ length: total }, (_, i) => start + i + 1));
      expect(feed.gapsSeen).toBe(0);
    }
    const reference = watchers[0]!.feed.events.map((e: ReviewEvent) => e.seq + e.type);
    for (const { feed } of watchers) expect(feed.events.map((e) => e.seq + e.type)).toEqual(reference);
  });

  it('lets exactly one of two simultaneous decisions from different instances win; the other gets conflict', async () => {
    const { prefix, server: a, owner, review } = await serverWithReview('conflict');
    const b = await startServer(prefix);
    const reviewer = await session(b.url, 'Ravi');
    await invite(a.url, owner, reviewer, review.id, 'reviewer', b.url);

    const socketA = await connect(a.url, owner.token);
    const socketB = await connect(b.url, reviewer.token);
    const feed = new ReviewFeed(socketA, review.id);
    await feed.join();

    for (let round = 0; round < 20; round += 1) {
      const added = await call(socketA, 'feedback:add', {
        reviewId: review.id,
        sectionId: review.sections[0]!.id,
        type: 'critical',
        category: 'Evidence',
        description: `claim ${round} needs a source`,
      });
      const pending = await call(socketA, 'feedback:decide', {
        reviewId: review.id,
        feedbackId: added.item.id,
        status: 'pending',
        version: 1,
      });
      const [fromA, fromB] = await Promise.all([
        call(socketA, 'feedback:decide', {
          reviewId: review.id,
          feedbackId: added.item.id,
          status: 'accepted',
          version: 2,
        }),
        call(socketB, 'feedback:decide', {
          reviewId: review.id,
          feedbackId: added.item.id,
          status: 'rejected',
          version: 2,
        }),
      ]);
      expect(pending.item.version).toBe(2);
      const winners = [fromA, fromB].filter((r) => r.ok);
      const losers = [fromA, fromB].filter((r) => !r.ok);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0].error.code).toBe('conflict');
      // The loser is told the current state: the winner's decision, version 3.
      expect(losers[0].item).toEqual(winners[0].item);
      expect(winners[0].item.version).toBe(3);
    }
    // Nothing lost: the log holds exactly add + pending + one decision per round, after the joins.
    const snapshot = (await (await api(b.url, reviewer.token, `/api/reviews/${review.id}`)).json()) as {
      seq: number;
      feedback: { version: number }[];
    };
    expect(snapshot.feedback).toHaveLength(20);
    expect(snapshot.feedback.every((item) => item.version === 3)).toBe(true);
    await waitFor(() => feed.seq === snapshot.seq, 5000, 'all events');
    expect(feed.events).toHaveLength(60);
  });
});
