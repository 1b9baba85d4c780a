/// <reference types="node" />
/**
 * Signing in with the team's identity provider in Chromium, end to end: a real OpenID provider
 * (`oidc-provider`, in this process) and a Prism server with guest sign-in off. The sign-in page
 * offers only "Sign in with Acme SSO"; cancelling at the provider is explained on a Prism page;
 * Chromium fills the provider's login form and comes back to
 * Prism signed in with the name from the ID token; Sign out ends the session; signing in again
 * (the provider remembers the person) is the same Prism user.
 *
 *   node e2e/oidc.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots: /tmp/oidc-sign-in.png (the sign-in page), /tmp/oidc-cancelled.png, /tmp/oidc-signed-in.png.
 */
import assert from 'node:assert/strict';
import { startTestProvider } from '../../test/oidc-provider.ts';
import { runE2e, until } from './room-helpers.ts';
import { freePort } from './topology.ts';

const SIGN_IN_SHOT = process.env.OIDC_SIGN_IN_SHOT || '/tmp/oidc-sign-in.png';
const SIGNED_IN_SHOT = process.env.OIDC_SIGNED_IN_SHOT || '/tmp/oidc-signed-in.png';
const CANCELLED_SHOT = process.env.OIDC_CANCELLED_SHOT || '/tmp/oidc-cancelled.png';

runE2e('oidc', async ({ topology, log, person }) => {
  // The issuer's port is fixed first: the server is told it before the provider (which must know
  // the server's redirect URI) starts. The server's discovery waits for the first sign-in.
  const providerPort = await freePort();
  topology.serverEnv = {
    OIDC_ISSUER: `http://127.0.0.1:${providerPort}`,
    OIDC_CLIENT_ID: 'prism',
    OIDC_CLIENT_SECRET: 'prism-e2e-client-secret',
    OIDC_PROVIDER_NAME: 'Acme SSO',
  };
  await topology.start(1);
  const [server] = topology.servers;
  assert.ok(server);
  const provider = await startTestProvider({
    port: providerPort,
    clients: [
      { id: 'prism', secret: 'prism-e2e-client-secret', redirectUris: [`${server.url}/auth/callback`] },
    ],
    accounts: { alice: { name: 'Alice Atkinson', email: 'alice@acme.example' } },
  });
  try {
    log(`server on ${server.url}, provider at ${provider.issuer}`);
    const alice = await person('Alice Atkinson');
    const { page } = alice;

    // 1. The sign-in page: the provider's button, no guest name form (AUTH_GUEST is off).
    await page.goto(`${server.url}/`);
    const button = page.getByRole('link', { name: 'Sign in with Acme SSO', exact: true });
    await button.waitFor();
    assert.equal(await page.getByLabel('Your name', { exact: true }).count(), 0, 'no guest name form');
    assert.equal(await button.getAttribute('href'), '/auth/login?returnTo=%2F');
    await page.screenshot({ path: SIGN_IN_SHOT });
    log(`the sign-in page: ${SIGN_IN_SHOT}`);

    // 2. Cancelled at the provider: Prism says so on a page of its own (401, no session), and
    // "Back to Prism" is the sign-in page again.
    await button.click();
    await page.waitForURL((url) => url.origin === provider.issuer, { timeout: 15_000 });
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await page.getByRole('heading', { name: 'Sign-in did not work' }).waitFor();
    assert.match((await page.locator('main p').first().textContent()) ?? '', /cancelled/);
    assert.equal(new URL(page.url()).pathname, '/auth/callback');
    await page.screenshot({ path: CANCELLED_SHOT });
    await page.getByRole('link', { name: 'Back to Prism' }).click();
    await button.waitFor();
    log('cancelled at the provider: told so, not signed in');

    // 3. At the provider: its own login form, filled as a person would.
    await button.click();
    await page.waitForURL((url) => url.origin === provider.issuer, { timeout: 15_000 });
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign-in' }).click();

    // 4. Back in Prism, signed in with the provider's name; the home page is Prism's, not a form.
    await page.waitForURL((url) => url.origin === server.url && url.pathname === '/', { timeout: 15_000 });
    const who = page.locator('header.topbar .who');
    await until(
      'the name from the ID token in the top bar',
      async () => (await who.textContent()) === 'Alice Atkinson',
    );
    assert.match((await who.getAttribute('title')) ?? '', /alice@acme\.example/);
    await page.getByLabel('Document', { exact: true }).waitFor();
    const first = await page.evaluate(
      async () => (await (await fetch('/api/me')).json()) as { user: { id: string } },
    );
    await page.screenshot({ path: SIGNED_IN_SHOT });
    log(`signed in as ${first.user.id}: ${SIGNED_IN_SHOT}`);

    // 5. Sign out: the session is gone and the sign-in page is back.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await button.waitFor();
    assert.equal(await page.evaluate(async () => (await fetch('/api/me')).status), 401);

    // 6. Sign in again: the provider remembers Alice (no form), and she is the same Prism user.
    await button.click();
    await page.waitForURL((url) => url.origin === server.url && url.pathname === '/', { timeout: 15_000 });
    await until('signed in again', async () => (await who.textContent()) === 'Alice Atkinson');
    const again = await page.evaluate(
      async () => (await (await fetch('/api/me')).json()) as { user: { id: string } },
    );
    assert.equal(again.user.id, first.user.id);
    log('signed out and in again: the same user');
  } finally {
    await provider.close();
  }
});
