/** The `usage` hash as log appends write it, read back as the snapshot's `stats.usage` with its cost. */
import { DEFAULT_PRICES, type Usage } from '@prism/core';
import { describe, expect, it } from 'vitest';
import { usageFrom, usageWrites } from './reviews.ts';

const SONNET = 'eu.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';

/** Applies the HINCRBYs the way the event log does. */
function hashOf(calls: [string, Usage][]): Record<string, string> {
  const hash: Record<string, number> = {};
  for (const [model, usage] of calls) {
    for (const write of usageWrites(model, usage)) {
      if (write.op === 'hincrby') hash[write.field] = (hash[write.field] ?? 0) + write.by;
    }
  }
  return Object.fromEntries(Object.entries(hash).map(([field, value]) => [field, String(value)]));
}

describe('usage per model', () => {
  it('prices each model at its own rate, totals and call counts as before', () => {
    const hash = hashOf([
      [SONNET, { inputTokens: 100_000, outputTokens: 10_000, cacheReadTokens: 0, cacheWriteTokens: 200_000 }],
      [SONNET, { inputTokens: 50_000, outputTokens: 10_000, cacheReadTokens: 200_000, cacheWriteTokens: 0 }],
      [HAIKU, { inputTokens: 100_000, outputTokens: 20_000 }],
      ['rules', { inputTokens: 0, outputTokens: 0 }],
    ]);
    const usage = usageFrom(hash, DEFAULT_PRICES);
    expect(usage).toMatchObject({
      inputTokens: 250_000,
      outputTokens: 40_000,
      cacheReadTokens: 200_000,
      cacheWriteTokens: 200_000,
      models: { [SONNET]: 2, [HAIKU]: 1, rules: 1 },
    });
    // Sonnet: 150K*3 + 20K*15 + 200K*0.3 + 200K*3.75 = $1.56; Haiku: 100K*1 + 20K*5 = $0.20.
    expect(usage.usd).toBe(1.76);
    expect(usage.unpriced).toBeUndefined();
  });

  it('lists a model no price covers, and prices totals kept before per-model usage as the busiest model', () => {
    const legacy = { inputTokens: '1000000', outputTokens: '0', cacheReadTokens: '0', cacheWriteTokens: '0' };
    expect(usageFrom({ ...legacy, [`model:${HAIKU}`]: '3' }).usd).toBe(1);
    const unknown = hashOf([['amazon.nova-pro-v1:0', { inputTokens: 10, outputTokens: 10 }]]);
    expect(usageFrom(unknown)).toMatchObject({ usd: 0, unpriced: ['amazon.nova-pro-v1:0'] });
  });
});
