/**
 * The Bedrock IAM statements for a model chain, without synthesizing a stack.
 */
import { describe, expect, it } from 'vitest';
import { defaultModels } from '../../worker/src/ai/models.ts';
import { BEDROCK_ACTION, bedrockStatements, GEOGRAPHY_REGIONS, parseChainEntry } from '../lib/bedrock.ts';
import { defaultBedrockModels } from '../lib/config.ts';

const ACCOUNT = '123456789012';
const json = (models: string[], extra: { profileRegions?: Record<string, string[]>; region?: string } = {}) =>
  bedrockStatements({
    models,
    region: extra.region ?? 'eu-north-1',
    account: ACCOUNT,
    partition: 'aws',
    ...extra,
  }).map(
    (s) =>
      s.toStatementJson() as {
        Sid: string;
        Action: string;
        Resource: string | string[];
        Condition?: Record<string, Record<string, string | string[]>>;
      },
  );
const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('parseChainEntry', () => {
  it('tells geographic and global profiles from model ids', () => {
    expect(parseChainEntry('eu.anthropic.claude-3-haiku-20240307-v1:0')).toEqual({
      kind: 'profile',
      id: 'eu.anthropic.claude-3-haiku-20240307-v1:0',
      geography: 'eu',
      model: 'anthropic.claude-3-haiku-20240307-v1:0',
    });
    expect(parseChainEntry('global.anthropic.claude-sonnet-4-5-20250929-v1:0').kind).toBe('global');
    expect(parseChainEntry('anthropic.claude-3-haiku-20240307-v1:0')).toMatchObject({ kind: 'model' });
  });

  it('refuses ARNs, wildcards and empty ids', () => {
    expect(() => parseChainEntry('arn:aws:bedrock:eu-north-1:1:application-inference-profile/x')).toThrow(
      /ARNs/,
    );
    expect(() => parseChainEntry('eu.anthropic.*')).toThrow(/not a valid id/);
    expect(() => parseChainEntry(' ')).toThrow(/empty/);
  });
});

describe('bedrockStatements', () => {
  it('defaults to the chain the worker itself uses', () => {
    expect(defaultBedrockModels('eu-north-1')).toEqual(defaultModels('eu-north-1'));
    expect(defaultBedrockModels('eu-north-1')).toHaveLength(7);
  });

  it('grants an EU profile in the source region and its model in every EU region, through the profile only', () => {
    const id = 'eu.anthropic.claude-3-haiku-20240307-v1:0';
    const profile = `arn:aws:bedrock:eu-north-1:${ACCOUNT}:inference-profile/${id}`;
    const statements = json([id]);
    expect(statements.map((s) => s.Sid)).toEqual([
      'InvokeChainInferenceProfiles',
      'InvokeChainModelsThroughProfiles',
    ]);
    expect(statements.every((s) => s.Action === BEDROCK_ACTION)).toBe(true);
    expect(statements[0]!.Resource).toBe(profile);
    expect(list(statements[1]!.Resource).sort()).toEqual(
      GEOGRAPHY_REGIONS.eu!.map(
        (r) => `arn:aws:bedrock:${r}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0`,
      ).sort(),
    );
    expect(list(statements[1]!.Condition?.StringEquals?.['bedrock:InferenceProfileArn'])).toEqual([profile]);
  });

  it('grants a global profile the region-less model ARN with aws:RequestedRegion unspecified', () => {
    const id = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
    const statements = json([id]);
    const global = statements.find((s) => s.Sid === 'InvokeChainModelsThroughGlobalProfiles');
    expect(global?.Resource).toBe(
      'arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
    expect(global?.Condition?.StringEquals?.['aws:RequestedRegion']).toBe('unspecified');
    // ... and the model in the source region, through the profile.
    const via = statements.find((s) => s.Sid === 'InvokeChainModelsThroughProfiles');
    expect(via?.Resource).toBe(
      'arn:aws:bedrock:eu-north-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
  });

  it('grants a plain model id in the source region only, without a profile condition', () => {
    const statements = json(['anthropic.claude-3-haiku-20240307-v1:0']);
    expect(statements).toEqual([
      expect.objectContaining({
        Sid: 'InvokeChainModelsInRegion',
        Resource: 'arn:aws:bedrock:eu-north-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
      }),
    ]);
    expect(statements[0]!.Condition).toBeUndefined();
  });

  it('takes destination regions per profile when given, and always includes the source region', () => {
    const id = 'eu.anthropic.claude-3-haiku-20240307-v1:0';
    const via = json([id], { profileRegions: { [id]: ['eu-central-1', 'eu-west-1'] } }).find(
      (s) => s.Sid === 'InvokeChainModelsThroughProfiles',
    );
    expect(list(via?.Resource).map((r) => r.split(':')[3])).toEqual([
      'eu-central-1',
      'eu-north-1',
      'eu-west-1',
    ]);
  });

  it('names nothing outside the chain, whatever the chain', () => {
    for (const region of ['eu-north-1', 'us-east-1', 'ap-northeast-1']) {
      const chain = defaultModels(region);
      const models = new Set(chain.map((id) => parseChainEntry(id).model));
      for (const s of json(chain, { region })) {
        for (const arn of list(s.Resource)) {
          const name = arn.split('/').slice(1).join('/');
          if (arn.includes(':inference-profile/')) expect(chain).toContain(name);
          else expect(models).toContain(name);
          expect(arn).not.toContain('*');
        }
      }
    }
  });

  it('refuses an empty chain', () => {
    expect(() => json([])).toThrow(/empty/);
  });
});
