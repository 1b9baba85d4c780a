/**
 * A Redis Cluster master fails over, and a review's slot moves to another master, under live
 * reviewers (the cluster tier of `npm test` only: REDIS_URL is a seed node of the cluster it
 * starts). Reviewers on two servers watch an analysis stream from the Bedrock stand-in while
 * another reviewer keeps adding feedback; `CLUSTER FAILOVER` on the replica of the master that
 * holds the review's slot promotes it mid-stream. Or the slot is migrated (IMPORTING, MIGRATING,
 * MIGRATE of its keys, SETSLOT NODE), as resharding an ElastiCache or MemoryDB cluster does.
 * Every client ends with every event once, in `seq` order with no gap, equal to what a fresh join
 * reads.
 */
import type { ReviewEvent } from '@prism/core';
import { SUBSCRIBER_SLOTS_REFRESH_MS } from '@prism/store';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  keepAddingFeedback,
  makeDocx,
  onCleanup,
  REDIS_CLUSTER,
  ReviewFeed,
  session,
  startServer,
  startWorker,
  testRedis,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';
import { standInProvider } from '../../worker/test/stand-in-provider.ts';

const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';

let standIn: StandIn;
beforeAll(async () => {
  if (!REDIS_CLUSTER) throw new Error('this file runs against a Redis Cluster (REDIS_CLUSTER=true)');
  // Slow enough that the analysis is still streaming when the master fails over.
  standIn = await startBedrockStandIn({ tokensPerSecond: 60, firstTokenMs: 20 });
});
afterAll(async () => {
  await standIn?.close();
});

const REPORT = ['Summary', 'Timeline', 'Root cause', 'Impact', 'Actions', 'Follow-up'].map((title, i) => ({
  title,
  paragraphs: [
    `Section ${i + 1}: the payment service was unavailable for about four hours on 3 March.`,
    'We will improve monitoring soon, and the team will probably review the change process.',
  ],
}));

interface ClusterNode {
  id: string;
  host: string;
  port: number;
  master: boolean;
  masterId: string;
  slots: [number, number][];
}

/** CLUSTER NODES as one node sees it. */
async function clusterNodes(client: Redis): Promise<ClusterNode[]> {
  const text = (await client.call('CLUSTER', 'NODES')) as string;
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
      const [host, port] = address!.split('@')[0]!.split(':');
      return {
        id: id!,
        host: host!,
        port: Number(port),
        master: flags!.split(',').includes('master'),
        masterId: masterId!,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [from, to] = s.split('-').map(Number);
            return [from!, to ?? from!] as [number, number];
          }),
      };
    });
}

const node = (n: ClusterNode): Redis => {
  const client = new Redis({ host: n.host, port: n.port, lazyConnect: false, maxRetriesPerRequest: 3 });
  client.on('error', () => {});
  onCleanup(() => client.disconnect());
  return client;
};

/**
 * What a fresh reviewer reads now (a join on `joinUrl`, the log since `start` on `logUrl`) is what
 * every live client has: every seq once, in order, and no gap even to close (the servers healed
 * whatever their subscriptions missed). Resolves with the fresh snapshot and the log.
 */
async function everyClientHasTheLog(
  feeds: ReviewFeed[],
  start: number,
  joinUrl: string,
  logUrl: string,
  token: string,
  reviewId: string,
) {
  const snapshot = await new ReviewFeed(await connect(joinUrl, token), reviewId).join();
  const resync = new ReviewFeed(await connect(logUrl, token), reviewId);
  resync.seq = start;
  await resync.catchUp();
  const log: ReviewEvent[] = resync.events;
  await waitFor(() => feeds.every((f) => f.seq === snapshot.seq), 20_000, 'every client level with the log');
  const expected = Array.from({ length: snapshot.seq - start }, (_, i) => start + 1 + i);
  for (const feed of feeds) {
    expect(feed.seqs()).toEqual(expected);
    expect(feed.duplicatesSeen).toBe(0);
    expect(feed.gapsSeen).toBe(0);
    expect(feed.events).toEqual(log);
  }
  return { snapshot, log };
}

const provider = () => standInProvider(standIn, { models: [MODEL], inactivityTimeoutMs: 10_000 });

describe('Redis Cluster failover', () => {
  it('has every sharded subscriber re-read the slot map every few seconds (a failover may drop its subscriptions)', async () => {
    // Without the timer, a subscription dropped by the old master comes back only if ioredis'
    // own refresh, made at once, already sees the new owner; one that came too early left the
    // server deaf to the review (seen at 2 of about 75 failovers).
    const subscriber = testRedis('subscriber') as unknown as Cluster;
    const commands = testRedis('commands') as unknown as Cluster;
    expect(subscriber.options.slotsRefreshInterval).toBe(SUBSCRIBER_SLOTS_REFRESH_MS);
    expect(SUBSCRIBER_SLOTS_REFRESH_MS).toBeLessThanOrEqual(5000);
    // Command clients follow MOVED replies instead: no timer of their own.
    expect(commands.options.slotsRefreshInterval ?? 0).toBe(0);
  });

  it('CLUSTER FAILOVER of the review’s master mid-stream: every reviewer on both servers gets every event once, in order', async () => {
    const prefix = uniquePrefix('cluster-failover');
    cleanupKeys(prefix);
    const a = await startServer(prefix);
    const b = await startServer(prefix);
    await startWorker(prefix, provider());
    const owner = await session(a.url, 'Olga');
    const review = await createReview(a.url, owner.token, await makeDocx(REPORT));

    const feeds: ReviewFeed[] = [];
    for (const server of [a, a, b, b]) {
      const socket = await connect(server.url, owner.token);
      const feed = new ReviewFeed(socket, review.id);
      await feed.join();
      feeds.push(feed);
    }
    const start = feeds[0]!.seq;

    // The master that holds the review's slot, and its replica.
    const redis = testRedis();
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', `${prefix}review:{${review.id}}:seq`));
    const nodes = await clusterNodes(redis);
    const master = nodes.find((n) => n.master && n.slots.some(([from, to]) => slot >= from && slot <= to))!;
    const replica = nodes.find((n) => !n.master && n.masterId === master.id)!;
    expect(master, `a master serves slot ${slot}`).toBeDefined();
    expect(replica, `the master of slot ${slot} has a replica`).toBeDefined();

    // Someone keeps adding feedback on B before, during and after the failover.
    const producer = await connect(b.url, owner.token);
    const feedback = keepAddingFeedback(producer, review.id, review.sections[0]!.id);

    const started = await call(producer, 'analysis:start', { reviewId: review.id });
    expect(started.ok).toBe(true);
    const isStreaming = () =>
      feeds.every((f) => f.events.some((e) => e.type === 'feedback.added' && e.data.item.source === 'ai'));
    await waitFor(() => feedback.atLeast(10) && isStreaming(), 30_000, 'the analysis streaming');
    const sectionsDone = (f: ReviewFeed) =>
      f.events.filter((e) => e.type === 'section.status' && e.data.status === 'done').length;
    expect(sectionsDone(feeds[0]!)).toBeLessThan(REPORT.length);

    // The replica takes over the review's slot (a coordinated failover, as in maintenance).
    const promoted = node(replica);
    expect(await promoted.call('CLUSTER', 'FAILOVER')).toBe('OK');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const role = (await promoted.call('ROLE')) as [string];
      if (role[0] === 'master') break;
      if (Date.now() > deadline) throw new Error('the replica was not promoted within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = feedback.written;
    const seqAtFailover = feeds[0]!.seq;
    await waitFor(() => feedback.atLeast(before + 20), 30_000, 'feedback after the failover');
    await waitFor(
      // (atLeast throws if the feedback loop was refused.)
      () => feedback.atLeast(0) && feeds.every((f) => sectionsDone(f) === REPORT.length),
      90_000,
      'every section analysed on every client',
    ).catch((error: Error) => {
      // Where each client stopped: its last seq, and each section's last status there.
      const where = feeds.map((f) => {
        const last = new Map<string, string>();
        for (const e of f.events) if (e.type === 'section.status') last.set(e.data.sectionId, e.data.status);
        return { seq: f.seq, sections: [...last.values()] };
      });
      throw new Error(`${error.message}; the clients: ${JSON.stringify(where)}`);
    });
    await feedback.stop();

    const { snapshot, log } = await everyClientHasTheLog(feeds, start, b.url, a.url, owner.token, review.id);
    // The stream went on across the failover: AI findings and people's items after it too.
    expect(snapshot.seq - seqAtFailover).toBeGreaterThan(20);
    const added = log.filter((e) => e.type === 'feedback.added');
    expect(added.filter((e) => e.data.item.source !== 'ai')).toHaveLength(feedback.written);
    expect(new Set(snapshot.feedback.map((item: { id: string }) => item.id))).toEqual(
      new Set(added.map((e) => e.data.item.id)),
    );
    expect((await clusterNodes(promoted)).find((n) => n.id === replica.id)?.master).toBe(true);
  }, 180_000);

  it('a slot migration of the review to another master mid-stream: every reviewer gets every event once, in order', async () => {
    const prefix = uniquePrefix('cluster-migration');
    cleanupKeys(prefix);
    const a = await startServer(prefix);
    const b = await startServer(prefix);
    const owner = await session(a.url, 'Olga');
    const review = await createReview(a.url, owner.token, await makeDocx(REPORT));
    const feeds: ReviewFeed[] = [];
    for (const server of [a, a, b, b]) {
      const feed = new ReviewFeed(await connect(server.url, owner.token), review.id);
      await feed.join();
      feeds.push(feed);
    }
    const start = feeds[0]!.seq;

    const redis = testRedis();
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', `${prefix}review:{${review.id}}:seq`));
    const masters = (await clusterNodes(redis)).filter((n) => n.master);
    const source = masters.find((n) => n.slots.some(([from, to]) => slot >= from && slot <= to))!;
    const target = masters.find((n) => n.id !== source.id)!;
    const from = node(source);
    const to = node(target);

    const producer = await connect(b.url, owner.token);
    const feedback = keepAddingFeedback(producer, review.id, review.sections[0]!.id);
    await waitFor(() => feedback.atLeast(20), 30_000, 'feedback before the migration');

    // Resharding as redis-cli does it: the target imports, the source migrates, the keys move a
    // batch at a time (appends in between are redirected with ASK or told TRYAGAIN), then every
    // master learns the slot's new owner, the target first.
    expect(await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id)).toBe('OK');
    expect(await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id)).toBe('OK');
    let moved = 0;
    for (;;) {
      const keys = (await from.call('CLUSTER', 'GETKEYSINSLOT', slot, 5)) as string[];
      if (keys.length === 0) break;
      await from.call('MIGRATE', target.host, target.port, '', 0, 10_000, 'KEYS', ...keys);
      moved += keys.length;
    }
    for (const master of [
      target,
      source,
      ...masters.filter((n) => n.id !== source.id && n.id !== target.id),
    ]) {
      expect(await node(master).call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id)).toBe('OK');
    }
    expect(moved).toBeGreaterThan(5);
    const seqAtMove = feeds[0]!.seq;
    const before = feedback.written;
    await waitFor(() => feedback.atLeast(before + 30), 30_000, 'feedback after the migration');
    await feedback.stop();

    const { snapshot, log } = await everyClientHasTheLog(feeds, start, a.url, b.url, owner.token, review.id);
    expect(snapshot.seq - seqAtMove).toBeGreaterThanOrEqual(30);
    const added = log.filter((e) => e.type === 'feedback.added');
    expect(added).toHaveLength(feedback.written);
    // The review's keys live on the target now.
    expect(await to.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBeGreaterThan(5);
    expect(await from.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
  }, 120_000);
});
