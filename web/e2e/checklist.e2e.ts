/// <reference types="node" />
/**
 * The checklist in two browsers on two server instances (plus one rules worker): once every
 * section is analysed, both rooms show a chip per checkpoint with its verdict; the owner opens a
 * failed checkpoint, jumps from its evidence to the quote in the document and overrides the
 * verdict with a comment; the reviewer, on the other server, sees the chip change at once and the
 * comment in its detail.
 *
 *   node e2e/checklist.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots go to web/test-results/checklist-*.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { analysedRoomOnTwoServers, RESULTS, runE2e, until } from './room-helpers.ts';

const chip = (page: Page, n: number) =>
  page
    .getByRole('region', { name: 'Checklist' })
    .getByRole('button', { name: new RegExp(`^Checkpoint ${n},`) });

runE2e('checklist', async (run) => {
  const { olivia, ravi } = await analysedRoomOnTwoServers(run);

  // 1. Verdicts arrive in both rooms once the last section is done: 12 chips, the rules' labelled.
  for (const person of [olivia, ravi]) {
    await until(
      `${person.name}'s checklist`,
      async () => {
        const label = (await chip(person.page, 12).getAttribute('aria-label')) ?? '';
        return !label.includes('not judged');
      },
      20_000,
    );
    assert.equal(
      await person.page.getByRole('region', { name: 'Checklist' }).getByRole('button').count(),
      12,
    );
  }
  assert.match((await chip(olivia.page, 3).getAttribute('aria-label')) ?? '', /needs a model/);
  await olivia.page.screenshot({ path: join(RESULTS, 'checklist-chips.png') });

  // 2. Olivia opens a judged checkpoint with evidence, and jumps to its quote.
  let opened = 0;
  for (const n of [7, 11, 9, 6, 10]) {
    await chip(olivia.page, n).click();
    const dialog = olivia.page.getByRole('dialog');
    await dialog.waitFor();
    if ((await dialog.locator('button.quote').count()) > 0) {
      opened = n;
      break;
    }
    await olivia.page.keyboard.press('Escape');
  }
  assert.ok(opened > 0, 'a checkpoint with evidence');
  const dialog = olivia.page.getByRole('dialog');
  await olivia.page.screenshot({ path: join(RESULTS, 'checklist-detail.png') });
  const quote = (await dialog.locator('button.quote q').first().textContent()) ?? '';
  await dialog.locator('button.quote').first().click();
  const mark = olivia.page.locator('.prose mark.quote[data-feedback-id="checklist-evidence"]');
  await until('the evidence marked in the document', () => mark.first().isVisible(), 5000);
  assert.ok(quote.includes((await mark.first().textContent()) ?? '\u0000'));
  await olivia.page.screenshot({ path: join(RESULTS, 'checklist-evidence.png') });

  // 3. She overrides it with a comment; Ravi's chip changes, and the comment is in his detail.
  await chip(olivia.page, opened).click();
  await dialog.waitFor();
  await dialog.getByRole('radio', { name: 'Partial' }).check();
  await dialog.getByRole('textbox').fill('The owners are in the linked tracker.');
  await dialog.getByRole('button', { name: 'Override verdict' }).click();
  await until("Olivia's chip overridden", async () =>
    /Partial, overridden$/.test((await chip(olivia.page, opened).getAttribute('aria-label')) ?? ''),
  );
  await until(
    "Ravi's chip overridden",
    async () => /Partial, overridden$/.test((await chip(ravi.page, opened).getAttribute('aria-label')) ?? ''),
    5000,
  );
  await olivia.page.keyboard.press('Escape');
  await chip(ravi.page, opened).click();
  const his = ravi.page.getByRole('dialog');
  await his.getByText('The owners are in the linked tracker.').waitFor();
  await his.getByText(`overridden by ${olivia.name}`).waitFor();
  await ravi.page.screenshot({ path: join(RESULTS, 'checklist-overridden.png') });
});
