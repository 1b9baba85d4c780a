import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES, priceOf, pricesEnv, pricesFromEnv, priceUsage } from './cost.ts';

const tokens = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheWriteTokens,
});

describe('pricing', () => {
  it('prices each token kind of the default Sonnet at its own rate, profile prefixes alike', () => {
    // 1M input $3, 100K output $1.50, 2M cache reads $0.60, 200K cache writes $0.75.
    const usage = tokens(1_000_000, 100_000, 2_000_000, 200_000);
    for (const id of [
      'eu.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'anthropic.claude-sonnet-4-5-20250929-v1:0',
    ]) {
      expect(priceUsage(DEFAULT_PRICES, { [id]: usage })).toEqual({ usd: 5.85, unpriced: [] });
    }
  });

  it('adds up several models and rounds to 4 decimals', () => {
    const cost = priceUsage(DEFAULT_PRICES, {
      'eu.anthropic.claude-sonnet-4-5-20250929-v1:0': tokens(1234, 567),
      'eu.anthropic.claude-haiku-4-5-20251001-v1:0': tokens(1000, 1000),
    });
    // 1234*3 + 567*15 = 12207 -> $0.012207; haiku 1000*1 + 1000*5 -> $0.006.
    expect(cost.usd).toBe(0.0182);
  });

  it('prices an unknown id by its family, and flags one it cannot place at $0', () => {
    expect(priceOf(DEFAULT_PRICES, 'us.anthropic.claude-sonnet-9-v1:0')?.input).toBe(3);
    expect(priceOf(DEFAULT_PRICES, 'anthropic.claude-opus-4-1-20250805-v1:0')?.output).toBe(75);
    expect(priceOf(DEFAULT_PRICES, 'global.anthropic.claude-opus-4-5-20251101-v1:0')?.output).toBe(25);
    const cost = priceUsage(DEFAULT_PRICES, {
      'amazon.nova-pro-v1:0': tokens(1_000_000, 0),
      'eu.anthropic.claude-haiku-4-5-20251001-v1:0': tokens(1_000_000, 0),
    });
    expect(cost).toEqual({ usd: 1, unpriced: ['amazon.nova-pro-v1:0'] });
  });

  it('charges nothing for the rules provider', () => {
    expect(priceUsage(DEFAULT_PRICES, { rules: tokens(5000, 5000) })).toEqual({ usd: 0, unpriced: [] });
  });

  it('lets BEDROCK_PRICES override one model and keeps the built-in rest', () => {
    const table = pricesFromEnv(
      JSON.stringify({
        'anthropic.claude-haiku-4-5-20251001-v1:0': { input: 2, output: 10, cacheRead: 0.2, cacheWrite: 2.5 },
      }),
    );
    expect(priceOf(table, 'eu.anthropic.claude-haiku-4-5-20251001-v1:0')?.input).toBe(2);
    expect(priceOf(table, 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0')?.input).toBe(3);
    expect(pricesFromEnv(undefined)).toBe(DEFAULT_PRICES);
  });

  it('refuses bad JSON or a bad shape with one line', () => {
    expect(() => pricesFromEnv('{nope')).toThrow('not valid JSON');
    expect(() => pricesFromEnv('{"m":{"input":1,"output":2}}')).toThrow(/cacheRead/);
    expect(() => pricesFromEnv('{"m":{"input":-1,"output":2,"cacheRead":0,"cacheWrite":0}}')).toThrow(
      /at m\.input/,
    );
    const parsed = pricesEnv.safeParse('[1,2]');
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toHaveLength(1);
  });
});
