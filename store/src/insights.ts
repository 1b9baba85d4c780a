/**
 * What the workspace insights are computed from (CONTRACT 7.4): one compact summary per review,
 * read from the review's own keys and kept in memory keyed by the review's `seq`.
 *
 * Why per review, not per-workspace counters: a review's keys and its workspace's keys are in
 * different hash slots, so a counter could not be moved in the same script as the decision it
 * counts; keeping it exact would need an idempotent second write per item and decision version,
 * and a repair when one of the two writes is lost. Instead each item's CURRENT decision is read
 * from where it lives (the review's `feedback` hash), so it counts exactly once whatever happened
 * before (accepted then rejected counts as one rejection), on every instance alike.
 *
 * Cheap: every event of a review (a decision, a new item) bumps its `seq`; a model call's usage
 * may be added without an event, so a review's stamp is its `seq` and its four token totals. A
 * request reads each review's stamp (one pipeline of GET + HMGET per review, all sent in
 * parallel); only a review whose stamp moved since this server last read it is read again, in
 * one MULTI over its own slot (seq, meta, feedback, checklist, usage: a consistent view). An archived review (no keys, `seq` absent) is read once
 * from its archive object, which never changes while it stays archived; a restore brings its keys
 * back with the same `seq`, which is then read from Redis like any other.
 *
 * The summary keeps, per item, only what the aggregates and the drill-down need (category, the
 * checkpoint titles its refs cite, type, source, decision, section, times), so the later ranking
 * (acceptance rate by category, checkpoint, type and source) can use the same summaries.
 */
import {
  type ChecklistEntry,
  DEFAULT_PRICES,
  type FeedbackItem,
  type FeedbackSource,
  type FeedbackStatus,
  type FeedbackType,
  type PriceTable,
} from '@prism/core';
import type { Redis } from 'ioredis';
import type { ReviewArchive } from './archive.ts';
import { reviewRubric } from './checklist.ts';
import { parseAll } from './hash-values.ts';
import { reviewKeys } from './keys.ts';
import { type ReviewMeta, usageFrom } from './reviews.ts';

/** One item as the insights see it. */
export interface InsightItem {
  id: string;
  sectionId: string;
  category: string;
  /** The titles of the rubric checkpoints its refs cite (`#n` for a number outside the rubric). */
  checkpoints: string[];
  type: FeedbackType;
  source: FeedbackSource;
  status: FeedbackStatus;
  description: string;
  createdAt: string;
  decidedAt?: string;
}

/** What one review contributes to its workspace's insights. */
export interface ReviewInsight {
  reviewId: string;
  /** The `seq` it was read at. */
  seq: number;
  /** The stamp it was read at (`seq` and token totals; '' for an archived review). */
  stamp: string;
  archived: boolean;
  items: InsightItem[];
  /** Checkpoint titles whose checklist verdict is `fail`. */
  failed: string[];
  usage: {
    usd: number;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
  };
}

/** The review's raw keys, as Redis or its archive holds them. */
export interface RawReview {
  seq: number;
  stamp: string;
  meta: string | null | undefined;
  feedback: Record<string, string>;
  checklist: Record<string, string>;
  usage: Record<string, string>;
}

/** Builds a review's summary from its raw keys (pure). */
export function reviewInsight(
  reviewId: string,
  raw: RawReview,
  archived: boolean,
  prices: PriceTable = DEFAULT_PRICES,
): ReviewInsight {
  const meta = raw.meta ? (JSON.parse(raw.meta) as ReviewMeta) : undefined;
  const titles = new Map(reviewRubric(meta).checkpoints.map((c) => [c.n, c.title]));
  const title = (n: number): string => titles.get(n) ?? `#${n}`;
  const items = Object.values(raw.feedback).map((json): InsightItem => {
    const item = JSON.parse(json) as FeedbackItem;
    return {
      id: item.id,
      sectionId: item.sectionId,
      category: item.category,
      checkpoints: [...new Set(item.refs.map(title))],
      type: item.type,
      source: item.source,
      status: item.status,
      description: item.description,
      createdAt: item.createdAt,
      ...(item.decidedAt && item.status !== 'pending' ? { decidedAt: item.decidedAt } : {}),
    };
  });
  items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const failed = parseAll<ChecklistEntry>(raw.checklist)
    .filter((entry) => entry.verdict === 'fail')
    .map((entry) => title(entry.n));
  const usage = usageFrom(raw.usage, prices);
  return {
    reviewId,
    seq: raw.seq,
    stamp: raw.stamp,
    archived,
    items,
    failed: [...new Set(failed)],
    usage: {
      usd: usage.usd ?? 0,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
    },
  };
}

const archivedHash = (archive: ReviewArchive, name: keyof ReviewArchive['keys']): Record<string, string> => {
  const key = archive.keys[name];
  return key?.type === 'hash' ? key.value : {};
};

/** The raw keys of an archived review, from its archive object. */
export function rawFromArchive(archive: ReviewArchive): RawReview {
  const meta = archive.keys.meta;
  return {
    seq: archive.seq,
    stamp: '',
    meta: meta?.type === 'string' ? meta.value : undefined,
    feedback: archivedHash(archive, 'feedback'),
    checklist: archivedHash(archive, 'checklist'),
    usage: archivedHash(archive, 'usage'),
  };
}

/** The usage hash's token totals: part of a review's stamp (usage may be added without an event). */
const TOKEN_TOTALS = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens'] as const;

const stampOf = (seq: string | null, totals: (string | null)[]): string =>
  seq === null ? '' : [seq, ...totals.map((total) => total ?? '0')].join(':');

export interface InsightsStoreOptions {
  /** Reads an archived review's object (ArchiveStore.read). */
  readArchive: (reviewId: string) => Promise<ReviewArchive | undefined>;
  prices?: PriceTable;
  /** Summaries kept in memory (least recently used go first). */
  maxCached?: number;
}

export class InsightsStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly options: InsightsStoreOptions;
  private readonly cache = new Map<string, ReviewInsight>();

  constructor(redis: Redis, prefix: string, options: InsightsStoreOptions) {
    this.redis = redis;
    this.prefix = prefix;
    this.options = options;
  }

  /**
   * The current stamp of each review ('': no keys, archived or gone): its `seq` and token totals,
   * one pipeline on each review's own slot, all in parallel.
   */
  async stamps(reviewIds: readonly string[]): Promise<Map<string, string>> {
    const values = await Promise.all(
      reviewIds.map(async (id) => {
        const keys = reviewKeys(this.prefix, id);
        const results = await this.redis
          .pipeline()
          .get(keys.seq)
          .hmget(keys.usage, ...TOKEN_TOTALS)
          .exec();
        const [seqError, seq] = results?.[0] ?? [];
        const [usageError, usage] = results?.[1] ?? [];
        if (seqError) throw seqError;
        if (usageError) throw usageError;
        return stampOf(seq as string | null, usage as (string | null)[]);
      }),
    );
    return new Map(reviewIds.map((id, i) => [id, values[i]!]));
  }

  /**
   * Each review's summary, read again only where its `seq` moved; a review that is neither in
   * Redis nor archived (deleted a moment ago) is left out.
   */
  async reviews(reviewIds: readonly string[], stamps?: Map<string, string>): Promise<ReviewInsight[]> {
    const current = stamps ?? (await this.stamps(reviewIds));
    const out = await Promise.all(reviewIds.map((id) => this.review(id, current.get(id) ?? '')));
    return out.filter((insight): insight is ReviewInsight => insight !== undefined);
  }

  private async review(reviewId: string, stamp: string): Promise<ReviewInsight | undefined> {
    const cached = this.cache.get(reviewId);
    if (cached && (stamp === '' ? cached.archived : !cached.archived && cached.stamp === stamp)) {
      this.remember(cached);
      return cached;
    }
    let insight: ReviewInsight | undefined;
    if (stamp === '') {
      const archive = await this.options.readArchive(reviewId);
      if (archive) insight = reviewInsight(reviewId, rawFromArchive(archive), true, this.options.prices);
    } else {
      const keys = reviewKeys(this.prefix, reviewId);
      const results = await this.redis
        .multi()
        .get(keys.seq)
        .get(keys.meta)
        .hgetall(keys.feedback)
        .hgetall(keys.checklist)
        .hgetall(keys.usage)
        .exec();
      if (!results) return undefined;
      const value = <T>(i: number): T => {
        const [error, result] = results[i] ?? [];
        if (error) throw error;
        return result as T;
      };
      const seq = value<string | null>(0);
      const usage = value<Record<string, string>>(4);
      const raw: RawReview = {
        seq: Number(seq ?? 0),
        stamp: stampOf(
          seq,
          TOKEN_TOTALS.map((field) => usage[field] ?? null),
        ),
        meta: value<string | null>(1),
        feedback: value<Record<string, string>>(2),
        checklist: value<Record<string, string>>(3),
        usage,
      };
      // Archived between the two reads: its object holds it now.
      if (raw.stamp === '') return this.review(reviewId, '');
      insight = reviewInsight(reviewId, raw, false, this.options.prices);
    }
    if (insight) this.remember(insight);
    else this.cache.delete(reviewId);
    return insight;
  }

  private remember(insight: ReviewInsight): void {
    this.cache.delete(insight.reviewId);
    this.cache.set(insight.reviewId, insight);
    const max = this.options.maxCached ?? 20_000;
    if (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
  }
}
