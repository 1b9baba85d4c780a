import { api, errorMessage, isApiError, onUnauthorized } from './api.ts';
import { fetchMe, logout } from './auth.ts';
import type { ReviewSummary, User } from './types.ts';

const STORAGE_KEY = 'prism.user';

/**
 * - `checking`: GET /api/me is asking the server who the session cookie names (a guest name, or a
 *   person back from the identity provider, whom this browser has not stored yet)
 * - `signed-in`: the server knows us
 * - `signed-out`: ask to sign in (first visit, signed out, or the cookie expired: 401)
 * - `offline`: the check failed for another reason (server unreachable); `error` says why, `verify()` retries
 */
export type SessionStatus = 'checking' | 'signed-in' | 'signed-out' | 'offline';

function readStored(): User | null {
  if (typeof localStorage === 'undefined') return null;
  try {
    const value = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<User> | null;
    if (value && typeof value.id === 'string' && typeof value.name === 'string') {
      return { id: value.id, name: value.name };
    }
  } catch {
    // Unreadable: treat as absent.
  }
  return null;
}

function writeStored(user: User | null): void {
  if (typeof localStorage === 'undefined') return;
  try {
    if (user) localStorage.setItem(STORAGE_KEY, JSON.stringify({ id: user.id, name: user.name }));
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage full or disabled: the cookie still carries the session for this visit.
  }
}

/**
 * The current person. The server holds the session in an HttpOnly cookie; localStorage keeps
 * `{id, name}` so the name shows while GET /api/me confirms it.
 */
export class Session {
  user = $state<User | null>(null);
  /** The person's email, when the identity provider gave one. */
  email = $state<string | null>(null);
  status = $state<SessionStatus>('checking');
  error = $state<string | null>(null);

  #check: Promise<void> | null = null;
  #reviews: ReviewSummary[] | null = null;

  constructor() {
    this.user = readStored();
    this.status = 'checking';
  }

  /**
   * Confirms a stored name against the server, once per page load (again after an `offline` result).
   * `withReviews` (the page is the start page, on the person's own reviews) fetches the review list
   * alongside, so that page need not wait for it after; other pages do not read it.
   */
  verify(withReviews = false): Promise<void> {
    this.#check ??= this.#verify(withReviews);
    return this.#check;
  }

  async #verify(withReviews: boolean): Promise<void> {
    this.user = readStored();
    this.status = 'checking';
    this.error = null;
    try {
      const [me, reviews] = await Promise.all([
        fetchMe(),
        withReviews ? api.listReviews().catch(() => null) : null,
      ]);
      writeStored(me.user);
      this.user = { id: me.user.id, name: me.user.name };
      this.email = me.user.email ?? null;
      this.#reviews = reviews;
      this.status = 'signed-in';
    } catch (error) {
      if (isApiError(error, 401)) {
        this.forget();
      } else {
        this.status = 'offline';
        this.error = errorMessage(error);
        this.#check = null;
      }
    }
  }

  /** POST /api/session: the server sets the cookie; we remember who we are. */
  async signIn(name: string): Promise<User> {
    const { user } = await api.createSession(name);
    writeStored(user);
    this.user = user;
    this.error = null;
    this.#reviews = null;
    this.#check = Promise.resolve();
    this.status = 'signed-in';
    return user;
  }

  /** POST /auth/logout: the server clears the cookie; this browser forgets who we were. */
  async signOut(): Promise<void> {
    await logout();
    this.forget();
  }

  /** Drop the stored name (after a 401 or signing out): the next screen asks to sign in again. */
  forget(): void {
    writeStored(null);
    this.user = null;
    this.email = null;
    this.error = null;
    this.#reviews = null;
    this.#check = Promise.resolve();
    this.status = 'signed-out';
  }

  /** The review list fetched while verifying, handed out once so the start page need not fetch it again. */
  takeReviews(): ReviewSummary[] | null {
    const reviews = this.#reviews;
    this.#reviews = null;
    return reviews;
  }
}

export const session = new Session();

onUnauthorized(() => session.forget());
