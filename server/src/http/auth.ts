/**
 * HTTP identity: the session cookie or `Authorization: Bearer`. State-changing requests must be
 * JSON (or multipart for uploads) and, when the browser sends an Origin, come from PUBLIC_URL.
 */
import { PrismError, type User } from '@prism/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sessionFromCookie, type TokenSigner } from '../domain/tokens.ts';

declare global {
  namespace Express {
    interface Request {
      user?: User;
    }
  }
}

export function tokenFrom(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return sessionFromCookie(req.headers.cookie);
}

export function requireUser(signer: TokenSigner): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const user = signer.verifySession(tokenFrom(req));
    if (!user)
      return next(new PrismError('unauthorized', 'Sign in first: your session is missing or has expired.'));
    req.user = user;
    next();
  };
}

/** Refuses cross-site writes: a page elsewhere cannot post forms or JSON to Prism with our cookie. */
export function sameOriginWrites(publicOrigin: string): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const origin = req.headers.origin;
    if (origin && origin !== publicOrigin) {
      return next(new PrismError('forbidden', 'This request came from another site.'));
    }
    next();
  };
}

export function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new PrismError('invalid', 'Send this request as JSON (Content-Type: application/json).');
  }
}

export const userOf = (req: Request): User => {
  if (!req.user) throw new PrismError('unauthorized', 'Sign in first.');
  return req.user;
};
