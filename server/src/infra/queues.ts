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
import { type Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export class Queues {
  private readonly queues: Map<QueueName, Queue>;

  constructor(connection: Redis, prefix: string) {
    this.queues = new Map(
      Object.values(QUEUES).map((name) => [
        name,
        new Queue(name, { connection, prefix: `${prefix}bull`, defaultJobOptions: DEFAULT_JOB_OPTIONS }),
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
