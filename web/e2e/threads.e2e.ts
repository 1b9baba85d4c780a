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
import { join } from 'node:path';
import { analysedRoomOnTwoServers, findings, RESULTS, runE2e, until } from './room-helpers.ts';

runE2e('threads', async (run) => {
  const { log } = run;
  // 1-2. Olivia uploads on server 1 and invites Ravi, who joins on server 2; she analyses all and
  // the rules' findings arrive in both rooms.
  const { one, olivia, ravi, reviewPath } = await analysedRoomOnTwoServers(run);

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
});
