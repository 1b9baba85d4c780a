import type { JobName, JobPayloads } from '@prism/core';
import type { EventLog, ObjectStore, ReviewStore } from '@prism/store';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { AiProvider } from '../ai/provider.ts';

export interface JobContext {
  log: EventLog;
  store: ReviewStore;
  objects: ObjectStore;
  logger: Logger;
  provider: AiProvider;
  /** Model tokens one review may spend (REVIEW_TOKEN_BUDGET). */
  tokenBudget: number;
  /** Findings below this confidence are not shown. */
  minConfidence: number;
  /** Findings shown per section (and per whole-document pass) at most. */
  maxFindings: number;
  /** Queues a follow-up job (the whole-document pass); a job id already queued is not added twice. */
  enqueue<N extends JobName>(name: N, payload: JobPayloads[N], jobId: string): Promise<void>;
  /** Makes this worker wait before taking more jobs (every model throttles). */
  rateLimit(ms: number): Promise<void>;
}

export type Handler<N extends JobName> = (
  job: Job<JobPayloads[N], unknown, N>,
  context: JobContext,
  signal?: AbortSignal,
) => Promise<unknown>;

/** One handler per declared job: a job without one is a compile error. */
export type HandlerTable = { [N in JobName]: Handler<N> };
