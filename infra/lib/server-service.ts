/**
 * The servers: a Fargate service behind the load balancer's target group, on PORT only, scaled on
 * requests per task and on CPU, deployed as every Prism service is (`prismService`).
 */
import { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ServerFleet } from './config.ts';
import { type ImageSource, prismService, prismTask } from './task.ts';

export interface ServerServiceProps {
  readonly cluster: ecs.ICluster;
  readonly subnets: ec2.SubnetSelection;
  readonly fleet: ServerFleet;
  readonly image: ImageSource;
  readonly port: number;
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, ecs.Secret>;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly stopTimeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly enableExecuteCommand?: boolean;
}

export class ServerService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServerServiceProps) {
    super(scope, id);
    const { taskDefinition, logGroup } = prismTask(this, {
      runtime: 'server',
      cpu: props.fleet.cpu,
      memoryMiB: props.fleet.memoryMiB,
      image: props.image,
      environment: props.environment,
      secrets: props.secrets,
      healthPort: props.port,
      stopTimeout: props.stopTimeout,
      logRetention: props.logRetention,
      // Only PORT: METRICS_PORT listens on the task's loopback and is never mapped or routed.
      portMappings: [{ containerPort: props.port, protocol: ecs.Protocol.TCP, name: 'http' }],
    });
    this.taskDefinition = taskDefinition;
    this.logGroup = logGroup;

    this.service = prismService(this, {
      cluster: props.cluster,
      taskDefinition,
      subnets: props.subnets,
      enableExecuteCommand: props.enableExecuteCommand,
      healthCheckGracePeriod: Duration.seconds(60),
    });
    // Registers the container's PORT as the target and opens the service's security group to the
    // load balancer on that port alone.
    props.targetGroup.addTarget(
      this.service.loadBalancerTarget({ containerName: 'server', containerPort: props.port }),
    );

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: props.fleet.minTasks,
      maxCapacity: props.fleet.maxTasks,
    });
    scaling.scaleOnRequestCount('Requests', {
      targetGroup: props.targetGroup,
      requestsPerTarget: props.fleet.requestsPerTarget,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.fleet.cpuTargetPercent,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });
  }

  get connections(): ec2.Connections {
    return this.service.connections;
  }
}
