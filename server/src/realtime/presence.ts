/**
 * Presence: who is in a review's room, on which section, typing or not. Not durable and never
 * logged: each server reads its own sockets and asks the others for theirs through the Redis
 * adapter (`presence:collect`: a few bytes per socket, where `fetchSockets()` would ship every
 * socket's whole handshake), and the result is broadcast at most once per `intervalMs` per review
 * from each server.
 */
import { type PresenceMember, reviewRoom, type User } from '@prism/core';
import type { ReviewStore } from '@prism/store';
import type { Logger } from 'pino';
import type { PresenceEntry, PrismServer } from './types.ts';

/** How long other servers have to answer (the adapter's `requestsTimeout`; app.ts sets it). */
export const PRESENCE_ANSWER_MS = 2000;

export class Presence {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** Broadcasts under way: closing waits for them, so none publishes on a Redis client being closed. */
  private readonly sending = new Set<Promise<void>>();
  private closed = false;
  /** Set when closing stopped waiting: what is still under way must not publish any more. */
  private abandoned = false;
  private readonly io: PrismServer;
  private readonly store: ReviewStore;
  private readonly logger: Logger;
  private readonly intervalMs: number;

  constructor(io: PrismServer, store: ReviewStore, logger: Logger, intervalMs = 150) {
    this.io = io;
    this.store = store;
    this.logger = logger;
    this.intervalMs = intervalMs;
    io.on('presence:collect', (reviewId, answer) => answer(this.local(reviewId)));
    io.on('presence:rooms', (reviewIds, answer) => answer(this.localPeople(reviewIds)));
  }

  /** The people this server's sockets have in each of these rooms (rooms without any left out). */
  private localPeople(reviewIds: readonly string[]): Record<string, User[]> {
    const here: Record<string, User[]> = {};
    for (const reviewId of reviewIds) {
      const ids = this.io.sockets.adapter.rooms.get(reviewRoom(reviewId));
      if (!ids || ids.size === 0) continue;
      const people = new Map<string, User>();
      for (const id of ids) {
        const user = this.io.sockets.sockets.get(id)?.data.user;
        if (user) people.set(user.id, { id: user.id, name: user.name });
      }
      if (people.size > 0) here[reviewId] = [...people.values()];
    }
    return here;
  }

  /**
   * Who is in each of these reviews' rooms on any server, in one request to the others (the
   * library lists many reviews at once). Best effort: servers that do not answer within
   * `timeoutMs` are left out.
   */
  async people(reviewIds: readonly string[], timeoutMs = 500): Promise<Map<string, User[]>> {
    const ids = [...reviewIds];
    let timer: NodeJS.Timeout | undefined;
    const asked = this.io.serverSideEmitWithAck('presence:rooms', ids).catch((error: unknown) => {
      this.logger.debug({ err: error }, 'presence: not every server answered');
      return ((error as { responses?: Record<string, User[]>[] }).responses ?? []) as Record<
        string,
        User[]
      >[];
    });
    const gaveUp = new Promise<Record<string, User[]>[]>((resolve) => {
      timer = setTimeout(() => resolve([]), timeoutMs);
    });
    const others = await Promise.race([asked, gaveUp]).finally(() => clearTimeout(timer));
    const merged = new Map<string, Map<string, User>>();
    for (const answer of [this.localPeople(ids), ...others]) {
      for (const [reviewId, people] of Object.entries(answer ?? {})) {
        let room = merged.get(reviewId);
        if (!room) {
          room = new Map();
          merged.set(reviewId, room);
        }
        for (const person of people) room.set(person.id, person);
      }
    }
    return new Map([...merged].map(([reviewId, room]) => [reviewId, [...room.values()]]));
  }

  /** This server's sockets in the review's room (a joining socket is not in it yet). */
  private local(reviewId: string): PresenceEntry[] {
    const ids = this.io.sockets.adapter.rooms.get(reviewRoom(reviewId));
    const entries: PresenceEntry[] = [];
    for (const id of ids ?? []) {
      const socket = this.io.sockets.sockets.get(id);
      if (!socket) continue;
      const where = socket.data.presence?.[reviewId];
      const role = socket.data.roles?.[reviewId];
      entries.push({
        userId: socket.data.user.id,
        user: { id: socket.data.user.id, name: socket.data.user.name },
        ...(role ? { role } : {}),
        sectionId: where?.sectionId ?? null,
        typing: where?.typing ?? false,
      });
    }
    return entries;
  }

  /** Every server's sockets in the review's room. */
  private async everywhere(reviewId: string): Promise<PresenceEntry[]> {
    let timer: NodeJS.Timeout | undefined;
    const asked = this.io.serverSideEmitWithAck('presence:collect', reviewId).catch((error: unknown) => {
      // A server that died after being counted (or runs a version without presence:collect)
      // never answers: go on with those that did.
      this.logger.debug({ err: error, reviewId }, 'presence: not every server answered');
      return ((error as { responses?: PresenceEntry[][] }).responses ?? []) as PresenceEntry[][];
    });
    // The adapter never settles when its own Redis call fails before the request goes out.
    const gaveUp = new Promise<PresenceEntry[][]>((resolve) => {
      timer = setTimeout(() => resolve([]), PRESENCE_ANSWER_MS + 500);
    });
    const others = await Promise.race([asked, gaveUp]).finally(() => clearTimeout(timer));
    return this.local(reviewId).concat(...others);
  }

  /** User ids with a socket in the review's room on any server. */
  async online(reviewId: string): Promise<Set<string>> {
    return new Set((await this.everywhere(reviewId)).map((entry) => entry.userId));
  }

  async members(reviewId: string): Promise<PresenceMember[]> {
    const [entries, snapshotMembers] = await Promise.all([
      this.everywhere(reviewId),
      this.store.snapshotMembers(reviewId),
    ]);
    const here = new Map<string, { sectionId: string | null; typing: boolean }>();
    // People in the room through their workspace (CONTRACT 7.2) hold no membership of the review.
    const visitors = new Map<string, { user: User; role: NonNullable<PresenceEntry['role']> }>();
    const listed = new Set(snapshotMembers.map((member) => member.user.id));
    for (const { userId, user, role, ...where } of entries) {
      if (!listed.has(userId) && user && role) visitors.set(userId, { user, role });
      const seen = here.get(userId);
      // Someone with two tabs is typing if either tab is.
      here.set(
        userId,
        seen ? { sectionId: where.sectionId ?? seen.sectionId, typing: seen.typing || where.typing } : where,
      );
    }
    return [...snapshotMembers, ...visitors.values()].map((member) => {
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
          if (!this.abandoned) this.io.to(reviewRoom(reviewId)).emit('presence', { reviewId, members });
        })
        .catch((error: unknown) => this.logger.debug({ err: error, reviewId }, 'presence not sent'))
        .finally(() => this.sending.delete(sent));
      this.sending.add(sent);
    }, this.intervalMs);
    timer.unref();
    this.pending.set(reviewId, timer);
  }

  /**
   * Stops scheduling broadcasts and lets those under way finish (Redis is still open), for at
   * most a few seconds; whatever is later than that sends nothing.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.sending),
      new Promise((resolve) => {
        timer = setTimeout(resolve, PRESENCE_ANSWER_MS + 1000);
      }),
    ]).finally(() => clearTimeout(timer));
    this.abandoned = true;
  }
}
