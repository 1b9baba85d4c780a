/**
 * Test helpers: synthesize a PrismStack once per configuration, and read CloudFormation values
 * (Fn::Join, Ref to pseudo parameters) as plain strings.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PrismStack, type PrismStackProps } from '../lib/prism-stack.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-north-1';

/** Images from ECR: no Docker asset staging in unit tests (the synth test covers the asset path). */
export const ECR_IMAGES = {
  kind: 'ecr',
  serverRepository: 'prism-server',
  workerRepository: 'prism-worker',
  tag: 'test',
} as const;

const cache = new Map<string, { stack: PrismStack; template: Template }>();

export function synth(props: PrismStackProps = {}): { stack: PrismStack; template: Template } {
  const key = JSON.stringify(props);
  const hit = cache.get(key);
  if (hit) return hit;
  // The built-in template validation is what `cdk synth` (test/synth.test.ts) runs; here it would
  // only add seconds to every synthesis.
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new PrismStack(app, 'PrismTest', {
    env: { account: ACCOUNT, region: REGION },
    images: ECR_IMAGES,
    ...props,
  });
  const result = { stack, template: Template.fromStack(stack) };
  cache.set(key, result);
  return result;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'PrismTest',
};

/** A CloudFormation value as a string: joins resolved, pseudo parameters filled, other refs as ${Ref}. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return PSEUDO[String(v.Ref)] ?? `\${${String(v.Ref)}}`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Sub' in v) return String(v['Fn::Sub']);
  }
  return JSON.stringify(value);
}

export const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of the IAM policies attached to the role whose logical id starts with `rolePrefix`. */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const statements: Statement[] = [];
  for (const policy of Object.values(policies)) {
    const roles = asArray(policy.Properties.Roles as unknown[]).map((r) => flatten(r));
    if (!roles.some((r) => r.startsWith(`\${${rolePrefix}`))) continue;
    statements.push(...(policy.Properties.PolicyDocument.Statement as Statement[]));
  }
  return statements;
}

/** The logical id of the one resource of a type whose logical id starts with a prefix. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ')}`);
  return ids[0]!;
}
