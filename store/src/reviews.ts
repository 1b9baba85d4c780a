/**
 * Reading and creating reviews in Redis. Every durable change after creation goes through the
 * event log's append; this module only reads state and writes what no client can see yet.
 */
import {
  byCreation,
  type ChatMessage,
  computeStats,
  DEFAULT_PRICES,
  type Failure,
  type FeedbackItem,
  higherRole,
  type Member,
  type ModelTokens,
  type PriceTable,
  priceUsage,
  type ReviewSnapshot,
  type ReviewStats,
  type ReviewSummary,
  type Role,
  type Rubric,
  type Section,
  type SectionAnchor,
  type SectionRef,
  type SectionState,
  type TeamPreferences,
  TeamPreferencesSchema,
  type Usage,
  type User,
  withRevision,
  withThread,
} from '@prism/core';
import type { Redis } from 'ioredis';
import { readAiInfo } from './ai-info.ts';
import {
  type BusySection,
  busySections,
  cancelSections,
  type QueuedSection,
  queueSections,
  type SectionJob,
} from './analysis.ts';
import { postChatMessages, stopChatReply } from './chat.ts';
import { ChecklistStore, checklistFrom, reviewRubric } from './checklist.ts';
import type { EventLog, Write } from './event-log.ts';
import { parseAll } from './hash-values.ts';
import { userReviewsKey } from './keys.ts';
import {
  lastEventAt,
  parseLifecycle,
  type ReviewState,
  reviewState,
  reviewStates,
  type StoredLifecycle,
} from './lifecycle.ts';
import { writeIfPresent } from './present.ts';
import { type RevisionRecord, revisionsOf } from './revisions.ts';

/** What never changes after upload: kept apart so servers can cache it. */
export interface ReviewMeta {
  id: string;
  title: string;
  createdAt: string;
  owner: User;
  sections: SectionRef[];
  original: { key: string; name: string; bytes: number };
  guidelines?: { key: string; name: string; bytes: number; text: string };
  /** Where each section starts in the original word/document.xml, for anchoring exported comments. */
  anchors?: SectionAnchor[];
  /** The document's latest revision (absent: 1); `original`, `sections` and `anchors` are its own. */
  revision?: number;
  /** Every revision, oldest first, once a second one was uploaded (CONTRACT 7.5). */
  revisions?: RevisionRecord[];
  /** The rubric the review is judged against (kept at upload); absent: the built-in default. */
  rubric?: Rubric;
  /** The workspace the review was uploaded into (CONTRACT 7.2); absent for a person's own review. */
  workspaceId?: string;
}

export interface MemberRecord {
  user: User;
  role: Role;
  joinedAt: string;
}

/** A feedback item and its exact stored serialization (the guard of a compare-and-set append). */
export interface StoredItem {
  item: FeedbackItem;
  raw: string;
}

export interface SectionStatusRecord {
  status: SectionState['status'];
  model?: string;
  error?: SectionState['error'];
  usage?: SectionState['usage'];
  note?: SectionState['note'];
}

/** A small LRU: meta and sections of a review never change, and section HTML can be large. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export class ReviewStore {
  private readonly metaCache = new Lru<ReviewMeta>(500);
  private readonly sectionCache = new Lru<Section[]>(50);

  private readonly redis: Redis;
  readonly log: EventLog;

  /** The checklist's verdicts and overrides (CONTRACT 7.4). */
  readonly checklist: ChecklistStore;

  /** What model tokens cost (BEDROCK_PRICES): the snapshot's `stats.usage.usd`. */
  private readonly prices: PriceTable;

  constructor(redis: Redis, log: EventLog, options: { prices?: PriceTable } = {}) {
    this.redis = redis;
    this.log = log;
    this.prices = options.prices ?? DEFAULT_PRICES;
    this.checklist = new ChecklistStore(redis, log);
  }

  get prefix(): string {
    return this.log.prefix;
  }

  /** Stores a new review and makes its owner the first member (event seq 1). */
  async create(meta: ReviewMeta, sections: Section[]): Promise<void> {
    const keys = this.log.keys(meta.id);
    const sectionFields: string[] = [];
    const statusFields: string[] = [];
    for (const section of sections) {
      sectionFields.push(section.id, JSON.stringify(section));
      statusFields.push(section.id, JSON.stringify({ status: 'idle' } satisfies SectionStatusRecord));
    }
    await this.redis
      .multi()
      .set(keys.meta, JSON.stringify(meta))
      .hset(keys.sections, ...sectionFields)
      .hset(keys.status, ...statusFields)
      // No items yet; the append keeps these from here on (event-log.ts).
      .hset(keys.activity, 'decided', 0, 'total', 0, 'updatedAt', meta.createdAt)
      .exec();
    // At the review's creation time, so a new review's last activity (`updatedAt`) is its `createdAt`.
    await this.addMember(meta.id, meta.owner, 'owner', meta.createdAt);
  }

  /** Adds a member (or raises their role) with a `member.joined` event. Returns the role they hold. */
  async addMember(
    reviewId: string,
    user: User,
    role: Role,
    at: string = new Date().toISOString(),
  ): Promise<Role> {
    const record: MemberRecord = { user, role, joinedAt: at };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.redis.hget(this.log.keys(reviewId).members, user.id);
      if (current) {
        const existing = JSON.parse(current) as MemberRecord;
        if (higherRole(existing.role, role) === existing.role) return existing.role;
        record.joinedAt = existing.joinedAt;
      }
      const result = await this.log.append(
        { reviewId, type: 'member.joined', at: record.joinedAt, actor: user, data: { user, role } },
        {
          guards: [{ kind: 'hget', key: 'members', field: user.id, expected: current ?? '' }],
          writes: [{ op: 'hset', key: 'members', field: user.id, value: JSON.stringify(record) }],
        },
      );
      if (result.ok) {
        await this.redis.sadd(userReviewsKey(this.prefix, user.id), reviewId);
        return role;
      }
    }
    throw new Error('membership kept changing; try again');
  }

  /** The review's latest revision number (1 until a revised document is uploaded). */
  async currentRevision(reviewId: string): Promise<number> {
    return Number((await this.redis.get(this.log.keys(reviewId).revision)) ?? 1);
  }

  /**
   * Forgets this process's cached meta and sections of a review revised since (meta and sections
   * change only with a new revision, written with the `revision` key in one append).
   */
  private async dropStale(reviewId: string): Promise<void> {
    const cached = this.metaCache.get(reviewId);
    if (!cached && !this.sectionCache.get(reviewId)) return;
    if (cached && (cached.revision ?? 1) === (await this.currentRevision(reviewId))) return;
    this.metaCache.delete(reviewId);
    this.sectionCache.delete(reviewId);
  }

  /** The meta this server has cached, without asking Redis (undefined when it has none). */
  cachedMeta(reviewId: string): ReviewMeta | undefined {
    return this.metaCache.get(reviewId);
  }

  async meta(reviewId: string): Promise<ReviewMeta | undefined> {
    await this.dropStale(reviewId);
    const cached = this.metaCache.get(reviewId);
    if (cached) return cached;
    return this.cacheMeta(reviewId, await this.redis.get(this.log.keys(reviewId).meta));
  }

  /** Parses a stored meta and keeps it in the cache (it never changes). */
  private cacheMeta(reviewId: string, raw: string | null): ReviewMeta | undefined {
    if (!raw) return undefined;
    const meta = JSON.parse(raw) as ReviewMeta;
    this.metaCache.set(reviewId, meta);
    return meta;
  }

  async sections(reviewId: string): Promise<Section[]> {
    await this.dropStale(reviewId);
    const cached = this.sectionCache.get(reviewId);
    if (cached) return cached;
    const sections = parseAll<Section>(await this.redis.hgetall(this.log.keys(reviewId).sections)).sort(
      (a, b) => a.index - b.index,
    );
    if (sections.length > 0) this.sectionCache.set(reviewId, sections);
    return sections;
  }

  async snapshotMembers(reviewId: string): Promise<MemberRecord[]> {
    return parseAll<MemberRecord>(await this.redis.hgetall(this.log.keys(reviewId).members));
  }

  /**
   * What checking a command reads, in one pipeline (one round trip, one write): the review's meta
   * (unless cached: then whether it still exists, and its revision, which says whether the cache
   * is stale), the user's membership and, with `withStatus`, the review's status record.
   */
  async access(
    reviewId: string,
    userId: string,
    withStatus: boolean,
  ): Promise<{ meta?: ReviewMeta; member?: MemberRecord; lifecycle?: StoredLifecycle }> {
    const keys = this.log.keys(reviewId);
    const cached = this.metaCache.get(reviewId);
    // Without a cached meta the meta is read afresh: cached sections may be of an older revision.
    if (!cached) this.sectionCache.delete(reviewId);
    const pipeline = this.redis.pipeline().hget(keys.members, userId);
    // A cached meta still needs its key to be there: an archived or deleted review has none.
    if (cached) pipeline.exists(keys.meta).get(keys.revision);
    else pipeline.get(keys.meta);
    if (withStatus) pipeline.get(keys.lifecycle);
    const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value as string | number | null;
    }) as (string | null)[];
    const [member, ...rest] = replies;
    const stored = rest.shift() ?? null;
    if (cached && Number(rest.shift() ?? 1) !== (cached.revision ?? 1)) {
      // Revised since it was cached (dropStale's test, read in the same round trip): read again.
      this.metaCache.delete(reviewId);
      this.sectionCache.delete(reviewId);
      return this.access(reviewId, userId, withStatus);
    }
    if (cached && Number(stored) === 0) this.metaCache.delete(reviewId);
    const meta = cached ? (Number(stored) === 1 ? cached : undefined) : this.cacheMeta(reviewId, stored);
    return {
      ...(meta ? { meta } : {}),
      ...(member ? { member: JSON.parse(member) as MemberRecord } : {}),
      ...(withStatus ? { lifecycle: parseLifecycle(rest.shift()) } : {}),
    };
  }

  /** The stored item and its exact serialization (the guard of a compare-and-set append). */
  async item(reviewId: string, feedbackId: string): Promise<StoredItem | undefined> {
    const raw = await this.redis.hget(this.log.keys(reviewId).feedback, feedbackId);
    return raw ? { item: JSON.parse(raw) as FeedbackItem, raw } : undefined;
  }

  /** Every feedback item of the review, each with its exact serialization (one HGETALL). */
  async feedbackItems(reviewId: string): Promise<StoredItem[]> {
    const hash = await this.redis.hgetall(this.log.keys(reviewId).feedback);
    return Object.values(hash).map((raw) => ({ item: JSON.parse(raw) as FeedbackItem, raw }));
  }

  /**
   * Whether the user owns at least one review (who may run diagnostics): the user's review set,
   * then one pipeline of their memberships, as `summaries` reads them.
   */
  async ownsAnyReview(userId: string): Promise<boolean> {
    const ids = await this.redis.smembers(userReviewsKey(this.prefix, userId));
    if (ids.length === 0) return false;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.log.keys(id).members, userId);
    const replies = (await pipeline.exec()) ?? [];
    return replies.some(
      ([error, raw]) =>
        !error && typeof raw === 'string' && (JSON.parse(raw) as MemberRecord).role === 'owner',
    );
  }

  /** The reviews the user belongs to, newest first: the id set, then one pipeline for all of them. */
  async summaries(userId: string): Promise<ReviewSummary[]> {
    const ids = await this.redis.smembers(userReviewsKey(this.prefix, userId));
    if (ids.length === 0) return [];
    const metas = ids.map((id) => this.metaCache.get(id));
    const uncached = ids.flatMap((_, i) => (metas[i] ? [] : [i]));
    // A pipeline, not MULTI: each review is its own hash slot, and the list need not be atomic.
    // Replies: every membership in `ids` order, then the meta of each uncached review.
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.log.keys(id).members, userId);
    for (const i of uncached) pipeline.get(this.log.keys(ids[i]!).meta);
    const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value as string | null;
    });
    uncached.forEach((i, n) => {
      metas[i] = this.cacheMeta(ids[i]!, replies[ids.length + n] ?? null);
    });
    const listed = metas.flatMap((meta, i) => {
      const member = replies[i];
      return meta && member ? [{ meta, role: (JSON.parse(member) as MemberRecord).role }] : [];
    });
    const states = await reviewStates(
      this.redis,
      this.log,
      listed.map(({ meta }) => meta),
    );
    const summaries = listed.map(({ meta, role }) => summary(meta, role, states.get(meta.id)));
    return summaries.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  /**
   * Everything a client needs to render the review, with the `seq` of the last event it includes;
   * the mutable parts are read in one MULTI so they agree with that `seq`.
   */
  async snapshot(
    reviewId: string,
    role: Role,
    online: ReadonlySet<string> = new Set(),
  ): Promise<ReviewSnapshot> {
    const revision = await this.currentRevision(reviewId);
    const meta = await this.meta(reviewId);
    if (!meta) throw new Error(`review ${reviewId} has no meta`);
    const sections = await this.sections(reviewId);
    const keys = this.log.keys(reviewId);
    const replies = (await this.redis
      .multi()
      .get(keys.seq)
      .hgetall(keys.status)
      .hgetall(keys.members)
      .hgetall(keys.feedback)
      .hgetall(keys.chat)
      .hgetall(keys.partials)
      .hgetall(keys.usage)
      .get(keys.lifecycle)
      .xrevrange(keys.log, '+', '-', 'COUNT', 1)
      .hgetall(keys.checklist)
      .exec()) as [null, unknown][];
    const [seqRaw, status, members, feedback, chat, partials, usage, lifecycle, last, checklist] =
      replies.map(([, value]) => value) as [
        string | null,
        Record<string, string>,
        Record<string, string>,
        Record<string, string>,
        Record<string, string>,
        Record<string, string>,
        Record<string, string>,
        string | null,
        [string, string[]][],
        Record<string, string>,
      ];

    const states: SectionState[] = sections.map((section) => {
      const record: SectionStatusRecord = status[section.id]
        ? JSON.parse(status[section.id]!)
        : { status: 'idle' };
      return { ...section, ...record };
    });
    // Items stored before threads existed read with no replies, unresolved.
    // A revision landed while this was read: read again, so sections and items are of one revision.
    if ((await this.currentRevision(reviewId)) !== revision || (meta.revision ?? 1) !== revision) {
      return this.snapshot(reviewId, role, online);
    }
    const revisions = revisionsOf(meta);
    // Items of a revised review read with `revision` and `outdated` filled; a review never revised
    // reads them as stored (absent: revision 1, not outdated), the same as its events carry them.
    const items = parseAll<FeedbackItem>(feedback)
      .map((item) => (revisions.length > 1 ? withRevision(withThread(item), revisions) : withThread(item)))
      .sort(byCreation);
    const messages = parseAll<ChatMessage>(chat)
      .map((message) => withPartial(message, partials))
      .sort(byCreation);
    // In the order they joined, whatever order Redis keeps the hash in (a restored one differs).
    const memberList: Member[] = parseAll<MemberRecord>(members)
      .sort((x, y) => x.joinedAt.localeCompare(y.joinedAt) || x.user.id.localeCompare(y.user.id))
      .map((m) => ({
        user: m.user,
        role: m.role,
        online: online.has(m.user.id),
      }));
    // Outside the review's hash slot, so not in the MULTI; it changes only when the fleet does.
    const ai = await readAiInfo(this.redis, this.prefix).catch(() => null);
    return {
      ...summary(meta, role, reviewState(lifecycle, items, lastEventAt(last), meta.createdAt)),
      seq: Number(seqRaw ?? 0),
      sections: states,
      feedback: items,
      chat: messages,
      members: memberList,
      stats: computeStats(items, usageFrom(usage, this.prices)),
      revision,
      revisions,
      ...(ai ? { ai } : {}),
      rubric: reviewRubric(meta),
      checklist: checklistFrom(checklist ?? {}),
    };
  }

  /** The review's status record and its exact serialization (the guard of a status change). */
  async lifecycle(reviewId: string): Promise<StoredLifecycle> {
    return parseLifecycle(await this.redis.get(this.log.keys(reviewId).lifecycle));
  }

  /** Tokens the review has spent so far, and on which models. */
  async usage(reviewId: string): Promise<ReviewUsage> {
    return usageFrom(await this.redis.hgetall(this.log.keys(reviewId).usage));
  }

  /** Chat messages in order (the history a reply is written from). */
  async chat(reviewId: string): Promise<ChatMessage[]> {
    return parseAll<ChatMessage>(await this.redis.hgetall(this.log.keys(reviewId).chat)).sort(byCreation);
  }

  async setJobField(reviewId: string, field: string, value: string): Promise<void> {
    await writeIfPresent(this.redis, this.log.keys(reviewId), 'jobs', 'hset', [field, value]);
  }

  /**
   * The team's preferences its analysis last started with; none when no history was taken, or
   * when what is stored is not their shape (then the analysis runs as without history).
   */
  async preferences(reviewId: string): Promise<TeamPreferences | undefined> {
    const raw = await this.redis.hget(this.log.keys(reviewId).learning, 'preferences');
    if (!raw) return undefined;
    try {
      const parsed = TeamPreferencesSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps the team's preferences with the review (while it exists), for its analysis to use. */
  async setPreferences(reviewId: string, preferences: TeamPreferences): Promise<void> {
    await writeIfPresent(this.redis, this.log.keys(reviewId), 'learning', 'hset', [
      'preferences',
      JSON.stringify(preferences),
    ]);
  }

  /** Every section's status record and the `jobs` hash (fences and job ids), read together. */
  async analysisState(
    reviewId: string,
  ): Promise<{ statuses: Record<string, SectionStatusRecord>; jobs: Record<string, string> }> {
    const keys = this.log.keys(reviewId);
    const [[statusError, status], [jobsError, jobs]] = (await this.redis
      .multi()
      .hgetall(keys.status)
      .hgetall(keys.jobs)
      .exec()) as [[Error | null, Record<string, string>], [Error | null, Record<string, string>]];
    if (statusError) throw statusError;
    if (jobsError) throw jobsError;
    const statuses: Record<string, SectionStatusRecord> = {};
    for (const [sectionId, raw] of Object.entries(status)) statuses[sectionId] = JSON.parse(raw);
    return { statuses, jobs };
  }

  /**
   * Adds a model call's usage to the review's totals without an event (a background pass that
   * may add no item); the next snapshot shows it.
   */
  async addUsage(reviewId: string, model: string, usage: Usage): Promise<void> {
    const pairs = usageWrites(model, usage).flatMap((write) =>
      write.op === 'hincrby' ? [write.field, write.by] : [],
    );
    await writeIfPresent(this.redis, this.log.keys(reviewId), 'usage', 'hincrby', pairs);
  }

  /** Sets a `jobs` field only if it is absent (HSETNX): true for the one caller that set it. */
  async claimJobField(reviewId: string, field: string, value: string): Promise<boolean> {
    return (
      (await writeIfPresent(this.redis, this.log.keys(reviewId), 'jobs', 'hsetnx', [field, value])) === 1
    );
  }

  /**
   * Marks sections `queued` under new job ids, a few round trips whatever their number; sections
   * already queued or analyzing keep their job (`queued: false`). See `store/src/analysis.ts`.
   */
  async queueSections(
    reviewId: string,
    sectionIds: readonly string[],
    actor: User,
    jobId: (sectionId: string, run: number) => string,
  ): Promise<QueuedSection[]> {
    return queueSections(this.redis, this.log, reviewId, sectionIds, actor, jobId);
  }

  /** The sections among `sectionIds` that are queued or analyzing, with their job ids. */
  async busySections(reviewId: string, sectionIds: readonly string[]): Promise<BusySection[]> {
    return busySections(this.redis, this.log, reviewId, sectionIds);
  }

  /** Marks `cancelled` the busy sections whose (removed) jobs are unchanged since; returns those. */
  async cancelSections(
    reviewId: string,
    sections: readonly BusySection[],
    actor: User,
  ): Promise<SectionJob[]> {
    return cancelSections(this.log, reviewId, sections, actor);
  }

  /**
   * One chat message as a joiner would see it: a reply still streaming carries the text its
   * deltas appended so far and the index of the last one (what a new attempt must not repeat).
   */
  async chatMessage(reviewId: string, messageId: string): Promise<ChatMessage | undefined> {
    const keys = this.log.keys(reviewId);
    const [[, raw], [, partials]] = (await this.redis
      .multi()
      .hget(keys.chat, messageId)
      .hmget(keys.partials, messageId, partialIndexField(messageId))
      .exec()) as [[null, string | null], [null, (string | null)[]]];
    if (!raw) return undefined;
    const [text, lastIndex] = partials;
    const message = JSON.parse(raw) as ChatMessage;
    return withPartial(message, {
      ...(text != null ? { [messageId]: text } : {}),
      ...(lastIndex != null ? { [partialIndexField(messageId)]: lastIndex } : {}),
    });
  }

  /** Posts chat messages (a question and its reply's placeholder) in order, in one round trip. */
  async postChatMessages(reviewId: string, messages: ChatMessage[]): Promise<void> {
    await postChatMessages(this.log, reviewId, messages);
  }

  /**
   * Ends a reply no worker holds with `chat.failed`, keeping the text already streamed; false
   * when it was no longer streaming.
   */
  async stopChatReply(reviewId: string, replyId: string, actor: User, error: Failure): Promise<boolean> {
    return stopChatReply(this.redis, this.log, reviewId, replyId, actor, error);
  }
}

export type ReviewUsage = ReviewStats['usage'];

/** Per-model token fields of the `usage` hash: `<kind>:<model id>` (ids may hold colons). */
const TOKEN_FIELDS = {
  input: 'inputTokens',
  output: 'outputTokens',
  cacheRead: 'cacheReadTokens',
  cacheWrite: 'cacheWriteTokens',
} as const satisfies Record<string, keyof ModelTokens>;

/**
 * The `usage` hash: token totals, `model:<id>` call counts and `<kind>:<id>` tokens per model, all
 * written by log appends; `usd` prices each model's tokens.
 */
export function usageFrom(hash: Record<string, string>, prices: PriceTable = DEFAULT_PRICES): ReviewUsage {
  const models: Record<string, number> = {};
  const byModel: Record<string, ModelTokens> = {};
  for (const [field, value] of Object.entries(hash)) {
    const colon = field.indexOf(':');
    if (colon < 0) continue;
    const kind = field.slice(0, colon);
    const model = field.slice(colon + 1);
    if (kind === 'model') models[model] = Number(value);
    else if (kind in TOKEN_FIELDS) {
      byModel[model] ??= { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
      byModel[model][TOKEN_FIELDS[kind as keyof typeof TOKEN_FIELDS]] = Number(value);
    }
  }
  const totals: ModelTokens = {
    inputTokens: Number(hash.inputTokens ?? 0),
    outputTokens: Number(hash.outputTokens ?? 0),
    cacheReadTokens: Number(hash.cacheReadTokens ?? 0),
    cacheWriteTokens: Number(hash.cacheWriteTokens ?? 0),
  };
  attributeUnsplit(totals, byModel, models);
  const { usd, unpriced } = priceUsage(prices, byModel);
  return { ...totals, models, usd, ...(unpriced.length > 0 ? { unpriced } : {}) };
}

/**
 * Tokens recorded before usage was kept per model (totals only) go to the model with the most
 * calls, so an older review still shows a cost, close to the real one.
 */
function attributeUnsplit(
  totals: ModelTokens,
  byModel: Record<string, ModelTokens>,
  calls: Record<string, number>,
): void {
  const busiest = Object.entries(calls).sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!busiest) return;
  for (const field of Object.values(TOKEN_FIELDS)) {
    let split = 0;
    for (const tokens of Object.values(byModel)) split += tokens[field];
    const rest = totals[field] - split;
    if (rest <= 0) continue;
    byModel[busiest] ??= { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    byModel[busiest][field] += rest;
  }
}

/** The writes that add one model call's usage to the review's totals (applied with its event). */
export function usageWrites(model: string, usage: Usage): Write[] {
  return [
    { op: 'hincrby', key: 'usage', field: 'inputTokens', by: usage.inputTokens },
    { op: 'hincrby', key: 'usage', field: 'outputTokens', by: usage.outputTokens },
    { op: 'hincrby', key: 'usage', field: 'cacheReadTokens', by: usage.cacheReadTokens ?? 0 },
    { op: 'hincrby', key: 'usage', field: 'cacheWriteTokens', by: usage.cacheWriteTokens ?? 0 },
    { op: 'hincrby', key: 'usage', field: `model:${model}`, by: 1 },
    // The same tokens per model, so each is priced at its own rate (CONTRACT 7.4 cost).
    ...(Object.entries(TOKEN_FIELDS) as [string, keyof ModelTokens][])
      .map(([kind, key]) => ({ field: `${kind}:${model}`, by: usage[key] ?? 0 }))
      .filter(({ by }) => by > 0)
      .map(({ field, by }): Write => ({ op: 'hincrby', key: 'usage', field, by })),
  ];
}

/** Tokens that count against REVIEW_TOKEN_BUDGET (cache reads are cheap but still tokens). */
export const spentTokens = (usage: ReviewUsage): number =>
  usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;

/** A reply still streaming is stored as its message plus text appended delta by delta. */
function withPartial(message: ChatMessage, partials: Record<string, string>): ChatMessage {
  if (message.status !== 'streaming') return message;
  // Each `chat.delta` append also appends its text to `partials[id]` and sets `partials[id#i]`.
  const text = partials[message.id];
  const lastIndex = partials[partialIndexField(message.id)];
  if (text === undefined || lastIndex === undefined) return message;
  return { ...message, text, lastIndex: Number(lastIndex) };
}

/** The `partials` field holding the index of the last delta of a streaming reply. */
export const partialIndexField = (messageId: string): string => `${messageId}#i`;

/** A review as lists show it; without `state`, as it is at upload (open, nothing found yet). */
export const summary = (meta: ReviewMeta, role: Role, state?: ReviewState): ReviewSummary => ({
  id: meta.id,
  title: meta.title,
  createdAt: meta.createdAt,
  owner: meta.owner,
  role,
  sections: meta.sections,
  ...(meta.workspaceId ? { workspaceId: meta.workspaceId } : {}),
  ...(state ?? { status: 'open', progress: { decided: 0, total: 0 }, updatedAt: meta.createdAt }),
});
