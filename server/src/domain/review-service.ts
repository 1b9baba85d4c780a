/**
 * The review service: turns people's commands into events on the review's log. Every change is
 * a compare-and-set: read the item, apply the domain rule from core, append with a guard that the
 * item is still exactly what was read. A lost race re-reads and re-decides, so two reviewers on
 * two instances can never both win. No socket or HTTP concept appears here.
 */
import {
  type Action,
  type AddFeedbackPayload,
  addReply,
  assertCan,
  assertCurrentVersion,
  assertMayModify,
  assertOpen,
  type Change,
  can,
  collapse,
  type DecidePayload,
  type DeleteFeedbackPayload,
  decide,
  type EditFeedbackPayload,
  edit,
  type FeedbackItem,
  findMentions,
  newUserItem,
  PrismError,
  type Reply,
  type ReplyPayload,
  type ResolvePayload,
  ROLES,
  type Role,
  resolveThread,
  type User,
} from '@prism/core';
import type { EventLog, Guard, MemberRecord, ReviewMeta, ReviewStore, WorkspaceRole } from '@prism/store';
import { newId } from './ids.ts';
import { reviewRole } from './workspaces.ts';

const MAX_RACES = 20;

/**
 * An access check folded into an append did not hold: the command goes the long way.
 * `notMember`: the person holds no membership that allows it (they may act through their
 * workspace), so their next commands in the review go the long way at once.
 */
class AskAgain extends Error {
  readonly notMember: boolean;
  constructor(notMember = false) {
    super('access to be checked the long way');
    this.notMember = notMember;
  }
}

/** Why a guarded append failed, for `quickly`: which of its guards did not hold. */
const askAgain = (guards: readonly Guard[], failed: number): AskAgain =>
  new AskAgain(guards[failed - 1]?.kind === 'role');

const ROLES_THAT_CAN = new Map<Action, readonly Role[]>();
/** The roles whose holders may do `action` (the access matrix of core), worked out once per action. */
function rolesThatCan(action: Action): readonly Role[] {
  let roles = ROLES_THAT_CAN.get(action);
  if (!roles) {
    roles = ROLES.filter((role) => can(role, action));
    ROLES_THAT_CAN.set(action, roles);
  }
  return roles;
}

/** People whose commands in a review go the long way (`${reviewId} ${userId}`), bounded. */
const LONG_WAY_LIMIT = 10_000;

/** What a submitted review refuses until it is reopened: changes to its findings and its conversation. */
const CHANGES_REVIEW: ReadonlySet<Action> = new Set([
  'analysis:run',
  'feedback:decide',
  'feedback:write',
  'feedback:thread',
  'chat:send',
  'checklist:override',
]);

export class ReviewService {
  readonly store: ReviewStore;
  private readonly log: EventLog;
  private readonly now: () => string;
  /** People acting in a review through their workspace: quickAccess would fail them every time. */
  private readonly longWay = new Set<string>();
  /**
   * Writes the review's pending library change now (LibraryActivity.settle): after a join, so the
   * record lists the new member's role at once. Item changes need none: lists read the progress
   * the append keeps in the review itself (store/src/activity.ts).
   */
  private readonly settle: (reviewId: string) => Promise<void>;

  /**
   * Brings an archived review back (ArchiveService.restore): true when it is in Redis afterwards.
   * Called only when a review's meta is missing, so a live review costs nothing more.
   */
  restore: (reviewId: string) => Promise<boolean> = async () => false;

  /** A person's role in a workspace (WorkspaceStore.role), for the reviews of that workspace. */
  workspaceRole: (workspaceId: string, userId: string) => Promise<WorkspaceRole | undefined> = async () =>
    undefined;

  constructor(
    store: ReviewStore,
    now: () => string = () => new Date().toISOString(),
    settle: (reviewId: string) => Promise<void> = async () => {},
  ) {
    this.store = store;
    this.log = store.log;
    this.now = now;
    this.settle = settle;
  }

  /**
   * What checking a command reads (one pipeline); an archived review is restored first. Every
   * read and join of a review passes here, so none can see an archived review as missing.
   */
  private async access(reviewId: string, userId: string, withStatus: boolean) {
    // A workspace review: the workspace role is its own command in the workspace's slot, read
    // beside the review's pipeline when the cached meta names the workspace, else after it.
    const known = this.store.cachedMeta(reviewId)?.workspaceId;
    const [found, early] = await Promise.all([
      this.readAccess(reviewId, userId, withStatus),
      known ? this.workspaceRole(known, userId) : undefined,
    ]);
    const workspaceId = found.meta?.workspaceId;
    const workspaceRole = !workspaceId
      ? undefined
      : workspaceId === known
        ? early
        : await this.workspaceRole(workspaceId, userId);
    return { ...found, workspaceRole };
  }

  private async readAccess(reviewId: string, userId: string, withStatus: boolean) {
    const found = await this.store.access(reviewId, userId, withStatus);
    if (found.meta || !(await this.restore(reviewId))) return found;
    return this.store.access(reviewId, userId, withStatus);
  }

  /** The caller's membership, after checking the review exists and the role allows `action`. */
  async authorize(
    reviewId: string,
    user: User,
    action: Action,
  ): Promise<MemberRecord & { meta: ReviewMeta }> {
    const { meta, member, lifecycle, workspaceRole } = await this.access(
      reviewId,
      user.id,
      CHANGES_REVIEW.has(action),
    );
    if (!meta) throw new PrismError('not_found', 'There is no review with this id.');
    // A workspace's members act in its reviews (admins as owners), unless the review gives more.
    const role = reviewRole(member?.role, workspaceRole);
    assertCan(role, action);
    if (lifecycle) assertOpen(lifecycle.status);
    return { user: member?.user ?? user, joinedAt: member?.joinedAt ?? meta.createdAt, role, meta };
  }

  /**
   * A command's access check as guards of its own append, so the command costs one round trip
   * instead of two: with the review's meta cached, the caller's own membership must allow
   * `action`, the review must still be at the cached revision, and (for changes) not submitted.
   * Undefined without a cached meta. A failed guard does not say why: the caller then goes the
   * long way (`authorize`), which answers exactly, or finds the person may act after all (through
   * their workspace, or a review archived meanwhile and restored).
   */
  private quickAccess(
    reviewId: string,
    userId: string,
    action: Action,
  ): { meta: ReviewMeta; guards: Guard[] } | undefined {
    const meta = this.store.cachedMeta(reviewId);
    if (!meta) return undefined;
    const revision = meta.revision ?? 1;
    const guards: Guard[] = [
      { kind: 'role', key: 'members', field: userId, roles: rolesThatCan(action) },
      // The key is absent until the first revision (store/src/revisions.ts).
      { kind: 'get', key: 'revision', expected: revision === 1 ? '' : String(revision) },
    ];
    if (CHANGES_REVIEW.has(action)) guards.push({ kind: 'status', key: 'lifecycle', not: 'submitted' });
    return { meta, guards };
  }

  /**
   * Runs `change` against the current item until the append's guard holds. `change` throws
   * (conflict, forbidden) or returns what to write; `noop` writes nothing.
   */
  private async mutate(
    reviewId: string,
    feedbackId: string,
    actor: User,
    change: (item: FeedbackItem) => Change | { kind: 'delete'; item: FeedbackItem },
    access: Guard[] = [],
  ): Promise<FeedbackItem> {
    // With access checked in the append only, nothing may be told before the append succeeds:
    // every other outcome but a lost race goes the long way (AskAgain), which answers exactly.
    const quick = access.length > 0;
    for (let attempt = 0; attempt < MAX_RACES; attempt += 1) {
      const current = await this.store.item(reviewId, feedbackId);
      if (!current) {
        if (quick) throw new AskAgain();
        throw new PrismError('not_found', 'This feedback item no longer exists.');
      }
      let result: ReturnType<typeof change>;
      try {
        result = change(current.item);
      } catch (error) {
        throw quick ? new AskAgain() : error;
      }
      if (result.kind === 'noop') {
        if (quick) throw new AskAgain();
        return result.item;
      }
      const guards: Guard[] = [
        { kind: 'hget', key: 'feedback', field: feedbackId, expected: current.raw },
        ...access,
      ];
      const appended =
        result.kind === 'delete'
          ? await this.log.append(
              { reviewId, type: 'feedback.deleted', at: this.now(), actor, data: { item: current.item } },
              { guards, writes: [{ op: 'hdel', key: 'feedback', field: feedbackId }] },
            )
          : await this.log.append(
              { reviewId, type: 'feedback.updated', at: this.now(), actor, data: { item: result.item } },
              {
                guards,
                writes: [
                  { op: 'hset', key: 'feedback', field: feedbackId, value: JSON.stringify(result.item) },
                ],
              },
            );
      // The append itself kept the review's progress and last activity (no library write waits).
      if (appended.ok) return result.item;
      // The review is gone (guard 0) or an access guard failed (2 on).
      if (quick && appended.guard !== 1) throw askAgain(guards, appended.guard);
    }
    throw new PrismError('conflict', 'This item is changing too fast; try again.');
  }

  /**
   * Runs `command` with the access check folded into its append (`quickAccess`), and, when that
   * is not possible or does not hold, the long way: `authorize`, then `command` without guards.
   */
  private async quickly<T>(
    reviewId: string,
    user: User,
    action: Action,
    command: (access: Guard[], meta: ReviewMeta | undefined) => Promise<T>,
    canBeQuick = true,
  ): Promise<T> {
    const who = `${reviewId} ${user.id}`;
    const quick =
      !canBeQuick || this.longWay.has(who) ? undefined : this.quickAccess(reviewId, user.id, action);
    if (quick) {
      try {
        return await command(quick.guards, quick.meta);
      } catch (error) {
        if (!(error instanceof AskAgain)) throw error;
        if (error.notMember) {
          if (this.longWay.size >= LONG_WAY_LIMIT) this.longWay.clear();
          this.longWay.add(who);
        }
      }
    }
    const { meta } = await this.authorize(reviewId, user, action);
    return command([], meta);
  }

  async decide(user: User, payload: DecidePayload): Promise<FeedbackItem> {
    return this.quickly(payload.reviewId, user, 'feedback:decide', (access) =>
      this.mutate(
        payload.reviewId,
        payload.feedbackId,
        user,
        (item) => decide(item, payload, user, this.now()),
        access,
      ),
    );
  }

  /**
   * A reply in the item's thread, its `@Name` mentions resolved to member ids. Same compare-and-set
   * as a decision, so a reply and a concurrent decision both land (whichever loses the race
   * re-reads); replies keep `version`, so the decider's named version stays current.
   */
  async reply(user: User, payload: ReplyPayload): Promise<Reply> {
    await this.authorize(payload.reviewId, user, 'feedback:thread');
    const members = await this.store.snapshotMembers(payload.reviewId);
    const reply: Reply = {
      id: newId('m'),
      author: user,
      text: payload.text,
      createdAt: this.now(),
      mentions: findMentions(
        payload.text,
        members.map((member) => member.user),
      ),
    };
    await this.mutate(payload.reviewId, payload.feedbackId, user, (item) => addReply(item, reply));
    return reply;
  }

  /** Resolves or reopens an item's thread (owner, reviewer); the same state is a no-op. */
  async resolve(user: User, payload: ResolvePayload): Promise<FeedbackItem> {
    await this.authorize(payload.reviewId, user, 'feedback:thread');
    return this.mutate(payload.reviewId, payload.feedbackId, user, (item) =>
      resolveThread(item, payload.resolved),
    );
  }

  async addFeedback(user: User, payload: AddFeedbackPayload): Promise<FeedbackItem> {
    // Feedback attached to a finding or quoting the text reads the review first: the long way.
    const plain = !payload.linkedTo && !payload.quote;
    return this.quickly(
      payload.reviewId,
      user,
      'feedback:write',
      async (access, meta) => {
        const quick = access.length > 0;
        if (!meta?.sections.some((section) => section.id === payload.sectionId)) {
          if (quick) throw new AskAgain();
          throw new PrismError('not_found', 'This review has no such section.');
        }
        if (payload.linkedTo && !(await this.store.item(payload.reviewId, payload.linkedTo))) {
          throw new PrismError(
            'not_found',
            'The finding this feedback is attached to does not exist in this review.',
          );
        }
        if (payload.quote) await this.assertQuote(payload.reviewId, payload.sectionId, payload.quote);
        const item = newUserItem(payload, user, newId('f'), this.now());
        const guards: Guard[] = [{ kind: 'hget', key: 'feedback', field: item.id, expected: '' }, ...access];
        const appended = await this.log.append(
          {
            reviewId: payload.reviewId,
            type: 'feedback.added',
            at: item.createdAt,
            actor: user,
            data: { item },
          },
          { guards, writes: [{ op: 'hset', key: 'feedback', field: item.id, value: JSON.stringify(item) }] },
        );
        if (appended.ok) return item;
        if (quick) throw askAgain(guards, appended.guard);
        throw new PrismError('conflict', 'Could not add the feedback; try again.');
      },
      plain,
    );
  }

  async editFeedback(user: User, payload: EditFeedbackPayload): Promise<FeedbackItem> {
    const { role } = await this.authorize(payload.reviewId, user, 'feedback:write');
    const existing = await this.store.item(payload.reviewId, payload.feedbackId);
    if (existing && payload.quote) {
      await this.assertQuote(payload.reviewId, existing.item.sectionId, payload.quote);
    }
    return this.mutate(payload.reviewId, payload.feedbackId, user, (item) => {
      assertMayModify(item, user, role);
      return edit(item, payload);
    });
  }

  async deleteFeedback(user: User, payload: DeleteFeedbackPayload): Promise<void> {
    const { role } = await this.authorize(payload.reviewId, user, 'feedback:write');
    await this.mutate(payload.reviewId, payload.feedbackId, user, (item) => {
      assertMayModify(item, user, role);
      assertCurrentVersion(item, payload.version);
      return { kind: 'delete', item };
    });
  }

  /** A quote must be verbatim text of its section (whitespace collapsed), so the export can anchor it. */
  private async assertQuote(reviewId: string, sectionId: string, quote: string): Promise<void> {
    const sections = await this.store.sections(reviewId);
    const section = sections.find((s) => s.id === sectionId);
    const needle = collapse(quote);
    if (!section || !needle || !section.text.split('\n').some((line) => collapse(line).includes(needle))) {
      throw new PrismError(
        'invalid',
        'The quote must be text from one paragraph or table cell of its section.',
      );
    }
  }

  /** Accepting an invite keeps the higher of the member's current and invited roles. */
  async join(reviewId: string, user: User, role: Role): Promise<Role> {
    // The review must exist (restored if archived); the workspace role plays no part in a join.
    if (!(await this.readAccess(reviewId, user.id, false)).meta)
      throw new PrismError('not_found', 'This review no longer exists.');
    const held = await this.store.addMember(reviewId, user, role);
    await this.settle(reviewId);
    return held;
  }
}
