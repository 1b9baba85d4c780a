import type { FeedbackItem, FeedbackStatus, FeedbackType, Risk, Role, SectionStatus } from '../types.ts';

export const TYPE_LABEL: Record<FeedbackType, string> = {
  critical: 'Critical',
  important: 'Important',
  suggestion: 'Suggestion',
  positive: 'Positive',
};

export const RISK_LABEL: Record<Risk, string> = { high: 'High risk', medium: 'Medium risk', low: 'Low risk' };

export const STATUS_LABEL: Record<FeedbackStatus, string> = {
  pending: 'Pending',
  accepted: 'Accepted',
  rejected: 'Rejected',
};

export const SECTION_STATUS_LABEL: Record<SectionStatus, string> = {
  idle: 'not analyzed',
  queued: 'queued',
  analyzing: 'analyzing',
  done: 'analyzed',
  failed: 'analysis failed',
  cancelled: 'cancelled',
};

export const ROLE_LABEL: Record<Role, string> = { owner: 'Owner', reviewer: 'Reviewer', viewer: 'Viewer' };

/** Who or what wrote an item: the model id, "rules", or the person. */
export function sourceLabel(item: FeedbackItem): string {
  if (item.source === 'rules') return 'rules';
  if (item.source === 'ai') return item.model ?? 'AI';
  return item.createdBy.name;
}

export const percent = (value: number): string => `${Math.round(Math.max(0, Math.min(1, value)) * 100)} %`;

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]!, parts.at(-1)!] : parts;
  return letters.map((part) => [...part][0]?.toUpperCase() ?? '').join('') || '?';
}

/** A stable hue for a person's avatar. */
export function hue(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

let timeFormat: Intl.DateTimeFormat | undefined;
let dateTimeFormat: Intl.DateTimeFormat | undefined;

/** "14:05" today, "21/11/2026, 14:05" before. The formatters are made once (they are slow to make). */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const now = new Date();
  const sameDay =
    date.getFullYear() === now.getFullYear() &&
    date.getMonth() === now.getMonth() &&
    date.getDate() === now.getDate();
  if (sameDay) {
    timeFormat ??= new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
    return timeFormat.format(date);
  }
  dateTimeFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });
  return dateTimeFormat.format(date);
}

export const formatNumber = (value: number): string => value.toLocaleString();
