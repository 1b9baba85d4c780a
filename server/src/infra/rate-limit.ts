/**
 * Rate limits (CONTRACT section 4 floors): per connection at least 20 events/s sustained with
 * bursts of 100, kept in memory because a connection lives on one server; per person across all
 * their connections and servers, in Redis; uploads per person per minute, in Redis.
 */
import type { Redis } from 'ioredis';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';

export interface RateLimits {
  /** Resolves true when the event may go on. */
  socketEvent(connectionId: string, userId: string): Promise<boolean>;
  upload(userId: string): Promise<boolean>;
}

export function createRateLimits(redis: Redis, prefix: string): RateLimits {
  const perConnection = new BurstyRateLimiter(
    new RateLimiterMemory({ points: 25, duration: 1 }),
    new RateLimiterMemory({ points: 100, duration: 10 }),
  );
  const perUser = new BurstyRateLimiter(
    new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}rl:user`, points: 100, duration: 1 }),
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}rl:userburst`,
      points: 500,
      duration: 10,
    }),
  );
  const uploads = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}rl:upload`,
    points: 60,
    duration: 60,
  });

  const allow = async (consume: () => Promise<unknown>): Promise<boolean> => {
    try {
      await consume();
      return true;
    } catch (error) {
      // Refused points come back as RateLimiterRes; a Redis failure must not lock people out.
      return !(error instanceof RateLimiterRes);
    }
  };

  return {
    async socketEvent(connectionId, userId) {
      return (
        (await allow(() => perConnection.consume(connectionId))) &&
        (await allow(() => perUser.consume(userId)))
      );
    },
    upload: (userId) => allow(() => uploads.consume(userId)),
  };
}
