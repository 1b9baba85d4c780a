/**
 * The default Bedrock model chain and what each model accepts. Ids are inference profiles valid
 * in the region's geography (`eu.` in EU regions, plus the `global.` profile), newest Sonnet first.
 */

const GEOGRAPHY: [RegExp, string][] = [
  [/^eu-/, 'eu'],
  [/^us-gov-/, 'us-gov'],
  [/^us-|^ca-/, 'us'],
  [/^ap-|^me-/, 'apac'],
];

const CHAIN = [
  'anthropic.claude-sonnet-4-5-20250929-v1:0',
  'anthropic.claude-sonnet-4-20250514-v1:0',
  'anthropic.claude-3-7-sonnet-20250219-v1:0',
  'anthropic.claude-haiku-4-5-20251001-v1:0',
  'anthropic.claude-3-5-sonnet-20240620-v1:0',
  'anthropic.claude-3-haiku-20240307-v1:0',
];

/** Seven ids: the newest Sonnet through the geography's profile and the global one, then older and smaller models. */
export function defaultModels(region: string): string[] {
  const geo = GEOGRAPHY.find(([pattern]) => pattern.test(region))?.[1] ?? 'us';
  const [newest, ...rest] = CHAIN;
  return [`${geo}.${newest}`, `global.${newest}`, ...rest.map((id) => `${geo}.${id}`)];
}

/** Claude 3 and 3.5 models predate extended thinking. */
export const supportsThinking = (modelId: string): boolean =>
  !/claude-3-(5-|haiku|sonnet|opus)|claude-instant/.test(modelId);

/** Prompt caching came with Claude 3.5 Haiku and 3.7 Sonnet. */
export const supportsCachePoint = (modelId: string): boolean =>
  !/claude-3-(5-sonnet|haiku-2024|sonnet|opus)|claude-instant/.test(modelId);
