/**
 * Re-review of a revised document (CONTRACT 7.5): the new revision's sections matched to the
 * previous revision's by heading and content (a matched section keeps its id), what happened to
 * each section, what happens to each item, and the word-level diff of a section between revisions.
 * Pure functions; the server's revision service turns their results into one log append.
 */
import { diffWordsWithSpace } from 'diff';
import { collapse } from './docx/outline.ts';
import type { Section } from './protocol.ts';
import type { FeedbackItem, User } from './schemas.ts';

export type SectionChange = 'unchanged' | 'changed' | 'new' | 'removed';

/** One revision of the review's document, as snapshots list them (revision 1 is the upload). */
export interface RevisionInfo {
  number: number;
  at: string;
  by: User;
  /** The uploaded file's name. */
  name: string;
  /** Changed and new sections, in document order (empty for revision 1). */
  changedSections: string[];
  /** Of `changedSections`, those the previous revision did not have. */
  newSections: string[];
  /** Sections of the previous revision that this one no longer has. */
  removedSections: string[];
  /** Items kept with their id and decision. */
  carried: number;
  /** Items whose quote is gone from their section. */
  outdated: number;
}

export interface SectionMatch {
  /** The new revision's sections, each under its matched id or a new one. */
  sections: Section[];
  /** What happened to every section of either revision, by id. */
  changes: Record<string, SectionChange>;
  /** Changed and new sections, in the new document's order. */
  changedSections: string[];
  /** The new ones among them. */
  newSections: string[];
  removedSections: string[];
}

/** Least similarity (0..1) for two sections of different text to count as the same section. */
export const MATCH_THRESHOLD = 0.45;

const words = (text: string): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
};

const sizeOf = (counts: Map<string, number>): number => {
  let size = 0;
  for (const n of counts.values()) size += n;
  return size;
};

/** Dice coefficient of two word multisets: 1 for the same words, 0 for none in common. */
function dice(a: Map<string, number>, b: Map<string, number>): number {
  const total = sizeOf(a) + sizeOf(b);
  if (total === 0) return 1;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let common = 0;
  for (const [word, n] of small) common += Math.min(n, large.get(word) ?? 0);
  return (2 * common) / total;
}

const headingKey = (title: string): string => collapse(title).toLowerCase();

interface Prepared {
  section: Section;
  heading: string;
  text: string;
  words: Map<string, number>;
}

const prepare = (section: Section): Prepared => ({
  section,
  heading: headingKey(section.title),
  text: collapse(section.text),
  words: words(`${section.title} ${section.text}`),
});

/**
 * How alike two sections are: their content's words, with the heading weighing in (the same
 * heading makes a rewritten body still the same section; a renamed heading over the same body too).
 */
export function similarity(a: Section, b: Section): number {
  return score(prepare(a), prepare(b));
}

function score(a: Prepared, b: Prepared): number {
  const content = dice(a.words, b.words);
  const heading = a.heading === b.heading ? 1 : dice(words(a.heading), words(b.heading));
  return 0.6 * content + 0.4 * heading;
}

/**
 * Matches `next` (a fresh parse) to `previous`. Sections with the same heading and text pair first
 * (in order, so repeated headings pair up by position); the rest pair by descending similarity
 * above MATCH_THRESHOLD, closer positions first on ties. Unmatched new sections get `newId(i)`.
 */
export function matchSections(
  previous: readonly Section[],
  next: readonly Section[],
  newId: (index: number) => string,
): SectionMatch {
  const before = previous.map(prepare);
  const after = next.map(prepare);
  const pairedTo = new Map<number, number>(); // next index -> previous index
  const taken = new Set<number>();

  const exact = new Map<string, number[]>();
  before.forEach((p, i) => {
    const key = `${p.heading}\u0000${p.text}`;
    exact.set(key, [...(exact.get(key) ?? []), i]);
  });
  after.forEach((p, j) => {
    const candidates = exact.get(`${p.heading}\u0000${p.text}`);
    const i = candidates?.shift();
    if (i !== undefined) {
      pairedTo.set(j, i);
      taken.add(i);
    }
  });

  const pairs: { i: number; j: number; score: number; distance: number }[] = [];
  after.forEach((a, j) => {
    if (pairedTo.has(j)) return;
    before.forEach((b, i) => {
      if (taken.has(i)) return;
      const s = score(b, a);
      if (s >= MATCH_THRESHOLD) pairs.push({ i, j, score: s, distance: Math.abs(i - j) });
    });
  });
  pairs.sort((x, y) => y.score - x.score || x.distance - y.distance);
  for (const { i, j } of pairs) {
    if (taken.has(i) || pairedTo.has(j)) continue;
    pairedTo.set(j, i);
    taken.add(i);
  }

  const changes: Record<string, SectionChange> = {};
  const changedSections: string[] = [];
  const sections = after.map((a, j): Section => {
    const i = pairedTo.get(j);
    const matched = i === undefined ? undefined : before[i]!;
    const id = matched ? matched.section.id : newId(j);
    const unchanged = matched !== undefined && matched.heading === a.heading && matched.text === a.text;
    changes[id] = matched ? (unchanged ? 'unchanged' : 'changed') : 'new';
    if (!unchanged) changedSections.push(id);
    return { ...a.section, id, index: j };
  });
  const removedSections = before.filter((_, i) => !taken.has(i)).map((b) => b.section.id);
  for (const id of removedSections) changes[id] = 'removed';
  const newSections = changedSections.filter((id) => changes[id] === 'new');
  return { sections, changes, changedSections, newSections, removedSections };
}

export interface CarryResult {
  /** Items kept with their id and decision, `revision` set to the new one. */
  carried: FeedbackItem[];
  /** Items whose quote (or section) is gone: `outdated: true`, decision kept. */
  outdated: FeedbackItem[];
  /** Pending AI or rules items of changed and removed sections: the re-analysis makes new ones. */
  removed: FeedbackItem[];
}

const isPendingFinding = (item: FeedbackItem): boolean => item.status === 'pending' && item.source !== 'user';

/** Whether the item's quote is still in the text (whitespace collapsed); an item without one is. */
export const quoteStillIn = (item: Pick<FeedbackItem, 'quote'>, text: string): boolean =>
  !item.quote || collapse(text).includes(collapse(item.quote));

/**
 * What the revision does to each item. Items already outdated stay as they are; pending AI or
 * rules items of unchanged sections stay too (their section's analysis still stands). Decided
 * items and people's items are carried where their section was matched and their quote is still
 * in it, else outdated; pending AI or rules items of changed or removed sections are removed.
 */
export function carryItems(
  items: readonly FeedbackItem[],
  match: SectionMatch,
  revision: number,
): CarryResult {
  const text = new Map(match.sections.map((s) => [s.id, s.text]));
  const result: CarryResult = { carried: [], outdated: [], removed: [] };
  for (const item of items) {
    if (item.outdated) continue;
    const change = match.changes[item.sectionId] ?? 'removed';
    if (isPendingFinding(item)) {
      if (change !== 'unchanged') result.removed.push(item);
      continue;
    }
    const sectionText = text.get(item.sectionId);
    if (sectionText !== undefined && quoteStillIn(item, sectionText)) {
      result.carried.push({ ...item, revision });
    } else {
      result.outdated.push({ ...item, outdated: true });
    }
  }
  return result;
}

export interface DiffChange {
  op: 'equal' | 'insert' | 'delete';
  text: string;
}

/** Edits past which a diff is not worth computing: the section is shown as replaced whole. */
const MAX_EDIT_LENGTH = 20_000;

/** The word-level diff of a section's text from `before` to `after`. */
export function wordDiff(before: string, after: string): { changes: DiffChange[] } {
  const parts = diffWordsWithSpace(before, after, { maxEditLength: MAX_EDIT_LENGTH });
  if (!parts) {
    const changes: DiffChange[] = [];
    if (before) changes.push({ op: 'delete', text: before });
    if (after) changes.push({ op: 'insert', text: after });
    return { changes };
  }
  return {
    changes: parts
      .filter((part) => part.value !== '')
      .map((part) => ({
        op: part.added ? 'insert' : part.removed ? 'delete' : 'equal',
        text: part.value,
      })),
  };
}

/**
 * The item with its revision fields filled: `outdated` false unless set, and `revision` the one it
 * was carried to, else the latest revision made before it (items are made on the revision current then).
 */
export function withRevision(
  item: FeedbackItem,
  revisions: readonly Pick<RevisionInfo, 'number' | 'at'>[],
): FeedbackItem {
  if (item.revision !== undefined && item.outdated !== undefined) return item;
  let revision = item.revision;
  if (revision === undefined) {
    revision = 1;
    for (const r of revisions) if (r.at <= item.createdAt && r.number > revision) revision = r.number;
  }
  return { ...item, outdated: item.outdated ?? false, revision };
}
