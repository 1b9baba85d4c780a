/**
 * Which findings the list shows and how the keyboard moves through them: pure functions over the room's
 * items, so the list, the keyboard and the tests agree.
 */
import type { FeedbackItem, FeedbackStatus, Section } from '../types.ts';

export interface FindingFilters {
  type: string;
  risk: string;
  status: string;
  source: string;
}

export const NO_FILTERS: FindingFilters = { type: '', risk: '', status: '', source: '' };

export const filtering = (f: FindingFilters): boolean => !!(f.type || f.risk || f.status || f.source);

/** The items that pass the filters, of one section (or of all when `sectionId` is null). */
export function visibleFindings(
  items: readonly FeedbackItem[],
  filters: FindingFilters,
  sectionId: string | null,
): FeedbackItem[] {
  const { type, risk, status, source } = filters;
  return items.filter(
    (item) =>
      (sectionId === null || item.sectionId === sectionId) &&
      (!type || item.type === type) &&
      (!risk || item.risk === risk) &&
      (!status || item.status === status) &&
      (!source || item.source === source),
  );
}

export interface Step {
  id: string;
  /** Set when the step leaves the selected section (the list follows it there). */
  sectionId?: string;
}

/**
 * The next (`step` 1) or previous (-1) finding from `currentId` in `list`. Past either end of a section's
 * list it goes on into the next (or previous) section that has findings, when `following` a section.
 */
export function stepFinding(
  items: readonly FeedbackItem[],
  filters: FindingFilters,
  sections: readonly Section[],
  sectionId: string | null,
  currentId: string | null,
  step: 1 | -1,
): Step | null {
  const list = visibleFindings(items, filters, sectionId);
  const index = currentId ? list.findIndex((item) => item.id === currentId) : -1;
  if (index < 0) {
    const first = step > 0 ? list[0] : list.at(-1);
    if (first) return { id: first.id };
  } else {
    const next = list[index + step];
    if (next) return { id: next.id };
  }
  if (sectionId === null) return null;
  const at = sections.findIndex((section) => section.id === sectionId);
  for (let i = at + step; i >= 0 && i < sections.length; i += step) {
    const section = sections[i]!;
    const there = visibleFindings(items, filters, section.id);
    const pick = step > 0 ? there[0] : there.at(-1);
    if (pick) return { id: pick.id, sectionId: section.id };
  }
  return null;
}

/** The next pending finding after `currentId`, across sections in order (wrapping once). */
export function nextPending(
  items: readonly FeedbackItem[],
  filters: FindingFilters,
  currentId: string | null,
): FeedbackItem | null {
  const list = visibleFindings(items, filters, null);
  const index = currentId ? list.findIndex((item) => item.id === currentId) : -1;
  for (let k = 1; k <= list.length; k += 1) {
    const item = list[(index + k + list.length) % list.length];
    if (item && item.status === 'pending' && item.id !== currentId) return item;
  }
  return null;
}

/**
 * Questions asked on at least `min` of these items (and on more than half of them when there are few):
 * boilerplate a list shows once, not on every card.
 */
export function commonQuestions(items: readonly FeedbackItem[], min = 3): Set<string> {
  const seen = new Map<string, number>();
  for (const item of items) {
    for (const question of new Set(item.questions)) seen.set(question, (seen.get(question) ?? 0) + 1);
  }
  const common = new Set<string>();
  for (const [question, count] of seen) if (count >= min) common.add(question);
  return common;
}

export const decisionKey: Record<string, FeedbackStatus> = { a: 'accepted', r: 'rejected', u: 'pending' };
