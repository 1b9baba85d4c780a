/**
 * Decisions in flight, shown over the server's items at once (optimistic) until the server's answer
 * settles them: an ack or its event lands them, a conflict rolls them back. Decisions on one item go
 * to the server one after another, each naming the version the previous one produced.
 */
import type { FeedbackItem, FeedbackStatus, User } from '../types.ts';

interface Optimistic {
  status: FeedbackStatus;
  at: string;
  /** Tells this click from a later one on the same item. */
  token: object;
}

export class DecisionOverlay {
  readonly #me: User;
  #pending = new Map<string, Optimistic>();
  #chains = new Map<string, Promise<void>>();

  constructor(me: User) {
    this.#me = me;
  }

  /** Shows `status` on the item from now on; returns the token that settles this decision. */
  set(feedbackId: string, status: FeedbackStatus): object {
    const token = {};
    this.#pending.set(feedbackId, { status, at: new Date().toISOString(), token });
    return token;
  }

  /** Is this still the latest click on the item (a later click replaces an unsent one)? */
  isLatest(feedbackId: string, token: object): boolean {
    return this.#pending.get(feedbackId)?.token === token;
  }

  /** The server answered this decision: stop showing it (unless a later click replaced it). */
  settle(feedbackId: string, token: object): void {
    if (this.isLatest(feedbackId, token)) this.#pending.delete(feedbackId);
  }

  drop(feedbackId: string): void {
    this.#pending.delete(feedbackId);
  }

  /** Our decision has landed (from this tab's ack or its event): nothing left to show optimistically. */
  landed(item: FeedbackItem, previous: FeedbackItem | undefined): void {
    const optimistic = this.#pending.get(item.id);
    if (optimistic && item.status === optimistic.status && previous && item.version > previous.version) {
      this.#pending.delete(item.id);
    }
  }

  /** After a snapshot: decisions still in flight stay shown; those it already holds, or whose item is gone, go. */
  prune(server: ReadonlyMap<string, FeedbackItem>): void {
    for (const [id, optimistic] of this.#pending) {
      const item = server.get(id);
      if (!item || item.status === optimistic.status) this.#pending.delete(id);
    }
  }

  /** The item as shown: the server's, with a decision in flight applied. */
  show(item: FeedbackItem): FeedbackItem {
    const optimistic = this.#pending.get(item.id);
    if (!optimistic || item.status === optimistic.status) return item;
    const next: FeedbackItem = { ...item, status: optimistic.status };
    if (optimistic.status === 'pending') {
      delete next.decidedBy;
      delete next.decidedAt;
    } else {
      next.decidedBy = this.#me;
      next.decidedAt = optimistic.at;
    }
    return next;
  }

  /** Ids of the items with a decision on its way. */
  ids(): Set<string> {
    return new Set(this.#pending.keys());
  }

  /** Runs `send` after the item's previous decision has been answered. */
  enqueue(feedbackId: string, send: () => Promise<void>): Promise<void> {
    const previous = this.#chains.get(feedbackId) ?? Promise.resolve();
    const run = previous.then(send);
    this.#chains.set(feedbackId, run);
    void run.finally(() => {
      if (this.#chains.get(feedbackId) === run) this.#chains.delete(feedbackId);
    });
    return run;
  }
}
