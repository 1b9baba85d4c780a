/**
 * Pieces of the environment schema every Prism process shares (CONTRACT section 2). Each process
 * composes its own schema from these and parses it once at start.
 */
import { z } from 'zod';

const blankToUndefined = (value: unknown): unknown => (value === '' ? undefined : value);

/** Empty means unset. */
export const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());

export const port = z.coerce.number().int().min(0).max(65535);

export const sharedEnv = {
  NODE_ENV: optional(z.enum(['development', 'production', 'test'])),
  /** Redis for state, queues and the adapter. Default redis://127.0.0.1:6379; rediss:// for TLS. */
  REDIS_URL: optional(z.url({ protocol: /^rediss?$/ })).default('redis://127.0.0.1:6379'),
  /** Redis auth token kept apart from the URL. */
  REDIS_PASSWORD: optional(z.string()),
  /** Prefix of every Redis key and queue, so several Prisms (or tests) share one Redis. Default "prism:". */
  REDIS_KEY_PREFIX: optional(z.string().regex(/^[\w:.-]*$/)).default('prism:'),
  /** true: REDIS_URL names one seed node of a Redis Cluster (or MemoryDB). Default false. */
  REDIS_CLUSTER: optional(z.enum(['true', 'false'])).default('false'),
  /** file:<dir> or s3://BUCKET/PREFIX. Default file:.data/objects. */
  STORAGE_URL: optional(z.string().regex(/^(file:|s3:\/\/)/, 'must start with file: or s3://')).default(
    'file:.data/objects',
  ),
  /** S3-compatible endpoint (versitygw, MinIO, a VPC endpoint). */
  S3_ENDPOINT_URL: optional(z.url()),
  /** Region for Bedrock and S3. Default eu-north-1. */
  AWS_REGION: optional(z.string()).default('eu-north-1'),
  /** Model tokens one review may spend. Default 2,000,000. */
  REVIEW_TOKEN_BUDGET: optional(z.coerce.number().int().positive()).default(2_000_000),
  /** Graceful shutdown budget after SIGTERM. Default 20000. */
  DRAIN_TIMEOUT_MS: optional(z.coerce.number().int().min(0).max(600_000)).default(20_000),
  /** pino level. Default info. */
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default('info'),
  /** Name of this process in logs, /health and Redis client names. Default: hostname-pid. */
  INSTANCE_ID: optional(z.string().max(100)),
};

/** One line per problem, as the process prints them before exiting. */
export const configProblems = (error: z.ZodError): string[] =>
  error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.problems = problems;
  }
}
