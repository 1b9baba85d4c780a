/**
 * Diagnostics and cost through real parts: servers built by createApp on a real Redis, a BullMQ
 * worker (Bedrock provider against the local stand-in, or the rules provider), a real
 * S3-compatible server (versitygw) that is stopped mid-test. What an owner notices: each check
 * says ok or why not, with its time; a model answer names the model; nothing secret shows; the
 * room's statistics price the tokens the review spent.
 */

import type { AddressInfo } from 'node:net';
import type { ReviewEvent, ReviewSnapshot } from '@prism/core';
import { closeRedis, createRedis, FileObjectStore, S3ObjectStore, waitReady } from '@prism/store';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandIn, startBedrockStandIn } from '../../test/bedrock/stand-in.ts';
import {
  api,
  call,
  connect,
  onCleanup,
  REDIS_URL,
  ReviewFeed,
  serverWithReview,
  session,
  startWorker,
  waitFor,
} from '../../test/helpers.ts';
import { type S3TestServer, startS3Server } from '../../test/s3-server.ts';
import { RulesProvider } from '../../worker/src/ai/rules.ts';
import { standInProvider } from '../../worker/test/stand-in-provider.ts';
import { type CheckResult, diagnosticsRoutes } from '../src/http/diagnostics.ts';
import { errorHandler } from '../src/http/errors.ts';

const SONNET = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'eu.anthropic.claude-haiku-4-5-20251001-v1:0';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startBedrockStandIn({ tokensPerSecond: 2000, firstTokenMs: 10 });
});
afterAll(async () => {
  await standIn?.close();
});

const bedrock = (models: string[]) => standInProvider(standIn, { models, inactivityTimeoutMs: 5000 });

const REPORT = [
  { title: 'Summary', paragraphs: ['The payment service was unavailable for four hours on 3 March.'] },
  { title: 'Actions', paragraphs: ['We will improve monitoring soon.'] },
];

async function diagnose(url: string, token: string | undefined, body: unknown = {}) {
  const res = await fetch(`${url}/api/diagnostics`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as { results: CheckResult[]; error?: { code: string } },
  };
}

const byCheck = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

/** Nothing that looks like a credential or an endpoint URL in what an owner reads. */
function expectNothingSecret(results: CheckResult[]): void {
  const text = JSON.stringify(results);
  for (const secret of [
    'prism-test-secret',
    'AKIDPRISMTEST',
    'prismtestsecret',
    'prismtestaccess',
    standIn.url,
  ]) {
    expect(text).not.toContain(secret);
  }
  expect(text).not.toMatch(/https?:\/\//);
}

describe('POST /api/diagnostics', () => {
  it('runs the three checks for an owner: Redis with its version, storage, and the model that answered', async () => {
    standIn.reset();
    const { prefix, server, owner } = await serverWithReview('diag-ok', REPORT);
    // The first model cannot answer: the probe goes through the chain like any call.
    standIn.config.models[SONNET] = 'throttle';
    await startWorker(prefix, bedrock([SONNET, HAIKU]));

    const { status, body } = await diagnose(server.url, owner.token, { checks: ['redis', 'storage', 'ai'] });
    expect(status).toBe(200);
    expect(body.results.map((r) => r.check)).toEqual(['redis', 'storage', 'ai']);
    const results = byCheck(body.results);
    expect(results.redis).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^(Redis|Valkey) \d+\.\d+/),
    });
    expect(results.storage).toMatchObject({
      ok: true,
      detail: 'Wrote, read back and deleted a probe object.',
    });
    expect(results.ai).toMatchObject({ ok: true, detail: expect.stringContaining(`${HAIKU} answered in`) });
    for (const result of body.results) expect(result.ms).toBeGreaterThanOrEqual(0);
    // One token asked of each model tried, nothing more.
    const probes = standIn.requests.filter((q) => q.body.inferenceConfig?.maxTokens === 1);
    expect(probes.map((q) => q.modelId)).toEqual([SONNET, HAIKU]);
    expectNothingSecret(body.results);
  });

  it('says the rules provider reviews when no model is configured', async () => {
    const { prefix, server, owner } = await serverWithReview('diag-rules', REPORT);
    await startWorker(prefix, new RulesProvider());
    const { status, body } = await diagnose(server.url, owner.token, { checks: ['ai'] });
    expect(status).toBe(200);
    expect(body.results).toEqual([
      {
        check: 'ai',
        ok: true,
        ms: expect.any(Number),
        detail: 'rules: No model configured: the rules provider reviews (no model is called).',
      },
    ]);
  });

  it('reports storage ok on a running S3 server, and ok:false with the reason once it is stopped', async () => {
    const s3: S3TestServer = await startS3Server();
    const objects = new S3ObjectStore({
      bucket: s3.bucket,
      prefix: 'prism',
      region: s3.region,
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    try {
      const { server, owner } = await serverWithReview('diag-s3', REPORT, { objects });

      const running = await diagnose(server.url, owner.token, { checks: ['storage', 'redis'] });
      expect(running.status).toBe(200);
      expect(byCheck(running.body.results).storage!.ok).toBe(true);

      await s3.stop();
      const stopped = await diagnose(server.url, owner.token, { checks: ['storage', 'redis'] });
      expect(stopped.status).toBe(200);
      const storage = byCheck(stopped.body.results).storage!;
      expect(storage.ok).toBe(false);
      expect(storage.detail).toMatch(/^Storage is not working: could not write a probe object \(.+\)\.$/);
      // Redis is still fine: one failing check does not fail the others.
      expect(byCheck(stopped.body.results).redis!.ok).toBe(true);
      expect(JSON.stringify(stopped.body.results)).not.toContain(s3.secretAccessKey);
    } finally {
      objects.destroy();
      await s3.stop().catch(() => {});
    }
  }, 120_000);

  it('says no worker answered when none takes the job in time, and leaves no job behind', async () => {
    const { prefix, server, owner } = await serverWithReview('diag-noworker', REPORT);
    // The route as app.ts mounts it, with a short wait instead of 20 s (no worker runs on this prefix).
    const silent = pino({ level: 'silent' });
    const settings = { url: REDIS_URL, instance: 'diag-test' };
    const commands = createRedis(settings, 'commands', silent);
    const queue = createRedis(settings, 'queue', silent);
    await Promise.all([waitReady(commands), waitReady(queue)]);
    const app = express();
    app.use(express.json());
    app.use((req, _res, next) => {
      req.user = owner.user;
      next();
    });
    app.use(
      '/api',
      diagnosticsRoutes({
        store: server.app.service.store,
        redis: commands,
        queueConnection: queue,
        prefix,
        objects: new FileObjectStore('.data/test-objects/diag-noworker'),
        aiTimeoutMs: 1500,
      }),
    );
    app.use(errorHandler(silent));
    const http = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => http.once('listening', resolve));
    onCleanup(async () => {
      http.close();
      await Promise.all([closeRedis(commands), closeRedis(queue)]);
    });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const { status, body } = await diagnose(url, owner.token, { checks: ['ai'] });
    expect(status).toBe(200);
    expect(body.results[0]).toMatchObject({ check: 'ai', ok: false, detail: 'No worker answered in 2 s.' });
    expect(body.results[0]!.ms).toBeGreaterThanOrEqual(1500);
    // The unanswered probe was taken off the queue: a worker starting later does not run it.
    expect(await commands.keys(`${prefix}bull:chat:diagnostics-*`)).toEqual([]);
  });

  it('refuses who owns no review and administers no workspace (403), who is not signed in (401), and an unknown check (400)', async () => {
    const { server, owner } = await serverWithReview('diag-refuse', REPORT);
    const stranger = await session(server.url, 'Sam');

    const forbidden = await diagnose(server.url, stranger.token, { checks: ['redis'] });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error!.code).toBe('forbidden');
    // A workspace admin with no review of their own may.
    const admin = await session(server.url, 'Wanda');
    const made = await fetch(`${server.url}/api/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ops' }),
    });
    expect(made.status).toBe(201);
    expect((await diagnose(server.url, admin.token, { checks: ['redis'] })).status).toBe(200);
    const anonymous = await diagnose(server.url, undefined, { checks: ['redis'] });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error!.code).toBe('unauthorized');
    const unknown = await diagnose(server.url, owner.token, { checks: ['redis', 'kafka'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error!.code).toBe('invalid');
    const notJson = await fetch(`${server.url}/api/diagnostics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'text/plain' },
      body: 'redis',
    });
    expect(notJson.status).toBe(415);
  });

  it('limits runs per person per minute', async () => {
    const { server, owner } = await serverWithReview('diag-limit', REPORT);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i += 1)
      statuses.push((await diagnose(server.url, owner.token, { checks: ['redis'] })).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('cost in the snapshot', () => {
  it('prices the tokens a stand-in analysis spent at BEDROCK_PRICES, per token kind', async () => {
    standIn.reset();
    // Round prices so the expected dollars are plain arithmetic on the reported tokens.
    const prices = { input: 1000, output: 2000, cacheRead: 100, cacheWrite: 1250 };
    const env = { BEDROCK_PRICES: JSON.stringify({ 'anthropic.claude-sonnet-4-5-20250929-v1:0': prices }) };
    const { prefix, server, owner, review } = await serverWithReview('cost', REPORT, { env });
    await startWorker(prefix, bedrock([SONNET]), env);
    const socket = await connect(server.url, owner.token);
    const feed = new ReviewFeed(socket, review.id);
    const before = (await feed.join()) as ReviewSnapshot;
    expect(before.stats.usage.usd).toBe(0);

    const sectionId = review.sections[0]!.id;
    await call(socket, 'analysis:start', { reviewId: review.id, sectionIds: [sectionId] });
    const done = () =>
      feed.events.find(
        (e): e is Extract<ReviewEvent, { type: 'section.status' }> =>
          e.type === 'section.status' && e.data.status === 'done',
      );
    await waitFor(() => done(), 30_000, 'section done');
    // The usage the worker reported with the section's result (the stand-in's token counts).
    const usage = done()!.data.usage!;
    expect(usage.inputTokens).toBeGreaterThan(0);
    expect(usage.outputTokens).toBeGreaterThan(0);
    expect(usage.cacheWriteTokens).toBeGreaterThan(0);
    const expected =
      Math.round(
        ((usage.inputTokens * prices.input +
          usage.outputTokens * prices.output +
          (usage.cacheReadTokens ?? 0) * prices.cacheRead +
          (usage.cacheWriteTokens ?? 0) * prices.cacheWrite) /
          1_000_000) *
          10_000,
      ) / 10_000;

    const res = await api(server.url, owner.token, `/api/reviews/${review.id}`);
    const snapshot = (await res.json()) as ReviewSnapshot;
    expect(snapshot.stats.usage.usd).toBe(expected);
    expect(snapshot.stats.usage.unpriced).toBeUndefined();
    expect(expected).toBeGreaterThan(0.1);
    socket.disconnect();
  });
});
