/// <reference types="node" />
/**
 * Triage in the review room, end to end in Chromium at 1440x900 (one server, one rules worker, two people):
 *
 * - a generated document with many findings is uploaded and analysed by the rules provider;
 * - rules findings show no confidence percentage and the Thinking box is disabled, saying why;
 * - the findings list follows the selected section, and "All sections" shows every finding;
 * - at least 6 closed cards are fully visible in the findings panel;
 * - clicking a highlight brings its card into the panel's visible area and focuses it; "Show in
 *   document" scrolls the document to the highlight and flashes it;
 * - ten findings are triaged by keyboard (j, a, r), the current card always in view, and the decisions
 *   reach the second person; when he changes one, the first is told who and what;
 * - the help dialog lists the triage keys; the statistics count a person's item where its card says.
 *
 *   npm run test:e2e -w web      (after `npm run build` at the root)
 *
 * Screenshots go to web/test-results/triage-*.png.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import type { Locator, Page } from 'playwright-core';
import {
  analysisFinished,
  cardStates,
  joinByLink,
  RESULTS,
  reviewerLink,
  runE2e,
  sleep,
  startReview,
  until,
} from './room-helpers.ts';

/** Five sections of prose the rules provider finds plenty in: placeholders, hedging, passive voice... */
async function documentWithManyFindings(): Promise<Buffer> {
  const sections: [string, string[]][] = [
    [
      'Executive summary',
      [
        'The outage was caused by a configuration change that was deployed without review. TBD: confirm the exact time.',
        'It seems that perhaps the impact was very significant for many customers, and the the team was basically unaware.',
        'In order to mitigate the issue, it was decided that a rollback would be performed by the on-call engineer.',
        'Various systems were affected, and some data was lost; a number of services were restarted several times.',
      ],
    ],
    [
      'Timeline',
      [
        'On 12 March 2026 at 14:05 the change was merged. On 11 March 2026 at 09:00 the alert fired. XXX check the order.',
        'The incident was detected by a customer and was reported to support, which was then escalated to engineering.',
        'It is possible that the monitoring might have missed the first errors, which arguably was quite unfortunate.',
        'At this point in time the database was restarted, and the queue was drained by the platform team.',
      ],
    ],
    [
      'Root cause',
      [
        'The root cause was probably a missing validation step in the CI pipeline that was introduced by the migration.',
        'Lorem ipsum dolor sit amet: [insert the diagram of the pipeline here].',
        'Due to the fact that the SLO and the RTO were not defined, the severity was really hard to assess.',
        'Mistakes were made, and the process was not followed, which clearly was extremely problematic for everyone.',
      ],
    ],
    [
      'Actions',
      [
        'Improve the monitoring of the deployment pipeline.',
        'Add validation to the configuration loader. TODO: owner?',
        'The runbook should be updated and the alerts should be reviewed as soon as possible.',
        'It would perhaps be good to basically consider a review of the on-call rota at some point.',
      ],
    ],
    [
      'Risks',
      [
        'There is a risk that the same issue might possibly happen again, which would be very bad.',
        'The backups were not tested, and it is unclear whether they can be restored by the current team.',
        'Many customers were somewhat unhappy, and several complaints were received by the account managers.',
      ],
    ],
  ];
  const children: Paragraph[] = [];
  for (const [title, paragraphs] of sections) {
    children.push(new Paragraph({ text: title, heading: HeadingLevel.HEADING_1 }));
    for (const text of paragraphs) children.push(new Paragraph({ children: [new TextRun(text)] }));
  }
  return Packer.toBuffer(new Document({ sections: [{ children }] }));
}

const panel = (page: Page) => page.getByRole('region', { name: 'Findings', exact: true });
const cards = (page: Page) => panel(page).locator('article[data-feedback-id]');

/** Is the element's box inside the visible area of the scroll container? */
async function inside(element: Locator, container: Locator): Promise<boolean> {
  const [box, view] = await Promise.all([element.boundingBox(), container.boundingBox()]);
  if (!box || !view) return false;
  return box.y >= view.y - 1 && box.y + box.height <= view.y + view.height + 1;
}

/** How many cards are entirely inside the findings list's visible area. */
function fullyVisibleCards(page: Page): Promise<number> {
  return page.evaluate(() => {
    const list = document.querySelector('[aria-label="Findings"] .list');
    if (!list) return 0;
    const view = list.getBoundingClientRect();
    return [...list.querySelectorAll('article[data-feedback-id]')].filter((card) => {
      const box = card.getBoundingClientRect();
      return box.top >= view.top && box.bottom <= view.bottom && box.height > 0;
    }).length;
  });
}

const focusedCardId = (page: Page) =>
  page.evaluate(
    () =>
      document.activeElement?.closest<HTMLElement>('article[data-feedback-id]')?.dataset.feedbackId ?? null,
  );

async function shot(page: Page, name: string): Promise<void> {
  const file = join(RESULTS, `triage-${name}.png`);
  await page.screenshot({ path: file });
  await page.screenshot({ path: `/tmp/triage-${name}.png` });
}

runE2e('triage', async ({ topology, log, person }) => {
  await topology.start(1);
  const [server] = topology.servers;
  assert.ok(server);
  const file = join(topology.dir, 'incident-report.docx');
  writeFileSync(file, await documentWithManyFindings());
  const owner = await person('Olivia Owner');
  const reviewer = await person('Ravi Reviewer');
  const olivia = owner.page;
  const ravi = reviewer.page;

  // Olivia uploads and analyses.
  const reviewPath = await startReview(olivia, server, owner.name, file);
  await olivia.getByRole('region', { name: 'Document text', exact: true }).waitFor();

  // No model: the Thinking box is disabled and says why.
  const thinking = olivia.getByRole('checkbox', { name: 'Thinking' });
  await until(
    'the room knows the rules provider analyses',
    async () => (await thinking.isDisabled()) === true,
  );
  const why = (await olivia.locator('#thinking-why').textContent()) ?? '';
  assert.match(why, /No model is configured/);

  await olivia.getByRole('button', { name: 'Analyze all', exact: true }).click();
  await until('the analysis to finish', () => analysisFinished(olivia), 45_000);
  const scope = panel(olivia).getByRole('group', { name: 'Show the findings of' });
  await scope.getByRole('button', { name: /^All sections/ }).click();
  const total = await until('findings', async () => cards(olivia).count());
  log(`${total} findings`);
  assert.ok(total >= 12, `the document gives at least 12 findings (got ${total})`);

  // Rules carry no confidence percentage.
  assert.equal(await panel(olivia).locator('.confidence').count(), 0, 'rules findings show no percentage');
  assert.doesNotMatch((await panel(olivia).locator('.list').textContent()) ?? '', /\d+ %/);

  // At least 6 closed cards fit in the panel at 1440x900.
  const visible = await fullyVisibleCards(olivia);
  log(`${visible} closed cards fully visible at 1440x900`);
  assert.ok(visible >= 6, `${visible} closed cards visible`);
  await shot(olivia, '1-all-sections');

  // The list follows the selected section.
  const nav = olivia.getByRole('region', { name: 'Sections', exact: true });
  await scope.getByRole('button').first().click();
  await nav.getByRole('button', { name: /Timeline/ }).click();
  await until('the list follows the Timeline section', async () => {
    const heading = await olivia
      .getByRole('region', { name: 'Document text', exact: true })
      .locator('h2')
      .textContent();
    const ids = await cards(olivia).evaluateAll((all) =>
      all.map((c) => (c as HTMLElement).dataset.sectionId),
    );
    // Every card listed belongs to the section shown, and every highlight there has its card listed.
    const markIds = await olivia
      .locator('mark[data-feedback-id]')
      .evaluateAll((all) => all.map((m) => (m as HTMLElement).dataset.feedbackId));
    const cardIds = new Set(
      await cards(olivia).evaluateAll((all) => all.map((c) => (c as HTMLElement).dataset.feedbackId)),
    );
    return (
      heading === 'Timeline' &&
      ids.length > 0 &&
      new Set(ids).size === 1 &&
      markIds.every((id) => cardIds.has(id))
    );
  });
  const inTimeline = await cards(olivia).count();
  assert.ok(inTimeline < total, 'a section shows fewer findings than all sections');
  const scopeText = (await scope.textContent()) ?? '';
  assert.match(scopeText, /Timeline/);
  assert.match(scopeText, new RegExp(`All sections\\s*${total}`));
  // The nav counts each section's findings.
  const navCount = await nav
    .getByRole('button', { name: /Timeline/ })
    .locator('.n')
    .textContent();
  assert.equal(Number(navCount), inTimeline);
  log(`Timeline selected: ${inTimeline} findings listed (nav says ${navCount})`);
  await shot(olivia, '2-section-follows');

  // Clicking a highlight brings its card into view, focused. Scroll the list away first.
  const list = panel(olivia).locator('.list');
  const marks = olivia.locator('mark[data-feedback-id]');
  assert.ok((await marks.count()) > 0, 'the section has highlights');
  const lastMark = marks.last();
  const markId = await lastMark.getAttribute('data-feedback-id');
  assert.ok(markId);
  await list.evaluate((el) => el.scrollTo({ top: 0 }));
  await lastMark.click();
  const card = panel(olivia).locator(`article[data-feedback-id="${markId}"]`);
  await until('the card of the clicked highlight in view', async () => inside(card, list));
  assert.equal(await focusedCardId(olivia), markId, 'the card has the focus');
  const markText = (await lastMark.textContent()) ?? '';
  const paragraph = await lastMark.evaluate((m) => m.closest('p')?.textContent ?? '');
  // The mark covers the words at issue (the quote or the words the finding names in it), never
  // more than the finding quotes; and highlights are words, not whole paragraphs.
  const evidence = await card.locator('blockquote').textContent();
  const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();
  assert.ok(
    markText.trim() && evidence && collapse(evidence).includes(collapse(markText)),
    `the highlight "${markText}" is within its quote "${evidence}"`,
  );
  const partial = await marks.evaluateAll(
    (all) =>
      all.filter(
        (m) =>
          (m.textContent ?? '').trim().length < (m.closest('p, td, li')?.textContent ?? '').trim().length,
      ).length,
  );
  assert.ok(partial > 0, 'some highlights cover words inside a paragraph, not the whole paragraph');
  log(
    `highlight "${markText}" (of a ${paragraph.length}-character paragraph) -> its card is in view and focused`,
  );
  await shot(olivia, '3-highlight-clicked');

  // "Show in document" scrolls the document to the highlight and flashes it.
  const scroller = olivia.getByRole('region', { name: 'Document text', exact: true }).locator('.scroller');
  await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
  await card.getByRole('button', { name: 'Show in document' }).click();
  const flashed = olivia.locator(`mark.flash[data-feedback-id="${markId}"]`).first();
  await flashed.waitFor({ timeout: 5000 });
  await until('the highlight in the document view', async () => inside(flashed, scroller));
  log('"Show in document" scrolled to the highlight and flashed it');

  // Ravi joins (reviewer) and shows all sections.
  await joinByLink(reviewer, server, await reviewerLink(olivia), reviewPath);
  await panel(ravi)
    .getByRole('group', { name: 'Show the findings of' })
    .getByRole('button', { name: /^All sections/ })
    .click();
  await until('Ravi sees every finding', async () => (await cards(ravi).count()) === total);

  // Keyboard triage through ten findings, from the first section on: j moves, a / r decide.
  await olivia
    .getByRole('region', { name: 'Sections', exact: true })
    .getByRole('button')
    .filter({ hasText: 'Executive summary' })
    .click();
  await olivia
    .locator('body')
    .click({ position: { x: 700, y: 880 } })
    .catch(() => {});
  await olivia.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const decided: Record<string, string> = {};
  for (let n = 0; n < 10; n += 1) {
    await olivia.keyboard.press('j');
    const id = await until(`finding ${n + 1} focused`, () => focusedCardId(olivia), 3000);
    assert.ok(!(id in decided), `j moved on to a new finding (${id})`);
    const current = panel(olivia).locator(`article[data-feedback-id="${id}"]`);
    assert.ok(await inside(current, list), `finding ${n + 1} is in view`);
    const key = n % 3 === 2 ? 'r' : 'a';
    await olivia.keyboard.press(key);
    decided[id] = key === 'a' ? 'Accepted' : 'Rejected';
    await until(
      `finding ${n + 1} shows its decision`,
      async () => ((await current.locator('.status-word').textContent()) ?? '') === decided[id],
    );
  }
  log('ten findings triaged by keyboard, each in view when current');
  // n: the next pending finding; its highlight is in the document view.
  await olivia.keyboard.press('n');
  const pendingId = await until('a pending finding focused', async () => {
    const id = await focusedCardId(olivia);
    return id && !(id in decided) ? id : null;
  });
  const pendingCard = panel(olivia).locator(`article[data-feedback-id="${pendingId}"]`);
  assert.equal((await pendingCard.locator('.status-word').textContent())?.trim(), 'Pending');
  assert.ok(await inside(pendingCard, list), 'the pending finding is in view');
  const pendingMark = olivia.locator(`mark[data-feedback-id="${pendingId}"]`).first();
  if (await pendingMark.count()) {
    const docScroller = olivia
      .getByRole('region', { name: 'Document text', exact: true })
      .locator('.scroller');
    await until('its highlight in the document view', async () => inside(pendingMark, docScroller), 3000);
  }
  await shot(olivia, '4-triaged');
  await until(
    'the ten decisions reach Ravi',
    async () => {
      const states = await cardStates(ravi);
      return Object.entries(decided).every(([id, status]) => states[id] === status);
    },
    5000,
  );
  log('Ravi sees the ten decisions');

  // Ravi changes one of Olivia's fresh decisions: she is told who and what.
  const [changedId] = Object.entries(decided).find(([, status]) => status === 'Accepted') ?? [];
  assert.ok(changedId);
  await ravi
    .locator(`article[data-feedback-id="${changedId}"]`)
    .getByRole('button', { name: 'Reject', exact: true })
    .click();
  const toast = await until('Olivia is told', async () =>
    (await olivia.locator('[data-sonner-toast]').allTextContents()).find((t) =>
      t.includes('Ravi Reviewer rejected'),
    ),
  );
  assert.match(toast, /which you accepted/);
  assert.doesNotMatch(toast, /““|””/, 'one pair of quote marks');
  log(`Olivia was told: ${toast}`);
  await shot(olivia, '5-overruled-toast');

  // The help dialog lists the triage keys.
  await olivia.keyboard.press('Escape');
  await olivia.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await olivia.keyboard.press('?');
  const help = olivia.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  const helpText = (await help.textContent()) ?? '';
  for (const expected of [
    'Next finding',
    'Next pending finding',
    'Accept the current finding',
    'Open or close',
  ]) {
    assert.ok(helpText.includes(expected), `help lists "${expected}"`);
  }
  await shot(olivia, '6-help');
  await olivia.keyboard.press('Escape');

  // A card opened shows its details, with rubric checkpoints by name.
  const first = cards(olivia).first();
  await first.getByRole('button', { expanded: false }).first().click();
  await until('the card opens', async () => (await first.getAttribute('class'))?.includes('open'));
  const openText = (await first.textContent()) ?? '';
  assert.doesNotMatch(openText, /Rubric refs/i);
  await shot(olivia, '7-card-open');

  // A finding with a suggested rewrite shows it word by word, and "Accept suggestion" accepts it.
  await scope.getByRole('button', { name: /^All sections/ }).click();
  const wordy = cards(olivia)
    .filter({ hasText: /“In order to”/ })
    .first();
  await wordy.waitFor();
  if (!(await wordy.getAttribute('class'))?.includes('open')) {
    await wordy.getByRole('button', { expanded: false }).first().click();
  }
  const rewrite = wordy.locator('[data-rewrite]');
  await rewrite.waitFor();
  assert.match((await rewrite.locator('del').first().textContent()) ?? '', /In order to/);
  assert.match((await rewrite.locator('ins').first().textContent()) ?? '', /^\s*To\s*$/);
  const acceptSuggestion = wordy.getByRole('button', { name: 'Accept suggestion' });
  if (await acceptSuggestion.count()) await acceptSuggestion.click();
  await until('the rewrite accepted', async () => ((await wordy.textContent()) ?? '').includes('Accepted'));
  assert.equal(await acceptSuggestion.count(), 0, 'an accepted rewrite offers no second accept');
  log('a suggested rewrite shows as a word diff; "Accept suggestion" accepted it');
  await shot(olivia, '7b-rewrite');

  // A person's Important item with the default risk: the card says its risk, the statistics agree.
  await panel(olivia).getByRole('button', { name: 'Add feedback', exact: true }).click();
  const form = olivia.getByRole('form', { name: 'New feedback' });
  await form.getByLabel('Kind').selectOption('important');
  await form.getByLabel('Description').fill('The timeline has no owner for the rollback.');
  await form.getByRole('button', { name: 'Add feedback', exact: true }).click();
  const mine = panel(olivia).locator('article[data-source="user"]');
  await mine.waitFor();
  const myRisk = ((await mine.locator('.risk').textContent()) ?? '').trim();
  log(`a person's Important item with the default risk: the card says "${myRisk}"`);

  // Statistics in dark mode: readable colours (screenshot), the counts as the cards say.
  await olivia.emulateMedia({ colorScheme: 'dark' });
  await olivia.getByRole('button', { name: 'Statistics', exact: true }).click();
  const stats = olivia.getByRole('region', { name: 'Statistics', exact: true });
  await stats.locator('canvas').first().waitFor();
  await sleep(600);
  await scope.getByRole('button', { name: /^All sections/ }).click();
  const riskBoard = stats.locator('figure', { hasText: 'By risk' });
  for (const risk of ['High risk', 'Medium risk', 'Low risk']) {
    const onCards = await panel(olivia).locator('.risk', { hasText: risk }).count();
    const counted = await riskBoard.locator('li', { hasText: risk }).locator('strong').textContent();
    assert.equal(Number(counted), onCards, `statistics count "${risk}" items where the cards say`);
  }
  assert.equal(await panel(olivia).locator('article[data-feedback-id]').count(), total + 1);
  await shot(olivia, '8-statistics-dark');
  await olivia.getByRole('button', { name: 'Close statistics' }).click();
  await shot(olivia, '9-room-dark');
  // Below 1000 px the findings are a drawer; a click on a highlight opens it on the card.
  await olivia.setViewportSize({ width: 900, height: 800 });
  const scrim = olivia.getByRole('button', { name: 'Close the panel' });
  // The drawer may open as the layout changes: close it (its scrim) until it stays closed.
  await until('the findings drawer closed', async () => {
    if (await scrim.count()) await scrim.click({ position: { x: 20, y: 300 } });
    return (await olivia.locator('.drawer.open').count()) === 0;
  });
  const narrowMark = olivia.locator('mark[data-feedback-id]').first();
  const narrowId = await narrowMark.getAttribute('data-feedback-id');
  await narrowMark.click();
  const narrowCard = olivia.locator(`.drawer.open article[data-feedback-id="${narrowId}"]`);
  await narrowCard.waitFor();
  await until('the card in the drawer in view', async () =>
    inside(narrowCard, olivia.locator('.drawer [aria-label="Findings"] .list')),
  );
  await sleep(300);
  await shot(olivia, '10-narrow-drawer');
});
