import { describe, expect, it } from 'vitest';
import type { ReviewEvent } from '../types.ts';
import { ReviewLifecycle, submitSummary } from './lifecycle.svelte.ts';

const RAVI = { id: 'u_ravi', name: 'Ravi' };
const OLGA = { id: 'u_olga', name: 'Olga' };

const statusEvent = (seq: number, status: 'open' | 'submitted', actor = RAVI): ReviewEvent => ({
  reviewId: 'r_1',
  seq,
  type: 'review.status',
  at: `2026-12-07T10:00:0${seq}.000Z`,
  actor,
  data: { status, summary: { accepted: 1, rejected: 0, pending: 0, custom: 0 } },
});

describe('review lifecycle in the room', () => {
  it('shows who submitted from the event, and nothing once the owner reopens', () => {
    const lifecycle = new ReviewLifecycle();
    lifecycle.load({ status: 'open' });
    expect(lifecycle.isSubmitted).toBe(false);
    lifecycle.apply(statusEvent(4, 'submitted'));
    expect(lifecycle.isSubmitted).toBe(true);
    expect(lifecycle.submitted).toEqual({ by: RAVI, at: '2026-12-07T10:00:04.000Z' });
    lifecycle.apply(statusEvent(5, 'open', OLGA));
    expect(lifecycle.status).toBe('open');
    expect(lifecycle.submitted).toBeNull();
  });

  it('takes a submitted review from a snapshot (a late joiner sees it submitted)', () => {
    const lifecycle = new ReviewLifecycle();
    lifecycle.load({ status: 'submitted', submitted: { by: OLGA, at: '2026-12-07T09:00:00.000Z' } });
    expect(lifecycle.submitted?.by).toEqual(OLGA);
  });

  it('counts like the server: every item by decision, and the people’s own as custom', () => {
    expect(
      submitSummary([
        { status: 'accepted', source: 'ai' },
        { status: 'accepted', source: 'user' },
        { status: 'rejected', source: 'rules' },
        { status: 'pending', source: 'ai' },
        { status: 'rejected', source: 'user' },
      ]),
    ).toEqual({ accepted: 2, rejected: 2, pending: 1, custom: 2 });
  });
});
