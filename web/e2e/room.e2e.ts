/// <reference types="node" />
/**
 * The review room in two browsers on two server instances (plus one rules worker), end to end:
 * name, upload, invite, analyze, findings in both, accept in one -> the other within a second, a chat
 * reply streamed to both, and the instance behind the second browser killed with -9 and restarted: it
 * shows "Reconnecting...", catches up, and ends with the same findings, decisions and chat as the first.
 *
 *   npm run test:e2e -w web      (after `npm run build` at the root; REDIS_URL or a local redis-server)
 *
 * Screenshots go to web/test-results/. E2E_KEEP=1 keeps the temporary folder with the servers' logs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  analysisFinished,
  cardStates,
  DOCUMENT,
  findings,
  joinByLink,
  RESULTS,
  reviewerLink,
  runE2e,
  startReview,
  until,
} from './room-helpers.ts';

/** Counts the `review:event`s of each type this page's socket received (init script, before the app). */
const COUNT_FRAMES = () => {
  const counts: Record<string, number> = {};
  (window as unknown as { __prismFrames: Record<string, number> }).__prismFrames = counts;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (event: MessageEvent) => {
        if (typeof event.data !== 'string' || !event.data.startsWith('42["review:event"')) return;
        for (const type of ['chat.delta', 'chat.done', 'feedback.added', 'feedback.updated']) {
          if (event.data.includes(`"type":"${type}"`)) counts[type] = (counts[type] ?? 0) + 1;
        }
      });
    }
  };
};

/** Author and text of every chat message on the page. */
function chatLines(page: Page): Promise<{ id: string; status: string; text: string }[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('li[data-message-id]')].map((li) => ({
      id: li.dataset.messageId ?? '',
      status: li.dataset.status ?? '',
      text: li.querySelector('.bubble')?.textContent?.trim() ?? '',
    })),
  );
}

const connectionText = (page: Page) => page.getByRole('status').textContent();

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(RESULTS, `room-${name}.png`) });
}

runE2e('room', async ({ topology, log, person }) => {
  await topology.start(2);
  const [one, two] = topology.servers;
  assert.ok(one && two);
  log(`servers on ${one.url} and ${two.url}, redis prefix ${topology.prefix}`);
  const olivia = await person('Olivia Owner', COUNT_FRAMES);
  const ravi = await person('Ravi Reviewer', COUNT_FRAMES);

  // 1. Olivia, on server 1: her name, then the document.
  const reviewPath = await startReview(olivia.page, one, olivia.name, DOCUMENT);
  await olivia.page.getByRole('region', { name: 'Sections', exact: true }).waitFor();
  await olivia.page.getByRole('region', { name: 'Document text', exact: true }).waitFor();
  await until('Olivia connected', async () => (await connectionText(olivia.page)) === 'Connected');
  log(`review ${reviewPath} open for Olivia`);

  // 2. She invites Ravi as a reviewer; he follows the link on server 2.
  const inviteUrl = await reviewerLink(olivia.page);
  assert.equal(inviteUrl.origin, one.url, 'invite links are under PUBLIC_URL');
  await joinByLink(ravi, two, inviteUrl, reviewPath);
  await until('Ravi connected', async () => (await connectionText(ravi.page)) === 'Connected');
  const instances = await Promise.all(
    [olivia, ravi].map((p) =>
      p.page.evaluate(async () => (await (await fetch('/health')).json()).instance as string),
    ),
  );
  assert.notEqual(instances[0], instances[1], 'the two browsers are on different server instances');
  log(`Ravi joined through ${instances[1]}; Olivia is on ${instances[0]}`);

  // Both see each other.
  for (const p of [olivia, ravi]) {
    const other = p === olivia ? ravi.name : olivia.name;
    await until(`${p.name} sees ${other} here`, async () =>
      (await p.page.getByRole('region', { name: 'People here', exact: true }).textContent())?.includes(other),
    );
  }

  // Both list every section's findings (the list follows the selected section otherwise).
  for (const p of [olivia, ravi]) {
    await p.page
      .getByRole('group', { name: 'Show the findings of' })
      .getByRole('button', { name: /^All sections/ })
      .click();
  }

  // 3. Analyze all: the rules' findings arrive in both rooms.
  await olivia.page.getByRole('button', { name: 'Analyze all', exact: true }).click();
  await until(
    'the analysis to finish for Olivia',
    async () => {
      const refused = olivia.page.locator('[data-sonner-toast][data-type="error"]');
      if (await refused.count()) throw new Error(`analysis refused: ${await refused.first().textContent()}`);
      return analysisFinished(olivia.page);
    },
    30_000,
    (error) => error instanceof Error && error.message.startsWith('analysis refused'),
  );
  const count = await until('findings in both rooms', async () => {
    const [a, b] = await Promise.all([findings(olivia.page).count(), findings(ravi.page).count()]);
    return a > 0 && a === b && (await analysisFinished(ravi.page)) ? a : 0;
  });
  log(`${count} findings in both rooms`);
  await shot(olivia.page, '1-analyzed-olivia');

  // 4. Olivia accepts one; Ravi sees "Accepted" within a second.
  const first = findings(olivia.page).first();
  const firstId = await first.getAttribute('data-feedback-id');
  assert.ok(firstId);
  const acceptedAt = Date.now();
  await first.getByRole('button', { name: 'Accept', exact: true }).click();
  const ravisCard = ravi.page.locator(`article[data-feedback-id="${firstId}"]`);
  await until(
    'Ravi sees the decision',
    async () => (await ravisCard.locator('.status-word').textContent()) === 'Accepted',
    1000,
  );
  const seenAfter = Date.now() - acceptedAt;
  assert.ok(seenAfter <= 1000, `Ravi saw "Accepted" after ${seenAfter} ms`);
  assert.match((await ravisCard.textContent()) ?? '', new RegExp(`by ${olivia.name}`));
  log(`Ravi saw "Accepted" ${seenAfter} ms after Olivia's click`);
  await shot(ravi.page, '2-accepted-ravi');

  // 5. Ravi asks the assistant; the reply streams into both rooms.
  for (const p of [olivia, ravi]) await p.page.getByRole('tab', { name: 'Assistant', exact: true }).click();
  await ravi.page
    .getByLabel('Message', { exact: true })
    .fill('What does the agreement say about the license?');
  await ravi.page.getByRole('button', { name: 'Send', exact: true }).click();
  for (const p of [olivia, ravi]) {
    await until(`the answer for ${p.name}`, async () => {
      const lines = await chatLines(p.page);
      return lines.length === 2 && lines[1]?.status === 'done' && (lines[1]?.text.length ?? 0) > 0;
    });
    const deltas = await p.page.evaluate(
      () => (window as unknown as { __prismFrames: Record<string, number> }).__prismFrames['chat.delta'] ?? 0,
    );
    assert.ok(deltas > 0, `${p.name}'s browser received the answer as chat.delta events`);
  }
  const [oliviaChat, raviChat] = await Promise.all([chatLines(olivia.page), chatLines(ravi.page)]);
  assert.deepEqual(oliviaChat, raviChat);
  const assistant = ravi.page.getByRole('region', { name: 'Assistant', exact: true });
  assert.match((await assistant.textContent()) ?? '', /Prism/);
  assert.match((await assistant.textContent()) ?? '', /rules/);
  log(`the answer streamed into both rooms (${oliviaChat[1]?.text.length} characters)`);
  await shot(olivia.page, '3-chat-olivia');

  // 6. Kill -9 the server behind Ravi: "Reconnecting..."; meanwhile Olivia keeps working.
  await topology.kill(two);
  await until(
    'Ravi sees "Reconnecting..."',
    async () => (await connectionText(ravi.page)) === 'Reconnecting...',
    10_000,
  );
  log('server 2 killed; Ravi shows "Reconnecting..."');
  await shot(ravi.page, '4-reconnecting-ravi');
  // A decision while offline shows at once and rolls back with a message: nothing is lost or invented.
  await ravi.page.getByRole('tab', { name: 'Findings', exact: true }).click();
  const offlineCard = findings(ravi.page).nth(2);
  await offlineCard.getByRole('button', { name: 'Accept', exact: true }).click();
  await until('Ravi is told he is offline', async () =>
    (await ravi.page.locator('[data-sonner-toast]').allTextContents()).some((t) =>
      t.includes('Not connected'),
    ),
  );
  assert.equal(await offlineCard.locator('.status-word').textContent(), 'Pending');
  await olivia.page.getByRole('tab', { name: 'Findings', exact: true }).click();
  const second = findings(olivia.page).nth(1);
  await second.getByRole('button', { name: 'Reject', exact: true }).click();
  await until(
    'Olivia sees her rejection',
    async () => (await second.locator('.status-word').textContent()) === 'Rejected',
  );
  await olivia.page.getByRole('tab', { name: 'Assistant', exact: true }).click();
  await olivia.page.getByLabel('Message', { exact: true }).fill('Who signs the agreement?');
  await olivia.page.getByRole('button', { name: 'Send', exact: true }).click();
  await until('the second answer for Olivia', async () => {
    const lines = await chatLines(olivia.page);
    return lines.length === 4 && lines[3]?.status === 'done';
  });

  // 7. Server 2 comes back on the same port; Ravi catches up with `since`.
  await topology.startServer(two);
  await until('Ravi reconnected', async () => (await connectionText(ravi.page)) === 'Connected', 20_000);
  log('server 2 restarted; Ravi is connected again');
  const expected = await cardStates(olivia.page);
  const expectedChat = await chatLines(olivia.page);
  await until(
    'Ravi has the same findings, decisions and chat as Olivia',
    async () => {
      const [states, chat] = await Promise.all([cardStates(ravi.page), chatLines(ravi.page)]);
      return (
        JSON.stringify(states) === JSON.stringify(expected) &&
        JSON.stringify(chat) === JSON.stringify(expectedChat)
      );
    },
    10_000,
  );
  assert.equal(Object.keys(expected).length, count);
  assert.equal(Object.values(expected).filter((s) => s === 'Accepted').length, 1);
  assert.equal(Object.values(expected).filter((s) => s === 'Rejected').length, 1);
  log(
    `Ravi caught up: ${count} findings (1 accepted, 1 rejected) and ${expectedChat.length} chat messages, as Olivia`,
  );

  // The statistics panel draws its charts.
  await ravi.page.getByRole('button', { name: 'Statistics', exact: true }).click();
  await ravi.page
    .getByRole('region', { name: 'Statistics', exact: true })
    .locator('canvas')
    .first()
    .waitFor();
  await shot(ravi.page, '5-caught-up-ravi');
  await shot(olivia.page, '5-final-olivia');
});
