/** What the analysis and chat jobs share: reading the document, budgets, attempt fences. */
import { randomBytes } from 'node:crypto';
import { PrismError } from '@prism/core';
import { type ReviewStore, spentTokens } from '@prism/store';
import type { DocumentContext } from '../ai/provider.ts';

export async function documentContext(store: ReviewStore, reviewId: string): Promise<DocumentContext> {
  const [meta, sections, preferences] = await Promise.all([
    store.meta(reviewId),
    store.sections(reviewId),
    store.preferences(reviewId),
  ]);
  if (!meta) throw new PrismError('not_found', 'The review no longer exists.');
  const document: DocumentContext = {
    reviewId,
    title: meta.title,
    sections: sections.map(({ id, title, text }) => ({ id, title, text })),
  };
  if (meta.guidelines?.text) document.guidelines = meta.guidelines.text;
  if (meta.rubric) document.rubric = meta.rubric;
  if (preferences) document.preferences = preferences;
  return document;
}

export async function assertBudget(store: ReviewStore, reviewId: string, budget: number): Promise<void> {
  const spent = spentTokens(await store.usage(reviewId));
  if (spent >= budget) {
    throw new PrismError(
      'budget_exhausted',
      `This review has used its model budget (${spent.toLocaleString('en')} of ${budget.toLocaleString('en')} tokens).`,
    );
  }
}

/** A fresh attempt id: appends of an older attempt of the same work fail their guard. */
export const newAttempt = (jobId: string | undefined, attemptsMade: number): string =>
  `${jobId ?? 'job'}#${attemptsMade}#${randomBytes(4).toString('hex')}`;

/** Thrown inside a job when its attempt was superseded: stop quietly, write nothing more. */
export class Superseded extends Error {
  constructor() {
    super('a newer attempt of this job took over');
    this.name = 'Superseded';
  }
}

/**
 * An ISO time after `previous`: now, or 1 ms past `previous` while the clock has not moved on. A
 * section's findings are listed by creation time (then id); several found within one millisecond
 * would otherwise sort by their ids, not in the order they were found.
 */
export function timeAfter(previous: string | undefined, now: string = new Date().toISOString()): string {
  if (!previous || now > previous) return now;
  return new Date(Date.parse(previous) + 1).toISOString();
}
