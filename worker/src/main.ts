/**
 * A Prism worker process: one BullMQ worker per queue, dispatching each job to its handler, a
 * health port with /health, /ready and /metrics, and an orderly close on SIGTERM (finish or hand
 * back running jobs within DRAIN_TIMEOUT_MS, then close Redis).
 */
import { createServer } from 'node:http';
import { ConfigError, JOB_QUEUE, type JobName, QUEUES } from '@prism/core';
import { closeRedis, createObjectStore, createRedis, EventLog, ReviewStore, waitReady } from '@prism/store';
import { type Job, Worker } from 'bullmq';
import pino from 'pino';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { loadConfig, type WorkerConfig } from './config.ts';
import { handlers } from './jobs/index.ts';
import type { JobContext } from './jobs/types.ts';

const VERSION = process.env.npm_package_version ?? '0.1.0';

function readConfig(): WorkerConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`prism worker: ${problem}`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = pino({ level: config.logLevel, base: { instance: config.instance } });
  const settings = { url: config.redis.url, password: config.redis.password, instance: config.instance };
  const commands = createRedis(settings, 'commands', logger);
  const blocking = createRedis(settings, 'worker', logger);
  await Promise.all([waitReady(commands), waitReady(blocking)]);

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

  const log = new EventLog(commands, {
    prefix: config.redis.prefix,
    onAppend: (event) => appended.inc({ type: event.type }),
  });
  const context: JobContext = {
    log,
    store: new ReviewStore(commands, log),
    objects: createObjectStore(config.storageUrl),
    logger,
  };

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

  const workers = Object.values(QUEUES).map((queue) => {
    const worker = new Worker(queue, dispatch, {
      connection: blocking,
      prefix: `${config.redis.prefix}bull`,
      concurrency: config.concurrency,
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

  let closing = false;
  const health = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/health')
      return send(200, { status: 'ok', instance: config.instance, version: VERSION });
    if (req.url === '/ready') {
      const ai = { provider: config.aiProvider ?? 'none', models: config.bedrockModels };
      void Promise.all([
        commands.ping().then(
          () => 'ok',
          () => 'failing',
        ),
        context.objects.check().then(
          () => 'ok',
          () => 'failing',
        ),
      ]).then(([redis, storage]) => {
        const ok = !closing && redis === 'ok' && storage === 'ok';
        send(ok ? 200 : 503, {
          status: closing ? 'draining' : ok ? 'ok' : 'failing',
          checks: { redis, storage, ai },
        });
      });
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
  health.on('error', (error) => logger.error({ err: error }, 'health port unavailable'));
  health.listen(config.healthPort, () =>
    logger.info({ healthPort: config.healthPort }, 'prism worker running'),
  );

  const stop = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'closing worker');
    const force = setTimeout(() => {
      logger.warn('close timed out; exiting');
      process.exit(1);
    }, config.drainTimeoutMs);
    force.unref();
    await Promise.all(workers.map((worker) => worker.close()));
    health.close();
    await Promise.all([closeRedis(commands), closeRedis(blocking)]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('prism worker: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
