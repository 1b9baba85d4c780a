import { PrismError, SessionBody } from '@prism/core';
import { Router } from 'express';
import { newId } from '../domain/ids.ts';
import { SESSION_COOKIE, SESSION_MAX_AGE_MS, type TokenSigner } from '../domain/tokens.ts';
import type { RateLimits } from '../infra/rate-limit.ts';
import { requireJson, tokenFrom } from './auth.ts';
import { route } from './errors.ts';
import { limitAddress } from './limits.ts';

/**
 * `POST /api/session {name}`: names the caller, keeping their id when they already have a session.
 * Limited per client address: each new session is a fresh per-person allowance.
 */
export function sessionRoutes(signer: TokenSigner, limits: RateLimits): Router {
  const router = Router();
  router.post(
    '/session',
    route(async (req, res) => {
      requireJson(req);
      await limitAddress(limits, 'sessions', req, res);
      const body = SessionBody.safeParse(req.body);
      if (!body.success) throw new PrismError('invalid', 'Your name must be 1 to 80 characters.');
      const existing = signer.verifySession(tokenFrom(req));
      const user = { id: existing?.id ?? newId('u'), name: body.data.name };
      const token = signer.session(user);
      res.cookie(SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: 'lax',
        secure: req.secure,
        maxAge: SESSION_MAX_AGE_MS,
        path: '/',
      });
      res.json({ user, token });
    }),
  );
  return router;
}
