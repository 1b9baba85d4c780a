/**
 * The workers: a Fargate service with no inbound traffic at all, scaled on the queue depth the
 * workers publish (QUEUE_METRIC) with step scaling, and out (never in) on CPU. Its task role may
 * call exactly the chain's Bedrock models and publish metrics in the Prism namespace.
 */
import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bedrockStatements } from './bedrock.ts';
import { QUEUE_METRIC, type WorkerFleet } from './config.ts';
import { type ImageSource, prismService, prismTask } from './task.ts';

export interface WorkerServiceProps {
  readonly cluster: ecs.ICluster;
  readonly subnets: ec2.SubnetSelection;
  readonly fleet: WorkerFleet;
  readonly image: ImageSource;
  readonly healthPort: number;
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, ecs.Secret>;
  /** BEDROCK_MODELS, in order: the task role may invoke these and nothing else. */
  readonly bedrockModels: readonly string[];
  readonly bedrockProfileRegions?: Readonly<Record<string, readonly string[]>>;
  readonly region: string;
  /** The value of the queue metric's Deployment dimension (CLOUDWATCH_DEPLOYMENT). */
  readonly deployment: string;
  readonly stopTimeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly enableExecuteCommand?: boolean;
}

export class WorkerService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly logGroup: logs.LogGroup;
  readonly queueDepth: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: WorkerServiceProps) {
    super(scope, id);
    const { taskDefinition, logGroup } = prismTask(this, {
      runtime: 'worker',
      cpu: props.fleet.cpu,
      memoryMiB: props.fleet.memoryMiB,
      image: props.image,
      environment: props.environment,
      secrets: props.secrets,
      healthPort: props.healthPort,
      stopTimeout: props.stopTimeout,
      logRetention: props.logRetention,
    });
    this.taskDefinition = taskDefinition;
    this.logGroup = logGroup;

    for (const statement of bedrockStatements({
      models: props.bedrockModels,
      region: props.region,
      profileRegions: props.bedrockProfileRegions,
    })) {
      taskDefinition.taskRole.addToPrincipalPolicy(statement);
    }
    // PutMetricData has no resource-level permissions: the namespace condition is the boundary.
    taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishQueueMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': QUEUE_METRIC.namespace } },
      }),
    );

    this.service = prismService(this, {
      cluster: props.cluster,
      taskDefinition,
      subnets: props.subnets,
      enableExecuteCommand: props.enableExecuteCommand,
    });

    this.queueDepth = new cloudwatch.Metric({
      namespace: QUEUE_METRIC.namespace,
      metricName: QUEUE_METRIC.metricName,
      dimensionsMap: { [QUEUE_METRIC.dimension]: props.deployment },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(1),
    });

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: props.fleet.minTasks,
      maxCapacity: props.fleet.maxTasks,
    });
    // Every worker publishes the same depth (it is read from Redis): Maximum de-duplicates. The
    // depth counts running jobs too, so it is 0 only when the fleet is idle: then one task goes.
    scaling.scaleOnMetric('QueueDepth', {
      metric: this.queueDepth,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: -1 },
        { lower: props.fleet.scaleOutQueueDepth, change: +1 },
        { lower: props.fleet.burstQueueDepth, change: +3 },
      ],
      cooldown: Duration.minutes(2),
      evaluationPeriods: 2,
    });
    // Scale-out only: a worker waiting on Bedrock uses little CPU, so CPU must never scale in what
    // the queue asked for.
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 75,
      disableScaleIn: true,
      scaleOutCooldown: Duration.minutes(2),
    });
  }
}
