/**
 * A workspace's rubric library in the web app (CONTRACT 7.4): list, create, edit (a new version),
 * duplicate, and checkpoints proposed from a guidelines .docx for a person to confirm.
 */
import type { Rubric } from '../../../core/src/checklist.ts';
import { ApiError, request, toApiError } from './api.ts';

export type { Checkpoint, Rubric } from '../../../core/src/checklist.ts';

/** A checkpoint as a person writes it; numbers follow the order. */
export interface CheckpointDraft {
  title: string;
  description: string;
  required: boolean;
}

export interface RubricDraft {
  name: string;
  checkpoints: CheckpointDraft[];
}

/** Caps the server checks too (core/src/schemas.ts RUBRIC_LIMITS). */
export const RUBRIC_LIMITS = { name: 80, checkpoints: 50, title: 120, description: 1000 } as const;

export const DEFAULT_RUBRIC_ID = 'default';

const path = (workspaceId: string, rest = ''): string =>
  `/api/workspaces/${encodeURIComponent(workspaceId)}/rubrics${rest}`;

export const rubricApi = {
  list: async (workspaceId: string, signal?: AbortSignal) =>
    (await request<{ rubrics: Rubric[] }>(path(workspaceId), { signal })).rubrics,
  create: async (workspaceId: string, draft: RubricDraft) =>
    (await request<{ rubric: Rubric }>(path(workspaceId), { method: 'POST', body: draft })).rubric,
  update: async (workspaceId: string, rubricId: string, draft: RubricDraft) =>
    (
      await request<{ rubric: Rubric }>(path(workspaceId, `/${encodeURIComponent(rubricId)}`), {
        method: 'PUT',
        body: draft,
      })
    ).rubric,
  duplicate: async (workspaceId: string, rubricId: string) =>
    (
      await request<{ rubric: Rubric }>(path(workspaceId, `/${encodeURIComponent(rubricId)}/duplicate`), {
        method: 'POST',
        body: {},
      })
    ).rubric,
  /** Checkpoints proposed from a guidelines .docx; nothing is saved. */
  propose: async (workspaceId: string, file: File): Promise<RubricDraft> => {
    const form = new FormData();
    form.append('file', file);
    let response: Response;
    try {
      response = await fetch(path(workspaceId, '/import'), {
        method: 'POST',
        headers: { accept: 'application/json' },
        body: form,
        credentials: 'same-origin',
      });
    } catch {
      throw new ApiError(0, 'network', 'Could not reach Prism. Check your connection and try again.');
    }
    const text = await response.text();
    if (!response.ok) throw toApiError(response.status, text);
    return JSON.parse(text) as RubricDraft;
  },
};

export const draftOf = (rubric: Rubric): RubricDraft => ({
  name: rubric.name,
  checkpoints: rubric.checkpoints.map(({ title, description, required }) => ({
    title,
    description,
    required,
  })),
});
