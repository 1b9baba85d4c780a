/**
 * Which AI provider the worker fleet runs, as the workers announce it: a small key each worker rewrites
 * periodically with a TTL, so a fleet that is gone stops claiming a model. The room reads it to know
 * whether a model is configured (rules need no Thinking box and have no confidence).
 */
import type { AiInfo } from '@prism/core';
import type { Redis } from 'ioredis';

export const aiInfoKey = (prefix: string): string => `${prefix}ai`;

/** How long one announcement counts; workers refresh at a third of it. */
export const AI_INFO_TTL_SECONDS = 60;

/** Records what this worker runs (`provider`, and the model ids when there are some). */
export async function writeAiInfo(
  redis: Redis,
  prefix: string,
  info: AiInfo,
  ttlSeconds = AI_INFO_TTL_SECONDS,
): Promise<void> {
  await redis.set(aiInfoKey(prefix), JSON.stringify(info), 'EX', ttlSeconds);
}

const cache = new WeakMap<Redis, Map<string, { at: number; info: AiInfo | null }>>();
const CACHE_MS = 5_000;

/**
 * What the workers last announced, or null when none has within the TTL. Cached for a few seconds
 * per connection: every snapshot asks, and the answer changes only when the fleet is redeployed.
 */
export async function readAiInfo(redis: Redis, prefix: string): Promise<AiInfo | null> {
  const byPrefix = cache.get(redis) ?? new Map();
  cache.set(redis, byPrefix);
  const hit = byPrefix.get(prefix);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.info;
  const raw = await redis.get(aiInfoKey(prefix));
  let info: AiInfo | null = null;
  if (raw) {
    try {
      const parsed = JSON.parse(raw) as Partial<AiInfo>;
      if (parsed.provider === 'bedrock' || parsed.provider === 'rules') {
        info = { provider: parsed.provider };
        if (Array.isArray(parsed.models)) info.models = parsed.models.filter((m) => typeof m === 'string');
      }
    } catch {
      info = null;
    }
  }
  byPrefix.set(prefix, { at: Date.now(), info });
  return info;
}
