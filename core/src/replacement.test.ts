/** `replacement` (CONTRACT 7.5): taken by feedback:add and feedback:edit, kept, exported. */
import { describe, expect, it } from 'vitest';
import { exportCsv } from './export.ts';
import type { ReviewSnapshot } from './protocol.ts';
import { edit, newUserItem } from './review.ts';
import { AddFeedbackPayload, EditFeedbackPayload, FeedbackItem, LIMITS } from './schemas.ts';

const olga = { id: 'u_1', name: 'Olga' };
const add = AddFeedbackPayload.parse({
  reviewId: 'r',
  sectionId: 's1',
  type: 'suggestion',
  category: 'Clarity',
  description: 'Say who pages whom.',
  quote: 'Alerts fired',
  replacement: 'Alerts paged the on-call engineer',
});

describe('replacement', () => {
  it('is stored on a person’s item, edited, and cleared with an empty string', () => {
    const item = newUserItem(add, olga, 'f_1', '2026-01-01T00:00:00.000Z');
    expect(FeedbackItem.parse(item).replacement).toBe('Alerts paged the on-call engineer');
    const changed = edit(
      item,
      EditFeedbackPayload.parse({
        reviewId: 'r',
        feedbackId: 'f_1',
        version: 1,
        replacement: 'Alerts paged Ana',
      }),
    );
    expect(changed).toMatchObject({ kind: 'changed', item: { replacement: 'Alerts paged Ana', version: 2 } });
    const cleared = edit(
      changed.item,
      EditFeedbackPayload.parse({ reviewId: 'r', feedbackId: 'f_1', version: 2, replacement: '' }),
    );
    expect(cleared.item.replacement).toBeUndefined();
  });

  it('is capped at 4,000 characters', () => {
    expect(LIMITS.replacement).toBe(4000);
    expect(AddFeedbackPayload.safeParse({ ...add, replacement: 'x'.repeat(4001) }).success).toBe(false);
  });

  it('is the CSV column after the original ones (thread columns follow it)', () => {
    const item = newUserItem(add, olga, 'f_1', '2026-01-01T00:00:00.000Z');
    const csv = exportCsv({
      sections: [{ id: 's1', title: 'Summary' }],
      feedback: [item],
    } as unknown as ReviewSnapshot);
    const [header, row] = csv.split('\r\n');
    expect(header!.split(',').slice(-3)).toEqual(['replacement', 'replies', 'resolved']);
    expect(row!.endsWith(',Alerts paged the on-call engineer,,false')).toBe(true);
  });
});
