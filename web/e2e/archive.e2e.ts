/// <reference types="node" />
/**
 * A review's end in two browsers on two server instances, end to end: Olivia archives her review
 * from the room and lands in the library, where it is listed as archived; she opens it again and it
 * is there as it was (restored); she opens Delete…, which names the review and stays off until its
 * title is typed, and deletes it; Ravi, in the room on the other server, is told "This review was
 * deleted by Olivia Owner" and the review is gone for him too.
 *
 *   node e2e/archive.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots: web/test-results/archive-*.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DOCUMENT, joinByLink, RESULTS, reviewerLink, runE2e, startReview, until } from './room-helpers.ts';

runE2e('archive', async ({ topology, log, person }) => {
  await topology.start(2);
  const [one, two] = topology.servers;
  assert.ok(one && two);
  const olivia = await person('Olivia Owner');
  const ravi = await person('Ravi Reviewer');
  const reviewPath = await startReview(olivia.page, one, olivia.name, DOCUMENT);
  await olivia.page.getByRole('region', { name: 'Sections', exact: true }).waitFor();
  await joinByLink(ravi, two, await reviewerLink(olivia.page), reviewPath);
  const title = (await olivia.page.locator('header.room-bar h1').textContent())?.trim() ?? '';
  assert.ok(title, 'the room shows the review title');
  log(`review ${reviewPath} "${title}": Olivia on server 1, Ravi on server 2`);

  // Only the owner has the actions.
  const ravisBar = ravi.page.locator('header.room-bar');
  assert.equal(await ravisBar.getByRole('button', { name: 'Archive', exact: true }).count(), 0);
  assert.equal(await ravisBar.getByRole('button', { name: 'Delete…', exact: true }).count(), 0);

  // 1. Archive: the library lists it as archived.
  const bar = olivia.page.locator('header.room-bar');
  await bar.getByRole('button', { name: 'Archive', exact: true }).click();
  const archiveDialog = olivia.page.getByRole('dialog', { name: 'Archive this review?' });
  await archiveDialog.waitFor();
  await archiveDialog.getByRole('button', { name: 'Archive', exact: true }).click();
  await olivia.page.waitForURL((url) => url.pathname === '/', { timeout: 15_000 });
  await olivia.page.goto(`${one.url}/?status=archived`);
  await until('the archived review in the library', async () =>
    ((await olivia.page.locator('main').textContent()) ?? '').includes(title),
  );
  await olivia.page.screenshot({ path: join(RESULTS, 'archive-library.png') });

  // 2. Opening it again restores it: the room is as it was, on the other server too.
  await olivia.page.goto(`${two.url}${reviewPath}`);
  await olivia.page.getByRole('region', { name: 'Sections', exact: true }).waitFor();
  assert.equal((await olivia.page.locator('header.room-bar h1').textContent())?.trim(), title);
  log('the archived review opened again, restored');

  // 3. Delete…: named, and off until the title is typed.
  await bar.getByRole('button', { name: 'Delete…', exact: true }).click();
  const dialog = olivia.page.getByRole('dialog', { name: 'Delete this review?' });
  await dialog.waitFor();
  assert.ok(((await dialog.textContent()) ?? '').includes(title), 'the dialog names the review');
  const confirm = dialog.getByRole('button', { name: 'Delete review', exact: true });
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByLabel("Type the review's title to confirm").fill(`${title} (not quite)`);
  assert.equal(await confirm.isDisabled(), true);
  await dialog.getByLabel("Type the review's title to confirm").fill(title);
  assert.equal(await confirm.isDisabled(), false);
  await olivia.page.screenshot({ path: join(RESULTS, 'archive-delete-dialog.png') });
  await confirm.click();
  await olivia.page.waitForURL((url) => url.pathname === '/', { timeout: 15_000 });

  // 4. Ravi, on server 2 all along, is told who deleted it; the review is gone for him.
  const notice = ravi.page.getByRole('heading', { name: `This review was deleted by ${olivia.name}` });
  await until('Ravi sees the deletion', () => notice.isVisible(), 10_000);
  await ravi.page.screenshot({ path: join(RESULTS, 'archive-deleted-ravi.png') });
  const status = await ravi.page.evaluate(async (path) => (await fetch(`/api${path}`)).status, reviewPath);
  assert.equal(status, 404);
  log('deleted: Ravi was told, and the review answers 404');
});
