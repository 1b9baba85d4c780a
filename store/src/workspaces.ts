/**
 * Workspaces (CONTRACT 7.2): a name and its members, each an `admin` or a `member`. Every key of a
 * workspace carries the hash tag `{<workspaceId>}`; the set of a person's workspaces is under the
 * person's own tag. No command touches keys of two tags: a membership is written in the
 * workspace's slot first (the truth), then the person's set (an index that readers check against it).
 */
import type { User } from '@prism/core';
import type { Redis } from 'ioredis';
import { parseAll } from './hash-values.ts';

export type WorkspaceRole = 'admin' | 'member';

export interface WorkspaceMeta {
  id: string;
  name: string;
  createdAt: string;
  createdBy: User;
}

export interface WorkspaceMemberRecord {
  user: User;
  role: WorkspaceRole;
  joinedAt: string;
}

/** A workspace as a person sees it: with their role in it. */
export interface WorkspaceView {
  id: string;
  name: string;
  role: WorkspaceRole;
}

export const workspaceKeys = (prefix: string, workspaceId: string): { meta: string; members: string } => {
  const base = `${prefix}workspace:{${workspaceId}}`;
  return { meta: `${base}:meta`, members: `${base}:members` };
};

export const userWorkspacesKey = (prefix: string, userId: string): string =>
  `${prefix}user:{${userId}}:workspaces`;

/**
 * Adds a member or changes their role, in the workspace's slot. KEYS: meta, members. ARGV: user id,
 * record JSON, role, `raise` (1: only ever raise a role, as accepting an invite does).
 * Returns the role held afterwards, or false when the workspace does not exist.
 */
const ADD_MEMBER = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[4] == '1' then
  local current = redis.call('HGET', KEYS[2], ARGV[1])
  if current then
    local role = cjson.decode(current).role
    if role == 'admin' or role == ARGV[3] then return role end
    local record = cjson.decode(ARGV[2])
    record.joinedAt = cjson.decode(current).joinedAt
    redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(record))
    return ARGV[3]
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return ARGV[3]
`;

/**
 * Removes a member unless they are the workspace's last admin. KEYS: members. ARGV: user id.
 * Returns 'removed', 'absent' or 'last_admin'.
 */
const REMOVE_MEMBER = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 'absent' end
if cjson.decode(current).role == 'admin' then
  local admins = 0
  for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
    if cjson.decode(raw).role == 'admin' then admins = admins + 1 end
  end
  if admins <= 1 then return 'last_admin' end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 'removed'
`;

export class WorkspaceStore {
  private readonly redis: Redis;
  readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  /** Stores a new workspace with its creator as its first admin. */
  async create(meta: WorkspaceMeta): Promise<WorkspaceView> {
    const keys = workspaceKeys(this.prefix, meta.id);
    const record: WorkspaceMemberRecord = { user: meta.createdBy, role: 'admin', joinedAt: meta.createdAt };
    const replies = await this.redis
      .multi()
      .set(keys.meta, JSON.stringify(meta), 'NX')
      .hset(keys.members, meta.createdBy.id, JSON.stringify(record))
      .exec();
    if (replies?.[0]?.[1] !== 'OK') throw new Error(`workspace ${meta.id} exists already`);
    await this.redis.sadd(userWorkspacesKey(this.prefix, meta.createdBy.id), meta.id);
    return { id: meta.id, name: meta.name, role: 'admin' };
  }

  async get(workspaceId: string): Promise<WorkspaceMeta | undefined> {
    const raw = await this.redis.get(workspaceKeys(this.prefix, workspaceId).meta);
    return raw ? (JSON.parse(raw) as WorkspaceMeta) : undefined;
  }

  /** The person's role in the workspace; undefined for a non-member (or no such workspace). */
  async role(workspaceId: string, userId: string): Promise<WorkspaceRole | undefined> {
    const raw = await this.redis.hget(workspaceKeys(this.prefix, workspaceId).members, userId);
    return raw ? (JSON.parse(raw) as WorkspaceMemberRecord).role : undefined;
  }

  /** The workspace (if it exists) and the person's role in it, in one round trip. */
  async access(
    workspaceId: string,
    userId: string,
  ): Promise<{ workspace?: WorkspaceMeta; role?: WorkspaceRole }> {
    const keys = workspaceKeys(this.prefix, workspaceId);
    const replies = (await this.redis.pipeline().get(keys.meta).hget(keys.members, userId).exec()) ?? [];
    const [meta, member] = replies.map(([error, value]) => {
      if (error) throw error;
      return value as string | null;
    });
    return {
      ...(meta ? { workspace: JSON.parse(meta) as WorkspaceMeta } : {}),
      ...(member ? { role: (JSON.parse(member) as WorkspaceMemberRecord).role } : {}),
    };
  }

  /** Every member, admins first, then by when they joined. */
  async members(workspaceId: string): Promise<WorkspaceMemberRecord[]> {
    const hash = await this.redis.hgetall(workspaceKeys(this.prefix, workspaceId).members);
    return parseAll<WorkspaceMemberRecord>(hash).sort((a, b) =>
      a.role !== b.role ? (a.role === 'admin' ? -1 : 1) : a.joinedAt < b.joinedAt ? -1 : 1,
    );
  }

  /**
   * Adds a member. With `raise` (accepting an invite) an existing member's role is only ever raised:
   * an admin who opens a member invite stays an admin. Returns the role held afterwards, or
   * undefined when there is no such workspace.
   */
  async addMember(
    workspaceId: string,
    user: User,
    role: WorkspaceRole,
    options: { raise?: boolean; at?: string } = {},
  ): Promise<WorkspaceRole | undefined> {
    const keys = workspaceKeys(this.prefix, workspaceId);
    const record: WorkspaceMemberRecord = { user, role, joinedAt: options.at ?? new Date().toISOString() };
    const held = (await this.redis.eval(
      ADD_MEMBER,
      2,
      keys.meta,
      keys.members,
      user.id,
      JSON.stringify(record),
      role,
      options.raise === false ? '0' : '1',
    )) as WorkspaceRole | null;
    if (!held) return undefined;
    await this.redis.sadd(userWorkspacesKey(this.prefix, user.id), workspaceId);
    return held;
  }

  /** Removes a member; the workspace's last admin stays (`last_admin`). */
  async removeMember(workspaceId: string, userId: string): Promise<'removed' | 'absent' | 'last_admin'> {
    const result = (await this.redis.eval(
      REMOVE_MEMBER,
      1,
      workspaceKeys(this.prefix, workspaceId).members,
      userId,
    )) as 'removed' | 'absent' | 'last_admin';
    if (result !== 'last_admin') await this.redis.srem(userWorkspacesKey(this.prefix, userId), workspaceId);
    return result;
  }

  /**
   * The workspaces the person belongs to, by name. The person's set is an index: each workspace's
   * own membership decides (one round trip per workspace, in parallel: each is its own slot).
   */
  async listForUser(userId: string): Promise<WorkspaceView[]> {
    const ids = await this.redis.smembers(userWorkspacesKey(this.prefix, userId));
    const views = await Promise.all(
      ids.map(async (id): Promise<WorkspaceView | undefined> => {
        const { workspace, role } = await this.access(id, userId);
        return workspace && role ? { id, name: workspace.name, role } : undefined;
      }),
    );
    return views
      .filter((view): view is WorkspaceView => view !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1));
  }
}
