/**
 * Builds a worker from injected clients: one BullMQ worker per queue dispatching to the handler
 * table, a control subscriber that cancels jobs wherever they run, and the health server
 * (/health, /ready, /metrics). `main.ts` only reads config, connects and listens.
 */
import { createServer, type Server } from 'node:http';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  type ControlMessage,
  DEFAULT_JOB_OPTIONS,
  JOB_QUEUE,
  type JobName,
  type JobPayloads,
  QUEUES,
} from '@prism/core';
import {
  AI_INFO_TTL_SECONDS,
  controlChannel,
  EventLog,
  isCluster,
  LibraryActivity,
  LibraryStore,
  type ObjectStore,
  queuePrefix,
  ReviewStore,
  writeAiInfo,
} from '@prism/store';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AiProvider } from './ai/provider.ts';
import type { WorkerConfig } from './config.ts';
import { handlers } from './jobs/index.ts';
import { scheduleRetention } from './jobs/retention.ts';
import type { JobContext } from './jobs/types.ts';
import { createCloudWatchClient, QueueDepthPublisher } from './queue-depth.ts';

export interface WorkerDeps {
  config: WorkerConfig;
  logger: Logger;
  provider: AiProvider;
  objects: ObjectStore;
  redis: { commands: Redis; blocking: Redis; control: Redis };
  version: string;
  /** For the queue-depth metric when `config.cloudwatch` is set; default: the SDK's own chain. */
  cloudwatch?: CloudWatchClient;
}

export interface WorkerApp {
  health: Server;
  workers: Worker[];
  /** Publishes Prism/QueueDepth when CLOUDWATCH_DEPLOYMENT is set. */
  queueDepth?: QueueDepthPublisher | undefined;
  /** Stops taking jobs, lets running ones finish (or hands them back), closes the health server. */
  close(): Promise<void>;
}

export async function createWorker(deps: WorkerDeps): Promise<WorkerApp> {
  const { config, logger, provider, objects, redis } = deps;

  const registry = new Registry();
  registry.setDefaultLabels({ instance: config.instance });
  collectDefaultMetrics({ register: registry });
  const jobsDone = new Counter({
    name: 'prism_jobs_total',
    help: 'Jobs finished by this worker',
    labelNames: ['name', 'outcome'],
    registers: [registry],
  });
  const jobSeconds = new Histogram({
    name: 'prism_job_duration_seconds',
    help: 'Job run time',
    labelNames: ['name'],
    registers: [registry],
  });
  const appended = new Counter({
    name: 'prism_events_appended_total',
    help: 'Events this worker appended to review logs',
    labelNames: ['type'],
    registers: [registry],
  });

  const bullPrefix = queuePrefix(config.redis.prefix, isCluster(redis.commands));
  // Follow-up jobs a handler queues (the whole-document pass), on the commands connection.
  const producers = new Map(
    Object.values(QUEUES).map((name) => {
      const queue = new Queue(name, {
        connection: redis.commands,
        prefix: bullPrefix,
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      });
      queue.on('error', () => {});
      return [name, queue] as const;
    }),
  );
  // Findings and section statuses move the review's library record (progress, last activity).
  const library = new LibraryStore(redis.commands, config.redis.prefix);
  const activity = new LibraryActivity({
    redis: redis.commands,
    library,
    onError: (error, reviewId) => logger.warn({ err: error, reviewId }, 'library record not updated'),
  });
  const log = new EventLog(redis.commands, {
    prefix: config.redis.prefix,
    onAppend: (event) => {
      appended.inc({ type: event.type });
      activity.noted(event);
    },
  });
  const shared = {
    log,
    store: new ReviewStore(redis.commands, log, { prices: config.prices }),
    objects,
    logger,
    provider,
    tokenBudget: config.reviewTokenBudget,
    minConfidence: config.minConfidence,
    maxFindings: config.maxFindingsPerSection,
    enqueue: async <N extends JobName>(name: N, payload: JobPayloads[N], jobId: string) => {
      await producers.get(JOB_QUEUE[name])!.add(name, payload, { jobId });
    },
  };

  // Idle reviews go to the object store, expired ones are deleted (jobs/retention.ts).
  const retention = scheduleRetention({
    redis: redis.commands,
    log,
    objects,
    library,
    settings: config.retention,
    logger,
  });

  const workers = Object.values(QUEUES).map((queue) => {
    let worker: Worker | undefined;
    const context: JobContext = { ...shared, rateLimit: (ms) => worker?.rateLimit(ms) ?? Promise.resolve() };
    const dispatch = async (job: Job, _token?: string, signal?: AbortSignal): Promise<unknown> => {
      const name = job.name as JobName;
      const handler = handlers[name] as (
        job: Job,
        context: JobContext,
        signal?: AbortSignal,
      ) => Promise<unknown>;
      if (!handler || JOB_QUEUE[name] !== job.queueName) throw new Error(`no handler for job ${job.name}`);
      const stop = jobSeconds.startTimer({ name });
      try {
        return await handler(job, context, signal);
      } finally {
        stop();
      }
    };
    worker = new Worker(queue, dispatch, {
      connection: redis.blocking,
      prefix: bullPrefix,
      concurrency: config.concurrency,
      // A worker killed mid-job loses its lock within 10 s; another takes the job within 15 s.
      lockDuration: 10_000,
      stalledInterval: 5_000,
    });
    worker.on('error', (error) => logger.warn({ err: error, queue }, 'worker error'));
    worker.on('completed', (job) => jobsDone.inc({ name: job.name, outcome: 'completed' }));
    worker.on('failed', (job, error) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
      jobsDone.inc({ name: job.name, outcome: final ? 'failed' : 'retrying' });
      // Log once, on the final failure.
      if (final) logger.warn({ err: error, job: job.id, name: job.name }, 'job failed');
    });
    return worker;
  });

  // Cancelling reaches whichever worker runs the job: every worker hears the control channel.
  redis.control.on('message', (_channel: string, raw: string) => {
    try {
      const message = JSON.parse(raw) as ControlMessage;
      if (message.kind !== 'cancel') return;
      for (const jobId of message.jobIds) {
        for (const worker of workers) worker.cancelJob(jobId, message.reason);
      }
    } catch (error) {
      logger.warn({ err: error }, 'bad control message');
    }
  });
  await redis.control.subscribe(controlChannel(config.redis.prefix));

  const queueDepth = startQueueDepth(deps, registry);
  const stopAnnouncing = announceProvider(deps);

  let closing = false;
  const health = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/health') {
      send(200, { status: 'ok', instance: config.instance, version: deps.version });
      return;
    }
    if (req.url === '/ready') {
      const ai = { ...provider.describe(), why: config.aiProviderReason };
      const check = (probe: Promise<unknown>) =>
        probe.then(
          () => 'ok',
          () => 'failing',
        );
      void Promise.all([check(redis.commands.ping()), check(objects.check())]).then(
        ([redisCheck, storage]) => {
          const ok = !closing && redisCheck === 'ok' && storage === 'ok';
          send(ok ? 200 : 503, {
            status: closing ? 'draining' : ok ? 'ok' : 'failing',
            checks: { redis: redisCheck, storage, ai },
          });
        },
      );
      return;
    }
    if (req.url === '/metrics') {
      void registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      });
      return;
    }
    send(404, { error: { code: 'not_found', message: 'Unknown path' } });
  });

  return {
    health,
    workers,
    queueDepth: queueDepth?.publisher,
    async close() {
      closing = true;
      stopAnnouncing();
      await Promise.all([queueDepth?.close(), retention.stop(), ...workers.map((worker) => worker.close())]);
      await Promise.all([...producers.values()].map((queue) => queue.close()));
      await activity.close();
      health.close();
    },
  };
}

/**
 * Tells the rooms which provider analyses (`${prefix}ai`): now, then every third of the key's TTL, so
 * the key disappears within a minute of the last worker stopping. Returns the stop function.
 */
function announceProvider(deps: WorkerDeps): () => void {
  const { config, logger, provider, redis } = deps;
  const described = provider.describe();
  const info = {
    provider: described.provider === 'bedrock' ? ('bedrock' as const) : ('rules' as const),
    ...(Array.isArray(described.models) ? { models: described.models.map(String) } : {}),
  };
  const write = () =>
    writeAiInfo(redis.commands, config.redis.prefix, info).catch((error: unknown) =>
      logger.warn({ err: error }, 'could not record the AI provider'),
    );
  void write();
  const timer = setInterval(write, (AI_INFO_TTL_SECONDS * 1000) / 3);
  timer.unref();
  return () => clearInterval(timer);
}

/** The queue-depth publisher (infra/README.md, "Queue metric"), or nothing when it is off. */
function startQueueDepth(
  deps: WorkerDeps,
  registry: Registry,
): { publisher: QueueDepthPublisher; close(): Promise<void> } | undefined {
  const { config, logger, redis } = deps;
  if (!config.cloudwatch) return undefined;
  const gauge = new Gauge({
    name: 'prism_queue_depth',
    help: 'Jobs waiting, delayed, prioritized or running across every queue (as published to CloudWatch)',
    registers: [registry],
  });
  // Counting shares the commands connection (BullMQ leaves a connection it was given open).
  const queues = Object.values(QUEUES).map((name) => {
    const queue = new Queue(name, {
      connection: redis.commands,
      prefix: queuePrefix(config.redis.prefix, isCluster(redis.commands)),
    });
    // The shared connection's own listener logs Redis errors (throttled); the queue re-emits them.
    queue.on('error', () => {});
    return queue;
  });
  const client = deps.cloudwatch ?? createCloudWatchClient(config.awsRegion, config.cloudwatch.endpointUrl);
  const publisher = new QueueDepthPublisher({
    queues,
    deployment: config.cloudwatch.deployment,
    client,
    intervalMs: config.cloudwatch.intervalMs,
    logger,
    onDepth: (depth) => gauge.set(depth),
  });
  publisher.start();
  logger.info(
    { deployment: config.cloudwatch.deployment, everyMs: config.cloudwatch.intervalMs },
    'publishing Prism/QueueDepth to CloudWatch',
  );
  return {
    publisher,
    async close() {
      await publisher.stop();
      await Promise.all(queues.map((queue) => queue.close()));
      if (!deps.cloudwatch) client.destroy();
    },
  };
}
