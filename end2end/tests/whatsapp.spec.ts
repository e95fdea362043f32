// A WhatsApp Cloud API channel, end to end against the local fake of Meta's Graph API
// (`switchboard-fakes`, started beside the server by playwright.config.ts): connected through
// the one auth page, a customer's message in, the agent's answer out.
import { test, expect, ALICE, agent, api, Channel } from './helpers';

const fakePort = Number(process.env.SWITCHBOARD_FAKES_PORT ?? 3390);
const fake = `http://127.0.0.1:${fakePort}`;
const APP_SECRET = '0123456789abcdef0123456789abcdef';

test('connect_whatsapp_cloud_and_answer_a_customer', async ({ browser, baseURL }) => {
  const alice = await agent(browser, ALICE);
  const page = alice.page;
  const name = `WhatsApp ${Date.now()}`;
  await page.goto('/admin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Provider').selectOption('whatsapp_cloud');
  await page.getByLabel('Channel name').fill(name);
  await page.getByLabel('Phone number ID').fill('106540352242922');
  await page.getByLabel('WhatsApp Business Account ID (for templates)').fill('102290129340398');
  await page.getByLabel('API base URL').fill(fake);
  await page.getByRole('button', { name: 'Add channel' }).click();
  await expect(page).toHaveURL(/\/channels\/[0-9a-f-]+\/auth$/);
  const channelId = page.url().split('/').slice(-2)[0];

  // One token prompt with two masked fields; a wrong token is refused in words.
  await page.getByRole('button', { name: 'Token', exact: true }).click();
  await expect(page.getByLabel('Access token')).toHaveAttribute('type', 'password');
  await expect(page.getByLabel('App secret')).toHaveAttribute('type', 'password');
  await page.getByLabel('Access token').fill('not-the-token');
  await page.getByLabel('App secret').fill(APP_SECRET);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('auth-error')).toContainText('access token');
  await page.getByRole('button', { name: 'Token', exact: true }).click();
  await page.getByLabel('Access token').fill('fake-access-token');
  await page.getByLabel('App secret').fill(APP_SECRET);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('auth-connected')).toBeVisible({ timeout: 10000 });

  // What to paste into Meta's console, with copy buttons; the verified name and number.
  const url = `${baseURL}/webhooks/whatsapp_cloud/${channelId}`;
  await expect(page.getByTestId('webhook-url')).toHaveText(url);
  await expect(page.getByTestId('webhook-verify-token')).toHaveText(/^[0-9a-f]{32}$/);
  await expect(page.getByTestId('channel-identity')).toHaveText('Switchboard Test Shop · +1 555-078-3881');
  await page.getByRole('button', { name: 'Copy the verify token' }).click();
  await expect(page.getByRole('button', { name: 'Copy the verify token' })).toHaveText('Copied');
  const verifyToken = await page.getByTestId('webhook-verify-token').textContent();
  const handshake = await page.request.get(`${url}?hub.mode=subscribe&hub.verify_token=${verifyToken}&hub.challenge=42`);
  expect(await handshake.text()).toBe('42');

  // The customer writes (the fake delivers Meta's signed webhook).
  const from = `1650555${String(Date.now()).slice(-4)}`;
  const inbound = await page.request.post(`${fake}/_fake/whatsapp/inbound`, {
    data: { webhook_url: url, app_secret: APP_SECRET, from, name: 'Sheena Nelson', text: 'Is my order on its way?' },
  });
  expect((await inbound.json()).status).toBe(200);

  await page.getByTestId('open-inbox').click();
  await expect(page).toHaveURL(/\/inbox/);
  const row = page.getByTestId('conversation-item').filter({ hasText: 'Sheena Nelson' });
  await row.click();
  await expect(page.getByTestId('message').filter({ hasText: 'Is my order on its way?' })).toBeVisible();

  const answer = `Yes, it ships today ${Date.now()}`;
  await page.getByTestId('composer').fill(answer);
  await page.getByTestId('composer').press('Enter');
  const bubble = page.getByTestId('message').filter({ hasText: answer });
  await expect(bubble).toHaveAttribute('data-status', 'sent', { timeout: 10000 });
  const calls = await (await page.request.get(`${fake}/_fake/whatsapp/requests`)).json();
  const sent = calls.filter((c: { body: { text?: { body?: string } } }) => c.body?.text?.body === answer);
  expect(sent).toHaveLength(1);
  expect(sent[0].body.to).toBe(from);

  const channels = await api<Channel[]>(page, 'GET', '/channels');
  expect(channels.find((c) => c.id === channelId)?.status).toBe('connected');
  await alice.context.close();
});

test('past_the_24_hour_window_the_composer_becomes_a_template_picker', async ({ browser, baseURL }) => {
  const alice = await agent(browser, ALICE);
  const page = alice.page;
  // A signed-in channel, made through the API this time (the test above drives the pages).
  const channel = await api<Channel>(page, 'POST', '/channels', {
    provider: 'whatsapp_cloud',
    name: `WhatsApp window ${Date.now()}`,
    config: { phone_number_id: '106540352242922', waba_id: '102290129340398', api_base_url: fake },
  });
  await api(page, 'POST', `/channels/${channel.id}/auth/start`, { method: 'token' });
  const signedIn = await api<{ status: string }>(page, 'POST', `/channels/${channel.id}/auth/submit`, {
    kind: 'token',
    fields: { access_token: 'fake-access-token', app_secret: APP_SECRET },
  });
  expect(signedIn.status).toBe('authenticated');
  // The customer last wrote 25 hours ago.
  const from = `1650556${String(Date.now()).slice(-4)}`;
  const yesterday = Math.floor(Date.now() / 1000) - 25 * 3600;
  const inbound = await page.request.post(`${fake}/_fake/whatsapp/inbound`, {
    data: {
      webhook_url: `${baseURL}/webhooks/whatsapp_cloud/${channel.id}`,
      app_secret: APP_SECRET,
      from,
      name: 'Late Larry',
      text: 'Are you open tomorrow?',
      timestamp: yesterday,
    },
  });
  expect((await inbound.json()).status).toBe(200);

  await page.goto('/inbox');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByTestId('conversation-item').filter({ hasText: 'Late Larry' }).click();
  await expect(page.getByTestId('template-picker')).toBeVisible();
  await expect(page.getByTestId('composer')).toHaveCount(0);
  await page.getByTestId('template-select').selectOption({ label: 'order_update (en_US)' });
  await page.getByLabel('Parameter 1').fill('Larry');
  await page.getByLabel('Parameter 2').fill('#77');
  await expect(page.getByTestId('template-preview')).toHaveText('Hi Larry, your order #77 has shipped.');
  await page.getByRole('button', { name: 'Send template' }).click();
  // Stored at once, then sent by the outbox: the fake has it once the ticks say so.
  await expect(page.getByTestId('message').filter({ hasText: 'Hi Larry, your order #77 has shipped.' }))
    .toHaveAttribute('data-status', 'sent', { timeout: 10000 });
  const calls = await (await page.request.get(`${fake}/_fake/whatsapp/requests`)).json();
  const sent = calls.filter((c: { body: { to?: string; type?: string } }) => c.body?.to === from && c.body?.type === 'template');
  expect(sent).toHaveLength(1);
  expect(sent[0].body.template.name).toBe('order_update');
  await alice.context.close();
});
