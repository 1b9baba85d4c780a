/**
 * Prism on AWS: the constructs of lib/ wired together, and the environment of CONTRACT.md
 * section 2 given to each task. Two values are CloudFormation parameters, given at deploy time:
 * the ACM certificate of the HTTPS listener and the public URL people open (PUBLIC_URL: invite
 * links and the websocket Origin check).
 */
import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, type StackProps, Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  defaultBedrockModels,
  FLEETS,
  type Fleet,
  fleetProblems,
  PORTS,
  QUEUE_METRIC,
} from './config.ts';
import { LoadBalancer } from './load-balancer.ts';
import { type AlarmThresholds, Monitoring } from './monitoring.ts';
import { Network } from './network.ts';
import { Redis, type RedisMode } from './redis.ts';
import { Secrets } from './secrets.ts';
import { ServerService } from './server-service.ts';
import { SignIn, type SignInOptions } from './sign-in.ts';
import { Storage } from './storage.ts';
import type { ImageSource } from './task.ts';
import { Waf } from './waf.ts';
import { WorkerService } from './worker-service.ts';

export interface PrismStackProps extends StackProps {
  /** Sizes and counts; default FLEETS.small. */
  readonly fleet?: Fleet;
  /** Where the images come from; default: built from the repository's Dockerfile by cdk deploy. */
  readonly images?: ImageSource;
  /** BEDROCK_MODELS; default: the worker's own default chain for the stack's region. */
  readonly bedrockModels?: readonly string[];
  /** Destination regions per inference profile id, replacing the geography's default list. */
  readonly bedrockProfileRegions?: Readonly<Record<string, readonly string[]>>;
  /** DRAIN_TIMEOUT_MS of servers and workers; also the target group's deregistration delay. */
  readonly drainTimeoutMs?: number;
  /** ALB idle timeout, >= 120 s. Default 120 s. */
  readonly albIdleTimeout?: Duration;
  /** Key prefix under the bucket (STORAGE_URL=s3://BUCKET/PREFIX). Default "prism". */
  readonly storagePrefix?: string;
  /** AWS WAF on the load balancer: true, or options. Default off. */
  readonly waf?: boolean | { readonly rateLimitPer5Minutes?: number };
  readonly alarmEmail?: string;
  readonly alarmThresholds?: Partial<AlarmThresholds>;
  readonly logRetention?: logs.RetentionDays;
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly maxUploadMb?: number;
  readonly reviewTokenBudget?: number;
  /** ECS Exec (a shell in a running task) for debugging. Default off. */
  readonly enableExecuteCommand?: boolean;
  readonly containerInsights?: boolean;
  /** Keep the bucket and the secrets, and snapshot Redis, when the stack is deleted. Default true. */
  readonly retainData?: boolean;
  /** ALB deletion protection. Default false. */
  readonly deletionProtection?: boolean;
  /** Sign-in with an OpenID Connect provider: a new Cognito user pool, or an existing issuer. Default: guests only. */
  readonly signIn?: SignInOptions;
  /**
   * Redis: `replication-group` (default: one primary and replicas), `cluster` (ElastiCache cluster
   * mode) or `memorydb` (durable); the last two run Prism with REDIS_CLUSTER=true. infra/README.md.
   */
  readonly redisMode?: RedisMode;
  /** Shards in `cluster` and `memorydb` modes. Default 2. */
  readonly redisShards?: number;
}

/** An ElastiCache replication group id from the stack name: lowercase, <= 40 characters. */
export function replicationGroupIdFor(stackName: string): string {
  const base = stackName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '');
  return `${(base || 'prism').slice(0, 34).replace(/-+$/, '')}-redis`;
}

export class PrismStack extends Stack {
  readonly network: Network;
  readonly storage: Storage;
  readonly secrets: Secrets;
  readonly redis: Redis;
  readonly loadBalancer: LoadBalancer;
  readonly server: ServerService;
  readonly worker: WorkerService;
  readonly monitoring: Monitoring;
  readonly waf?: Waf;
  readonly signIn?: SignIn;
  readonly bedrockModels: readonly string[];

  constructor(scope: Construct, id: string, props: PrismStackProps = {}) {
    super(scope, id, props);
    const region = this.region;
    if (Token.isUnresolved(region)) {
      throw new Error(
        'PrismStack needs a concrete region (env.region): the Bedrock model chain and its IAM policy depend on it',
      );
    }
    const fleet = props.fleet ?? FLEETS.small;
    const problems = fleetProblems(fleet);
    if (problems.length > 0) throw new Error(`invalid fleet:\n  ${problems.join('\n  ')}`);
    const drainTimeoutMs = props.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    if (!Number.isInteger(drainTimeoutMs) || drainTimeoutMs < 0 || drainTimeoutMs > 100_000) {
      throw new Error(
        'drainTimeoutMs must be an integer 0..100000 (stopTimeout adds 10 s, Fargate allows 120 s)',
      );
    }
    // The load balancer keeps a deregistered server's connections for as long as it drains.
    const drainSeconds = Math.ceil(drainTimeoutMs / 1000);
    const stopTimeout = Duration.seconds(drainSeconds + 10);
    this.bedrockModels = props.bedrockModels ?? defaultBedrockModels(region);
    const images = props.images ?? { kind: 'asset' };
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const removalPolicy = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const certificateArn = new CfnParameter(this, 'CertificateArn', {
      type: 'String',
      description: 'ARN of the ACM certificate (same region) for the HTTPS listener',
      allowedPattern: '^arn:aws[a-zA-Z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[A-Za-z0-9-]+$',
      constraintDescription: 'an ACM certificate ARN',
    });
    const publicUrl = new CfnParameter(this, 'PublicUrl', {
      type: 'String',
      description:
        'The https:// origin people open (PUBLIC_URL): invite links and the websocket Origin check',
      allowedPattern: '^https://[A-Za-z0-9.-]+(:\\d+)?$',
      constraintDescription: 'an https:// origin without a path, e.g. https://prism.example.com',
    });

    this.network = new Network(this, 'Network', fleet.network);
    const vpc = this.network.vpc;
    this.storage = new Storage(this, 'Storage', { prefix: props.storagePrefix ?? 'prism', removalPolicy });
    this.secrets = new Secrets(this, 'Secrets', { removalPolicy });
    this.redis = new Redis(this, 'Redis', {
      ...fleet.redis,
      mode: props.redisMode,
      shards: props.redisShards,
      vpc,
      subnets: this.network.dataSubnets,
      authToken: this.secrets.redisAuthToken,
      replicationGroupId: replicationGroupIdFor(this.stackName),
      removalPolicy: props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.SNAPSHOT,
    });
    this.loadBalancer = new LoadBalancer(this, 'LoadBalancer', {
      vpc,
      certificateArn: certificateArn.valueAsString,
      targetPort: PORTS.server,
      idleTimeout: props.albIdleTimeout ?? Duration.seconds(120),
      deregistrationDelay: Duration.seconds(drainSeconds),
      deletionProtection: props.deletionProtection,
    });

    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: props.containerInsights
        ? ecs.ContainerInsights.ENABLED
        : ecs.ContainerInsights.DISABLED,
    });

    // CONTRACT.md section 2, the same for both runtimes.
    const shared: Record<string, string> = {
      NODE_ENV: 'production',
      REDIS_URL: this.redis.url,
      REDIS_CLUSTER: String(this.redis.cluster),
      STORAGE_URL: this.storage.storageUrl,
      AWS_REGION: region,
      DRAIN_TIMEOUT_MS: String(drainTimeoutMs),
      LOG_LEVEL: props.logLevel ?? 'info',
      REVIEW_TOKEN_BUDGET: String(props.reviewTokenBudget ?? 2_000_000),
    };
    const redisPassword = ecs.Secret.fromSecretsManager(this.secrets.redisAuthToken);
    if (props.signIn) {
      this.signIn = new SignIn(this, 'SignIn', {
        options: props.signIn,
        publicUrl: publicUrl.valueAsString,
        removalPolicy,
      });
    }

    this.server = new ServerService(this, 'Server', {
      cluster,
      subnets: this.network.taskSubnets,
      fleet: fleet.server,
      image: images,
      port: PORTS.server,
      environment: {
        ...shared,
        PORT: String(PORTS.server),
        METRICS_PORT: String(PORTS.serverMetrics),
        PUBLIC_URL: publicUrl.valueAsString,
        // The load balancer's addresses are in the VPC: trust X-Forwarded-* from there only.
        TRUST_PROXY: vpc.vpcCidrBlock,
        MAX_UPLOAD_MB: String(props.maxUploadMb ?? 20),
        ...this.signIn?.environment,
      },
      secrets: {
        SESSION_SECRET: ecs.Secret.fromSecretsManager(this.secrets.sessionSecret),
        REDIS_PASSWORD: redisPassword,
        ...this.signIn?.secrets,
      },
      targetGroup: this.loadBalancer.targetGroup,
      stopTimeout,
      logRetention,
      enableExecuteCommand: props.enableExecuteCommand,
    });

    this.worker = new WorkerService(this, 'Worker', {
      cluster,
      subnets: this.network.taskSubnets,
      fleet: fleet.worker,
      image: images,
      healthPort: PORTS.workerHealth,
      environment: {
        ...shared,
        WORKER_HEALTH_PORT: String(PORTS.workerHealth),
        WORKER_CONCURRENCY: String(fleet.worker.concurrency),
        AI_PROVIDER: 'bedrock',
        BEDROCK_MODELS: this.bedrockModels.join(','),
        [QUEUE_METRIC.envVar]: this.stackName,
      },
      secrets: { REDIS_PASSWORD: redisPassword },
      bedrockModels: this.bedrockModels,
      bedrockProfileRegions: props.bedrockProfileRegions,
      region,
      deployment: this.stackName,
      stopTimeout,
      logRetention,
      enableExecuteCommand: props.enableExecuteCommand,
    });

    this.redis.allowFrom(this.server.connections, 'Prism servers');
    this.redis.allowFrom(this.worker.service.connections, 'Prism workers');
    this.storage.grantReadWrite(this.server.taskDefinition.taskRole);
    this.storage.grantReadWrite(this.worker.taskDefinition.taskRole);

    if (props.waf) {
      this.waf = new Waf(this, 'Waf', {
        loadBalancerArn: this.loadBalancer.alb.loadBalancerArn,
        rateLimitPer5Minutes: typeof props.waf === 'object' ? props.waf.rateLimitPer5Minutes : undefined,
        metricPrefix: this.stackName,
      });
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      dashboardName: this.stackName.replace(/[^A-Za-z0-9_-]/g, '-'),
      loadBalancer: this.loadBalancer.alb,
      targetGroup: this.loadBalancer.targetGroup,
      server: this.server.service,
      worker: this.worker.service,
      queueDepth: this.worker.queueDepth,
      redisNodeIds: this.redis.nodeIds,
      redisMetrics: this.redis.metrics,
      bedrockModels: this.bedrockModels,
      thresholds: props.alarmThresholds,
      alarmEmail: props.alarmEmail,
    });

    new CfnOutput(this, 'LoadBalancerDns', {
      value: this.loadBalancer.alb.loadBalancerDnsName,
      description: 'Point the PublicUrl host name here (CNAME or alias)',
    });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'StorageUrl', { value: this.storage.storageUrl });
    new CfnOutput(this, 'SessionSecretArn', { value: this.secrets.sessionSecret.secretArn });
    new CfnOutput(this, 'RedisAuthTokenArn', { value: this.secrets.redisAuthToken.secretArn });
    new CfnOutput(this, 'RedisReplicationGroupId', { value: this.redis.replicationGroupId });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServerServiceName', { value: this.server.service.serviceName });
    new CfnOutput(this, 'WorkerServiceName', { value: this.worker.service.serviceName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}
