/**
 * Signed tokens: sessions and invites. `v1.<payload>.<mac>` with an HMAC-SHA256 over the payload;
 * the first secret signs, every secret verifies, so secrets rotate without logging anyone out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Role, User } from '@prism/core';

const SESSION_TTL_S = 30 * 24 * 3600;
export const INVITE_TTL_S = 7 * 24 * 3600;

interface SessionClaims {
  t: 's';
  sub: string;
  name: string;
  iat: number;
  exp: number;
}

interface InviteClaims {
  t: 'i';
  rid: string;
  role: Exclude<Role, 'owner'>;
  iat: number;
  exp: number;
  by: string;
}

type Claims = SessionClaims | InviteClaims;

export class TokenSigner {
  private readonly secrets: string[];

  constructor(secrets: string[]) {
    if (secrets.length === 0) throw new Error('at least one secret is needed');
    this.secrets = secrets;
  }

  private mac(secret: string, payload: string): Buffer {
    return createHmac('sha256', secret).update(`prism.${payload}`).digest();
  }

  private sign(claims: Claims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `v1.${payload}.${this.mac(this.secrets[0]!, payload).toString('base64url')}`;
  }

  private verify(token: unknown): Claims | undefined {
    if (typeof token !== 'string' || token.length > 4096) return undefined;
    const [version, payload, mac] = token.split('.');
    if (version !== 'v1' || !payload || !mac) return undefined;
    const given = Buffer.from(mac, 'base64url');
    const valid = this.secrets.some((secret) => {
      const expected = this.mac(secret, payload);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!valid) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
      if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }

  session(user: User): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({ t: 's', sub: user.id, name: user.name, iat: now, exp: now + SESSION_TTL_S });
  }

  /** The user a session token names, or undefined when it is forged, malformed or expired. */
  verifySession(token: unknown): User | undefined {
    const claims = this.verify(token);
    return claims?.t === 's' ? { id: claims.sub, name: claims.name } : undefined;
  }

  invite(reviewId: string, role: Exclude<Role, 'owner'>, by: User, ttlSeconds = INVITE_TTL_S): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({ t: 'i', rid: reviewId, role, iat: now, exp: now + ttlSeconds, by: by.id });
  }

  verifyInvite(token: unknown): { reviewId: string; role: Exclude<Role, 'owner'> } | undefined {
    const claims = this.verify(token);
    return claims?.t === 'i' ? { reviewId: claims.rid, role: claims.role } : undefined;
  }
}

export const SESSION_COOKIE = 'prism_session';
export const SESSION_MAX_AGE_MS = SESSION_TTL_S * 1000;

/** Reads the session cookie from a Cookie header without a parser dependency for one value. */
export function sessionFromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}
