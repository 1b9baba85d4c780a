import { DEFAULT_PRICES, type FeedbackItem } from '@prism/core';
import { type RawReview, reviewInsight } from '@prism/store';
import { describe, expect, it } from 'vitest';
import { aggregate, drill, insightsVersion, learnedAcceptance, weekOf } from './insights.ts';

const item = (over: Partial<FeedbackItem> & Pick<FeedbackItem, 'id'>): FeedbackItem => ({
  sectionId: 's1',
  type: 'important',
  category: 'Evidence',
  description: 'd',
  questions: [],
  refs: [],
  risk: 'low',
  confidence: 0.9,
  source: 'ai',
  status: 'pending',
  createdBy: { id: 'prism', name: 'Prism' },
  createdAt: '2026-11-30T10:00:00.000Z',
  version: 1,
  ...over,
});

const raw = (items: FeedbackItem[], over: Partial<RawReview> = {}): RawReview => ({
  seq: 5,
  stamp: '5:0:0:0:0',
  meta: null,
  feedback: Object.fromEntries(items.map((i) => [i.id, JSON.stringify(i)])),
  checklist: {},
  usage: {},
  ...over,
});

describe('insights aggregation', () => {
  const decided = '2026-12-02T09:00:00.000Z';
  const one = reviewInsight(
    'r1',
    raw(
      [
        item({ id: 'a', refs: [3, 7], status: 'accepted', decidedAt: decided, version: 3 }),
        item({ id: 'b', refs: [3], status: 'rejected', decidedAt: decided, sectionId: 's2' }),
        item({ id: 'c', refs: [99], category: 'Clarity', type: 'positive', source: 'rules' }),
        item({ id: 'd', refs: [3], sectionId: 's2' }),
      ],
      {
        checklist: {
          3: JSON.stringify({ n: 3, verdict: 'fail', explanation: 'x', evidence: [], source: 'ai' }),
          4: JSON.stringify({ n: 4, verdict: 'pass', explanation: 'x', evidence: [], source: 'ai' }),
        },
        usage: {
          inputTokens: '2000000',
          outputTokens: '0',
          'input:anthropic.claude-haiku-4-5-20251001-v1:0': '2000000',
          'model:anthropic.claude-haiku-4-5-20251001-v1:0': '3',
        },
      },
    ),
    false,
    DEFAULT_PRICES,
  );
  const two = reviewInsight(
    'r2',
    raw([
      item({ id: 'e', refs: [3], status: 'rejected', decidedAt: '2026-12-07T00:00:00.000Z', source: 'user' }),
    ]),
    true,
  );
  const result = aggregate([one, two]);

  it('counts each item once per key, under its current decision, with checkpoint titles from the rubric', () => {
    const rows = Object.fromEntries(
      result.acceptance.map((r) => [`${r.by}:${r.key}`, [r.accepted, r.rejected]]),
    );
    expect(rows).toEqual({
      'category:Evidence': [1, 2],
      'checkpoint:Evidence': [1, 2],
      'checkpoint:Actions': [1, 0],
      'type:important': [1, 2],
      'source:ai': [1, 1],
      'source:user': [0, 1],
    });
    expect(result.acceptance.find((r) => r.key === 'Evidence' && r.by === 'category')!.rate).toBeCloseTo(
      1 / 3,
    );
  });

  it('counts recurring problems by reviews and sections, and checklist fails', () => {
    // Findings: a (s1) and d (s2) of r1 (b and e are rejected, c is praise).
    expect(result.patterns).toEqual([
      { by: 'category', key: 'Evidence', findings: 2, reviews: 1, sections: 2 },
      { by: 'checkpoint', key: 'Evidence', findings: 2, reviews: 1, sections: 2, failed: 1 },
      { by: 'checkpoint', key: 'Actions', findings: 1, reviews: 1, sections: 1, failed: 0 },
    ]);
  });

  it('buckets decisions and findings by ISO week (Monday, UTC)', () => {
    expect(weekOf('2026-12-06T23:59:59.000Z')).toBe('2026-11-30');
    expect(weekOf('2026-12-07T00:00:00.000Z')).toBe('2026-12-07');
    expect(result.trends).toEqual([
      { week: '2026-11-30', accepted: 1, rejected: 1, findings: 2 },
      { week: '2026-12-07', accepted: 0, rejected: 1, findings: 0 },
    ]);
  });

  it('prices usage and sums it', () => {
    expect(result.cost).toEqual({
      usd: 2,
      inputTokens: 2_000_000,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
    expect(result.reviews).toBe(2);
  });

  it('drills down to the reviews and items behind a key', () => {
    const titles = new Map([
      ['r1', 'One'],
      ['r2', 'Two'],
    ]);
    const behind = drill([one, two], titles, 'checkpoint', 'Evidence');
    expect(behind.reviews.map((r) => [r.title, r.archived, r.items.map((i) => i.id)])).toEqual([
      ['One', false, ['a', 'b', 'd']],
      ['Two', true, ['e']],
    ]);
    expect(drill([one, two], titles, 'category', 'Nope').reviews).toEqual([]);
  });

  it('versions change with any review stamp', () => {
    const a = insightsVersion(new Map([['r1', '5:0:0:0:0']]));
    expect(insightsVersion(new Map([['r1', '5:0:0:0:0']]))).toBe(a);
    expect(insightsVersion(new Map([['r1', '6:0:0:0:0']]))).not.toBe(a);
    expect(insightsVersion(new Map([['r1', '5:1:0:0:0']]))).not.toBe(a);
  });
});

describe('what learning reads', () => {
  it("counts the team's decisions on AI and rules items, never people's own items (they start accepted)", () => {
    const review = reviewInsight(
      'r1',
      raw([
        item({ id: 'a', category: 'Style', status: 'rejected' }),
        item({ id: 'b', category: 'Style', status: 'rejected', source: 'rules' }),
        item({ id: 'c', category: 'Style', status: 'accepted', source: 'user' }),
        item({ id: 'd', category: 'Style', status: 'pending' }),
      ]),
      false,
      DEFAULT_PRICES,
    );
    const rows = learnedAcceptance([review]);
    expect(rows.find((r) => r.by === 'category')).toEqual({
      by: 'category',
      key: 'Style',
      accepted: 0,
      rejected: 2,
      rate: 0,
    });
    expect(rows.some((r) => r.by === 'source' && r.key === 'user')).toBe(false);
    // The insights themselves count every item's decision, people's included.
    expect(aggregate([review]).acceptance.find((r) => r.by === 'category')).toMatchObject({
      accepted: 1,
      rejected: 2,
    });
  });
});
