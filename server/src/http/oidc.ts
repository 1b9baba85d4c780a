/**
 * Sign-in with the team's identity provider (CONTRACT 7.2), mounted at `/auth`:
 * - `GET /auth/login?returnTo=/path` -> 302 to the issuer;
 * - `GET /auth/callback` -> Prism's session cookie and 302 to `returnTo` (a path on Prism, else `/`);
 *   a bad or used `state`, a refused code, an ID token not for this client -> 401, no cookie;
 * - `POST /auth/logout` -> 204, the session cookie cleared (works with guest sessions too).
 */
import { timingSafeEqual } from 'node:crypto';
import { HTTP_STATUS, isPrismError, PrismError } from '@prism/core';
import { type ErrorRequestHandler, type Request, Router } from 'express';
import type { Logger } from 'pino';
import type { TokenSigner } from '../domain/tokens.ts';
import type { RateLimits } from '../infra/rate-limit.ts';
import { jsonOnlyWrites, sameOriginWrites } from './auth.ts';
import { route, sendError } from './errors.ts';
import { limitAddress } from './limits.ts';
import { OidcClient } from './oidc-client.ts';
import type { AuthConfig } from './oidc-config.ts';
import {
  LOGIN_COOKIE,
  LOGIN_TTL_S,
  LoginTransactions,
  safeReturnTo,
  type TransactionRedis,
} from './oidc-transactions.ts';
import { clearSessionCookie, setSessionCookie } from './session.ts';

export interface OidcRouteDeps {
  auth: AuthConfig;
  signer: TokenSigner;
  limits: RateLimits;
  redis: TransactionRedis;
  prefix: string;
  publicUrl: string;
  publicOrigin: string;
  production: boolean;
  logger: Logger;
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

const sameString = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The routes; the client's discovery starts at once, so the first sign-in need not wait for it. */
export function oidcRoutes(deps: OidcRouteDeps): Router {
  const { auth, signer, limits, logger } = deps;
  const oidc = auth.oidc ? new OidcClient(auth.oidc, `${deps.publicUrl}/auth/callback`, logger) : undefined;
  oidc?.configuration().catch(() => {});
  const transactions = new LoginTransactions(deps.redis, deps.prefix);
  const loginCookie = (req: Request) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: req.secure,
    path: '/auth',
  });

  const router = Router();
  router.use((_req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    next();
  });
  router.use(sameOriginWrites(deps.publicOrigin, deps.production));
  router.use(jsonOnlyWrites([]));

  const configured = (): OidcClient => {
    if (!oidc) throw new PrismError('not_found', 'Sign-in with an identity provider is not set up here.');
    return oidc;
  };

  router.get(
    '/login',
    route(async (req, res) => {
      const client = configured();
      await limitAddress(limits, 'sessions', req, res);
      const returnTo = safeReturnTo(req.query.returnTo);
      const login = await client.login();
      await transactions.put(login.state, { nonce: login.nonce, verifier: login.verifier, returnTo });
      res.cookie(LOGIN_COOKIE, login.state, { ...loginCookie(req), maxAge: LOGIN_TTL_S * 1000 });
      res.redirect(302, login.url.href);
    }),
  );

  router.get(
    '/callback',
    route(async (req, res) => {
      const client = configured();
      res.clearCookie(LOGIN_COOKIE, loginCookie(req));
      const state = typeof req.query.state === 'string' ? req.query.state : '';
      const started = cookieValue(req, LOGIN_COOKIE);
      if (!state || !started || !sameString(state, started)) {
        throw new PrismError(
          'unauthorized',
          'This sign-in was not started in this browser, or its state does not match: sign in again.',
        );
      }
      const transaction = await transactions.take(state);
      if (!transaction) {
        throw new PrismError('unauthorized', 'This sign-in was already used or has expired: sign in again.');
      }
      const at = req.originalUrl.indexOf('?');
      const query = at >= 0 ? req.originalUrl.slice(at) : '';
      const { user, email } = await client.callback(query, { state, ...transaction });
      setSessionCookie(req, res, signer.session(user, email));
      logger.info({ userId: user.id }, 'signed in with the identity provider');
      res.redirect(302, transaction.returnTo);
    }),
  );

  router.post('/logout', (req, res) => {
    clearSessionCookie(req, res);
    res.status(204).end();
  });

  router.use((_req, res) => sendError(res, new PrismError('not_found', 'There is no such sign-in route.')));
  router.use(browserErrors);
  return router;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A sign-in that fails in a browser (the provider sent the person back with an error, or the
 * callback was refused) shows a page saying why, with the same status, instead of bare JSON.
 * Programs (anything not asking for HTML first) get the usual `{"error":{code,message}}`.
 */
const browserErrors: ErrorRequestHandler = (error, req, res, next) => {
  if (!isPrismError(error) || req.accepts(['json', 'html']) !== 'html') return next(error);
  res
    .status(HTTP_STATUS[error.code])
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
        `<meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>Sign-in did not work · Prism</title><style>${ERROR_PAGE_STYLE}</style></head>` +
        `<body><header>Prism</header><main><h1>Sign-in did not work</h1>` +
        `<p data-code="${error.code}">${escapeHtml(error.message)}</p>` +
        `<p><a href="/">Back to Prism</a></p></main></body></html>`,
    );
};

/** The web app's look in a few lines (the page is the server's own, outside the app). */
const ERROR_PAGE_STYLE = [
  ':root{color-scheme:light dark;--bg:#fbfbfc;--surface:#fff;--text:#1b1b1f;--muted:#5c5c66;--border:#e3e3e8;--accent:#5e6ad2}',
  '@media (prefers-color-scheme:dark){:root{--bg:#0f0f11;--surface:#16161a;--text:#ececf1;--muted:#a1a1ab;--border:#26262c;--accent:#7c85e6}}',
  'body{margin:0;font:16px/1.5 system-ui,sans-serif;background:var(--bg);color:var(--text)}',
  'header{height:44px;display:flex;align-items:center;padding:0 1.25rem;font-weight:700;border-bottom:1px solid var(--border);background:var(--surface)}',
  'main{max-width:40rem;margin:2rem auto;padding:1.25rem 1.5rem;background:var(--surface);border:1px solid var(--border);border-radius:10px}',
  'h1{font-size:1.25rem;margin:0 0 .5rem}p{color:var(--muted)}a{color:var(--accent);font-weight:550}',
].join('');
