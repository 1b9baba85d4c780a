import { PrismError, SessionBody, type User } from '@prism/core';
import type { WorkspaceView } from '@prism/store';
import { type Request, type Response, Router } from 'express';
import { newId } from '../domain/ids.ts';
import { SESSION_COOKIE, SESSION_MAX_AGE_MS, type TokenSigner } from '../domain/tokens.ts';
import type { RateLimits } from '../infra/rate-limit.ts';
import { requireJson, tokenFrom } from './auth.ts';
import { route } from './errors.ts';
import { limitAddress } from './limits.ts';
import type { AuthConfig } from './oidc-config.ts';

/** Sets the session cookie: HttpOnly, same-site lax (the provider's redirect back is a top-level GET). */
export function setSessionCookie(req: Request, res: Response, token: string): void {
  res.cookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: req.secure,
    maxAge: SESSION_MAX_AGE_MS,
    path: '/',
  });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
}

/**
 * `POST /api/session {name}`: names the caller, keeping their id when they already have a session.
 * Limited per client address: each new session is a fresh per-person allowance. Refused with
 * `403 guest_disabled` when guest sign-in is off (AUTH_GUEST=false).
 * `GET /api/me`: who the session names, with their email when the identity provider gave one.
 * `GET /api/auth/config`: public; whether guest sign-in is on and the provider's name for the button.
 */
export function sessionRoutes(
  signer: TokenSigner,
  limits: RateLimits,
  auth: AuthConfig,
  /** The person's workspaces, for `/api/me` (CONTRACT 7.2). */
  workspacesOf: (user: User) => Promise<WorkspaceView[]> = async () => [],
): Router {
  const router = Router();
  router.post(
    '/session',
    route(async (req, res) => {
      if (!auth.guest) {
        throw new PrismError(
          'guest_disabled',
          `Guest sign-in is switched off here: sign in with ${auth.oidc?.name ?? 'your identity provider'}.`,
        );
      }
      requireJson(req);
      await limitAddress(limits, 'sessions', req, res);
      const body = SessionBody.safeParse(req.body);
      if (!body.success) throw new PrismError('invalid', 'Your name must be 1 to 80 characters.');
      const existing = signer.verifyIdentity(tokenFrom(req));
      const user = { id: existing?.user.id ?? newId('u'), name: body.data.name };
      const token = signer.session(user, existing?.email);
      setSessionCookie(req, res, token);
      res.json({ user, token });
    }),
  );
  router.get(
    '/me',
    route(async (req, res) => {
      const identity = signer.verifyIdentity(tokenFrom(req));
      if (!identity)
        throw new PrismError('unauthorized', 'Sign in first: your session is missing or has expired.');
      const { user, email } = identity;
      res.set('cache-control', 'no-store');
      res.json({ user: email ? { ...user, email } : user, workspaces: await workspacesOf(user) });
    }),
  );
  router.get('/auth/config', (_req, res) => {
    res.setHeader('cache-control', 'no-cache');
    res.json({ guest: auth.guest, ...(auth.oidc ? { oidc: { name: auth.oidc.name } } : {}) });
  });
  return router;
}
