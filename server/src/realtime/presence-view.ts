/**
 * What the other servers last said of their sockets in the reviews this server has people in
 * (presence.ts keeps it up to date). Each server numbers what it says (`v`, rising): what is
 * older than what is held is dropped, so an answer to a request and an announcement that cross
 * on the way leave the newer. A server not heard from for a while is taken out of every review.
 */
import type { PresenceMember, Role, User } from '@prism/core';
import type { MemberRecord } from '@prism/store';
import type { PresenceEntry } from './types.ts';

/** One server's sockets in one review, as it said it (presence:here, presence:collect). */
export interface ServerPresence {
  server: string;
  v: number;
  entries: PresenceEntry[];
}

export class RemotePresence {
  /** Tracked reviews: what each other server said of its sockets in them. */
  private readonly reviews = new Map<string, Map<string, { v: number; entries: PresenceEntry[] }>>();
  /** When each other server was last heard from (ms). */
  private readonly heardAt = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  tracked(reviewId: string): boolean {
    return this.reviews.has(reviewId);
  }

  /** Starts keeping what others say of the review (empty until they say it). */
  track(reviewId: string): void {
    if (!this.reviews.has(reviewId)) this.reviews.set(reviewId, new Map());
  }

  untrack(reviewId: string): void {
    this.reviews.delete(reviewId);
  }

  trackedReviews(): string[] {
    return [...this.reviews.keys()];
  }

  heard(server: string): void {
    this.heardAt.set(server, this.now());
  }

  /**
   * Keeps what a server said of a tracked review unless something newer is held; true when it was
   * kept. Untracked reviews are not kept (this server has nobody there to tell).
   */
  apply(reviewId: string, said: ServerPresence): boolean {
    this.heard(said.server);
    const servers = this.reviews.get(reviewId);
    if (!servers) return false;
    const held = servers.get(said.server);
    if (held && held.v >= said.v) return false;
    // Kept even when empty (nobody there any more), so an older answer cannot bring them back.
    servers.set(said.server, { v: said.v, entries: said.entries });
    return true;
  }

  /** Every other server's sockets in the review, as last said. */
  entries(reviewId: string): PresenceEntry[] {
    const servers = this.reviews.get(reviewId);
    if (!servers) return [];
    const all: PresenceEntry[] = [];
    for (const { entries } of servers.values()) all.push(...entries);
    return all;
  }

  /** Takes a server out of every review (it said it is leaving); the reviews whose view changed. */
  forget(server: string): string[] {
    this.heardAt.delete(server);
    const changed: string[] = [];
    for (const [reviewId, servers] of this.reviews) {
      const held = servers.get(server);
      if (held && held.entries.length > 0) changed.push(reviewId);
      servers.delete(server);
    }
    return changed;
  }

  /** Forgets every server not heard from since `before` (ms); the reviews whose view changed. */
  expire(before: number): string[] {
    const changed = new Set<string>();
    for (const [server, at] of this.heardAt) {
      if (at >= before) continue;
      for (const reviewId of this.forget(server)) changed.add(reviewId);
    }
    return [...changed];
  }
}

/**
 * The review's members as the room shows them: its roster (the stored memberships) with who is
 * online where, plus people in the room through their workspace (CONTRACT 7.2), who hold no
 * membership of the review. Someone with two tabs is typing if either tab is.
 */
export function presentMembers(
  roster: readonly MemberRecord[],
  entries: readonly PresenceEntry[],
): PresenceMember[] {
  const here = new Map<string, { sectionId: string | null; typing: boolean }>();
  const visitors = new Map<string, { user: User; role: Role }>();
  const listed = new Set(roster.map((member) => member.user.id));
  for (const { userId, user, role, sectionId, typing } of entries) {
    if (!listed.has(userId) && user && role) visitors.set(userId, { user, role });
    const seen = here.get(userId);
    here.set(
      userId,
      seen
        ? { sectionId: sectionId ?? seen.sectionId, typing: seen.typing || typing }
        : { sectionId, typing },
    );
  }
  return [...roster, ...visitors.values()].map((member) => {
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
