/// <reference types="node" />
/**
 * A finding's thread in two browsers on two server instances (plus one rules worker): the reviewer
 * opens a finding, types `@Oli`, picks the owner from the autocomplete and sends with Enter; the
 * owner, on the other server, gets a notice and sees the reply in the card; the owner resolves it
 * and the reviewer sees "Resolved". Then the owner leaves, is mentioned again, and on coming back
 * gets the notice of the mention made while away.
 *
 *   node e2e/threads.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots go to web/test-results/threads-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { REPO, Topology } from './topology.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DOCUMENT = resolve(import.meta.dirname, 'fixtures/docx4j-contributor-agreement-libreoffice.docx');
const RESULTS = join(REPO, 'web/test-results');
const BUDGET_MS = Number(process.env.E2E_BUDGET_MS || 150_000);
const started = Date.now();

const log = (message: string) =>
  console.log(`[e2e threads ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until<T>(
  what: string,
  probe: () => Promise<T | false | null | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (${String(last)})` : ''}`);
}

interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  errors: string[];
}

async function person(browser: Browser, name: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`${name}: ${error.message}`));
  return { name, context, page, errors };
}

const findings = (page: Page) =>
  page.getByRole('region', { name: 'Findings', exact: true }).getByRole('article');

async function analysisFinished(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const sections = [
      ...document.querySelectorAll<HTMLElement>('[data-sections-nav] li button[data-status]'),
    ];
    return (
      sections.length > 0 &&
      sections.every((b) => !['queued', 'analyzing', 'idle'].includes(b.dataset.status ?? ''))
    );
  });
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(RESULTS, { recursive: true });
  const topology = new Topology();
  let browser: Browser | null = null;
  const people: Person[] = [];
  const stop = async () => {
    await browser?.close().catch(() => {});
    await topology.stop();
  };
  const watchdog = setTimeout(() => {
    console.error(`[e2e threads] over the ${BUDGET_MS / 1000} s budget: stopping`);
    void stop().finally(() => process.exit(1));
  }, BUDGET_MS);
  watchdog.unref();

  try {
    await topology.start(2);
    const [one, two] = topology.servers;
    assert.ok(one && two);
    log(`servers on ${one.url} and ${two.url}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const olivia = await person(browser, 'Olivia Owner');
    const ravi = await person(browser, 'Ravi Reviewer');
    people.push(olivia, ravi);

    // 1. Olivia uploads on server 1 and invites Ravi, who joins on server 2.
    await olivia.page.goto(`${one.url}/`);
    await olivia.page.getByLabel('Your name', { exact: true }).fill(olivia.name);
    await olivia.page.getByRole('button', { name: 'Continue', exact: true }).click();
    await olivia.page.getByLabel('Document', { exact: true }).setInputFiles(DOCUMENT);
    await olivia.page.getByRole('button', { name: 'Start review', exact: true }).click();
    await olivia.page.waitForURL(/\/reviews\/[^/]+$/, { timeout: 20_000 });
    const reviewPath = new URL(olivia.page.url()).pathname;
    await olivia.page.getByRole('region', { name: 'Sections', exact: true }).waitFor();
    await olivia.page.getByRole('button', { name: 'Invite', exact: true }).click();
    await olivia.page.getByRole('button', { name: 'Create reviewer link' }).click();
    const invite = new URL(
      await until('the reviewer link', async () => olivia.page.getByLabel('Reviewer link').inputValue()),
    );
    await olivia.page.getByRole('button', { name: 'Close', exact: true }).click();
    await ravi.page.goto(`${two.url}${invite.pathname}${invite.search}`);
    await ravi.page.getByLabel('Your name', { exact: true }).fill(ravi.name);
    await ravi.page.getByRole('button', { name: 'Continue', exact: true }).click();
    await ravi.page.waitForURL((url) => url.pathname === reviewPath, { timeout: 15_000 });
    await ravi.page.getByRole('region', { name: 'Findings', exact: true }).waitFor();
    log(`review ${reviewPath}: Olivia on server 1, Ravi on server 2`);

    // 2. Analyze all; the rules' findings arrive in both rooms.
    await olivia.page.getByRole('button', { name: 'Analyze all', exact: true }).click();
    await until('the analysis to finish', () => analysisFinished(olivia.page), 30_000);
    await until('findings in both rooms', async () => {
      const [a, b] = await Promise.all([findings(olivia.page).count(), findings(ravi.page).count()]);
      return a > 0 && a === b;
    });
    // Every finding of the review (the list shows the selected section's), as the server has them.
    const count = await olivia.page.evaluate(
      async (path) =>
        ((await (await fetch(`/api${path}`)).json()) as { feedback: unknown[] }).feedback.length,
      reviewPath,
    );
    log(`${count} findings in the review`);

    // 3. Ravi opens a finding, mentions Olivia through the autocomplete and sends with Enter.
    const card = findings(ravi.page).first();
    const feedbackId = await card.getAttribute('data-feedback-id');
    assert.ok(feedbackId);
    await card.locator('button.toggle').click();
    const box = card.getByRole('textbox', { name: 'Reply', exact: true });
    await box.click();
    await box.pressSequentially('@Oli');
    const suggestion = card.getByRole('button', { name: olivia.name, exact: true });
    await until('the autocomplete offers Olivia', () => suggestion.isVisible(), 5000);
    await box.press('Enter');
    assert.equal(await box.inputValue(), `@${olivia.name} `);
    await box.pressSequentially('can you check the figures?');
    await box.press('Shift+Enter');
    await box.pressSequentially('Second line.');
    const sentAt = Date.now();
    await box.press('Enter');
    await until("the reply in Ravi's card", async () => (await card.locator('.reply').count()) === 1);
    assert.equal(await box.inputValue(), '');

    // 4. Olivia, on the other server, gets the notice and sees the reply with its author.
    const toast = olivia.page.locator('[data-sonner-toast]', { hasText: `${ravi.name} mentioned you` });
    await until("Olivia's mention notice", () => toast.first().isVisible(), 10_000);
    log(`Olivia's notice ${Date.now() - sentAt} ms after Enter`);
    const hers = olivia.page.locator(`article[data-feedback-id="${feedbackId}"]`);
    await hers.locator('button.toggle').click();
    const reply = hers.locator('.reply').first();
    await until("the reply in Olivia's card", () => reply.isVisible(), 5000);
    assert.equal(await reply.locator('.author').textContent(), ravi.name);
    assert.equal(
      await reply.locator('.text').textContent(),
      `@${olivia.name} can you check the figures?\nSecond line.`,
    );
    await olivia.page.screenshot({ path: join(RESULTS, 'threads-olivia-mentioned.png') });

    // 5. Olivia resolves the thread; Ravi sees it resolved.
    await hers.getByRole('button', { name: 'Resolve', exact: true }).click();
    await until('Ravi sees "Resolved"', () => card.getByText('Resolved', { exact: true }).isVisible(), 5000);
    assert.equal(await card.getAttribute('data-resolved'), 'true');
    await card.getByRole('button', { name: 'Reopen', exact: true }).click();
    await until(
      'reopened for Olivia',
      async () => (await hers.getAttribute('data-resolved')) === 'false',
      5000,
    );

    // 6. Olivia leaves; Ravi mentions her again; back in the room she is told.
    await olivia.page.goto(`${one.url}/`);
    await card.getByRole('textbox', { name: 'Reply', exact: true }).fill(`@${olivia.name} one more thing`);
    await card.getByRole('textbox', { name: 'Reply', exact: true }).press('Enter');
    await until('the second reply', async () => (await card.locator('.reply').count()) === 2);
    await olivia.page.goto(`${one.url}${reviewPath}`);
    const back = olivia.page.locator('[data-sonner-toast]', { hasText: `${ravi.name} mentioned you` });
    await until('the notice of the mention made while away', () => back.first().isVisible(), 10_000);
    assert.match((await back.first().textContent()) ?? '', /one more thing/);
    await olivia.page.screenshot({ path: join(RESULTS, 'threads-olivia-back.png') });

    const errors = [...olivia.errors, ...ravi.errors];
    assert.deepEqual(errors, [], `uncaught page errors:\n${errors.join('\n')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    for (const p of people) {
      await p.page
        .screenshot({ path: join(RESULTS, `threads-failure-${p.name.split(' ')[0]?.toLowerCase()}.png`) })
        .catch(() => {});
      if (p.errors.length) console.error(p.errors.join('\n'));
    }
    console.error(topology.logs());
    throw error;
  } finally {
    clearTimeout(watchdog);
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
