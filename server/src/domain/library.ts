/**
 * The review library (CONTRACT 7.3): a workspace's reviews, or a person's own, from the library
 * records (store/src/library.ts) through each server's cached index (library-index.ts), filtered
 * by words and status, newest activity first. Records stay after a review is archived, so an
 * archived review is still listed and found.
 */
import { type LibraryQuery, PrismError, type ReviewSummary, type Role, type User } from '@prism/core';
import {
  type ActivityStore,
  type LibraryRecord,
  type LibraryStore,
  libraryHome,
  type ReviewStore,
  type WorkspaceRole,
} from '@prism/store';
import type { LibraryIndex } from './library-index.ts';
import { searchText } from './library-text.ts';
import { reviewRole } from './workspaces.ts';

export interface LibraryServiceDeps {
  library: LibraryStore;
  index: LibraryIndex;
  reviews: ReviewStore;
  /** The caller's role in a workspace, or undefined for a non-member (the workspace store). */
  workspaceRole: (workspaceId: string, userId: string) => Promise<WorkspaceRole | undefined>;
  /** Reviews' live progress and last activity, from their own keys (store/src/activity.ts). */
  activity: Pick<ActivityStore, 'readMany'>;
  /** Who is in each review's room now, across servers (presence). */
  here: (reviewIds: readonly string[]) => Promise<Map<string, User[]>>;
}

export class LibraryService {
  private readonly deps: LibraryServiceDeps;
  /** Each record's summary JSON, open at its end, without what each request adds (see `listJson`). */
  private readonly json = new WeakMap<LibraryRecord, string>();

  constructor(deps: LibraryServiceDeps) {
    this.deps = deps;
  }

  /**
   * The library as the JSON body `{reviews: [...]}` (a ReviewSummary each). Each record's summary is
   * serialized once and kept while the record is unchanged (the cache holds the record objects the
   * index holds); a request only adds the review's live progress and last activity, the caller's
   * role and the people in each room. A thousand summaries with their sections are megabytes of
   * JSON: serializing them again on every request was most of its time.
   */
  async listJson(user: User, query: LibraryQuery): Promise<string> {
    const { found, here } = await this.find(user, query);
    const parts = found.map(({ record, role, progress, updatedAt }) => {
      let json = this.json.get(record);
      if (json === undefined) {
        json = JSON.stringify(recordSummary(record)).slice(0, -1);
        this.json.set(record, json);
      }
      const people = here.get(record.id);
      return `${json},"progress":${JSON.stringify(progress)},"updatedAt":${JSON.stringify(updatedAt)},"role":${JSON.stringify(role)}${people?.length ? `,"here":${JSON.stringify(people)}` : ''}}`;
    });
    return `{"reviews":[${parts.join(',')}]}`;
  }

  private async find(
    user: User,
    query: LibraryQuery,
  ): Promise<{ found: Listed[]; here: Map<string, User[]> }> {
    const { workspaceId, q, status } = query;
    let homes: Map<string, Set<string> | undefined>;
    let workspaceRole: WorkspaceRole | undefined;
    if (workspaceId) {
      workspaceRole = await this.deps.workspaceRole(workspaceId, user.id);
      if (!workspaceRole) throw new PrismError('forbidden', 'You are not a member of this workspace.');
      homes = new Map([[`ws:${workspaceId}`, undefined]]);
    } else {
      homes = await this.personalHomes(user.id);
    }
    const matched: { record: LibraryRecord; role: Role }[] = [];
    await Promise.all(
      [...homes].map(async ([home, only]) => {
        const { ids, records } = q?.trim()
          ? await this.deps.index.search(home, q)
          : { ids: undefined, records: await this.deps.index.records(home) };
        for (const [id, record] of records) {
          if (only && !only.has(id)) continue;
          if (ids && !ids.has(id)) continue;
          if (status && record.status !== status) continue;
          // A listed review the record has no role for yet (a join a moment ago): the least role.
          matched.push({ record, role: reviewRole(record.members[user.id], workspaceRole) ?? 'viewer' });
        }
      }),
    );
    // Progress and last activity as the review holds them now (a record follows by up to 250 ms);
    // an archived review has no keys in Redis, and its record kept what it had.
    const live = await this.deps.activity.readMany(
      matched.filter(({ record }) => record.status !== 'archived').map(({ record }) => record.id),
    );
    const found = matched.map(({ record, role }): Listed => {
      const now = live.get(record.id);
      const at = now?.updatedAt;
      return {
        record,
        role,
        progress: now?.progress ?? record.progress,
        updatedAt: at && at > record.updatedAt ? at : record.updatedAt,
      };
    });
    // Last activity first; reviews untouched since upload, newest first.
    const newest = (x: string, y: string): number => (x < y ? 1 : x > y ? -1 : 0);
    found.sort((a, b) => newest(a.updatedAt, b.updatedAt) || newest(a.record.createdAt, b.record.createdAt));
    const here =
      found.length > 0
        ? await this.deps.here(found.map(({ record }) => record.id))
        : new Map<string, User[]>();
    return { found, here };
  }

  /**
   * The homes holding the reviews a person belongs to, each with the ids to keep from it. Reviews
   * from before the library (no record yet) are recorded from their own keys first.
   */
  private async personalHomes(userId: string): Promise<Map<string, Set<string>>> {
    const ids = await this.deps.library.reviewIdsOf(userId);
    // Most of a person's reviews are usually their own: those need no look-up of their home.
    const ownHome = libraryHome({ owner: { id: userId, name: '' } });
    const own = await this.deps.index.records(ownHome);
    const homes = await this.deps.library.homesOf(ids.filter((id) => !own.has(id)));
    for (const id of ids) if (own.has(id)) homes.set(id, ownHome);
    const missing = ids.filter((id) => !homes.has(id));
    if (missing.length > 0) {
      for (const [id, home] of await this.backfill(userId, missing)) homes.set(id, home);
    }
    const byHome = new Map<string, Set<string>>();
    for (const [id, home] of homes) {
      let set = byHome.get(home);
      if (!set) {
        set = new Set();
        byHome.set(home, set);
      }
      set.add(id);
    }
    return byHome;
  }

  /**
   * Records reviews the library does not hold yet (uploaded before it existed) from their keys in
   * Redis, as the review store lists them; their homes. Runs once per such review.
   */
  private async backfill(userId: string, reviewIds: readonly string[]): Promise<Map<string, string>> {
    const homes = new Map<string, string>();
    const { reviews, library } = this.deps;
    const wanted = new Set(reviewIds);
    const summaries = (await reviews.summaries(userId)).filter((summary) => wanted.has(summary.id));
    await Promise.all(
      summaries.map(async (summary) => {
        const [sections, members, meta] = await Promise.all([
          reviews.sections(summary.id),
          reviews.snapshotMembers(summary.id),
          reviews.meta(summary.id),
        ]);
        const workspaceId = (meta as { workspaceId?: string } | undefined)?.workspaceId;
        await library.record({
          id: summary.id,
          title: summary.title,
          owner: summary.owner,
          workspaceId,
          createdAt: summary.createdAt,
          sections: summary.sections,
          status: summary.status,
          progress: summary.progress,
          updatedAt: summary.updatedAt,
          submitted: summary.submitted,
          members: Object.fromEntries(members.map((member) => [member.user.id, member.role])),
          text: searchText(summary.title, sections),
        });
        homes.set(summary.id, libraryHome({ workspaceId, owner: summary.owner }));
      }),
    );
    return homes;
  }
}

/** A listed record with the caller's role and the review's live progress and last activity. */
interface Listed {
  record: LibraryRecord;
  role: Role;
  progress: LibraryRecord['progress'];
  updatedAt: string;
}

/**
 * A library record as `GET /api/reviews` lists it, but for what each request adds: the caller's
 * `role`, the room's `here`, and the live `progress` and `updatedAt`.
 */
const recordSummary = (
  record: LibraryRecord,
): Omit<ReviewSummary, 'role' | 'here' | 'progress' | 'updatedAt'> => ({
  id: record.id,
  title: record.title,
  createdAt: record.createdAt,
  owner: record.owner,
  sections: record.sections,
  status: record.status,
  ...(record.submitted && record.status === 'submitted' ? { submitted: record.submitted } : {}),
  ...(record.workspaceId ? { workspaceId: record.workspaceId } : {}),
});
