/**
 * Rate limits (CONTRACT section 4 floors): per connection at least 20 events/s sustained with
 * bursts of 100, kept in memory because a connection lives on one server; per person across all
 * their connections and servers, in Redis; uploads per person per minute, in Redis; and per client
 * address (what the load balancer forwards, behind TRUST_PROXY) per minute, in Redis, on what a
 * fresh guest session would otherwise let anyone repeat without end: creating sessions, uploading,
 * accepting invites.
 */
import type { Redis } from 'ioredis';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';

/** Uploads a person may make per minute: the contract's floor. */
export const UPLOADS_PER_PERSON = 60;

/** What a client address is limited on, each per minute. */
export type AddressAction = 'sessions' | 'uploads' | 'invites';

/** A refusal: how long until the next attempt may succeed, in whole seconds (for Retry-After). */
export interface Refusal {
  retryAfterS: number;
}

export interface RateLimits {
  /** Resolves true when the event may go on. */
  socketEvent(connectionId: string, userId: string): Promise<boolean>;
  /** Spends one of the person's uploads this minute; resolves true when the upload may go on. */
  upload(userId: string): Promise<boolean>;
  /** When the person has no upload left this minute, how long to wait; spends nothing. */
  uploadsSpent(userId: string): Promise<Refusal | undefined>;
  /** Spends one of the address's `action`s this minute; a refusal when there is none left. */
  fromAddress(action: AddressAction, address: string): Promise<Refusal | undefined>;
}

const refusal = (res: RateLimiterRes): Refusal => ({
  retryAfterS: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
});

export function createRateLimits(
  redis: Redis,
  prefix: string,
  perAddress: Record<AddressAction, number> = { sessions: 120, uploads: 120, invites: 120 },
): RateLimits {
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
    points: UPLOADS_PER_PERSON,
    duration: 60,
  });
  const addresses = Object.fromEntries(
    (Object.keys(perAddress) as AddressAction[]).map((action) => [
      action,
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}rl:ip:${action}`,
        points: perAddress[action],
        duration: 60,
      }),
    ]),
  ) as Record<AddressAction, RateLimiterRedis>;

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
    async uploadsSpent(userId) {
      const state = await uploads.get(userId).catch(() => null);
      return state && state.consumedPoints >= UPLOADS_PER_PERSON ? refusal(state) : undefined;
    },
    async fromAddress(action, address) {
      try {
        await addresses[action].consume(address);
        return undefined;
      } catch (error) {
        return error instanceof RateLimiterRes ? refusal(error) : undefined;
      }
    },
  };
}
