/**
 * The queue depth the fleet scales workers on (infra/README.md, "Queue metric"): jobs waiting,
 * delayed, prioritized or running, summed over every Prism queue, published as the CloudWatch
 * metric `Prism/QueueDepth {Deployment}` once at start and then every period. Every worker
 * publishes the same Redis-wide number; the alarms read `Maximum`, so more workers do not count
 * twice. A failed publish is logged and the next period tries again: the worker's jobs never wait
 * on CloudWatch.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';

export const QUEUE_DEPTH_NAMESPACE = 'Prism';
export const QUEUE_DEPTH_METRIC = 'QueueDepth';
/** The job states that are work still to do (BullMQ `getJobCounts` names). */
export const DEPTH_STATES = ['waiting', 'delayed', 'prioritized', 'active'] as const;

/** Jobs still to do across the given queues. */
export async function queueDepth(queues: Queue[]): Promise<number> {
  const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...DEPTH_STATES)));
  return counts.reduce(
    (sum, byState) => sum + DEPTH_STATES.reduce((n, state) => n + (byState[state] ?? 0), 0),
    0,
  );
}

export interface QueueDepthOptions {
  queues: Queue[];
  /** The `Deployment` dimension (CLOUDWATCH_DEPLOYMENT: the stack's name). */
  deployment: string;
  client: CloudWatchClient;
  intervalMs: number;
  logger: Logger;
  /** Called with every depth read (the worker's own /metrics gauge). */
  onDepth?: (depth: number) => void;
}

/** The longest one publish may take (a blackholed endpoint must not stall the schedule). */
const MAX_PUBLISH_MS = 10_000;

export class QueueDepthPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private inFlight: AbortController | undefined;
  private stopped = false;
  /** Publishes that failed in a row (logged at the first and every tenth). */
  private failures = 0;
  private readonly options: QueueDepthOptions;

  constructor(options: QueueDepthOptions) {
    this.options = options;
  }

  /** Publishes now, then every interval until stop(). */
  start(): void {
    this.tick();
  }

  /**
   * Reads the depth and puts one datum; resolves with the depth (rejects if either fails, or the
   * request takes longer than the period (at least 2 s, at most 10 s), or `signal` aborts it).
   */
  async publish(signal?: AbortSignal): Promise<number> {
    const { queues, deployment, client, intervalMs, onDepth } = this.options;
    const depth = await queueDepth(queues);
    onDepth?.(depth);
    const timeout = AbortSignal.timeout(Math.min(Math.max(intervalMs, 2000), MAX_PUBLISH_MS));
    await client.send(
      new PutMetricDataCommand({
        Namespace: QUEUE_DEPTH_NAMESPACE,
        MetricData: [
          {
            MetricName: QUEUE_DEPTH_METRIC,
            Dimensions: [{ Name: 'Deployment', Value: deployment }],
            Unit: 'Count',
            Value: depth,
            Timestamp: new Date(),
          },
        ],
      }),
      { abortSignal: signal ? AbortSignal.any([signal, timeout]) : timeout },
    );
    return depth;
  }

  /** Stops the schedule and abandons a publish in flight (shutdown never waits on CloudWatch). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.inFlight?.abort();
    await this.running;
  }

  /** At a fixed rate, so the one-minute datapoints do not drift; a period still publishing is skipped. */
  private tick(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    if (this.inFlight) return;
    const controller = new AbortController();
    this.inFlight = controller;
    this.running = this.publish(controller.signal).then(
      () => {
        if (this.failures > 0)
          this.options.logger.info({ after: this.failures }, 'queue depth published again');
        this.failures = 0;
      },
      (error: unknown) => {
        this.failures += 1;
        if (this.failures % 10 === 1) {
          this.options.logger.warn(
            { err: error, failures: this.failures },
            'could not publish the queue depth to CloudWatch; trying again next period',
          );
        }
      },
    );
    void this.running.then(() => {
      this.inFlight = undefined;
    });
  }
}

/** The client main.ts uses: the SDK's credential chain (the task role on ECS). */
export function createCloudWatchClient(region: string, endpoint?: string): CloudWatchClient {
  return new CloudWatchClient({ region, ...(endpoint ? { endpoint } : {}), maxAttempts: 2 });
}
