/**
 * Presence: who is in a review's room, on which section, typing or not. Not durable and never
 * logged: it is read from the sockets of every server through the Redis adapter and broadcast
 * through it, at most once per `intervalMs` per review from each server.
 */
import { type PresenceMember, reviewRoom } from '@prism/core';
import type { ReviewStore } from '@prism/store';
import type { Logger } from 'pino';
import type { PrismServer } from './types.ts';

export class Presence {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** Broadcasts under way: closing waits for them, so none publishes on a Redis client being closed. */
  private readonly sending = new Set<Promise<void>>();
  private closed = false;
  private readonly io: PrismServer;
  private readonly store: ReviewStore;
  private readonly logger: Logger;
  private readonly intervalMs: number;

  constructor(io: PrismServer, store: ReviewStore, logger: Logger, intervalMs = 150) {
    this.io = io;
    this.store = store;
    this.logger = logger;
    this.intervalMs = intervalMs;
  }

  /** User ids with a socket in the review's room on any server. */
  async online(reviewId: string): Promise<Set<string>> {
    const sockets = await this.io.in(reviewRoom(reviewId)).fetchSockets();
    return new Set(sockets.map((socket) => socket.data.user.id));
  }

  async members(reviewId: string): Promise<PresenceMember[]> {
    const [sockets, snapshotMembers] = await Promise.all([
      this.io.in(reviewRoom(reviewId)).fetchSockets(),
      this.store.snapshotMembers(reviewId),
    ]);
    const here = new Map<string, { sectionId: string | null; typing: boolean }>();
    for (const socket of sockets) {
      const where = socket.data.presence?.[reviewId] ?? { sectionId: null, typing: false };
      const seen = here.get(socket.data.user.id);
      // Someone with two tabs is typing if either tab is.
      here.set(
        socket.data.user.id,
        seen ? { sectionId: where.sectionId ?? seen.sectionId, typing: seen.typing || where.typing } : where,
      );
    }
    return snapshotMembers.map((member) => {
      const where = here.get(member.user.id);
      return {
        user: member.user,
        role: member.role,
        sectionId: where?.sectionId ?? null,
        typing: where?.typing ?? false,
        online: where !== undefined,
      };
    });
  }

  /** Schedules a presence broadcast for the review (coalesced). */
  changed(reviewId: string): void {
    if (this.closed || this.pending.has(reviewId)) return;
    const timer = setTimeout(() => {
      this.pending.delete(reviewId);
      const sent = this.members(reviewId)
        .then((members) => {
          if (!this.closed) this.io.to(reviewRoom(reviewId)).emit('presence', { reviewId, members });
        })
        .catch((error: unknown) => this.logger.debug({ err: error, reviewId }, 'presence not sent'))
        .finally(() => this.sending.delete(sent));
      this.sending.add(sent);
    }, this.intervalMs);
    timer.unref();
    this.pending.set(reviewId, timer);
  }

  /** Stops scheduling broadcasts and waits for those under way. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    await Promise.all(this.sending);
  }
}
