/**
 * Queue producers. Servers only enqueue: generation lives in workers (ARCHITECTURE principle 4).
 * Queue names, payloads and default options come from core; the prefix keeps every Prism (and
 * every test) on one Redis apart.
 */
import {
  DEFAULT_JOB_OPTIONS,
  JOB_QUEUE,
  type JobName,
  type JobPayloads,
  QUEUES,
  type QueueName,
} from '@prism/core';
import { isCluster, queuePrefix } from '@prism/store';
import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Jobs removed per round trip by `removeUnlocked` (MAX_SECTIONS, 500, fit in one). */
const REMOVE_BATCH = 500;

export class Queues {
  private readonly queues: Map<QueueName, Queue>;

  constructor(connection: Redis, prefix: string) {
    this.queues = new Map(
      Object.values(QUEUES).map((name) => [
        name,
        new Queue(name, {
          connection,
          prefix: queuePrefix(prefix, isCluster(connection)),
          defaultJobOptions: DEFAULT_JOB_OPTIONS,
        }),
      ]),
    );
    for (const queue of this.queues.values()) queue.on('error', () => {});
  }

  private queue(name: JobName): Queue {
    return this.queues.get(JOB_QUEUE[name])!;
  }

  async add<N extends JobName>(name: N, payload: JobPayloads[N], jobId: string): Promise<string> {
    const job = await this.queue(name).add(name, payload, { jobId });
    return job.id ?? jobId;
  }

  /** Enqueues many jobs of one kind in one pipeline (one round trip, whatever their number). */
  async addBulk<N extends JobName>(
    name: N,
    jobs: readonly { payload: JobPayloads[N]; jobId: string }[],
  ): Promise<string[]> {
    if (jobs.length === 0) return [];
    const added = await this.queue(name).addBulk(
      jobs.map(({ payload, jobId }) => ({ name, data: payload, opts: { jobId } })),
    );
    return added.map((job, i) => job.id ?? jobs[i]!.jobId);
  }

  /**
   * Removes the jobs no worker holds (waiting, delayed, or left by a dead worker), all at once:
   * BullMQ's remove script refuses a locked job atomically, so a job a worker takes meanwhile is
   * never pulled from under it. Resolves, per job, true when it was removed (or was already gone)
   * and false when a worker holds it (it must be cancelled where it runs).
   */
  async removeUnlocked(name: JobName, jobIds: readonly string[]): Promise<boolean[]> {
    const queue = this.queue(name);
    const removed: boolean[] = [];
    // The calls of one batch are written back to back, so a batch costs one round trip; batches
    // keep a very long list from queueing thousands of scripts ahead of everyone else's commands.
    for (let start = 0; start < jobIds.length; start += REMOVE_BATCH) {
      const batch = jobIds.slice(start, start + REMOVE_BATCH);
      const codes = await Promise.all(batch.map((jobId) => queue.remove(jobId, { removeChildren: false })));
      removed.push(...codes.map((code) => code === 1));
    }
    return removed;
  }

  async job(name: JobName, jobId: string): Promise<Job | undefined> {
    return (await this.queue(name).getJob(jobId)) ?? undefined;
  }

  /**
   * Removes a job that has not started. Resolves false when a worker holds it (it must be
   * cancelled where it runs).
   */
  async removeIfWaiting(name: JobName, jobId: string): Promise<boolean> {
    const job = await this.job(name, jobId);
    if (!job) return false;
    const state = await job.getState();
    if (
      state !== 'waiting' &&
      state !== 'delayed' &&
      state !== 'prioritized' &&
      state !== 'waiting-children'
    ) {
      return false;
    }
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
