import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sessionFromCookie, TokenSigner } from './tokens.ts';

const ada = { id: 'u_ada', name: 'Ada' };
const SECRET = 'secret-0123456789abc';

/** What someone holding the secret could sign: any claims at all, in Prism's token format. */
const signed = (claims: Record<string, unknown>, secret = SECRET): string => {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = createHmac('sha256', secret).update(`prism.${payload}`).digest('base64url');
  return `v1.${payload}.${mac}`;
};
const later = () => Math.floor(Date.now() / 1000) + 3600;

describe('tokens', () => {
  it('round-trips a session and refuses a tampered one', () => {
    const signer = new TokenSigner(['first-secret-0123456789']);
    const token = signer.session(ada);
    expect(signer.verifySession(token)).toEqual(ada);
    const [v, payload, mac] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ t: 's', sub: 'u_eve', name: 'Eve', iat: 0, exp: 9e9 }),
    ).toString('base64url');
    expect(signer.verifySession(`${v}.${forged}.${mac}`)).toBeUndefined();
    expect(signer.verifySession(`${v}.${payload}.${mac}x`)).toBeUndefined();
    expect(signer.verifySession('garbage')).toBeUndefined();
  });

  it('carries an email the identity provider gave, and only verifyIdentity tells it', () => {
    const signer = new TokenSigner([SECRET]);
    const token = signer.session(ada, 'ada@example.com');
    expect(signer.verifyIdentity(token)).toEqual({ user: ada, email: 'ada@example.com' });
    expect(signer.verifySession(token)).toEqual(ada);
    expect(signer.verifyIdentity(signer.session(ada))).toEqual({ user: ada });
    expect(
      signer.verifyIdentity(signed({ t: 's', sub: 'u_x', name: 'X', email: 7, iat: 0, exp: later() })),
    ).toBeUndefined();
  });

  it('rotates: the first secret signs, every listed secret verifies', () => {
    const old = new TokenSigner(['old-secret-0123456789']);
    const rotated = new TokenSigner(['new-secret-0123456789', 'old-secret-0123456789']);
    expect(rotated.verifySession(old.session(ada))).toEqual(ada);
    expect(old.verifySession(rotated.session(ada))).toBeUndefined();
  });

  it('keeps invites and sessions apart, and expires invites', () => {
    const signer = new TokenSigner(['secret-0123456789abc']);
    const invite = signer.invite('r_1', 'viewer', ada);
    expect(signer.verifyInvite(invite)).toEqual({ reviewId: 'r_1', role: 'viewer' });
    expect(signer.verifySession(invite)).toBeUndefined();
    expect(signer.verifyInvite(signer.session(ada))).toBeUndefined();
    expect(signer.verifyInvite(signer.invite('r_1', 'reviewer', ada, -1))).toBeUndefined();
  });

  it('names type and audience in every token', () => {
    const signer = new TokenSigner([SECRET]);
    const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims(signer.session(ada))).toMatchObject({ t: 's', aud: 'prism:session' });
    expect(claims(signer.invite('r_1', 'viewer', ada))).toMatchObject({ t: 'i', aud: 'prism:invite' });
  });

  it('refuses an invite for a role no invite grants, even signed with the secret', () => {
    const signer = new TokenSigner([SECRET]);
    const invite = { t: 'i', aud: 'prism:invite', rid: 'r_1', iat: 0, exp: later(), by: 'u_ada' };
    expect(signer.verifyInvite(signed({ ...invite, role: 'reviewer' }))).toEqual({
      reviewId: 'r_1',
      role: 'reviewer',
    });
    for (const role of ['owner', 'admin', '', undefined, 7]) {
      expect(signer.verifyInvite(signed({ ...invite, role })), String(role)).toBeUndefined();
    }
  });

  it('checks the audience: a token for one use never serves another', () => {
    const signer = new TokenSigner([SECRET]);
    const session = { t: 's', sub: 'u_ada', name: 'Ada', iat: 0, exp: later() };
    const invite = { t: 'i', rid: 'r_1', role: 'viewer', iat: 0, exp: later(), by: 'u_ada' };
    // A session's claims under an invite's audience, and the other way round.
    expect(signer.verifySession(signed({ ...session, aud: 'prism:invite' }))).toBeUndefined();
    expect(signer.verifyInvite(signed({ ...invite, aud: 'prism:session' }))).toBeUndefined();
    expect(signer.verifyInvite(signed({ ...invite, t: 's', aud: 'prism:invite' }))).toBeUndefined();
    // Invites must carry their audience; sessions signed before audiences existed still open.
    expect(signer.verifyInvite(signed(invite))).toBeUndefined();
    expect(signer.verifySession(signed(session))).toEqual(ada);
    // Claims of the wrong types are not trusted either.
    expect(signer.verifySession(signed({ ...session, sub: { id: 'u_eve' } }))).toBeUndefined();
    expect(signer.verifySession(signed({ ...session, exp: 'never' }))).toBeUndefined();
  });

  it('keeps workspace invites and review invites apart, and grants only admin or member', () => {
    const signer = new TokenSigner([SECRET]);
    const workspace = signer.workspaceInvite('w_1', 'member', ada);
    expect(signer.verifyWorkspaceInvite(workspace)).toEqual({ workspaceId: 'w_1', role: 'member' });
    expect(signer.verifyInvite(workspace)).toBeUndefined();
    expect(signer.verifySession(workspace)).toBeUndefined();
    const review = signer.invite('r_1', 'reviewer', ada);
    expect(signer.verifyWorkspaceInvite(review)).toBeUndefined();
    expect(signer.verifyWorkspaceInvite(signer.session(ada))).toBeUndefined();
    const claims = { t: 'w', aud: 'prism:workspace-invite', wid: 'w_1', iat: 0, exp: later(), by: 'u_ada' };
    expect(signer.verifyWorkspaceInvite(signed({ ...claims, role: 'admin' }))?.role).toBe('admin');
    for (const role of ['owner', 'reviewer', '', undefined]) {
      expect(signer.verifyWorkspaceInvite(signed({ ...claims, role })), String(role)).toBeUndefined();
    }
    expect(
      signer.verifyWorkspaceInvite(signed({ ...claims, role: 'member', aud: 'prism:invite' })),
    ).toBeUndefined();
    expect(signer.verifyWorkspaceInvite(signer.workspaceInvite('w_1', 'member', ada, -10))).toBeUndefined();
  });

  it('reads the session cookie among others', () => {
    expect(sessionFromCookie('a=1; prism_session=v1.x.y; b=2')).toBe('v1.x.y');
    expect(sessionFromCookie('a=1')).toBeUndefined();
    expect(sessionFromCookie('prism_session=%E0%A4%A')).toBeUndefined();
  });
});
