/// <reference types="node" />
/**
 * Learning from decisions in Chromium on two server instances with a rules worker: Ada analyses a
 * document in her workspace and Bob, on the other server, rejects every finding of its most
 * frequent category. In the workspace's next review of a document, the new findings of that
 * category are shown collapsed with why ("Your team rejected N of N ..."), below the others (the
 * list of all sections is ordered by the team's priority); opening one shows it whole. Document order lists them as they were made. The
 * workspace's insights page says what Prism learned.
 *
 *   node e2e/learning.e2e.ts   (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots: web/test-results/learning-collapsed.png, learning.png, learning-insights.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
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

interface Card {
  id: string;
  category: string;
  type: string;
  section: string;
  collapsed: boolean;
  status: string;
}

/** Every card of the list, in the order shown. */
const cards = (page: Page): Promise<Card[]> =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('article[data-feedback-id]')].map((card) => ({
      id: card.dataset.feedbackId ?? '',
      category: card.dataset.category ?? '',
      type: card.dataset.type ?? '',
      section: card.dataset.sectionId ?? '',
      collapsed: card.dataset.collapsed === 'true',
      status: card.dataset.status ?? '',
    })),
  );

async function analyseAll(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Analyze all', exact: true }).click();
  await until('the analysis to finish', () => analysisFinished(page), 30_000);
  await until('findings', async () => (await findings(page).count()) > 0);
  await page.getByRole('button', { name: /^All sections/ }).click();
}

runE2e('learning', async (run) => {
  const { log } = run;
  const { one, two, ada, bob, membersPath } = await workspaceOnTwoServers(run, 'Contracts');

  // The first review: nothing learned yet, nothing collapsed.
  const firstPath = await uploadIntoWorkspace(ada.page, one, 'Contracts', DOCUMENT);
  await analyseAll(ada.page);
  const first = await cards(ada.page);
  assert.equal(first.filter((card) => card.collapsed).length, 0, 'nothing collapsed without history');
  const counts = new Map<string, number>();
  for (const card of first) {
    if (card.type !== 'critical') counts.set(card.category, (counts.get(card.category) ?? 0) + 1);
  }
  const [category, count] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  assert.ok(count >= 5, `a category with at least 5 findings (${JSON.stringify([...counts])})`);
  log(`first review: ${first.length} findings; rejecting the ${count} "${category}" ones`);

  // Bob, on the other server, rejects every one of them.
  await bob.page.goto(`${two.url}${firstPath}`);
  await bob.page.getByRole('button', { name: /^All sections/ }).click();
  for (const card of first.filter((c) => c.category === category)) {
    const article = bob.page.locator(`article[data-feedback-id="${card.id}"]`);
    await article.getByRole('button', { name: 'Reject', exact: true }).click();
    await until(
      `${card.id} rejected`,
      async () => (await article.getAttribute('data-status')) === 'rejected',
    );
  }
  await until('every rejection on Ada’s page', async () =>
    (await cards(ada.page)).filter((c) => c.category === category).every((c) => c.status === 'rejected'),
  );

  // The next review: that category's new findings are collapsed, with why, below the others.
  await uploadIntoWorkspace(ada.page, one, 'Contracts', DOCUMENT);
  await analyseAll(ada.page);
  const next = await cards(ada.page);
  const ofCategory = next.filter((card) => card.category === category && card.type !== 'critical');
  assert.ok(ofCategory.length >= 5, 'the same kinds of findings again');
  assert.ok(
    ofCategory.every((card) => card.collapsed),
    'every one of them collapsed',
  );
  assert.ok(
    next.filter((card) => card.category !== category).every((card) => !card.collapsed),
    'nothing else collapsed',
  );
  const why = `Your team rejected ${count} of ${count} “${category.toLowerCase()}” findings in this workspace.`;
  const folded = ada.page.locator(`article[data-feedback-id="${ofCategory[0]!.id}"]`);
  assert.equal(
    (await folded.locator('.folded-why').textContent())?.replace(/\s+/g, ' ').trim(),
    `Collapsed ${why}`,
  );
  assert.equal(
    await folded.locator('.description').count(),
    0,
    'a collapsed card shows why, not the finding',
  );
  // The team's priority orders the list of all sections: the collapsed ones come last, and so they
  // do within each section.
  for (const section of new Set(next.map((card) => card.section))) {
    const inSection = next.filter((card) => card.section === section).map((card) => card.collapsed);
    assert.deepEqual(
      inSection,
      [...inSection].sort((a, b) => Number(a) - Number(b)),
      `section ${section} order`,
    );
  }
  assert.deepEqual(
    next.map((card) => card.collapsed),
    next.map((_, i) => i >= next.length - ofCategory.length),
    'collapsed cards last',
  );
  log(
    `next review: ${ofCategory.length} "${category}" findings collapsed, last in the list and in their sections`,
  );

  await folded.scrollIntoViewIfNeeded();
  await ada.page.screenshot({ path: join(RESULTS, 'learning-collapsed.png'), fullPage: false });

  // Opening one shows the finding and why it was folded.
  await folded.locator('button.toggle').click();
  await folded.locator('.description').waitFor();
  assert.match((await folded.locator('.learned').textContent()) ?? '', /Usually rejected/);
  await ada.page.screenshot({ path: join(RESULTS, 'learning.png'), fullPage: false });

  // Document order lists them as they were made: as the first review (nothing ranked yet) did.
  await ada.page.getByLabel('Order', { exact: true }).selectOption('document');
  const kinds = (list: Card[]) => list.map((card) => `${card.category}/${card.type}`);
  assert.deepEqual(kinds(await cards(ada.page)), kinds(first), 'document order is creation order');
  assert.notDeepEqual(kinds(next), kinds(first), 'the team’s priority moved the collapsed ones');
  log('opening a collapsed card shows it; document order puts it back');

  // The workspace's insights say what Prism learned.
  await ada.page.goto(`${one.url}${membersPath}/insights`);
  const learned = ada.page.getByTestId('learned');
  await learned.getByText(`This team rejects most “${category.toLowerCase()}” findings.`).waitFor();
  await learned.screenshot({ path: join(RESULTS, 'learning-insights.png') });
  log('the insights page states what was learned');
});
