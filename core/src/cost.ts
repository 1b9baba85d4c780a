/**
 * What a review's model calls cost (CONTRACT 7.4): token usage per model priced from
 * `BEDROCK_PRICES` (CONTRACT 7.1), USD per million tokens, cache reads and writes priced apart.
 * Pure: the processes parse the variable in their config with `pricesFromEnv`.
 */
import { z } from 'zod';

/** USD per million tokens of each kind. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/** Model id (as Bedrock names it, profile prefix or not) -> its price. */
export type PriceTable = Record<string, ModelPrice>;

/** Tokens one model spent, by kind. */
export interface ModelTokens {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

const perMillion = z.number().finite().min(0).max(10_000);

/** The shape of `BEDROCK_PRICES`: `{modelId: {input, output, cacheRead, cacheWrite}}`. */
export const PriceTableSchema = z.record(
  z.string().trim().min(1).max(200),
  z.strictObject({ input: perMillion, output: perMillion, cacheRead: perMillion, cacheWrite: perMillion }),
);

/**
 * Anthropic's list prices, which Bedrock charges for on-demand calls, as of 2026-12
 * (https://docs.anthropic.com/en/docs/about-claude/pricing, "Model pricing": cache writes are the
 * 5-minute ones, 1.25x input; cache hits 0.1x input). Sonnet 4.5 and Haiku 4.5 through a regional
 * (`eu.`, `us.`) profile cost about 10% more than through `global.`; the table keeps one price per
 * base model, so those calls are slightly under-counted: set BEDROCK_PRICES for exact figures.
 * Prompts over 200K tokens (priced higher for Sonnet) do not occur: sections are analysed in parts.
 */
export const DEFAULT_PRICES: PriceTable = {
  'anthropic.claude-sonnet-4-5-20250929-v1:0': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  'anthropic.claude-sonnet-4-20250514-v1:0': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  'anthropic.claude-3-7-sonnet-20250219-v1:0': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  'anthropic.claude-haiku-4-5-20251001-v1:0': { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
  'anthropic.claude-3-5-sonnet-20240620-v1:0': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  'anthropic.claude-3-haiku-20240307-v1:0': { input: 0.25, output: 1.25, cacheRead: 0.03, cacheWrite: 0.3 },
};

/**
 * What an unknown id is priced at when its name says its family: the current model of each
 * (Sonnet 4.x, Haiku 4.5, Opus 4.5 and later, which cut Opus from $15/$75 to $5/$25).
 */
const FAMILIES: [RegExp, ModelPrice][] = [
  [/sonnet/i, { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }],
  [/haiku/i, { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 }],
  [/opus-4-[01]\b|opus-4-\d{8}|claude-3-opus/i, { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 }],
  [/opus/i, { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 }],
];

/** Models that cost nothing: the rules provider reviews without one. */
const FREE = new Set(['rules']);

/** Inference-profile prefixes (`eu.`, `us.`, `apac.`, `us-gov.`, `global.`) name the same base model. */
const PROFILE = /^(?:global|eu|us|us-gov|apac|ap|ca|jp|au)\./;
export const baseModelId = (modelId: string): string => modelId.replace(PROFILE, '');

/** The price of one model id: listed (with or without its profile prefix), its family's, or none. */
export function priceOf(table: PriceTable, modelId: string): ModelPrice | undefined {
  if (FREE.has(modelId)) return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  const listed = table[modelId] ?? table[baseModelId(modelId)];
  if (listed) return listed;
  return FAMILIES.find(([pattern]) => pattern.test(modelId))?.[1];
}

export interface Cost {
  /** Rounded to 4 decimals (a hundredth of a cent): one short call costs well under a cent. */
  usd: number;
  /** Model ids neither listed nor recognisable by family; their tokens count as $0. */
  unpriced: string[];
}

/** The cost of the tokens each model spent. */
export function priceUsage(table: PriceTable, byModel: Record<string, ModelTokens>): Cost {
  let usd = 0;
  const unpriced: string[] = [];
  for (const [modelId, tokens] of Object.entries(byModel)) {
    const price = priceOf(table, modelId);
    if (!price) {
      if (tokens.inputTokens + tokens.outputTokens + tokens.cacheReadTokens + tokens.cacheWriteTokens > 0) {
        unpriced.push(modelId);
      }
      continue;
    }
    usd +=
      (tokens.inputTokens * price.input +
        tokens.outputTokens * price.output +
        tokens.cacheReadTokens * price.cacheRead +
        tokens.cacheWriteTokens * price.cacheWrite) /
      1_000_000;
  }
  return { usd: Math.round(usd * 10_000) / 10_000, unpriced: unpriced.sort() };
}

/**
 * The price table a process uses: `BEDROCK_PRICES` (JSON) over the built-in one, so a deployment
 * lists only the models it changes. Throws one line saying what is wrong.
 */
export function pricesFromEnv(raw: string | undefined): PriceTable {
  if (raw === undefined || raw.trim() === '') return DEFAULT_PRICES;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('not valid JSON');
  }
  const parsed = PriceTableSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new Error(
      `expected {"<modelId>": {"input", "output", "cacheRead", "cacheWrite"}} in USD per million tokens (${issue.message}${where})`,
    );
  }
  return { ...DEFAULT_PRICES, ...parsed.data };
}

/** `BEDROCK_PRICES` in a process's environment schema: a bad value is one config problem. */
export const pricesEnv = z
  .string()
  .optional()
  .transform((raw, ctx): PriceTable => {
    try {
      return pricesFromEnv(raw);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
