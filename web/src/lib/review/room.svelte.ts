/**
 * One open review room as runes state: the snapshot, then the review's events applied in `seq` order.
 * A facade over three parts with private state:
 *
 * - `sync.ts` orders events by `seq` (one batch per frame, gaps closed with `review:join {since}`);
 * - `apply.ts` keeps the review as the log has it and applies each event by type;
 * - `overlay.ts` shows decisions at once (optimistic) and rolls them back when the server says `conflict`.
 *
 * Chat deltas append to their streaming message; a snapshot taken mid-reply carries `lastIndex`, and
 * deltas at or below it are already in its text. The transport is injected (the browser passes the
 * Socket.IO module; tests pass a fake).
 */

import type { ChecklistEntry, Rubric, Verdict } from '../../../../core/src/checklist.ts';
import type { RevisionInfo } from '../../../../core/src/revisions.ts';
import type {
  AddFeedbackPayload,
  AiInfo,
  ChatMessage,
  EditFeedbackPayload,
  Failure,
  FeedbackItem,
  FeedbackStatus,
  Member,
  PresenceMember,
  ReviewSnapshot,
  Role,
  Section,
  ServerToClientEvents,
  User,
} from '../types.ts';
import { type ActivityEntry, decisionVerb, quoted } from './activity.ts';
import { type ExportNotice, emptyUsage, type Overruled, ReviewState, type UsageTotals } from './apply.ts';
import { ReviewLifecycle } from './lifecycle.svelte.ts';
import { lastSeen, markSeen, mentionMessage, unreadMentions } from './notices.ts';
import { DecisionOverlay } from './overlay.ts';
import { defaultSchedule, SeqSync, type SyncTransport } from './sync.ts';

export interface RoomTransport extends SyncTransport {
  on<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]): () => void;
  /** Called on every (re)connect; returns the unsubscribe. */
  onConnect(handler: () => void): () => void;
}

export interface Notice {
  kind: 'info' | 'success' | 'error';
  message: string;
}

export interface RoomOptions {
  transport: RoomTransport;
  /** The person using this page. */
  me: User;
  /** Runs `flush` once soon, before the next paint. Defaults to requestAnimationFrame (with a timer fallback). */
  schedule?: (flush: () => void) => void;
  /** Toasts: conflicts, failures, someone changing my decision. */
  notify?: (notice: Notice) => void;
}

export type RoomPhase = 'connecting' | 'ready' | 'error';

export interface RoomError {
  code: string;
  message: string;
}

export type ActionResult<T = unknown> = { ok: true; value: T } | { ok: false; error: Failure };

/** An item's rank (CONTRACT 7.4); items made before ranking, and people's, sit in the middle. */
const rankOf = (item: FeedbackItem): number => item.rank ?? 0.5;

const byCreated = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** "Ana rejected “Passive voice…”, which you accepted." */
function overruledMessage(change: Overruled): string {
  const what = quoted(change.item.description, 60);
  return `${change.by.name} ${decisionVerb(change.item.status)} ${what}, which you ${change.from}.`;
}

export class Room {
  readonly id: string;
  readonly me: User;

  phase = $state<RoomPhase>('connecting');
  error = $state<RoomError | null>(null);
  /** The last event applied. */
  seq = $state(0);
  /** True once the room has caught up after the latest (re)connect. */
  synced = $state(false);

  title = $state('');
  createdAt = $state('');
  owner = $state<User | null>(null);
  role = $state<Role>('viewer');
  /** The provider the workers announced; null when none did (then nothing is analysed until one starts). */
  ai = $state.raw<AiInfo | null>(null);

  sections = $state.raw<Section[]>([]);
  /** Live reasoning text per section (analysis.delta), while it is analysed with thinking on. */
  reasoning = $state.raw<Record<string, string>>({});
  /**
   * Every item of the review, decisions in flight applied: the team's priority first (`rank`,
   * CONTRACT 7.4; then section order, then creation order), or with `order` 'document' in section
   * order then creation order. A section's own list keeps this order.
   */
  items = $state.raw<FeedbackItem[]>([]);
  /** How items are ordered: by `rank` (the default), or where they are in the document. */
  order = $state<'rank' | 'document'>('rank');
  chat = $state.raw<ChatMessage[]>([]);
  members = $state.raw<Member[]>([]);
  /** The latest `presence` broadcast; null until the first one arrives. */
  presence = $state.raw<PresenceMember[] | null>(null);
  activity = $state.raw<ActivityEntry[]>([]);
  usage = $state.raw<UsageTotals>(emptyUsage());
  exports = $state.raw<ExportNotice[]>([]);
  /** The document's latest revision and every revision's record (CONTRACT 7.5). */
  revision = $state(1);
  revisions = $state.raw<RevisionInfo[]>([]);
  /** The review's rubric and the checklist's verdicts in checkpoint order (CONTRACT 7.4). */
  rubric = $state.raw<Rubric | null>(null);
  checklist = $state.raw<ChecklistEntry[]>([]);
  /** Ids of items with a decision on its way to the server. */
  deciding = $state.raw<ReadonlySet<string>>(new Set());

  /** Set when the owner deleted the review (`review.deleted`): the room shows who, and stops. */
  deleted = $state.raw<{ by: User; title: string } | null>(null);

  selectedSectionId = $state<string | null>(null);
  /** Open or submitted (lifecycle.svelte.ts); a submitted review is read-only until the owner reopens it. */
  readonly lifecycle = new ReviewLifecycle();

  /** May submit the review, or write its package: owner and reviewer, whatever its status. */
  readonly canSubmit: boolean = $derived(this.role === 'owner' || this.role === 'reviewer');
  /** May change findings, run analysis and ask: owner and reviewer while the review is open. */
  readonly canWrite: boolean = $derived(this.canSubmit && !this.lifecycle.isSubmitted);
  readonly isOwner: boolean = $derived(this.role === 'owner');
  /** A model analyses (Bedrock): thinking means something. Rules are deterministic checks. */
  readonly hasModel: boolean = $derived(this.ai?.provider === 'bedrock');
  readonly selectedSection: Section | null = $derived(
    this.sections.find((section) => section.id === this.selectedSectionId) ?? this.sections[0] ?? null,
  );
  readonly analyzing: boolean = $derived(
    this.sections.some((section) => section.status === 'queued' || section.status === 'analyzing'),
  );
  /** Sections of the current run: finished / all that were started (0..1), null when nothing ran. */
  readonly progress: { done: number; total: number } | null = $derived.by(() => {
    let done = 0;
    let total = 0;
    for (const section of this.sections) {
      if (section.status === 'idle') continue;
      total += 1;
      if (section.status !== 'queued' && section.status !== 'analyzing') done += 1;
    }
    return total === 0 ? null : { done, total };
  });
  /** Sections whose latest analysis finished, of all the document's sections (after a revision too). */
  readonly analysed: number = $derived(this.sections.filter((section) => section.status === 'done').length);
  /** Who else is typing in the chat. */
  readonly typing: User[] = $derived(
    (this.presence ?? []).filter((m) => m.typing && m.online && m.user.id !== this.me.id).map((m) => m.user),
  );

  readonly #transport: RoomTransport;
  readonly #notify: (notice: Notice) => void;
  readonly #state: ReviewState;
  readonly #overlay: DecisionOverlay;
  readonly #sync: SeqSync;
  #destroyed = false;
  #unsubscribe: (() => void)[] = [];

  constructor(id: string, options: RoomOptions) {
    this.id = id;
    this.me = options.me;
    this.#transport = options.transport;
    this.#notify = options.notify ?? (() => {});
    this.#overlay = new DecisionOverlay(options.me);
    this.#state = new ReviewState({
      me: options.me,
      onItem: (item, previous) => this.#overlay.landed(item, previous),
      onOverruled: (change) => this.#notify({ kind: 'info', message: overruledMessage(change) }),
      onMention: (mentions) => {
        this.#notify({ kind: 'info', message: mentionMessage(mentions, false) });
        markSeen(this.id, this.me.id, mentions.at(-1)!.reply.createdAt);
      },
    });
    this.#sync = new SeqSync(id, options.transport, options.schedule ?? defaultSchedule, {
      snapshot: (snapshot) => this.#applySnapshot(snapshot),
      apply: (event) => {
        if (event.type === 'review.deleted') {
          this.deleted = { by: event.actor, title: event.data.title };
          this.destroy();
          return;
        }
        this.#state.apply(event);
        this.lifecycle.apply(event);
      },
      publish: () => this.#publish(),
      failed: (error, fatal) => {
        if (fatal) {
          this.error = error;
          this.phase = 'error';
        } else if (!this.#sync.loaded) {
          this.error = error;
        }
      },
      caughtUp: () => {
        this.synced = true;
      },
    });
  }

  /** Subscribes to the transport and joins (now when connected, else on connect). */
  start(): void {
    this.#unsubscribe.push(
      this.#transport.on('review:event', (event) => this.#sync.receive(event)),
      this.#transport.on('presence', (payload) => {
        if (payload.reviewId === this.id) this.presence = payload.members;
      }),
      this.#transport.onConnect(() => {
        this.synced = false;
        void this.#join();
      }),
    );
    if (this.#transport.connected) void this.#join();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#sync.destroy();
    if (this.phase === 'ready') markSeen(this.id, this.me.id, new Date().toISOString());
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    if (this.#transport.connected) void this.#transport.request('review:leave', { reviewId: this.id });
  }

  async #join(): Promise<void> {
    await this.#sync.join();
    if (this.#destroyed) return;
    if (this.selectedSectionId) this.updatePresence({ sectionId: this.selectedSectionId });
  }

  #applySnapshot(snapshot: ReviewSnapshot): void {
    this.title = snapshot.title;
    this.createdAt = snapshot.createdAt;
    this.owner = snapshot.owner;
    this.role = snapshot.role;
    this.ai = snapshot.ai ?? null;
    this.lifecycle.load(snapshot);
    this.#state.load(snapshot);
    this.#overlay.prune(this.#state.server);
    // Mentions of me since my last visit in this browser, once per visit (a reset reloads quietly).
    if (this.phase !== 'ready') {
      const unread = unreadMentions(snapshot.feedback, this.me.id, lastSeen(this.id, this.me.id));
      if (unread.length > 0) this.#notify({ kind: 'info', message: mentionMessage(unread, true) });
      markSeen(this.id, this.me.id, new Date().toISOString());
    }
    if (!this.selectedSectionId || !this.#state.sections.has(this.selectedSectionId)) {
      this.selectedSectionId = snapshot.sections[0]?.id ?? null;
    }
    this.error = null;
    this.phase = 'ready';
  }

  /** Copies what changed into the runes state, once per batch. */
  #publish(): void {
    const state = this.#state;
    const dirty = state.takeDirty();
    this.seq = this.#sync.seq;
    if (dirty.sections) {
      this.sections = [...state.sections.values()].sort((a, b) => a.index - b.index);
      this.revision = state.revision;
      this.revisions = state.revisions;
    }
    if (this.reasoning !== state.reasoning) this.reasoning = state.reasoning;
    // Item order uses section indexes, which only a snapshot sets (and it marks the items too): a
    // section's status alone does not re-sort every item, nor rerun what reads them.
    if (dirty.items) this.#publishItems();
    if (dirty.chat) this.chat = [...state.chat.values()].sort(byCreated);
    if (dirty.members) this.members = [...state.members.values()];
    if (dirty.activity) this.activity = [...state.activity];
    if (dirty.usage) this.usage = state.usage;
    if (dirty.exports) this.exports = state.exports;
    if (dirty.checklist) {
      this.rubric = state.rubric;
      this.checklist = [...state.checklist.values()].sort((a, b) => a.n - b.n);
    }
  }

  /** Orders items by the team's priority, or where they are in the document. */
  setOrder(order: 'rank' | 'document'): void {
    if (this.order === order) return;
    this.order = order;
    this.#publishItems();
  }

  #publishItems(): void {
    const order = new Map<string, number>();
    for (const section of this.#state.sections.values()) order.set(section.id, section.index);
    const shown: FeedbackItem[] = [];
    for (const item of this.#state.server.values()) shown.push(this.#overlay.show(item));
    const ranked = this.order === 'rank';
    shown.sort(
      (a, b) =>
        (ranked ? rankOf(b) - rankOf(a) : 0) ||
        (order.get(a.sectionId) ?? Number.MAX_SAFE_INTEGER) -
          (order.get(b.sectionId) ?? Number.MAX_SAFE_INTEGER) ||
        byCreated(a, b),
    );
    this.items = shown;
    this.deciding = new Set([...this.#overlay.ids()].filter((id) => this.#state.server.has(id)));
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  /** Accept, reject or reopen (`pending`): shown at once, rolled back if the server says otherwise. */
  decide(feedbackId: string, status: FeedbackStatus): Promise<void> {
    if (!this.canWrite || !this.#state.server.has(feedbackId)) return Promise.resolve();
    const token = this.#overlay.set(feedbackId, status);
    this.#publishItems();
    return this.#overlay.enqueue(feedbackId, () => this.#sendDecision(feedbackId, status, token));
  }

  async #sendDecision(feedbackId: string, status: FeedbackStatus, token: object): Promise<void> {
    // A later click replaced this one before it was sent: only the latest goes to the server.
    if (!this.#overlay.isLatest(feedbackId, token)) return;
    const current = this.#state.server.get(feedbackId);
    if (!current) {
      this.#overlay.settle(feedbackId, token);
      this.#publishItems();
      return;
    }
    const response = await this.#transport.request('feedback:decide', {
      reviewId: this.id,
      feedbackId,
      status,
      version: current.version,
    });
    if (this.#destroyed) return;
    this.#overlay.settle(feedbackId, token);
    if (response.ok) {
      this.#state.putItem(response.item);
    } else if (response.error.code === 'conflict' && response.item) {
      this.#state.putItem(response.item);
      const first = response.item.decidedBy?.name ?? 'Someone else';
      this.#notify({
        kind: 'info',
        message: `${first} decided first: it is ${response.item.status} now.`,
      });
    } else {
      if (response.error.code === 'not_found') this.#state.removeItem(feedbackId);
      this.#notify({ kind: 'error', message: response.error.message });
    }
    this.#publishItems();
  }

  async addFeedback(input: Omit<AddFeedbackPayload, 'reviewId'>): Promise<ActionResult<FeedbackItem>> {
    const response = await this.#transport.request('feedback:add', { ...input, reviewId: this.id });
    if (!response.ok) return { ok: false, error: response.error };
    this.#state.putItem(response.item);
    this.#publishItems();
    return { ok: true, value: response.item };
  }

  async editFeedback(
    feedbackId: string,
    fields: Omit<EditFeedbackPayload, 'reviewId' | 'feedbackId' | 'version'>,
  ): Promise<ActionResult<FeedbackItem>> {
    const current = this.#state.server.get(feedbackId);
    if (!current) return { ok: false, error: { code: 'not_found', message: 'This item no longer exists.' } };
    const response = await this.#transport.request('feedback:edit', {
      ...fields,
      reviewId: this.id,
      feedbackId,
      version: current.version,
    });
    if (!response.ok) {
      if (response.item) {
        this.#state.putItem(response.item);
        this.#publishItems();
      }
      return { ok: false, error: response.error };
    }
    this.#state.putItem(response.item);
    this.#publishItems();
    return { ok: true, value: response.item };
  }

  async deleteFeedback(feedbackId: string): Promise<ActionResult<null>> {
    const current = this.#state.server.get(feedbackId);
    if (!current) return { ok: true, value: null };
    const response = await this.#transport.request('feedback:delete', {
      reviewId: this.id,
      feedbackId,
      version: current.version,
    });
    if (!response.ok) return { ok: false, error: response.error };
    this.#state.removeItem(feedbackId);
    this.#overlay.drop(feedbackId);
    this.#publishItems();
    return { ok: true, value: null };
  }

  /** A reply in the item's thread; `@Name` of a member becomes a mention on the server. */
  async reply(feedbackId: string, text: string): Promise<ActionResult<null>> {
    const response = await this.#transport.request('feedback:reply', { reviewId: this.id, feedbackId, text });
    if (!response.ok) {
      if (response.error.code === 'not_found') {
        this.#state.removeItem(feedbackId);
        this.#publishItems();
      }
      return { ok: false, error: response.error };
    }
    this.#state.addReply(feedbackId, response.reply);
    this.#publishItems();
    return { ok: true, value: null };
  }

  /** Resolves (closes) or reopens the item's thread. */
  async resolve(feedbackId: string, resolved: boolean): Promise<ActionResult<null>> {
    const response = await this.#transport.request('feedback:resolve', {
      reviewId: this.id,
      feedbackId,
      resolved,
    });
    if (!response.ok) return { ok: false, error: response.error };
    // Its event (in seq order) shows it; the ack only fills in when the log has not got there yet.
    const current = this.#state.server.get(feedbackId);
    if (current && (current.replies?.length ?? 0) === (response.item.replies?.length ?? 0)) {
      this.#state.putItem(response.item, 'log');
    }
    this.#publishItems();
    return { ok: true, value: null };
  }

  /** A person's verdict on a checkpoint, with a comment; its `checklist.updated` event shows it to everyone. */
  async overrideChecklist(
    n: number,
    verdict: Verdict,
    comment: string,
  ): Promise<ActionResult<ChecklistEntry>> {
    const response = await this.#transport.request('checklist:override', {
      reviewId: this.id,
      n,
      verdict,
      comment,
    });
    if (!response.ok) return { ok: false, error: response.error };
    // The event (in seq order) normally lands first; the ack fills in when it has not yet.
    if (this.#state.checklist.get(n)?.at !== response.entry.at) {
      this.#state.checklist.set(n, response.entry);
      this.#state.dirty.checklist = true;
      this.#publish();
    }
    return { ok: true, value: response.entry };
  }

  async startAnalysis(sectionIds?: string[], thinking = false): Promise<ActionResult<null>> {
    const payload = sectionIds
      ? { reviewId: this.id, sectionIds, thinking }
      : { reviewId: this.id, thinking };
    const response = await this.#transport.request('analysis:start', payload);
    return response.ok ? { ok: true, value: null } : { ok: false, error: response.error };
  }

  async cancelAnalysis(sectionIds?: string[]): Promise<ActionResult<null>> {
    const payload = sectionIds ? { reviewId: this.id, sectionIds } : { reviewId: this.id };
    const response = await this.#transport.request('analysis:cancel', payload);
    return response.ok ? { ok: true, value: null } : { ok: false, error: response.error };
  }

  async sendChat(
    text: string,
    sectionId?: string,
    thinking = false,
  ): Promise<ActionResult<{ messageId: string; replyId: string }>> {
    const payload = {
      reviewId: this.id,
      text,
      ...(sectionId ? { sectionId } : {}),
      // Only a model reasons; the rules provider would ignore it.
      ...(thinking && this.hasModel ? { thinking: true } : {}),
    };
    const response = await this.#transport.request('chat:send', payload);
    if (!response.ok) return { ok: false, error: response.error };
    return { ok: true, value: { messageId: response.messageId, replyId: response.replyId } };
  }

  async cancelChat(messageId: string): Promise<ActionResult<null>> {
    const response = await this.#transport.request('chat:cancel', { reviewId: this.id, messageId });
    return response.ok ? { ok: true, value: null } : { ok: false, error: response.error };
  }

  updatePresence(change: { sectionId?: string | null; typing?: boolean }): void {
    if (!this.#transport.connected || this.#destroyed) return;
    void this.#transport.request('presence:update', { reviewId: this.id, ...change });
  }

  selectSection(sectionId: string): void {
    if (this.selectedSectionId === sectionId) return;
    this.selectedSectionId = sectionId;
    this.updatePresence({ sectionId });
  }

  /** Moves the selection by `step` sections (keyboard j/k). */
  moveSection(step: number): void {
    const index = this.sections.findIndex((section) => section.id === this.selectedSection?.id);
    const next = this.sections[Math.min(this.sections.length - 1, Math.max(0, index + step))];
    if (next) this.selectSection(next.id);
  }

  item(feedbackId: string): FeedbackItem | undefined {
    return this.items.find((item) => item.id === feedbackId);
  }

  /** May the person change or delete this item (its author, or the owner)? */
  mayModify(item: FeedbackItem): boolean {
    return this.canWrite && (this.isOwner || item.createdBy.id === this.me.id);
  }
}
