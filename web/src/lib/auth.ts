import { request } from './api.ts';
import type { User } from './types.ts';

/** GET /api/auth/config: whether guest sign-in is on, and the identity provider's name when there is one. */
export interface AuthConfig {
  guest: boolean;
  oidc?: { name: string };
}

/** The signed-in person as GET /api/me tells it: email when the identity provider gave one. */
export interface Me {
  user: User & { email?: string };
}

let config: Promise<AuthConfig> | null = null;

/** The sign-in settings, fetched once per page load (again after a failure). */
export function authConfig(): Promise<AuthConfig> {
  config ??= request<AuthConfig>('/api/auth/config').catch((error: unknown) => {
    config = null;
    throw error;
  });
  return config;
}

export const fetchMe = (signal?: AbortSignal): Promise<Me> => request<Me>('/api/me', { signal });

/** POST /auth/logout: the server clears the session cookie. */
export const logout = (): Promise<unknown> => request('/auth/logout', { method: 'POST' });

/** Where "Sign in with <provider>" goes: the provider, and back to `returnTo` (this page) afterwards. */
export const loginHref = (returnTo: string): string => `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
