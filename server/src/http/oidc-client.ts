/**
 * The OpenID Connect relying party, on `openid-client` (v6): discovery from OIDC_ISSUER, the
 * authorization URL (code flow, PKCE S256, `state`, `nonce`), and the callback's code exchange,
 * which checks the state, the ID token's signature, issuer, audience (this client), expiry and
 * nonce. The issuer's `sub` becomes one stable Prism user id.
 */
import { createHash } from 'node:crypto';
import { LIMITS, PrismError, type User } from '@prism/core';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { OidcSettings } from './oidc-config.ts';

/** What a successful callback yields: the Prism user, and their email when the provider gave one. */
export interface SignedIn {
  user: User;
  email?: string;
}

export interface LoginRequest {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

/** The Prism user id of an issuer's subject: the same person at the same issuer, always the same id. */
export function userIdFor(issuer: string, sub: string): string {
  return `u_${createHash('sha256').update(`oidc\n${issuer}\n${sub}`).digest('base64url').slice(0, 22)}`;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() ? value.replace(/\s+/g, ' ').trim() : undefined;

/** A display name from standard claims, cut to Prism's name limit. */
export function nameFrom(claims: Record<string, unknown>): string {
  const given = [text(claims.given_name), text(claims.family_name)].filter(Boolean).join(' ');
  const name =
    text(claims.name) ??
    (given || undefined) ??
    text(claims.preferred_username) ??
    text(claims.email) ??
    'Signed-in user';
  return [...name].slice(0, LIMITS.name).join('');
}

const emailFrom = (claims: Record<string, unknown>): string | undefined => {
  const email = text(claims.email);
  return email && email.length <= 320 && /^[^@\s]+@[^@\s]+$/.test(email) ? email : undefined;
};

/** The provider did not answer (or answered 5xx): not the person's fault. */
function unreachable(error: unknown): boolean {
  if (error instanceof client.ResponseBodyError) return error.status >= 500;
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return true;
  if (error instanceof TypeError && error.message === 'fetch failed') return true;
  return error instanceof client.ClientError && error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM';
}

export class OidcClient {
  #configuration: Promise<client.Configuration> | undefined;
  private readonly settings: OidcSettings;
  private readonly redirectUri: string;
  private readonly logger: Logger;

  constructor(settings: OidcSettings, redirectUri: string, logger: Logger) {
    this.settings = settings;
    this.redirectUri = redirectUri;
    this.logger = logger;
  }

  get name(): string {
    return this.settings.name;
  }

  /**
   * The discovered configuration; a failed discovery is tried again on the next sign-in. The client
   * authenticates with HTTP Basic (client_secret_basic: the OpenID default, and the only method
   * some providers allow a client by default), or in the form body when the provider only takes that.
   */
  configuration(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, insecure } = this.settings;
    this.#configuration ??= client
      .discovery(
        issuer,
        clientId,
        clientSecret,
        client.ClientSecretBasic(clientSecret),
        insecure ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .then((discovered) => {
        const methods = discovered.serverMetadata().token_endpoint_auth_methods_supported;
        if (!methods || methods.includes('client_secret_basic') || !methods.includes('client_secret_post')) {
          return discovered;
        }
        const configuration = new client.Configuration(
          discovered.serverMetadata(),
          clientId,
          clientSecret,
          client.ClientSecretPost(clientSecret),
        );
        if (insecure) client.allowInsecureRequests(configuration);
        return configuration;
      })
      .catch((error: unknown) => {
        this.#configuration = undefined;
        this.logger.warn(
          { err: error, issuer: this.settings.issuer.href },
          'OpenID Connect discovery failed',
        );
        throw new PrismError(
          'unavailable',
          `${this.settings.name} (the sign-in provider) did not answer. Try again in a moment.`,
        );
      });
    return this.#configuration;
  }

  async login(): Promise<LoginRequest> {
    const configuration = await this.configuration();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url, state, nonce, verifier };
  }

  /**
   * Exchanges the callback's code (with the PKCE verifier) and checks the ID token. Anything the
   * provider or the token gets wrong is `401 unauthorized`; a provider that does not answer, `503`.
   */
  async callback(
    query: string,
    expected: { state: string; nonce: string; verifier: string },
  ): Promise<SignedIn> {
    const configuration = await this.configuration();
    const current = new URL(`${this.redirectUri}${query}`);
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: expected.verifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      if (unreachable(error)) {
        this.logger.warn({ err: error }, 'OpenID Connect token exchange failed');
        throw new PrismError(
          'unavailable',
          `${this.settings.name} (the sign-in provider) did not answer. Try again in a moment.`,
        );
      }
      this.logger.info({ err: error }, 'OpenID Connect sign-in refused');
      throw new PrismError('unauthorized', refusal(error));
    }
    const idToken = tokens.claims();
    if (!idToken)
      throw new PrismError('unauthorized', 'The sign-in provider sent no ID token: sign in again.');
    let claims: Record<string, unknown> = idToken;
    if ((!text(idToken.name) || !emailFrom(idToken)) && tokens.access_token) {
      claims = { ...(await this.userInfo(configuration, tokens.access_token, idToken.sub)), ...idToken };
    }
    const user = { id: userIdFor(idToken.iss, idToken.sub), name: nameFrom(claims) };
    const email = emailFrom(claims);
    return email ? { user, email } : { user };
  }

  /** Claims the ID token left out (some providers keep name and email for userinfo); none on failure. */
  private async userInfo(
    configuration: client.Configuration,
    accessToken: string,
    sub: string,
  ): Promise<Record<string, unknown>> {
    if (!configuration.serverMetadata().userinfo_endpoint) return {};
    try {
      return await client.fetchUserInfo(configuration, accessToken, sub);
    } catch (error) {
      this.logger.warn({ err: error }, 'OpenID Connect userinfo failed; signing in with the ID token alone');
      return {};
    }
  }
}

/** A plain-language reason for a refused sign-in, with the provider's error code when it gave one. */
function refusal(error: unknown): string {
  if (error instanceof client.AuthorizationResponseError) {
    return error.error === 'access_denied'
      ? 'Sign-in was cancelled or refused at the identity provider.'
      : `The identity provider refused the sign-in (${error.error}): sign in again.`;
  }
  if (error instanceof client.ResponseBodyError) {
    return `The identity provider refused the sign-in code (${error.error}): it was already used, has expired, or was issued for another application. Sign in again.`;
  }
  return 'The sign-in could not be verified (the answer or its ID token did not match this sign-in). Sign in again.';
}
