/**
 * PrismStack with other props: another model chain, another drain budget, the large fleet with WAF,
 * and props that must be refused at synth time.
 */
import { App, Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { FLEETS } from '../lib/config.ts';
import { PrismStack, replicationGroupIdFor } from '../lib/prism-stack.ts';
import { asArray, ECR_IMAGES, flatten, REGION, roleStatements, synth } from './helpers.ts';

const bedrockResources = (template: ReturnType<typeof synth>['template']) =>
  roleStatements(template, 'WorkerTaskTaskRole')
    .filter((s) => asArray(s.Action).some((a) => a.startsWith('bedrock:')))
    .flatMap((s) => asArray(s.Resource).map(flatten));
const workerEnv = (template: ReturnType<typeof synth>['template']): Record<string, string> => {
  const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  const worker = defs.map((d) => d.Properties.ContainerDefinitions[0]).find((c) => c.Name === 'worker');
  return Object.fromEntries(
    worker.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, flatten(e.Value)]),
  );
};

describe('another model chain', () => {
  const chain = ['eu.anthropic.claude-3-haiku-20240307-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0'];
  const { template } = synth({ bedrockModels: chain });

  it('changes the IAM policy to name that chain and nothing else', () => {
    const resources = bedrockResources(template);
    expect(resources).toContain(`arn:aws:bedrock:${REGION}:123456789012:inference-profile/${chain[0]}`);
    expect(resources).toContain(`arn:aws:bedrock:${REGION}::foundation-model/${chain[1]}`);
    for (const r of resources) expect(r).toMatch(/claude-3-haiku-20240307-v1:0$/);
    expect(resources.join(' ')).not.toMatch(/sonnet|global\./);
    expect(bedrockResources(synth().template)).not.toEqual(resources);
  });

  it('passes the same chain to the worker and alarms on each of its models', () => {
    expect(workerEnv(template).BEDROCK_MODELS).toBe(chain.join(','));
    const throttles = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) =>
      id.startsWith('MonitoringBedrockThrottles'),
    );
    expect(throttles).toHaveLength(2);
  });
});

describe('another drain budget', () => {
  const { template } = synth({ drainTimeoutMs: 45_000 });

  it('moves the deregistration delay, the env and the stop timeout together', () => {
    const tg = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'))[0]
      ?.Properties;
    const delay = tg.TargetGroupAttributes.find(
      (a: { Key: string }) => a.Key === 'deregistration_delay.timeout_seconds',
    );
    expect(delay.Value).toBe('45');
    expect(workerEnv(template).DRAIN_TIMEOUT_MS).toBe('45000');
    for (const def of Object.values(template.findResources('AWS::ECS::TaskDefinition'))) {
      expect(def.Properties.ContainerDefinitions[0].StopTimeout).toBe(55);
    }
  });
});

describe('the large fleet with WAF', () => {
  const { template } = synth({
    fleet: FLEETS.large,
    waf: { rateLimitPer5Minutes: 5000 },
    alarmEmail: 'ops@example.com',
  });

  it('puts a WAF web ACL with managed rules and a rate limit on the load balancer', () => {
    const acl = Object.values(template.findResources('AWS::WAFv2::WebACL'))[0]?.Properties;
    expect(acl.Scope).toBe('REGIONAL');
    const rules = acl.Rules as { Name: string; Statement: Record<string, Record<string, unknown>> }[];
    expect(rules.map((r) => r.Name)).toEqual([
      'RateLimitPerIp',
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'AWSManagedRulesCommonRuleSet',
    ]);
    expect(rules[0]!.Statement.RateBasedStatement).toMatchObject({ Limit: 5000, AggregateKeyType: 'IP' });
    // .docx uploads are multipart bodies far over the common rule set's 8 KB limit.
    expect(rules[3]!.Statement.ManagedRuleGroupStatement?.RuleActionOverrides).toEqual([
      { Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } },
    ]);
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: {
        Ref: Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0],
      },
    });
  });

  it('sizes Redis, tasks and scaling for the large fleet', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheNodeType: FLEETS.large.redis.nodeType,
      NumCacheClusters: FLEETS.large.redis.nodes,
      MultiAZEnabled: true,
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MaxCapacity: FLEETS.large.worker.maxTasks,
    });
    template.resourceCountIs('AWS::EC2::NatGateway', FLEETS.large.network.natGateways);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('refused at synth time', () => {
  const stack = (
    props: ConstructorParameters<typeof PrismStack>[2],
    env = { account: '123456789012', region: REGION },
  ) =>
    new PrismStack(new App({ builtinCloudFormationValidation: false }), 'Bad', {
      env,
      images: ECR_IMAGES,
      ...props,
    });

  it('an idle timeout under 120 s', () => {
    expect(() => stack({ albIdleTimeout: Duration.seconds(60) })).toThrow(/idle timeout/);
  });

  it('a fleet Fargate or Multi-AZ cannot run', () => {
    expect(() =>
      stack({ fleet: { ...FLEETS.small, server: { ...FLEETS.small.server, memoryMiB: 300 } } }),
    ).toThrow(/memoryMiB/);
    expect(() => stack({ fleet: { ...FLEETS.small, redis: { ...FLEETS.small.redis, nodes: 1 } } })).toThrow(
      /Multi-AZ/,
    );
  });

  it('a drain budget Fargate cannot wait for, and a chain with an ARN', () => {
    expect(() => stack({ drainTimeoutMs: 200_000 })).toThrow(/drainTimeoutMs/);
    expect(() =>
      stack({ bedrockModels: ['arn:aws:bedrock:eu-north-1:1:application-inference-profile/x'] }),
    ).toThrow(/ARNs/);
  });

  it('a stack without a concrete region', () => {
    expect(() => new PrismStack(new App(), 'NoRegion', { images: ECR_IMAGES })).toThrow(/concrete region/);
  });

  it('derives valid ElastiCache ids from any stack name', () => {
    expect(replicationGroupIdFor('Prism')).toBe('prism-redis');
    expect(replicationGroupIdFor('3rd_Prism--Production-Environment-Europe-North')).toMatch(
      /^[a-z][a-z0-9-]{0,39}$/,
    );
  });
});
