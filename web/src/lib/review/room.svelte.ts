/**
 * One open review room as runes state: the snapshot, then the review's events applied in `seq` order.
 *
 * - Events are queued as they arrive and applied in one batch per animation frame.
 * - An event at or below the current `seq` is a duplicate and ignored; one beyond `seq + 1` is held back
 *   and the gap closed with `review:join {since}` (answered with the missing `events`, or a `reset`
 *   snapshot when the log no longer reaches back). Every (re)connect joins again with `since`.
 * - Decisions show at once (optimistic) and roll back when the server answers `conflict`.
 * - Chat deltas append to their streaming message; a snapshot taken mid-reply carries `lastIndex`, and
 *   deltas at or below it are already in its text.
 *
 * The transport is injected (the browser passes the Socket.IO module; tests pass a fake).
 */

import type {
  AddFeedbackPayload,
  ChatMessage,
  ClientEventName,
  EditFeedbackPayload,
  Failure,
  FeedbackItem,
  FeedbackStatus,
  Member,
  PayloadOf,
  PresenceMember,
  ResponseOf,
  ReviewEvent,
  ReviewSnapshot,
  Role,
  Section,
  ServerToClientEvents,
  User,
} from '../types.ts';
import { type ActivityEntry, activityFromEvent, activityFromSnapshot } from './activity.ts';

export interface RoomTransport {
  readonly connected: boolean;
  request<E extends ClientEventName>(event: E, payload: PayloadOf<E>): Promise<ResponseOf<E>>;
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
  /** Toasts: conflicts, failures. */
  notify?: (notice: Notice) => void;
}

export type RoomPhase = 'connecting' | 'ready' | 'error';

export interface RoomError {
  code: string;
  message: string;
}

export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Calls per model id. */
  models: Record<string, number>;
}

export interface ExportNotice {
  jobId: string;
  location: string;
  files: string[];
}

export type ActionResult<T = unknown> = { ok: true; value: T } | { ok: false; error: Failure };

interface Optimistic {
  status: FeedbackStatus;
  at: string;
  token: object;
}

const MAX_ACTIVITY = 500;
const MAX_REASONING = 20_000;

function defaultSchedule(flush: () => void): void {
  // requestAnimationFrame does not run in hidden tabs: a timer makes sure queued events still apply.
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    flush();
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
  setTimeout(run, 100);
}

const emptyUsage = (): UsageTotals => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  models: {},
});

const byCreated = (a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

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

  sections = $state.raw<Section[]>([]);
  /** Live reasoning text per section (analysis.delta), while it is analysed with thinking on. */
  reasoning = $state.raw<Record<string, string>>({});
  /** Every item of the review, in section order then creation order, decisions in flight applied. */
  items = $state.raw<FeedbackItem[]>([]);
  chat = $state.raw<ChatMessage[]>([]);
  members = $state.raw<Member[]>([]);
  /** The latest `presence` broadcast; null until the first one arrives. */
  presence = $state.raw<PresenceMember[] | null>(null);
  activity = $state.raw<ActivityEntry[]>([]);
  usage = $state.raw<UsageTotals>(emptyUsage());
  exports = $state.raw<ExportNotice[]>([]);
  /** Ids of items with a decision on its way to the server. */
  deciding = $state.raw<ReadonlySet<string>>(new Set());

  selectedSectionId = $state<string | null>(null);

  readonly canWrite: boolean = $derived(this.role === 'owner' || this.role === 'reviewer');
  readonly isOwner: boolean = $derived(this.role === 'owner');
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
  /** Who else is typing in the chat. */
  readonly typing: User[] = $derived(
    (this.presence ?? []).filter((m) => m.typing && m.online && m.user.id !== this.me.id).map((m) => m.user),
  );

  readonly #transport: RoomTransport;
  readonly #schedule: (flush: () => void) => void;
  readonly #notify: (notice: Notice) => void;

  #loaded = false;
  #destroyed = false;
  #sectionMap = new Map<string, Section>();
  #server = new Map<string, FeedbackItem>();
  #deleted = new Set<string>();
  #optimistic = new Map<string, Optimistic>();
  #loggedStatus = new Map<string, FeedbackStatus>();
  #decideChains = new Map<string, Promise<void>>();
  #chatMap = new Map<string, ChatMessage>();
  #memberMap = new Map<string, Member>();
  #activity: ActivityEntry[] = [];
  #usage: UsageTotals = emptyUsage();
  #reasoning: Record<string, string> = {};

  /** Received, not yet looked at. */
  #queue: ReviewEvent[] = [];
  /** Ahead of `seq`: waiting for the gap before them to close. */
  #ahead = new Map<number, ReviewEvent>();
  #scheduled = false;
  #joining = false;
  #joinAgain = false;
  #dirty = { sections: false, items: false, chat: false, members: false, activity: false, usage: false };
  #unsubscribe: (() => void)[] = [];

  constructor(id: string, options: RoomOptions) {
    this.id = id;
    this.me = options.me;
    this.#transport = options.transport;
    this.#schedule = options.schedule ?? defaultSchedule;
    this.#notify = options.notify ?? (() => {});
  }

  /** Subscribes to the transport and joins (now when connected, else on connect). */
  start(): void {
    this.#unsubscribe.push(
      this.#transport.on('review:event', (event) => this.receive(event)),
      this.#transport.on('presence', (payload) => {
        if (payload.reviewId === this.id) this.presence = payload.members;
      }),
      this.#transport.onConnect(() => {
        this.synced = false;
        void this.join();
      }),
    );
    if (this.#transport.connected) void this.join();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    if (this.#transport.connected) void this.#transport.request('review:leave', { reviewId: this.id });
  }

  // -------------------------------------------------------------------------------------------
  // Joining and catching up

  /** `review:join`: a snapshot the first time, then `since` the last applied event. */
  async join(): Promise<void> {
    if (this.#destroyed) return;
    if (this.#joining) {
      this.#joinAgain = true;
      return;
    }
    this.#joining = true;
    let forceSnapshot = false;
    try {
      do {
        this.#joinAgain = false;
        const since = this.#loaded && !forceSnapshot ? this.seq : undefined;
        const response = await this.#transport.request(
          'review:join',
          since === undefined ? { reviewId: this.id } : { reviewId: this.id, since },
        );
        if (this.#destroyed) return;
        if (!response.ok) {
          this.#joinFailed(response.error);
          return;
        }
        if ('snapshot' in response) {
          this.applySnapshot(response.snapshot);
        } else {
          for (const event of response.events) this.#hold(event);
          // The replay must close the gap; if it cannot (log trimmed meanwhile), take a snapshot.
          this.#advance();
          if (this.#ahead.size > 0 && !forceSnapshot) {
            forceSnapshot = true;
            this.#joinAgain = true;
            continue;
          }
        }
        forceSnapshot = false;
      } while (this.#joinAgain && this.#transport.connected && !this.#destroyed);
    } finally {
      this.#joining = false;
    }
    this.synced = true;
    this.flush();
    if (this.selectedSectionId) this.updatePresence({ sectionId: this.selectedSectionId });
  }

  #joinFailed(error: Failure): void {
    if (error.code === 'offline') return; // the next connect joins again
    if (error.code === 'forbidden' || error.code === 'not_found' || error.code === 'unauthorized') {
      this.error = error;
      this.phase = 'error';
      return;
    }
    // Timeouts, rate limits, a server error: try again shortly.
    if (!this.#loaded) this.error = error;
    setTimeout(() => {
      if (!this.#destroyed && this.#transport.connected) void this.join();
    }, 1500);
  }

  /** Replaces the room's state with a snapshot (first join, or a `reset`). */
  applySnapshot(snapshot: ReviewSnapshot): void {
    const first = !this.#loaded;
    this.#loaded = true;
    this.seq = snapshot.seq;
    this.title = snapshot.title;
    this.createdAt = snapshot.createdAt;
    this.owner = snapshot.owner;
    this.role = snapshot.role;

    this.#sectionMap = new Map(snapshot.sections.map((section) => [section.id, { ...section }]));
    this.#server = new Map(snapshot.feedback.map((item) => [item.id, item]));
    this.#loggedStatus = new Map(snapshot.feedback.map((item) => [item.id, item.status]));
    this.#deleted.clear();
    // Decisions still in flight stay shown; their acks settle them.
    for (const [id, optimistic] of this.#optimistic) {
      if (!this.#server.has(id)) this.#optimistic.delete(id);
      else if (this.#server.get(id)?.status === optimistic.status) this.#optimistic.delete(id);
    }
    this.#chatMap = new Map(snapshot.chat.map((message) => [message.id, { ...message }]));
    this.#memberMap = new Map(snapshot.members.map((member) => [member.user.id, member]));
    const usage = snapshot.stats?.usage;
    this.#usage = usage ? { ...usage, models: { ...usage.models } } : emptyUsage();
    if (first) {
      this.#activity = activityFromSnapshot(snapshot).slice(-MAX_ACTIVITY);
    }
    for (const seq of [...this.#ahead.keys()]) if (seq <= this.seq) this.#ahead.delete(seq);
    if (!this.selectedSectionId || !this.#sectionMap.has(this.selectedSectionId)) {
      this.selectedSectionId = snapshot.sections[0]?.id ?? null;
    }
    this.error = null;
    this.phase = 'ready';
    this.#markAll();
    this.#publish();
  }

  /** A `review:event` from the server: queued, applied with the next frame's batch. */
  receive(event: ReviewEvent): void {
    if (this.#destroyed || event.reviewId !== this.id) return;
    this.#queue.push(event);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => {
      this.#scheduled = false;
      this.flush();
    });
  }

  /** Applies what is queued (in `seq` order); starts a `since` join when a gap remains. */
  flush(): void {
    if (this.#destroyed || !this.#loaded || this.#joining) return;
    const queued = this.#queue;
    this.#queue = [];
    for (const event of queued) this.#hold(event);
    this.#advance();
    this.#publish();
    if (this.#ahead.size > 0 && this.#transport.connected) void this.join();
  }

  #hold(event: ReviewEvent): void {
    if (event.seq > this.seq && !this.#ahead.has(event.seq)) this.#ahead.set(event.seq, event);
  }

  /** Applies held events from `seq + 1` on, as far as they are contiguous. */
  #advance(): void {
    for (;;) {
      const next = this.#ahead.get(this.seq + 1);
      if (!next) break;
      this.#ahead.delete(next.seq);
      this.#apply(next);
      this.seq = next.seq;
    }
    for (const seq of [...this.#ahead.keys()]) if (seq <= this.seq) this.#ahead.delete(seq);
  }

  #apply(event: ReviewEvent): void {
    // The status the log last gave the item (acks may have moved #server ahead of the log already).
    const before = event.type === 'feedback.updated' ? this.#loggedStatus.get(event.data.item.id) : undefined;
    if (event.type === 'feedback.added' || event.type === 'feedback.updated') {
      this.#loggedStatus.set(event.data.item.id, event.data.item.status);
    }
    switch (event.type) {
      case 'section.status': {
        const { sectionId, status, model, error, usage } = event.data;
        const section = this.#sectionMap.get(sectionId);
        if (section) {
          const next: Section = { ...section, status };
          if (model) next.model = model;
          if (error) next.error = error;
          else if (status !== 'failed') delete next.error;
          if (usage) next.usage = usage;
          this.#sectionMap.set(sectionId, next);
          this.#dirty.sections = true;
        }
        if (status === 'queued' || status === 'analyzing') {
          if (status === 'queued' && this.#reasoning[sectionId]) {
            this.#reasoning = { ...this.#reasoning, [sectionId]: '' };
          }
        }
        if (usage) this.#addUsage(usage, model);
        break;
      }
      case 'analysis.delta': {
        const { sectionId, text } = event.data;
        const current = this.#reasoning[sectionId] ?? '';
        this.#reasoning = { ...this.#reasoning, [sectionId]: (current + text).slice(-MAX_REASONING) };
        break;
      }
      case 'feedback.added':
      case 'feedback.updated':
        this.#putItem(event.data.item);
        break;
      case 'feedback.deleted':
        this.#server.delete(event.data.item.id);
        this.#deleted.add(event.data.item.id);
        this.#optimistic.delete(event.data.item.id);
        this.#dirty.items = true;
        break;
      case 'chat.message': {
        const { message } = event.data;
        if (!this.#chatMap.has(message.id)) {
          this.#chatMap.set(message.id, { ...message });
          this.#dirty.chat = true;
        }
        break;
      }
      case 'chat.delta': {
        const { messageId, index, text } = event.data;
        const message = this.#chatMap.get(messageId);
        if (!message) break;
        if (message.lastIndex !== undefined && index <= message.lastIndex) break;
        if (message.status !== 'streaming') break;
        this.#chatMap.set(messageId, { ...message, text: message.text + text, lastIndex: index });
        this.#dirty.chat = true;
        break;
      }
      case 'chat.done': {
        const { messageId, text, model, usage, citations } = event.data;
        const message = this.#chatMap.get(messageId);
        if (message) {
          const next: ChatMessage = { ...message, text, model, status: 'done' };
          if (citations) next.citations = citations;
          this.#chatMap.set(messageId, next);
          this.#dirty.chat = true;
        }
        this.#addUsage(usage, model);
        break;
      }
      case 'chat.failed': {
        const { messageId, error } = event.data;
        const message = this.#chatMap.get(messageId);
        if (message) {
          this.#chatMap.set(messageId, { ...message, status: 'failed', error });
          this.#dirty.chat = true;
        }
        break;
      }
      case 'member.joined': {
        const { user, role } = event.data;
        const current = this.#memberMap.get(user.id);
        this.#memberMap.set(user.id, { user, role, online: current?.online ?? true });
        this.#dirty.members = true;
        break;
      }
      case 'export.ready':
        this.exports = [...this.exports, event.data];
        break;
      default:
        // An event type this page does not know yet: its seq still counts.
        break;
    }
    const entry = activityFromEvent(event, {
      sectionTitle: (id) => this.#sectionMap.get(id)?.title,
      beforeStatus: before,
      chat: (id) => this.#chatMap.get(id),
    });
    if (entry) {
      this.#activity.push(entry);
      if (this.#activity.length > MAX_ACTIVITY)
        this.#activity.splice(0, this.#activity.length - MAX_ACTIVITY);
      this.#dirty.activity = true;
    }
  }

  #addUsage(
    usage: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number },
    model?: string,
  ): void {
    const next = { ...this.#usage, models: { ...this.#usage.models } };
    next.inputTokens += usage.inputTokens;
    next.outputTokens += usage.outputTokens;
    next.cacheReadTokens += usage.cacheReadTokens ?? 0;
    next.cacheWriteTokens += usage.cacheWriteTokens ?? 0;
    if (model) next.models[model] = (next.models[model] ?? 0) + 1;
    this.#usage = next;
    this.#dirty.usage = true;
  }

  /** Keeps the newer of what we have and `item` (by version); a deleted item stays deleted. */
  #putItem(item: FeedbackItem): void {
    if (this.#deleted.has(item.id)) return;
    const current = this.#server.get(item.id);
    if (current && current.version > item.version) return;
    this.#server.set(item.id, item);
    const optimistic = this.#optimistic.get(item.id);
    // Our decision has landed (from this tab's ack or its event): nothing left to show optimistically.
    if (optimistic && item.status === optimistic.status && current && item.version > current.version) {
      this.#optimistic.delete(item.id);
    }
    this.#dirty.items = true;
  }

  #markAll(): void {
    this.#dirty = { sections: true, items: true, chat: true, members: true, activity: true, usage: true };
  }

  /** Copies what changed into the runes state, once per batch. */
  #publish(): void {
    const dirty = this.#dirty;
    if (dirty.sections) {
      this.sections = [...this.#sectionMap.values()].sort((a, b) => a.index - b.index);
      this.reasoning = this.#reasoning;
    } else if (this.reasoning !== this.#reasoning) {
      this.reasoning = this.#reasoning;
    }
    if (dirty.items || dirty.sections) this.#publishItems();
    if (dirty.chat) this.chat = [...this.#chatMap.values()].sort(byCreated);
    if (dirty.members) this.members = [...this.#memberMap.values()];
    if (dirty.activity) this.activity = [...this.#activity];
    if (dirty.usage) this.usage = this.#usage;
    this.#dirty = {
      sections: false,
      items: false,
      chat: false,
      members: false,
      activity: false,
      usage: false,
    };
  }

  #publishItems(): void {
    const order = new Map<string, number>();
    for (const section of this.#sectionMap.values()) order.set(section.id, section.index);
    const shown: FeedbackItem[] = [];
    for (const item of this.#server.values()) {
      const optimistic = this.#optimistic.get(item.id);
      shown.push(optimistic ? this.#overlay(item, optimistic) : item);
    }
    shown.sort(
      (a, b) =>
        (order.get(a.sectionId) ?? Number.MAX_SAFE_INTEGER) -
          (order.get(b.sectionId) ?? Number.MAX_SAFE_INTEGER) || byCreated(a, b),
    );
    this.items = shown;
    this.deciding = new Set(this.#optimistic.keys());
  }

  #overlay(item: FeedbackItem, optimistic: Optimistic): FeedbackItem {
    if (item.status === optimistic.status) return item;
    const next: FeedbackItem = { ...item, status: optimistic.status };
    if (optimistic.status === 'pending') {
      delete next.decidedBy;
      delete next.decidedAt;
    } else {
      next.decidedBy = this.me;
      next.decidedAt = optimistic.at;
    }
    return next;
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  /** Accept, reject or reopen (`pending`): shown at once, rolled back if the server says otherwise. */
  decide(feedbackId: string, status: FeedbackStatus): Promise<void> {
    if (!this.canWrite || !this.#server.has(feedbackId)) return Promise.resolve();
    const token = {};
    this.#optimistic.set(feedbackId, { status, at: new Date().toISOString(), token });
    this.#publishItems();
    // Decisions on one item go one after another, each naming the version the previous one produced.
    const previous = this.#decideChains.get(feedbackId) ?? Promise.resolve();
    const run = previous.then(() => this.#sendDecision(feedbackId, status, token));
    this.#decideChains.set(feedbackId, run);
    void run.finally(() => {
      if (this.#decideChains.get(feedbackId) === run) this.#decideChains.delete(feedbackId);
    });
    return run;
  }

  async #sendDecision(feedbackId: string, status: FeedbackStatus, token: object): Promise<void> {
    const settle = () => {
      if (this.#optimistic.get(feedbackId)?.token === token) this.#optimistic.delete(feedbackId);
    };
    // A later click replaced this one before it was sent: only the latest goes to the server.
    if (this.#optimistic.get(feedbackId)?.token !== token) return;
    const current = this.#server.get(feedbackId);
    if (!current) {
      settle();
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
    settle();
    if (response.ok) {
      this.#putItem(response.item);
    } else if (response.error.code === 'conflict' && response.item) {
      this.#putItem(response.item);
      const first = response.item.decidedBy?.name ?? 'Someone else';
      this.#notify({
        kind: 'info',
        message: `${first} decided first: it is ${response.item.status} now.`,
      });
    } else {
      if (response.error.code === 'not_found') {
        this.#server.delete(feedbackId);
        this.#deleted.add(feedbackId);
      }
      this.#notify({ kind: 'error', message: response.error.message });
    }
    this.#publishItems();
  }

  async addFeedback(input: Omit<AddFeedbackPayload, 'reviewId'>): Promise<ActionResult<FeedbackItem>> {
    const response = await this.#transport.request('feedback:add', { ...input, reviewId: this.id });
    if (!response.ok) return { ok: false, error: response.error };
    this.#putItem(response.item);
    this.#publishItems();
    return { ok: true, value: response.item };
  }

  async editFeedback(
    feedbackId: string,
    fields: Omit<EditFeedbackPayload, 'reviewId' | 'feedbackId' | 'version'>,
  ): Promise<ActionResult<FeedbackItem>> {
    const current = this.#server.get(feedbackId);
    if (!current) return { ok: false, error: { code: 'not_found', message: 'This item no longer exists.' } };
    const response = await this.#transport.request('feedback:edit', {
      ...fields,
      reviewId: this.id,
      feedbackId,
      version: current.version,
    });
    if (!response.ok) {
      if (response.item) {
        this.#putItem(response.item);
        this.#publishItems();
      }
      return { ok: false, error: response.error };
    }
    this.#putItem(response.item);
    this.#publishItems();
    return { ok: true, value: response.item };
  }

  async deleteFeedback(feedbackId: string): Promise<ActionResult<null>> {
    const current = this.#server.get(feedbackId);
    if (!current) return { ok: true, value: null };
    const response = await this.#transport.request('feedback:delete', {
      reviewId: this.id,
      feedbackId,
      version: current.version,
    });
    if (!response.ok) return { ok: false, error: response.error };
    this.#server.delete(feedbackId);
    this.#deleted.add(feedbackId);
    this.#publishItems();
    return { ok: true, value: null };
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
  ): Promise<ActionResult<{ messageId: string; replyId: string }>> {
    const payload = sectionId ? { reviewId: this.id, text, sectionId } : { reviewId: this.id, text };
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
