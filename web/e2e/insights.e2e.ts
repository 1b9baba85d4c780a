/// <reference types="node" />
/**
 * Workspace insights in Chromium on two server instances with a rules worker: Ada creates a
 * workspace, invites Bob (who joins on server 2), uploads a document into it and analyses it;
 * Bob opens the workspace's insights page on server 2 from its members page. Ada rejects a
 * finding in the room on server 1: Bob's page shows the rejection without a reload (its poll).
 * Clicking the bar opens the reviews and findings behind it, with a link to the room; the CSV and
 * Excel downloads are offered.
 *
 *   node e2e/insights.e2e.ts   (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshot: web/test-results/insights.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  analysisFinished,
  DOCUMENT,
  findings,
  RESULTS,
  runE2e,
  until,
  uploadIntoWorkspace,
  workspaceOnTwoServers,
} from './room-helpers.ts';

runE2e('insights', async (run) => {
  const { log } = run;
  const { one, two, ada, bob, membersPath } = await workspaceOnTwoServers(run, 'Audit team');

  // Ada uploads into the workspace and analyses it with the rules provider.
  const reviewPath = await uploadIntoWorkspace(ada.page, one, 'Audit team', DOCUMENT);
  await ada.page.getByRole('button', { name: 'Analyze all', exact: true }).click();
  await until('the analysis to finish', () => analysisFinished(ada.page), 30_000);
  await until('findings', async () => (await findings(ada.page).count()) > 0);
  log(`review ${reviewPath} analysed`);

  // Bob opens the insights from the members page, on server 2.
  await bob.page.goto(`${two.url}${membersPath}`);
  await bob.page.getByRole('link', { name: /^Insights/ }).click();
  await bob.page.waitForURL((url) => url.pathname === `${membersPath}/insights`);
  await bob.page.getByRole('heading', { name: 'Acceptance', exact: true }).waitFor();
  const rejectedBars = () => bob.page.getByRole('button', { name: /: 0 accepted, 1 rejected/ });
  assert.equal(await rejectedBars().count(), 0, 'nothing rejected yet');

  // Ada rejects the first finding in the room: Bob's page shows it without a reload.
  const first = findings(ada.page).first();
  const category = (await first.getAttribute('data-category')) ?? '';
  await first.getByRole('button', { name: 'Reject', exact: true }).click();
  await until('the rejection on Bob’s insights page', async () => (await rejectedBars().count()) > 0, 30_000);
  log('the rejection reached the insights page on the other server');

  // The bar opens the reviews and findings behind it.
  const bar = rejectedBars().first();
  await bar.click();
  const drill = bob.page.getByTestId('drill');
  await drill.getByRole('link').first().waitFor();
  assert.equal(await drill.getByRole('link').first().getAttribute('href'), reviewPath);
  assert.ok((await drill.getByText('rejected', { exact: true }).count()) >= 1);
  if (category) log(`first finding's category: ${category}`);
  assert.ok(await bob.page.getByRole('link', { name: 'Download CSV' }).getAttribute('href'));
  const download = bob.page.waitForEvent('download');
  await bob.page.getByRole('link', { name: 'Download Excel' }).click();
  assert.match((await download).suggestedFilename(), /^insights-w_.+\.xlsx$/);
  await bob.page.screenshot({ path: join(RESULTS, 'insights.png'), fullPage: true });
  log('drill-down and downloads work');
});
