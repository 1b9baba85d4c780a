/**
 * Coalesces streamed text before it touches Redis (ARCHITECTURE principle 3): deltas are
 * gathered for `windowMs` (or until `maxChars`) and flushed as one batch, one flush at a time
 * and in order, off the model's read loop. Never one Redis round trip per token.
 */
export class Coalescer {
  private pending = '';
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private flushed = false;
  private readonly flushBatch: (text: string) => Promise<void>;
  private readonly windowMs: number;
  private readonly maxChars: number;

  constructor(
    flush: (text: string) => Promise<void>,
    options: { windowMs?: number; maxChars?: number } = {},
  ) {
    this.flushBatch = flush;
    this.windowMs = options.windowMs ?? 40;
    this.maxChars = options.maxChars ?? 2000;
  }

  push(text: string): void {
    if (!text) return;
    this.pending += text;
    // The first words go out at once: people wait for them (time to first token); the rest is batched.
    if (!this.flushed || this.pending.length >= this.maxChars) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    const batch = this.pending;
    this.pending = '';
    this.flushed = true;
    this.chain = this.chain
      .then(() => this.flushBatch(batch))
      .catch((error: unknown) => {
        this.failure ??= error;
      });
  }

  /** Flushes what is left and waits for every batch; rethrows the first flush failure. */
  async close(): Promise<void> {
    this.flush();
    await this.chain;
    if (this.failure) throw this.failure;
  }

  /** Drops what is not flushed yet (the answer was abandoned). */
  discard(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = '';
  }
}
