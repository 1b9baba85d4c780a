/**
 * What the server and worker services share: where the image comes from (the repository's
 * Dockerfile, target `server` or `worker`), the container health check (the same probe as the
 * Dockerfile's HEALTHCHECK, which ECS does not read), logs, the Fargate task itself, and the
 * service's deployment rules.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TaskSize } from './config.ts';

/** The repository root: the Docker build context. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Runtime = 'server' | 'worker';

/**
 * - `asset`: `cdk deploy` builds the Dockerfile (target = runtime) and pushes it to the CDK asset
 *   repository.
 * - `ecr`: images already pushed (CI), one repository per runtime and a tag.
 */
export type ImageSource =
  | { readonly kind: 'asset'; readonly directory?: string; readonly file?: string }
  | {
      readonly kind: 'ecr';
      readonly serverRepository: string;
      readonly workerRepository: string;
      readonly tag: string;
    };

export function containerImage(scope: Construct, source: ImageSource, runtime: Runtime): ecs.ContainerImage {
  if (source.kind === 'asset') {
    return ecs.ContainerImage.fromAsset(source.directory ?? REPO_ROOT, {
      file: source.file ?? 'Dockerfile',
      target: runtime,
      platform: Platform.LINUX_AMD64,
    });
  }
  const name = runtime === 'server' ? source.serverRepository : source.workerRepository;
  return ecs.ContainerImage.fromEcrRepository(
    ecr.Repository.fromRepositoryName(scope, `${runtime}-repository`, name),
    source.tag,
  );
}

/** The Dockerfile's HEALTHCHECK probe: GET http://127.0.0.1:PORT/health must answer 2xx. */
export function healthProbe(port: number): string[] {
  return [
    'CMD',
    'node',
    '-e',
    `fetch('http://127.0.0.1:${port}/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
  ];
}

export interface TaskProps extends Pick<TaskSize, 'cpu' | 'memoryMiB'> {
  readonly runtime: Runtime;
  readonly image: ImageSource;
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, ecs.Secret>;
  readonly healthPort: number;
  /** SIGTERM to SIGKILL: DRAIN_TIMEOUT_MS plus a margin (Fargate allows up to 120 s). */
  readonly stopTimeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly portMappings?: ecs.PortMapping[];
}

/** A Fargate task definition with one essential container named after the runtime. */
export function prismTask(
  scope: Construct,
  props: TaskProps,
): {
  taskDefinition: ecs.FargateTaskDefinition;
  container: ecs.ContainerDefinition;
  logGroup: logs.LogGroup;
} {
  if (props.stopTimeout.toSeconds() > 120) throw new Error('Fargate stopTimeout is at most 120 s');
  const taskDefinition = new ecs.FargateTaskDefinition(scope, 'Task', {
    cpu: props.cpu,
    memoryLimitMiB: props.memoryMiB,
    runtimePlatform: {
      cpuArchitecture: ecs.CpuArchitecture.X86_64,
      operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
    },
  });
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const container = taskDefinition.addContainer(props.runtime, {
    image: containerImage(scope, props.image, props.runtime),
    essential: true,
    environment: props.environment,
    secrets: props.secrets,
    portMappings: props.portMappings,
    healthCheck: {
      command: healthProbe(props.healthPort),
      interval: Duration.seconds(15),
      timeout: Duration.seconds(5),
      retries: 3,
      startPeriod: Duration.seconds(30),
    },
    stopTimeout: props.stopTimeout,
    // An init process as PID 1 forwards SIGTERM to node and reaps zombies.
    linuxParameters: new ecs.LinuxParameters(scope, 'Linux', { initProcessEnabled: true }),
    logging: ecs.LogDrivers.awsLogs({ streamPrefix: props.runtime, logGroup }),
  });
  return { taskDefinition, container, logGroup };
}

export interface ServiceProps {
  readonly cluster: ecs.ICluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly subnets: ec2.SubnetSelection;
  readonly enableExecuteCommand?: boolean;
  /** Servers only: how long the load balancer's failing health checks are ignored after start. */
  readonly healthCheckGracePeriod?: Duration;
}

/**
 * The Fargate service around a task: private subnets, no public IP, rolling deployments that keep
 * every running task until its replacement is healthy, and a rollback when a deployment never gets
 * healthy.
 */
export function prismService(scope: Construct, props: ServiceProps): ecs.FargateService {
  return new ecs.FargateService(scope, 'Service', {
    cluster: props.cluster,
    taskDefinition: props.taskDefinition,
    vpcSubnets: props.subnets,
    assignPublicIp: false,
    minHealthyPercent: 100,
    maxHealthyPercent: 200,
    circuitBreaker: { enable: true, rollback: true },
    healthCheckGracePeriod: props.healthCheckGracePeriod,
    enableExecuteCommand: props.enableExecuteCommand ?? false,
    propagateTags: ecs.PropagatedTagSource.SERVICE,
  });
}
