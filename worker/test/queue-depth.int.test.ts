/**
 * The queue-depth metric the worker fleet scales on (infra/README.md, "Queue metric"): a worker
 * process configured only by its environment publishes Prism/QueueDepth {Deployment} through the
 * real CloudWatch SDK to a local endpoint that answers PutMetricData as CloudWatch does (AWS
 * JSON 1.0), keeps publishing through a CloudWatch outage and past an endpoint that never answers,
 * follows the jobs left to do, and shuts down without waiting for CloudWatch.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QUEUES } from '@prism/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupKeys, freePort, REDIS_URL, spawnProcess, uniquePrefix, waitFor } from '../../test/helpers.ts';

interface Datum {
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
  Unit: string;
  Value: number;
  Timestamp: number | string;
}
interface PutRequest {
  namespace: string;
  data: Datum[];
  target: string;
  contentType: string;
  authorization: string;
}

/**
 * PutMetricData over AWS JSON 1.0; answers 503 to the first `failFirst` requests, and none at all
 * while `hanging` is set (a blackholed endpoint).
 */
async function startCloudWatchStandIn(failFirst: number) {
  const received: PutRequest[] = [];
  const held: ServerResponse[] = [];
  const mode = { hanging: false };
  let requests = 0;
  const body = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      req.on('end', () => resolve(text));
    });
  const server: Server = createServer(async (req, res) => {
    const text = await body(req);
    requests += 1;
    if (mode.hanging) {
      held.push(res);
      return;
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    if (requests <= failFirst) {
      res.writeHead(503, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'ServiceUnavailable', message: 'try again' }));
      return;
    }
    if (!target.endsWith('.PutMetricData')) {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'InvalidAction', message: `unexpected ${target}` }));
      return;
    }
    const input = JSON.parse(text) as { Namespace: string; MetricData: Datum[] };
    received.push({
      namespace: input.Namespace,
      data: input.MetricData,
      target,
      contentType: String(req.headers['content-type']),
      authorization: String(req.headers.authorization ?? ''),
    });
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    mode,
    held,
    requests: () => requests,
    close: () => {
      for (const res of held) res.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('queue depth metric', () => {
  let cloudwatch: Awaited<ReturnType<typeof startCloudWatchStandIn>>;
  const prefix = uniquePrefix('qdepth');
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => {});
  const queues = Object.values(QUEUES).map(
    (name) => new Queue(name, { connection: redis, prefix: `${prefix}bull` }),
  );
  for (const queue of queues) queue.on('error', () => {});

  cleanupKeys(prefix);
  beforeAll(async () => {
    // Two failed publishes (the SDK tries each twice): the worker must carry on and publish later.
    cloudwatch = await startCloudWatchStandIn(4);
  });
  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    await cloudwatch.close();
    redis.disconnect();
  });

  it('publishes Prism/QueueDepth for its deployment, through an outage and a hung endpoint, and follows the jobs to do', async () => {
    const healthPort = await freePort();
    const deployment = `prism-test-${prefix.slice(-6)}`;
    const worker = spawnProcess('worker', {
      REDIS_KEY_PREFIX: prefix,
      INSTANCE_ID: 'queue-depth-worker',
      WORKER_HEALTH_PORT: String(healthPort),
      AI_PROVIDER: 'rules',
      STORAGE_URL: `file:.data/test-objects/${prefix.replaceAll(':', '_')}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDPRISMTEST',
      AWS_SECRET_ACCESS_KEY: 'prism-test-secret',
      CLOUDWATCH_DEPLOYMENT: deployment,
      CLOUDWATCH_ENDPOINT_URL: cloudwatch.url,
      QUEUE_METRIC_INTERVAL_MS: '200',
    });
    await waitFor(() => cloudwatch.received.length > 0, 20_000, 'a first datum').catch(() => {
      throw new Error(`no datum: ${cloudwatch.requests()} requests; worker said: ${worker.output()}`);
    });
    expect(cloudwatch.requests()).toBeGreaterThan(4); // the refused ones came first

    const first = cloudwatch.received[0]!;
    expect(first.target).toBe('GraniteServiceVersion20100801.PutMetricData');
    expect(first.contentType).toBe('application/x-amz-json-1.0');
    // Signed with SigV4 for CloudWatch in the worker's region.
    expect(first.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDPRISMTEST\/\d{8}\/eu-west-1\/monitoring\/aws4_request/,
    );
    expect(first.namespace).toBe('Prism');
    expect(first.data).toHaveLength(1);
    expect(first.data[0]).toMatchObject({
      MetricName: 'QueueDepth',
      Dimensions: [{ Name: 'Deployment', Value: deployment }],
      Unit: 'Count',
      Value: 0,
    });

    // Work the worker cannot start yet (delayed, in every queue) is still work to do.
    await queues[0]!.add('analysis.section', { later: true }, { delay: 3_600_000 });
    await queues[1]!.add('chat.reply', { later: true }, { delay: 3_600_000 });
    await queues[2]!.add('export.package', { later: true }, { delay: 3_600_000 });
    await waitFor(() => cloudwatch.received.some((r) => r.data[0]?.Value === 3), 10_000, 'a depth of 3');

    // The worker's own /metrics shows the same number.
    const metrics = await fetch(`http://127.0.0.1:${healthPort}/metrics`).then((res) => res.text());
    expect(metrics).toMatch(/^prism_queue_depth\{[^}]*\} 3$/m);

    await Promise.all(queues.map((queue) => queue.obliterate({ force: true })));
    await waitFor(() => cloudwatch.received.at(-1)?.data[0]?.Value === 0, 10_000, 'a depth of 0 again');

    // A blackholed endpoint: each publish gives up after its bound (2 s here) and the schedule
    // goes on; and shutdown does not wait for the request that hangs.
    cloudwatch.mode.hanging = true;
    await waitFor(() => cloudwatch.held.length >= 2, 15_000, 'a second request while the first hangs');
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
