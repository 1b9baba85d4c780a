/// <reference types="node" />
/**
 * A small multi-instance Prism for browser tests: N server processes (each on its own port, with
 * PUBLIC_URL set to that port so a browser there passes the websocket Origin check) and one worker
 * with the rules provider, sharing one Redis (under a unique key prefix) and one object store.
 * Runs what `npm run build` produced (server/dist, worker/dist, web/build); never builds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/free-port.ts';

export const REPO = resolve(import.meta.dirname, '../..');
// The same overrides as scripts/cluster.sh.
const SERVER_ENTRY = resolve(REPO, process.env.PRISM_SERVER_ENTRY || 'server/dist/main.js');
const WORKER_ENTRY = resolve(REPO, process.env.PRISM_WORKER_ENTRY || 'worker/dist/main.js');
const WEB_DIR = join(REPO, 'web/build');

export { freePort };

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function answers(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return response.ok;
}

/** Sends one command to Redis (RESP) and resolves with the raw reply. */
function redisCommand(url: URL, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const socket = createConnection({ host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) });
    let reply = '';
    const auth = url.password ? [['AUTH', decodeURIComponent(url.password)]] : [];
    const encode = (parts: string[]) =>
      `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
    socket.setTimeout(3000, () => socket.destroy(new Error('redis timeout')));
    socket.on('error', fail);
    socket.on('connect', () => socket.write([...auth, args].map(encode).join('')));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // One reply per command sent; a complete reply ends with CRLF. Good enough for PING/SCAN/DEL.
      const expected = auth.length + 1;
      const lines = reply.split('\r\n');
      if (reply.endsWith('\r\n') && countReplies(lines) >= expected) {
        socket.end();
        done(reply);
      }
    });
  });
}

/** How many complete top-level RESP replies `lines` hold (simple: +, -, :, $, * of bulk strings). */
function countReplies(lines: string[]): number {
  let count = 0;
  let i = 0;
  const skipValue = (): boolean => {
    const line = lines[i];
    if (line === undefined || line === '') return false;
    i += 1;
    const kind = line[0];
    if (kind === '$') {
      if (line === '$-1') return true;
      if (lines[i] === undefined) return false;
      i += 1;
      return true;
    }
    if (kind === '*') {
      const n = Number(line.slice(1));
      for (let k = 0; k < n; k += 1) if (!skipValue()) return false;
      return true;
    }
    return true;
  };
  while (i < lines.length && lines[i] !== '') {
    if (!skipValue()) break;
    count += 1;
  }
  return count;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
}

export interface ServerInstance {
  name: string;
  port: number;
  metricsPort: number;
  url: string;
  proc: Proc | null;
}

export class Topology {
  readonly dir = mkdtempSync(join(tmpdir(), 'prism-e2e-'));
  readonly prefix = `e2e${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`;
  redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  servers: ServerInstance[] = [];
  /** Extra environment for every server this topology starts (e.g. an identity provider's OIDC_*). */
  serverEnv: Record<string, string> = {};
  worker: Proc | null = null;
  #redis: Proc | null = null;
  #procs = new Set<Proc>();

  constructor() {
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
  }

  static check(): void {
    for (const file of [SERVER_ENTRY, WORKER_ENTRY, join(WEB_DIR, 'index.html')]) {
      if (!existsSync(file))
        throw new Error(`${file} is missing: run \`npm run build\` at the repository root first.`);
    }
  }

  #spawn(name: string, entry: string, env: Record<string, string>): Proc {
    const log = join(this.dir, 'logs', `${name}.log`);
    const out = createWriteStream(log, { flags: 'a' });
    const child = spawn(process.execPath, [entry], {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const proc = { name, child, log };
    this.#procs.add(proc);
    child.on('exit', () => this.#procs.delete(proc));
    return proc;
  }

  async #ensureRedis(): Promise<void> {
    const url = new URL(this.redisUrl);
    const ping = await redisCommand(url, ['PING']).catch(() => '');
    if (ping.includes('PONG')) return;
    if (process.env.REDIS_URL) throw new Error(`no Redis answers at REDIS_URL=${this.redisUrl}`);
    // Nothing at the default address: run a private Redis for this test.
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const proc = { name: 'redis', child, log: '' };
    this.#redis = proc;
    this.#procs.add(proc);
    child.on('exit', () => this.#procs.delete(proc));
    child.on('error', () => {});
    this.redisUrl = `redis://127.0.0.1:${port}`;
    await waitFor(
      'a private redis-server',
      async () => (await redisCommand(new URL(this.redisUrl), ['PING'])).includes('PONG'),
      10_000,
    );
  }

  #common(): Record<string, string> {
    return {
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: this.prefix,
      STORAGE_URL: `file:${join(this.dir, 'objects')}`,
      NODE_ENV: 'development',
      DRAIN_TIMEOUT_MS: '2000',
    };
  }

  async start(servers = 2): Promise<void> {
    Topology.check();
    await this.#ensureRedis();
    for (let n = 1; n <= servers; n += 1) {
      const port = await freePort();
      const metricsPort = await freePort();
      this.servers.push({
        name: `server-${n}`,
        port,
        metricsPort,
        url: `http://127.0.0.1:${port}`,
        proc: null,
      });
    }
    const healthPort = await freePort();
    this.worker = this.#spawn('worker', WORKER_ENTRY, {
      ...this.#common(),
      AI_PROVIDER: 'rules',
      WORKER_HEALTH_PORT: String(healthPort),
      WORKER_CONCURRENCY: '4',
      INSTANCE_ID: 'worker-1',
    });
    await Promise.all(this.servers.map((server) => this.startServer(server)));
    await waitFor('the worker', () => answers(`http://127.0.0.1:${healthPort}/health`), 30_000).catch(
      (error) => {
        throw this.#withLog(error, this.worker);
      },
    );
  }

  async startServer(server: ServerInstance): Promise<void> {
    server.proc = this.#spawn(server.name, SERVER_ENTRY, {
      ...this.#common(),
      PORT: String(server.port),
      METRICS_PORT: String(server.metricsPort),
      PUBLIC_URL: server.url,
      INSTANCE_ID: server.name,
      WEB_DIR,
      ...this.serverEnv,
    });
    await waitFor(
      `${server.name} on port ${server.port}`,
      () => answers(`${server.url}/ready`),
      30_000,
    ).catch((error) => {
      throw this.#withLog(error, server.proc);
    });
  }

  /** kill -9: the server vanishes without closing anything. */
  async kill(server: ServerInstance): Promise<void> {
    const proc = server.proc;
    if (!proc) return;
    const exited = new Promise((done) => proc.child.once('exit', done));
    proc.child.kill('SIGKILL');
    await exited;
    server.proc = null;
  }

  #withLog(error: unknown, proc: Proc | null): Error {
    const tail =
      proc?.log && existsSync(proc.log)
        ? readFileSync(proc.log, 'utf8').split('\n').slice(-30).join('\n')
        : '';
    return new Error(
      `${error instanceof Error ? error.message : String(error)}${tail ? `\n--- ${proc?.name} log ---\n${tail}` : ''}`,
    );
  }

  /** Stops every process this topology started, drops its Redis keys and its temporary folder. */
  async stop(): Promise<void> {
    const procs = [...this.#procs].filter((proc) => proc !== this.#redis);
    await Promise.all(procs.map((proc) => stopProcess(proc.child)));
    if (!this.#redis) await this.#dropKeys().catch(() => {});
    if (this.#redis) await stopProcess(this.#redis.child);
    if (!process.env.E2E_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  async #dropKeys(): Promise<void> {
    const url = new URL(this.redisUrl);
    let cursor = '0';
    do {
      const reply = await redisCommand(url, ['SCAN', cursor, 'MATCH', `${this.prefix}*`, 'COUNT', '1000']);
      const lines = reply.split('\r\n').slice(auth(url));
      cursor = lines[2] ?? '0';
      const keys: string[] = [];
      for (let i = 5; i < lines.length; i += 2) if (lines[i]) keys.push(lines[i]!);
      if (keys.length) await redisCommand(url, ['DEL', ...keys]);
    } while (cursor !== '0');
  }

  logs(): string {
    return [...this.servers.map((s) => s.proc), this.worker]
      .filter((proc): proc is Proc => !!proc)
      .map(
        (proc) =>
          `--- ${proc.name} ---\n${existsSync(proc.log) ? readFileSync(proc.log, 'utf8').split('\n').slice(-20).join('\n') : ''}`,
      )
      .join('\n');
  }
}

const auth = (url: URL) => (url.password ? 1 : 0);

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}
