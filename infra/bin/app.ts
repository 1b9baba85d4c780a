/**
 * The CDK app: one PrismStack, configured from context (`cdk deploy -c fleet=large -c waf=true`).
 * infra/README.md lists every key. With `-c env=offline` the stack is account-agnostic and the app
 * looks nothing up, so `cdk synth` works with no AWS account or credentials.
 */
import { App } from 'aws-cdk-lib';
import { FLEETS } from '../lib/config.ts';
import { PrismStack } from '../lib/prism-stack.ts';
import { REDIS_MODES, type RedisMode } from '../lib/redis.ts';
import type { ImageSource } from '../lib/task.ts';

const app = new App();
const context = (key: string): string | undefined => {
  const value = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const flag = (key: string): boolean | undefined => {
  const value = context(key);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new Error(`context ${key} must be true or false`);
  return value === 'true';
};
const list = (key: string): string[] | undefined =>
  context(key)
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const offline = context('env') === 'offline';
const region = context('region') ?? process.env.CDK_DEFAULT_REGION ?? 'eu-north-1';
// Offline (and whenever no account is known) the stack is account-agnostic: nothing is looked up.
const account = offline ? undefined : (context('account') ?? process.env.CDK_DEFAULT_ACCOUNT);

const fleetName = context('fleet') ?? 'small';
if (fleetName !== 'small' && fleetName !== 'large') throw new Error('context fleet must be small or large');

let images: ImageSource = { kind: 'asset' };
if (context('imageTag')) {
  images = {
    kind: 'ecr',
    serverRepository: context('serverRepository') ?? 'prism-server',
    workerRepository: context('workerRepository') ?? 'prism-worker',
    tag: context('imageTag') as string,
  };
}

const signInKind = context('signIn');
if (signInKind !== undefined && signInKind !== 'cognito' && signInKind !== 'issuer')
  throw new Error('context signIn must be cognito or issuer');
const signInCommon = { providerName: context('oidcProviderName'), guest: flag('authGuest') };
const signIn =
  signInKind === 'cognito'
    ? { kind: 'cognito' as const, domainPrefix: context('cognitoDomainPrefix'), ...signInCommon }
    : signInKind === 'issuer'
      ? { kind: 'issuer' as const, ...signInCommon }
      : undefined;

const redisMode = context('redis');
if (redisMode !== undefined && !REDIS_MODES.includes(redisMode as RedisMode))
  throw new Error(`context redis must be one of ${REDIS_MODES.join(', ')}`);
const redisShards = context('redisShards');
const drain = context('drainTimeoutMs');
const rateLimit = context('wafRateLimit');
new PrismStack(app, context('stackName') ?? 'Prism', {
  env: { account, region },
  description: 'Prism: live collaborative AI review of Word documents (servers, workers, Redis, S3, ALB)',
  fleet: FLEETS[fleetName],
  images,
  bedrockModels: list('bedrockModels'),
  drainTimeoutMs: drain === undefined ? undefined : Number(drain),
  waf: flag('waf') ? (rateLimit ? { rateLimitPer5Minutes: Number(rateLimit) } : true) : false,
  alarmEmail: context('alarmEmail'),
  enableExecuteCommand: flag('ecsExec'),
  containerInsights: flag('containerInsights'),
  deletionProtection: flag('deletionProtection'),
  signIn,
  redisMode: redisMode as RedisMode | undefined,
  redisShards: redisShards === undefined ? undefined : Number(redisShards),
  tags: { application: 'prism' },
});
