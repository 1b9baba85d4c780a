/**
 * The fleet's secrets in Secrets Manager, generated at the first deploy and handed to the tasks
 * by ECS (never in the template, the task definition or the image):
 *
 * - SESSION_SECRET: comma-separated HMAC secrets, the first signs and all verify, so a rotation
 *   is "new,old" for a while, then "new" (infra/README.md).
 * - the Redis AUTH token (REDIS_PASSWORD), also given to ElastiCache.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface SecretsProps {
  readonly removalPolicy?: RemovalPolicy;
}

export class Secrets extends Construct {
  readonly sessionSecret: secretsmanager.Secret;
  readonly redisAuthToken: secretsmanager.Secret;

  // Names are generated (the stack outputs give the ARNs): a retained secret of a deleted stack
  // cannot collide with the next deployment's.
  constructor(scope: Construct, id: string, props: SecretsProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.sessionSecret = new secretsmanager.Secret(this, 'SessionSecret', {
      description: 'Prism SESSION_SECRET: comma-separated HMAC secrets, the first signs, all verify',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    // ElastiCache AUTH tokens: 16-128 printable characters without @ " / (letters and digits here).
    this.redisAuthToken = new secretsmanager.Secret(this, 'RedisAuthToken', {
      description: 'Prism REDIS_PASSWORD: the ElastiCache AUTH token',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
  }
}
