/**
 * The audit log: one line per act that leaves nothing else behind (a review deleted), kept per
 * workspace, or per owner for a personal review. A capped list, newest first, outside any review.
 */
import type { User } from '@prism/core';
import type { Redis } from 'ioredis';

export interface AuditEntry {
  at: string;
  by: User;
  action: 'review.deleted';
  reviewId: string;
  title: string;
}

/** A workspace's audit list, or a person's (their personal reviews). */
export type AuditHome = { workspaceId: string } | { userId: string };

const MAX_ENTRIES = 10_000;

export const auditKey = (prefix: string, home: AuditHome): string =>
  'workspaceId' in home
    ? `${prefix}audit:{workspace:${home.workspaceId}}`
    : `${prefix}audit:{user:${home.userId}}`;

export class AuditLog {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  async write(home: AuditHome, entry: AuditEntry): Promise<void> {
    const key = auditKey(this.prefix, home);
    await this.redis
      .multi()
      .lpush(key, JSON.stringify(entry))
      .ltrim(key, 0, MAX_ENTRIES - 1)
      .exec();
  }

  /** The newest entries first. */
  async read(home: AuditHome, limit = 100): Promise<AuditEntry[]> {
    const raw = await this.redis.lrange(auditKey(this.prefix, home), 0, limit - 1);
    return raw.map((line) => JSON.parse(line) as AuditEntry);
  }
}
