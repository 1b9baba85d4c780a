/**
 * The default PrismStack (small fleet, the worker's default model chain in eu-north-1): every
 * resource of the deployment with the properties that matter, checked with aws-cdk-lib/assertions.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { defaultModels } from '../../worker/src/ai/models.ts';
import { BEDROCK_ACTION } from '../lib/bedrock.ts';
import { DEFAULT_DRAIN_TIMEOUT_MS, FLEETS, PORTS, QUEUE_METRIC } from '../lib/config.ts';
import { asArray, flatten, logicalId, REGION, roleStatements, synth } from './helpers.ts';
import { AWS_SDK_KEYS, envKeys } from './repo.ts';

const { template } = synth();
const resources = (type: string) => Object.values(template.findResources(type));
const containers = (runtime: 'server' | 'worker') => {
  const [def] = Object.values(template.findResources('AWS::ECS::TaskDefinition'))
    .map((r) => r.Properties.ContainerDefinitions[0])
    .filter((c) => c.Name === runtime);
  return def;
};
const envOf = (runtime: 'server' | 'worker'): Record<string, string> =>
  Object.fromEntries(
    containers(runtime).Environment.map((e: { Name: string; Value: unknown }) => [e.Name, flatten(e.Value)]),
  );

describe('S3 bucket', () => {
  it('is encrypted, versioned and blocks every kind of public access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(resources('AWS::S3::Bucket')[0]?.DeletionPolicy).toBe('Retain');
  });

  it('refuses plain HTTP (enforceSSL) and TLS below 1.2', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      },
    });
  });

  it('expires old export packages under "Logs and data/", old versions and stale uploads', () => {
    const rules = resources('AWS::S3::Bucket')[0]?.Properties.LifecycleConfiguration.Rules as Record<
      string,
      unknown
    >[];
    expect(rules).toContainEqual(
      expect.objectContaining({
        Prefix: 'prism/Logs and data/',
        ExpirationInDays: 365,
        Status: 'Enabled',
        Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
      }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
    );
    expect(rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
    );
  });
});

describe('ElastiCache Redis', () => {
  it('is a node-based replication group, Multi-AZ with automatic failover, TLS, AUTH and snapshots', () => {
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 1);
    template.resourceCountIs('AWS::ElastiCache::ServerlessCache', 0);
    const rg = resources('AWS::ElastiCache::ReplicationGroup')[0]?.Properties;
    expect(rg).toMatchObject({
      Engine: 'redis',
      MultiAZEnabled: true,
      AutomaticFailoverEnabled: true,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      NumCacheClusters: FLEETS.small.redis.nodes,
      CacheNodeType: FLEETS.small.redis.nodeType,
      SnapshotRetentionLimit: FLEETS.small.redis.snapshotRetentionDays,
      SnapshotWindow: '02:00-03:00',
    });
    expect(rg.NumCacheClusters).toBeGreaterThanOrEqual(2);
    expect(rg.NumNodeGroups).toBeUndefined(); // cluster mode disabled: the Lua script's keys stay on one shard
    expect(resources('AWS::ElastiCache::ReplicationGroup')[0]?.DeletionPolicy).toBe('Snapshot');
  });

  it('takes its AUTH token from the Secrets Manager secret the tasks get as REDIS_PASSWORD', () => {
    const rg = resources('AWS::ElastiCache::ReplicationGroup')[0]?.Properties;
    const secretId = logicalId(template, 'AWS::SecretsManager::Secret', 'SecretsRedisAuthToken');
    expect(flatten(rg.AuthToken)).toBe(`{{resolve:secretsmanager:\${${secretId}}:SecretString:::}}`);
    for (const runtime of ['server', 'worker'] as const) {
      expect(containers(runtime).Secrets).toContainEqual({
        Name: 'REDIS_PASSWORD',
        ValueFrom: { Ref: secretId },
      });
    }
  });

  it('uses a parameter group with maxmemory-policy noeviction', () => {
    const id = logicalId(template, 'AWS::ElastiCache::ParameterGroup', 'RedisParameters');
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'redis7',
      Properties: { 'maxmemory-policy': 'noeviction' },
    });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheParameterGroupName: { Ref: id },
    });
  });

  it('is reachable on 6379 from the server and worker tasks only', () => {
    const sg = logicalId(template, 'AWS::EC2::SecurityGroup', 'RedisSecurityGroup');
    const ingress = resources('AWS::EC2::SecurityGroupIngress').filter(
      (r) => flatten(r.Properties.GroupId) === `\${${sg}.GroupId}`,
    );
    expect(ingress.map((r) => [r.Properties.FromPort, r.Properties.ToPort])).toEqual([
      [6379, 6379],
      [6379, 6379],
    ]);
    expect(ingress.map((r) => flatten(r.Properties.SourceSecurityGroupId)).sort()).toEqual([
      expect.stringMatching(/^\$\{ServerServiceSecurityGroup/),
      expect.stringMatching(/^\$\{WorkerServiceSecurityGroup/),
    ]);
    const group = resources('AWS::EC2::SecurityGroup').find((r) =>
      String(r.Properties.GroupDescription).startsWith('Prism Redis'),
    );
    expect(group?.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('gives the tasks rediss:// to the primary endpoint', () => {
    for (const runtime of ['server', 'worker'] as const) {
      expect(envOf(runtime).REDIS_URL).toMatch(
        /^rediss:\/\/\$\{RedisReplicationGroup\w+\.PrimaryEndPoint\.Address\}:\$\{RedisReplicationGroup\w+\.PrimaryEndPoint\.Port\}$/,
      );
    }
  });
});

describe('Application Load Balancer', () => {
  it('is internet-facing with an idle timeout of at least 120 s and drops invalid headers', () => {
    const attrs = resources('AWS::ElasticLoadBalancingV2::LoadBalancer')[0]?.Properties
      .LoadBalancerAttributes as {
      Key: string;
      Value: string;
    }[];
    const attr = (key: string) => attrs.find((a) => a.Key === key)?.Value;
    expect(Number(attr('idle_timeout.timeout_seconds'))).toBeGreaterThanOrEqual(120);
    expect(attr('routing.http.drop_invalid_header_fields.enabled')).toBe('true');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing',
    });
  });

  it('serves HTTPS with the certificate parameter and redirects HTTP to HTTPS', () => {
    template.hasParameter('CertificateArn', { Type: 'String' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: { Ref: 'CertificateArn' } }],
      SslPolicy: Match.stringLikeRegexp('TLS13'),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
  });

  it('answers /metrics* itself with a 404, before any other rule', () => {
    const https = logicalId(template, 'AWS::ElasticLoadBalancingV2::Listener', 'LoadBalancerAlbHttps');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      ListenerArn: { Ref: https },
      Priority: 1,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: Match.arrayWith(['/metrics*']) } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '404' }) }],
    });
  });

  it('checks /health and waits DRAIN_TIMEOUT_MS before dropping a deregistered server', () => {
    const tg = resources('AWS::ElasticLoadBalancingV2::TargetGroup')[0]?.Properties;
    expect(tg).toMatchObject({
      HealthCheckPath: '/health',
      Port: PORTS.server,
      TargetType: 'ip',
      Protocol: 'HTTP',
    });
    const attrs = Object.fromEntries(
      tg.TargetGroupAttributes.map((a: { Key: string; Value: string }) => [a.Key, a.Value]),
    );
    expect(Number(attrs['deregistration_delay.timeout_seconds'])).toBe(DEFAULT_DRAIN_TIMEOUT_MS / 1000);
    expect(Number(attrs['deregistration_delay.timeout_seconds']) * 1000).toBe(
      Number(envOf('server').DRAIN_TIMEOUT_MS),
    );
    expect(attrs['stickiness.enabled']).toBe('false');
    expect(attrs['load_balancing.algorithm.type']).toBe('round_robin');
  });

  it('never routes to the metrics port', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 1);
    for (const type of ['AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroup']) {
      const text = JSON.stringify(resources(type));
      expect(text).not.toContain(`"FromPort":${PORTS.serverMetrics}`);
      expect(text).not.toContain(`"ToPort":${PORTS.serverMetrics}`);
    }
    expect(containers('server').PortMappings).toEqual([
      { ContainerPort: PORTS.server, Name: 'http', Protocol: 'tcp' },
    ]);
    expect(envOf('server').METRICS_PORT).toBe(String(PORTS.serverMetrics));
    template.hasResourceProperties('AWS::ECS::Service', {
      LoadBalancers: [
        { ContainerName: 'server', ContainerPort: PORTS.server, TargetGroupArn: Match.anyValue() },
      ],
    });
  });
});

describe('ECS Fargate services', () => {
  it('runs a server and a worker service in private subnets without public IPs', () => {
    template.resourceCountIs('AWS::ECS::Service', 2);
    for (const service of resources('AWS::ECS::Service')) {
      expect(service.Properties.LaunchType).toBe('FARGATE');
      expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
      expect(service.Properties.DeploymentConfiguration).toMatchObject({
        MinimumHealthyPercent: 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      });
    }
  });

  it('configures the server with CONTRACT section 2 and secrets from Secrets Manager', () => {
    const env = envOf('server');
    expect(env).toMatchObject({
      NODE_ENV: 'production',
      PORT: String(PORTS.server),
      PUBLIC_URL: flatten({ Ref: 'PublicUrl' }),
      AWS_REGION: REGION,
      DRAIN_TIMEOUT_MS: String(DEFAULT_DRAIN_TIMEOUT_MS),
    });
    expect(env.STORAGE_URL).toMatch(/^s3:\/\/\$\{StorageBucket\w+\}\/prism$/);
    expect(env.TRUST_PROXY).toMatch(/^\$\{NetworkVpc\w+\.CidrBlock\}$/);
    expect(env.SESSION_SECRET).toBeUndefined();
    const session = logicalId(template, 'AWS::SecretsManager::Secret', 'SecretsSessionSecret');
    expect(containers('server').Secrets).toContainEqual({
      Name: 'SESSION_SECRET',
      ValueFrom: { Ref: session },
    });
    expect(containers('worker').Secrets.map((s: { Name: string }) => s.Name)).toEqual(['REDIS_PASSWORD']);
  });

  it('configures the worker for Bedrock with the chain, and with no port mappings', () => {
    const env = envOf('worker');
    expect(env).toMatchObject({
      AI_PROVIDER: 'bedrock',
      BEDROCK_MODELS: defaultModels(REGION).join(','),
      WORKER_HEALTH_PORT: String(PORTS.workerHealth),
      WORKER_CONCURRENCY: String(FLEETS.small.worker.concurrency),
      [QUEUE_METRIC.envVar]: 'PrismTest',
    });
    expect(containers('worker').PortMappings).toBeUndefined();
  });

  it('sets only variables the processes read (plus the queue metric switch, see README)', () => {
    for (const runtime of ['server', 'worker'] as const) {
      const known = envKeys(runtime);
      const c = containers(runtime);
      for (const { Name } of [...c.Environment, ...(c.Secrets ?? [])]) {
        if (Name === QUEUE_METRIC.envVar || AWS_SDK_KEYS.has(Name)) continue;
        expect(known, `${runtime} does not read ${Name}`).toContain(Name);
      }
    }
  });

  it('lets node drain: init process, health probe, stop timeout beyond DRAIN_TIMEOUT_MS', () => {
    for (const [runtime, port] of [
      ['server', PORTS.server],
      ['worker', PORTS.workerHealth],
    ] as const) {
      const c = containers(runtime);
      expect(c.LinuxParameters.InitProcessEnabled).toBe(true);
      expect(c.StopTimeout).toBeGreaterThan(DEFAULT_DRAIN_TIMEOUT_MS / 1000);
      expect(c.StopTimeout).toBeLessThanOrEqual(120);
      expect(c.HealthCheck.Command.join(' ')).toContain(`http://127.0.0.1:${port}/health`);
      expect(c.Image).toBeDefined();
    }
  });

  it('scales servers on requests per target and CPU', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: FLEETS.small.server.minTasks,
      MaxCapacity: FLEETS.small.server.maxTasks,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    const types = resources('AWS::ApplicationAutoScaling::ScalingPolicy').map(
      (p) =>
        p.Properties.TargetTrackingScalingPolicyConfiguration?.PredefinedMetricSpecification
          ?.PredefinedMetricType,
    );
    expect(types).toContain('ALBRequestCountPerTarget');
    expect(types.filter((t) => t === 'ECSServiceAverageCPUUtilization')).toHaveLength(2);
  });

  it('scales workers on the Prism/QueueDepth metric of its deployment, and never in on CPU', () => {
    const alarms = resources('AWS::CloudWatch::Alarm').filter(
      (a) => a.Properties.Namespace === QUEUE_METRIC.namespace && a.Properties.AlarmActions?.length,
    );
    const scalingAlarms = alarms.filter((a) =>
      asArray(a.Properties.AlarmActions).some((x) => flatten(x).includes('QueueDepth')),
    );
    expect(scalingAlarms).toHaveLength(2); // scale out and scale in
    for (const a of scalingAlarms) {
      expect(a.Properties).toMatchObject({
        MetricName: QUEUE_METRIC.metricName,
        Dimensions: [{ Name: QUEUE_METRIC.dimension, Value: 'PrismTest' }],
      });
    }
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: Match.objectLike({ AdjustmentType: 'ChangeInCapacity' }),
    });
    const cpu = resources('AWS::ApplicationAutoScaling::ScalingPolicy')
      .map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration)
      .filter(
        (c) => c?.PredefinedMetricSpecification?.PredefinedMetricType === 'ECSServiceAverageCPUUtilization',
      );
    expect(cpu.map((c) => c.DisableScaleIn ?? false).sort()).toEqual([false, true]);
  });
});

describe('IAM', () => {
  const worker = roleStatements(template, 'WorkerTaskTaskRole');
  const server = roleStatements(template, 'ServerTaskTaskRole');
  const bedrock = worker.filter((s) => asArray(s.Action).some((a) => a.startsWith('bedrock:')));

  it('lets the worker stream exactly the chain: its profiles, and their models in their regions', () => {
    expect(bedrock.length).toBeGreaterThan(0);
    const chain = defaultModels(REGION);
    const models = new Set(chain.map((id) => id.replace(/^(eu|us|apac|global)\./, '')));
    for (const s of bedrock) {
      expect(asArray(s.Action)).toEqual([BEDROCK_ACTION]);
      for (const r of asArray(s.Resource).map(flatten)) {
        expect(r).not.toContain('*');
        const m = /^arn:aws:bedrock:([a-z0-9-]*):(\d*):(inference-profile|foundation-model)\/(.+)$/.exec(r);
        expect(m, r).not.toBeNull();
        const [, , , kind, id] = m!;
        if (kind === 'inference-profile') expect(chain).toContain(id);
        else expect(models).toContain(id);
      }
    }
    const profiles = bedrock
      .flatMap((s) => asArray(s.Resource).map(flatten))
      .filter((r) => r.includes(':inference-profile/'));
    expect(profiles.sort()).toEqual(
      chain.map((id) => `arn:aws:bedrock:${REGION}:123456789012:inference-profile/${id}`).sort(),
    );
  });

  it('allows the foundation models only through those profiles', () => {
    for (const s of bedrock.filter((s) =>
      asArray(s.Resource).some((r) => flatten(r).includes(':foundation-model/')),
    )) {
      expect(s.Condition?.StringEquals?.['bedrock:InferenceProfileArn']).toBeDefined();
    }
    const regions = new Set(
      bedrock
        .flatMap((s) => asArray(s.Resource).map(flatten))
        .map((r) => r.split(':')[3])
        .filter(Boolean),
    );
    expect(regions).toContain('eu-north-1');
    expect(regions).toContain('eu-west-1');
    for (const region of regions) expect(region).toMatch(/^eu-/);
  });

  it('lets the worker publish metrics in the Prism namespace only', () => {
    const put = worker.filter((s) => asArray(s.Action).includes('cloudwatch:PutMetricData'));
    expect(put).toEqual([
      expect.objectContaining({
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': QUEUE_METRIC.namespace } },
      }),
    ]);
  });

  it('gives both roles the bucket prefix only, and the server nothing else', () => {
    for (const statements of [server, worker]) {
      const s3 = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('s3:')));
      const resourcesOf = s3.flatMap((s) => asArray(s.Resource).map(flatten));
      expect(resourcesOf.sort()).toEqual([
        expect.stringMatching(/^\$\{StorageBucket\w+\.Arn\}$/),
        expect.stringMatching(/^\$\{StorageBucket\w+\.Arn\}\/prism\/\*$/),
      ]);
      expect(s3.flatMap((s) => asArray(s.Action)).sort()).toEqual([
        's3:AbortMultipartUpload',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
      ]);
    }
    expect(server.flatMap((s) => asArray(s.Action)).filter((a) => !a.startsWith('s3:'))).toEqual([]);
  });

  it('keeps the worker role under the 10,240-character inline policy limit', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const id = logicalId(template, 'AWS::IAM::Policy', 'WorkerTaskTaskRoleDefaultPolicy');
    const rendered = JSON.stringify(policies[id]?.Properties.PolicyDocument, (_k, v) =>
      v && typeof v === 'object' && ('Fn::Join' in v || 'Ref' in v || 'Fn::GetAtt' in v) ? flatten(v) : v,
    );
    expect(rendered.length).toBeLessThan(10_240);
  });
});

describe('Secrets', () => {
  it('generates SESSION_SECRET and the Redis AUTH token in Secrets Manager', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    for (const secret of resources('AWS::SecretsManager::Secret')) {
      expect(secret.Properties.GenerateSecretString).toMatchObject({
        PasswordLength: 64,
        ExcludePunctuation: true,
      });
    }
  });
});

describe('Monitoring', () => {
  const alarms = template.findResources('AWS::CloudWatch::Alarm');
  const byId = (prefix: string) =>
    Object.entries(alarms).filter(([id]) => id.startsWith(`Monitoring${prefix}`));

  it('has the alarms of the README, each notifying the alarm topic', () => {
    const topic = logicalId(template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
    for (const name of [
      'Http5xxRate',
      'UnhealthyServers',
      'NoHealthyServers',
      'ServerCpuHigh',
      'ServerMemoryHigh',
      'WorkerCpuHigh',
      'WorkerMemoryHigh',
      'QueueBacklog',
      'RedisMemoryHigh',
      'RedisCpuHigh',
    ]) {
      const found = byId(name);
      expect(found, name).toHaveLength(1);
      expect(found[0]![1].Properties.AlarmActions).toEqual([{ Ref: topic }]);
    }
  });

  it('watches the 5xx rate as a share of requests', () => {
    const [[, alarm]] = byId('Http5xxRate') as [
      [string, { Properties: { Metrics: { Expression?: string }[] } }],
    ];
    const expression = alarm.Properties.Metrics.find((m) => m.Expression)?.Expression;
    expect(expression).toContain('/ requests');
  });

  it('watches Bedrock throttles, server and client errors per model of the chain', () => {
    const chain = defaultModels(REGION);
    for (const [kind, metric] of [
      ['BedrockThrottles', 'InvocationThrottles'],
      ['BedrockServerErrors', 'InvocationServerErrors'],
      ['BedrockClientErrors', 'InvocationClientErrors'],
    ]) {
      // With a label the alarm's metric is rendered as a one-element Metrics list.
      const found = byId(kind!).map(([, a]) =>
        a.Properties.MetricName ? a.Properties : a.Properties.Metrics[0].MetricStat.Metric,
      );
      expect(found.map((p) => p.MetricName)).toEqual(chain.map(() => metric));
      expect(found.map((p) => p.Namespace)).toEqual(chain.map(() => 'AWS/Bedrock'));
      expect(found.map((p) => p.Dimensions[0].Value).sort()).toEqual([...chain].sort());
    }
  });

  it('watches Redis memory on every node (noeviction)', () => {
    const [[, alarm]] = byId('RedisMemoryHigh') as [[string, { Properties: { Metrics: unknown[] } }]];
    const nodes = JSON.stringify(alarm.Properties.Metrics);
    for (let i = 1; i <= FLEETS.small.redis.nodes; i += 1) expect(nodes).toContain(`prismtest-redis-00${i}`);
  });

  it('has a dashboard and no WAF unless asked', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});
