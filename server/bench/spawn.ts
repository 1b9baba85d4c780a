/**
 * How the benchmarks start what they measure: a Prism server (built, from server/dist, as
 * deployed; or from source through tsx) or the plain Socket.IO baseline (loadtest/baseline/server.mjs)
 * as a child process on free ports and its own key prefix, optionally pinned to some CPUs, and
 * resolved once it answers over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/free-port.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export { freePort };

export interface Started {
  proc: ChildProcess;
  url: string;
  port: number;
}

export interface ProcessOptions {
  /** What node runs (a script relative to the repository root, then its arguments). */
  args: string[];
  /** Added to this process's environment (with REDIS_URL and LOG_LEVEL=warn). */
  env: Record<string, string>;
  port: number;
  /** Answers 200 once the process is up: /ready (Redis and storage checked) unless said. */
  readyPath?: string;
  /** Node's own flags (--cpu-prof, --inspect, --import tsx). */
  nodeArgs?: string[];
  /** A CPU list for `taskset -c` (Linux): the process and its threads run there only. */
  cpus?: string;
  /** What the process writes to stderr: passed on as is unless a filter takes it. */
  stderr?: (text: string) => void;
}

/** Spawns `node [nodeArgs] args` from the repository root; resolves once `readyPath` answers 200. */
export async function startProcess(options: ProcessOptions): Promise<Started> {
  const node = [...(options.nodeArgs ?? []), ...options.args];
  // taskset execs node: the child's pid is node's.
  const [command, args] = options.cpus
    ? ['taskset', ['-c', options.cpus, process.execPath, ...node]]
    : [process.execPath, node];
  const proc = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL, LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'inherit', options.stderr ? 'pipe' : 'inherit'],
  });
  const filter = options.stderr;
  if (filter) proc.stderr!.on('data', (chunk: Buffer) => filter(chunk.toString()));
  const url = `http://127.0.0.1:${options.port}`;
  for (let i = 0; i < 300; i += 1) {
    if (proc.exitCode !== null) break;
    const ok = await fetch(`${url}${options.readyPath ?? '/ready'}`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return { proc, url, port: options.port };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`${options.args.join(' ')} did not become ready`);
}

export interface PrismOptions {
  /** REDIS_KEY_PREFIX: the bench's own, deleted when it ends. */
  prefix: string;
  /** INSTANCE_ID. */
  name: string;
  /** Run server/src/main.ts through tsx instead of the build in server/dist. */
  source?: boolean;
  env?: Record<string, string>;
  readyPath?: string;
  nodeArgs?: string[];
  cpus?: string;
  stderr?: (text: string) => void;
}

/** One Prism server on free ports (HTTP and metrics), objects under .data/bench-objects unless `env` says. */
export async function startPrism(options: PrismOptions): Promise<Started> {
  const port = await freePort();
  return startProcess({
    args: [options.source ? 'server/src/main.ts' : 'server/dist/main.js'],
    nodeArgs: [...(options.source ? ['--import', 'tsx'] : []), ...(options.nodeArgs ?? [])],
    env: {
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      REDIS_KEY_PREFIX: options.prefix,
      INSTANCE_ID: options.name,
      STORAGE_URL: 'file:.data/bench-objects',
      ...options.env,
    },
    port,
    ...(options.readyPath ? { readyPath: options.readyPath } : {}),
    ...(options.cpus ? { cpus: options.cpus } : {}),
    ...(options.stderr ? { stderr: options.stderr } : {}),
  });
}

/** One plain Socket.IO + Redis adapter server (the baseline) on a free port, its adapter under `prefix`. */
export async function startBaseline(options: {
  prefix: string;
  name: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  cpus?: string;
  stderr?: (text: string) => void;
}): Promise<Started> {
  const port = await freePort();
  return startProcess({
    args: ['loadtest/baseline/server.mjs'],
    env: { PORT: String(port), BASELINE_PREFIX: options.prefix, INSTANCE_ID: options.name, ...options.env },
    port,
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.cpus ? { cpus: options.cpus } : {}),
    ...(options.stderr ? { stderr: options.stderr } : {}),
  });
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`; resolves once it has exited. */
export function stopProcess(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}
