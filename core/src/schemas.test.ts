import { describe, expect, it } from 'vitest';
import { AddFeedbackPayload, describeIssues, JoinPayload } from './schemas.ts';

const base = { reviewId: 'r_1', sectionId: 's1', type: 'important', category: 'Evidence', description: 'x' };

describe('payload validation', () => {
  it('reports fields over their caps as too_long, naming the field', () => {
    const result = AddFeedbackPayload.safeParse({ ...base, description: 'a'.repeat(4001) });
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!)).toEqual({
      code: 'too_long',
      message: expect.stringContaining('description'),
    });
    const quote = AddFeedbackPayload.safeParse({ ...base, quote: 'q'.repeat(1001) });
    expect(describeIssues(quote.error!).code).toBe('too_long');
  });

  it('reports wrong shapes as invalid', () => {
    const result = AddFeedbackPayload.safeParse({ ...base, type: 'urgent' });
    expect(describeIssues(result.error!).code).toBe('invalid');
    expect(JoinPayload.safeParse({ reviewId: 'r', since: -1 }).success).toBe(false);
    expect(JoinPayload.safeParse({ reviewId: 'r', since: 1.5 }).success).toBe(false);
    expect(JoinPayload.safeParse({ reviewId: 'r', since: 0 }).success).toBe(true);
  });

  it('accepts the caps exactly', () => {
    expect(
      AddFeedbackPayload.safeParse({ ...base, description: 'a'.repeat(4000), category: 'c'.repeat(80) })
        .success,
    ).toBe(true);
  });
});
