/**
 * Redis connections by role. Every connection is named (CLIENT SETNAME shows who is who) and has
 * an `error` listener, so a Redis restart is logged and retried instead of crashing the process.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole =
  | 'commands'
  | 'subscriber'
  | 'adapter-pub'
  | 'adapter-sub'
  | 'queue'
  | 'worker'
  | 'limiter';

export interface RedisSettings {
  url: string;
  password?: string | undefined;
  /** Shown in CLIENT LIST, e.g. "server-1". */
  instance: string;
}

export interface ErrorLogger {
  warn(obj: object, msg: string): void;
}

export function createRedis(settings: RedisSettings, role: RedisRole, log: ErrorLogger): Redis {
  const options: RedisOptions = {
    connectionName: `prism:${settings.instance}:${role}`,
    // BullMQ workers block on Redis and must never give up on a command; commands elsewhere fail
    // fast while Redis is away so an ack can say so instead of hanging.
    maxRetriesPerRequest: role === 'worker' || role === 'subscriber' || role === 'adapter-sub' ? null : 3,
    enableOfflineQueue: role !== 'queue',
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  if (settings.password) options.password = settings.password;
  const client = new Redis(settings.url, options);
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    // A dead Redis emits an error per retry; one line every few seconds is enough.
    const now = Date.now();
    if (now - lastLogged < 5000) return;
    lastLogged = now;
    log.warn({ err: error, role }, 'redis connection error');
  });
  return client;
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export async function waitReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/** Quits politely, and disconnects if Redis does not answer in time. */
export async function closeRedis(client: Redis, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return;
  const timer = setTimeout(() => client.disconnect(), timeoutMs);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/** Deletes every key under `prefix` (tests and benches clean up their own keys this way). */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}
