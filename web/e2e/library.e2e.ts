/// <reference types="node" />
/**
 * The library (the home page) in Chromium on two server instances: Olivia uploads two documents on
 * server 1; Ravi opens one of them on server 2; on server 2 Olivia's library lists both with their
 * status, progress and Ravi in the one he has open; typing a word of one document's text finds that
 * one alone (and the URL says `?q=`, so a reload keeps the search); the status filter shows the
 * submitted one after a submit; a search that matches nothing says so and clears.
 *
 *   node e2e/library.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots: /tmp/library.png (the list), /tmp/library-search.png, /tmp/library-empty.png.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { DOCUMENT, joinByLink, reviewerLink, runE2e, startReview, until } from './room-helpers.ts';
import { REPO } from './topology.ts';

const LIST_SHOT = process.env.LIBRARY_SHOT || '/tmp/library.png';
const SEARCH_SHOT = process.env.LIBRARY_SEARCH_SHOT || '/tmp/library-search.png';
const EMPTY_SHOT = process.env.LIBRARY_EMPTY_SHOT || '/tmp/library-empty.png';
/** A Chilean land policy of the corpus (Spanish): its words are in no other document here. */
const POLICY = resolve(REPO, '../shared/corpus/docx/poi-stress018-es-policy-numbered.docx');

/** The titles of the library's rows, in order. */
const titles = (page: Page): Promise<string[]> => page.locator('li.review a.title').allTextContents();

/** Uploads a .docx through the API from the signed-in page; the new review's id. */
async function uploadFrom(page: Page, file: string, title: string): Promise<string> {
  const base64 = readFileSync(file).toString('base64');
  return page.evaluate(
    async ({ base64, title }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const form = new FormData();
      form.set('file', new Blob([bytes]), 'policy.docx');
      form.set('title', title);
      const res = await fetch('/api/reviews', { method: 'POST', body: form });
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { review: { id: string } }).review.id;
    },
    { base64, title },
  );
}

runE2e('library', async ({ topology, log, person }) => {
  await topology.start(2);
  const [one, two] = topology.servers;
  assert.ok(one && two);
  const olivia = await person('Olivia Owner');
  const ravi = await person('Ravi Reviewer');

  // 1. Olivia uploads the contract through the home page (server 1), and the policy through the API.
  const contractPath = await startReview(olivia.page, one, olivia.name, DOCUMENT);
  const link = await reviewerLink(olivia.page);
  const policyId = await uploadFrom(olivia.page, POLICY, 'Políticas de suelo');
  // 2. Ravi opens the contract on server 2 and stays in it.
  await joinByLink(ravi, two, link, contractPath);
  log(`contract ${contractPath}, policy ${policyId}; Ravi in the contract on server 2`);

  // 3. Olivia's library on server 2: both, newest activity first, Ravi shown in the contract.
  await olivia.page.goto(`${two.url}/`);
  const rows = olivia.page.locator('li.review');
  await until('both reviews listed', async () => (await rows.count()) === 2);
  const contract = rows.filter({ has: olivia.page.locator(`a[href="${contractPath}"]`) });
  await until('Ravi in the contract', async () =>
    ((await contract.locator('.people').textContent()) ?? '').includes('Ravi Reviewer'),
  );
  assert.equal(await contract.locator('.status').textContent(), 'Open');
  assert.match((await contract.locator('.count').textContent()) ?? '', /No findings yet/);
  await olivia.page.screenshot({ path: LIST_SHOT });
  log(`the library: ${LIST_SHOT}`);

  // 4. A word of the policy's text (not its title) finds the policy alone; the URL keeps it.
  const search = olivia.page.getByRole('searchbox', { name: 'Search titles and document text' });
  await search.fill('desigualdad');
  await olivia.page.waitForURL(/\?q=desigualdad/);
  await until('the policy alone', async () => (await titles(olivia.page)).join('|') === 'Políticas de suelo');
  await olivia.page.screenshot({ path: SEARCH_SHOT });
  await olivia.page.reload();
  await until(
    'the search kept after a reload',
    async () => (await titles(olivia.page)).join('|') === 'Políticas de suelo',
  );
  assert.equal(await search.inputValue(), 'desigualdad');

  // 5. Submitted, the policy is under "Submitted"; the contract is not.
  await olivia.page.evaluate(async (id) => {
    const res = await fetch(`/api/reviews/${id}/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (!res.ok) throw new Error(`submit: ${res.status}`);
  }, policyId);
  await search.fill('');
  await olivia.page.getByRole('button', { name: 'Submitted', exact: true }).click();
  await olivia.page.waitForURL(/status=submitted/);
  // The rows shown before the filter applies are the policy too (still marked Open): wait for the badge.
  await until(
    'only the submitted policy',
    async () =>
      (await titles(olivia.page)).join('|') === 'Políticas de suelo' &&
      (await rows.first().locator('.status').textContent()) === 'Submitted',
  );

  // 6. Nothing matches: the empty state says so, and clearing shows everything again.
  await search.fill('zzyzxnothing');
  const empty = olivia.page.getByText('review mentions');
  await empty.waitFor();
  await olivia.page.screenshot({ path: EMPTY_SHOT });
  await olivia.page.getByRole('button', { name: 'Clear the search', exact: true }).click();
  await until('both again', async () => (await rows.count()) === 2);
  assert.ok(!new URL(olivia.page.url()).search, 'the URL has no filter left');
});
