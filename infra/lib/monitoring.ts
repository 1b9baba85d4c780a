/**
 * One CloudWatch dashboard and the alarms infra/README.md explains ("Alarms"), all notifying one
 * SNS topic (optionally an e-mail address). Alarm ids are stable: the README names them.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmThresholds {
  /** Percent of requests answered 5xx (by the servers or the load balancer). */
  readonly http5xxPercent: number;
  /** CPU and memory utilization percent of a service, averaged over its tasks. */
  readonly cpuPercent: number;
  readonly memoryPercent: number;
  /** Queue depth that must not last 15 minutes. */
  readonly queueDepth: number;
  /** Bedrock throttled invocations per model per 5 minutes. */
  readonly bedrockThrottles: number;
  /** Bedrock server (5xx) and client (4xx) errors per model per 5 minutes. */
  readonly bedrockErrors: number;
  /** Redis used memory, percent of maxmemory (noeviction: writes fail at 100). */
  readonly redisMemoryPercent: number;
  readonly redisCpuPercent: number;
}

export const DEFAULT_THRESHOLDS: AlarmThresholds = {
  http5xxPercent: 5,
  cpuPercent: 85,
  memoryPercent: 85,
  queueDepth: 200,
  bedrockThrottles: 20,
  bedrockErrors: 5,
  redisMemoryPercent: 75,
  redisCpuPercent: 80,
};

export interface MonitoringProps {
  readonly dashboardName: string;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly server: ecs.FargateService;
  readonly worker: ecs.FargateService;
  readonly queueDepth: cloudwatch.IMetric;
  /** Redis node ids (CacheClusterId dimension). */
  readonly redisNodeIds: readonly string[];
  /** Where the nodes' metrics are, when not ElastiCache's CacheClusterId of `redisNodeIds` (MemoryDB). */
  readonly redisMetrics?: { namespace: string; dimensions: Record<string, string>[] };
  /** The model chain: one throttle and two error alarms per model (ModelId dimension). */
  readonly bedrockModels: readonly string[];
  readonly thresholds?: Partial<AlarmThresholds>;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
const ONE_MINUTE = Duration.minutes(1);

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const t = { ...DEFAULT_THRESHOLDS, ...props.thresholds };
    if (props.bedrockModels.length > 10) throw new Error('at most 10 Bedrock models are monitored');
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Prism alarms' });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new actions.SnsAction(this.topic);

    const alarm = (
      alarmId: string,
      description: string,
      options: Omit<cloudwatch.AlarmProps, 'alarmDescription'>,
    ) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: `${description} See infra/README.md, "Alarms", ${alarmId}.`,
        ...options,
      });
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      this.alarms.push(created);
      return created;
    };

    // --- Load balancer and servers ---------------------------------------------------------
    const alb = props.loadBalancer.metrics;
    const requests = alb.requestCount({ period: ONE_MINUTE, statistic: 'Sum' });
    const target5xx = alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
      period: ONE_MINUTE,
      statistic: 'Sum',
    });
    const elb5xx = alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: ONE_MINUTE, statistic: 'Sum' });
    const rate5xx = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * (FILL(t5, 0) + FILL(e5, 0)) / requests, 0)',
      usingMetrics: { t5: target5xx, e5: elb5xx, requests },
      label: '5xx % of requests',
      period: ONE_MINUTE,
    });
    alarm('Http5xxRate', `More than ${t.http5xxPercent}% of requests answered 5xx in 3 of 5 minutes.`, {
      metric: rate5xx,
      threshold: t.http5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const tg = props.targetGroup.metrics;
    alarm(
      'UnhealthyServers',
      'A server task fails the load balancer health check (GET /health) for 3 minutes.',
      {
        metric: tg.unhealthyHostCount({ period: ONE_MINUTE, statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    alarm('NoHealthyServers', 'No server task is healthy behind the load balancer: Prism is down.', {
      metric: tg.healthyHostCount({ period: ONE_MINUTE, statistic: 'Minimum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // --- ECS services ----------------------------------------------------------------------
    for (const [name, service] of [
      ['Server', props.server],
      ['Worker', props.worker],
    ] as const) {
      alarm(`${name}CpuHigh`, `${name} tasks average over ${t.cpuPercent}% CPU for 10 minutes.`, {
        metric: service.metricCpuUtilization({ period: FIVE_MINUTES, statistic: 'Average' }),
        threshold: t.cpuPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${name}MemoryHigh`, `${name} tasks average over ${t.memoryPercent}% memory for 10 minutes.`, {
        metric: service.metricMemoryUtilization({ period: FIVE_MINUTES, statistic: 'Average' }),
        threshold: t.memoryPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    // --- Queue -----------------------------------------------------------------------------
    alarm('QueueBacklog', `More than ${t.queueDepth} jobs waiting or running for 15 minutes.`, {
      metric: props.queueDepth,
      threshold: t.queueDepth,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 15,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // --- Redis -----------------------------------------------------------------------------
    const redisNodes = props.redisMetrics ?? {
      namespace: 'AWS/ElastiCache',
      dimensions: props.redisNodeIds.map((node) => ({ CacheClusterId: node })),
    };
    const redisMetric = (metricName: string) =>
      redisNodes.dimensions.map(
        (dimensionsMap) =>
          new cloudwatch.Metric({
            namespace: redisNodes.namespace,
            metricName,
            dimensionsMap,
            statistic: 'Maximum',
            period: FIVE_MINUTES,
            label: Object.values(dimensionsMap).at(-1)!,
          }),
      );
    const maxOf = (metrics: cloudwatch.Metric[], label: string) =>
      new cloudwatch.MathExpression({
        expression: `MAX([${metrics.map((_, i) => `n${i}`).join(', ')}])`,
        usingMetrics: Object.fromEntries(metrics.map((m, i) => [`n${i}`, m])),
        label,
        period: FIVE_MINUTES,
      });
    const redisMemory = redisMetric('DatabaseMemoryUsagePercentage');
    const redisCpu = redisMetric('EngineCPUUtilization');
    alarm(
      'RedisMemoryHigh',
      `Redis uses over ${t.redisMemoryPercent}% of its memory (noeviction: writes fail when full).`,
      {
        metric: maxOf(redisMemory, 'Redis memory % (max over nodes)'),
        threshold: t.redisMemoryPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
    );
    alarm('RedisCpuHigh', `The Redis engine thread is over ${t.redisCpuPercent}% busy for 15 minutes.`, {
      metric: maxOf(redisCpu, 'Redis engine CPU % (max over nodes)'),
      threshold: t.redisCpuPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // --- Bedrock, per model of the chain -------------------------------------------------------
    const bedrock = (metricName: string, modelId: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Bedrock',
        metricName,
        dimensionsMap: { ModelId: modelId },
        statistic: 'Sum',
        period: FIVE_MINUTES,
        label: modelId,
      });
    props.bedrockModels.forEach((modelId, index) => {
      const n = index + 1;
      alarm(`BedrockThrottles${n}`, `Bedrock throttles ${modelId} (model ${n} of the chain).`, {
        metric: bedrock('InvocationThrottles', modelId),
        threshold: t.bedrockThrottles,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`BedrockServerErrors${n}`, `Bedrock answers 5xx for ${modelId} (model ${n} of the chain).`, {
        metric: bedrock('InvocationServerErrors', modelId),
        threshold: t.bedrockErrors,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(
        `BedrockClientErrors${n}`,
        `Bedrock refuses calls to ${modelId} (4xx: access, quota, model id).`,
        {
          metric: bedrock('InvocationClientErrors', modelId),
          threshold: t.bedrockErrors,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
    });

    // --- Dashboard -------------------------------------------------------------------------
    const graph = (title: string, left: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 12, height: 6 });
    const perModel = (metricName: string) => props.bedrockModels.map((m) => bedrock(metricName, m));
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      graph('Requests and 5xx', [requests], [target5xx, elb5xx]),
      graph('Latency (p50, p99)', [
        alb.targetResponseTime({ statistic: 'p50', period: ONE_MINUTE }),
        alb.targetResponseTime({ statistic: 'p99', period: ONE_MINUTE }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Connections and server targets',
        [alb.activeConnectionCount({ period: ONE_MINUTE }), alb.newConnectionCount({ period: ONE_MINUTE })],
        [
          tg.healthyHostCount({ period: ONE_MINUTE, statistic: 'Minimum' }),
          tg.unhealthyHostCount({ period: ONE_MINUTE, statistic: 'Maximum' }),
        ],
      ),
      graph('Queue depth (jobs waiting or running)', [props.queueDepth]),
    );
    this.dashboard.addWidgets(
      graph('CPU %', [props.server.metricCpuUtilization(), props.worker.metricCpuUtilization()]),
      graph('Memory %', [props.server.metricMemoryUtilization(), props.worker.metricMemoryUtilization()]),
    );
    this.dashboard.addWidgets(
      graph('Redis memory % (noeviction)', redisMemory),
      graph('Redis engine CPU %', redisCpu),
    );
    this.dashboard.addWidgets(
      graph('Bedrock invocations per model', perModel('Invocations')),
      graph('Bedrock throttles per model', perModel('InvocationThrottles')),
    );
    this.dashboard.addWidgets(
      graph(
        'Bedrock errors per model (server, client)',
        perModel('InvocationServerErrors'),
        perModel('InvocationClientErrors'),
      ),
      graph(
        'Bedrock latency per model (avg ms)',
        props.bedrockModels.map((m) => bedrock('InvocationLatency', m).with({ statistic: 'Average' })),
      ),
    );
  }
}
