/**
 * The three Redis modes of PrismStack (`redisMode`): the default replication group, ElastiCache
 * cluster mode with `redisShards` shards, and MemoryDB; each wired to the tasks' REDIS_URL and
 * REDIS_CLUSTER, and watched by the Redis alarms.
 */
import { describe, expect, it } from 'vitest';
import { FLEETS } from '../lib/config.ts';
import { MEMORYDB_USER } from '../lib/redis.ts';
import { flatten, synth } from './helpers.ts';

type Template = ReturnType<typeof synth>['template'];
const resources = (template: Template, type: string) => Object.values(template.findResources(type));
const envOf = (template: Template, runtime: 'server' | 'worker'): Record<string, string> => {
  const container = resources(template, 'AWS::ECS::TaskDefinition')
    .map((r) => r.Properties.ContainerDefinitions[0])
    .find((c) => c.Name === runtime);
  return Object.fromEntries(
    container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, flatten(e.Value)]),
  );
};
const secretsOf = (template: Template, runtime: 'server' | 'worker'): string[] =>
  resources(template, 'AWS::ECS::TaskDefinition')
    .map((r) => r.Properties.ContainerDefinitions[0])
    .find((c) => c.Name === runtime)
    .Secrets.map((s: { Name: string }) => s.Name);
/** Every metric the Redis memory alarm reads: namespace and dimensions. */
const memoryAlarmMetrics = (template: Template) => {
  const [alarm] = Object.entries(template.findResources('AWS::CloudWatch::Alarm'))
    .filter(([id]) => id.includes('RedisMemoryHigh'))
    .map(([, r]) => r.Properties);
  return (
    alarm.Metrics as {
      MetricStat?: { Metric: { Namespace: string; Dimensions: { Name: string; Value: unknown }[] } };
    }[]
  )
    .filter((m) => m.MetricStat)
    .map((m) => ({
      namespace: m.MetricStat!.Metric.Namespace,
      dimensions: Object.fromEntries(m.MetricStat!.Metric.Dimensions.map((d) => [d.Name, flatten(d.Value)])),
    }));
};

describe('Redis: the default replication group', () => {
  const { template } = synth();

  it('is one primary with replicas, not cluster mode, and the tasks run with REDIS_CLUSTER=false', () => {
    const [rg] = resources(template, 'AWS::ElastiCache::ReplicationGroup');
    expect(rg?.Properties.NumCacheClusters).toBe(FLEETS.small.redis.nodes);
    expect(rg?.Properties.NumNodeGroups).toBeUndefined();
    expect(rg?.Properties.ClusterMode).toBeUndefined();
    for (const runtime of ['server', 'worker'] as const) {
      expect(envOf(template, runtime).REDIS_CLUSTER).toBe('false');
    }
    template.resourceCountIs('AWS::MemoryDB::Cluster', 0);
  });
});

describe('Redis: ElastiCache cluster mode', () => {
  const { template } = synth({ redisMode: 'cluster', redisShards: 3 });

  it('has the given shards, each a primary with the fleet’s replicas, cluster-enabled parameters, TLS and auth', () => {
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 1);
    const [rg] = resources(template, 'AWS::ElastiCache::ReplicationGroup');
    expect(rg?.Properties).toMatchObject({
      ClusterMode: 'enabled',
      NumNodeGroups: 3,
      ReplicasPerNodeGroup: FLEETS.small.redis.nodes - 1,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
    });
    expect(rg?.Properties.NumCacheClusters).toBeUndefined();
    expect(flatten(rg?.Properties.AuthToken)).toContain('secretsmanager');
    const [params] = resources(template, 'AWS::ElastiCache::ParameterGroup');
    expect(params?.Properties.Properties).toEqual({
      'maxmemory-policy': 'noeviction',
      'cluster-enabled': 'yes',
    });
  });

  it('gives the tasks the configuration endpoint and REDIS_CLUSTER=true', () => {
    for (const runtime of ['server', 'worker'] as const) {
      const env = envOf(template, runtime);
      expect(env.REDIS_URL).toMatch(
        /^rediss:\/\/\$\{RedisReplicationGroup\w+\.ConfigurationEndPoint\.Address\}:\$\{RedisReplicationGroup\w+\.ConfigurationEndPoint\.Port\}$/,
      );
      expect(env.REDIS_CLUSTER).toBe('true');
      expect(secretsOf(template, runtime)).toContain('REDIS_PASSWORD');
    }
  });

  it('alarms on the memory of every node of every shard', () => {
    const metrics = memoryAlarmMetrics(template);
    expect(metrics).toHaveLength(3 * FLEETS.small.redis.nodes);
    expect(new Set(metrics.map((m) => m.namespace))).toEqual(new Set(['AWS/ElastiCache']));
    expect(metrics.map((m) => m.dimensions.CacheClusterId)).toContain('prismtest-redis-0003-002');
  });
});

describe('Redis: MemoryDB', () => {
  const { template } = synth({ redisMode: 'memorydb', redisShards: 2, fleet: FLEETS.large });

  it('is a MemoryDB cluster of the fleet’s size with TLS, an ACL user and no ElastiCache group', () => {
    template.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    template.resourceCountIs('AWS::MemoryDB::Cluster', 1);
    const [cluster] = resources(template, 'AWS::MemoryDB::Cluster');
    expect(cluster?.Properties).toMatchObject({
      NodeType: 'db.r7g.large',
      NumShards: 2,
      NumReplicasPerShard: FLEETS.large.redis.nodes - 1,
      TLSEnabled: true,
      Port: 6379,
      SnapshotRetentionLimit: FLEETS.large.redis.snapshotRetentionDays,
    });
    const [user] = resources(template, 'AWS::MemoryDB::User');
    expect(user?.Properties.UserName).toBe(`prismtest-redis-${MEMORYDB_USER}`);
    expect(user?.Properties.AccessString).toBe('on ~* &* +@all');
    expect(flatten(user?.Properties.AuthenticationMode.Passwords[0])).toContain('secretsmanager');
    const [acl] = resources(template, 'AWS::MemoryDB::ACL');
    expect(acl?.Properties.UserNames).toEqual([`prismtest-redis-${MEMORYDB_USER}`]);
    const [params] = resources(template, 'AWS::MemoryDB::ParameterGroup');
    expect(params?.Properties).toMatchObject({
      Family: 'memorydb_redis7',
      Parameters: { 'maxmemory-policy': 'noeviction' },
    });
    for (const name of Object.keys(names(template))) expect(name.length).toBeLessThanOrEqual(40);
  });

  it('gives the tasks rediss://<user>@<cluster endpoint> and REDIS_CLUSTER=true, the password as a secret', () => {
    for (const runtime of ['server', 'worker'] as const) {
      const env = envOf(template, runtime);
      expect(env.REDIS_URL).toMatch(
        /^rediss:\/\/prismtest-redis-prism@\$\{RedisCluster\w+\.ClusterEndpoint\.Address\}:\$\{RedisCluster\w+\.ClusterEndpoint\.Port\}$/,
      );
      expect(env.REDIS_CLUSTER).toBe('true');
      expect(secretsOf(template, runtime)).toContain('REDIS_PASSWORD');
    }
  });

  it('alarms on MemoryDB’s own metrics of every node', () => {
    const metrics = memoryAlarmMetrics(template);
    expect(metrics).toHaveLength(2 * FLEETS.large.redis.nodes);
    expect(new Set(metrics.map((m) => m.namespace))).toEqual(new Set(['AWS/MemoryDB']));
    expect(metrics[0]?.dimensions).toEqual({
      ClusterName: 'prismtest-redis',
      NodeName: 'prismtest-redis-0001-001',
    });
  });
});

describe('Redis: refused settings', () => {
  it('refuses an unknown mode and a shard count out of range', () => {
    expect(() => synth({ redisMode: 'sentinel' as never })).toThrow(/redis mode must be one of/);
    expect(() => synth({ redisMode: 'cluster', redisShards: 0 })).toThrow(/shards must be an integer 1..500/);
  });
});

/** The names MemoryDB limits to 40 characters. */
function names(template: Template): Record<string, true> {
  const out: Record<string, true> = {};
  for (const [type, key] of [
    ['AWS::MemoryDB::Cluster', 'ClusterName'],
    ['AWS::MemoryDB::ACL', 'ACLName'],
    ['AWS::MemoryDB::User', 'UserName'],
    ['AWS::MemoryDB::SubnetGroup', 'SubnetGroupName'],
    ['AWS::MemoryDB::ParameterGroup', 'ParameterGroupName'],
  ] as const) {
    for (const r of resources(template, type)) out[String(r.Properties[key])] = true;
  }
  return out;
}
