/**
 * Keeps a room in step with the review's log by `seq`:
 *
 * - Events are queued as they arrive and applied in one batch per animation frame.
 * - An event at or below the current `seq` is a duplicate and ignored; one beyond `seq + 1` is held back
 *   and the gap closed with `review:join {since}` (answered with the missing `events`, or a `reset`
 *   snapshot when the log no longer reaches back). Every (re)connect joins again with `since`.
 *
 * What an event or a snapshot means is the caller's (`SyncHandlers`); this only orders them.
 */
import type {
  ClientEventName,
  Failure,
  PayloadOf,
  ResponseOf,
  ReviewEvent,
  ReviewSnapshot,
} from '../types.ts';

export interface SyncTransport {
  readonly connected: boolean;
  request<E extends ClientEventName>(event: E, payload: PayloadOf<E>): Promise<ResponseOf<E>>;
}

export interface SyncHandlers {
  /** Replace the state with this snapshot (its `seq` is then the current one). */
  snapshot(snapshot: ReviewSnapshot): void;
  /** Apply one event, the next in `seq` order. */
  apply(event: ReviewEvent): void;
  /** A batch was applied (or a join finished): copy the state out. */
  publish(): void;
  /** The join failed: `fatal` for forbidden / not found / unauthorized, else it is retried shortly. */
  failed(error: Failure, fatal: boolean): void;
  /** Caught up after a (re)connect. */
  caughtUp(): void;
}

export function defaultSchedule(flush: () => void): void {
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

const FATAL = new Set(['forbidden', 'not_found', 'unauthorized']);

export class SeqSync {
  /** The last event applied. */
  seq = 0;
  /** A snapshot has been applied. */
  loaded = false;

  readonly #reviewId: string;
  readonly #transport: SyncTransport;
  readonly #schedule: (flush: () => void) => void;
  readonly #handlers: SyncHandlers;
  /** Received, not yet looked at. */
  #queue: ReviewEvent[] = [];
  /** Ahead of `seq`: waiting for the gap before them to close. */
  #ahead = new Map<number, ReviewEvent>();
  #scheduled = false;
  #joining = false;
  #joinAgain = false;
  #destroyed = false;

  constructor(
    reviewId: string,
    transport: SyncTransport,
    schedule: (flush: () => void) => void,
    handlers: SyncHandlers,
  ) {
    this.#reviewId = reviewId;
    this.#transport = transport;
    this.#schedule = schedule;
    this.#handlers = handlers;
  }

  destroy(): void {
    this.#destroyed = true;
  }

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
        const since = this.loaded && !forceSnapshot ? this.seq : undefined;
        const response = await this.#transport.request(
          'review:join',
          since === undefined ? { reviewId: this.#reviewId } : { reviewId: this.#reviewId, since },
        );
        if (this.#destroyed) return;
        if (!response.ok) {
          this.#failed(response.error);
          return;
        }
        if ('snapshot' in response) {
          this.#snapshot(response.snapshot);
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
    this.#handlers.caughtUp();
    this.flush();
  }

  /** A `review:event` from the server: queued, applied with the next frame's batch. */
  receive(event: ReviewEvent): void {
    if (this.#destroyed || event.reviewId !== this.#reviewId) return;
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
    if (this.#destroyed || !this.loaded || this.#joining) return;
    const queued = this.#queue;
    this.#queue = [];
    for (const event of queued) this.#hold(event);
    this.#advance();
    this.#handlers.publish();
    if (this.#ahead.size > 0 && this.#transport.connected) void this.join();
  }

  #snapshot(snapshot: ReviewSnapshot): void {
    this.loaded = true;
    this.seq = snapshot.seq;
    for (const seq of [...this.#ahead.keys()]) if (seq <= this.seq) this.#ahead.delete(seq);
    this.#handlers.snapshot(snapshot);
    this.#handlers.publish();
  }

  #failed(error: Failure): void {
    if (error.code === 'offline') return; // the next connect joins again
    const fatal = FATAL.has(error.code);
    this.#handlers.failed(error, fatal);
    if (fatal) return;
    // Timeouts, rate limits, a server error: try again shortly.
    setTimeout(() => {
      if (!this.#destroyed && this.#transport.connected) void this.join();
    }, 1500);
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
      this.#handlers.apply(next);
      this.seq = next.seq;
    }
    for (const seq of [...this.#ahead.keys()]) if (seq <= this.seq) this.#ahead.delete(seq);
  }
}
