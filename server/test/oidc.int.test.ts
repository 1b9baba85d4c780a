/**
 * Sign-in with an OpenID Connect provider (CONTRACT 7.2), over HTTP against a real provider
 * (`oidc-provider` in this process): login, the provider's login form, callback, Prism's session
 * cookie, /api/me, logout; the same person always gets the same Prism id, on any instance. A
 * tampered state, a replayed code, a code or ID token meant for another client: 401, no cookie.
 * Redirects are followed by hand and cookies carried per host, as a browser would.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanupKeys, onCleanup, startServer, type TestServer, uniquePrefix } from '../../test/helpers.ts';
import { startTestProvider, type TestProvider } from '../../test/oidc-provider.ts';

const PUBLIC_URL = 'http://prism.test';
const CALLBACK = `${PUBLIC_URL}/auth/callback`;
const ACCOUNTS = {
  alice: { name: 'Alice Example', email: 'alice@example.com' },
  bob: { name: 'Bob Builder', email: 'bob@example.com' },
};

/** Prism's instances, all one site to a browser (behind the load balancer, at PUBLIC_URL). */
const prismHosts = new Set<string>();
const siteOf = (url: string): string => {
  const { host } = new URL(url);
  return prismHosts.has(host) ? 'prism' : host;
};

/** A browser's cookies, per site (host:port, Prism's instances as one), set and cleared by Set-Cookie. */
class Jar {
  readonly byHost = new Map<string, Map<string, string>>();

  take(url: string, res: Response): void {
    const host = siteOf(url);
    const cookies = this.byHost.get(host) ?? new Map<string, string>();
    this.byHost.set(host, cookies);
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      const expired = attributes.some(
        (a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()),
      );
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
  }

  header(url: string): string {
    return [...(this.byHost.get(siteOf(url)) ?? new Map()).entries()]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }

  get(url: string, name: string): string | undefined {
    return this.byHost.get(siteOf(url))?.get(name);
  }

  set(url: string, name: string, value: string): void {
    const host = siteOf(url);
    const cookies = this.byHost.get(host) ?? new Map<string, string>();
    cookies.set(name, value);
    this.byHost.set(host, cookies);
  }
}

/** One request without following redirects, carrying and keeping the jar's cookies. */
async function go(jar: Jar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.take(url, res);
  return res;
}

const location = (res: Response): string => {
  const value = res.headers.get('location');
  if (!value) throw new Error(`no Location on a ${res.status}`);
  return value;
};

/** Whether a response sets a (non-empty) Prism session cookie. */
const setsSession = (res: Response): boolean =>
  res.headers.getSetCookie().some((line) => /^prism_session=[^;]+/.test(line));

let provider: TestProvider;
let server: TestServer;
let other: TestServer;

beforeAll(async () => {
  provider = await startTestProvider({
    clients: [
      { id: 'prism', secret: 'prism-client-secret', redirectUris: [CALLBACK] },
      { id: 'another-app', secret: 'another-app-secret', redirectUris: [CALLBACK] },
    ],
    accounts: ACCOUNTS,
  });
  onCleanup(() => provider.close());
  const prefix = uniquePrefix('oidc');
  cleanupKeys(prefix);
  const env = {
    PUBLIC_URL,
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: 'prism',
    OIDC_CLIENT_SECRET: 'prism-client-secret',
    OIDC_PROVIDER_NAME: 'Test IdP',
  };
  // Two instances on one Redis: a login started on one may come back to the other.
  [server, other] = await Promise.all([startServer(prefix, { env }), startServer(prefix, { env })]);
  for (const instance of [server, other]) prismHosts.add(new URL(instance.url).host);
});

/**
 * `/auth/login` on `start`, then the provider (its login form when the jar has no provider
 * session yet), up to the redirect back to Prism: that callback URL, pointed at `server`'s
 * address, not yet opened.
 */
async function toCallback(jar: Jar, start: TestServer, login: string, returnTo = '/'): Promise<string> {
  const first = await go(jar, `${start.url}/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  expect(first.status).toBe(302);
  let next = location(first);
  expect(next.startsWith(`${provider.issuer}/auth?`)).toBe(true);
  for (let hops = 0; hops < 10; hops += 1) {
    if (next.startsWith(CALLBACK)) return next;
    const url = new URL(next, provider.issuer).href;
    const res = await go(jar, url);
    if (res.status === 200 && new URL(url).pathname.startsWith('/interaction/')) {
      expect(await res.text()).toContain('name="login"');
      const submitted = await go(jar, url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt: 'login', login, password: 'any' }),
      });
      expect([302, 303]).toContain(submitted.status);
      next = location(submitted);
      continue;
    }
    expect([302, 303]).toContain(res.status);
    next = location(res);
  }
  throw new Error('the provider never sent the browser back to Prism');
}

/** Opens a callback URL on `target` (the provider sent it to PUBLIC_URL). */
const callback = (jar: Jar, target: TestServer, url: string, headers: Record<string, string> = {}) =>
  go(jar, url.replace(PUBLIC_URL, target.url), { headers });

/** The whole sign-in: login, the provider, callback; the callback's answer. */
async function signIn(jar: Jar, login: string, returnTo = '/', back: TestServer = server) {
  return callback(jar, back, await toCallback(jar, server, login, returnTo));
}

const me = async (jar: Jar, target: TestServer = server) => {
  const res = await go(jar, `${target.url}/api/me`);
  return { status: res.status, body: (await res.json()) as { user?: Record<string, string> } };
};

/** 401 `unauthorized`, no session cookie, and the reason the person is given. */
async function expectUnauthorized(res: Response, reason: RegExp): Promise<void> {
  expect(res.status).toBe(401);
  expect(setsSession(res)).toBe(false);
  expect(await res.json()).toEqual({
    error: { code: 'unauthorized', message: expect.stringMatching(reason) },
  });
}

describe('sign-in with the identity provider', () => {
  it('signs in at the provider and back in Prism, on either instance; logout clears the cookie', async () => {
    const jar = new Jar();
    // Started on one instance, back on the other: the login transaction lives in Redis.
    const res = await signIn(jar, 'alice', '/reviews/r_123?tab=chat', other);
    expect(res.status).toBe(302);
    expect(location(res)).toBe('/reviews/r_123?tab=chat');
    expect(setsSession(res)).toBe(true);
    expect(res.headers.getSetCookie().find((c) => c.startsWith('prism_session='))).toMatch(/HttpOnly/i);
    expect(jar.get(other.url, 'prism_login')).toBeUndefined();

    const first = await me(jar, other);
    expect(first).toEqual({
      status: 200,
      body: {
        user: { id: expect.stringMatching(/^u_/), name: 'Alice Example', email: 'alice@example.com' },
        workspaces: [],
      },
    });
    // The cookie is Prism's ordinary session: the API takes it.
    expect((await go(jar, `${other.url}/api/reviews`)).status).toBe(200);

    // A fresh browser, a fresh login at the provider: the same Prism user.
    const again = new Jar();
    expect((await signIn(again, 'alice')).status).toBe(302);
    expect((await me(again)).body.user?.id).toBe(first.body.user?.id);

    // Another person: another id, their own name and email from the ID token.
    const bobJar = new Jar();
    await signIn(bobJar, 'bob');
    const bob = await me(bobJar);
    expect(bob.body.user).toEqual({
      id: expect.stringMatching(/^u_/),
      name: 'Bob Builder',
      email: 'bob@example.com',
    });
    expect(bob.body.user?.id).not.toBe(first.body.user?.id);

    const out = await go(jar, `${other.url}/auth/logout`, { method: 'POST' });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => /^prism_session=;/.test(c))).toBe(true);
    expect((await me(jar, other)).status).toBe(401);
  });

  it('refuses a tampered state, and a callback this browser did not start', async () => {
    const jar = new Jar();
    const url = new URL(await toCallback(jar, server, 'alice'));
    const state = url.searchParams.get('state') ?? '';
    url.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    await expectUnauthorized(await callback(jar, server, url.href), /state does not match/);

    // Someone else's genuine callback link opened in this browser (login CSRF): no login cookie.
    const theirs = await toCallback(new Jar(), server, 'bob');
    await expectUnauthorized(await callback(new Jar(), server, theirs), /not started in this browser/);
  });

  it('refuses a replayed code: the same callback again, and the code with a new login', async () => {
    const jar = new Jar();
    const url = await toCallback(jar, server, 'alice');
    const state = new URL(url).searchParams.get('state') ?? '';
    expect((await callback(jar, server, url)).status).toBe(302);

    // The same callback again, even with its login cookie put back: the transaction was used.
    jar.set(server.url, 'prism_login', state);
    await expectUnauthorized(await callback(jar, server, url), /already used/);

    // The used code with a fresh, genuine login: the provider refuses the code.
    const fresh = new URL(await toCallback(jar, server, 'alice'));
    fresh.searchParams.set('code', new URL(url).searchParams.get('code') ?? '');
    await expectUnauthorized(
      await callback(jar, server, fresh.href),
      /refused the sign-in code \(invalid_grant\)/,
    );
  });

  it('refuses a code issued to another client', async () => {
    const jar = new Jar();
    // Prism's genuine login, so the state and its cookie are right.
    const prismCallback = new URL(await toCallback(jar, server, 'alice'));
    // The provider, asked by another application (same redirect URI), hands out a code for it.
    const authorize = new URL(`${provider.issuer}/auth`);
    authorize.search = new URLSearchParams({
      client_id: 'another-app',
      response_type: 'code',
      scope: 'openid profile email',
      redirect_uri: CALLBACK,
      state: 'theirs',
      nonce: 'theirs',
    }).toString();
    let next = authorize.href;
    while (!next.startsWith(CALLBACK)) next = new URL(location(await go(jar, next)), provider.issuer).href;
    const code = new URL(next).searchParams.get('code');
    expect(code).toBeTruthy();
    prismCallback.searchParams.set('code', code ?? '');
    await expectUnauthorized(
      await callback(jar, server, prismCallback.href),
      /refused the sign-in code \(invalid_grant\)/,
    );
  });

  it('refuses an ID token for another audience, or with another nonce, signed by the real provider', async () => {
    const jar = new Jar();
    const url = await toCallback(jar, server, 'alice');
    provider.tamperIdToken = (claims) => ({ ...claims, aud: 'another-app' });
    await expectUnauthorized(await callback(jar, server, url), /ID token did not match/);
    expect(provider.tamperIdToken).toBeUndefined();

    const second = await toCallback(jar, server, 'alice');
    provider.tamperIdToken = (claims) => ({ ...claims, nonce: 'not-the-one-prism-sent' });
    await expectUnauthorized(await callback(jar, server, second), /ID token did not match/);
    expect((await me(jar)).status).toBe(401);
  });

  it('shows a browser a page saying why (401, escaped, no cookie), programs the JSON error', async () => {
    const jar = new Jar();
    const url = new URL(await toCallback(jar, server, 'alice'));
    const refused = new URL(CALLBACK);
    refused.search = new URLSearchParams({
      state: url.searchParams.get('state') ?? '',
      iss: provider.issuer,
      error: '<img src=x onerror=alert(1)>',
    }).toString();
    const res = await callback(jar, server, refused.href, { accept: 'text/html,application/xhtml+xml' });
    expect(res.status).toBe(401);
    expect(setsSession(res)).toBe(false);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toContain('Sign-in did not work');
    expect(page).toContain('refused the sign-in (&#60;img src=x onerror=alert(1)&#62;)');
    expect(page).not.toContain('<img');
  });

  it('sends open-redirect attempts in returnTo to /', async () => {
    const jar = new Jar();
    for (const returnTo of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example/',
      '/\t/evil.example',
      '/..//evil.example',
      '/%2F%2Fevil.example',
      'javascript:alert(1)',
    ]) {
      const res = await signIn(jar, 'alice', returnTo);
      expect({ returnTo, status: res.status, location: location(res) }).toEqual({
        returnTo,
        status: 302,
        location: '/',
      });
    }
  });
});

describe('guest sign-in and the sign-in settings', () => {
  it('answers 403 guest_disabled with an issuer and no AUTH_GUEST, and tells the web app so', async () => {
    const res = await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Guest' }),
    });
    expect(res.status).toBe(403);
    expect(setsSession(res)).toBe(false);
    expect(await res.json()).toEqual({
      error: { code: 'guest_disabled', message: expect.stringContaining('Test IdP') },
    });
    expect(await (await fetch(`${server.url}/api/auth/config`)).json()).toEqual({
      guest: false,
      oidc: { name: 'Test IdP' },
    });
  });

  it('allows guests beside the provider with AUTH_GUEST=true, and alone without an issuer', async () => {
    const prefix = uniquePrefix('oidc-guest');
    cleanupKeys(prefix);
    const both = await startServer(prefix, {
      env: {
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: 'prism',
        OIDC_CLIENT_SECRET: 'x',
        AUTH_GUEST: 'true',
      },
    });
    const alone = await startServer(prefix);
    for (const target of [both, alone]) {
      const res = await fetch(`${target.url}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Gus Guest' }),
      });
      expect(res.status).toBe(200);
      const { token } = (await res.json()) as { token: string };
      const mine = await fetch(`${target.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(await mine.json()).toEqual({
        user: { id: expect.stringMatching(/^u_/), name: 'Gus Guest' },
        workspaces: [],
      });
    }
    expect(await (await fetch(`${both.url}/api/auth/config`)).json()).toEqual({
      guest: true,
      oidc: { name: '127.0.0.1' },
    });
    expect(await (await fetch(`${alone.url}/api/auth/config`)).json()).toEqual({ guest: true });
    expect((await fetch(`${alone.url}/auth/login`, { redirect: 'manual' })).status).toBe(404);
  });

  it('answers 503 unavailable, no redirect and no cookie, while the provider does not answer', async () => {
    const prefix = uniquePrefix('oidc-down');
    cleanupKeys(prefix);
    // A provider that is gone: its port was free a moment ago and nothing listens there.
    const gone = await startTestProvider({ clients: [], accounts: {} });
    await gone.close();
    const down = await startServer(prefix, {
      env: { OIDC_ISSUER: gone.issuer, OIDC_CLIENT_ID: 'prism', OIDC_CLIENT_SECRET: 'x' },
    });
    const res = await fetch(`${down.url}/auth/login?returnTo=/`, { redirect: 'manual' });
    expect(res.status).toBe(503);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await res.json()).toEqual({
      error: { code: 'unavailable', message: expect.stringContaining('did not answer') },
    });
  });
});
