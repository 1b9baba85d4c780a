/**
 * Workspaces (CONTRACT 7.2): create, list, invite, accept, members, remove. Admins manage a
 * workspace; members see it. A removal is told to every server (`onRemoved`), which takes the
 * person's live sockets out of the workspace's reviews at once.
 */
import { higherRole, PrismError, type Role, type User } from '@prism/core';
import type { WorkspaceMemberRecord, WorkspaceRole, WorkspaceStore, WorkspaceView } from '@prism/store';
import { newId } from './ids.ts';
import type { TokenSigner, WorkspaceInviteRole } from './tokens.ts';

/** What a workspace role may do in the workspace's reviews: admins act as owners, members as reviewers. */
const WORKSPACE_REVIEW_ROLE: Record<WorkspaceRole, Role> = { admin: 'owner', member: 'reviewer' };

/**
 * A person's role in a review: the higher of the review's own role for them and the one their role
 * in the review's workspace gives (CONTRACT 7.2); undefined when they have neither.
 */
export function reviewRole(
  own: Role | undefined,
  workspaceRole: WorkspaceRole | undefined,
): Role | undefined {
  const fromWorkspace = workspaceRole ? WORKSPACE_REVIEW_ROLE[workspaceRole] : undefined;
  return own && fromWorkspace ? higherRole(own, fromWorkspace) : (own ?? fromWorkspace);
}

export interface WorkspaceServiceDeps {
  store: WorkspaceStore;
  signer: TokenSigner;
  publicUrl: string;
  /** Runs after a member was removed (realtime/workspace-removal.ts). */
  onRemoved?: (workspaceId: string, userId: string) => Promise<void>;
}

export class WorkspaceService {
  readonly store: WorkspaceStore;
  private readonly deps: WorkspaceServiceDeps;

  constructor(deps: WorkspaceServiceDeps) {
    this.store = deps.store;
    this.deps = deps;
  }

  /** The caller's role, after checking the workspace exists (404) and they hold at least `need` (403). */
  async authorize(workspaceId: string, user: User, need: WorkspaceRole): Promise<WorkspaceRole> {
    const { workspace, role } = await this.store.access(workspaceId, user.id);
    if (!workspace) throw new PrismError('not_found', 'There is no workspace with this id.');
    if (!role) throw new PrismError('forbidden', 'You are not a member of this workspace.');
    if (need === 'admin' && role !== 'admin')
      throw new PrismError('forbidden', 'Only an admin of this workspace can do this.');
    return role;
  }

  create(user: User, name: string): Promise<WorkspaceView> {
    return this.store.create({
      id: newId('w'),
      name,
      createdAt: new Date().toISOString(),
      createdBy: user,
    });
  }

  list(user: User): Promise<WorkspaceView[]> {
    return this.store.listForUser(user.id);
  }

  async invite(
    workspaceId: string,
    user: User,
    role: WorkspaceInviteRole,
  ): Promise<{ token: string; url: string }> {
    await this.authorize(workspaceId, user, 'admin');
    const token = this.deps.signer.workspaceInvite(workspaceId, role, user);
    return { token, url: `${this.deps.publicUrl}/invite?token=${encodeURIComponent(token)}` };
  }

  /** Joins the workspace a genuine invite names; an existing member's role is only raised. */
  async accept(
    invite: { workspaceId: string; role: WorkspaceInviteRole },
    user: User,
  ): Promise<{ workspaceId: string; role: WorkspaceRole }> {
    const role = await this.store.addMember(invite.workspaceId, user, invite.role, { raise: true });
    if (!role) throw new PrismError('not_found', 'The workspace of this invite no longer exists.');
    return { workspaceId: invite.workspaceId, role };
  }

  async members(workspaceId: string, user: User): Promise<WorkspaceMemberRecord[]> {
    await this.authorize(workspaceId, user, 'member');
    return this.store.members(workspaceId);
  }

  async remove(workspaceId: string, user: User, memberId: string): Promise<void> {
    await this.authorize(workspaceId, user, 'admin');
    const result = await this.store.removeMember(workspaceId, memberId);
    if (result === 'absent')
      throw new PrismError('not_found', 'This person is not a member of this workspace.');
    if (result === 'last_admin')
      throw new PrismError(
        'last_admin',
        'The last admin of a workspace cannot be removed; make someone else an admin first.',
      );
    await this.deps.onRemoved?.(workspaceId, memberId);
  }
}
