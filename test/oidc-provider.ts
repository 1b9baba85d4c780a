/**
 * A real OpenID provider for sign-in tests: `oidc-provider` (the certified Node implementation) in
 * this process on a free loopback port, with confidential clients and accounts by login name. Its
 * development login page (devInteractions) signs in whoever types a known login, any password;
 * consent is granted up front for the registered clients, as for a company's own application.
 *
 * `tamperIdToken` lets a test rewrite the next ID token the token endpoint issues (re-signed
 * with the provider's real key), e.g. one for another audience.
 */

import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { freePort } from './free-port.ts';

export interface TestAccount {
  name?: string;
  email?: string;
}

export interface TestClient {
  id: string;
  secret: string;
  redirectUris: string[];
}

export interface TestProvider {
  issuer: string;
  provider: Provider;
  /** Rewrites the claims of the next ID token the token endpoint issues; cleared once used. */
  tamperIdToken: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  close(): Promise<void>;
}

export async function startTestProvider(options: {
  clients: TestClient[];
  accounts: Record<string, TestAccount>;
  port?: number;
}): Promise<TestProvider> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };

  const configuration: Configuration = {
    clients: options.clients.map((client) => ({
      client_id: client.id,
      client_secret: client.secret,
      redirect_uris: client.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    // Claims of the granted scopes go in the ID token itself, as Cognito, Entra ID and Keycloak do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    async findAccount(_ctx, sub) {
      const account = options.accounts[sub];
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          ...(account.name ? { name: account.name } : {}),
          ...(account.email ? { email: account.email, email_verified: true } : {}),
        }),
      };
    },
    // The registered clients are the provider's own applications: no consent screen.
    async loadExistingGrant(ctx) {
      const oidc = ctx.oidc;
      const client = oidc.client;
      const session = oidc.session;
      if (!client || !session?.accountId) return undefined;
      const grantId = oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (grantId) return oidc.provider.Grant.find(grantId);
      const grant = new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
  };

  // The issuer names the port, so the port is found first.
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);

  const test: TestProvider = {
    issuer,
    provider,
    tamperIdToken: undefined,
    close: async () => {
      listening.closeAllConnections();
      await new Promise<void>((done) => listening.close(() => done()));
    },
  };

  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const tamper = test.tamperIdToken;
    const body = ctx.body as { id_token?: string } | undefined;
    if (!tamper || ctx.path !== '/token' || typeof body?.id_token !== 'string') return;
    test.tamperIdToken = undefined;
    const [, payload] = body.id_token.split('.');
    const claims = tamper(JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')));
    body.id_token = signJwt(claims, privateKey);
  });

  const listening: Server = provider.listen(port, '127.0.0.1');
  await new Promise<void>((done, fail) => {
    listening.once('listening', done);
    listening.once('error', fail);
  });
  return test;
}

const KID = 'test-key';

/** A compact RS256 JWS, as the provider signs its own ID tokens. */
function signJwt(claims: Record<string, unknown>, key: KeyObject): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', kid: KID, typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key).toString('base64url')}`;
}
