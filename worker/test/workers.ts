/**
 * What the worker failover tests share: real worker processes (so one can be killed with
 * SIGKILL) on the Bedrock stand-in, and a room with one worker running and the owner joined.
 */
import type { StandIn } from '../../test/bedrock/stand-in.ts';
import {
  type Child,
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

/** The one model the failover workers are given. */
export const FAILOVER_MODEL = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';

/** A worker process on the stand-in; resolves once its health endpoint says ready. */
export async function spawnWorker(prefix: string, name: string, standIn: StandIn): Promise<Child> {
  const healthPort = await freePort();
  const worker = spawnProcess('worker', {
    REDIS_KEY_PREFIX: prefix,
    INSTANCE_ID: name,
    WORKER_HEALTH_PORT: String(healthPort),
    AI_PROVIDER: 'bedrock',
    BEDROCK_ENDPOINT_URL: standIn.url,
    BEDROCK_MODELS: FAILOVER_MODEL,
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

/**
 * A server, a first worker process ("worker-1"), and the owner joined to a one-section review
 * titled "Findings" with the given paragraphs.
 */
export async function roomWithWorker(name: string, standIn: StandIn, paragraphs: string[]) {
  const prefix = uniquePrefix(name);
  cleanupKeys(prefix);
  const server = await startServer(prefix);
  const first = await spawnWorker(prefix, 'worker-1', standIn);
  const owner = await session(server.url, 'Olga');
  const review = await createReview(
    server.url,
    owner.token,
    await makeDocx([{ title: 'Findings', paragraphs }]),
  );
  const socket = await connect(server.url, owner.token);
  const feed = new ReviewFeed(socket, review.id);
  await feed.join();
  return { prefix, server, first, owner, review, socket, feed };
}
