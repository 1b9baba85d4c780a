/// <reference types="node" />
/**
 * The library's and workspaces' own paths in Chromium on two server instances, with a rules worker:
 *
 * - Ada creates a workspace on server 1 and copies a member invite link with the members page's Copy
 *   button (the clipboard holds the link); Bob opens what she copied on server 2 and joins.
 * - Ada switches the header's workspace switcher by hand: the library's heading and rows and the
 *   upload form's workspace follow (an upload with Personal chosen stays out of the workspace), and
 *   the choice survives a reload, both ways.
 * - In her personal review's room she copies a reviewer link from the Invite dialog; Carol follows
 *   it on server 2 and lands in the room.
 * - Bob's library with the network to GET /api/reviews cut: the error and "Try again", which,
 *   once the network is back, shows the workspace's review.
 * - Bob's insights page with its API cut: the error and "Try again", which shows the figures.
 *
 *   node e2e/workspace-ui.e2e.ts   (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots: web/test-results/workspace-ui-*.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createWorkspace, DOCUMENT, RESULTS, runE2e, signIn, until } from './room-helpers.ts';
import type { ServerInstance } from './topology.ts';

const WORKSPACE = 'Legal team';
const PERSONAL_TITLE = 'Personal draft';
const NETWORK_ERROR = 'Could not reach Prism. Check your connection and try again.';

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(RESULTS, `workspace-ui-${name}.png`), fullPage: true });

const toast = (page: Page, text: string) =>
  page.locator('[data-sonner-toast]', { hasText: text }).first().waitFor();

const clipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());

/** The library's heading, row titles (sorted) and whether the upload form names the workspace. */
async function library(page: Page) {
  await page.locator('li.review a.title').first().waitFor();
  return {
    heading: (await page.getByRole('heading', { level: 1 }).textContent())?.trim(),
    titles: (await page.locator('li.review a.title').allTextContents()).sort(),
    uploadsInto: await page.locator('form p.hint', { hasText: 'In the workspace' }).count(),
    switcher: await page.getByLabel('Workspace', { exact: true }).inputValue(),
  };
}

/** Uploads DOCUMENT from `server`'s home page, into whatever the form says; the room's path. */
async function upload(page: Page, server: ServerInstance, title?: string): Promise<string> {
  await page.goto(`${server.url}/`);
  await page.getByLabel('Document', { exact: true }).setInputFiles(DOCUMENT);
  if (title) await page.getByLabel('Title', { exact: true }).fill(title);
  await page.getByRole('button', { name: 'Start review', exact: true }).click();
  await page.waitForURL(/\/reviews\/[^/]+$/, { timeout: 20_000 });
  return new URL(page.url()).pathname;
}

runE2e('workspace-ui', async ({ topology, log, person }) => {
  await topology.start(2);
  const [one, two] = topology.servers;
  assert.ok(one && two);
  const ada = await person('Ada Admin');
  const bob = await person('Bob Member');
  await ada.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: one.url });

  // 1. Ada creates a workspace and copies a member invite link with the Copy button.
  await ada.page.goto(`${one.url}/`);
  await signIn(ada.page, ada.name);
  const membersPath = await createWorkspace(ada.page, WORKSPACE);
  const workspaceId = membersPath.split('/')[2] ?? '';
  await ada.page.getByRole('button', { name: 'Create invite link' }).click();
  const shown = await until('the invite link', () => ada.page.getByLabel(/Invite link/).inputValue());
  await ada.page.getByRole('button', { name: 'Copy', exact: true }).click();
  await toast(ada.page, 'Invite link copied');
  const copied = await clipboard(ada.page);
  assert.equal(copied, shown, 'the clipboard holds the invite link');
  await shot(ada.page, '1-invite-copied');

  // Bob opens what Ada copied, on server 2: he is a member.
  const invite = new URL(copied);
  await bob.page.goto(`${two.url}${invite.pathname}${invite.search}`);
  await signIn(bob.page, bob.name);
  await bob.page.waitForURL((url) => url.pathname === membersPath, { timeout: 15_000 });
  await bob.page.getByText(`${bob.name} (you)`).waitFor();
  await ada.page.reload();
  await ada.page.getByText(bob.name, { exact: true }).waitFor();
  log('Bob joined through the copied workspace invite link');

  // 2. Ada uploads with the workspace current (createWorkspace made it so), then switches to Personal
  // by hand and uploads again: each list holds its own review, and the choice survives a reload.
  const teamPath = await upload(ada.page, one);
  await ada.page.goto(`${one.url}/`);
  let seen = await library(ada.page);
  assert.equal(seen.heading, WORKSPACE);
  assert.equal(seen.switcher, workspaceId);
  assert.equal(seen.uploadsInto, 1, 'the upload form says it uploads into the workspace');
  assert.equal(seen.titles.length, 1);
  const teamTitle = seen.titles[0];

  // Personal lists every review Ada belongs to, the workspace's one included.
  await ada.page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'Personal' });
  await ada.page.getByRole('heading', { name: 'Your reviews', level: 1 }).waitFor();
  assert.equal(await ada.page.locator('form p.hint', { hasText: 'In the workspace' }).count(), 0);
  const personalPath = await upload(ada.page, one, PERSONAL_TITLE);
  await ada.page.goto(`${one.url}/`);
  const personal = {
    heading: 'Your reviews',
    titles: [PERSONAL_TITLE, teamTitle].sort(),
    uploadsInto: 0,
    switcher: '',
  };
  await until('the personal upload listed', async () => (await library(ada.page)).titles.length === 2);
  assert.deepEqual(await library(ada.page), personal);
  await ada.page.reload();
  await until(
    'the personal upload listed after a reload',
    async () => (await library(ada.page)).titles.length === 2,
  );
  assert.deepEqual(await library(ada.page), personal, 'Personal stays chosen after a reload');
  await shot(ada.page, '2-personal');

  await ada.page.getByLabel('Workspace', { exact: true }).selectOption({ label: WORKSPACE });
  await ada.page.getByRole('heading', { name: WORKSPACE, level: 1 }).waitFor();
  await until('the workspace’s review listed', async () => {
    const titles = await ada.page.locator('li.review a.title').allTextContents();
    return titles.length === 1 && titles[0] === teamTitle;
  });
  assert.equal(await ada.page.locator(`a[href="${teamPath}"]`).count(), 1);
  await ada.page.reload();
  seen = await library(ada.page);
  assert.deepEqual(
    seen,
    { heading: WORKSPACE, titles: [teamTitle], uploadsInto: 1, switcher: workspaceId },
    'the workspace stays chosen after a reload, without the personal upload',
  );
  log('the library and the upload form follow the switcher, across reloads');

  // 3. In the personal review's room, the Invite dialog's Copy button; Carol follows the link.
  const carol = await person('Carol Reviewer');
  await ada.page.goto(`${one.url}${personalPath}`);
  await ada.page.getByRole('region', { name: 'Sections', exact: true }).waitFor();
  await ada.page.getByRole('button', { name: 'Invite', exact: true }).click();
  const dialog = ada.page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Create reviewer link' }).click();
  const reviewerLink = await until('the reviewer link', () =>
    dialog.getByLabel('Reviewer link').inputValue(),
  );
  await dialog.getByRole('button', { name: 'Copy', exact: true }).click();
  await toast(ada.page, 'Link copied.');
  assert.equal(await clipboard(ada.page), reviewerLink, 'the clipboard holds the reviewer link');
  await shot(ada.page, '3-room-invite-copied');
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();
  const link = new URL(await clipboard(ada.page));
  await carol.page.goto(`${two.url}${link.pathname}${link.search}`);
  await signIn(carol.page, carol.name);
  await carol.page.waitForURL((url) => url.pathname === personalPath, { timeout: 15_000 });
  await carol.page.getByRole('region', { name: 'Findings', exact: true }).waitFor();
  assert.equal(
    await carol.page.getByRole('button', { name: 'Analyze all', exact: true }).isEnabled(),
    true,
    'a reviewer may analyse',
  );
  log('Carol joined the room through the copied reviewer link');

  // 4. Bob's library (the workspace is current for him) with GET /api/reviews failing.
  let cut = 0;
  await bob.page.route('**/api/reviews*', (route) => {
    cut += 1;
    return route.abort('internetdisconnected');
  });
  await bob.page.goto(`${two.url}/`);
  const alert = bob.page.getByRole('alert');
  await alert.filter({ hasText: NETWORK_ERROR }).waitFor();
  await bob.page.getByRole('heading', { name: WORKSPACE, level: 1 }).waitFor();
  assert.equal(await bob.page.locator('li.review').count(), 0);
  await shot(bob.page, '4-library-error');
  await bob.page.unroute('**/api/reviews*');
  await bob.page.getByRole('button', { name: 'Try again', exact: true }).click();
  await bob.page.locator(`li.review a[href="${teamPath}"]`).waitFor();
  assert.equal(await alert.count(), 0, 'the error is gone');
  assert.equal((await bob.page.getByRole('heading', { level: 1 }).textContent())?.trim(), WORKSPACE);
  log(`the library's error (${cut} request(s) cut) and Try again`);

  // 5. Bob's insights page with its API failing, then Try again.
  const insights = `**/api/workspaces/${workspaceId}/insights*`;
  await bob.page.route(insights, (route) => route.abort('internetdisconnected'));
  await bob.page.goto(`${two.url}${membersPath}/insights`);
  await alert.filter({ hasText: NETWORK_ERROR }).waitFor();
  assert.equal(await bob.page.getByRole('heading', { name: 'Acceptance', exact: true }).count(), 0);
  await shot(bob.page, '5-insights-error');
  await bob.page.unroute(insights);
  await bob.page.getByRole('button', { name: 'Try again', exact: true }).click();
  await bob.page.getByRole('heading', { name: 'Acceptance', exact: true }).waitFor({ timeout: 5_000 });
  assert.equal(await alert.count(), 0, 'the error is gone');
  assert.match((await bob.page.locator('p.meta').first().textContent()) ?? '', /^\s*1\s+review,/);
  await shot(bob.page, '5-insights-recovered');
  log('the insights page’s error and Try again');
});
