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

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a browser's Origin is Prism's own. In development `localhost`, `127.0.0.1` and `[::1]` on
 * the same scheme and port are one origin for a person (who opens whichever they typed), so each
 * stands for the others; in production only PUBLIC_URL's origin is.
 */
export function originChecker(publicOrigin: string, production: boolean): (origin: string) => boolean {
  const own = new URL(publicOrigin);
  const loopbackOwn = !production && LOOPBACK_HOSTS.has(own.hostname);
  return (origin) => {
    if (origin === publicOrigin) return true;
    if (!loopbackOwn) return false;
    try {
      const given = new URL(origin);
      return given.protocol === own.protocol && given.port === own.port && LOOPBACK_HOSTS.has(given.hostname);
    } catch {
      return false;
    }
  };
}

/** What a refused Origin is told: which origin Prism expects, and what sets it. */
export const originRefused = (origin: string, publicOrigin: string): string =>
  `This request came from ${origin}, but Prism accepts it only from ${publicOrigin}; PUBLIC_URL sets that origin (open Prism at ${publicOrigin}, or set PUBLIC_URL to the address you use).`;

/** Refuses cross-site writes: a page elsewhere cannot post forms or JSON to Prism with our cookie. */
export function sameOriginWrites(publicOrigin: string, production: boolean): RequestHandler {
  const ownOrigin = originChecker(publicOrigin, production);
  return (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const origin = req.headers.origin;
    if (origin && !ownOrigin(origin)) {
      return next(new PrismError('forbidden', originRefused(origin, publicOrigin)));
    }
    next();
  };
}

/** The request's media type, lower case, without parameters; undefined without a Content-Type. */
const mediaType = (req: Request): string | undefined =>
  req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() || undefined;

const isJson = (type: string | undefined): boolean =>
  type === 'application/json' || (type?.startsWith('application/') === true && type.endsWith('+json'));

const hasBody = (req: Request): boolean =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * State-changing requests take JSON, or multipart on the routes that take uploads (paths relative
 * to where this is mounted). Anything else is `415 unsupported_type`: a plain cross-site form
 * (urlencoded, multipart, text/plain) can then call nothing. A request with neither a body nor a
 * Content-Type (a DELETE) has nothing to refuse.
 */
export function jsonOnlyWrites(uploadPaths: RegExp[]): RequestHandler {
  return (req, _res, next) => {
    if (!WRITES.has(req.method)) return next();
    const type = mediaType(req);
    if (isJson(type) || (type === undefined && !hasBody(req))) return next();
    const upload = uploadPaths.some((path) => path.test(req.path));
    if (upload && type === 'multipart/form-data') return next();
    next(
      new PrismError(
        'unsupported_type',
        upload
          ? 'Send this upload as multipart/form-data.'
          : `Send this request as JSON (Content-Type: application/json), not ${type ?? 'a body without a type'}.`,
      ),
    );
  };
}

/** The route takes JSON: its Content-Type says so (an empty body is fine where no field is needed). */
export function requireJson(req: Request): void {
  if (!isJson(mediaType(req))) {
    throw new PrismError('unsupported_type', 'Send this request as JSON (Content-Type: application/json).');
  }
}

export const userOf = (req: Request): User => {
  if (!req.user) throw new PrismError('unauthorized', 'Sign in first.');
  return req.user;
};
