/**
 * `POST /api/diagnostics {checks:["redis","storage","ai"]}` (CONTRACT 7.4): is Redis answering,
 * can the object store write, read and delete, does a model answer through the worker's chain.
 * Each result has its time and a plain-language detail with nothing secret in it (no key, no
 * credential, no endpoint URL). The server never calls a model (ARCHITECTURE principle 4): the
 * `ai` check is a `diagnostics.ai` job a worker runs, awaited with a bound.
 *
 * Who may run it: an admin of any workspace, or the owner of any review: `mayDiagnose` is the one
 * place that decides.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_JOB_OPTIONS, type DiagnosticsAiResult, JOB_QUEUE, PrismError, type User } from '@prism/core';
import { duplicateRedis, isCluster, type ObjectStore, queuePrefix, type ReviewStore } from '@prism/store';
import { Queue, QueueEvents } from 'bullmq';
import { Router } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { requireJson, userOf } from './auth.ts';
import { route } from './errors.ts';

export const CHECKS = ['redis', 'storage', 'ai'] as const;
export type CheckName = (typeof CHECKS)[number];

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  /** How long the check took, in ms (the `ai` check: the whole round trip through the queue). */
  ms: number;
  detail: string;
}

export interface DiagnosticsDeps {
  store: ReviewStore;
  /** The commands connection: PING and INFO. */
  redis: Redis;
  /** The queue connection: the `diagnostics.ai` job is added on it; its events are read on a copy. */
  queueConnection: Redis;
  prefix: string;
  objects: ObjectStore;
  /** How long the `ai` check waits for a worker. Default 20000. */
  aiTimeoutMs?: number;
  /** Whether the person is an admin of any workspace (WorkspaceStore). */
  isWorkspaceAdmin?: (userId: string) => Promise<boolean>;
}

/** Runs a person may start per minute, across servers: each one is a model call and a few writes. */
export const DIAGNOSTICS_PER_MINUTE = 10;
/** Redis and storage checks give up after this long: a hung dependency is a failed check. */
const CHECK_TIMEOUT_MS = 10_000;

const Body = z.strictObject({
  checks: z
    .array(z.enum(CHECKS))
    .min(1)
    .max(CHECKS.length * 2)
    .optional(),
});

export function diagnosticsRoutes(deps: DiagnosticsDeps): Router {
  const router = Router();
  const limiter = new RateLimiterRedis({
    storeClient: deps.redis,
    keyPrefix: `${deps.prefix}rl:diagnostics`,
    points: DIAGNOSTICS_PER_MINUTE,
    duration: 60,
  });
  const checks: Record<CheckName, () => Promise<Omit<CheckResult, 'check' | 'ms'>>> = {
    redis: () => checkRedis(deps.redis),
    storage: () => checkStorage(deps.objects),
    ai: () => checkAi(deps),
  };

  router.post(
    '/diagnostics',
    route(async (req, res) => {
      requireJson(req);
      const user = userOf(req);
      const parsed = Body.safeParse(req.body ?? {});
      if (!parsed.success) {
        throw new PrismError('invalid', `Send {"checks": [...]} naming some of: ${CHECKS.join(', ')}.`);
      }
      if (!(await mayDiagnose(deps, user))) {
        throw new PrismError('forbidden', 'Diagnostics are for workspace admins and owners of a review.');
      }
      try {
        await limiter.consume(user.id);
      } catch (error) {
        // A Redis failure must not hide the diagnostics that would show it.
        if (error instanceof RateLimiterRes) {
          const retryAfterS = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
          res.setHeader('retry-after', String(retryAfterS));
          throw new PrismError(
            'rate_limited',
            `Diagnostics were run too often. Try again in ${retryAfterS} s.`,
          );
        }
      }
      const names = [...new Set(parsed.data.checks ?? CHECKS)];
      const results = await Promise.all(
        names.map(async (check): Promise<CheckResult> => {
          const started = performance.now();
          const outcome = await checks[check]().catch((error: unknown) => ({
            ok: false,
            detail: `The check failed: ${reason(error)}.`,
          }));
          return { check, ...outcome, ms: Math.round(performance.now() - started) };
        }),
      );
      res.json({ results });
    }),
  );
  return router;
}

/** The one rule of who may run diagnostics (CONTRACT 7.4): a workspace admin or a review's owner. */
async function mayDiagnose(deps: DiagnosticsDeps, user: User): Promise<boolean> {
  const [admin, owner] = await Promise.all([
    deps.isWorkspaceAdmin?.(user.id) ?? false,
    deps.store.ownsAnyReview(user.id),
  ]);
  return admin || owner;
}

async function checkRedis(redis: Redis): Promise<Omit<CheckResult, 'check' | 'ms'>> {
  const started = performance.now();
  await bounded(redis.ping(), 'Redis did not answer PING');
  const roundTrip = performance.now() - started;
  const info = await bounded(redis.info('server'), 'Redis did not answer INFO');
  const version = /^(?:valkey|redis)_version:(\S+)/m.exec(info)?.[1];
  const server = /^valkey_version:/m.test(info) ? 'Valkey' : 'Redis';
  return {
    ok: true,
    detail: `${server}${version ? ` ${version}` : ''} answered PING in ${roundTrip.toFixed(1)} ms.`,
  };
}

async function checkStorage(objects: ObjectStore): Promise<Omit<CheckResult, 'check' | 'ms'>> {
  const key = `diagnostics/probe-${randomBytes(6).toString('hex')}.txt`;
  const body = `Prism storage probe ${new Date().toISOString()}`;
  const step = async (what: string, action: () => Promise<unknown>) => {
    try {
      return await bounded(action(), `timed out after ${CHECK_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      throw new Error(`could not ${what} a probe object (${reason(error)})`);
    }
  };
  try {
    await step('write', () => objects.put(key, body, 'text/plain'));
    const read = (await step('read back', () => objects.get(key))) as Buffer;
    if (read.toString('utf8') !== body) throw new Error('read back different bytes than written');
    await step('delete', () => objects.delete(key));
  } catch (error) {
    // Best effort: a probe left behind is small and named as one.
    void objects.delete(key).catch(() => {});
    return { ok: false, detail: `Storage is not working: ${(error as Error).message}.` };
  }
  return { ok: true, detail: 'Wrote, read back and deleted a probe object.' };
}

async function checkAi(deps: DiagnosticsDeps): Promise<Omit<CheckResult, 'check' | 'ms'>> {
  const timeoutMs = deps.aiTimeoutMs ?? 20_000;
  const bull = queuePrefix(deps.prefix, isCluster(deps.queueConnection));
  const queueName = JOB_QUEUE['diagnostics.ai'];
  // QueueEvents blocks on its connection: a copy for this one check, closed after it.
  // BullMQ wants a blocking connection that never gives up on a command.
  const eventsConnection = duplicateRedis(deps.queueConnection, {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectionName: `${deps.queueConnection.options?.connectionName ?? 'prism'}:diagnostics`,
  });
  eventsConnection.on('error', () => {});
  const events = new QueueEvents(queueName, { connection: eventsConnection, prefix: bull });
  events.on('error', () => {});
  const queue = new Queue(queueName, { connection: deps.queueConnection, prefix: bull });
  queue.on('error', () => {});
  try {
    await events.waitUntilReady();
    const job = await queue.add(
      'diagnostics.ai',
      { requestedBy: 'diagnostics' },
      {
        ...DEFAULT_JOB_OPTIONS,
        jobId: `diagnostics-${randomBytes(8).toString('hex')}`,
        // A probe answered late is of no use: never retried, gone soon after.
        attempts: 1,
        removeOnComplete: { age: 600 },
        removeOnFail: { age: 600 },
      },
    );
    let result: DiagnosticsAiResult;
    try {
      result = (await job.waitUntilFinished(events, timeoutMs)) as DiagnosticsAiResult;
    } catch (error) {
      if (/timed out/i.test((error as Error).message)) {
        await job.remove().catch(() => {});
        return { ok: false, detail: `No worker answered in ${Math.round(timeoutMs / 1000)} s.` };
      }
      return { ok: false, detail: `The worker could not run the check (${reason(error)}).` };
    }
    return { ok: result.ok, detail: result.provider === 'rules' ? `rules: ${result.detail}` : result.detail };
  } finally {
    await events.close().catch(() => {});
    eventsConnection.disconnect();
    await queue.close().catch(() => {});
  }
}

function bounded<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * An error in a few words without secrets: its message (or code, for a refused connection whose
 * message is empty), with any credentials in a URL and any query string cut out.
 */
function reason(error: unknown): string {
  const { message, code, name } = error as { message?: string; code?: string; name?: string };
  const text = (message?.trim() || code || name || 'unknown error')
    .replace(/\/\/[^/\s@]+@/g, '//')
    .replace(/(https?:\/\/[^\s?]+)\?\S*/g, '$1')
    .replace(/\s+/g, ' ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
