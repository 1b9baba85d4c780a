/**
 * Worker configuration: parsed once from the environment (CONTRACT section 2). AI settings are
 * read here and nowhere else: servers never talk to a model.
 */
import { hostname } from 'node:os';
import { ConfigError, configProblems, optional, port, sharedEnv } from '@prism/core';
import { z } from 'zod';

const Env = z.object({
  ...sharedEnv,
  /** `bedrock` or `rules`. Default: bedrock when AWS credentials resolve, else rules. */
  AI_PROVIDER: optional(z.enum(['bedrock', 'rules'])),
  /** Comma-separated model / inference-profile ids, tried in order. */
  BEDROCK_MODELS: optional(z.string()),
  /** Another Bedrock runtime endpoint (VPC endpoint, or a local stand-in in tests). */
  BEDROCK_ENDPOINT_URL: optional(z.url()),
  /** Jobs at once per worker process. Default 8. */
  WORKER_CONCURRENCY: optional(z.coerce.number().int().min(1).max(256)).default(8),
  /** The worker's /health, /ready and /metrics. Default 3001. */
  WORKER_HEALTH_PORT: optional(port).default(3001),
});

export interface WorkerConfig {
  env: 'development' | 'production' | 'test';
  redis: { url: string; password?: string | undefined; prefix: string };
  storageUrl: string;
  awsRegion: string;
  aiProvider?: 'bedrock' | 'rules' | undefined;
  bedrockModels: string[];
  bedrockEndpointUrl?: string | undefined;
  reviewTokenBudget: number;
  concurrency: number;
  healthPort: number;
  drainTimeoutMs: number;
  logLevel: string;
  instance: string;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = Env.safeParse(source);
  if (!parsed.success) throw new ConfigError(configProblems(parsed.error));
  const env = parsed.data;
  return {
    env: env.NODE_ENV ?? 'development',
    redis: { url: env.REDIS_URL, password: env.REDIS_PASSWORD, prefix: env.REDIS_KEY_PREFIX },
    storageUrl: env.STORAGE_URL,
    awsRegion: env.AWS_REGION,
    aiProvider: env.AI_PROVIDER,
    bedrockModels: (env.BEDROCK_MODELS ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
    bedrockEndpointUrl: env.BEDROCK_ENDPOINT_URL,
    reviewTokenBudget: env.REVIEW_TOKEN_BUDGET,
    concurrency: env.WORKER_CONCURRENCY,
    healthPort: env.WORKER_HEALTH_PORT,
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    instance: env.INSTANCE_ID ?? `${hostname()}-worker-${process.pid}`,
  };
}
