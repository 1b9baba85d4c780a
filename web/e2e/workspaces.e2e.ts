/// <reference types="node" />
/**
 * Workspaces in Chromium on two server instances: Ada creates a workspace from the header's
 * switcher (server 1) and makes a member invite link on its members page; Bob opens it on server 2,
 * signs in and lands on the members page with the workspace current; Ada uploads a document with
 * the workspace current, and Bob finds it on his home page and opens it; Ada removes Bob and his
 * members page no longer opens, and his home page is back on Personal.
 *
 *   node e2e/workspaces.e2e.ts   (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots: /tmp/workspace-members.png, /tmp/workspace-home.png.
 */
import assert from 'node:assert/strict';
import {
  createWorkspace,
  DOCUMENT,
  joinWorkspace,
  runE2e,
  signIn,
  until,
  uploadIntoWorkspace,
} from './room-helpers.ts';

const MEMBERS_SHOT = process.env.WORKSPACE_MEMBERS_SHOT || '/tmp/workspace-members.png';
const HOME_SHOT = process.env.WORKSPACE_HOME_SHOT || '/tmp/workspace-home.png';

runE2e('workspaces', async ({ topology, log, person }) => {
  await topology.start(2);
  const [one, two] = topology.servers;
  assert.ok(one && two);
  const ada = await person('Ada Admin');
  const bob = await person('Bob Member');

  // 1. Ada creates a workspace from the switcher.
  await ada.page.goto(`${one.url}/`);
  await signIn(ada.page, ada.name);
  const membersPath = await createWorkspace(ada.page, 'Legal team');
  await ada.page.getByRole('heading', { name: 'Legal team', level: 1 }).waitFor();
  assert.equal(
    await ada.page.getByLabel('Workspace', { exact: true }).inputValue(),
    membersPath.split('/')[2],
  );

  // 2. A member invite link, opened by Bob on server 2.
  await joinWorkspace(ada.page, 'member', bob, two, membersPath);
  await bob.page.getByText('Bob Member (you)').waitFor();
  assert.equal(await bob.page.getByRole('button', { name: /^Remove / }).count(), 0, 'a member cannot remove');
  log('Bob joined the workspace on server 2');

  // 3. Ada sees Bob, then uploads into the workspace from the home page.
  await ada.page.reload();
  await ada.page.getByText('Bob Member').waitFor();
  await ada.page.screenshot({ path: MEMBERS_SHOT });
  const reviewPath = await uploadIntoWorkspace(ada.page, one, 'Legal team', DOCUMENT);

  // 4. Bob's home page (the workspace is current) lists it; he opens it as a reviewer.
  await bob.page.goto(`${two.url}/`);
  const row = bob.page.locator(`a[href="${reviewPath}"]`).first();
  await row.waitFor({ timeout: 15_000 });
  await bob.page.screenshot({ path: HOME_SHOT });
  await row.click();
  await bob.page.waitForURL((url) => url.pathname === reviewPath);
  await bob.page.getByRole('region', { name: 'Findings', exact: true }).waitFor();
  log('Bob opened the workspace review');

  // 5. Ada removes Bob: his members page is refused.
  await ada.page.goto(`${one.url}${membersPath}`);
  await ada.page.getByRole('button', { name: 'Remove Bob Member' }).click();
  await until('Bob gone from the list', async () => (await ada.page.getByText('Bob Member').count()) === 0);
  await bob.page.goto(`${two.url}${membersPath}`);
  await bob.page.getByText('You are not a member of this workspace.').waitFor();
  log('Bob removed');

  // 6. Bob's home page forgets the workspace he was removed from: Personal is current again.
  await bob.page.goto(`${two.url}/`);
  await until('Bob’s browser to forget the workspace', async () =>
    bob.page.evaluate(() => localStorage.getItem('prism.workspace') === null),
  );
  assert.equal(
    await bob.page.getByLabel('Workspace', { exact: true }).inputValue(),
    '',
    'Personal is current',
  );
  await bob.page.getByRole('heading', { name: 'Your reviews', level: 1 }).waitFor();
  assert.equal(
    await bob.page.locator('header select option', { hasText: 'Legal team' }).count(),
    0,
    'the workspace is not offered',
  );
  assert.equal(await bob.page.getByRole('alert').count(), 0, 'no error shown');
  log('Bob back on Personal');
});
