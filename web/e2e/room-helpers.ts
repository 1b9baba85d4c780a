/// <reference types="node" />
/**
 * The steps the browser tests share: a run with a budget that always stops its processes (and
 * leaves screenshots and logs when it fails), Chromium, one browser context per person, signing
 * in, uploading a document, inviting a reviewer who joins on another server, and analysing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { REPO, type ServerInstance, Topology } from './topology.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The document most runs review: a real contract saved by LibreOffice. */
export const DOCUMENT = resolve(
  import.meta.dirname,
  'fixtures/docx4j-contributor-agreement-libreoffice.docx',
);
export const RESULTS = join(REPO, 'web/test-results');
const BUDGET_MS = Number(process.env.E2E_BUDGET_MS || 150_000);

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Polls `probe` until it gives a truthy value. A probe that throws is retried (the page may be
 * between renders), unless `fatal` says the error ends the wait.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | false | null | undefined>,
  timeoutMs = 15_000,
  fatal: (error: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      if (fatal(error)) throw error;
      last = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (${String(last)})` : ''}`);
}

/** Someone in the test: their own browser context (cookies, storage) and the errors their page threw. */
export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  errors: string[];
}

export const findings = (page: Page) =>
  page.getByRole('region', { name: 'Findings', exact: true }).getByRole('article');

/** Every section has left queued / analyzing / idle. */
export async function analysisFinished(page: Page): Promise<boolean> {
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

/** id -> status word of every finding card on the page. */
export function cardStates(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const states: Record<string, string> = {};
    for (const card of document.querySelectorAll<HTMLElement>('article[data-feedback-id]')) {
      states[card.dataset.feedbackId ?? ''] = card.querySelector('.status-word')?.textContent?.trim() ?? '';
    }
    return states;
  });
}

/** Types a name on the page's name form and continues. */
export async function signIn(page: Page, name: string): Promise<void> {
  await page.getByLabel('Your name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
}

/** Signs in on `server`'s home page and uploads `file`; resolves with the room's path once it opens. */
export async function startReview(page: Page, server: ServerInstance, name: string, file: string) {
  await page.goto(`${server.url}/`);
  await signIn(page, name);
  await page.getByLabel('Document', { exact: true }).setInputFiles(file);
  await page.getByRole('button', { name: 'Start review', exact: true }).click();
  await page.waitForURL(/\/reviews\/[^/]+$/, { timeout: 20_000 });
  return new URL(page.url()).pathname;
}

/** Creates a workspace from the header's switcher; resolves with its members page's path, where it lands. */
export async function createWorkspace(page: Page, name: string): Promise<string> {
  await page.getByLabel('Workspace', { exact: true }).selectOption({ label: 'New workspace…' });
  await page.waitForURL((url) => url.pathname === '/workspaces');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.waitForURL(/\/workspaces\/w_[^/]+$/);
  return new URL(page.url()).pathname;
}

/**
 * The admin, on the workspace's members page, creates an invite link for `role`; `person` opens it on
 * `server`, signs in and lands on the same members page.
 */
export async function joinWorkspace(
  admin: Page,
  role: 'admin' | 'member',
  person: Person,
  server: ServerInstance,
  membersPath: string,
): Promise<void> {
  await admin.getByLabel('Role', { exact: true }).selectOption(role);
  await admin.getByRole('button', { name: 'Create invite link' }).click();
  const link = new URL(await until('the invite link', () => admin.getByLabel(/Invite link/).inputValue()));
  await person.page.goto(`${server.url}${link.pathname}${link.search}`);
  await signIn(person.page, person.name);
  await person.page.waitForURL((url) => url.pathname === membersPath, { timeout: 15_000 });
}

/**
 * Two servers; Ada signs in on the first and creates workspace `name`, Bob joins it as a member
 * on the second. Resolves with both people, both servers and the members page's path.
 */
export async function workspaceOnTwoServers({ topology, person }: E2eRun, name: string) {
  await topology.start(2);
  const [one, two] = topology.servers;
  assert.ok(one && two);
  const ada = await person('Ada Admin');
  const bob = await person('Bob Member');
  await ada.page.goto(`${one.url}/`);
  await signIn(ada.page, ada.name);
  const membersPath = await createWorkspace(ada.page, name);
  await joinWorkspace(ada.page, 'member', bob, two, membersPath);
  return { one, two, ada, bob, membersPath };
}

/**
 * On `server`'s home page, once the upload form names the current workspace, uploads `file`;
 * resolves with the room's path once it opens.
 */
export async function uploadIntoWorkspace(
  page: Page,
  server: ServerInstance,
  workspaceName: string,
  file: string,
): Promise<string> {
  await page.goto(`${server.url}/`);
  await page.locator('form p.hint', { hasText: workspaceName }).waitFor();
  await page.getByLabel('Document', { exact: true }).setInputFiles(file);
  await page.getByRole('button', { name: 'Start review', exact: true }).click();
  await page.waitForURL(/\/reviews\/[^/]+$/, { timeout: 20_000 });
  return new URL(page.url()).pathname;
}

/** The owner creates a reviewer link in the Invite dialog and closes it. */
export async function reviewerLink(page: Page): Promise<URL> {
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
  await page.getByRole('button', { name: 'Create reviewer link' }).click();
  const link = await until('the reviewer link', async () => page.getByLabel('Reviewer link').inputValue());
  await page.getByRole('button', { name: 'Close', exact: true }).click();
  return new URL(link);
}

/** `person` follows `link` on `server` (any instance serves any review), signs in and lands in the room. */
export async function joinByLink(person: Person, server: ServerInstance, link: URL, reviewPath: string) {
  await person.page.goto(`${server.url}${link.pathname}${link.search}`);
  await signIn(person.page, person.name);
  await person.page.waitForURL((url) => url.pathname === reviewPath, { timeout: 15_000 });
  await person.page.getByRole('region', { name: 'Findings', exact: true }).waitFor();
}

/**
 * The owner analyses every section; resolves once both rooms list the same (non-zero) findings,
 * with the number of findings the server holds for the review.
 */
async function analyzeAll(owner: Person, other: Person, reviewPath: string): Promise<number> {
  await owner.page.getByRole('button', { name: 'Analyze all', exact: true }).click();
  await until('the analysis to finish', () => analysisFinished(owner.page), 30_000);
  await until('findings in both rooms', async () => {
    const [a, b] = await Promise.all([findings(owner.page).count(), findings(other.page).count()]);
    return a > 0 && a === b;
  });
  // Every finding of the review (the list shows the selected section's), as the server has them.
  return owner.page.evaluate(
    async (path) => ((await (await fetch(`/api${path}`)).json()) as { feedback: unknown[] }).feedback.length,
    reviewPath,
  );
}

/**
 * Two servers and a rules worker; Olivia uploads DOCUMENT on server 1 and invites Ravi, who joins
 * on server 2; she analyses every section and both rooms list the same findings.
 */
export async function analysedRoomOnTwoServers({ topology, log, person }: E2eRun) {
  await topology.start(2);
  const [one, two] = topology.servers;
  assert.ok(one && two);
  log(`servers on ${one.url} and ${two.url}`);
  const olivia = await person('Olivia Owner');
  const ravi = await person('Ravi Reviewer');

  const reviewPath = await startReview(olivia.page, one, olivia.name, DOCUMENT);
  await olivia.page.getByRole('region', { name: 'Sections', exact: true }).waitFor();
  await joinByLink(ravi, two, await reviewerLink(olivia.page), reviewPath);
  log(`review ${reviewPath}: Olivia on server 1, Ravi on server 2`);

  const count = await analyzeAll(olivia, ravi, reviewPath);
  log(`${count} findings in the review`);
  return { one, two, olivia, ravi, reviewPath, count };
}

export interface E2eRun {
  topology: Topology;
  log(message: string): void;
  /** A browser context and page for `name` (1440x900, downloads allowed), its page errors recorded. */
  person(name: string, initScript?: () => void): Promise<Person>;
}

/**
 * Runs one browser test as a process: a topology, Chromium, a budget after which everything is
 * stopped and the run fails, screenshots of every page (`<label>-failure-<name>.png`) and the
 * processes' logs on failure, and no uncaught page error allowed at the end.
 */
export function runE2e(label: string, body: (run: E2eRun) => Promise<void>): void {
  const started = Date.now();
  const elapsed = () => ((Date.now() - started) / 1000).toFixed(1);
  const log = (message: string) => console.log(`[e2e ${label} ${elapsed()}s] ${message}`);

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
    const onSignal = () => {
      void stop().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // The whole run has a budget: a hang fails the test (and still cleans up) instead of blocking CI.
    const watchdog = setTimeout(() => {
      console.error(`[e2e ${label}] over the ${BUDGET_MS / 1000} s budget: stopping`);
      void stop().finally(() => process.exit(1));
    }, BUDGET_MS);
    watchdog.unref();

    const person = async (name: string, initScript?: () => void): Promise<Person> => {
      browser ??= await chromium.launch({
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
      const context = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        acceptDownloads: true,
      });
      if (initScript) await context.addInitScript(initScript);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(`${name}: ${error.message}`));
      const someone = { name, context, page, errors };
      people.push(someone);
      return someone;
    };

    try {
      await body({ topology, log, person });
      const errors = people.flatMap((p) => p.errors);
      assert.deepEqual(errors, [], `uncaught page errors:\n${errors.join('\n')}`);
      log(`passed in ${elapsed()} s; screenshots in ${RESULTS}`);
    } catch (error) {
      for (const p of people) {
        await p.page
          .screenshot({ path: join(RESULTS, `${label}-failure-${p.name.split(' ')[0]?.toLowerCase()}.png`) })
          .catch(() => {});
        if (p.errors.length) console.error(p.errors.join('\n'));
      }
      console.error(topology.logs());
      throw error;
    } finally {
      clearTimeout(watchdog);
      await stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
