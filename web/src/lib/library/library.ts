/**
 * What the library page reads from and writes to its URL (`?q=` and `?status=`, so a search can be
 * shared and survives a reload), and how it says when something last happened.
 */
import type { ReviewStatus } from '../types.ts';

export const STATUSES: readonly ReviewStatus[] = ['open', 'submitted', 'archived'];

export const STATUS_LABEL: Record<ReviewStatus, string> = {
  open: 'Open',
  submitted: 'Submitted',
  archived: 'Archived',
};

/** The server's cap on a search (core LIMITS.searchQuery). */
export const MAX_QUERY = 200;

export interface LibraryFilter {
  q: string;
  status: ReviewStatus | null;
}

/** The filter a URL asks for; anything unknown is no filter. */
export function filterFrom(params: { get(name: string): string | null }): LibraryFilter {
  const status = params.get('status');
  return {
    q: (params.get('q') ?? '').slice(0, MAX_QUERY),
    status: STATUSES.includes(status as ReviewStatus) ? (status as ReviewStatus) : null,
  };
}

/** The URL search (`?q=...&status=...`, or '') for a filter, keeping other parameters as they are. */
export function searchFor(params: { toString(): string }, filter: LibraryFilter): string {
  const next = new URLSearchParams(params.toString());
  const q = filter.q.trim();
  if (q) next.set('q', q);
  else next.delete('q');
  if (filter.status) next.set('status', filter.status);
  else next.delete('status');
  const text = next.toString();
  return text ? `?${text}` : '';
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "just now", "5 minutes ago", "yesterday", "3 weeks ago" (the browser's language). */
export function timeAgo(iso: string, now: number = Date.now(), locale?: string): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 45) return 'just now';
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (seconds >= size || unit === 'minute')
      return format.format(-Math.max(1, Math.round(seconds / size)), unit);
  }
  return '';
}
