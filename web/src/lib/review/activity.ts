/** The room's activity feed: one line per meaningful event (deltas are left out). */
import type { ChatMessage, FeedbackItem, ReviewEvent, ReviewSnapshot, User } from '../types.ts';

export type ActivityKind =
  | 'analysis'
  | 'finding'
  | 'decision'
  | 'edit'
  | 'chat'
  | 'member'
  | 'export'
  | 'error';

export interface ActivityEntry {
  id: string;
  at: string;
  actor: User;
  kind: ActivityKind;
  text: string;
}

export interface ActivityContext {
  sectionTitle: (sectionId: string) => string | undefined;
  /** The item's status before a `feedback.updated`, as the log had it. */
  beforeStatus?: FeedbackItem['status'] | undefined;
  chat: (messageId: string) => ChatMessage | undefined;
}

const clip = (text: string, max = 90): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const OPENS = /^["“‘'«„]/;
const CLOSES = /["”’'»]$/;

/**
 * `text` clipped, in quote marks, never doubled: a text wrapped in its own marks gets “ ” instead, and one
 * that starts or ends with a quoted word (“was caused” is passive voice) keeps its own marks only.
 */
export const quoted = (text: string, max = 70): string => {
  const inner = clip(text, max);
  const end = inner.replace(/…$/, '');
  if (OPENS.test(inner) && CLOSES.test(end) && !/["“”]/.test(inner.slice(1, -1))) {
    return `“${inner.slice(1, -1).trim()}”`;
  }
  if (OPENS.test(inner) || CLOSES.test(end)) return inner;
  return `“${inner}”`;
};

const typeWord: Record<FeedbackItem['type'], string> = {
  critical: 'a critical finding',
  important: 'an important finding',
  suggestion: 'a suggestion',
  positive: 'a positive note',
};

/** What a decision that leaves an item at `status` did to it: accepted, rejected or (back to pending) reopened. */
export const decisionVerb = (status: FeedbackItem['status']): string =>
  status === 'pending' ? 'reopened' : status;

export function activityFromEvent(event: ReviewEvent, context: ActivityContext): ActivityEntry | null {
  const base = { id: `e${event.seq}`, at: event.at, actor: event.actor };
  const where = (sectionId: string) => {
    const title = context.sectionTitle(sectionId);
    return title ? quoted(title, 60) : 'a section';
  };
  switch (event.type) {
    case 'section.status': {
      const { sectionId, status, error, model } = event.data;
      const section = where(sectionId);
      switch (status) {
        case 'queued':
          return { ...base, kind: 'analysis', text: `queued ${section} for analysis` };
        case 'analyzing':
          return null;
        case 'done':
          return { ...base, kind: 'analysis', text: `finished ${section}${model ? ` with ${model}` : ''}` };
        case 'failed':
          return {
            ...base,
            kind: 'error',
            text: `could not analyze ${section}${error ? `: ${clip(error.message, 140)}` : ''}`,
          };
        case 'cancelled':
          return { ...base, kind: 'analysis', text: `cancelled the analysis of ${section}` };
        default:
          return null;
      }
    }
    case 'feedback.added': {
      const { item } = event.data;
      return {
        ...base,
        kind: 'finding',
        text: `added ${typeWord[item.type] ?? 'feedback'} on ${where(item.sectionId)}: ${clip(item.description)}`,
      };
    }
    case 'feedback.updated': {
      const { item } = event.data;
      const before = context.beforeStatus;
      if (before && before !== item.status) {
        return {
          ...base,
          kind: 'decision',
          text: `${decisionVerb(item.status)} ${quoted(item.description)}`,
        };
      }
      return { ...base, kind: 'edit', text: `edited ${quoted(item.description)}` };
    }
    case 'feedback.deleted':
      return { ...base, kind: 'edit', text: `deleted ${quoted(event.data.item.description)}` };
    case 'chat.message': {
      const { message } = event.data;
      if (message.role !== 'user') return null;
      return { ...base, kind: 'chat', text: `asked: ${clip(message.text)}` };
    }
    case 'chat.done':
      return { ...base, kind: 'chat', text: `answered with ${event.data.model}` };
    case 'chat.failed':
      return { ...base, kind: 'error', text: `could not answer: ${clip(event.data.error.message, 140)}` };
    case 'member.joined':
      return { ...base, kind: 'member', text: `joined as ${event.data.role}` };
    case 'export.ready':
      // The location is a path on the server or a bucket key: nothing a reader can open from here.
      return { ...base, kind: 'export', text: `saved the review package to the team's storage` };
    case 'review.status': {
      if (event.data.status === 'open') return { ...base, kind: 'decision', text: 'reopened the review' };
      const { accepted, rejected, pending } = event.data.summary;
      return {
        ...base,
        kind: 'decision',
        text: `submitted the review: ${accepted} accepted, ${rejected} rejected, ${pending} pending`,
      };
    }
    default:
      return null;
  }
}

/** What the snapshot tells about the past: people's feedback and decisions, questions asked. */
export function activityFromSnapshot(snapshot: ReviewSnapshot): ActivityEntry[] {
  const entries: ActivityEntry[] = [];
  for (const item of snapshot.feedback) {
    if (item.source === 'user') {
      entries.push({
        id: `s-add-${item.id}`,
        at: item.createdAt,
        actor: item.createdBy,
        kind: 'finding',
        text: `added ${typeWord[item.type] ?? 'feedback'}: ${clip(item.description)}`,
      });
    }
    if (item.decidedBy && item.decidedAt && item.status !== 'pending') {
      entries.push({
        id: `s-dec-${item.id}`,
        at: item.decidedAt,
        actor: item.decidedBy,
        kind: 'decision',
        text: `${item.status} ${quoted(item.description)}`,
      });
    }
  }
  for (const message of snapshot.chat) {
    if (message.role === 'user') {
      entries.push({
        id: `s-chat-${message.id}`,
        at: message.createdAt,
        actor: message.author,
        kind: 'chat',
        text: `asked: ${clip(message.text)}`,
      });
    }
  }
  return entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
