/// <reference types="node" />
/**
 * Submitting a review in two browsers on two server instances (plus one rules worker), end to end:
 * upload, analyze, the Submit dialog warns while nothing is accepted, accept one finding, the summary
 * counts it, submit; the second browser shows "Submitted by ..." live and loses its decision buttons;
 * the package downloads as a zip holding the documents, JSON and CSV.
 *
 *   node e2e/submit.e2e.ts      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * The dialog's screenshot goes to /tmp/submit.png, the others to web/test-results/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { REPO, Topology } from './topology.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DOCUMENT = resolve(import.meta.dirname, 'fixtures/docx4j-contributor-agreement-libreoffice.docx');
const RESULTS = join(REPO, 'web/test-results');
const DIALOG_SHOT = process.env.SUBMIT_SHOT || '/tmp/submit.png';
const BUDGET_MS = Number(process.env.E2E_BUDGET_MS || 150_000);
const started = Date.now();

const log = (message: string) =>
  console.log(`[e2e submit ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
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
    console.error(`[e2e submit] over the ${BUDGET_MS / 1000} s budget: stopping`);
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
    await olivia.page.screenshot({ path: join(RESULTS, 'submit-olivia-submitted.png') });

    const errors = [...olivia.errors, ...ravi.errors];
    assert.deepEqual(errors, [], `uncaught page errors:\n${errors.join('\n')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    for (const p of people) {
      await p.page
        .screenshot({ path: join(RESULTS, `submit-failure-${p.name.split(' ')[0]?.toLowerCase()}.png`) })
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
