/**
 * Redis, the one shared component (ARCHITECTURE.md, "Scaling past one machine"): an ElastiCache
 * node-based replication group, Multi-AZ with automatic failover, TLS in transit (REDIS_URL is
 * rediss://), AUTH token from Secrets Manager, encrypted at rest, `maxmemory-policy noeviction`
 * (a full Redis refuses writes rather than dropping review state or jobs), daily snapshots.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { RedisFleet } from './config.ts';

export const REDIS_PORT = 6379;

export interface RedisProps extends RedisFleet {
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
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly securityGroup: ec2.SecurityGroup;
  readonly parameterGroup: elasticache.CfnParameterGroup;
  readonly replicationGroupId: string;
  readonly nodeIds: string[];

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(props.replicationGroupId) || props.replicationGroupId.includes('--')) {
      throw new Error(`invalid ElastiCache replication group id "${props.replicationGroupId}"`);
    }
    this.replicationGroupId = props.replicationGroupId;
    this.nodeIds = Array.from(
      { length: props.nodes },
      (_, i) => `${props.replicationGroupId}-${String(i + 1).padStart(3, '0')}`,
    );

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Prism Redis: reachable from the server and worker tasks only',
      allowAllOutbound: false,
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Prism Redis subnets',
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });

    this.parameterGroup = new elasticache.CfnParameterGroup(this, 'Parameters', {
      cacheParameterGroupFamily: props.parameterGroupFamily,
      description: 'Prism: never evict (BullMQ queues and review state must not disappear)',
      properties: { 'maxmemory-policy': 'noeviction' },
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupId: props.replicationGroupId,
      replicationGroupDescription: 'Prism state, event logs, queues and Socket.IO adapter',
      engine: props.engine,
      engineVersion: props.engineVersion,
      cacheNodeType: props.nodeType,
      numCacheClusters: props.nodes,
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
    this.replicationGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.SNAPSHOT);
  }

  /** rediss://host:port of the primary endpoint (follows failovers). */
  get url(): string {
    return `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${this.replicationGroup.attrPrimaryEndPointPort}`;
  }

  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(REDIS_PORT), description);
  }
}
