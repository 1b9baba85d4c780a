/**
 * The checklist (CONTRACT 7.4): once every section is analysed, each checkpoint of the review's
 * rubric gets a verdict with a short explanation and evidence quotes that are verbatim in the
 * document; people override a verdict with a comment. Types and pure rules only, no zod, so the
 * browser bundle takes this module as it is.
 */
import { DEFAULT_RUBRIC } from './rubric.ts';

export const VERDICTS = ['pass', 'fail', 'partial', 'na'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const CHECKLIST_SOURCES = ['ai', 'rules', 'user'] as const;
export type ChecklistSource = (typeof CHECKLIST_SOURCES)[number];

/** One checkpoint of a rubric, `n` from 1. */
export interface Checkpoint {
  n: number;
  title: string;
  description: string;
  required: boolean;
}

/** A rubric as a review holds it: reviews keep the version they started with. */
export interface Rubric {
  id: string;
  name: string;
  version: number;
  checkpoints: Checkpoint[];
}

/** A quote of one section that supports a verdict, verbatim (whitespace collapsed). */
export interface Evidence {
  sectionId: string;
  quote: string;
}

/** A checkpoint's verdict: the `checklist.updated` event's data and the snapshot's `checklist` entries. */
export interface ChecklistEntry {
  n: number;
  verdict: Verdict;
  explanation: string;
  evidence: Evidence[];
  source: ChecklistSource;
  /** Who overrode it (source `user`). */
  by?: { id: string; name: string };
  /** When it was given (ISO time). */
  at?: string;
  /** The model that judged it (source `ai`). */
  model?: string;
  /**
   * True when the rules provider cannot judge this checkpoint: verdict `na`, and the explanation
   * starts with "Needs a model".
   */
  needsModel?: boolean;
  /** The analysis round it came from (a retried job never writes a round twice). */
  round?: string;
  /** What was overridden (source `user`): the verdict and source before the person's. */
  overridden?: { verdict: Verdict; source: ChecklistSource };
}

/** Longest override comment and longest explanation kept from a model. */
export const CHECKLIST_LIMITS = { comment: 2000, explanation: 1000, evidence: 5 } as const;

const sentence = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** Prism's built-in rubric as a value (the workspace rubric library adds others). */
export const DEFAULT_REVIEW_RUBRIC: Rubric = {
  id: 'default',
  name: 'Prism default',
  version: 1,
  checkpoints: DEFAULT_RUBRIC.map(({ n, title, text }) => ({
    n,
    title,
    description: sentence(text),
    required: true,
  })),
};

/** The explanation of a checkpoint the rules provider cannot judge. */
export const NEEDS_MODEL = 'Needs a model: the rules provider cannot judge this checkpoint';

export const VERDICT_LABEL: Record<Verdict, string> = {
  pass: 'Pass',
  fail: 'Fail',
  partial: 'Partial',
  na: 'N/A',
};

/**
 * Whether a generated entry (AI or rules) may replace what is stored: never a person's override,
 * and never twice for the same round.
 */
export function mayRefresh(current: ChecklistEntry | undefined, next: ChecklistEntry): boolean {
  if (!current) return true;
  if (current.source === 'user') return false;
  return !(next.round !== undefined && current.round === next.round);
}

/** A person's override of the current entry (or of none). */
export function overrideEntry(
  current: ChecklistEntry | undefined,
  n: number,
  verdict: Verdict,
  comment: string,
  by: { id: string; name: string },
  at: string,
): ChecklistEntry {
  const entry: ChecklistEntry = {
    n,
    verdict,
    explanation: comment,
    evidence: current?.evidence ?? [],
    source: 'user',
    by,
    at,
  };
  const before = current?.source === 'user' ? current.overridden : current;
  if (before) entry.overridden = { verdict: before.verdict, source: before.source };
  return entry;
}

/** Entries in checkpoint order. */
export const sortChecklist = (entries: Iterable<ChecklistEntry>): ChecklistEntry[] =>
  [...entries].sort((a, b) => a.n - b.n);

/** Who gave a verdict, in words. */
export function checklistOrigin(entry: ChecklistEntry): string {
  if (entry.source === 'user') return `overridden by ${entry.by?.name ?? 'a reviewer'}`;
  if (entry.source === 'rules') return 'rules';
  return entry.model ? `Prism AI (${entry.model})` : 'Prism AI';
}

/** The text of the reviewed document's summary comment: one line per checkpoint. */
export function checklistSummary(rubric: Rubric, entries: ChecklistEntry[]): string {
  const byN = new Map(entries.map((e) => [e.n, e]));
  const lines = [`Checklist (${rubric.name}, version ${rubric.version})`];
  for (const checkpoint of rubric.checkpoints) {
    const entry = byN.get(checkpoint.n);
    const verdict = entry ? VERDICT_LABEL[entry.verdict] : 'Not judged';
    const note = entry ? ` — ${checklistOrigin(entry)}` : '';
    const text = entry?.explanation ?? '';
    const why = text ? `: ${text.length > 200 ? `${text.slice(0, 199)}…` : text}` : '';
    lines.push(`${checkpoint.n}. ${checkpoint.title}: ${verdict}${note}${why}`);
  }
  return lines.join('\n');
}
