/**
 * Idle memory per connection: how much server RSS one more reviewer costs while nothing happens.
 * One Prism server process, and beside it one plain Socket.IO + Redis adapter server
 * (loadtest/baseline/server.mjs) for the ratio. Each gets a warm-up batch of sockets (code paths
 * loaded, heaps grown), then BENCH_IDLE_SOCKETS more in rooms of 10, each a different person who
 * joined the room (Prism's reviews are uploaded before the first reading), idle for 11 s. Before each reading the bench forces a full garbage collection through the
 * process's inspector (HeapProfiler.collectGarbage), so garbage left by the set-up (uploads, join
 * snapshots) is not counted as per-connection cost; then RSS (VmRSS from /proc) once it settles, and
 * the V8 heap in use.
 *
 *   npm run bench:idle -w server      (BENCH_IDLE_SOCKETS=3000 BENCH_IDLE_WARMUP=1000 to change)
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deleteKeys } from '@prism/store';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { makeDoc, post, session, uploadReview } from './doc.ts';
import { freePort, REDIS_URL, startProcess } from './spawn.ts';

const SOCKETS = Number(process.env.BENCH_IDLE_SOCKETS ?? 3000);
const WARMUP = Number(process.env.BENCH_IDLE_WARMUP ?? 1000);
const ROOM_SIZE = 10;
/** How long connections sit idle before a reading: longer than the longest rate-limit window. */
const IDLE_MS = 11_000;
const PREFIX = `bench-idle:${randomBytes(3).toString('hex')}:`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident set size of a process, in bytes. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

/** RSS once it stops moving (the heap settles after a burst of connections), in bytes. */
async function settledRss(pid: number): Promise<number> {
  let last = rss(pid);
  for (let i = 0; i < 20; i += 1) {
    await sleep(500);
    const now = rss(pid);
    if (Math.abs(now - last) < 64 * 1024) return now;
    last = now;
  }
  return last;
}

/** A process under test, with its inspector (to force a GC and read the heap). */
interface Spawned {
  proc: ChildProcess;
  inspector: Inspector;
}

/** The few Chrome DevTools Protocol calls the bench needs, over Node's own WebSocket client. */
class Inspector {
  private next = 1;
  private readonly waiting = new Map<number, (result: Record<string, unknown>) => void>();
  private readonly ws: WebSocket;
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener('message', (message) => {
      const { id, result } = JSON.parse(String(message.data)) as {
        id?: number;
        result?: Record<string, unknown>;
      };
      if (id !== undefined) this.waiting.get(id)?.(result ?? {});
      if (id !== undefined) this.waiting.delete(id);
    });
  }

  static async open(port: number): Promise<Inspector> {
    const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const ws = new WebSocket(target!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve);
      ws.addEventListener('error', reject);
    });
    return new Inspector(ws);
  }

  call(method: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method }));
    });
  }

  /** Two full collections (the second frees what finalizers of the first released). */
  async collect(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const { usedSize } = (await this.call('Runtime.getHeapUsage')) as { usedSize: number };
    return usedSize;
  }

  close(): void {
    this.ws.close();
  }
}

async function spawnReady(args: string[], env: Record<string, string>, port: number): Promise<Spawned> {
  const inspectPort = await freePort();
  const { proc } = await startProcess({
    args,
    env,
    port,
    nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`],
    // The inspector announces itself on stderr; pass on everything else.
    stderr: (chunk) => {
      const text = chunk
        .split('\n')
        .filter((line) => line && !/^(Debugger (listening|attached)|For help, see)/.test(line))
        .join('\n');
      if (text) process.stderr.write(`${text}\n`);
    },
  });
  return { proc, inspector: await Inspector.open(inspectPort) };
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next;
        next += 1;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

interface Target extends Spawned {
  name: string;
  /** Creates what the sockets will join (Prism: the reviews, one upload each), before measuring. */
  prepare(from: number, count: number): Promise<void>;
  /** Opens `count` sockets (offset `from`) joined to rooms of 10; resolves when all are in. */
  open(from: number, count: number): Promise<Socket[]>;
}

async function prismTarget(): Promise<Target> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const spawned = await spawnReady(
    ['server/dist/main.js'],
    {
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      REDIS_KEY_PREFIX: PREFIX,
      INSTANCE_ID: 'bench-idle',
      STORAGE_URL: 'file:.data/bench-objects',
      NODE_ENV: 'production',
      SESSION_SECRET: randomBytes(32).toString('hex'),
      WEB_DIR: '/nonexistent',
      // Thousands of people from this one address: the per-address limits are for real clients.
      RATE_LIMIT_SESSIONS_PER_IP: '1000000',
      RATE_LIMIT_UPLOADS_PER_IP: '1000000',
      RATE_LIMIT_INVITES_PER_IP: '1000000',
    },
    port,
  );
  const doc = await makeDoc();
  const rooms = new Map<number, { reviewId: string; invite: string }>();
  const room = async (r: number) => {
    const known = rooms.get(r);
    if (known) return known;
    const owner = await session(url, `Owner ${r}`);
    const reviewId = await uploadReview(url, owner, doc);
    const { token: invite } = await post<{ token: string }>(
      url,
      `/api/reviews/${reviewId}/invites`,
      { role: 'reviewer' },
      owner,
    );
    const made = { reviewId, invite };
    rooms.set(r, made);
    return made;
  };
  const prepare = async (from: number, count: number): Promise<void> => {
    const indexes = Array.from({ length: count }, (_, i) => from + i);
    await pool([...new Set(indexes.map((i) => Math.floor(i / ROOM_SIZE)))], 8, room);
  };
  return {
    name: 'Prism',
    ...spawned,
    prepare,
    async open(from, count) {
      const indexes = Array.from({ length: count }, (_, i) => from + i);
      await prepare(from, count);
      return pool(indexes, 32, async (i) => {
        const { reviewId, invite } = await room(Math.floor(i / ROOM_SIZE));
        const person = await session(url, `Reviewer ${i}`);
        await post(url, '/api/invites/accept', { token: invite }, person);
        const socket = io(url, { auth: { token: person }, transports: ['websocket'], forceNew: true });
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
        const ack = await socket.timeout(15_000).emitWithAck('review:join', { reviewId });
        if (!ack.ok) throw new Error(`join: ${JSON.stringify(ack.error)}`);
        return socket;
      });
    },
  };
}

async function baselineTarget(): Promise<Target> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const spawned = await spawnReady(
    ['loadtest/baseline/server.mjs'],
    { PORT: String(port), BASELINE_PREFIX: PREFIX, INSTANCE_ID: 'bench-idle-baseline' },
    port,
  );
  return {
    name: 'plain Socket.IO + Redis adapter',
    ...spawned,
    prepare: async () => {},
    open(from, count) {
      return pool(
        Array.from({ length: count }, (_, i) => from + i),
        32,
        async (i) => {
          const socket = io(url, { transports: ['websocket'], forceNew: true });
          await new Promise<void>((resolve, reject) => {
            socket.once('connect', resolve);
            socket.once('connect_error', reject);
          });
          const ack = await socket
            .timeout(15_000)
            .emitWithAck('join', { room: `room-${Math.floor(i / ROOM_SIZE)}` });
          if (!ack.ok) throw new Error('join refused');
          return socket;
        },
      );
    },
  };
}

interface Measured {
  name: string;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  rssPerSocketKb: number;
  heapPerSocketKb: number;
}

async function measure(target: Target): Promise<Measured> {
  const pid = target.proc.pid!;
  const reading = async () => {
    const heap = await target.inspector.collect();
    return { heap, rss: await settledRss(pid) };
  };
  const warm = await target.open(0, WARMUP);
  // The reviews are not the connections' cost: they exist before the first reading.
  await target.prepare(WARMUP, SOCKETS);
  await sleep(IDLE_MS);
  const before = await reading();
  const sockets = await target.open(WARMUP, SOCKETS);
  // Idle: per-connection rate-limit windows (10 s at most) have expired.
  await sleep(IDLE_MS);
  const after = await reading();
  for (const socket of [...warm, ...sockets]) socket.disconnect();
  target.inspector.close();
  target.proc.kill('SIGTERM');
  return {
    name: target.name,
    rssBefore: before.rss,
    rssAfter: after.rss,
    heapBefore: before.heap,
    heapAfter: after.heap,
    rssPerSocketKb: (after.rss - before.rss) / SOCKETS / 1024,
    heapPerSocketKb: (after.heap - before.heap) / SOCKETS / 1024,
  };
}

async function main(): Promise<void> {
  const results = [];
  const started: Target[] = [];
  const start = async (target: Promise<Target>) => {
    started.push(await target);
    return started.at(-1)!;
  };
  try {
    results.push(await measure(await start(baselineTarget())));
    results.push(await measure(await start(prismTarget())));
  } finally {
    // A failed run leaves no server behind (measure() stops the ones it finishes with).
    for (const target of started) {
      target.inspector.close();
      target.proc.kill('SIGKILL');
    }
    const redis = new Redis(REDIS_URL);
    redis.on('error', () => {});
    await deleteKeys(redis, PREFIX);
    redis.disconnect();
  }
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(`Idle sockets: ${SOCKETS} joined to rooms of ${ROOM_SIZE} after a warm-up of ${WARMUP}`);
  console.log('| server | RSS before / after | RSS per idle connection | V8 heap per idle connection |');
  console.log('| --- | --- | --- | --- |');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${mb(r.rssBefore)} / ${mb(r.rssAfter)} MB | ${r.rssPerSocketKb.toFixed(1)} KB | ${r.heapPerSocketKb.toFixed(1)} KB |`,
    );
  }
  console.log(JSON.stringify({ sockets: SOCKETS, warmup: WARMUP, results }));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
