/**
 * Rate limits (CONTRACT section 4 floors): per connection at least 20 events/s sustained with
 * bursts of 100, kept in memory because a connection lives on one server; per person across all
 * their connections, in memory on each server, and across servers through one count in Redis per
 * person and window that servers take leases from (PersonEvents), never a Redis round trip per
 * event; uploads
 * per person per minute, in Redis; and per client address (what the load balancer forwards, behind
 * TRUST_PROXY) per minute, in Redis, on what a fresh guest session would otherwise let anyone
 * repeat without end: creating sessions, uploading, accepting invites.
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

/** A person's socket events: 100 a second, and when those are spent, 500 more per 10 s. */
const PERSON_PER_SECOND = 100;
const PERSON_BURST = 500;
const PERSON_WINDOW_S = 10;
/** The most a person's events may add up to in one 10 s window, across every server. */
export const PERSON_PER_WINDOW = PERSON_PER_SECOND * PERSON_WINDOW_S + PERSON_BURST;
/** Events a server takes from a person's shared count at a time. */
export const PERSON_LEASE = 50;

/**
 * A person's socket events across every server, per 10 s window, without a Redis round trip per
 * event: a server takes them from one shared count per person and window in leases of
 * PERSON_LEASE (INCRBY on the person's own key, hash-tagged by the person, so people spread over a
 * cluster's shards) and spends the lease in memory. What the shared count grants never adds up
 * past PERSON_PER_WINDOW, whichever servers the person's sockets are on, however often they
 * reconnect or a server restarts; a lease left unspent when the window ends is lost (so a person
 * may be refused up to one lease per server early, never late). Once a person's count is spent,
 * every server refuses them until the window ends. Only the current window is kept in memory. A
 * Redis failure grants the lease (refuses nobody).
 */
export class PersonEvents {
  private window = -1;
  /** Events left of this server's leases, per person, in the current window. */
  private readonly left = new Map<string, number>();
  /** People whose shared count for the current window is spent. */
  private readonly spent = new Set<string>();
  /** Leases being taken, per person (one at a time). */
  private readonly taking = new Map<string, Promise<void>>();
  private readonly redis: Redis;
  private readonly keyPrefix: string;
  private readonly now: () => number;

  /** `now`: the clock the windows follow (tests fix it). */
  constructor(redis: Redis, keyPrefix: string, now: () => number = Date.now) {
    this.redis = redis;
    this.keyPrefix = keyPrefix;
    this.now = now;
  }

  /** Takes one of the person's events in the current window: true when it may go on. */
  async take(userId: string): Promise<boolean> {
    for (;;) {
      this.roll();
      const left = this.left.get(userId) ?? 0;
      if (left > 0) {
        this.left.set(userId, left - 1);
        return true;
      }
      if (this.spent.has(userId)) return false;
      let taking = this.taking.get(userId);
      if (!taking) {
        taking = this.lease(userId).finally(() => this.taking.delete(userId));
        this.taking.set(userId, taking);
      }
      await taking;
    }
  }

  /** A new window forgets the last one's leases and refusals. */
  private roll(): void {
    const window = Math.floor(this.now() / (PERSON_WINDOW_S * 1000));
    if (window === this.window) return;
    this.window = window;
    this.left.clear();
    this.spent.clear();
  }

  /** Takes up to PERSON_LEASE events from the person's shared count for this window. */
  private async lease(userId: string): Promise<void> {
    const window = this.window;
    const windowMs = PERSON_WINDOW_S * 1000;
    const key = `${this.keyPrefix}{${userId}}:${window}`;
    let granted = PERSON_LEASE;
    try {
      const replies = await this.redis
        .multi()
        .incrby(key, PERSON_LEASE)
        .pexpire(key, 2 * windowMs)
        .exec();
      const [error, total] = replies?.[0] ?? [null, 0];
      if (error) throw error;
      const before = Number(total) - PERSON_LEASE;
      granted = Math.max(0, Math.min(PERSON_LEASE, PERSON_PER_WINDOW - before));
    } catch {
      // Redis unavailable: the person's own limits on this server still hold.
    }
    if (window !== this.window) return;
    if (granted === 0) this.spent.add(userId);
    else this.left.set(userId, (this.left.get(userId) ?? 0) + granted);
  }
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
    new RateLimiterMemory({ points: PERSON_PER_SECOND, duration: 1 }),
    new RateLimiterMemory({ points: PERSON_BURST, duration: PERSON_WINDOW_S }),
  );
  const everywhere = new PersonEvents(redis, `${prefix}rl:person:`);
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
        (await allow(() => perUser.consume(userId))) &&
        everywhere.take(userId)
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
