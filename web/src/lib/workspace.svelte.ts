/**
 * Workspaces in the web app (CONTRACT 7.2): the person's workspaces and the current one, which
 * this browser remembers (localStorage). No current workspace is "Personal": the person's own
 * reviews.
 */
import { errorMessage, request } from './api.ts';
import { session } from './session.svelte.ts';

export type WorkspaceRole = 'admin' | 'member';

export interface Workspace {
  id: string;
  name: string;
  role: WorkspaceRole;
}

export interface WorkspaceMember {
  user: { id: string; name: string };
  role: WorkspaceRole;
}

const STORAGE_KEY = 'prism.workspace';

const path = (workspaceId: string, rest = ''): string =>
  `/api/workspaces/${encodeURIComponent(workspaceId)}${rest}`;

export const workspaceApi = {
  list: async () => (await request<{ workspaces: Workspace[] }>('/api/workspaces')).workspaces,
  create: async (name: string) =>
    (await request<{ workspace: Workspace }>('/api/workspaces', { method: 'POST', body: { name } }))
      .workspace,
  members: async (workspaceId: string) =>
    (await request<{ members: WorkspaceMember[] }>(path(workspaceId, '/members'))).members,
  invite: (workspaceId: string, role: WorkspaceRole) =>
    request<{ token: string; url: string }>(path(workspaceId, '/invites'), {
      method: 'POST',
      body: { role },
    }),
  remove: (workspaceId: string, userId: string) =>
    request<unknown>(path(workspaceId, `/members/${encodeURIComponent(userId)}`), { method: 'DELETE' }),
};

function readStored(): string | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function writeStored(id: string | null): void {
  try {
    if (typeof localStorage === 'undefined') return;
    if (id) localStorage.setItem(STORAGE_KEY, id);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled: the choice lasts for this visit.
  }
}

export class WorkspaceState {
  list = $state<Workspace[]>([]);
  /** The current workspace's id; null: Personal. */
  currentId = $state<string | null>(readStored());
  loaded = $state(false);

  current = $derived(this.list.find((workspace) => workspace.id === this.currentId) ?? null);

  /** Reads the person's workspaces; a remembered workspace they left falls back to Personal. */
  async load(): Promise<void> {
    this.list = await workspaceApi.list();
    this.loaded = true;
    if (this.currentId && !this.list.some((workspace) => workspace.id === this.currentId)) this.select(null);
  }

  select(id: string | null): void {
    this.currentId = id;
    writeStored(id);
  }

  async create(name: string): Promise<Workspace> {
    const created = await workspaceApi.create(name);
    this.list = [...this.list.filter((workspace) => workspace.id !== created.id), created].sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    this.select(created.id);
    return created;
  }
}

export const workspace = new WorkspaceState();

/**
 * What a workspace page reads of its workspace (its members, its rubrics): read once the person is
 * signed in, and again when the page's workspace changes; `error` says why it could not be. Made
 * while a component initialises; `value` is the page's to change after (a member removed, a rubric saved).
 */
export class WorkspaceData<T> {
  value = $state<T | null>(null);
  error = $state<string | null>(null);

  constructor(workspaceId: () => string, read: (workspaceId: string) => Promise<T>) {
    $effect(() => {
      const id = workspaceId();
      if (session.status !== 'signed-in' || !id) return;
      void this.#load(id, read);
    });
  }

  async #load(id: string, read: (workspaceId: string) => Promise<T>): Promise<void> {
    this.error = null;
    try {
      this.value = await read(id);
    } catch (caught) {
      this.value = null;
      this.error = errorMessage(caught);
    }
  }
}
