/**
 * Mention notices: a reply that names me, seen live (a `feedback.updated` carrying it) or on my
 * next visit (replies naming me created after I was last in the room). "Last seen" is kept in
 * localStorage per review: per browser, which is what a person notices, and nothing to sync.
 */
import type { FeedbackItem } from '#lib/types.ts';

type Reply = NonNullable<FeedbackItem['replies']>[number];

export interface Mention {
  item: FeedbackItem;
  reply: Reply;
}

const mentionsMe = (reply: Reply, me: string): boolean =>
  reply.author.id !== me && reply.mentions.includes(me);

/** Replies in `next` that `previous` did not have and that mention `me` (not my own). */
export function newMentions(previous: FeedbackItem | undefined, next: FeedbackItem, me: string): Mention[] {
  const known = new Set((previous?.replies ?? []).map((reply) => reply.id));
  return (next.replies ?? [])
    .filter((reply) => !known.has(reply.id) && mentionsMe(reply, me))
    .map((reply) => ({ item: next, reply }));
}

/** Replies mentioning `me` created after `since` (ISO; undefined: never visited, so none are news). */
export function unreadMentions(
  items: Iterable<FeedbackItem>,
  me: string,
  since: string | undefined,
): Mention[] {
  if (!since) return [];
  const found: Mention[] = [];
  for (const item of items) {
    for (const reply of item.replies ?? []) {
      if (reply.createdAt > since && mentionsMe(reply, me)) found.push({ item, reply });
    }
  }
  return found.sort((a, b) => (a.reply.createdAt < b.reply.createdAt ? -1 : 1));
}

/** What the toast says about one or more mentions. */
export function mentionMessage(mentions: Mention[], visit: boolean): string {
  const first = mentions[0]!;
  const where = first.item.category;
  if (mentions.length === 1) {
    return `${first.reply.author.name} mentioned you on “${where}”: ${first.reply.text.slice(0, 120)}`;
  }
  return visit
    ? `You were mentioned ${mentions.length} times since your last visit (latest by ${mentions.at(-1)!.reply.author.name}).`
    : `${mentions.length} new mentions of you, first on “${where}”.`;
}

const key = (reviewId: string, userId: string): string => `prism:last-seen:${userId}:${reviewId}`;

/** When this person was last in this review's room, in this browser. */
export function lastSeen(reviewId: string, userId: string): string | undefined {
  try {
    return globalThis.localStorage?.getItem(key(reviewId, userId)) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Records `at` as seen (never moving the mark back). */
export function markSeen(reviewId: string, userId: string, at: string): void {
  try {
    const current = lastSeen(reviewId, userId);
    if (!current || at > current) globalThis.localStorage?.setItem(key(reviewId, userId), at);
  } catch {
    // Storage refused (private mode, quota): notices of the next visit are skipped, nothing breaks.
  }
}
