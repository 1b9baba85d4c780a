/**
 * A workspace's insights (CONTRACT 7.4): acceptance by category, checkpoint, type and source,
 * recurring problems, trends by week, cost, and the reviews and items behind each figure.
 * The answer's types are core/src/insights.ts.
 *
 * The workspace's reviews are its library records (archived ones too: the library keeps their
 * records); each review's summary comes from the insights store (store/src/insights.ts), read
 * again only when the review's `seq` moved. The aggregates are sums over those summaries, so each
 * item's current decision counts exactly once, on every instance. `version` (the reviews and their
 * stamps, hashed) changes whenever any figure can: the HTTP layer serves it as the ETag, so a page
 * that polls gets a 304 while nothing changed.
 *
 * Definitions (exact, and what the ranking of pending items can use later):
 * - acceptance: per key, items whose current decision is accepted / rejected; rate =
 *   accepted / (accepted + rejected). Only keys with at least one decision are listed. An item
 *   citing several checkpoints counts once for each of them.
 * - patterns (recurring problems): findings are items that are not rejected and not `positive`;
 *   per key, how many such findings, in how many reviews and in how many sections (a section of
 *   a review counts once). Checkpoints also carry `failed`: the reviews whose checklist verdict
 *   for the checkpoint is `fail`.
 * - trends: per ISO week (its Monday, UTC), decisions by the week they were made and findings by
 *   the week they were made.
 * - cost: the sum of each review's priced usage.
 */
import { createHash } from 'node:crypto';
import {
  ACCEPTANCE_BY,
  type AcceptanceBy,
  type AcceptanceRow,
  type Drill,
  type Insights,
  type InsightsCost,
  PATTERN_BY,
  type PatternBy,
  type PatternRow,
  type TeamPreferences,
  type TrendRow,
  teamPreferences,
} from '@prism/core';
import type { InsightItem, InsightsStore, ReviewInsight } from '@prism/store';

/** The keys an item counts under for one dimension. */
export function keysOf(item: InsightItem, by: AcceptanceBy): string[] {
  switch (by) {
    case 'category':
      return [item.category];
    case 'checkpoint':
      return item.checkpoints;
    case 'type':
      return [item.type];
    case 'source':
      return [item.source];
  }
}

/** A finding of a recurring problem: not rejected, not praise. */
export const isFinding = (item: InsightItem): boolean =>
  item.status !== 'rejected' && item.type !== 'positive';

/** The Monday (UTC) of an ISO time's week, or undefined for an unreadable time. */
export function weekOf(iso: string): string | undefined {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return undefined;
  const day = new Date(time);
  const back = (day.getUTCDay() + 6) % 7;
  const monday = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() - back));
  return monday.toISOString().slice(0, 10);
}

const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** One review's own counts: summed into the workspace's, kept while its summary is the same object. */
interface ReviewTotals {
  acceptance: Map<string, AcceptanceRow>;
  /** Per key: findings, distinct sections of this review, whether its checklist failed it. */
  patterns: Map<string, { by: PatternBy; key: string; findings: number; sections: number; failed: boolean }>;
  trends: Map<string, TrendRow>;
  /** Acceptance of AI and rules items only: what learning reads (people's items start accepted). */
  learned: Map<string, AcceptanceRow>;
}

const totalsCache = new WeakMap<ReviewInsight, ReviewTotals>();

/** Counts one review's items (memoized per summary: a summary is replaced when its review changes). */
function reviewTotals(review: ReviewInsight): ReviewTotals {
  const cached = totalsCache.get(review);
  if (cached) return cached;
  const totals: ReviewTotals = {
    acceptance: new Map(),
    patterns: new Map(),
    trends: new Map(),
    learned: new Map(),
  };
  const count = (
    rows: Map<string, AcceptanceRow>,
    by: AcceptanceBy,
    key: string,
    status: 'accepted' | 'rejected',
  ) => {
    const id = `${by}\u0000${key}`;
    let row = rows.get(id);
    if (!row) {
      row = { by, key, accepted: 0, rejected: 0, rate: 0 };
      rows.set(id, row);
    }
    row[status] += 1;
  };
  const sections = new Map<string, Set<string>>();
  const trend = (week: string): TrendRow => {
    let row = totals.trends.get(week);
    if (!row) {
      row = { week, accepted: 0, rejected: 0, findings: 0 };
      totals.trends.set(week, row);
    }
    return row;
  };
  const pattern = (by: PatternBy, key: string) => {
    const id = `${by}\u0000${key}`;
    let entry = totals.patterns.get(id);
    if (!entry) {
      entry = { by, key, findings: 0, sections: 0, failed: false };
      totals.patterns.set(id, entry);
    }
    return entry;
  };
  for (const item of review.items) {
    if (item.status !== 'pending') {
      for (const by of ACCEPTANCE_BY) {
        for (const key of keysOf(item, by)) {
          count(totals.acceptance, by, key, item.status);
          if (item.source !== 'user') count(totals.learned, by, key, item.status);
        }
      }
      const week = item.decidedAt ? weekOf(item.decidedAt) : undefined;
      if (week) trend(week)[item.status] += 1;
    }
    if (isFinding(item)) {
      for (const by of PATTERN_BY) {
        for (const key of keysOf(item, by)) {
          const entry = pattern(by, key);
          entry.findings += 1;
          const id = `${by}\u0000${key}`;
          let set = sections.get(id);
          if (!set) {
            set = new Set();
            sections.set(id, set);
          }
          set.add(item.sectionId);
        }
      }
      const week = weekOf(item.createdAt);
      if (week) trend(week).findings += 1;
    }
  }
  for (const [id, set] of sections) totals.patterns.get(id)!.sections = set.size;
  for (const title of review.failed) pattern('checkpoint', title).failed = true;
  totalsCache.set(review, totals);
  return totals;
}

/** The workspace's decisions on AI and rules items, by key: what the team's preferences are read from. */
export function learnedAcceptance(reviews: readonly ReviewInsight[]): AcceptanceRow[] {
  const rows = new Map<string, AcceptanceRow>();
  for (const review of reviews) {
    for (const [id, own] of reviewTotals(review).learned) {
      const row = rows.get(id) ?? { by: own.by, key: own.key, accepted: 0, rejected: 0, rate: 0 };
      row.accepted += own.accepted;
      row.rejected += own.rejected;
      rows.set(id, row);
    }
  }
  for (const row of rows.values()) row.rate = row.accepted / (row.accepted + row.rejected);
  return [...rows.values()];
}

/**
 * Sums the reviews' summaries into the workspace's insights (pure). Each review's own counts are
 * computed once per summary, so after one decision only that review is counted again.
 */
export function aggregate(reviews: readonly ReviewInsight[]): Insights {
  const acceptance = new Map<string, AcceptanceRow>();
  const patterns = new Map<string, PatternRow>();
  const trends = new Map<string, TrendRow>();
  const cost: InsightsCost = {
    usd: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
  };

  for (const review of reviews) {
    const totals = reviewTotals(review);
    for (const [id, own] of totals.acceptance) {
      let row = acceptance.get(id);
      if (!row) {
        row = { by: own.by, key: own.key, accepted: 0, rejected: 0, rate: 0 };
        acceptance.set(id, row);
      }
      row.accepted += own.accepted;
      row.rejected += own.rejected;
    }
    for (const [id, own] of totals.patterns) {
      let row = patterns.get(id);
      if (!row) {
        row = { by: own.by, key: own.key, reviews: 0, findings: 0, sections: 0 };
        if (own.by === 'checkpoint') row.failed = 0;
        patterns.set(id, row);
      }
      if (own.findings > 0) row.reviews += 1;
      row.findings += own.findings;
      row.sections += own.sections;
      if (own.failed) row.failed = (row.failed ?? 0) + 1;
    }
    for (const [week, own] of totals.trends) {
      let row = trends.get(week);
      if (!row) {
        row = { week, accepted: 0, rejected: 0, findings: 0 };
        trends.set(week, row);
      }
      row.accepted += own.accepted;
      row.rejected += own.rejected;
      row.findings += own.findings;
    }
    cost.usd += review.usage.usd;
    cost.inputTokens += review.usage.inputTokens;
    cost.outputTokens += review.usage.outputTokens;
    cost.cacheReadTokens += review.usage.cacheReadTokens;
    cost.cacheWriteTokens += review.usage.cacheWriteTokens;
  }

  const order = (by: readonly string[]) => (a: { by: string; key: string }, b: { by: string; key: string }) =>
    by.indexOf(a.by) - by.indexOf(b.by);
  const acceptanceRows = [...acceptance.values()]
    .map((row) => ({ ...row, rate: row.accepted / (row.accepted + row.rejected) }))
    .sort(
      (a, b) =>
        order(ACCEPTANCE_BY)(a, b) || b.accepted + b.rejected - (a.accepted + a.rejected) || byKey(a, b),
    );
  const patternRows = [...patterns.values()].sort(
    (a, b) =>
      order(PATTERN_BY)(a, b) ||
      b.findings + (b.failed ?? 0) - (a.findings + (a.failed ?? 0)) ||
      b.reviews - a.reviews ||
      byKey(a, b),
  );
  return {
    acceptance: acceptanceRows,
    patterns: patternRows,
    trends: [...trends.values()].sort((a, b) => (a.week < b.week ? -1 : a.week > b.week ? 1 : 0)),
    cost: { ...cost, usd: Math.round(cost.usd * 1e6) / 1e6 },
    reviews: reviews.length,
  };
}

/**
 * The reviews and items behind one figure: items counted under `key` of `by` (a decided one for
 * acceptance, a finding for patterns: every item under the key is listed, with its status, so
 * the page can show either). `titles` names each review (the library records).
 */
export function drill(
  reviews: readonly ReviewInsight[],
  titles: ReadonlyMap<string, string>,
  by: AcceptanceBy,
  key: string,
): Drill {
  const out: Drill['reviews'] = [];
  for (const review of reviews) {
    const items = review.items
      .filter((item) => keysOf(item, by).includes(key))
      .map(({ id, sectionId, category, type, source, status, description }) => ({
        id,
        sectionId,
        category,
        type,
        source,
        status,
        description,
      }));
    if (items.length > 0 || (by === 'checkpoint' && review.failed.includes(key))) {
      out.push({
        id: review.reviewId,
        title: titles.get(review.reviewId) ?? review.reviewId,
        archived: review.archived,
        items,
      });
    }
  }
  out.sort((a, b) => b.items.length - a.items.length || (a.title < b.title ? -1 : a.title > b.title ? 1 : 0));
  return { by, key, reviews: out };
}

/** A short tag of the reviews and their stamps (seq and token totals): it changes whenever any figure can. */
export function insightsVersion(stamps: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const id of [...stamps.keys()].sort()) hash.update(`${id}=${stamps.get(id)}\n`);
  return hash.digest('base64url').slice(0, 22);
}

/** The library records of a workspace's reviews (archived ones included), by review id. */
export type WorkspaceRecords = (workspaceId: string) => Promise<ReadonlyMap<string, { title: string }>>;

export interface InsightsServiceDeps {
  store: InsightsStore;
  records: WorkspaceRecords;
}

/**
 * A workspace's reviews as one request sees them: their records, their stamps and the version
 * those hash to. The figures and the drill-down of a request are over exactly these reviews.
 */
export interface WorkspaceStamps {
  version: string;
  stamps: Map<string, string>;
  records: ReadonlyMap<string, { title: string }>;
}

/** Reads a workspace's reviews' summaries and sums them; the caller has checked membership. */
export class InsightsService {
  private readonly deps: InsightsServiceDeps;
  /** The last figures of each workspace and the version they are of (a few workspaces at most). */
  private readonly figuresCache = new Map<string, { version: string; insights: Insights }>();
  private readonly preferencesCache = new Map<string, { version: string; preferences: TeamPreferences }>();
  /** Preferences being read, per workspace (single flight). */
  private readonly reading = new Map<string, Promise<TeamPreferences>>();

  constructor(deps: InsightsServiceDeps) {
    this.deps = deps;
  }

  /** The workspace's reviews and their `version`, reading no review again (stamps only). */
  async version(workspaceId: string): Promise<WorkspaceStamps> {
    const records = await this.deps.records(workspaceId);
    const stamps = await this.deps.store.stamps([...records.keys()]);
    return { version: insightsVersion(stamps), stamps, records };
  }

  /** The workspace's figures at `at` (from `version()`): summed again only when its version moved. */
  async figures(workspaceId: string, at: WorkspaceStamps): Promise<Insights> {
    const cached = this.figuresCache.get(workspaceId);
    if (cached?.version === at.version) return cached.insights;
    const { reviews } = await this.read(at);
    const insights = aggregate(reviews);
    this.figuresCache.delete(workspaceId);
    this.figuresCache.set(workspaceId, { version: at.version, insights });
    if (this.figuresCache.size > 100) this.figuresCache.delete(this.figuresCache.keys().next().value!);
    return insights;
  }

  /**
   * The team's preferences now (core/src/learning.ts). Concurrent callers for one workspace share
   * one read (a cold server reads every review once, not once per analysis start).
   */
  async preferences(workspaceId: string): Promise<TeamPreferences> {
    const pending = this.reading.get(workspaceId);
    if (pending) return pending;
    const reading = this.version(workspaceId).then((at) => this.preferencesAt(workspaceId, at));
    this.reading.set(workspaceId, reading);
    try {
      return await reading;
    } finally {
      this.reading.delete(workspaceId);
    }
  }

  /** The team's preferences at `at` (from `version()`): read again only when its version moved. */
  async preferencesAt(workspaceId: string, at: WorkspaceStamps): Promise<TeamPreferences> {
    const cached = this.preferencesCache.get(workspaceId);
    if (cached?.version === at.version) return cached.preferences;
    const { reviews } = await this.read(at);
    const preferences = teamPreferences(learnedAcceptance(reviews));
    this.preferencesCache.delete(workspaceId);
    this.preferencesCache.set(workspaceId, { version: at.version, preferences });
    if (this.preferencesCache.size > 100)
      this.preferencesCache.delete(this.preferencesCache.keys().next().value!);
    return preferences;
  }

  /** The summaries of the reviews `at` names (read again only where a stamp moved), and their titles. */
  async read(at: WorkspaceStamps): Promise<{ reviews: ReviewInsight[]; titles: Map<string, string> }> {
    const titles = new Map([...at.records].map(([id, record]) => [id, record.title]));
    const reviews = await this.deps.store.reviews([...at.records.keys()], at.stamps);
    return { reviews, titles };
  }
}
