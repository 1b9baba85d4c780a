/// <reference types="node" />
/**
 * The rubric library in Chromium: Ada creates a workspace, opens its rubrics page (the built-in
 * default is listed, read-only), writes a rubric of three checkpoints, removes one and moves
 * another up, saves it; edits it (version 2); imports a guidelines .docx and confirms the proposed
 * checkpoints; then uploads a document from the home page with her rubric picked, and the review
 * holds that rubric at its current version; back on the rubrics page she duplicates it (a copy at
 * version 1 with the same checkpoints).
 *
 *   node e2e/rubrics.e2e.ts   (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots: /tmp/rubrics-editor.png, /tmp/rubrics-view.png, /tmp/rubrics-import.png, /tmp/rubrics-upload.png.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { createWorkspace, DOCUMENT, runE2e, signIn, until } from './room-helpers.ts';

const GUIDELINES = resolve(
  import.meta.dirname,
  '../../../shared/corpus/docx/openxmlsdk-regents-rules-numbered.docx',
);
const shot = (name: string) => `/tmp/rubrics-${name}.png`;

runE2e('rubrics', async ({ topology, log, person }) => {
  await topology.start(1);
  const [one] = topology.servers;
  assert.ok(one);
  const ada = await person('Ada Admin');
  const { page } = ada;

  await page.goto(`${one.url}/`);
  await signIn(page, ada.name);
  const membersPath = await createWorkspace(page, 'Incident desk');
  await page.getByRole('link', { name: /^Rubrics/ }).click();
  await page.waitForURL(/\/rubrics$/);
  await page.getByRole('heading', { name: 'Prism default', level: 2 }).waitFor();
  await page.getByText('Built-in · read-only').waitFor();
  assert.equal(
    await page.getByRole('button', { name: 'Edit', exact: true }).count(),
    0,
    'the default is read-only',
  );

  // A new rubric: three checkpoints, the second removed, the last moved up.
  await page.getByRole('button', { name: 'New rubric' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Incident reports');
  await page.getByLabel('Title of checkpoint 1').fill('Customer impact');
  await page.getByLabel('What checkpoint 1 asks').fill('How many customers, for how long.');
  await page.getByRole('button', { name: 'Add checkpoint' }).click();
  await page.getByLabel('Title of checkpoint 2').fill('Will be removed');
  await page.getByRole('button', { name: 'Add checkpoint' }).click();
  await page.getByLabel('Title of checkpoint 3').fill('Owner for every action');
  await page.getByRole('button', { name: 'Remove checkpoint 2' }).click();
  await page.getByRole('button', { name: 'Move checkpoint 2 up' }).click();
  await page.screenshot({ path: shot('editor'), fullPage: true });
  await page.getByRole('button', { name: 'Save rubric' }).click();
  await page.getByRole('heading', { name: 'Incident reports', level: 2 }).waitFor();
  await page.getByText('Version 1', { exact: true }).waitFor();
  const titles = await page.locator('ol.view .title').allInnerTexts();
  assert.deepEqual(
    titles.map((t) => t.trim()),
    ['Owner for every action', 'Customer impact'],
  );
  log('rubric created');

  // An edit saves version 2.
  await page.getByRole('button', { name: 'Edit', exact: true }).click();
  await page.getByLabel('Title of checkpoint 2').fill('Customer impact, in numbers');
  await page.getByRole('button', { name: 'Save rubric' }).click();
  await page.getByText('Version 2', { exact: true }).waitFor();
  await page.screenshot({ path: shot('view'), fullPage: true });

  // Import: proposed checkpoints from a guidelines document, confirmed, saved.
  await page.getByLabel('Import from guidelines').setInputFiles(GUIDELINES);
  await page.getByRole('button', { name: 'Propose checkpoints' }).click();
  await page.getByText(/9 checkpoints proposed from/).waitFor();
  assert.equal(await page.getByLabel('Title of checkpoint 2').inputValue(), 'Rule and Regulation');
  await page.getByRole('button', { name: 'Remove checkpoint 1' }).click();
  await page.screenshot({ path: shot('import'), fullPage: true });
  await page.getByRole('button', { name: 'Save rubric' }).click();
  await page.getByText('8 checkpoints · v1').waitFor();
  log('imported rubric saved');

  // Upload with the rubric picked: the review keeps it, at version 2.
  await page.goto(`${one.url}/`);
  const picker = page.getByLabel('Rubric', { exact: true });
  await until(
    'the rubric picker lists the rubrics',
    async () => (await picker.locator('option').count()) === 3,
  );
  await picker.selectOption({ label: 'Incident reports · v2' });
  await page.getByLabel('Document', { exact: true }).setInputFiles(DOCUMENT);
  await page.screenshot({ path: shot('upload'), fullPage: true });
  await page.getByRole('button', { name: 'Start review', exact: true }).click();
  await page.waitForURL(/\/reviews\/[^/]+$/, { timeout: 20_000 });
  const reviewId = new URL(page.url()).pathname.split('/').pop()!;
  const rubric = await page.evaluate(async (id) => {
    const res = await fetch(`/api/reviews/${id}`, { credentials: 'same-origin' });
    return (
      (await res.json()) as { rubric: { name: string; version: number; checkpoints: { title: string }[] } }
    ).rubric;
  }, reviewId);
  assert.equal(rubric.name, 'Incident reports');
  assert.equal(rubric.version, 2);
  assert.deepEqual(
    rubric.checkpoints.map((c) => c.title),
    ['Owner for every action', 'Customer impact, in numbers'],
  );
  log('the review holds the picked rubric at version 2');

  // Duplicate: a copy at version 1 with the same checkpoints, listed beside the original.
  await page.goto(`${one.url}${membersPath}/rubrics`);
  await page.getByRole('button', { name: /^Incident reports\s+2 checkpoints/ }).click();
  await page.getByText('Version 2', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Duplicate', exact: true }).click();
  await page.getByRole('heading', { name: 'Incident reports (copy)', level: 2 }).waitFor();
  await page.getByText('Version 1', { exact: true }).waitFor();
  assert.deepEqual(
    (await page.locator('ol.view .title').allInnerTexts()).map((t) => t.trim()),
    ['Owner for every action', 'Customer impact, in numbers'],
  );
  assert.equal(
    await page.locator('ul.rubrics button.pick').count(),
    4,
    'the default, two rubrics and the copy',
  );
  log('rubric duplicated');
});
