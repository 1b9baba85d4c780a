/**
 * Per-address limits as route middleware: `429 rate_limited` with `Retry-After` (seconds) when the
 * client address (req.ip: behind TRUST_PROXY, the address the load balancer forwards) has spent
 * its allowance for the minute, across every server.
 */
import { PrismError } from '@prism/core';
import type { Request, RequestHandler, Response } from 'express';
import type { AddressAction, RateLimits, Refusal } from '../infra/rate-limit.ts';

/** Sets Retry-After and gives the error to throw or pass on. */
export function refuse(res: Response, refusal: Refusal, message: string): PrismError {
  res.setHeader('retry-after', String(refusal.retryAfterS));
  return new PrismError('rate_limited', `${message} Try again in ${refusal.retryAfterS} s.`);
}

/** The address a limit counts: the socket's when nothing says otherwise. */
export const addressOf = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

const MESSAGES: Record<AddressAction, string> = {
  sessions: 'Too many sign-ins from your network in the last minute.',
  uploads: 'Too many uploads from your network in the last minute.',
  invites: 'Too many invites accepted from your network in the last minute.',
};

/** Spends one of the address's `action`s, or refuses. */
export async function limitAddress(
  limits: RateLimits,
  action: AddressAction,
  req: Request,
  res: Response,
): Promise<void> {
  const refusal = await limits.fromAddress(action, addressOf(req));
  if (refusal) throw refuse(res, refusal, MESSAGES[action]);
}

/**
 * Before an upload is read: the person's own allowance (60 a minute, spent by the upload route;
 * looked at here so its refusal carries Retry-After too), then the address's, so fresh sessions
 * from one place cannot multiply the per-person limit.
 */
export function uploadLimits(limits: RateLimits): RequestHandler {
  return (req, res, next) => {
    const check = async (): Promise<void> => {
      const spent = req.user ? await limits.uploadsSpent(req.user.id) : undefined;
      if (spent) throw refuse(res, spent, 'Too many uploads in the last minute; wait a moment.');
      await limitAddress(limits, 'uploads', req, res);
    };
    check().then(() => next(), next);
  };
}
