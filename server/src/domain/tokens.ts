/**
 * Signed tokens: sessions and invites. `v1.<payload>.<mac>` with an HMAC-SHA256 over the payload;
 * the first secret signs, every secret verifies, so secrets rotate without logging anyone out.
 *
 * Every token names its type (`t`) and audience (`aud`), and every reader checks both, with the
 * claims' shape and values, before it trusts anything in it: an invite never opens a session, a
 * session never accepts an invite, and an invite grants only the roles an invite may grant, even
 * when someone holding the secret signed it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Role, User } from '@prism/core';
import { z } from 'zod';

const SESSION_TTL_S = 30 * 24 * 3600;
export const INVITE_TTL_S = 7 * 24 * 3600;

/** Audiences: who a token is for. Workspace invites (CONTRACT 7.2) get their own when they exist. */
export const SESSION_AUDIENCE = 'prism:session';
export const INVITE_AUDIENCE = 'prism:invite';
/** Workspace invites (CONTRACT 7.2): never read as a review invite, nor the reverse. */
export const WORKSPACE_INVITE_AUDIENCE = 'prism:workspace-invite';
export const WORKSPACE_INVITE_ROLES = ['admin', 'member'] as const;
export type WorkspaceInviteRole = (typeof WORKSPACE_INVITE_ROLES)[number];

/** The roles a review invite may grant: never `owner` (CONTRACT section 3). */
export const REVIEW_INVITE_ROLES = ['reviewer', 'viewer'] as const satisfies readonly Role[];
export type InviteRole = (typeof REVIEW_INVITE_ROLES)[number];

const expiry = z.number().int().positive();

const SessionClaims = z.object({
  t: z.literal('s'),
  // Sessions signed before audiences existed have none; they are still sessions by `t` and the MAC,
  // and refusing them would sign every person out on the deploy that adds audiences (a rolling
  // deploy runs old and new servers side by side). They expire within SESSION_TTL_S of that deploy.
  aud: z.literal(SESSION_AUDIENCE).optional(),
  sub: z.string().min(1).max(200),
  name: z.string().min(1).max(200),
  /** The person's email, when an identity provider vouched for it (guest sessions have none). */
  email: z.string().min(3).max(320).optional(),
  iat: z.number().int(),
  exp: expiry,
});

const InviteClaims = z.object({
  t: z.literal('i'),
  // Required: invites live 7 days, so an old link is re-issued rather than trusted without it.
  aud: z.literal(INVITE_AUDIENCE),
  rid: z.string().min(1).max(200),
  role: z.enum(REVIEW_INVITE_ROLES),
  iat: z.number().int(),
  exp: expiry,
  by: z.string().min(1).max(200),
});

const WorkspaceInviteClaims = z.object({
  t: z.literal('w'),
  aud: z.literal(WORKSPACE_INVITE_AUDIENCE),
  wid: z.string().min(1).max(200),
  role: z.enum(WORKSPACE_INVITE_ROLES),
  iat: z.number().int(),
  exp: expiry,
  by: z.string().min(1).max(200),
});

type SessionClaims = z.infer<typeof SessionClaims>;
type WorkspaceInviteClaims = z.infer<typeof WorkspaceInviteClaims>;

/** Who a session names: the user, and their email when the identity provider gave one. */
export interface SessionIdentity {
  user: User;
  email?: string;
}
type InviteClaims = z.infer<typeof InviteClaims>;

export class TokenSigner {
  private readonly secrets: string[];

  constructor(secrets: string[]) {
    if (secrets.length === 0) throw new Error('at least one secret is needed');
    this.secrets = secrets;
  }

  private mac(secret: string, payload: string): Buffer {
    return createHmac('sha256', secret).update(`prism.${payload}`).digest();
  }

  private sign(claims: SessionClaims | InviteClaims | WorkspaceInviteClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `v1.${payload}.${this.mac(this.secrets[0]!, payload).toString('base64url')}`;
  }

  /** The claims of a genuine, unexpired token of the given shape; undefined for anything else. */
  private verify<T extends { exp: number }>(token: unknown, shape: z.ZodType<T>): T | undefined {
    if (typeof token !== 'string' || token.length > 4096) return undefined;
    const [version, payload, mac, ...rest] = token.split('.');
    if (version !== 'v1' || !payload || !mac || rest.length > 0) return undefined;
    const given = Buffer.from(mac, 'base64url');
    const valid = this.secrets.some((secret) => {
      const expected = this.mac(secret, payload);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!valid) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const claims = shape.safeParse(raw);
    if (!claims.success || claims.data.exp * 1000 < Date.now()) return undefined;
    return claims.data;
  }

  session(user: User, email?: string): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({
      t: 's',
      aud: SESSION_AUDIENCE,
      sub: user.id,
      name: user.name,
      ...(email ? { email } : {}),
      iat: now,
      exp: now + SESSION_TTL_S,
    });
  }

  /** The user a session token names, or undefined when it is forged, malformed, expired or not a session. */
  verifySession(token: unknown): User | undefined {
    return this.verifyIdentity(token)?.user;
  }

  /**
   * The user and email a session names. Kept apart from `verifySession` so the email never rides
   * along where a user is shown to others (members, authors of events): only `/api/me` tells it.
   */
  verifyIdentity(token: unknown): SessionIdentity | undefined {
    const claims = this.verify(token, SessionClaims);
    if (!claims) return undefined;
    const user = { id: claims.sub, name: claims.name };
    return claims.email ? { user, email: claims.email } : { user };
  }

  invite(reviewId: string, role: InviteRole, by: User, ttlSeconds = INVITE_TTL_S): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({
      t: 'i',
      aud: INVITE_AUDIENCE,
      rid: reviewId,
      role,
      iat: now,
      exp: now + ttlSeconds,
      by: by.id,
    });
  }

  /**
   * The review and role a genuine invite grants, or undefined when it is forged, malformed, expired,
   * not an invite, or claims a role no invite may grant (an `owner` invite signed with a leaked secret).
   */
  verifyInvite(token: unknown): { reviewId: string; role: InviteRole } | undefined {
    const claims = this.verify(token, InviteClaims);
    return claims ? { reviewId: claims.rid, role: claims.role } : undefined;
  }

  workspaceInvite(
    workspaceId: string,
    role: WorkspaceInviteRole,
    by: User,
    ttlSeconds = INVITE_TTL_S,
  ): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({
      t: 'w',
      aud: WORKSPACE_INVITE_AUDIENCE,
      wid: workspaceId,
      role,
      iat: now,
      exp: now + ttlSeconds,
      by: by.id,
    });
  }

  /** The workspace and role a genuine, unexpired workspace invite grants; undefined for anything else. */
  verifyWorkspaceInvite(token: unknown): { workspaceId: string; role: WorkspaceInviteRole } | undefined {
    const claims = this.verify(token, WorkspaceInviteClaims);
    return claims ? { workspaceId: claims.wid, role: claims.role } : undefined;
  }
}

export const SESSION_COOKIE = 'prism_session';
export const SESSION_MAX_AGE_MS = SESSION_TTL_S * 1000;

/** Reads the session cookie from a Cookie header without a parser dependency for one value. */
export function sessionFromCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        // A malformed cookie is no session, not a server error.
        return undefined;
      }
    }
  }
  return undefined;
}
