/**
 * Killing a worker mid-section loses nothing: BullMQ hands the job to another worker once the
 * dead one's lock expires, the new attempt replaces what the dead one left pending, and the
 * room ends with each finding exactly once.
 */
import type { FeedbackItem, ReviewEvent } from '@prism/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  call,
  cleanupKeys,
  connect,
  createReview,
  freePort,
  makeDocx,
  ReviewFeed,
  session,
  spawnProcess,
  startServer,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';

const MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 30, firstTokenMs: 20, findingsPerSection: 4 });
});
afterAll(async () => {
  await standIn.close();
});

async function spawnWorker(prefix: string, name: string) {
  const healthPort = await freePort();
  const worker = spawnProcess('worker', {
    REDIS_KEY_PREFIX: prefix,
    INSTANCE_ID: name,
    WORKER_HEALTH_PORT: String(healthPort),
    AI_PROVIDER: 'bedrock',
    BEDROCK_ENDPOINT_URL: standIn.url,
    BEDROCK_MODELS: MODEL,
    AWS_ACCESS_KEY_ID: 'AKIDPRISMTEST',
    AWS_SECRET_ACCESS_KEY: 'prism-test-secret',
    STORAGE_URL: `file:.data/test-objects/${prefix.replaceAll(':', '_')}`,
  });
  await waitFor(
    () =>
      fetch(`http://127.0.0.1:${healthPort}/ready`).then(
        (r) => r.ok,
        () => false,
      ),
    20_000,
    `${name} ready`,
  ).catch(() => {
    throw new Error(`${name} did not start: ${worker.output()}`);
  });
  return worker;
}

describe('worker failure', () => {
  it('kill -9 of the worker running a section: the job finishes on another worker, no finding twice', async () => {
    const prefix = uniquePrefix('workerkill');
    cleanupKeys(prefix);
    const server = await startServer(prefix);
    const first = await spawnWorker(prefix, 'worker-1');
    const owner = await session(server.url, 'Olga');
    const review = await createReview(
      server.url,
      owner.token,
      await makeDocx([
        {
          title: 'Findings',
          paragraphs: [
            'The backup job failed silently for nine days.',
            'Nobody was alerted because the alert was routed to a retired mailbox.',
            'Restores were never tested.',
          ],
        },
      ]),
    );
    const socket = await connect(server.url, owner.token);
    const feed = new ReviewFeed(socket, review.id);
    await feed.join();
    const sectionId = review.sections[0]!.id;
    await call(socket, 'analysis:start', { reviewId: review.id, sectionIds: [sectionId] });
    await waitFor(() => feed.events.some((e) => e.type === 'feedback.added'), 20_000, 'a first finding');

    const second = await spawnWorker(prefix, 'worker-2');
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
