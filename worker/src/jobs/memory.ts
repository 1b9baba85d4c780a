/**
 * What the model is told of the team's work so far: the decided items of a section (for its
 * analysis), of the whole review (for the whole-document pass), and every finding with its
 * decision (for chat). Built from stored items only; ids never reach the model.
 */
import type { FeedbackItem } from '@prism/core';
import type { RejectedPoint } from '../ai/findings.ts';
import type { ChatFinding, DecidedItem } from '../ai/provider.ts';

/** Decided items a request carries at most (the most recent): enough memory, bounded tokens. */
export const MAX_DECIDED = 40;
/** Findings a chat request carries at most (most important first). */
export const MAX_CHAT_FINDINGS = 150;

/** Why an item was decided as it was: replies to it (CONTRACT 7.5) and people's items linked to it. */
function reasonFor(item: FeedbackItem, all: FeedbackItem[]): string | undefined {
  const replies = (item as { replies?: { text?: unknown }[] }).replies ?? [];
  const reasons = [
    ...replies.map((reply) => (typeof reply.text === 'string' ? reply.text : '')),
    ...all.filter((other) => other.linkedTo === item.id && other.source === 'user').map((o) => o.description),
  ].filter((text) => text.trim() !== '');
  return reasons.length > 0 ? reasons.join(' / ') : undefined;
}

const decidedAt = (item: FeedbackItem): string => item.decidedAt ?? item.createdAt;

/**
 * The decided items (accepted, rejected, and people's own) of one section, or of the whole
 * review without `sectionId`, most recent first.
 */
export function decidedItems(
  items: FeedbackItem[],
  sectionId?: string,
): (DecidedItem & { sectionId: string })[] {
  return (
    items
      .filter(
        (item) => item.status !== 'pending' && (sectionId === undefined || item.sectionId === sectionId),
      )
      // A person's comment that explains another item's decision is that item's reason, not an item.
      .filter(
        (item) => !(item.source === 'user' && item.linkedTo && items.some((o) => o.id === item.linkedTo)),
      )
      .sort((a, b) => (decidedAt(a) < decidedAt(b) ? 1 : -1))
      .slice(0, MAX_DECIDED)
      .map((item) => {
        const who = item.source === 'user' ? item.createdBy.name : item.decidedBy?.name;
        const reason = reasonFor(item, items);
        return {
          sectionId: item.sectionId,
          type: item.type,
          category: item.category,
          description: item.description,
          ...(item.quote ? { quote: item.quote } : {}),
          status: item.status as 'accepted' | 'rejected',
          source: item.source,
          ...(who ? { decidedBy: who } : {}),
          ...(reason ? { reason } : {}),
        };
      })
  );
}

/** What the team rejected in the section: a new item saying it again is dropped (CONTRACT 7.4). */
export function rejectedPoints(items: FeedbackItem[], sectionId: string): RejectedPoint[] {
  return items
    .filter((item) => item.sectionId === sectionId && item.status === 'rejected')
    .map((item) => ({ description: item.description, quote: item.quote }));
}

const TYPE_ORDER = { critical: 0, important: 1, suggestion: 2, positive: 3 } as const;

/** Every finding as chat sees it: decided ones first, then by type; no ids. */
export function chatFindings(items: FeedbackItem[]): ChatFinding[] {
  return [...items]
    .sort(
      (a, b) =>
        Number(a.status === 'pending') - Number(b.status === 'pending') ||
        TYPE_ORDER[a.type] - TYPE_ORDER[b.type] ||
        (a.createdAt < b.createdAt ? -1 : 1),
    )
    .slice(0, MAX_CHAT_FINDINGS)
    .map((item) => ({
      sectionId: item.sectionId,
      type: item.type,
      category: item.category,
      description: item.description,
      ...(item.quote ? { quote: item.quote } : {}),
      status: item.status,
      source: item.source,
      ...(item.decidedBy && item.status !== 'pending' ? { decidedBy: item.decidedBy.name } : {}),
    }));
}
