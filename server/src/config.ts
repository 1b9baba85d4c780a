/**
 * Server configuration: parsed once from the environment with zod (CONTRACT section 2). Nothing
 * else in the server reads `process.env`. Invalid configuration stops the process at start with
 * one line per problem.
 */
import { hostname } from 'node:os';
import {
  ConfigError,
  configProblems,
  optional,
  type PriceTable,
  port,
  pricesEnv,
  sharedEnv,
} from '@prism/core';
import { z } from 'zod';
import { type AuthConfig, authConfig, authEnv } from './http/oidc-config.ts';
import { DEV_SECRET, weakSecret } from './secrets.ts';

export { ConfigError };

const perMinute = optional(z.coerce.number().int().positive().max(1_000_000));

const Env = z.object({
  ...sharedEnv,
  /** Sign-in: OIDC_ISSUER, OIDC_CLIENT_ID/SECRET, OIDC_SCOPES, OIDC_PROVIDER_NAME, AUTH_GUEST (http/oidc-config.ts). */
  ...authEnv,
  /** HTTP and Socket.IO port. Default 3000. */
  PORT: optional(port).default(3000),
  /** Origin used in invite links and the websocket Origin check. Default http://localhost:$PORT. */
  PUBLIC_URL: optional(z.url({ protocol: /^https?$/ })),
  /** Trust X-Forwarded-* from the load balancer ("true", a hop count, or an address list). */
  TRUST_PROXY: optional(z.string()),
  /** Comma-separated HMAC secrets: the first signs, all verify. Required in production. */
  SESSION_SECRET: optional(z.string()),
  /** Upload limit in MB. Default 20. */
  MAX_UPLOAD_MB: optional(z.coerce.number().positive().max(1024)).default(20),
  /** Prometheus /metrics port, kept off the public port. Default 9464. */
  METRICS_PORT: optional(port).default(9464),
  /** The built web app to serve. Default: web/build beside the server package. */
  WEB_DIR: optional(z.string()),
  /**
   * Sessions (POST /api/session) one client address may create per minute, across servers. Default
   * 120: a team of 100 behind one NAT address signing in at once. Load tests from one machine raise it.
   */
  RATE_LIMIT_SESSIONS_PER_IP: perMinute.default(120),
  /** Uploads one client address may make per minute, on top of 60 per person. Default 120. */
  RATE_LIMIT_UPLOADS_PER_IP: perMinute.default(120),
  /** Invites one client address may accept per minute. Default 120. */
  RATE_LIMIT_INVITES_PER_IP: perMinute.default(120),
  /** Live sockets one person may hold across servers; a new one beyond it closes their oldest. Default 20. */
  MAX_SOCKETS_PER_USER: optional(z.coerce.number().int().positive().max(10_000)).default(20),
  /**
   * Frames a socket may have waiting to be written before this server stops queueing live events
   * for it and feeds it from the review's log at its own pace. Default 512.
   */
  SOCKET_SEND_QUEUE_LIMIT: optional(z.coerce.number().int().min(8).max(100_000)).default(512),
  /**
   * How often each server tells the others it is alive (ms); a server not heard from for three of
   * these is taken out of every room's presence (a crashed one). Default 5000.
   */
  PRESENCE_ALIVE_MS: optional(z.coerce.number().int().min(100).max(60_000)).default(5000),
  /** USD per million tokens by model, JSON over the built-in table (core/src/cost.ts): review costs. */
  BEDROCK_PRICES: pricesEnv,
  /**
   * Most sections a document may split into; more is refused at upload (`too_complex`). Default
   * 1000: the corpus's 872-page handbook makes about 600-700, and every section is an analysis job.
   */
  MAX_SECTIONS: optional(z.coerce.number().int().positive().max(100_000)).default(1000),
  /** A document (or guidelines) still being read after this many ms is refused (`too_complex`). Default 60000. */
  PARSE_TIMEOUT_MS: optional(z.coerce.number().int().positive().max(600_000)).default(60_000),
  /**
   * Heap of each parsing thread in MB; a document needing more is refused (`too_complex`). Default
   * 768: the largest text part accepted (half of MAX_UPLOAD_MB) needs about 550.
   */
  PARSE_HEAP_MB: optional(z.coerce.number().int().min(32).max(16_384)).default(768),
  /** Threads that read uploads at once; more uploads wait their turn. Default 1. */
  PARSE_WORKERS: optional(z.coerce.number().int().positive().max(32)).default(1),
});

export interface ServerConfig {
  env: 'development' | 'production' | 'test';
  port: number;
  publicUrl: string;
  publicOrigin: string;
  trustProxy: boolean | number | string | undefined;
  redis: { url: string; password?: string | undefined; prefix: string; cluster: boolean };
  sessionSecrets: string[];
  usingDevSecret: boolean;
  storageUrl: string;
  s3EndpointUrl?: string | undefined;
  awsRegion: string;
  maxUploadBytes: number;
  reviewTokenBudget: number;
  metricsPort: number;
  drainTimeoutMs: number;
  logLevel: string;
  instance: string;
  webDir?: string | undefined;
  /** Per client address, per minute, shared by every server through Redis. */
  ipLimits: { sessions: number; uploads: number; invites: number };
  maxSocketsPerUser: number;
  /** Frames queued for one socket past which it is fed from the log instead (slow readers). */
  sendQueueLimit: number;
  /** How often each server says it is alive to the others' presence (ms). */
  presenceAliveMs: number;
  /** Guest sign-in on or off, and the OpenID Connect provider when there is one. */
  auth: AuthConfig;
  /** What model tokens cost (BEDROCK_PRICES over the built-in table). */
  prices: PriceTable;
  /** How uploads are read: off the event loop, in threads with these limits (domain/ingest.ts). */
  parse: {
    maxSections: number;
    /** Largest XML part of an upload, inflated: half of MAX_UPLOAD_MB. */
    maxPartBytes: number;
    timeoutMs: number;
    heapMb: number;
    workers: number;
  };
}

function parseTrustProxy(value: string | undefined): ServerConfig['trustProxy'] {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = Env.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(configProblems(parsed.error));
  }
  const env = parsed.data;
  const mode = env.NODE_ENV ?? 'development';
  const secrets = (env.SESSION_SECRET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const problems: string[] = [];
  if (secrets.length === 0 && mode === 'production') {
    problems.push('SESSION_SECRET: required when NODE_ENV=production');
  }
  if (mode === 'production') {
    secrets.forEach((secret, i) => {
      const problem = weakSecret(
        secret,
        secrets.length > 1 ? `SESSION_SECRET (secret ${i + 1})` : 'SESSION_SECRET',
      );
      if (problem) problems.push(problem);
    });
  } else if (secrets.some((s) => s.length < 16)) {
    problems.push('SESSION_SECRET: every secret needs at least 16 characters');
  }
  const auth = authConfig(env, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  return {
    env: mode,
    port: env.PORT,
    publicUrl,
    publicOrigin: new URL(publicUrl).origin,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    redis: {
      url: env.REDIS_URL,
      password: env.REDIS_PASSWORD,
      prefix: env.REDIS_KEY_PREFIX,
      cluster: env.REDIS_CLUSTER === 'true',
    },
    sessionSecrets: secrets.length > 0 ? secrets : [DEV_SECRET],
    usingDevSecret: secrets.length === 0 || secrets.includes(DEV_SECRET),
    storageUrl: env.STORAGE_URL,
    s3EndpointUrl: env.S3_ENDPOINT_URL,
    awsRegion: env.AWS_REGION,
    maxUploadBytes: Math.round(env.MAX_UPLOAD_MB * 1024 * 1024),
    reviewTokenBudget: env.REVIEW_TOKEN_BUDGET,
    metricsPort: env.METRICS_PORT,
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    instance: env.INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    webDir: env.WEB_DIR,
    ipLimits: {
      sessions: env.RATE_LIMIT_SESSIONS_PER_IP,
      uploads: env.RATE_LIMIT_UPLOADS_PER_IP,
      invites: env.RATE_LIMIT_INVITES_PER_IP,
    },
    maxSocketsPerUser: env.MAX_SOCKETS_PER_USER,
    sendQueueLimit: env.SOCKET_SEND_QUEUE_LIMIT,
    presenceAliveMs: env.PRESENCE_ALIVE_MS,
    auth,
    prices: env.BEDROCK_PRICES,
    parse: {
      maxSections: env.MAX_SECTIONS,
      maxPartBytes: Math.round((env.MAX_UPLOAD_MB * 1024 * 1024) / 2),
      timeoutMs: env.PARSE_TIMEOUT_MS,
      heapMb: env.PARSE_HEAP_MB,
      workers: env.PARSE_WORKERS,
    },
  };
}
