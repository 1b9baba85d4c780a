import type { JobName, JobPayloads } from '@prism/core';
import type { EventLog, ObjectStore, ReviewStore } from '@prism/store';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';

export interface JobContext {
  log: EventLog;
  store: ReviewStore;
  objects: ObjectStore;
  logger: Logger;
}

export type Handler<N extends JobName> = (
  job: Job<JobPayloads[N], unknown, N>,
  context: JobContext,
  signal?: AbortSignal,
) => Promise<unknown>;

/** One handler per declared job: a job without one is a compile error. */
export type HandlerTable = { [N in JobName]: Handler<N> };
