import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

const oidc = {
  OIDC_ISSUER: 'https://login.example.com/realms/team',
  OIDC_CLIENT_ID: 'prism',
  OIDC_CLIENT_SECRET: 'a-client-secret',
};

/** The problems loadConfig stops the server with, one line each. */
const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as { problems: string[] }).problems;
  }
};

describe('sign-in configuration', () => {
  it('is guest sign-in alone without OIDC_ISSUER', () => {
    expect(loadConfig({}).auth).toEqual({ guest: true });
  });

  it('turns guest sign-in off by default with an issuer, on when AUTH_GUEST says so', () => {
    const { auth } = loadConfig(oidc);
    expect(auth.guest).toBe(false);
    expect(auth.oidc).toMatchObject({
      clientId: 'prism',
      scopes: 'openid profile email',
      name: 'example.com',
    });
    expect(loadConfig({ ...oidc, AUTH_GUEST: 'true' }).auth.guest).toBe(true);
    expect(loadConfig({ ...oidc, OIDC_PROVIDER_NAME: 'Acme SSO' }).auth.oidc?.name).toBe('Acme SSO');
  });

  it('takes plain http only on a loopback host', () => {
    expect(loadConfig({ ...oidc, OIDC_ISSUER: 'http://127.0.0.1:4000' }).auth.oidc?.insecure).toBe(true);
    expect(loadConfig({ ...oidc, OIDC_ISSUER: 'http://localhost:4000/x' }).auth.oidc?.insecure).toBe(true);
    expect(loadConfig({ ...oidc, OIDC_ISSUER: 'http://[::1]:4000' }).auth.oidc?.insecure).toBe(true);
    for (const issuer of [
      'http://login.example.com',
      'http://10.0.0.5',
      'ftp://127.0.0.1',
      'login.example.com',
    ]) {
      expect(problems({ ...oidc, OIDC_ISSUER: issuer }), issuer).toEqual([
        expect.stringMatching(/^OIDC_ISSUER: /),
      ]);
    }
  });

  it('names each missing or contradictory variable', () => {
    expect(problems({ OIDC_ISSUER: oidc.OIDC_ISSUER })).toEqual([
      expect.stringMatching(/^OIDC_CLIENT_ID: required/),
      expect.stringMatching(/^OIDC_CLIENT_SECRET: required/),
    ]);
    expect(problems({ ...oidc, OIDC_SCOPES: 'profile email' })).toEqual([
      'OIDC_SCOPES: must include "openid"',
    ]);
    expect(problems({ AUTH_GUEST: 'false' })).toEqual([expect.stringMatching(/^AUTH_GUEST: /)]);
    expect(problems({ ...oidc, AUTH_GUEST: 'maybe' })).toEqual([expect.stringMatching(/^AUTH_GUEST: /)]);
  });

  it('labels well-known providers by name', () => {
    const name = (issuer: string) => loadConfig({ ...oidc, OIDC_ISSUER: issuer }).auth.oidc?.name;
    expect(name('https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_abc')).toBe('Amazon Cognito');
    expect(name('https://login.microsoftonline.com/tenant/v2.0')).toBe('Microsoft');
    expect(name('https://accounts.google.com')).toBe('Google');
    expect(name('https://acme.okta.com')).toBe('acme.okta.com');
  });
});
