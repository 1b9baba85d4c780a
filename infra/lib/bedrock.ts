/**
 * Least-privilege Bedrock access for the worker's model chain (BEDROCK_MODELS): exactly
 * `bedrock:InvokeModelWithResponseStream` (what ConverseStream is authorized as) on
 *
 * - each inference profile of the chain, in the stack's region (the source region);
 * - the foundation model behind each profile in every region the profile may route to, only when
 *   called through one of those profiles (condition `bedrock:InferenceProfileArn`);
 * - for `global.` profiles, the region-less foundation model ARN AWS documents for global
 *   cross-Region inference (condition `aws:RequestedRegion` = `unspecified`);
 * - plain model ids (no profile prefix) as foundation models in the source region.
 *
 * The destination regions of a geographic profile are AWS's to change: the defaults below are the
 * geography's regions (a superset of any one profile's) and can be replaced per profile id through
 * `profileRegions` (see `aws bedrock get-inference-profile` in infra/README.md).
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

export const BEDROCK_ACTION = 'bedrock:InvokeModelWithResponseStream';

/** Regions each geographic profile prefix may route to. The source region is always added. */
export const GEOGRAPHY_REGIONS: Readonly<Record<string, readonly string[]>> = {
  eu: ['eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-3'],
  us: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2'],
  'us-gov': ['us-gov-east-1', 'us-gov-west-1'],
  apac: [
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-south-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'ap-southeast-4',
  ],
  jp: ['ap-northeast-1', 'ap-northeast-3'],
  au: ['ap-southeast-2', 'ap-southeast-4'],
};

export type ChainEntry =
  | { kind: 'profile'; id: string; geography: string; model: string }
  | { kind: 'global'; id: string; model: string }
  | { kind: 'model'; id: string; model: string };

/** What one id of BEDROCK_MODELS is: a geographic or global inference profile, or a model. */
export function parseChainEntry(id: string): ChainEntry {
  const trimmed = id.trim();
  if (!trimmed) throw new Error('empty Bedrock model id');
  if (trimmed.startsWith('arn:')) {
    throw new Error(
      `Bedrock model "${trimmed}": ARNs (application inference profiles, provisioned throughput) are not ` +
        'supported here; give system inference profile ids (eu.anthropic...) or model ids',
    );
  }
  if (/[*?\s,]/.test(trimmed)) throw new Error(`Bedrock model "${trimmed}" is not a valid id`);
  const dot = trimmed.indexOf('.');
  const prefix = dot > 0 ? trimmed.slice(0, dot) : '';
  const model = trimmed.slice(dot + 1);
  if (prefix === 'global') return { kind: 'global', id: trimmed, model };
  if (prefix in GEOGRAPHY_REGIONS) return { kind: 'profile', id: trimmed, geography: prefix, model };
  return { kind: 'model', id: trimmed, model: trimmed };
}

export interface BedrockAccessOptions {
  /** The chain, in order (duplicates are ignored). */
  readonly models: readonly string[];
  /** The source region (the stack's region, where the worker calls Bedrock). */
  readonly region: string;
  /** Destination regions per profile id, replacing the geography's default list. */
  readonly profileRegions?: Readonly<Record<string, readonly string[]>>;
  /** Account and partition of the ARNs; default: the stack's (pseudo parameters). */
  readonly account?: string;
  readonly partition?: string;
}

/** The IAM statements for the chain; also used by the tests to know what must (only) appear. */
export function bedrockStatements(options: BedrockAccessOptions): iam.PolicyStatement[] {
  const { region } = options;
  const account = options.account ?? Aws.ACCOUNT_ID;
  const partition = options.partition ?? Aws.PARTITION;
  if (options.models.length === 0) throw new Error('the Bedrock model chain is empty');
  const entries = [...new Set(options.models.map((m) => m.trim()))].map(parseChainEntry);

  const profileArn = (id: string) => `arn:${partition}:bedrock:${region}:${account}:inference-profile/${id}`;
  const modelArn = (where: string, model: string) =>
    `arn:${partition}:bedrock:${where}::foundation-model/${model}`;

  const profiles = entries.filter((e) => e.kind !== 'model');
  const profileArns = profiles.map((e) => profileArn(e.id));
  const viaProfiles = new Set<string>();
  const globalModels = new Set<string>();
  for (const entry of profiles) {
    const regions =
      options.profileRegions?.[entry.id] ??
      (entry.kind === 'profile' ? (GEOGRAPHY_REGIONS[entry.geography] ?? []) : []);
    for (const where of new Set([region, ...regions])) viaProfiles.add(modelArn(where, entry.model));
    if (entry.kind === 'global') globalModels.add(modelArn('', entry.model));
  }
  const direct = entries.filter((e) => e.kind === 'model').map((e) => modelArn(region, e.model));

  const statements: iam.PolicyStatement[] = [];
  if (profileArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'InvokeChainInferenceProfiles',
        actions: [BEDROCK_ACTION],
        resources: profileArns,
      }),
      new iam.PolicyStatement({
        sid: 'InvokeChainModelsThroughProfiles',
        actions: [BEDROCK_ACTION],
        resources: [...viaProfiles].sort(),
        conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArns } },
      }),
    );
  }
  if (globalModels.size > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'InvokeChainModelsThroughGlobalProfiles',
        actions: [BEDROCK_ACTION],
        resources: [...globalModels].sort(),
        conditions: {
          StringEquals: {
            'aws:RequestedRegion': 'unspecified',
            'bedrock:InferenceProfileArn': profiles
              .filter((e) => e.kind === 'global')
              .map((e) => profileArn(e.id)),
          },
        },
      }),
    );
  }
  if (direct.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'InvokeChainModelsInRegion',
        actions: [BEDROCK_ACTION],
        resources: direct,
      }),
    );
  }
  return statements;
}
