/**
 * Worker configuration: parsed once from the environment (CONTRACT section 2). AI settings are
 * read here and nowhere else: servers never talk to a model.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
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
import { defaultModels } from './ai/models.ts';
import { type RetentionSettings, retentionSettings } from './jobs/retention.ts';

const Env = z.object({
  ...sharedEnv,
  /** `bedrock` or `rules`. Default: bedrock when AWS credentials resolve, else rules. */
  AI_PROVIDER: optional(z.enum(['bedrock', 'rules'])),
  /** Comma-separated model / inference-profile ids, tried in order. */
  BEDROCK_MODELS: optional(z.string()),
  /** Another Bedrock runtime endpoint (VPC endpoint, or a local stand-in in tests). */
  BEDROCK_ENDPOINT_URL: optional(z.url()),
  /** Findings below this confidence are not shown. Default 0.8. */
  MIN_CONFIDENCE: optional(z.coerce.number().min(0).max(1)).default(0.8),
  /**
   * At most this many findings per section (asked of the model, and enforced when they arrive),
   * and per whole-document pass. Default 8.
   */
  MAX_FINDINGS_PER_SECTION: optional(z.coerce.number().int().min(1).max(50)).default(8),
  /** A Bedrock stream silent this long fails. Default 60000. */
  BEDROCK_INACTIVITY_TIMEOUT_MS: optional(z.coerce.number().int().min(100)).default(60_000),
  // Where the AWS SDK would find credentials; only looked at to choose the default provider.
  AWS_ACCESS_KEY_ID: optional(z.string()),
  AWS_PROFILE: optional(z.string()),
  AWS_WEB_IDENTITY_TOKEN_FILE: optional(z.string()),
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: optional(z.string()),
  AWS_CONTAINER_CREDENTIALS_FULL_URI: optional(z.string()),
  HOME: optional(z.string()),
  /** Jobs at once per worker process. Default 8. */
  WORKER_CONCURRENCY: optional(z.coerce.number().int().min(1).max(256)).default(8),
  /** The worker's /health, /ready and /metrics. Default 3001. */
  WORKER_HEALTH_PORT: optional(port).default(3001),
  /** Publish Prism/QueueDepth with this `Deployment` dimension (the stack sets its name). */
  CLOUDWATCH_DEPLOYMENT: optional(z.string().trim().min(1).max(255)),
  /** Another CloudWatch endpoint (a VPC endpoint, or a local stand-in in tests). */
  CLOUDWATCH_ENDPOINT_URL: optional(z.url()),
  /** How often the queue depth is published. Default 60000. */
  QUEUE_METRIC_INTERVAL_MS: optional(z.coerce.number().int().min(100)).default(60_000),
  /** USD per million tokens by model, JSON over the built-in table (core/src/cost.ts). */
  BEDROCK_PRICES: pricesEnv,
});

export interface WorkerConfig {
  env: 'development' | 'production' | 'test';
  redis: { url: string; password?: string | undefined; prefix: string; cluster: boolean };
  storageUrl: string;
  s3EndpointUrl?: string | undefined;
  awsRegion: string;
  aiProvider: 'bedrock' | 'rules';
  /** Why that provider: set explicitly, or chosen by whether AWS credentials are configured. */
  aiProviderReason: string;
  minConfidence: number;
  /** Findings shown per section at most (MAX_FINDINGS_PER_SECTION). */
  maxFindingsPerSection: number;
  bedrockInactivityTimeoutMs: number;
  bedrockModels: string[];
  bedrockEndpointUrl?: string | undefined;
  reviewTokenBudget: number;
  /** What model tokens cost (BEDROCK_PRICES over the built-in table). */
  prices: PriceTable;
  concurrency: number;
  healthPort: number;
  /** Where the queue depth goes; unset: nothing calls CloudWatch. */
  cloudwatch?: { deployment: string; endpointUrl?: string | undefined; intervalMs: number } | undefined;
  drainTimeoutMs: number;
  /** Idle archiving and retention: REVIEW_ARCHIVE_AFTER_DAYS, REVIEW_RETENTION_DAYS. */
  retention: RetentionSettings;
  logLevel: string;
  instance: string;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = Env.safeParse(source);
  if (!parsed.success) throw new ConfigError(configProblems(parsed.error));
  const env = parsed.data;
  return {
    env: env.NODE_ENV ?? 'development',
    redis: {
      url: env.REDIS_URL,
      password: env.REDIS_PASSWORD,
      prefix: env.REDIS_KEY_PREFIX,
      cluster: env.REDIS_CLUSTER === 'true',
    },
    storageUrl: env.STORAGE_URL,
    s3EndpointUrl: env.S3_ENDPOINT_URL,
    awsRegion: env.AWS_REGION,
    ...chooseProvider(env),
    minConfidence: env.MIN_CONFIDENCE,
    maxFindingsPerSection: env.MAX_FINDINGS_PER_SECTION,
    bedrockInactivityTimeoutMs: env.BEDROCK_INACTIVITY_TIMEOUT_MS,
    bedrockModels: env.BEDROCK_MODELS
      ? env.BEDROCK_MODELS.split(',')
          .map((id) => id.trim())
          .filter(Boolean)
      : defaultModels(env.AWS_REGION),
    bedrockEndpointUrl: env.BEDROCK_ENDPOINT_URL,
    reviewTokenBudget: env.REVIEW_TOKEN_BUDGET,
    prices: env.BEDROCK_PRICES,
    concurrency: env.WORKER_CONCURRENCY,
    healthPort: env.WORKER_HEALTH_PORT,
    cloudwatch: env.CLOUDWATCH_DEPLOYMENT
      ? {
          deployment: env.CLOUDWATCH_DEPLOYMENT,
          endpointUrl: env.CLOUDWATCH_ENDPOINT_URL,
          intervalMs: env.QUEUE_METRIC_INTERVAL_MS,
        }
      : undefined,
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
    retention: retentionSettings(source),
    logLevel: env.LOG_LEVEL,
    instance: env.INSTANCE_ID ?? `${hostname()}-worker-${process.pid}`,
  };
}

/**
 * `bedrock` when AWS credentials are configured, else `rules`. Decided from where the SDK would
 * look (environment, profile files, the container credentials endpoint) without calling anything:
 * probing the instance metadata service from a laptop would hang or reach the network.
 */
function chooseProvider(env: z.infer<typeof Env>): {
  aiProvider: 'bedrock' | 'rules';
  aiProviderReason: string;
} {
  if (env.AI_PROVIDER) return { aiProvider: env.AI_PROVIDER, aiProviderReason: 'AI_PROVIDER' };
  const configured =
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
    (env.HOME && existsSync(join(env.HOME, '.aws', 'credentials')));
  return configured
    ? { aiProvider: 'bedrock', aiProviderReason: 'AWS credentials are configured' }
    : { aiProvider: 'rules', aiProviderReason: 'no AWS credentials are configured' };
}
