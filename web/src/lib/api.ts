import type { ReviewSnapshot, ReviewStatus, ReviewSummary, Role, User } from './types.ts';

/** An error from the Prism API (`{"error":{"code","message"}}`), or from reaching it (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function isApiError(value: unknown, status?: number): value is ApiError {
  return value instanceof ApiError && (status === undefined || value.status === status);
}

/** A message fit to show a person for anything a request may throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong. Please try again.';
}

let unauthorizedHandler: (() => void) | null = null;

/** Called when any request other than POST /api/session gets a 401 (the session cookie is gone). */
export function onUnauthorized(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

function badResponse(status: number): ApiError {
  return new ApiError(status, 'bad_response', 'The server sent an unreadable answer.');
}

/** What a request that never reached the server (offline, connection refused, blocked) rejects with. */
export function networkError(): ApiError {
  return new ApiError(0, 'network', 'Could not reach Prism. Check your connection and try again.');
}

/** Turns a status and a response body (already read as text) into an ApiError. */
export function toApiError(status: number, body: string): ApiError {
  try {
    const parsed = JSON.parse(body) as Partial<{ error: { code?: unknown; message?: unknown } }>;
    const { code, message } = parsed.error ?? {};
    if (typeof message === 'string' && message) {
      return new ApiError(status, typeof code === 'string' ? code : 'error', message);
    }
  } catch {
    // Not JSON (a proxy's error page, for instance): fall through.
  }
  return new ApiError(status, `http_${status}`, `The server answered ${status}. Please try again.`);
}

function handleStatus(path: string, status: number): void {
  if (status === 401 && path !== '/api/session') unauthorizedHandler?.();
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

/** A JSON request to the API on this origin, carrying the session cookie. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw networkError();
  }
  const text = await response.text();
  if (!response.ok) {
    handleStatus(path, response.status);
    throw toApiError(response.status, text);
  }
  if (!text) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw badResponse(response.status);
  }
}

export interface UploadInput {
  file: File;
  guidelines?: File | null;
  title?: string;
  analyze?: boolean;
  /** The workspace to upload into (CONTRACT 7.2); absent: the person's own review. */
  workspaceId?: string | null;
  /** A rubric of that workspace (CONTRACT 7.4); absent: the built-in default. */
  rubricId?: string | null;
}

export interface UploadProgress {
  loaded: number;
  /** 0 when the browser cannot tell. */
  total: number;
}

/**
 * POST /api/reviews as multipart through XMLHttpRequest, which (unlike fetch) reports upload progress.
 * Rejects with an ApiError; with a DOMException named AbortError when `signal` aborts.
 */
export function uploadReview(
  input: UploadInput,
  onProgress?: (progress: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<ReviewSummary> {
  const form = new FormData();
  form.append('file', input.file);
  if (input.guidelines) form.append('guidelines', input.guidelines);
  const title = input.title?.trim();
  if (title) form.append('title', title);
  if (input.analyze) form.append('analyze', 'true');
  if (input.workspaceId) form.append('workspaceId', input.workspaceId);
  if (input.workspaceId && input.rubricId) form.append('rubricId', input.rubricId);

  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/reviews');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.addEventListener('progress', (event) => {
      onProgress?.({ loaded: event.loaded, total: event.lengthComputable ? event.total : 0 });
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve((JSON.parse(xhr.responseText) as { review: ReviewSummary }).review);
        } catch {
          reject(badResponse(xhr.status));
        }
        return;
      }
      handleStatus('/api/reviews', xhr.status);
      reject(toApiError(xhr.status, xhr.responseText));
    });
    xhr.addEventListener('error', () => reject(networkError()));
    xhr.addEventListener('abort', () => reject(new DOMException('Upload cancelled', 'AbortError')));
    if (signal) {
      if (signal.aborted) {
        reject(new DOMException('Upload cancelled', 'AbortError'));
        return;
      }
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
}

export interface SessionResponse {
  user: User;
  token: string;
}

export interface InviteResponse {
  token: string;
  url: string;
}

/** A review invite answers with the review; a workspace invite (CONTRACT 7.2) with the workspace. */
export type AcceptInviteResponse =
  | { reviewId: string; role: Role }
  | { workspaceId: string; role: 'admin' | 'member' };

/** A review's resource: `/api/reviews/:id`, or `/api/reviews/:id/<action>`. */
export const reviewPath = (reviewId: string, action?: string): string =>
  `/api/reviews/${encodeURIComponent(reviewId)}${action ? `/${action}` : ''}`;

const setStatus = (reviewId: string, action: 'submit' | 'reopen') =>
  request<{ status: ReviewStatus }>(reviewPath(reviewId, action), { method: 'POST', body: {} });

export const api = {
  createSession: (name: string) =>
    request<SessionResponse>('/api/session', { method: 'POST', body: { name } }),
  /** The library (CONTRACT 7.3): a workspace's reviews, or the person's own; `q` words, `status`. */
  listReviews: async (
    signal?: AbortSignal,
    query: {
      workspaceId?: string | undefined;
      q?: string | undefined;
      status?: ReviewStatus | undefined;
    } = {},
  ) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    const search = params.toString();
    return (
      await request<{ reviews: ReviewSummary[] }>(`/api/reviews${search ? `?${search}` : ''}`, { signal })
    ).reviews;
  },
  getReview: (id: string, signal?: AbortSignal) => request<ReviewSnapshot>(reviewPath(id), { signal }),
  createInvite: (reviewId: string, role: 'reviewer' | 'viewer') =>
    request<InviteResponse>(reviewPath(reviewId, 'invites'), {
      method: 'POST',
      body: { role },
    }),
  acceptInvite: (token: string) =>
    request<AcceptInviteResponse>('/api/invites/accept', { method: 'POST', body: { token } }),
  /** Completes the review for everyone (owner, reviewer); a no-op when it is submitted already. */
  submitReview: (reviewId: string) => setStatus(reviewId, 'submit'),
  /** Opens a submitted review for changes again (owner). */
  reopenReview: (reviewId: string) => setStatus(reviewId, 'reopen'),
  /** Moves the review to the object store (owner); any later visit restores it. */
  archiveReview: (reviewId: string) =>
    request<{ status: ReviewStatus }>(reviewPath(reviewId, 'archive'), { method: 'POST', body: {} }),
  /** Deletes the review for everyone, for good (owner). */
  deleteReview: (reviewId: string) => request<unknown>(reviewPath(reviewId), { method: 'DELETE' }),
};
