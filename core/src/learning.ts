/**
 * What a team's decisions teach Prism (CONTRACT 7.4, "Learning"): from the workspace's decisions
 * on AI and rules items (each item's current decision counted once, server/src/domain/insights.ts;
 * people's own items are left out: they start accepted and say nothing of what the team wants
 * from Prism), the team's preferences, which
 * - rank new items (`rank`, higher first): a finding of a kind the team accepts rises, one of a kind
 *   it rejects sinks;
 * - collapse a new finding of a category the team nearly always rejects, saying why;
 * - tell the model, in a short statement that goes into the cached prompt prefix.
 *
 * The preferences are taken when an analysis starts (not while one runs) and kept with the review,
 * so every call of that run shares one prefix (the cache holds) and an item's rank is stamped once,
 * in its event: a late joiner's snapshot and the live room agree. The statement names leans, not
 * counts, so it stays byte-identical while the team's decisions keep leaning the same way.
 *
 * The rank is a logistic blend: start from the team's overall acceptance rate; for each dimension
 * (category, checkpoint, type, source) move by the difference between the log-odds of the item's
 * smoothed rate there and the overall one, weighted by how much that dimension says. Rates are
 * smoothed towards the overall rate with PRIOR_WEIGHT pseudo-decisions, so a kind with one rejection
 * barely moves and one with fifty moves a lot. With no history every item ranks 0.5.
 */
import { z } from 'zod';
import { ACCEPTANCE_BY, type AcceptanceBy, type AcceptanceRow } from './insights.ts';
import type { FeedbackSource, FeedbackType } from './schemas.ts';

/** A key's decisions, as the preferences keep them (keys lower-cased, so "Style" and "style" are one). */
export interface Preference {
  by: AcceptanceBy;
  key: string;
  accepted: number;
  rejected: number;
}

export interface TeamPreferences {
  /** Decided items the figures are from (each once). */
  decisions: number;
  /** Accepted share of those decisions (0.5 when there are none). */
  overall: number;
  /** Per key, the decisions behind it; only keys with at least one. */
  rows: Preference[];
  /** The statement the prompt carries; '' while there is nothing worth saying. */
  statement: string;
}

/** Stored preferences as read back: anything else (an older shape, a damaged value) is no history. */
export const TeamPreferencesSchema = z.object({
  decisions: z.number().int().min(0),
  overall: z.number().min(0).max(1),
  rows: z.array(
    z.object({
      by: z.enum(ACCEPTANCE_BY),
      key: z.string().max(200),
      accepted: z.number().int().min(0),
      rejected: z.number().int().min(0),
    }),
  ),
  statement: z.string().max(4000),
});

/** No history: every item ranks the same, nothing collapses, the prompt is unchanged. */
export const NO_PREFERENCES: TeamPreferences = { decisions: 0, overall: 0.5, rows: [], statement: '' };

/** Pseudo-decisions at the overall rate that every key's rate starts from. */
export const PRIOR_WEIGHT = 3;
/** How much each dimension moves the rank (category speaks most about what a team wants). */
const WEIGHT: Record<AcceptanceBy, number> = { category: 1, checkpoint: 0.6, type: 0.5, source: 0.3 };
/** A category is collapsed from this many decisions, when at least this share were rejections. */
export const COLLAPSE_MIN_DECISIONS = 5;
export const COLLAPSE_REJECTED_SHARE = 0.85;
/** A key goes into the statement from this many decisions, at these shares. */
const STATEMENT_MIN_DECISIONS = 5;
const STATEMENT_REJECTS = 0.8;
const STATEMENT_ACCEPTS = 0.85;
const STATEMENT_LINES = 8;

export const normalKey = (key: string): string => key.replace(/\s+/g, ' ').trim().toLowerCase();

/** The team's preferences from a workspace's acceptance rows (insights' `acceptance`). */
export function teamPreferences(acceptance: readonly AcceptanceRow[]): TeamPreferences {
  const merged = new Map<string, Preference>();
  for (const row of acceptance) {
    const key = normalKey(row.key);
    if (!key) continue;
    const id = `${row.by}\u0000${key}`;
    const seen = merged.get(id);
    if (seen) {
      seen.accepted += row.accepted;
      seen.rejected += row.rejected;
    } else merged.set(id, { by: row.by, key, accepted: row.accepted, rejected: row.rejected });
  }
  const rows = [...merged.values()].filter((row) => row.accepted + row.rejected > 0);
  // Every decided item has exactly one source: the source rows count each decision once.
  const sources = rows.filter((row) => row.by === 'source');
  const accepted = sources.reduce((sum, row) => sum + row.accepted, 0);
  const decisions = sources.reduce((sum, row) => sum + row.accepted + row.rejected, 0);
  const overall = decisions ? (accepted + PRIOR_WEIGHT * 0.5) / (decisions + PRIOR_WEIGHT) : 0.5;
  rows.sort(byDecisions);
  const preferences: TeamPreferences = { decisions, overall: round(overall), rows, statement: '' };
  preferences.statement = preferenceStatement(preferences);
  return preferences;
}

const byDecisions = (a: Preference, b: Preference): number =>
  b.accepted + b.rejected - (a.accepted + a.rejected) ||
  (a.by < b.by ? -1 : a.by > b.by ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** What an item is ranked by: its category, the titles of the checkpoints it cites, type and source. */
export interface RankedKind {
  category: string;
  checkpoints: readonly string[];
  type: FeedbackType;
  source: FeedbackSource;
}

export interface Ranking {
  /** 0..1, higher first; 0.5 without history. */
  rank: number;
  /** Set when the item is shown collapsed: why, in plain words. */
  collapsed?: string;
}

const logit = (p: number): number => Math.log(p / (1 - p));
const clamp = (p: number): number => Math.min(0.99, Math.max(0.01, p));
const round = (p: number): number => Math.round(p * 1000) / 1000;

/** The rank of an item of this kind, and whether (and why) it is shown collapsed. */
export function rankItem(kind: RankedKind, preferences: TeamPreferences): Ranking {
  if (preferences.decisions === 0) return { rank: 0.5 };
  const index = rowIndex(preferences);
  const base = clamp(preferences.overall);
  const smoothed = (row: Preference | undefined): number =>
    clamp(
      ((row?.accepted ?? 0) + PRIOR_WEIGHT * base) / ((row ? row.accepted + row.rejected : 0) + PRIOR_WEIGHT),
    );
  let odds = logit(base);
  const shift = (by: AcceptanceBy, keys: readonly string[]): void => {
    if (keys.length === 0) return;
    // Several checkpoints share the dimension's weight.
    for (const key of keys)
      odds +=
        (WEIGHT[by] / keys.length) *
        (logit(smoothed(index.get(`${by}\u0000${normalKey(key)}`))) - logit(base));
  };
  shift('category', [kind.category]);
  shift('checkpoint', kind.checkpoints);
  shift('type', [kind.type]);
  shift('source', [kind.source]);
  const ranking: Ranking = { rank: round(1 / (1 + Math.exp(-odds))) };
  const why = collapseReason(kind, index.get(`category\u0000${normalKey(kind.category)}`));
  if (why) ranking.collapsed = why;
  return ranking;
}

/**
 * A category the team nearly always rejects collapses its new findings, never a critical one (a
 * team that dismisses a kind of remark still sees a critical problem in full) nor a person's item.
 */
function collapseReason(kind: RankedKind, row: Preference | undefined): string | undefined {
  if (!row || kind.type === 'critical' || kind.source === 'user') return undefined;
  const decided = row.accepted + row.rejected;
  if (decided < COLLAPSE_MIN_DECISIONS || row.rejected / decided < COLLAPSE_REJECTED_SHARE) return undefined;
  return `Your team rejected ${row.rejected} of ${decided} “${row.key}” findings in this workspace.`;
}

const indexes = new WeakMap<TeamPreferences, Map<string, Preference>>();
function rowIndex(preferences: TeamPreferences): Map<string, Preference> {
  let index = indexes.get(preferences);
  if (!index) {
    index = new Map(preferences.rows.map((row) => [`${row.by}\u0000${row.key}`, row]));
    indexes.set(preferences, index);
  }
  return index;
}

const KIND_WORD: Record<AcceptanceBy, (key: string) => string> = {
  category: (key) => `“${key}” findings`,
  checkpoint: (key) => `findings on the “${key}” checkpoint`,
  type: (key) => `${key} findings`,
  source: (key) => (key === 'rules' ? 'findings of the automatic checks' : 'model findings'),
};

/**
 * A key as the prompt may carry it: letters, digits, spaces and a little punctuation, at most 40
 * characters. Categories are words a model or a person wrote (a hostile document can steer a
 * model's); nothing of them may read as an instruction or close the block they sit in.
 */
export function promptKey(key: string): string {
  const plain = key
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N} '&/-]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 40 ? plain.slice(0, 40).trimEnd() : plain;
}

/**
 * The statement the prompt carries: the keys with a clear lean (enough decisions, mostly one way),
 * the STATEMENT_LINES most decided, in a fixed order (dimension, then key); '' when none has one.
 * It names leans, not counts, so the cached prefix stays byte-identical while the team keeps
 * deciding the same way.
 */
export function preferenceStatement(preferences: Pick<TeamPreferences, 'rows'>): string {
  const leans: { by: AcceptanceBy; key: string; line: string }[] = [];
  for (const row of [...preferences.rows].sort(byDecisions)) {
    if (row.by === 'source' && row.key === 'user') continue;
    const decided = row.accepted + row.rejected;
    if (decided < STATEMENT_MIN_DECISIONS) continue;
    const key = row.by === 'category' || row.by === 'checkpoint' ? promptKey(row.key) : row.key;
    if (!key) continue;
    const what = KIND_WORD[row.by](key);
    const rejectedShare = row.rejected / decided;
    if (rejectedShare >= STATEMENT_REJECTS)
      leans.push({ by: row.by, key, line: `- It rejects most ${what}.` });
    else if (1 - rejectedShare >= STATEMENT_ACCEPTS)
      leans.push({ by: row.by, key, line: `- It accepts nearly all ${what}.` });
    if (leans.length === STATEMENT_LINES) break;
  }
  if (leans.length === 0) return '';
  const order = (a: { by: AcceptanceBy; key: string }, b: { by: AcceptanceBy; key: string }): number =>
    ACCEPTANCE_BY.indexOf(a.by) - ACCEPTANCE_BY.indexOf(b.by) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return `What this review team decided on earlier findings in its workspace:
${leans
  .sort(order)
  .map((lean) => lean.line)
  .join('\n')}
Raise a point of a kind it rejects only when it clearly matters to this document, and never leave out a critical problem because of these preferences.`;
}
