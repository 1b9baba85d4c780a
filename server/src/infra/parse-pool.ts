/**
 * Reads uploads off the event loop: a few worker threads (parse-worker.ts), each with a heap limit,
 * one task at a time with a time limit. A thread over its time is terminated; one over its heap is
 * ended by V8; either way the upload is refused with `too_complex` and a new thread takes the next
 * task, while the server's event loop (its sockets, /health) never waits on a parse.
 */
import { Worker } from 'node:worker_threads';
import { PrismError } from '@prism/core';
import type { Logger } from 'pino';
import type {
  FromWorker,
  ParsedDocument,
  ParsedGuidelines,
  ParseLimits,
  ParseOutcome,
  ParseTask,
  ToWorker,
} from './parse-task.ts';

export interface ParsePoolOptions {
  /** Threads at most; each starts when first needed. */
  workers: number;
  /** A task running longer than this is stopped and refused. */
  timeoutMs: number;
  /** Old-generation heap of each thread, in MB (`resourceLimits.maxOldGenerationSizeMb`). */
  heapMb: number;
  /** Tasks that may wait for a thread; beyond it an upload is told the server is busy. Default 16. */
  maxWaiting?: number;
  logger?: Logger;
}

interface Job {
  task: ParseTask;
  resolve(outcome: ParseOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Timed out or failed: takes no more tasks, and a new thread may start in its place. */
  retired: boolean;
  running?: { id: number; job: Job; timer: NodeJS.Timeout } | undefined;
}

/**
 * The thread's entry beside this module: parse-worker.ts from source (vitest, tsx: Node strips the
 * types), parse-worker.js next to the bundled main.js (scripts/bundle.mjs builds both).
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js',
  import.meta.url,
);

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export class ParsePool {
  private readonly options: Required<Omit<ParsePoolOptions, 'logger'>> & { logger?: Logger };
  private readonly slots = new Set<Slot>();
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: ParsePoolOptions) {
    this.options = { maxWaiting: 16, ...options };
  }

  /** Sections, heading and anchors of a document; a PrismError with a stable code when refused. */
  async parseDocument(data: Uint8Array, limits: ParseLimits): Promise<ParsedDocument> {
    const outcome = await this.run({ kind: 'document', data, limits }, 'The document');
    if (!outcome.ok) throw new PrismError(outcome.error.code, outcome.error.message);
    if (!('document' in outcome)) throw new Error('parse thread answered a document with guidelines');
    return outcome.document;
  }

  /** The text of guidelines; a PrismError with a stable code when refused. */
  async parseGuidelines(data: Uint8Array, limits: ParseLimits): Promise<ParsedGuidelines> {
    const outcome = await this.run({ kind: 'guidelines', data, limits }, 'The guidelines');
    if (!outcome.ok) throw new PrismError(outcome.error.code, outcome.error.message);
    if (!('guidelines' in outcome)) throw new Error('parse thread answered guidelines with a document');
    return outcome.guidelines;
  }

  /** Ends every thread; tasks still waiting are told the server is stopping. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.reject(stopping());
    await Promise.all([...this.slots].map((slot) => slot.worker.terminate()));
    this.slots.clear();
  }

  private run(task: ParseTask, label: string): Promise<ParseOutcome> {
    if (this.closed) return Promise.reject(stopping());
    if (this.waiting.length >= this.options.maxWaiting) {
      return Promise.reject(
        new PrismError(
          'unavailable',
          'This server is busy reading other documents; upload again in a moment.',
        ),
      );
    }
    return new Promise<ParseOutcome>((resolve, reject) => {
      this.waiting.push({ task, resolve, reject: (error) => reject(this.named(error, label)) });
      this.pump();
    });
  }

  /** Messages are written for "The document"; guidelines get their own name in them. */
  private named(error: Error, label: string): Error {
    if (label === 'The document' || !(error instanceof PrismError)) return error;
    return new PrismError(error.code, error.message.replace(/^The document/, label));
  }

  private pump(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const live = [...this.slots].filter((slot) => !slot.retired);
      const idle = live.find((slot) => slot.ready && !slot.running);
      if (!idle) {
        // One thread starting at a time is enough: it takes the next task the moment it is ready.
        if (live.length < this.options.workers && live.every((slot) => slot.ready)) this.spawn();
        return;
      }
      this.start(idle, this.waiting.shift()!);
    }
  }

  /** Takes a thread out of service; its exit removes it. */
  private retire(slot: Slot): Job | undefined {
    slot.retired = true;
    const running = slot.running;
    if (running) clearTimeout(running.timer);
    slot.running = undefined;
    return running?.job;
  }

  private start(slot: Slot, job: Job): void {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      // A thread deep in a parse cannot be asked to stop; terminating it is the only sure way.
      this.retire(slot);
      void slot.worker.terminate();
      job.reject(
        new PrismError(
          'too_complex',
          `The document took longer than ${seconds(this.options.timeoutMs)} to read, so Prism stopped. Split it into smaller documents, or remove very long tables, and upload again.`,
        ),
      );
      this.pump();
    }, this.options.timeoutMs);
    slot.running = { id, job, timer };
    slot.worker.postMessage({ id, task: { ...job.task, data: shareable(job.task.data) } } satisfies ToWorker);
  }

  private spawn(): void {
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb },
    });
    // A thread never keeps the process alive by itself: drain() closes the pool.
    worker.unref();
    const slot: Slot = { worker, ready: false, retired: false };
    this.slots.add(slot);

    worker.on('message', (message: FromWorker) => {
      if ('ready' in message) {
        slot.ready = true;
        this.pump();
        return;
      }
      const running = slot.running;
      if (!running || running.id !== message.id) return;
      clearTimeout(running.timer);
      slot.running = undefined;
      if ('outcome' in message) running.job.resolve(message.outcome);
      else {
        this.options.logger?.error({ err: message.crash }, 'parse thread failed on an upload');
        running.job.reject(new PrismError('internal', 'Reading the document failed unexpectedly.'));
      }
      this.pump();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      // The thread is gone (its exit follows); nothing more may be sent to it.
      const job = this.retire(slot);
      if (!job) {
        this.options.logger?.error({ err: error }, 'parse thread failed');
        return;
      }
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        job.reject(
          new PrismError(
            'too_complex',
            `The document needs more memory to read than Prism allows (${this.options.heapMb} MB). Split it into smaller documents and upload them one by one.`,
          ),
        );
      } else {
        this.options.logger?.error({ err: error }, 'parse thread failed on an upload');
        job.reject(new PrismError('internal', 'Reading the document failed unexpectedly.'));
      }
    });
    worker.on('exit', () => {
      this.slots.delete(slot);
      this.retire(slot)?.reject(new PrismError('internal', 'Reading the document failed unexpectedly.'));
      if (this.closed) return;
      if (!slot.ready) {
        // A thread that cannot even start would fail every upload the same way: say so to the
        // first one waiting rather than start threads in a loop.
        this.options.logger?.error('parse thread exited before it was ready');
        this.waiting
          .shift()
          ?.reject(new PrismError('unavailable', 'This server cannot read documents right now; try again.'));
      }
      this.pump();
    });
  }
}

/**
 * Posting a Uint8Array copies it on this thread (~50 ms for 16 MB on a small VM); shared memory is
 * handed over as it is. Uploads arrive in shared memory (http/upload.ts); anything else is copied.
 */
function shareable(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const shared = new Uint8Array(new SharedArrayBuffer(data.byteLength));
  shared.set(data);
  return shared;
}

const stopping = (): PrismError =>
  new PrismError('unavailable', 'This server is stopping; upload again and another will take it.');
