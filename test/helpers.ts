/**
 * Integration test helpers: real Redis, real servers (in-process through `createApp`, or spawned
 * processes when a test must kill one), real socket.io-client. Every resource a helper makes is
 * torn down by the helper after the test file; every key lives under a unique prefix.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ClientToServerEvents, ReviewEvent, ServerToClientEvents } from '@prism/core';
import {
  closeRedis,
  createRedis,
  deleteKeys,
  FileObjectStore,
  type ObjectStore,
  type RedisRole,
  waitReady,
} from '@prism/store';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll } from 'vitest';
import { type App, createApp } from '../server/src/app.ts';
import { loadConfig } from '../server/src/config.ts';
import { createMetrics } from '../server/src/infra/metrics.ts';
import { freePort } from './free-port.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The tier against a Redis Cluster (`npm test` runs it): REDIS_URL is then one seed node. */
export const REDIS_CLUSTER = process.env.REDIS_CLUSTER === 'true';
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CORPUS = fileURLToPath(new URL('../../shared/corpus/docx/', import.meta.url));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});
/** Registers teardown for something a test made by hand. */
export const onCleanup = (fn: () => Promise<unknown> | unknown): void => {
  cleanups.push(fn);
};

export const uniquePrefix = (name: string): string => `test:${name}:${randomBytes(4).toString('hex')}:`;

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestServer {
  url: string;
  app: App;
  instance: string;
  close(): Promise<void>;
}

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A server built by `createApp` in this process, on a free port, on the shared Redis. */
export async function startServer(
  prefix: string,
  options: {
    instance?: string;
    env?: Record<string, string>;
    objectsDir?: string;
    objects?: ObjectStore;
  } = {},
): Promise<TestServer> {
  const instance = options.instance ?? `test-${randomBytes(3).toString('hex')}`;
  const config = loadConfig({
    REDIS_URL,
    REDIS_CLUSTER: String(REDIS_CLUSTER),
    REDIS_KEY_PREFIX: prefix,
    INSTANCE_ID: instance,
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const settings = { url: config.redis.url, instance, cluster: config.redis.cluster };
  const redis = {
    commands: createRedis(settings, 'commands', silent),
    subscriber: createRedis(settings, 'subscriber', silent),
    adapterPub: createRedis(settings, 'adapter-pub', silent),
    adapterSub: createRedis(settings, 'adapter-sub', silent),
    queue: createRedis(settings, 'queue', silent),
  };
  await Promise.all(Object.values(redis).map((client) => waitReady(client)));
  const objects =
    options.objects ??
    new FileObjectStore(options.objectsDir ?? `${ROOT}.data/test-objects/${prefix.replaceAll(':', '_')}`);
  const app = createApp({
    config,
    logger: silent,
    metrics: createMetrics(instance),
    objects,
    redis,
    version: 'test',
  });
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  const { port } = app.http.address() as AddressInfo;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.drain(0);
    await Promise.all(Object.values(redis).map((client) => closeRedis(client)));
  };
  cleanups.push(close);
  return { url: `http://127.0.0.1:${port}`, app, instance, close };
}

/**
 * A client of the test Redis (a `Cluster` client in the cluster tier) for tests that read or
 * write keys themselves; closed after the test file.
 */
export function testRedis(role: RedisRole = 'commands'): Redis {
  const redis = createRedis(
    { url: REDIS_URL, cluster: REDIS_CLUSTER, instance: `test-${randomBytes(3).toString('hex')}` },
    role,
    silent,
  );
  cleanups.push(() => redis.disconnect());
  return redis;
}

/** Deletes every key under `prefix` after the test file. */
export function cleanupKeys(prefix: string): void {
  cleanups.push(async () => {
    const redis = testRedis();
    await waitReady(redis);
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
}

export async function session(
  url: string,
  name: string,
): Promise<{ user: { id: string; name: string }; token: string }> {
  const res = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 200) throw new Error(`session failed: ${res.status}`);
  return (await res.json()) as { user: { id: string; name: string }; token: string };
}

export async function upload(
  url: string,
  token: string,
  file: Uint8Array,
  fields: Record<string, string> = {},
  name = 'report.docx',
): Promise<Response> {
  const form = new FormData();
  form.set('file', new Blob([file]), name);
  for (const [key, value] of Object.entries(fields)) form.set(key, value);
  return fetch(`${url}/api/reviews`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
}

export async function createReview(
  url: string,
  token: string,
  file: Uint8Array = corpus('pandoc-headers.docx'),
) {
  const res = await upload(url, token, file);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { review: { id: string; sections: { id: string; title: string }[] } }).review;
}

export const corpus = (name: string): Buffer => readFileSync(`${CORPUS}${name}`);

/** Someone signed in: their user and bearer token, as `session` gives them. */
export type Person = Awaited<ReturnType<typeof session>>;

/**
 * The start most integration tests share: keys under a fresh prefix (deleted after the file), an
 * in-process server on them (`startServer` options), and the owner ("Olga" unless named) signed
 * in there with a review of `sections` (the default corpus document when none are given);
 * `file` is the .docx that was uploaded.
 */
export async function serverWithReview(
  name: string,
  sections?: Parameters<typeof makeDocx>[0],
  options: Parameters<typeof startServer>[1] & { owner?: string } = {},
) {
  const prefix = uniquePrefix(name);
  cleanupKeys(prefix);
  const { owner: ownerName = 'Olga', ...serverOptions } = options;
  const server = await startServer(prefix, serverOptions);
  const owner = await session(server.url, ownerName);
  const file = sections ? await makeDocx(sections) : corpus('pandoc-headers.docx');
  const review = await createReview(server.url, owner.token, file);
  return { prefix, server, owner, review, file };
}

/**
 * The owner creates an invite link to the review with `role` on `url`, and `person` accepts it on
 * `acceptUrl` (the same server unless given: any instance serves any review). Fails the test
 * unless the accept answers 200.
 */
export async function invite(
  url: string,
  owner: Person,
  person: Person,
  reviewId: string,
  role: string,
  acceptUrl = url,
) {
  const created = await api(url, owner.token, `/api/reviews/${reviewId}/invites`, {
    method: 'POST',
    body: JSON.stringify({ role }),
  });
  const { token } = (await created.json()) as { token: string };
  const accepted = await api(acceptUrl, person.token, '/api/invites/accept', {
    method: 'POST',
    body: JSON.stringify({ token }),
  });
  if (accepted.status !== 200)
    throw new Error(`invite not accepted: ${accepted.status} ${await accepted.text()}`);
}

/**
 * `admin` creates a workspace named `name` on `url`; each of `members` accepts a member invite on
 * `acceptUrl` (the same server unless given). Resolves with the workspace's id; fails the test
 * unless every step answers as it should.
 */
export async function workspaceWith(
  url: string,
  admin: Person,
  name: string,
  members: Person[],
  acceptUrl = url,
): Promise<string> {
  const created = await api(url, admin.token, '/api/workspaces', {
    method: 'POST',
    body: JSON.stringify({ name }),
  });
  if (created.status !== 201)
    throw new Error(`workspace not created: ${created.status} ${await created.text()}`);
  const workspaceId = ((await created.json()) as { workspace: { id: string } }).workspace.id;
  for (const member of members) {
    const link = await api(url, admin.token, `/api/workspaces/${workspaceId}/invites`, {
      method: 'POST',
      body: JSON.stringify({ role: 'member' }),
    });
    const { token } = (await link.json()) as { token: string };
    const accepted = await api(acceptUrl, member.token, '/api/invites/accept', {
      method: 'POST',
      body: JSON.stringify({ token }),
    });
    if (accepted.status !== 200)
      throw new Error(`workspace invite not accepted: ${accepted.status} ${await accepted.text()}`);
  }
  return workspaceId;
}

export async function api(
  url: string,
  token: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  });
}

/** A connected socket.io-client on the websocket transport, reconnecting like the web app. */
export async function connect(
  url: string,
  token: string,
  options: { reconnection?: boolean } = {},
): Promise<ClientSocket> {
  const socket: ClientSocket = ioClient(url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    forceNew: true,
  });
  cleanups.push(() => socket.disconnect());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Emits with an ack and resolves with the ack's response (or fails after `timeoutMs`). */
export function call(
  socket: ClientSocket,
  event: string,
  payload: unknown,
  timeoutMs = 10_000,
): Promise<any> {
  return (socket as unknown as Socket).timeout(timeoutMs).emitWithAck(event, payload);
}

/**
 * Someone who keeps adding feedback to one section until `stop()` (a review under steady writes,
 * as through a failover). `written` counts the acknowledged items; a rate-limited add waits 50 ms
 * and is tried again. Any other refusal (or an ack that never comes) ends the loop, and
 * `atLeast(n)` (for `waitFor`) and `stop()` throw it: the wait fails at once, naming the refusal,
 * instead of running out its time.
 */
export function keepAddingFeedback(socket: ClientSocket, reviewId: string, sectionId: string) {
  let stopped = false;
  const producer = {
    written: 0,
    failure: undefined as Error | undefined,
    atLeast(count: number): boolean {
      if (producer.failure) throw producer.failure;
      return producer.written >= count;
    },
    async stop(): Promise<void> {
      stopped = true;
      await loop;
      if (producer.failure) throw producer.failure;
    },
  };
  const loop = (async () => {
    while (!stopped) {
      const ack = await call(socket, 'feedback:add', {
        reviewId,
        sectionId,
        type: 'suggestion',
        category: 'Clarity',
        description: `point ${producer.written}`,
      });
      if (ack.ok) producer.written += 1;
      else if (ack.error.code === 'rate_limited') await new Promise((r) => setTimeout(r, 50));
      else throw new Error(`feedback:add refused: ${JSON.stringify(ack.error)}`);
    }
  })().catch((error: unknown) => {
    producer.failure = error instanceof Error ? error : new Error(String(error));
  });
  return producer;
}

/** Waits until `check` passes, re-checking whenever `socket` receives anything; never sleeps blindly. */
export function waitFor<T>(
  check: () => T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      let value: T | undefined | false;
      try {
        value = check();
      } catch (error) {
        reject(error);
        return;
      }
      if (value) {
        resolve(value);
        return;
      }
      if (Date.now() - started > timeoutMs) {
        reject(new Error(`timed out waiting for ${what}`));
        return;
      }
      setTimeout(tick, 10);
    };
    tick();
  });
}

/**
 * What a client has of one review: the snapshot's `seq`, then every event in order, ignoring
 * duplicates and closing gaps with `review:join {since}` exactly as the contract tells clients to.
 */
export class ReviewFeed {
  readonly events: ReviewEvent[] = [];
  seq = 0;
  gapsSeen = 0;
  duplicatesSeen = 0;
  firstLive?: number;
  private socket: ClientSocket;
  private readonly reviewId: string;
  private catchingUp = false;

  constructor(socket: ClientSocket, reviewId: string) {
    this.socket = socket;
    this.reviewId = reviewId;
    this.attach(socket);
  }

  private attach(socket: ClientSocket): void {
    socket.on('review:event', (event) => {
      if (event.reviewId !== this.reviewId || this.catchingUp) return;
      this.firstLive ??= event.seq;
      this.apply(event);
    });
  }

  private apply(event: ReviewEvent): void {
    if (event.seq <= this.seq) {
      this.duplicatesSeen += 1;
      return;
    }
    if (event.seq !== this.seq + 1) {
      this.gapsSeen += 1;
      void this.catchUp();
      return;
    }
    this.events.push(event);
    this.seq = event.seq;
  }

  async join(): Promise<any> {
    const response = await call(this.socket, 'review:join', { reviewId: this.reviewId });
    if (!response.ok) throw new Error(`join failed: ${JSON.stringify(response.error)}`);
    this.seq = response.snapshot.seq;
    return response.snapshot;
  }

  /** Rejoins after a reconnect (possibly on another socket) with `since`. */
  async catchUp(socket: ClientSocket = this.socket): Promise<void> {
    if (socket !== this.socket) {
      this.socket = socket;
      this.attach(socket);
    }
    this.catchingUp = true;
    try {
      const response = await call(socket, 'review:join', { reviewId: this.reviewId, since: this.seq });
      if (!response.ok) throw new Error(`rejoin failed: ${JSON.stringify(response.error)}`);
      if (response.reset) throw new Error('log no longer reaches back');
      for (const event of response.events as ReviewEvent[]) this.apply(event);
    } finally {
      this.catchingUp = false;
    }
  }

  seqs(): number[] {
    return this.events.map((event) => event.seq);
  }
}

/** A real server or worker process (for kill -9 and SIGTERM tests), run from TypeScript source with tsx. */
export interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function spawnProcess(entry: 'server' | 'worker', env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', `${entry}/src/main.ts`], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return { proc, output: () => out, exited };
}

export async function waitHealthy(url: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const ok = await fetch(`${url}/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become ready`);
}

/** A small .docx with known text: headings, paragraphs and a table. */
export async function makeDocx(
  sections: { title: string; paragraphs: string[]; table?: string[][] }[],
): Promise<Buffer> {
  const children: (Paragraph | Table)[] = [];
  for (const section of sections) {
    children.push(new Paragraph({ text: section.title, heading: HeadingLevel.HEADING_1 }));
    for (const text of section.paragraphs) children.push(new Paragraph({ children: [new TextRun(text)] }));
    if (section.table) {
      children.push(
        new Table({
          rows: section.table.map(
            (cells) =>
              new TableRow({
                children: cells.map((text) => new TableCell({ children: [new Paragraph(text)] })),
              }),
          ),
        }),
      );
    }
  }
  return Packer.toBuffer(new Document({ sections: [{ children }] }));
}

export { freePort };

/** A server process on free ports; resolves once it is ready. */
export async function spawnServer(prefix: string, instance: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawnProcess('server', {
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    REDIS_KEY_PREFIX: prefix,
    INSTANCE_ID: instance,
    STORAGE_URL: `file:.data/test-objects/${prefix.replaceAll(':', '_')}`,
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url);
  } catch (error) {
    throw new Error(`${instance} did not start: ${child.output()}`, { cause: error });
  }
  return { ...child, url, metricsUrl: `http://127.0.0.1:${metricsPort}` };
}

/** A real worker (BullMQ on the shared Redis) in this process, with the given provider. */
export async function startWorker(
  prefix: string,
  provider: import('../worker/src/ai/provider.ts').AiProvider,
  env: Record<string, string> = {},
  objects?: ObjectStore,
) {
  const { createWorker } = await import('../worker/src/app.ts');
  const { loadConfig: loadWorkerConfig } = await import('../worker/src/config.ts');
  const instance = `test-worker-${randomBytes(3).toString('hex')}`;
  const config = loadWorkerConfig({
    REDIS_URL,
    REDIS_CLUSTER: String(REDIS_CLUSTER),
    REDIS_KEY_PREFIX: prefix,
    INSTANCE_ID: instance,
    AI_PROVIDER: provider.name,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const settings = { url: REDIS_URL, instance, cluster: REDIS_CLUSTER };
  const redis = {
    commands: createRedis(settings, 'commands', silent),
    blocking: createRedis(settings, 'worker', silent),
    control: createRedis(settings, 'subscriber', silent),
  };
  await Promise.all(Object.values(redis).map((client) => waitReady(client)));
  const app = await createWorker({
    config,
    logger: silent,
    provider,
    objects: objects ?? new FileObjectStore(`${ROOT}.data/test-objects/${prefix.replaceAll(':', '_')}`),
    redis,
    version: 'test',
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.close();
    await Promise.all(Object.values(redis).map((client) => closeRedis(client)));
  };
  cleanups.push(close);
  return { app, close };
}

/** Every event a socket receives for any review, with the time it arrived. */
export function recordEvents(socket: ClientSocket): { event: ReviewEvent; at: number }[] {
  const seen: { event: ReviewEvent; at: number }[] = [];
  socket.on('review:event', (event) => seen.push({ event, at: Date.now() }));
  return seen;
}
