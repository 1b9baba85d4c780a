/**
 * Review domain rules: who may do what, how decisions and edits change an item, and stats.
 * Pure functions; the server's review service turns their results into log appends.
 */
import { PrismError } from './errors.ts';
import type { ReviewStats } from './protocol.ts';
import type {
  AddFeedbackPayload,
  DecidePayload,
  EditFeedbackPayload,
  FeedbackItem,
  Reply,
  Role,
  User,
} from './schemas.ts';

const ROLE_RANK: Record<Role, number> = { viewer: 0, reviewer: 1, owner: 2 };

/** The higher of two roles: accepting an invite never lowers a member. */
export const higherRole = (a: Role, b: Role): Role => (ROLE_RANK[a] >= ROLE_RANK[b] ? a : b);

export type Action =
  | 'review:read'
  | 'analysis:run'
  | 'feedback:decide'
  | 'feedback:write'
  | 'feedback:thread'
  | 'chat:send'
  | 'invite:create'
  | 'export:package'
  | 'review:submit'
  | 'review:reopen'
  | 'review:archive'
  | 'review:delete'
  | 'checklist:override';

const MIN_ROLE: Record<Action, Role> = {
  'review:read': 'viewer',
  'analysis:run': 'reviewer',
  'feedback:decide': 'reviewer',
  'feedback:write': 'reviewer',
  'feedback:thread': 'reviewer',
  'chat:send': 'reviewer',
  'invite:create': 'owner',
  'export:package': 'reviewer',
  'review:submit': 'reviewer',
  'review:reopen': 'owner',
  'review:archive': 'owner',
  'review:delete': 'owner',
  'checklist:override': 'reviewer',
};

export const can = (role: Role, action: Action): boolean => ROLE_RANK[role] >= ROLE_RANK[MIN_ROLE[action]];

export function assertCan(role: Role | undefined, action: Action): asserts role is Role {
  if (!role) throw new PrismError('forbidden', 'You are not a member of this review.');
  if (!can(role, action)) {
    throw new PrismError('forbidden', `A ${role} cannot do this; ask the owner for a reviewer invite.`);
  }
}

export type Change = { kind: 'noop'; item: FeedbackItem } | { kind: 'changed'; item: FeedbackItem };

const conflict = (item: FeedbackItem): PrismError =>
  new PrismError(
    'conflict',
    item.decidedBy
      ? `${item.decidedBy.name} changed this item first; it is now ${item.status}.`
      : 'Someone changed this item first.',
    { item },
  );

/**
 * Accept, reject or revert to pending. The same status is a no-op whatever version is named;
 * any other change needs the current version, else `conflict` with the current item.
 */
export function decide(item: FeedbackItem, payload: DecidePayload, actor: User, now: string): Change {
  if (item.status === payload.status) return { kind: 'noop', item };
  if (item.version !== payload.version) throw conflict(item);
  const next: FeedbackItem = { ...item, status: payload.status, version: item.version + 1 };
  if (payload.status === 'pending') {
    delete next.decidedBy;
    delete next.decidedAt;
  } else {
    next.decidedBy = actor;
    next.decidedAt = now;
  }
  return { kind: 'changed', item: next };
}

/** Items added by people start accepted: their author stands behind them. */
export function newUserItem(payload: AddFeedbackPayload, actor: User, id: string, now: string): FeedbackItem {
  const item: FeedbackItem = {
    id,
    sectionId: payload.sectionId,
    type: payload.type,
    category: payload.category,
    description: payload.description,
    questions: [],
    refs: [],
    risk: payload.risk ?? (payload.type === 'critical' ? 'medium' : 'low'),
    confidence: 1,
    source: 'user',
    status: 'accepted',
    decidedBy: actor,
    decidedAt: now,
    createdBy: actor,
    createdAt: now,
    version: 1,
    replies: [],
    resolved: false,
  };
  if (payload.suggestion) item.suggestion = payload.suggestion;
  if (payload.quote) item.quote = payload.quote;
  if (payload.replacement) item.replacement = payload.replacement;
  if (payload.linkedTo) item.linkedTo = payload.linkedTo;
  return item;
}

/** Only an item's author or the review's owner edits or deletes it. */
export function assertMayModify(item: FeedbackItem, actor: User, role: Role): void {
  if (role === 'owner') return;
  if (item.createdBy.id !== actor.id) {
    throw new PrismError('forbidden', 'Only its author or the review owner can change this item.');
  }
}

const EDITABLE = ['type', 'category', 'description', 'suggestion', 'quote', 'replacement', 'risk'] as const;

export function edit(item: FeedbackItem, payload: EditFeedbackPayload): Change {
  if (item.version !== payload.version) throw conflict(item);
  const next: FeedbackItem = { ...item };
  let changed = false;
  for (const field of EDITABLE) {
    const value = payload[field];
    if (value === undefined || value === item[field]) continue;
    changed = true;
    if (value === '' && (field === 'suggestion' || field === 'quote' || field === 'replacement')) {
      delete next[field];
    } else Object.assign(next, { [field]: value });
  }
  if (!changed) return { kind: 'noop', item };
  // Why it was collapsed was said of its old kind; a person who re-types it owns what it is now.
  if (next.collapsed && (next.type !== item.type || next.category !== item.category)) delete next.collapsed;
  next.version = item.version + 1;
  return { kind: 'changed', item: next };
}

export function assertCurrentVersion(item: FeedbackItem, version: number): void {
  if (item.version !== version) throw conflict(item);
}

const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

export function computeStats(feedback: FeedbackItem[], usage: ReviewStats['usage']): ReviewStats {
  const stats: ReviewStats = {
    total: feedback.length,
    byType: {},
    byRisk: {},
    byStatus: {},
    bySource: {},
    bySection: {},
    usage,
  };
  for (const item of feedback) {
    bump(stats.byType, item.type);
    bump(stats.byRisk, item.risk);
    bump(stats.byStatus, item.status);
    bump(stats.bySource, item.source);
    bump(stats.bySection, item.sectionId);
  }
  return stats;
}

/** Chat is shown in the order messages were created; ids break ties deterministically. */
export const byCreation = <T extends { createdAt: string; id: string }>(a: T, b: T): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1;

/** Most replies one item keeps: the item is one stored value, so its thread cannot grow forever. */
export const MAX_REPLIES = 500;

/** The item with its thread fields filled: items stored before threads read as no replies, open. */
export const withThread = (item: FeedbackItem): FeedbackItem =>
  item.replies && item.resolved !== undefined
    ? item
    : { ...item, replies: item.replies ?? [], resolved: item.resolved ?? false };

/**
 * Appends a reply. Thread changes keep `version`: it counts decisions and edits, which a person
 * names when deciding, and a reply arriving meanwhile must not turn their decision into a conflict.
 */
export function addReply(item: FeedbackItem, reply: Reply): Change {
  const replies = item.replies ?? [];
  if (replies.some((r) => r.id === reply.id)) return { kind: 'noop', item };
  if (replies.length >= MAX_REPLIES) {
    throw new PrismError('too_long', `This thread has ${MAX_REPLIES} replies; start a new item.`);
  }
  return { kind: 'changed', item: { ...withThread(item), replies: [...replies, reply] } };
}

/** Resolves or reopens the thread; the same state is a no-op. Keeps `version` (see `addReply`). */
export function resolveThread(item: FeedbackItem, resolved: boolean): Change {
  if ((item.resolved ?? false) === resolved) return { kind: 'noop', item: withThread(item) };
  return { kind: 'changed', item: { ...withThread(item), resolved } };
}
