/**
 * Presence: who is in a review's room, on which section, typing or not. Not durable and never
 * logged. Each server knows its own sockets and keeps what the others last said of theirs in the
 * reviews it has people in (presence-view.ts). When its own sockets change (at most once per
 * `intervalMs` per review) a server tells the others in one message, `presence:here` (its
 * sockets, numbered, and the review's roster), and each server shows the room's people to its own
 * sockets; nobody asks every server per change. A server asks the others (`presence:collect`,
 * through the Redis adapter: a few bytes per socket, where `fetchSockets()` would ship every
 * socket's whole handshake) only when it gets its first person in a review. Every server says it
 * is alive every `aliveMs`; one not heard from for three of those, or that said it is leaving, is
 * taken out of every room.
 */
import { randomUUID } from 'node:crypto';
import { reviewRoom, type User } from '@prism/core';
import type { MemberRecord, ReviewStore } from '@prism/store';
import type { Logger } from 'pino';
import { presentMembers, RemotePresence, type ServerPresence } from './presence-view.ts';
import type { PresenceEntry, PrismServer } from './types.ts';

/** How long other servers have to answer (the adapter's `requestsTimeout`; app.ts sets it). */
export const PRESENCE_ANSWER_MS = 2000;

export interface PresenceOptions {
  /** At most one announcement per review per this long from each server (coalesced). */
  intervalMs?: number;
  /** How often each server says it is alive (a server silent for three of these is forgotten). */
  aliveMs?: number;
}

export class Presence {
  /** This server, as the others know it. */
  readonly id = randomUUID();
  /** Numbers what this server says, rising (presence-view.ts keeps the newest). */
  private said = 0;
  private readonly remote = new RemotePresence();
  private readonly alive: NodeJS.Timeout;
  private readonly aliveMs: number;
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

  constructor(io: PrismServer, store: ReviewStore, logger: Logger, options: PresenceOptions = {}) {
    this.io = io;
    this.store = store;
    this.logger = logger;
    this.intervalMs = options.intervalMs ?? 150;
    this.aliveMs = options.aliveMs ?? 5000;
    io.on('presence:collect', (reviewId, answer) => answer(this.say(reviewId)));
    io.on('presence:here', (reviewId, said, roster) => {
      if (this.remote.apply(reviewId, said) && this.hasPeople(reviewId)) this.show(reviewId, roster);
    });
    io.on('presence:alive', (server) => this.remote.heard(server));
    io.on('presence:gone', (server) => this.refresh(this.remote.forget(server)));
    io.on('presence:rooms', (reviewIds, answer) => answer(this.localPeople(reviewIds)));
    this.alive = setInterval(() => this.beat(), this.aliveMs);
    this.alive.unref();
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

  private hasPeople(reviewId: string): boolean {
    return (this.io.sockets.adapter.rooms.get(reviewRoom(reviewId))?.size ?? 0) > 0;
  }

  /** What this server says of its sockets in the review, numbered. */
  private say(reviewId: string): ServerPresence {
    this.said += 1;
    return { server: this.id, v: this.said, entries: this.local(reviewId) };
  }

  /** Every other server's answer to `presence:collect` (those that do not answer in time left out). */
  private async collect(reviewId: string): Promise<(ServerPresence | PresenceEntry[])[]> {
    let timer: NodeJS.Timeout | undefined;
    const asked = this.io.serverSideEmitWithAck('presence:collect', reviewId).catch((error: unknown) => {
      // A server that died after being counted (or runs a version without presence:collect)
      // never answers: go on with those that did.
      this.logger.debug({ err: error, reviewId }, 'presence: not every server answered');
      return ((error as { responses?: ServerPresence[] }).responses ?? []) as ServerPresence[];
    });
    // The adapter never settles when its own Redis call fails before the request goes out.
    const gaveUp = new Promise<ServerPresence[]>((resolve) => {
      timer = setTimeout(() => resolve([]), PRESENCE_ANSWER_MS + 500);
    });
    return Promise.race([asked, gaveUp]).finally(() => clearTimeout(timer));
  }

  /**
   * Every server's sockets in the review's room. A review this server keeps is read from what the
   * others said; otherwise they are asked, and with `track` the answers are kept from then on (a
   * person is joining here).
   */
  private async everywhere(reviewId: string, track: boolean): Promise<PresenceEntry[]> {
    if (this.remote.tracked(reviewId)) return this.local(reviewId).concat(this.remote.entries(reviewId));
    // Tracked before asking: an announcement that overtakes the answers is kept (the newer wins).
    if (track) this.remote.track(reviewId);
    const others: PresenceEntry[] = [];
    for (const answer of await this.collect(reviewId)) {
      if (!answer) continue;
      // An answer of the version before numbered answers: good for this look only.
      if (Array.isArray(answer)) others.push(...answer);
      else if (track) this.remote.apply(reviewId, answer);
      else others.push(...answer.entries);
    }
    return this.local(reviewId).concat(track ? this.remote.entries(reviewId) : [], others);
  }

  /**
   * User ids with a socket in the review's room on any server. `joining`: a person is about to
   * join here, so this server keeps the review's presence from now on.
   */
  async online(reviewId: string, { joining = false } = {}): Promise<Set<string>> {
    return new Set((await this.everywhere(reviewId, joining)).map((entry) => entry.userId));
  }

  /** Shows the room's people to this server's sockets in it. */
  private show(reviewId: string, roster: readonly MemberRecord[]): void {
    if (this.abandoned) return;
    const entries = this.local(reviewId).concat(this.remote.entries(reviewId));
    this.io.local
      .to(reviewRoom(reviewId))
      .emit('presence', { reviewId, members: presentMembers(roster, entries) });
  }

  /** Shows these reviews' rooms afresh to this server's sockets (a server was taken out of them). */
  private refresh(reviewIds: readonly string[]): void {
    for (const reviewId of reviewIds) {
      if (!this.hasPeople(reviewId)) continue;
      this.keep(
        this.store.snapshotMembers(reviewId).then((roster) => this.show(reviewId, roster)),
        reviewId,
      );
    }
  }

  /** Tells the others what this server's sockets in the review are doing, and shows the room here. */
  private async announce(reviewId: string): Promise<void> {
    const here = this.hasPeople(reviewId);
    const said = this.say(reviewId);
    const [roster] = await Promise.all([
      this.store.snapshotMembers(reviewId),
      // A review with people here but not kept (they came while this server was not listening).
      here && !this.remote.tracked(reviewId) ? this.everywhere(reviewId, true) : undefined,
    ]);
    if (this.abandoned) return;
    this.io.serverSideEmit('presence:here', reviewId, said, roster);
    if (here) this.show(reviewId, roster);
    else this.remote.untrack(reviewId);
  }

  /** Says this server is alive, forgets servers long silent, and stops keeping rooms nobody here is in. */
  private beat(): void {
    if (this.closed) return;
    this.io.serverSideEmit('presence:alive', this.id);
    this.refresh(this.remote.expire(Date.now() - 3 * this.aliveMs));
    for (const reviewId of this.remote.trackedReviews()) {
      if (!this.hasPeople(reviewId) && !this.pending.has(reviewId)) this.remote.untrack(reviewId);
    }
  }

  /**
   * Asks afresh in every review this server keeps, and shows the rooms again: after the adapter's
   * subscriber reconnected, what others said meanwhile was lost (pub/sub keeps nothing).
   */
  resync(): void {
    if (this.closed) return;
    for (const reviewId of this.remote.trackedReviews()) {
      this.remote.untrack(reviewId);
      if (!this.hasPeople(reviewId)) continue;
      this.keep(
        Promise.all([this.everywhere(reviewId, true), this.store.snapshotMembers(reviewId)]).then(
          ([, roster]) => this.show(reviewId, roster),
        ),
        reviewId,
      );
    }
  }

  /** Keeps a broadcast under way for close() to wait for. */
  private keep(sending: Promise<void>, reviewId: string): void {
    const sent: Promise<void> = sending
      .catch((error: unknown) => this.logger.debug({ err: error, reviewId }, 'presence not sent'))
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  /** Schedules an announcement for the review (coalesced). */
  changed(reviewId: string): void {
    if (this.closed || this.pending.has(reviewId)) return;
    const timer = setTimeout(() => {
      this.pending.delete(reviewId);
      this.keep(this.announce(reviewId), reviewId);
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
    clearInterval(this.alive);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.sending),
      new Promise((resolve) => {
        timer = setTimeout(resolve, PRESENCE_ANSWER_MS + 1000);
      }),
    ]).finally(() => clearTimeout(timer));
    // The others take this server's sockets out of their rooms now, not when it falls silent.
    this.io.serverSideEmit('presence:gone', this.id);
    this.abandoned = true;
  }
}
