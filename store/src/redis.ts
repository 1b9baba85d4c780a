/**
 * Redis connections by role. Every connection is named (CLIENT SETNAME shows who is who) and has
 * an `error` listener, so a Redis restart is logged and retried instead of crashing the process.
 *
 * With `cluster` (REDIS_CLUSTER=true) every role is an ioredis `Cluster` client seeded from the one
 * node `url` names (ElastiCache cluster mode, MemoryDB, or `redis-server --cluster-enabled yes`).
 * It is typed as `Redis`: Prism only sends commands whose keys share one hash slot, which a
 * `Cluster` client routes like a single node; code that must differ asks `isCluster`.
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

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
  /** `url` is one seed node of a Redis Cluster (REDIS_CLUSTER=true). */
  cluster?: boolean | undefined;
}

/** True for a Redis Cluster client (review channels then use sharded pub/sub). */
export const isCluster = (client: Redis): boolean => client.isCluster === true;

/**
 * BullMQ's key prefix. On a cluster every key of a queue must share one slot, so the prefix is a
 * hash tag as BullMQ documents (`{prism:bull}`); standalone keeps `prism:bull`.
 */
export const queuePrefix = (prefix: string, cluster: boolean): string =>
  cluster ? `{${prefix}bull}` : `${prefix}bull`;

/** The seed node and credentials of a `redis://` / `rediss://` URL, for the cluster client. */
function seedNode(url: string): {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
} {
  const parsed = new URL(url);
  const seed: { host: string; port: number; tls: boolean; username?: string; password?: string } = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(parsed.port || 6379),
    tls: parsed.protocol === 'rediss:',
  };
  if (parsed.username) seed.username = decodeURIComponent(parsed.username);
  if (parsed.password) seed.password = decodeURIComponent(parsed.password);
  return seed;
}

/** How often a Cluster subscriber re-reads the slot map (it subscribes again where slots moved). */
export const SUBSCRIBER_SLOTS_REFRESH_MS = 3000;

function createCluster(settings: RedisSettings, role: RedisRole, base: RedisOptions): Redis {
  const seed = seedNode(settings.url);
  const subscribes = role === 'subscriber' || role === 'adapter-sub';
  const redisOptions: RedisOptions = {
    connectionName: base.connectionName,
    maxRetriesPerRequest: base.maxRetriesPerRequest,
  };
  if (seed.username) redisOptions.username = seed.username;
  const password = settings.password ?? seed.password;
  if (password) redisOptions.password = password;
  // ElastiCache and MemoryDB serve TLS under the configuration endpoint's name.
  if (seed.tls) redisOptions.tls = { servername: seed.host };
  const options: ClusterOptions = {
    redisOptions,
    enableOfflineQueue: base.enableOfflineQueue ?? true,
    clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
    // A failover: the old master refuses or vanishes until the replica takes its slots (about a
    // second with CLUSTER FAILOVER); commands wait and follow the new owner instead of failing.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 64,
    // Sharded pub/sub (SSUBSCRIBE) needs one subscriber connection per master.
    shardedSubscribers: subscribes,
    slotsRefreshTimeout: 2000,
  };
  // At a failover the old master drops its sharded subscriptions, and ioredis subscribes again on
  // the new owner only when a slot refresh sees the new map. The refresh it makes at once can come
  // before the replica took over and see the old map; then nothing would try again and this
  // subscriber would stay deaf to the review for good. Refreshing every few seconds ends that.
  if (subscribes) options.slotsRefreshInterval = SUBSCRIBER_SLOTS_REFRESH_MS;
  // TLS certificates name the configuration endpoint, not the nodes' IPs.
  if (seed.tls) options.dnsLookup = (address, callback) => callback(null, address);
  return new Cluster([{ host: seed.host, port: seed.port }], options) as unknown as Redis;
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
  const client = settings.cluster ? createCluster(settings, role, options) : new Redis(settings.url, options);
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

/**
 * A new connection like `client` with `options` changed (e.g. a blocking connection for BullMQ's
 * QueueEvents); for a cluster client, a cluster client with those options on every node.
 */
export function duplicateRedis(client: Redis, options: RedisOptions): Redis {
  if (!isCluster(client)) return client.duplicate(options);
  const cluster = client as unknown as Cluster;
  const { enableOfflineQueue, ...redisOptions } = options;
  return cluster.duplicate([], {
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    redisOptions: { ...cluster.options.redisOptions, ...redisOptions },
  }) as unknown as Redis;
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

/** The nodes that hold keys: every master of a cluster, or the one server. */
const keyNodes = (client: Redis): Redis[] =>
  isCluster(client) ? (client as unknown as Cluster).nodes('master') : [client];

/** Each batch of one node's keys matching `pattern` (SCAN to the end). */
async function* scanNode(node: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** Every key matching `pattern`; on a cluster, on every master. */
export async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of keyNodes(client)) for await (const keys of scanNode(node, pattern)) found.push(...keys);
  return found;
}

/**
 * Deletes every key under `prefix` (tests and benches clean up their own keys this way). On a
 * cluster every master is scanned, and each key is unlinked on its own (keys of many slots).
 */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  const cluster = isCluster(client);
  await Promise.all(
    keyNodes(client).map(async (node) => {
      for await (const keys of scanNode(node, `${prefix}*`)) {
        if (!cluster) {
          await node.unlink(...keys);
          continue;
        }
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        await pipeline.exec();
      }
    }),
  );
}
