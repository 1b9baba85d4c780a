/**
 * Redis, the one shared component (ARCHITECTURE.md, "Scaling past one machine"), in one of three
 * modes (`RedisMode`, infra/README.md says when to pick which):
 * - `replication-group` (the default): an ElastiCache node-based replication group, one primary
 *   and replicas, Multi-AZ with automatic failover;
 * - `cluster`: ElastiCache cluster mode, `shards` shards of one primary and `nodes - 1` replicas
 *   each; Prism runs with REDIS_CLUSTER=true against the configuration endpoint;
 * - `memorydb`: a MemoryDB cluster (durable: a Multi-AZ transaction log, so no acknowledged write is
 *   lost across a failover), `shards` shards, REDIS_CLUSTER=true, an ACL user `prism`.
 * Always TLS in transit (REDIS_URL is rediss://), the password from Secrets Manager, encrypted at
 * rest, `maxmemory-policy noeviction` (a full Redis refuses writes rather than dropping review
 * state or jobs), daily snapshots.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as memorydb from 'aws-cdk-lib/aws-memorydb';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { RedisFleet } from './config.ts';

export const REDIS_PORT = 6379;

export type RedisMode = 'replication-group' | 'cluster' | 'memorydb';
export const REDIS_MODES: readonly RedisMode[] = ['replication-group', 'cluster', 'memorydb'];

/** The ACL user Prism signs in as on MemoryDB (ElastiCache uses the AUTH token alone). */
export const MEMORYDB_USER = 'prism';

/** MemoryDB's node type for an ElastiCache one (the same family and size: `db.` for `cache.`). */
export const memoryDbNodeType = (nodeType: string): string => nodeType.replace(/^cache\./, 'db.');

export interface RedisProps extends RedisFleet {
  /** Default `replication-group`. */
  readonly mode?: RedisMode;
  /** Shards in `cluster` and `memorydb` modes (1..500, default 2); each has `nodes` nodes. */
  readonly shards?: number;
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly authToken: secretsmanager.ISecret;
  /** Replication group id (lowercase, <= 40 characters); node ids are `<id>-001`, `-002`, ... */
  readonly replicationGroupId: string;
  /** Daily snapshot window (UTC), e.g. 02:00-03:00. */
  readonly snapshotWindow?: string;
  /** Weekly maintenance window (UTC), not overlapping the snapshot window. */
  readonly maintenanceWindow?: string;
  /** What deleting or replacing the group does. Default: a final snapshot first. */
  readonly removalPolicy?: RemovalPolicy;
}

export class Redis extends Construct {
  readonly mode: RedisMode;
  /** The ElastiCache replication group (modes `replication-group` and `cluster`). */
  readonly replicationGroup?: elasticache.CfnReplicationGroup;
  /** The MemoryDB cluster (mode `memorydb`). */
  readonly memoryDb?: memorydb.CfnCluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly parameterGroup: elasticache.CfnParameterGroup | memorydb.CfnParameterGroup;
  readonly replicationGroupId: string;
  /** Node ids as CloudWatch names them (CacheClusterId on ElastiCache, NodeName on MemoryDB). */
  readonly nodeIds: string[];
  /** REDIS_URL of the tasks. */
  readonly url: string;
  /** REDIS_CLUSTER of the tasks. */
  readonly cluster: boolean;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(props.replicationGroupId) || props.replicationGroupId.includes('--')) {
      throw new Error(`invalid ElastiCache replication group id "${props.replicationGroupId}"`);
    }
    this.mode = props.mode ?? 'replication-group';
    if (!REDIS_MODES.includes(this.mode))
      throw new Error(`redis mode must be one of ${REDIS_MODES.join(', ')}`);
    const shards = props.shards ?? 2;
    if (!Number.isInteger(shards) || shards < 1 || shards > 500) {
      throw new Error(`redis shards must be an integer 1..500 (got ${shards})`);
    }
    this.replicationGroupId = props.replicationGroupId;
    this.cluster = this.mode !== 'replication-group';
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    this.nodeIds =
      this.mode === 'replication-group'
        ? Array.from({ length: props.nodes }, (_, i) => `${props.replicationGroupId}-${pad(i + 1, 3)}`)
        : Array.from({ length: shards * props.nodes }, (_, i) => {
            const shard = Math.floor(i / props.nodes) + 1;
            return `${props.replicationGroupId}-${pad(shard, 4)}-${pad((i % props.nodes) + 1, 3)}`;
          });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Prism Redis: reachable from the server and worker tasks only',
      allowAllOutbound: false,
    });
    const subnetIds = props.vpc.selectSubnets(props.subnets).subnetIds;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;

    if (this.mode === 'memorydb') {
      // Names of MemoryDB resources are at most 40 characters.
      const base = props.replicationGroupId.slice(0, 32).replace(/-+$/, '');
      const subnetGroup = new memorydb.CfnSubnetGroup(this, 'SubnetGroup', {
        subnetGroupName: `${base}-subnets`,
        description: 'Prism Redis subnets',
        subnetIds,
      });
      this.parameterGroup = new memorydb.CfnParameterGroup(this, 'Parameters', {
        parameterGroupName: `${base}-params`,
        family: `memorydb_${props.parameterGroupFamily}`,
        description: 'Prism: never evict (BullMQ queues and review state must not disappear)',
        parameters: { 'maxmemory-policy': 'noeviction' },
      });
      const user = new memorydb.CfnUser(this, 'User', {
        userName: `${base}-${MEMORYDB_USER}`,
        accessString: 'on ~* &* +@all',
        // A dynamic reference: CloudFormation reads the secret at deploy time.
        authenticationMode: { Type: 'password', Passwords: [props.authToken.secretValue.unsafeUnwrap()] },
      });
      const acl = new memorydb.CfnACL(this, 'Acl', {
        aclName: `${base}-acl`,
        userNames: [user.userName],
      });
      acl.addDependency(user);
      this.memoryDb = new memorydb.CfnCluster(this, 'Cluster', {
        clusterName: props.replicationGroupId,
        description: 'Prism state, event logs, queues and Socket.IO adapter (durable)',
        engine: props.engine,
        engineVersion: props.engineVersion,
        nodeType: memoryDbNodeType(props.nodeType),
        numShards: shards,
        numReplicasPerShard: props.nodes - 1,
        aclName: acl.aclName,
        tlsEnabled: true,
        parameterGroupName: this.parameterGroup.parameterGroupName,
        subnetGroupName: subnetGroup.subnetGroupName,
        securityGroupIds: [this.securityGroup.securityGroupId],
        port: REDIS_PORT,
        snapshotRetentionLimit: props.snapshotRetentionDays,
        snapshotWindow: props.snapshotWindow ?? '02:00-03:00',
        maintenanceWindow: props.maintenanceWindow ?? 'sun:03:30-sun:04:30',
        autoMinorVersionUpgrade: true,
      });
      this.memoryDb.addDependency(acl);
      this.memoryDb.addDependency(subnetGroup);
      this.memoryDb.addDependency(this.parameterGroup);
      this.memoryDb.applyRemovalPolicy(
        removalPolicy === RemovalPolicy.SNAPSHOT ? RemovalPolicy.RETAIN : removalPolicy,
      );
      // The ACL user's name is in the URL; its password comes as REDIS_PASSWORD.
      this.url = `rediss://${user.userName}@${this.memoryDb.attrClusterEndpointAddress}:${this.memoryDb.attrClusterEndpointPort}`;
      return;
    }

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Prism Redis subnets',
      subnetIds,
    });

    this.parameterGroup = new elasticache.CfnParameterGroup(this, 'Parameters', {
      cacheParameterGroupFamily: props.parameterGroupFamily,
      description: 'Prism: never evict (BullMQ queues and review state must not disappear)',
      properties: {
        'maxmemory-policy': 'noeviction',
        ...(this.cluster ? { 'cluster-enabled': 'yes' } : {}),
      },
    });

    const topology = this.cluster
      ? { clusterMode: 'enabled', numNodeGroups: shards, replicasPerNodeGroup: props.nodes - 1 }
      : { numCacheClusters: props.nodes };
    const group = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupId: props.replicationGroupId,
      replicationGroupDescription: 'Prism state, event logs, queues and Socket.IO adapter',
      engine: props.engine,
      engineVersion: props.engineVersion,
      cacheNodeType: props.nodeType,
      ...topology,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // A dynamic reference: CloudFormation reads the secret at deploy time; it is not in the template.
      authToken: props.authToken.secretValue.unsafeUnwrap(),
      cacheParameterGroupName: this.parameterGroup.ref,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      port: REDIS_PORT,
      snapshotRetentionLimit: props.snapshotRetentionDays,
      snapshotWindow: props.snapshotWindow ?? '02:00-03:00',
      preferredMaintenanceWindow: props.maintenanceWindow ?? 'sun:03:30-sun:04:30',
      autoMinorVersionUpgrade: true,
    });
    group.applyRemovalPolicy(removalPolicy);
    this.replicationGroup = group;
    // The primary endpoint follows failovers; in cluster mode the configuration endpoint is the
    // seed node that hands the client the whole topology.
    this.url = this.cluster
      ? `rediss://${group.attrConfigurationEndPointAddress}:${group.attrConfigurationEndPointPort}`
      : `rediss://${group.attrPrimaryEndPointAddress}:${group.attrPrimaryEndPointPort}`;
  }

  /** CloudWatch's namespace and dimensions of each node's metrics. */
  get metrics(): { namespace: string; dimensions: Record<string, string>[] } {
    if (this.mode === 'memorydb') {
      return {
        namespace: 'AWS/MemoryDB',
        dimensions: this.nodeIds.map((node) => ({ ClusterName: this.replicationGroupId, NodeName: node })),
      };
    }
    return {
      namespace: 'AWS/ElastiCache',
      dimensions: this.nodeIds.map((node) => ({ CacheClusterId: node })),
    };
  }

  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(REDIS_PORT), description);
  }
}
