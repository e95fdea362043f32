// WhatsApp on a linked device through the Whapi.Cloud gateway, end to end against the local
// fake of the gateway (`switchboard-fakes`, under /whapi): linked in two steps on the one auth
// page (the channel's token, then a QR the phone scans), the phone's history imported, a
// customer answered, and the relink banner when the phone drops out.
import { test, expect, ALICE, agent } from './helpers';

const fakePort = Number(process.env.SWITCHBOARD_FAKES_PORT ?? 3390);
const fake = `http://127.0.0.1:${fakePort}`;

test('link_a_whapi_phone_see_its_history_and_answer', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const page = alice.page;
  await page.goto('/admin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Provider').selectOption('whapi');
  const name = `Shop phone ${Date.now()}`;
  await page.getByLabel('Channel name').fill(name);
  await page.getByLabel('Gateway URL').fill(`${fake}/whapi`);
  await page.getByRole('button', { name: 'Add channel' }).click();
  await expect(page).toHaveURL(/\/channels\/[0-9a-f-]+\/auth$/);
  const authUrl = page.url();

  // Step 1: the gateway channel's token (a wrong one is refused in words).
  await expect(page.getByTestId('auth-step')).toContainText('Step 1 of 2');
  await expect(page.getByTestId('method-qr')).toHaveCount(0);
  await page.getByTestId('method-token').click();
  await expect(page.getByLabel('Channel API token')).toHaveAttribute('type', 'password');
  await page.getByLabel('Channel API token').fill('not-the-token');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('auth-error')).toContainText('refused this token');
  await page.getByTestId('method-token').click();
  await page.getByLabel('Channel API token').fill('fake-whapi-token');
  await page.getByRole('button', { name: 'Connect' }).click();

  // Step 2: link the phone by QR; the fake phone scans it.
  await expect(page.getByTestId('auth-step')).toContainText('Step 2 of 2', { timeout: 10000 });
  await page.getByRole('button', { name: 'Scan a QR code' }).click();
  await expect(page.getByTestId('qr')).toBeVisible({ timeout: 10000 });
  expect(await page.getByTestId('qr').getAttribute('data-qr-value')).toMatch(/^2@fake-whapi-qr-\d+$/);
  expect((await page.request.post(`${fake}/_fake/whapi/link`)).ok()).toBe(true);
  await expect(page.getByTestId('auth-connected')).toBeVisible({ timeout: 15000 });

  // The phone's recent chats are in the inbox, read; their messages in order.
  await page.goto('/inbox');
  const hana = page.getByTestId('conversation-item').filter({ hasText: 'Hana Historic' });
  await expect(hana).toBeVisible({ timeout: 15000 });
  await hana.click();
  await expect(page.getByTestId('message').first()).toContainText('Do you deliver on Sundays?');
  await expect(page.getByTestId('message').last()).toContainText('Yes, before noon.');

  // A customer writes; the agent answers; the gateway gets exactly the documented request.
  const customer = `1555${Date.now() % 10000000}@s.whatsapp.net`;
  const inbound = await page.request.post(`${fake}/_fake/whapi/inbound`, {
    data: { chat_id: customer, name: 'Wanda Walk-in', text: 'Do you have size 38?' },
  });
  expect((await inbound.json()).status).toBe(200);
  await page.getByTestId('conversation-item').filter({ hasText: 'Wanda Walk-in' }).click({ timeout: 10000 });
  await expect(page.getByTestId('message').filter({ hasText: 'Do you have size 38?' })).toBeVisible();
  const answer = `We do, in blue ${Date.now()}`;
  await page.getByTestId('composer').fill(answer);
  await page.getByTestId('composer').press('Enter');
  await expect(page.getByTestId('message').filter({ hasText: answer })).toHaveAttribute('data-status', 'sent', { timeout: 10000 });
  const calls = await (await page.request.get(`${fake}/_fake/whapi/calls`)).json();
  const sent = calls.filter((c: { route: string; body: { body?: string } }) => c.route === 'POST /messages/text' && c.body.body === answer);
  expect(sent).toHaveLength(1);
  expect(sent[0].body).toEqual({ to: customer, body: answer });

  // The phone drops out: the inbox says so, with the way back.
  const dropped = await page.request.post(`${fake}/_fake/whapi/health`, { data: { text: 'QR' } });
  expect((await dropped.json()).status).toBe(200);
  const banner = page.getByTestId('relink-banner').filter({ hasText: name });
  await expect(banner).toContainText('the phone was unlinked', { timeout: 10000 });
  await banner.getByTestId('relink-link').click();
  await expect(page).toHaveURL(authUrl);
  await page.getByRole('button', { name: 'Scan a QR code' }).click();
  await expect(page.getByTestId('qr')).toBeVisible({ timeout: 10000 });
  await page.request.post(`${fake}/_fake/whapi/link`);
  await expect(page.getByTestId('auth-connected')).toBeVisible({ timeout: 15000 });
  await page.goto('/inbox');
  await expect(page.getByTestId('relink-banner').filter({ hasText: name })).toHaveCount(0);
  await alice.context.close();
});
