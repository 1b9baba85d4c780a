/**
 * What the benchmarks read from the machine: a process's CPU seconds, the load average, whether
 * load generator and servers can be pinned to separate CPUs, and a Redis to run against.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { freePort, REDIS_URL } from './spawn.ts';

const TICK = 100; // jiffies per second (Linux USER_HZ)

/** CPU seconds (user + system, every thread) a process has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

export const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Load generator on CPU 0, servers on CPU 1, when there are two CPUs and taskset. */
export const PIN = cpus().length >= 2 && hasTaskset();
export const SERVER_CPUS = PIN ? '1' : undefined;

/** Pins this process (the load generator) and its threads to CPU 0, when pinning. */
export function pinLoadGenerator(): void {
  if (PIN) execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
}

/** Redis at REDIS_URL, or one started here (on the load generator's CPU) when nothing answers. */
export async function redisUrl(): Promise<{ url: string; proc?: ChildProcess }> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  const up = await probe.connect().then(
    () => probe.ping().then(() => true),
    () => false,
  );
  probe.disconnect();
  if (up) return { url: REDIS_URL };
  const port = await freePort();
  const args = ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'];
  const proc = PIN ? spawn('taskset', ['-c', '0', 'redis-server', ...args]) : spawn('redis-server', args);
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', () => {});
  for (let i = 0; i < 100; i += 1) {
    if (
      await client.connect().then(
        () => true,
        () => false,
      )
    )
      break;
    await sleep(100);
  }
  client.disconnect();
  return { url, proc };
}

/**
 * A benched Prism server's environment: hundreds of people from this one address, signing with
 * one secret so a session made on one server is good on the others, in production mode.
 */
export const benchPrismEnv = (redisUrl: string, secret: string): Record<string, string> => ({
  REDIS_URL: redisUrl,
  RATE_LIMIT_SESSIONS_PER_IP: '1000000',
  RATE_LIMIT_UPLOADS_PER_IP: '1000000',
  RATE_LIMIT_INVITES_PER_IP: '1000000',
  NODE_ENV: 'production',
  SESSION_SECRET: secret,
  WEB_DIR: '/nonexistent',
});
