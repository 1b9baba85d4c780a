import { describe, expect, it } from 'vitest';
import { sessionFromCookie, TokenSigner } from './tokens.ts';

const ada = { id: 'u_ada', name: 'Ada' };

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

  it('reads the session cookie among others', () => {
    expect(sessionFromCookie('a=1; prism_session=v1.x.y; b=2')).toBe('v1.x.y');
    expect(sessionFromCookie('a=1')).toBeUndefined();
  });
});
