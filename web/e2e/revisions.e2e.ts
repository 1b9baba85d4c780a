/// <reference types="node" />
/**
 * Re-review of a revised document in two browsers on two server instances (plus one rules worker):
 * Olivia, who owns the analysed review on server 1, uploads a revision with one sentence edited;
 * Ravi, on server 2, sees "Revision 2" arrive live, the edited section marked "Changed" in the
 * sections list, and opens its word diff, where the removed and the inserted words are marked.
 *
 *   node e2e/revisions.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots go to web/test-results/revisions-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { analysedRoomOnTwoServers, DOCUMENT, RESULTS, runE2e, until } from './room-helpers.ts';

const BEFORE = 'keep a copy for your records';
const AFTER = 'keep two signed copies for your records';

/** DOCUMENT with one sentence edited in its XML, everything else byte for byte. */
function revisedDocument(): string {
  const files = unzipSync(new Uint8Array(readFileSync(DOCUMENT)));
  const xml = strFromU8(files['word/document.xml']!);
  assert.ok(xml.includes(BEFORE), 'the fixture holds the sentence to edit');
  files['word/document.xml'] = strToU8(xml.replace(BEFORE, AFTER));
  const path = join(RESULTS, 'revisions-v2.docx');
  writeFileSync(path, zipSync(files));
  return path;
}

runE2e('revisions', async (run) => {
  const { log } = run;
  const { olivia, ravi } = await analysedRoomOnTwoServers(run);
  const badge = (page: typeof olivia.page) => page.locator('.badge.revision');
  assert.equal((await badge(ravi.page).textContent())?.trim(), 'Revision 1');

  // 1. Olivia uploads the revision from the room bar.
  const sentAt = Date.now();
  await olivia.page.getByLabel('Revised document (.docx)').setInputFiles(revisedDocument());
  await until('Olivia is told the revision is in', () =>
    olivia.page.locator('[data-sonner-toast]', { hasText: 'Revision 2 is in' }).first().isVisible(),
  );

  // 2. Ravi, on the other server, sees it arrive live with the edited section marked.
  await until(
    'Ravi sees "Revision 2"',
    async () => (await badge(ravi.page).textContent())?.trim() === 'Revision 2',
    10_000,
  );
  log(`Ravi saw revision 2 ${Date.now() - sentAt} ms after the upload started`);
  const nav = ravi.page.getByRole('region', { name: 'Sections', exact: true });
  const marked = nav.locator('[data-revised]');
  assert.equal(await marked.count(), 1, 'exactly one section is marked');
  assert.equal((await marked.textContent())?.trim(), 'Changed');

  // 3. He opens that section and its word diff: the old words struck, the new ones inserted.
  await nav.locator('button:has([data-revised])').click();
  const diff = ravi.page.locator('details.revision-diff');
  await diff.locator('summary').click();
  const body = diff.getByRole('region', { name: 'Changes against revision 1' });
  await until('the diff is shown', () => body.isVisible(), 10_000);
  const deleted = (await body.locator('del').allTextContents()).join(' ');
  const inserted = (await body.locator('ins').allTextContents()).join(' ');
  assert.match(deleted, /\ba\b/);
  assert.match(inserted, /two/);
  assert.match(inserted, /signed/);
  assert.ok((await body.textContent())?.includes('for your records'));
  await ravi.page.screenshot({ path: join(RESULTS, 'revisions-diff.png') });
  await olivia.page.screenshot({ path: join(RESULTS, 'revisions-owner.png') });
  log('diff shown; screenshots in web/test-results/revisions-*.png');
});
