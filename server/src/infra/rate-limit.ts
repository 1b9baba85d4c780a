/**
 * Rate limits (CONTRACT section 4 floors): per connection at least 20 events/s sustained with
 * bursts of 100, kept in memory because a connection lives on one server; per person across all
 * their connections, in memory on each server, and across servers through a count in Redis that
 * each server adds to once a second (PersonEvents), never a Redis round trip per event; uploads
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

/**
 * A person's socket events across every server, per 10 s window: each server counts its own in
 * memory and, at most once a second, adds what it counted to one Redis hash per window (a field
 * per person; one key, so one pipeline on a cluster too) and learns each total. Someone past
 * PERSON_PER_WINDOW is refused on every server until the window ends, at most a second after
 * crossing it; before that each server's own limit holds them. A Redis failure refuses nobody.
 */
export class PersonEvents {
  private pending = new Map<string, number>();
  private readonly over = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly redis: Redis;
  private readonly keyPrefix: string;
  private readonly syncMs: number;
  private readonly now: () => number;

  /** `now`: the clock the windows follow (tests fix it). */
  constructor(redis: Redis, keyPrefix: string, syncMs = 1000, now: () => number = Date.now) {
    this.redis = redis;
    this.keyPrefix = keyPrefix;
    this.syncMs = syncMs;
    this.now = now;
  }

  /** Whether the person is over the limit across servers in the current window. */
  refused(userId: string): boolean {
    const until = this.over.get(userId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.over.delete(userId);
    return false;
  }

  /** An event of the person's was let through here. */
  count(userId: string): void {
    this.pending.set(userId, (this.pending.get(userId) ?? 0) + 1);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, this.syncMs);
    this.timer.unref();
  }

  /** Adds what this server counted to the window's totals; marks who went over. */
  async sync(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size === 0) return;
    const windowMs = PERSON_WINDOW_S * 1000;
    const window = Math.floor(this.now() / windowMs);
    const key = `${this.keyPrefix}${window}`;
    const pipeline = this.redis.pipeline();
    for (const [userId, n] of batch) pipeline.hincrby(key, userId, n);
    pipeline.pexpire(key, 2 * windowMs);
    const replies = await pipeline.exec().catch(() => null);
    let i = 0;
    for (const userId of batch.keys()) {
      const [error, total] = replies?.[i] ?? [null, 0];
      i += 1;
      if (!error && Number(total) > PERSON_PER_WINDOW) this.over.set(userId, (window + 1) * windowMs);
    }
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
      if (everywhere.refused(userId)) return false;
      const allowed =
        (await allow(() => perConnection.consume(connectionId))) &&
        (await allow(() => perUser.consume(userId)));
      if (allowed) everywhere.count(userId);
      return allowed;
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
