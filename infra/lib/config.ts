/**
 * The knobs of a Prism deployment, with the two fleet sizes infra/README.md prices. Everything
 * here is plain data: the constructs take the parts they need as typed props.
 */
import { defaultModels } from '../../worker/src/ai/models.ts';

/** Graceful shutdown budget of servers and workers after SIGTERM (CONTRACT: DRAIN_TIMEOUT_MS). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;

/** Ports of CONTRACT section 2, as the containers are configured. */
export const PORTS = {
  /** Server HTTP + Socket.IO (PORT): the only port the load balancer reaches. */
  server: 3000,
  /** Server Prometheus /metrics (METRICS_PORT): loopback inside the task, never routed. */
  serverMetrics: 9464,
  /** Worker /health, /ready, /metrics (WORKER_HEALTH_PORT): used by the container health check. */
  workerHealth: 3001,
} as const;

/** The CloudWatch metric the worker publishes for autoscaling; see infra/README.md. */
export const QUEUE_METRIC = {
  namespace: 'Prism',
  metricName: 'QueueDepth',
  /** Dimension naming the deployment; its value is given to the worker as CLOUDWATCH_DEPLOYMENT. */
  dimension: 'Deployment',
  /** Environment variable that turns the worker's publisher on and carries the dimension value. */
  envVar: 'CLOUDWATCH_DEPLOYMENT',
} as const;

export interface TaskSize {
  /** Fargate CPU units (256 = 0.25 vCPU). */
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly minTasks: number;
  readonly maxTasks: number;
}

export interface ServerFleet extends TaskSize {
  /** Target of the request-count scaling policy: ALB requests per task per minute. */
  readonly requestsPerTarget: number;
  /** Target of the CPU scaling policy, percent. */
  readonly cpuTargetPercent: number;
}

export interface WorkerFleet extends TaskSize {
  /** WORKER_CONCURRENCY: jobs at once per task. */
  readonly concurrency: number;
  /** Queue depth (jobs waiting or running, all queues) from which one task is added. */
  readonly scaleOutQueueDepth: number;
  /** Queue depth from which three tasks are added at once. */
  readonly burstQueueDepth: number;
}

export interface RedisFleet {
  readonly engine: 'redis' | 'valkey';
  readonly engineVersion: string;
  /** Parameter group family matching engine and version, e.g. redis7 or valkey8. */
  readonly parameterGroupFamily: string;
  readonly nodeType: string;
  /** Nodes in the replication group: one primary, the rest replicas in other AZs (>= 2). */
  readonly nodes: number;
  readonly snapshotRetentionDays: number;
}

export interface NetworkFleet {
  readonly maxAzs: number;
  readonly natGateways: number;
}

export interface Fleet {
  readonly network: NetworkFleet;
  readonly server: ServerFleet;
  readonly worker: WorkerFleet;
  readonly redis: RedisFleet;
}

const REDIS_7 = { engine: 'redis', engineVersion: '7.1', parameterGroupFamily: 'redis7' } as const;

export const FLEETS: Record<'small' | 'large', Fleet> = {
  small: {
    network: { maxAzs: 2, natGateways: 1 },
    server: {
      cpu: 512,
      memoryMiB: 1024,
      minTasks: 2,
      maxTasks: 4,
      requestsPerTarget: 1000,
      cpuTargetPercent: 60,
    },
    worker: {
      cpu: 512,
      memoryMiB: 1024,
      minTasks: 1,
      maxTasks: 4,
      concurrency: 8,
      scaleOutQueueDepth: 16,
      burstQueueDepth: 64,
    },
    redis: { ...REDIS_7, nodeType: 'cache.t4g.small', nodes: 2, snapshotRetentionDays: 7 },
  },
  large: {
    network: { maxAzs: 3, natGateways: 3 },
    server: {
      cpu: 1024,
      memoryMiB: 2048,
      minTasks: 4,
      maxTasks: 20,
      requestsPerTarget: 2000,
      cpuTargetPercent: 60,
    },
    worker: {
      cpu: 1024,
      memoryMiB: 2048,
      minTasks: 4,
      maxTasks: 30,
      concurrency: 16,
      scaleOutQueueDepth: 64,
      burstQueueDepth: 256,
    },
    redis: { ...REDIS_7, nodeType: 'cache.r7g.large', nodes: 3, snapshotRetentionDays: 14 },
  },
};

/** The worker's own default chain for a region (worker/src/ai/models.ts), so both agree. */
export const defaultBedrockModels = (region: string): string[] => defaultModels(region);

/** Fargate's valid CPU/memory pairs (MiB), for a clear error at synth instead of at deploy. */
const FARGATE_MEMORY: Record<number, [number, number, number]> = {
  256: [512, 2048, 1024],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/** Problems with a fleet, one line each (empty when it is valid). */
export function fleetProblems(fleet: Fleet): string[] {
  const problems: string[] = [];
  for (const [name, size] of [
    ['server', fleet.server],
    ['worker', fleet.worker],
  ] as const) {
    const range = FARGATE_MEMORY[size.cpu];
    if (!range) problems.push(`${name}.cpu ${size.cpu} is not a Fargate CPU size`);
    else if (
      size.memoryMiB < range[0] ||
      size.memoryMiB > range[1] ||
      (size.memoryMiB - range[0]) % range[2] !== 0
    ) {
      problems.push(`${name}.memoryMiB ${size.memoryMiB} does not go with cpu ${size.cpu} on Fargate`);
    }
    if (size.minTasks < 1 || size.maxTasks < size.minTasks) {
      problems.push(`${name}: need 1 <= minTasks <= maxTasks (got ${size.minTasks}..${size.maxTasks})`);
    }
  }
  if (fleet.redis.nodes < 2 || fleet.redis.nodes > 6) {
    problems.push(`redis.nodes must be 2..6 for Multi-AZ with automatic failover (got ${fleet.redis.nodes})`);
  }
  if (fleet.redis.snapshotRetentionDays < 1) problems.push('redis.snapshotRetentionDays must be >= 1');
  if (fleet.network.maxAzs < 2) problems.push('network.maxAzs must be >= 2 (Multi-AZ)');
  if (fleet.network.natGateways < 1) problems.push('network.natGateways must be >= 1');
  if (fleet.worker.burstQueueDepth <= fleet.worker.scaleOutQueueDepth) {
    problems.push('worker.burstQueueDepth must be greater than worker.scaleOutQueueDepth');
  }
  return problems;
}
