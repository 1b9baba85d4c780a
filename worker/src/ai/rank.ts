/**
 * Stamps a new item with its rank, and the reason it is shown collapsed where there is one, from the
 * team's preferences the review's analysis started with (core/src/learning.ts; CONTRACT 7.4).
 * Checkpoints are named by their titles in the review's rubric, as the workspace's figures count them.
 */
import {
  DEFAULT_REVIEW_RUBRIC,
  type FeedbackItem,
  NO_PREFERENCES,
  type Rubric,
  rankItem,
  type TeamPreferences,
} from '@prism/core';

type Rankable = Pick<FeedbackItem, 'category' | 'refs' | 'type' | 'source'>;

/** A rubric's checkpoint titles by number, built once per rubric object (a job ranks many items). */
const titleMaps = new WeakMap<Rubric, Map<number, string>>();
function titlesOf(rubric: Rubric): Map<number, string> {
  let titles = titleMaps.get(rubric);
  if (!titles) {
    titles = new Map(rubric.checkpoints.map((c) => [c.n, c.title]));
    titleMaps.set(rubric, titles);
  }
  return titles;
}

export function withRank<T extends Rankable>(
  item: T,
  preferences: TeamPreferences | undefined,
  rubric: Rubric | undefined,
): T & { rank: number; collapsed?: string } {
  const titles = titlesOf(rubric ?? DEFAULT_REVIEW_RUBRIC);
  const checkpoints = [...new Set(item.refs.map((n) => titles.get(n) ?? `#${n}`))];
  const ranking = rankItem(
    { category: item.category, checkpoints, type: item.type, source: item.source },
    preferences ?? NO_PREFERENCES,
  );
  return { ...item, ...ranking };
}
