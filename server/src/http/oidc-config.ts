/**
 * Sign-in configuration (CONTRACT 7.1): the OpenID Connect issuer and client, and whether guest
 * sign-in is on. `config.ts` composes these variables into the server's schema and calls
 * `authConfig` once at start; a problem here stops the server like any other configuration error.
 */
import { optional } from '@prism/core';
import { z } from 'zod';

export const authEnv = {
  /** OpenID Connect issuer URL (discovery at /.well-known/openid-configuration). Unset: no provider. */
  OIDC_ISSUER: optional(z.string()),
  /** The client registered at the issuer (confidential; PKCE is used as well). */
  OIDC_CLIENT_ID: optional(z.string().max(500)),
  OIDC_CLIENT_SECRET: optional(z.string().max(2000)),
  /** Scopes asked for. Default "openid profile email". */
  OIDC_SCOPES: optional(z.string().max(1000)).default('openid profile email'),
  /** The provider's name on the sign-in button ("Sign in with <name>"). Default: from the issuer's host. */
  OIDC_PROVIDER_NAME: optional(z.string().min(1).max(60)),
  /** Whether POST /api/session {name} (guest sign-in) is allowed. Default true without OIDC_ISSUER, else false. */
  AUTH_GUEST: optional(z.enum(['true', 'false', '1', '0'])),
};

type AuthEnv = z.infer<z.ZodObject<typeof authEnv>>;

export interface OidcSettings {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  scopes: string;
  /** Shown as "Sign in with <name>". */
  name: string;
  /** The issuer is plain http on a loopback host (tests, local development). */
  insecure: boolean;
}

export interface AuthConfig {
  guest: boolean;
  oidc?: OidcSettings | undefined;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The label for a provider nobody named: the issuer's host, without the usual login subdomains. */
export function providerNameFrom(issuer: URL): string {
  const host = issuer.hostname.replace(/^\[|\]$/g, '');
  if (/^cognito-idp\./.test(host)) return 'Amazon Cognito';
  if (host === 'login.microsoftonline.com') return 'Microsoft';
  if (host === 'accounts.google.com') return 'Google';
  return host.replace(/^(login|auth|sso|id|accounts)\./, '');
}

/** The sign-in settings, or the problems with them (one line each, like every other variable). */
export function authConfig(env: AuthEnv, problems: string[]): AuthConfig {
  const guestSetting = env.AUTH_GUEST === undefined ? undefined : ['true', '1'].includes(env.AUTH_GUEST);
  if (env.OIDC_ISSUER === undefined) {
    if (env.OIDC_CLIENT_ID || env.OIDC_CLIENT_SECRET) {
      problems.push('OIDC_CLIENT_ID: set OIDC_ISSUER too, or leave the OIDC_* variables unset');
    }
    if (guestSetting === false) {
      problems.push(
        'AUTH_GUEST: false leaves no way to sign in without OIDC_ISSUER; set OIDC_ISSUER or leave AUTH_GUEST unset',
      );
    }
    return { guest: true };
  }
  let issuer: URL | undefined;
  try {
    issuer = new URL(env.OIDC_ISSUER);
  } catch {
    problems.push(`OIDC_ISSUER: "${env.OIDC_ISSUER}" is not a URL (e.g. https://login.example.com/realm)`);
  }
  let insecure = false;
  if (issuer) {
    if (issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname)) {
      insecure = true;
    } else if (issuer.protocol !== 'https:') {
      problems.push(
        'OIDC_ISSUER: must be https:// (plain http:// only on a loopback host: localhost, 127.0.0.1, [::1])',
      );
    }
    if (issuer.search || issuer.hash || issuer.username || issuer.password) {
      problems.push('OIDC_ISSUER: give the issuer URL alone, without a query, fragment or credentials');
    }
  }
  if (!env.OIDC_CLIENT_ID) problems.push('OIDC_CLIENT_ID: required with OIDC_ISSUER');
  if (!env.OIDC_CLIENT_SECRET) {
    problems.push('OIDC_CLIENT_SECRET: required with OIDC_ISSUER (Prism is a confidential client)');
  }
  const scopes = env.OIDC_SCOPES.split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) problems.push('OIDC_SCOPES: must include "openid"');
  if (!issuer || !env.OIDC_CLIENT_ID || !env.OIDC_CLIENT_SECRET) return { guest: guestSetting ?? false };
  return {
    guest: guestSetting ?? false,
    oidc: {
      issuer,
      clientId: env.OIDC_CLIENT_ID,
      clientSecret: env.OIDC_CLIENT_SECRET,
      scopes: scopes.join(' '),
      name: env.OIDC_PROVIDER_NAME ?? providerNameFrom(issuer),
      insecure,
    },
  };
}
