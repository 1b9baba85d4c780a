import { describe, expect, it } from 'vitest';
import { PrismError } from './errors.ts';
import { can, decide, edit, higherRole, newUserItem } from './review.ts';
import type { FeedbackItem } from './schemas.ts';

const olga = { id: 'u_olga', name: 'Olga' };
const ravi = { id: 'u_ravi', name: 'Ravi' };
const NOW = '2026-11-22T10:00:00.000Z';

const aiItem = (overrides: Partial<FeedbackItem> = {}): FeedbackItem => ({
  id: 'f_1',
  sectionId: 's1',
  type: 'important',
  category: 'Evidence',
  description: 'The root cause is asserted, not shown.',
  questions: [],
  refs: [3],
  risk: 'medium',
  confidence: 0.9,
  source: 'ai',
  status: 'pending',
  createdBy: { id: 'prism', name: 'Prism' },
  createdAt: NOW,
  version: 1,
  ...overrides,
});

const conflictOf = (fn: () => unknown): PrismError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof PrismError) return error;
    throw error;
  }
  throw new Error('expected a conflict');
};

describe('decisions', () => {
  it('accepts with the current version, records who and when, and bumps the version', () => {
    const result = decide(
      aiItem(),
      { reviewId: 'r', feedbackId: 'f_1', status: 'accepted', version: 1 },
      olga,
      NOW,
    );
    expect(result).toEqual({
      kind: 'changed',
      item: expect.objectContaining({ status: 'accepted', decidedBy: olga, decidedAt: NOW, version: 2 }),
    });
  });

  it('treats the same status as a no-op whatever version is named', () => {
    const item = aiItem({ status: 'accepted', version: 4, decidedBy: ravi });
    expect(
      decide(item, { reviewId: 'r', feedbackId: 'f_1', status: 'accepted', version: 1 }, olga, NOW),
    ).toEqual({
      kind: 'noop',
      item,
    });
  });

  it('refuses a stale version with conflict, carrying the current item and who decided first', () => {
    const current = aiItem({ status: 'accepted', version: 2, decidedBy: ravi, decidedAt: NOW });
    const error = conflictOf(() =>
      decide(current, { reviewId: 'r', feedbackId: 'f_1', status: 'rejected', version: 1 }, olga, NOW),
    );
    expect(error.code).toBe('conflict');
    expect(error.extra).toEqual({ item: current });
    expect(error.message).toContain('Ravi');
  });

  it('reverting to pending clears who decided', () => {
    const accepted = aiItem({ status: 'accepted', version: 2, decidedBy: ravi, decidedAt: NOW });
    const result = decide(
      accepted,
      { reviewId: 'r', feedbackId: 'f_1', status: 'pending', version: 2 },
      olga,
      NOW,
    );
    expect(result.item.decidedBy).toBeUndefined();
    expect(result.item.decidedAt).toBeUndefined();
    expect(result.item).toMatchObject({ status: 'pending', version: 3 });
  });
});

describe('people’s items', () => {
  it('start accepted with the contract defaults', () => {
    const critical = newUserItem(
      {
        reviewId: 'r',
        sectionId: 's1',
        type: 'critical',
        category: 'Risk',
        description: 'No rollback plan.',
      },
      olga,
      'f_2',
      NOW,
    );
    expect(critical).toMatchObject({
      status: 'accepted',
      source: 'user',
      risk: 'medium',
      confidence: 1,
      questions: [],
      refs: [],
      createdBy: olga,
      version: 1,
    });
    const suggestion = newUserItem(
      {
        reviewId: 'r',
        sectionId: 's1',
        type: 'suggestion',
        category: 'Style',
        description: 'Shorter title.',
      },
      olga,
      'f_3',
      NOW,
    );
    expect(suggestion.risk).toBe('low');
  });

  it('edits bump the version only when something changed, and need the current version', () => {
    const item = aiItem({ source: 'user', createdBy: olga, status: 'accepted' });
    expect(edit(item, { reviewId: 'r', feedbackId: 'f_1', version: 1, category: 'Evidence' }).kind).toBe(
      'noop',
    );
    const changed = edit(item, {
      reviewId: 'r',
      feedbackId: 'f_1',
      version: 1,
      description: 'Show the root cause.',
    });
    expect(changed.item).toMatchObject({ description: 'Show the root cause.', version: 2 });
    expect(
      conflictOf(() => edit(changed.item, { reviewId: 'r', feedbackId: 'f_1', version: 1, risk: 'high' }))
        .code,
    ).toBe('conflict');
  });

  it('an edit of a collapsed item that changes its kind drops why it was collapsed; other edits keep it', () => {
    const item = aiItem({
      rank: 0.1,
      collapsed: 'Your team rejected 9 of 10 “style” findings in this workspace.',
    });
    const worded = edit(item, { reviewId: 'r', feedbackId: 'f_1', version: 1, description: 'Reworded.' });
    expect(worded.item).toMatchObject({ collapsed: item.collapsed, rank: 0.1 });
    for (const change of [{ type: 'critical' as const }, { category: 'Security' }]) {
      const retyped = edit(item, { reviewId: 'r', feedbackId: 'f_1', version: 1, ...change });
      expect(retyped.kind).toBe('changed');
      expect(retyped.item.collapsed).toBeUndefined();
    }
  });
});

describe('roles', () => {
  it('viewers read, reviewers work, owners invite', () => {
    expect(can('viewer', 'review:read')).toBe(true);
    expect(can('viewer', 'feedback:decide')).toBe(false);
    expect(can('reviewer', 'feedback:decide')).toBe(true);
    expect(can('reviewer', 'invite:create')).toBe(false);
    expect(can('owner', 'invite:create')).toBe(true);
  });

  it('an invite never lowers a role', () => {
    expect(higherRole('reviewer', 'viewer')).toBe('reviewer');
    expect(higherRole('viewer', 'reviewer')).toBe('reviewer');
    expect(higherRole('owner', 'reviewer')).toBe('owner');
  });
});
