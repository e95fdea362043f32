// A Telegram bot, end to end against the local fake of the Bot API (`switchboard-fakes`, under
// /telegram): connected by its token on the one auth page, a user's message in by polling (the
// test server has no HTTPS address), the agent's answer out.
import { test, expect, ALICE, agent } from './helpers';

const fakePort = Number(process.env.SWITCHBOARD_FAKES_PORT ?? 3390);
const fake = `http://127.0.0.1:${fakePort}`;
const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

test('connect_a_telegram_bot_and_answer_a_user', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const page = alice.page;
  await page.goto('/admin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Provider').selectOption('telegram');
  await page.getByLabel('Channel name').fill(`Telegram ${Date.now()}`);
  await page.getByLabel('Bot API base URL').fill(`${fake}/telegram`);
  await page.getByRole('button', { name: 'Add channel' }).click();
  await expect(page).toHaveURL(/\/channels\/[0-9a-f-]+\/auth$/);

  await page.getByRole('button', { name: 'Token', exact: true }).click();
  await expect(page.getByLabel('Bot token')).toHaveAttribute('type', 'password');
  await page.getByLabel('Bot token').fill('not a token');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('auth-error')).toContainText('@BotFather');
  await page.getByLabel('Bot token').fill(TOKEN);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('auth-connected')).toBeVisible({ timeout: 10000 });
  await expect(page).toHaveURL(/\/inbox/, { timeout: 5000 });

  const chat = 700000000 + (Date.now() % 100000000);
  // A name of this run's own: the fake's queue is every bot's, so an earlier run's bot reads it too.
  const last = `Gram ${chat}`;
  const update = await page.request.post(`${fake}/_fake/telegram/updates`, {
    data: { message: { message_id: 1, date: Math.floor(Date.now() / 1000), text: 'Hi, is the shop open?',
      from: { id: chat, is_bot: false, first_name: 'Tess', last_name: last },
      chat: { id: chat, type: 'private', first_name: 'Tess', last_name: last } } },
  });
  expect(update.ok()).toBe(true);
  await page.getByTestId('conversation-item').filter({ hasText: `Tess ${last}` }).click({ timeout: 10000 });
  await expect(page.getByTestId('message').filter({ hasText: 'Hi, is the shop open?' })).toBeVisible();

  const answer = `Yes, until six ${Date.now()}`;
  await page.getByTestId('composer').fill(answer);
  await page.getByTestId('composer').press('Enter');
  await expect(page.getByTestId('message').filter({ hasText: answer })).toHaveAttribute('data-status', 'sent', { timeout: 10000 });
  const calls = await (await page.request.get(`${fake}/_fake/telegram/calls`)).json();
  const sent = calls.filter((c: { method: string; body: { text?: string } }) => c.method === 'sendMessage' && c.body.text === answer);
  expect(sent).toHaveLength(1);
  expect(sent[0].body.chat_id).toBe(String(chat));
  await alice.context.close();
});
