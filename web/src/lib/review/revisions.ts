/**
 * Revisions in the room (CONTRACT 7.5): uploading a revised document, the word diff of a section,
 * and what the latest revision changed, section by section.
 */
import type { RevisionInfo } from '../../../../core/src/revisions.ts';
import { request, toApiError } from '../api.ts';

export type { RevisionInfo };

export interface DiffChange {
  op: 'equal' | 'insert' | 'delete';
  text: string;
}

/** Uploads the revised .docx; the room learns the rest from the `revision.added` event. */
export async function uploadRevision(
  reviewId: string,
  file: File,
): Promise<{ number: number; changedSections: string[] }> {
  const form = new FormData();
  form.append('file', file);
  const response = await fetch(`/api/reviews/${encodeURIComponent(reviewId)}/revisions`, {
    method: 'POST',
    headers: { accept: 'application/json' },
    body: form,
    credentials: 'same-origin',
  });
  const text = await response.text();
  if (!response.ok) throw toApiError(response.status, text);
  return (JSON.parse(text) as { revision: { number: number; changedSections: string[] } }).revision;
}

/** The word diff of one section of revision `n` against revision `n - 1`. */
export const sectionDiff = (reviewId: string, n: number, sectionId: string) =>
  request<{ changes: DiffChange[] }>(
    `/api/reviews/${encodeURIComponent(reviewId)}/revisions/${n}/diff?sectionId=${encodeURIComponent(sectionId)}`,
  );

/** What the latest revision did to each section it changed: `changed` or `new` (nothing for revision 1). */
export function latestChanges(revisions: readonly RevisionInfo[]): Map<string, 'changed' | 'new'> {
  const latest = revisions.at(-1);
  const changes = new Map<string, 'changed' | 'new'>();
  if (!latest || latest.number === 1) return changes;
  const added = new Set(latest.newSections ?? []);
  for (const id of latest.changedSections) changes.set(id, added.has(id) ? 'new' : 'changed');
  return changes;
}

/** "2 sections changed, 1 new · 5 items carried, 1 outdated". */
export function revisionSummary(revision: RevisionInfo): string {
  const added = revision.newSections?.length ?? 0;
  const changed = revision.changedSections.length - added;
  const parts = [
    `${changed} ${changed === 1 ? 'section' : 'sections'} changed`,
    ...(added ? [`${added} new`] : []),
    ...(revision.removedSections.length ? [`${revision.removedSections.length} removed`] : []),
  ];
  return `${parts.join(', ')} · ${revision.carried} ${revision.carried === 1 ? 'item' : 'items'} carried, ${revision.outdated} outdated`;
}

/** A diff part to show: unchanged text far from any change is cut to its ends (`cut` marks where). */
export interface ShownChange extends DiffChange {
  cut?: 'start' | 'middle' | 'end';
}

/**
 * Keeps `context` characters of unchanged text on each side of a change and cuts the rest, so a
 * one-word edit in a long section is seen at once; cuts happen at spaces.
 */
export function condense(changes: readonly DiffChange[], context = 120): ShownChange[] {
  const head = (text: string) => {
    const at = text.indexOf(' ', context);
    return at < 0 ? text : text.slice(0, at);
  };
  const tail = (text: string) => {
    const at = text.lastIndexOf(' ', text.length - context);
    return at < 0 ? text : text.slice(at + 1);
  };
  return changes.map((part, i): ShownChange => {
    if (part.op !== 'equal' || part.text.length <= context * 2 + 40) return part;
    const first = i === 0;
    const last = i === changes.length - 1;
    if (first && last) return part;
    if (first) return { op: 'equal', text: tail(part.text), cut: 'start' };
    if (last) return { op: 'equal', text: head(part.text), cut: 'end' };
    return { op: 'equal', text: `${head(part.text)} … ${tail(part.text)}`, cut: 'middle' };
  });
}
