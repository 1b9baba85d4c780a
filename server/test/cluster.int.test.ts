/**
 * `npm run cluster`'s topology, for real: 3 built servers and 2 workers behind HAProxy (round
 * robin, no stickiness). The seed's failure cannot happen through it: requests of one user land
 * on different instances and still work, and killing the instance behind some sockets only
 * makes them reconnect through the balancer and catch up.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  api,
  type ClientSocket,
  call,
  cleanupKeys,
  connect,
  createReview,
  onCleanup,
  REDIS_URL,
  ReviewFeed,
  ROOT,
  session,
  uniquePrefix,
  waitFor,
} from '../../test/helpers.ts';

async function startClusterOnce(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), 'prism-cluster-'));
  // A block below the ephemeral range (32768+), where outgoing connections take their ports:
  // the servers use base+1..3, +11..13, the workers +21..22, HAProxy listens on base+40.
  const base = 20_000 + Math.floor(Math.random() * 1200) * 10;
  const port = base + 40;
  const proc = spawn('bash', ['scripts/cluster.sh'], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      CLUSTER_PORT: String(port),
      CLUSTER_BASE_PORT: String(base),
      CLUSTER_DIR: dir,
      CLUSTER_NO_BUILD: '1',
      STORAGE_URL: `file:.data/test-objects/${prefix.replaceAll(':', '_')}`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  onCleanup(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  await waitFor(() => existsSync(join(dir, 'ready')) || proc.exitCode !== null, 90_000, 'the cluster');
  if (proc.exitCode !== null) throw new Error(`cluster did not start:\n${output}`);
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    pid: (name: string) => Number(readFileSync(join(dir, 'pids', `${name}.pid`), 'utf8')),
  };
}

/** Free ports can be taken between picking and binding by anything else on the machine: retry. */
async function startCluster(prefix: string) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startClusterOnce(prefix);
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE|in use/.test(String(error))) throw error;
    }
  }
}

describe('npm run cluster', () => {
  it('spreads one user over three instances, and survives losing one', async () => {
    const prefix = uniquePrefix('cluster');
    cleanupKeys(prefix);
    const cluster = await startCluster(prefix);

    const instances = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      const health = (await (await fetch(`${cluster.url}/health`)).json()) as { instance: string };
      instances.add(health.instance);
    }
    expect([...instances].sort()).toEqual(['server-1', 'server-2', 'server-3']);

    // Upload, read and decide land on different instances: no "Invalid or expired session".
    const owner = await session(cluster.url, 'Owner');
    const review = await createReview(cluster.url, owner.token);
    for (let i = 0; i < 3; i += 1) {
      expect((await api(cluster.url, owner.token, `/api/reviews/${review.id}`)).status).toBe(200);
    }

    const clients: { socket: ClientSocket; feed: ReviewFeed }[] = [];
    for (let i = 0; i < 6; i += 1) {
      const socket = await connect(cluster.url, owner.token, { reconnection: true });
      const feed = new ReviewFeed(socket, review.id);
      await feed.join();
      // Like the web app: after a reconnect, catch up with `since` on whichever instance answers.
      socket.io.on('reconnect', () => void feed.catchUp());
      clients.push({ socket, feed });
    }
    const add = (n: number) =>
      call(clients[n % clients.length]!.socket, 'feedback:add', {
        reviewId: review.id,
        sectionId: review.sections[0]!.id,
        type: 'suggestion',
        category: 'Clarity',
        description: `point ${n}`,
      });
    for (let n = 0; n < 10; n += 1) expect((await add(n)).ok).toBe(true);

    const disconnected: number[] = [];
    clients.forEach((client, i) => {
      client.socket.on('disconnect', () => disconnected.push(i));
    });
    process.kill(cluster.pid('server-2'), 'SIGKILL');
    await waitFor(() => disconnected.length >= 1, 10_000, 'sockets of server-2 to drop');
    await waitFor(() => clients.every((c) => c.socket.connected), 20_000, 'reconnects through the balancer');

    let written = 10;
    while (written < 20) {
      const ack = await add(written);
      if (ack.ok) written += 1;
    }
    const finalSeq = (await call(clients[0]!.socket, 'review:join', { reviewId: review.id })).snapshot
      .seq as number;
    for (const { feed } of clients) {
      await waitFor(() => feed.seq === finalSeq, 10_000, 'every client to catch up');
      const descriptions = feed.events.map(
        (e) => (e.data as { item: { description: string } }).item.description,
      );
      expect(descriptions).toEqual(Array.from({ length: 20 }, (_, n) => `point ${n}`));
    }
  });
});
