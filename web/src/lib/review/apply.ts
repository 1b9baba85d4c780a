/**
 * The review as the server's log has it, kept in plain maps: a snapshot loads it, each event changes it
 * by type. It remembers what changed (`dirty`) so the room copies only that into its runes state, once
 * per batch. Decisions in flight are not here: they are the overlay's (overlay.ts).
 */

import type { ChecklistEntry, Rubric } from '../../../../core/src/checklist.ts';
import type { RevisionInfo } from '../../../../core/src/revisions.ts';
import type {
  ChatMessage,
  FeedbackItem,
  FeedbackStatus,
  Member,
  ReviewEvent,
  ReviewEventData,
  ReviewSnapshot,
  ReviewStats,
  Section,
  Usage,
  User,
} from '../types.ts';
import { type ActivityEntry, activityFromEvent, activityFromSnapshot } from './activity.ts';
import { type Mention, newMentions } from './notices.ts';

/** The review's token totals as the snapshot's `stats.usage` has them, kept up by the events since. */
export type UsageTotals = ReviewStats['usage'] & {
  /** Tokens arrived since that snapshot: `usd` (priced on the server) leaves them out until the next one. */
  usdBehind?: boolean;
};

/** A written review package (the `export.ready` event's data). */
export type ExportNotice = ReviewEventData['export.ready'];

export interface Dirty {
  sections: boolean;
  items: boolean;
  chat: boolean;
  members: boolean;
  activity: boolean;
  usage: boolean;
  exports: boolean;
  checklist: boolean;
}

/** Someone else changed a decision this person made a moment ago. */
export interface Overruled {
  item: FeedbackItem;
  by: User;
  from: FeedbackStatus;
}

export interface ReviewStateOptions {
  me: User;
  /** An item changed on the server side (after `previous`): lets the overlay drop a landed decision. */
  onItem?: (item: FeedbackItem, previous: FeedbackItem | undefined) => void;
  onOverruled?: (change: Overruled) => void;
  /** A logged change brought replies that mention me (see notices.ts). */
  onMention?: (mentions: Mention[]) => void;
  /** For "moments ago"; tests pass their own clock. */
  now?: () => number;
}

const MAX_ACTIVITY = 500;
const MAX_REASONING = 20_000;
/** How recent a decision of mine must be for someone else's change to it to be worth a toast. */
export const OVERRULED_WITHIN_MS = 5 * 60_000;

export const emptyUsage = (): UsageTotals => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  models: {},
});

const clean = (): Dirty => ({
  sections: false,
  items: false,
  chat: false,
  members: false,
  activity: false,
  usage: false,
  exports: false,
  checklist: false,
});

export class ReviewState {
  sections = new Map<string, Section>();
  /** Items as the server last gave them (by version). */
  server = new Map<string, FeedbackItem>();
  chat = new Map<string, ChatMessage>();
  members = new Map<string, Member>();
  activity: ActivityEntry[] = [];
  usage: UsageTotals = emptyUsage();
  reasoning: Record<string, string> = {};
  exports: ExportNotice[] = [];
  /** The document's latest revision and every revision's record (CONTRACT 7.5); marked with `sections`. */
  revision = 1;
  revisions: RevisionInfo[] = [];
  /** The review's rubric and the checklist's verdicts by checkpoint `n` (CONTRACT 7.4). */
  rubric: Rubric | null = null;
  checklist = new Map<number, ChecklistEntry>();
  dirty: Dirty = clean();

  /** Deleted ids: a late `feedback.updated` must not bring one back. */
  #deleted = new Set<string>();
  /** The status the log last gave each item (acks may have moved `server` ahead of the log already). */
  #loggedStatus = new Map<string, FeedbackStatus>();
  #loaded = false;
  readonly #options: ReviewStateOptions;

  constructor(options: ReviewStateOptions) {
    this.#options = options;
  }

  /** Replaces everything with a snapshot (first join, or a `reset`); the activity feed is kept on a reset. */
  load(snapshot: ReviewSnapshot): void {
    const first = !this.#loaded;
    this.#loaded = true;
    this.sections = new Map(snapshot.sections.map((section) => [section.id, { ...section }]));
    this.revision = snapshot.revision ?? 1;
    this.revisions = snapshot.revisions ?? [];
    this.server = new Map(snapshot.feedback.map((item) => [item.id, item]));
    this.#loggedStatus = new Map(snapshot.feedback.map((item) => [item.id, item.status]));
    this.#deleted.clear();
    this.chat = new Map(snapshot.chat.map((message) => [message.id, { ...message }]));
    this.members = new Map(snapshot.members.map((member) => [member.user.id, member]));
    const usage = snapshot.stats?.usage;
    this.usage = usage ? { ...usage, models: { ...usage.models } } : emptyUsage();
    if (first) this.activity = activityFromSnapshot(snapshot).slice(-MAX_ACTIVITY);
    this.rubric = snapshot.rubric ?? null;
    this.checklist = new Map((snapshot.checklist ?? []).map((entry) => [entry.n, entry]));
    this.markAll();
  }

  /** Applies one event of the log (in `seq` order). Unknown types change nothing. */
  apply(event: ReviewEvent): void {
    const before = event.type === 'feedback.updated' ? this.#loggedStatus.get(event.data.item.id) : undefined;
    if (event.type === 'feedback.added' || event.type === 'feedback.updated') {
      this.#loggedStatus.set(event.data.item.id, event.data.item.status);
    }
    switch (event.type) {
      case 'section.status':
        this.#sectionStatus(event.data);
        break;
      case 'analysis.delta': {
        const { sectionId, text } = event.data;
        const current = this.reasoning[sectionId] ?? '';
        this.reasoning = { ...this.reasoning, [sectionId]: (current + text).slice(-MAX_REASONING) };
        break;
      }
      case 'feedback.added':
        this.putItem(event.data.item);
        break;
      case 'feedback.updated': {
        this.#noticeOverruled(event);
        const previous = this.server.get(event.data.item.id);
        this.putItem(event.data.item, 'log');
        const mentions = newMentions(previous, event.data.item, this.#options.me.id);
        if (mentions.length > 0 && this.server.get(event.data.item.id) === event.data.item) {
          this.#options.onMention?.(mentions);
        }
        break;
      }
      case 'feedback.deleted':
        this.removeItem(event.data.item.id);
        break;
      case 'chat.message': {
        const { message } = event.data;
        if (!this.chat.has(message.id)) {
          this.chat.set(message.id, { ...message });
          this.dirty.chat = true;
        }
        break;
      }
      case 'chat.delta': {
        const { messageId, index, text } = event.data;
        const message = this.chat.get(messageId);
        if (message?.status !== 'streaming') break;
        // A mid-reply snapshot's text already holds the deltas up to `lastIndex`.
        if (message.lastIndex !== undefined && index <= message.lastIndex) break;
        this.chat.set(messageId, { ...message, text: message.text + text, lastIndex: index });
        this.dirty.chat = true;
        break;
      }
      case 'chat.done': {
        const { messageId, text, model, usage, citations } = event.data;
        const message = this.chat.get(messageId);
        if (message) {
          const next: ChatMessage = { ...message, text, model, status: 'done' };
          if (citations) next.citations = citations;
          this.chat.set(messageId, next);
          this.dirty.chat = true;
        }
        this.#addUsage(usage, model);
        break;
      }
      case 'chat.failed': {
        const { messageId, error } = event.data;
        const message = this.chat.get(messageId);
        if (message) {
          this.chat.set(messageId, { ...message, status: 'failed', error });
          this.dirty.chat = true;
        }
        break;
      }
      case 'member.joined': {
        const { user, role } = event.data;
        const current = this.members.get(user.id);
        this.members.set(user.id, { user, role, online: current?.online ?? true });
        this.dirty.members = true;
        break;
      }
      case 'revision.added':
        this.#revision(event.data);
        break;
      case 'checklist.updated':
        this.checklist.set(event.data.n, event.data);
        this.dirty.checklist = true;
        break;
      case 'export.ready':
        this.exports = [...this.exports, event.data];
        this.dirty.exports = true;
        break;
      default:
        // An event type this page does not know yet: its seq still counts.
        break;
    }
    const entry = activityFromEvent(event, {
      sectionTitle: (id) => this.sections.get(id)?.title,
      beforeStatus: before,
      chat: (id) => this.chat.get(id),
    });
    if (entry) {
      this.activity.push(entry);
      if (this.activity.length > MAX_ACTIVITY) this.activity.splice(0, this.activity.length - MAX_ACTIVITY);
      this.dirty.activity = true;
    }
  }

  /**
   * Keeps the newer of what we have and `item` (by version); a deleted item stays deleted.
   * Replies and resolve keep the version, so at an equal version the log (in seq order) is the
   * newer; an ack (`from: 'ack'`) at an equal version keeps the thread the log already gave.
   */
  putItem(item: FeedbackItem, from: 'log' | 'ack' = 'ack'): void {
    if (this.#deleted.has(item.id)) return;
    const current = this.server.get(item.id);
    if (current && current.version > item.version) return;
    if (from === 'ack' && current && current.version === item.version) {
      item = { ...item, replies: current.replies ?? item.replies ?? [], resolved: current.resolved ?? false };
    }
    this.server.set(item.id, item);
    this.#options.onItem?.(item, current);
    this.dirty.items = true;
  }

  /** My own reply, from its ack (its event may come later, or have come already). */
  addReply(feedbackId: string, reply: NonNullable<FeedbackItem['replies']>[number]): void {
    const current = this.server.get(feedbackId);
    if (!current || current.replies?.some((r) => r.id === reply.id)) return;
    this.server.set(feedbackId, { ...current, replies: [...(current.replies ?? []), reply] });
    this.dirty.items = true;
  }

  /** A revised document: its sections replace the old ones, carried and outdated items land, dropped ones go. */
  #revision(data: ReviewEventData['revision.added']): void {
    this.sections = new Map(data.sections.map((section) => [section.id, { ...section }]));
    for (const item of data.items) {
      if (this.#deleted.has(item.id)) continue;
      const current = this.server.get(item.id);
      this.server.set(item.id, item);
      this.#options.onItem?.(item, current);
    }
    for (const id of data.removedItems) this.removeItem(id);
    this.revision = data.number;
    this.revisions = [...this.revisions.filter((r) => r.number < data.number), data.revision];
    this.dirty.sections = true;
    this.dirty.items = true;
  }

  removeItem(id: string): void {
    this.server.delete(id);
    this.#deleted.add(id);
    this.dirty.items = true;
  }

  markAll(): void {
    this.dirty = {
      sections: true,
      items: true,
      chat: true,
      members: true,
      activity: true,
      usage: true,
      exports: true,
      checklist: true,
    };
  }

  /** What changed since the last call, and a clean slate. */
  takeDirty(): Dirty {
    const dirty = this.dirty;
    this.dirty = clean();
    return dirty;
  }

  #sectionStatus(data: Extract<ReviewEvent, { type: 'section.status' }>['data']): void {
    const { sectionId, status, model, error, usage, note } = data;
    const section = this.sections.get(sectionId);
    if (section) {
      const next: Section = { ...section, status };
      if (model) next.model = model;
      if (note) next.note = note;
      else delete next.note;
      if (error) next.error = error;
      else if (status !== 'failed') delete next.error;
      if (usage) next.usage = usage;
      this.sections.set(sectionId, next);
      this.dirty.sections = true;
    }
    // A new run starts its reasoning afresh.
    if (status === 'queued' && this.reasoning[sectionId]) {
      this.reasoning = { ...this.reasoning, [sectionId]: '' };
    }
    if (usage) this.#addUsage(usage, model);
  }

  /** Someone else changed the status of an item I decided moments ago: tell me who and what. */
  #noticeOverruled(event: Extract<ReviewEvent, { type: 'feedback.updated' }>): void {
    const { me, onOverruled, now = Date.now } = this.#options;
    if (!onOverruled || event.actor.id === me.id) return;
    const previous = this.server.get(event.data.item.id);
    const next = event.data.item;
    if (!previous || previous.version >= next.version || previous.status === next.status) return;
    if (previous.status === 'pending' || previous.decidedBy?.id !== me.id || !previous.decidedAt) return;
    if (now() - Date.parse(previous.decidedAt) > OVERRULED_WITHIN_MS) return;
    onOverruled({ item: next, by: event.actor, from: previous.status });
  }

  #addUsage(usage: Usage, model?: string): void {
    const next = { ...this.usage, models: { ...this.usage.models } };
    next.inputTokens += usage.inputTokens;
    next.outputTokens += usage.outputTokens;
    next.cacheReadTokens += usage.cacheReadTokens ?? 0;
    next.cacheWriteTokens += usage.cacheWriteTokens ?? 0;
    if (model) next.models[model] = (next.models[model] ?? 0) + 1;
    // Prices live on the server; the browser does not guess them.
    const spent =
      usage.inputTokens + usage.outputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0);
    if (spent > 0 && next.usd !== undefined) next.usdBehind = true;
    this.usage = next;
    this.dirty.usage = true;
  }
}
