/**
 * Feedback items for the unit tests (imported by `*.test.ts` only, so never part of the app's bundle):
 * a pending rules finding in section `s1`; each test overrides what it is about.
 */
import type { FeedbackItem, User } from '../types.ts';

export const PRISM: User = { id: 'prism', name: 'Prism' };

export function feedbackItem(id: string, overrides: Partial<FeedbackItem> = {}): FeedbackItem {
  return {
    id,
    sectionId: 's1',
    type: 'important',
    category: 'Clarity',
    description: `Finding ${id}`,
    questions: [],
    refs: [],
    risk: 'medium',
    confidence: 0.8,
    source: 'rules',
    status: 'pending',
    createdBy: PRISM,
    createdAt: '2026-11-01T10:00:00.000Z',
    version: 1,
    ...overrides,
  };
}
