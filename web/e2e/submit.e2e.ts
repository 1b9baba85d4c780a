/// <reference types="node" />
/**
 * Submitting a review in two browsers on two server instances (plus one rules worker), end to end:
 * upload, analyze, the Submit dialog warns while nothing is accepted, accept one finding, the summary
 * counts it, submit; the second browser shows "Submitted by ..." live and loses its decision buttons;
 * the package downloads as a zip holding the documents, JSON and CSV; the reviewed DOCX downloads with
 * the accepted finding as a Word comment; the package is saved to the team's storage by the worker.
 *
 *   node e2e/submit.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * The dialog's screenshot goes to /tmp/submit.png, the others to web/test-results/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { analysedRoomOnTwoServers, findings, RESULTS, runE2e, until } from './room-helpers.ts';

const DIALOG_SHOT = process.env.SUBMIT_SHOT || '/tmp/submit.png';

/** The four figures of the Submit dialog's summary. */
async function figures(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const result: Record<string, number> = {};
    for (const figure of document.querySelectorAll<HTMLElement>('dialog [data-figure]')) {
      result[figure.dataset.figure ?? ''] = Number(figure.querySelector('strong')?.textContent);
    }
    return result;
  });
}

runE2e('submit', async (run) => {
  const { log, topology } = run;
  // 1-2. Olivia uploads on server 1 and invites Ravi, who joins on server 2; she analyses all and
  // the rules' findings arrive in both rooms.
  const { olivia, ravi, count } = await analysedRoomOnTwoServers(run);

  // 3. The Submit dialog before anything is accepted: everything pending, and the warning.
  const bar = olivia.page.locator('header.room-bar');
  await bar.getByRole('button', { name: 'Submit review', exact: true }).click();
  const dialog = olivia.page.getByRole('dialog', { name: 'Submit review' });
  await dialog.waitFor();
  assert.deepEqual(await figures(olivia.page), { accepted: 0, rejected: 0, pending: count, custom: 0 });
  assert.match((await dialog.getByRole('note').textContent()) ?? '', /Nothing is accepted/);
  await dialog.getByRole('button', { name: 'Close', exact: true }).click();

  // 4. Olivia accepts one finding; the summary counts it and the warning is gone.
  const first = findings(olivia.page).first();
  await first.getByRole('button', { name: 'Accept', exact: true }).click();
  await until(
    'the acceptance',
    async () => (await first.locator('.status-word').textContent()) === 'Accepted',
  );
  await bar.getByRole('button', { name: 'Submit review', exact: true }).click();
  await dialog.waitFor();
  await until('the summary with one accepted', async () => (await figures(olivia.page)).accepted === 1);
  assert.deepEqual(await figures(olivia.page), { accepted: 1, rejected: 0, pending: count - 1, custom: 0 });
  assert.ok(!((await dialog.textContent()) ?? '').includes('Nothing is accepted'));
  assert.ok(!((await dialog.textContent()) ?? '').includes('Logs and data'), 'no server path is shown');
  await olivia.page.screenshot({ path: DIALOG_SHOT });
  log(`the dialog before submitting: ${DIALOG_SHOT}`);

  // 5. Submit: Ravi, on the other server, sees it live and can no longer decide.
  const submittedAt = Date.now();
  await dialog.getByRole('button', { name: 'Submit review', exact: true }).click();
  await until('Olivia sees the review submitted', async () =>
    ((await olivia.page.getByRole('dialog', { name: 'Review submitted' }).textContent()) ?? '').includes(
      `Submitted by ${olivia.name}`,
    ),
  );
  const badge = ravi.page.locator('header.room-bar').getByText(`Submitted by ${olivia.name}`);
  await until('Ravi sees "Submitted by Olivia Owner"', () => badge.isVisible(), 5000);
  log(`Ravi saw the submit ${Date.now() - submittedAt} ms after the click`);
  assert.equal(
    await findings(ravi.page).first().getByRole('button', { name: 'Accept', exact: true }).count(),
    0,
  );
  await ravi.page.screenshot({ path: join(RESULTS, 'submit-ravi-submitted.png') });

  // 6. The package downloads as a zip with the documents, the findings as JSON and CSV, the logs.
  const done = olivia.page.getByRole('dialog', { name: 'Review submitted' });
  const [download] = await Promise.all([
    olivia.page.waitForEvent('download'),
    done.getByRole('link', { name: 'Download package (.zip)' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^\d{8}_\d{6}_.+\.zip$/);
  const saved = join(topology.dir, download.suggestedFilename());
  await download.saveAs(saved);
  const files = unzipSync(new Uint8Array(readFileSync(saved)));
  const root = download.suggestedFilename().replace(/\.zip$/, '');
  const names = Object.keys(files).map((name) => name.slice(root.length + 1));
  for (const expected of [
    'documents/docx4j-contributor-agreement-libreoffice.docx',
    'documents/docx4j-contributor-agreement-libreoffice_reviewed.docx',
    'feedback/accepted.json',
    'feedback/findings.csv',
    'report.json',
    'logs/activity.jsonl',
  ]) {
    assert.ok(names.includes(expected), `the package holds ${expected} (it has ${names.join(', ')})`);
  }
  const accepted = JSON.parse(strFromU8(files[`${root}/feedback/accepted.json`]!)) as unknown[];
  assert.equal(accepted.length, 1);
  const activity = strFromU8(files[`${root}/logs/activity.jsonl`]!);
  assert.match(activity, /"type":"review.status"/);
  log(`package ${download.suggestedFilename()}: ${names.length} files`);

  // 7. "Reviewed DOCX" downloads the document with the accepted finding in Word's comments, under
  //    the name the server gave it.
  const [docx] = await Promise.all([
    olivia.page.waitForEvent('download'),
    done.getByRole('button', { name: 'Reviewed DOCX', exact: true }).click(),
  ]);
  assert.equal(docx.suggestedFilename(), 'docx4j-contributor-agreement-libreoffice_reviewed.docx');
  const docxPath = join(topology.dir, docx.suggestedFilename());
  await docx.saveAs(docxPath);
  const parts = unzipSync(new Uint8Array(readFileSync(docxPath)));
  assert.ok(parts['word/document.xml'], 'the download is a Word document');
  assert.ok(parts['word/comments.xml'], 'the reviewed document carries the accepted finding as a comment');

  // 8. "Save package to storage": the worker writes it and the room's export.ready event says so.
  await done.getByRole('button', { name: 'Save package to storage', exact: true }).click();
  const savedNote = done.getByRole('status').filter({ hasText: "Saved to the team's storage" });
  await until('the package saved to storage', () => savedNote.isVisible(), 15_000);
  const stored = Number(/\((\d+) files\)/.exec((await savedNote.textContent()) ?? '')?.[1]);
  const packaged = names.filter((name) => !name.endsWith('/')).length;
  assert.equal(stored, packaged, 'storage holds the same files as the downloaded package');
  log(`reviewed DOCX ${Object.keys(parts).length} parts; package saved to storage (${stored} files)`);
  await olivia.page.screenshot({ path: join(RESULTS, 'submit-olivia-submitted.png') });
});
