/// <reference types="node" />
/**
 * Re-review of a revised document in two browsers on two server instances (plus one rules worker):
 * Olivia, who owns the analysed review on server 1, uploads a revision with one sentence edited;
 * Ravi, on server 2, sees "Revision 2" arrive live, the edited section marked "Changed" in the
 * sections list, and opens its word diff, where the removed and the inserted words are marked.
 * Olivia's own feedback on the edited words (taken back to pending) is then outdated: Ravi finds it in the
 * section's collapsed "Outdated (1)" group, out of the list and of the pending count, and opens
 * the group to read it; a reload keeps it there.
 *
 *   node e2e/revisions.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots go to web/test-results/revisions-*.png.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { analysedRoomOnTwoServers, DOCUMENT, findings, RESULTS, runE2e, until } from './room-helpers.ts';

const BEFORE = 'keep a copy for your records';
const AFTER = 'keep two signed copies for your records';
const REMARK = 'Say how many signed copies are kept.';

/** The "N pending" of the findings panel's summary. */
async function pendingShown(page: Page): Promise<number> {
  const summary = page.getByRole('region', { name: 'Findings', exact: true }).locator('.summary .meta');
  const match = /(\d+) pending/.exec((await summary.textContent()) ?? '');
  assert.ok(match, 'the summary counts the pending items');
  return Number(match[1]);
}

/** The review's items as the server has them. */
function itemsOf(page: Page, reviewPath: string) {
  return page.evaluate(
    async (path) =>
      (
        (await (await fetch(`/api${path}`)).json()) as {
          feedback: { id: string; source: string; status: string; outdated?: boolean; description: string }[];
        }
      ).feedback,
    reviewPath,
  );
}

/** Drags the mouse across `phrase` in the open section's text, as a reader selects words. */
async function selectWords(page: Page, phrase: string): Promise<void> {
  const box = await page.locator('.prose').evaluate((prose, phrase) => {
    const walker = document.createTreeWalker(prose, NodeFilter.SHOW_TEXT);
    const nodes: { node: Text; at: number }[] = [];
    let text = '';
    while (walker.nextNode()) {
      const node = walker.currentNode as Text;
      nodes.push({ node, at: text.length });
      text += node.data;
    }
    const start = text.indexOf(phrase);
    if (start < 0) return null;
    const end = start + phrase.length;
    const at = (offset: number, isEnd: boolean) => {
      const hit = nodes.find((n) =>
        isEnd
          ? offset > n.at && offset <= n.at + n.node.length
          : offset >= n.at && offset < n.at + n.node.length,
      );
      if (!hit) throw new Error(`no text node at ${offset}`);
      return [hit.node, offset - hit.at] as const;
    };
    const range = document.createRange();
    range.setStart(...at(start, false));
    range.setEnd(...at(end, true));
    range.startContainer.parentElement?.scrollIntoView({ block: 'center' });
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    const first = rects[0];
    const last = rects[rects.length - 1];
    if (!first || !last) return null;
    return {
      from: { x: first.left + 1, y: first.top + first.height / 2 },
      to: { x: last.right - 1, y: last.top + last.height / 2 },
    };
  }, phrase);
  assert.ok(box, `"${phrase}" is in the open section`);
  await page.mouse.move(box.from.x, box.from.y);
  await page.mouse.down();
  await page.mouse.move(box.to.x, box.to.y, { steps: 8 });
  await page.mouse.up();
}

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
  const { olivia, ravi, reviewPath } = await analysedRoomOnTwoServers(run);
  const badge = (page: typeof olivia.page) => page.locator('.badge.revision');
  assert.equal((await badge(ravi.page).textContent())?.trim(), 'Revision 1');

  // 0. Olivia selects the words the revision will change and leaves her own feedback on them.
  const sections = (await olivia.page.evaluate(
    async (path) =>
      ((await (await fetch(`/api${path}`)).json()) as { sections: { text: string }[] }).sections,
    reviewPath,
  )) as { text: string }[];
  const edited = sections.findIndex((section) => section.text.includes(BEFORE));
  assert.ok(edited >= 0, 'a section holds the sentence to edit');
  await olivia.page.locator('[data-sections-nav] li button').nth(edited).click();
  const pendingBefore = await pendingShown(ravi.page);
  await selectWords(olivia.page, BEFORE);
  await olivia.page.locator('button.selection-popover', { hasText: 'Add feedback' }).click();
  const form = olivia.page.getByRole('form', { name: 'New feedback' });
  assert.equal(
    (await form.locator('blockquote').textContent())?.trim(),
    BEFORE,
    'the form quotes the selection',
  );
  await form.getByLabel('Description').fill(REMARK);
  await form.getByRole('button', { name: 'Add feedback', exact: true }).click();
  // A person's item starts accepted; she takes the decision back, so it is an open point.
  const hers = olivia.page.locator('article[data-source="user"]', { hasText: REMARK });
  await hers.getByRole('button', { name: 'Accept', pressed: true }).click();
  await hers.getByRole('button', { name: 'Accept', pressed: false }).waitFor();
  await until(
    'Ravi counts Olivia’s feedback as pending',
    async () => (await pendingShown(ravi.page)) === pendingBefore + 1,
  );
  log(`Olivia's quoted feedback is in: ${pendingBefore + 1} pending`);

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
  log('diff shown');

  // 4. Olivia's feedback quoted the old words: in this section's collapsed "Outdated" group, out of
  // the list and the pending count (which counts what the server holds as pending and current).
  const panel = ravi.page.getByRole('region', { name: 'Findings', exact: true });
  const outdated = panel.locator('details[data-outdated]');
  const mine = outdated.locator('article[data-source="user"]');
  const checkOutdated = async () => {
    await outdated.waitFor();
    assert.match((await outdated.locator('summary').textContent()) ?? '', /^\s*Outdated \(1\)/);
    assert.equal(await outdated.evaluate((group) => (group as HTMLDetailsElement).open), false, 'collapsed');
    assert.equal(await mine.isVisible(), false, 'its card is hidden while the group is closed');
    assert.equal(await findings(ravi.page).filter({ hasText: REMARK }).count(), 0, 'not in the list');
    const items = await itemsOf(ravi.page, reviewPath);
    const remark = items.find((item) => item.description === REMARK);
    assert.equal(remark?.outdated, true, 'the server has it outdated');
    assert.equal(remark?.status, 'pending', 'its decision is kept');
    const current = items.filter((item) => item.status === 'pending' && !item.outdated).length;
    await until('the pending count settles', async () => (await pendingShown(ravi.page)) === current);
  };
  await checkOutdated();
  await outdated.locator('summary').click();
  await mine.waitFor();
  assert.ok((await mine.textContent())?.includes(REMARK), 'the open group shows the feedback');
  await mine.getByRole('button', { expanded: false }).click();
  assert.equal((await mine.locator('blockquote').textContent())?.trim(), BEFORE, 'with its old quote');
  assert.equal(await mine.getByRole('button', { name: 'Show in document' }).count(), 0, 'nothing to show');
  await mine.getByText('No longer in the document (revision 2)').waitFor();
  // The sections pane counts every section of the revision, the changed one (not analysed yet) too.
  const listed = await nav.locator('li button[data-status]').count();
  const done = await nav.locator('li button[data-status="done"]').count();
  assert.ok(done < listed, 'a changed section waits for its analysis');
  assert.equal((await nav.locator('header .meta').textContent())?.trim(), `${done} of ${listed} analyzed`);
  await ravi.page.screenshot({ path: join(RESULTS, 'revisions-outdated.png') });

  await ravi.page.reload();
  await nav.locator('button:has([data-revised])').click();
  await checkOutdated();
  log('the outdated feedback is apart, collapsed and not pending, after a reload too');
});
