import { test, expect, Page } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { ALICE, BOB, agent, api, demoConversation, openConversation, screenshot, Channel, Conversation } from './helpers';

function messages(page: Page, text: string | RegExp) {
  return page.getByTestId('message').filter({ hasText: text });
}

/** The message whose text is exactly `text` (a reply quoting it is another message). */
function exact(page: Page, text: string) {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page.getByTestId('message').filter({ has: page.locator('.text', { hasText: new RegExp(`^${escaped}$`) }) });
}

async function send(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
}

test('send_message_between_agents', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 0);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);

  const text = `Hello from Alice ${Date.now()}`;
  await send(alice.page, text);
  // Optimistic: on alice's screen at once, before the server answers.
  await expect(exact(alice.page, text)).toBeVisible({ timeout: 500 });
  await expect(alice.page.getByTestId('composer')).toHaveValue('');
  // Live on bob's screen within a second, with no reload.
  await expect(exact(bob.page, text)).toBeVisible({ timeout: 1000 });
  // The ticks follow the network's receipts: sent, delivered, read.
  await expect(exact(alice.page, text)).toHaveAttribute('data-status', /sent|delivered|read/);
  await expect(exact(alice.page, text)).toHaveAttribute('data-status', 'read', { timeout: 5000 });
  await expect(exact(bob.page, text)).toHaveAttribute('data-status', 'read', { timeout: 5000 });
  // The Mock contact answers; both agents see it.
  const reply = `Thanks, got it: "${text}"`;
  await expect(messages(alice.page, reply)).toBeVisible({ timeout: 6000 });
  await expect(messages(bob.page, reply)).toBeVisible({ timeout: 2000 });
  // The list shows the reply as the conversation's preview, at the top.
  await expect(alice.page.getByTestId('conversation-item').first()).toContainText(conversation.title);
  await expect(alice.page.getByTestId('conversation-item').first()).toContainText('Thanks, got it');
  // Screen readers hear about the reply.
  await expect(bob.page.getByTestId('announcer')).toContainText('Thanks, got it');
  await screenshot(alice.page, 'inbox');
  // Bob had it open while both arrived: they are read on the server too, not just on screen.
  await bob.page.reload();
  await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const item = bob.page.getByTestId('conversation-item').filter({ hasText: conversation.title });
  await expect(item).toHaveCount(1);
  await expect(item.getByTestId('unread')).toHaveCount(0);
  await alice.context.close();
  await bob.context.close();
});

test('show_typing_indicator', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 1);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);

  await expect(bob.page.getByTestId('typing')).toHaveCount(0);
  await alice.page.getByTestId('composer').pressSequentially('Let me che', { delay: 30 });
  await expect(bob.page.getByTestId('typing')).toHaveText('Alice Martin is typing…', { timeout: 1000 });
  // Alice never sees her own typing.
  await expect(alice.page.getByTestId('typing')).toHaveCount(0);
  // It clears by itself when she stops.
  await expect(bob.page.getByTestId('typing')).toHaveCount(0, { timeout: 9000 });

  // The draft survives a reload, per conversation.
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(alice.page.getByTestId('composer')).toHaveValue('Let me che');
  await alice.context.close();
  await bob.context.close();
});

test('recover_missed_messages', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 2);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);
  // Marks this document: a reload would lose it.
  await bob.page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  // The client connects with a token from the API, on every (re)connect.
  const tokenCalls: string[] = [];
  bob.page.on('request', (r) => {
    if (r.url().includes('/api/v1/realtime/token')) tokenCalls.push(r.url());
  });
  await bob.context.setOffline(true);
  await expect(bob.page.getByTestId('reconnecting')).toBeVisible({ timeout: 5000 });

  const stamp = Date.now();
  const texts = [1, 2, 3].map((i) => `Missed ${i} ${stamp}`);
  for (const text of texts) {
    await send(alice.page, text);
    await expect(messages(alice.page, text)).toHaveAttribute('data-status', /sent|delivered|read/);
  }
  await expect(messages(bob.page, `${stamp}`)).toHaveCount(0);

  await bob.context.setOffline(false);
  await expect(bob.page.getByTestId('reconnecting')).toHaveCount(0, { timeout: 10000 });
  await expect(messages(bob.page, `${stamp}`)).toHaveCount(3);
  const shown = await messages(bob.page, `${stamp}`).locator('.text').allInnerTexts();
  expect(shown).toEqual(texts);
  expect(await bob.page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  expect(tokenCalls.length).toBeGreaterThan(0);
  await alice.context.close();
  await bob.context.close();
});

test('retry_failed_send', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const { channel, conversation } = await demoConversation(alice.page, 3);
  await openConversation(alice.page, conversation.id);
  // Fault injection: the Mock network refuses this contact.
  const config = { ...channel.config };
  await api(alice.page, 'PATCH', `/channels/${channel.id}`, {
    config: { ...config, reject_contacts: [conversation.external_chat_id] },
  });
  try {
    const text = `Will fail first ${Date.now()}`;
    await send(alice.page, text);
    const bubble = exact(alice.page, text);
    await expect(bubble).toHaveAttribute('data-status', 'failed', { timeout: 10000 });
    await expect(bubble.getByRole('alert')).toContainText('does not accept messages');

    // The network takes messages again; retry sends the same message.
    await api(alice.page, 'PATCH', `/channels/${channel.id}`, { config });
    await bubble.getByRole('button', { name: 'Retry' }).click();
    await expect(bubble).toHaveAttribute('data-status', /sent|delivered|read/, { timeout: 10000 });
    await expect(bubble.getByRole('alert')).toHaveCount(0);
    await expect(exact(alice.page, text)).toHaveCount(1);
  } finally {
    await api(alice.page, 'PATCH', `/channels/${channel.id}`, { config });
  }
  await alice.context.close();
});

test('scroll_long_history', async ({ browser }) => {
  test.setTimeout(300_000);
  const alice = await agent(browser, ALICE);
  const room = await seedRoom(alice.page, 10_000);

  await alice.page.goto(`/inbox?c=${room.id}`);
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const list = alice.page.getByTestId('message-list');
  // Opens at the newest message, with only a window of rows in the DOM.
  await expect(messages(alice.page, 'm-10000')).toBeVisible({ timeout: 10000 });
  const rows = alice.page.getByTestId('message');
  expect(await rows.count()).toBeLessThan(120);

  // Scroll to the top again and again: older pages load by cursor, the DOM stays small.
  let most = 0;
  for (let i = 0; i < 400; i++) {
    if (await messages(alice.page, 'm-00001').isVisible()) break;
    await list.evaluate((el) => (el.scrollTop = 0));
    await alice.page.waitForTimeout(60);
    most = Math.max(most, await rows.count());
  }
  await expect(messages(alice.page, 'm-00001')).toBeVisible();
  await expect(alice.page.getByText('This is the start of the conversation.')).toBeVisible();
  expect(most).toBeLessThan(150);
  expect(await rows.count()).toBeLessThan(150);
  await alice.context.close();
});

test('filter_conversations', async ({ browser }) => {
  // Whatever ran before, Bob has something unread: Alice writes in the last demo conversation.
  const alice = await agent(browser, ALICE);
  const { conversation: unreadForBob } = await demoConversation(alice.page, 4);
  const forBob = `For Bob ${Date.now()}`;
  await api(alice.page, 'POST', `/conversations/${unreadForBob.id}/messages`, { text: forBob });
  // The Mock contact answers 2 s later: wait for that answer, so that nothing new arrives
  // between Bob reading the conversation and reloading the page.
  await expect
    .poll(async () => {
      const history = await api<{ text: string }[]>(alice.page, 'GET', `/conversations/${unreadForBob.id}/messages?limit=5`);
      return history.map((m) => m.text);
    }, { timeout: 15_000 })
    .toContain(`Thanks, got it: "${forBob}"`);
  await alice.context.close();
  const bob = await agent(browser, BOB);
  const items = bob.page.getByTestId('conversation-item');
  await expect(items.first()).toBeVisible();
  const all = await items.count();
  expect(all).toBeGreaterThanOrEqual(5);
  // Search by name.
  await bob.page.getByLabel('Search conversations').fill('tom');
  await expect(items).toHaveCount(1);
  await expect(items.first()).toContainText('Tom Becker');
  await bob.page.getByLabel('Search conversations').fill('');
  await expect(items).toHaveCount(all);
  // Unread only: exactly the conversations with an unread badge.
  const unread = await items.filter({ has: bob.page.getByTestId('unread') }).count();
  await bob.page.getByRole('button', { name: 'Unread' }).click();
  await expect(items).toHaveCount(unread);
  await bob.page.getByRole('button', { name: 'All' }).click();
  await expect(items).toHaveCount(all);
  // Opening a conversation marks it read, for good.
  const withUnread = items.filter({ has: bob.page.getByTestId('unread') }).first();
  const title = (await withUnread.locator('.title').innerText()).trim();
  await withUnread.click();
  await expect(bob.page.getByTestId('thread-title')).toHaveText(title);
  const opened = items.filter({ hasText: title });
  await expect(opened.getByTestId('unread')).toHaveCount(0);
  await bob.page.reload();
  await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(items.filter({ hasText: title })).toHaveCount(1);
  await expect(items.filter({ hasText: title }).getByTestId('unread')).toHaveCount(0);
  // One channel: its conversations only.
  await bob.page.getByTestId('channel').filter({ hasText: 'Mock WhatsApp' }).click();
  await expect(items.filter({ hasNotText: 'Mock WhatsApp' })).toHaveCount(0);
  await bob.context.close();
});

test('show_contact_presence', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const secret = 'whsec_e2e_presence';
  const channel = await api<Channel>(alice.page, 'POST', '/channels', {
    provider: 'mock',
    name: `Hooked ${Date.now()}`,
    config: { webhook_secret: secret },
  });
  // The Mock network calls our webhook, signed as it would be.
  const hook = async (events: unknown[]) => {
    const body = JSON.stringify({ events });
    const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
    const response = await alice.page.request.post(`/webhooks/mock/${channel.id}`, {
      headers: { 'content-type': 'application/json', 'x-mock-signature': signature },
      data: body,
    });
    expect(response.ok()).toBeTruthy();
  };
  const from = `+49151${Date.now() % 1_000_000}`;
  await hook([{ type: 'message', id: `wamid.${from}`, from, name: 'Grace Hopper', text: 'Are you there?' }]);
  const conversations = await api<Conversation[]>(alice.page, 'GET', '/conversations');
  const conversation = conversations.find((c) => c.channel_id === channel.id)!;
  await openConversation(alice.page, conversation.id);
  await expect(alice.page.getByTestId('contact-presence')).toHaveText('');

  await hook([{ type: 'presence', id: from, online: true }]);
  await expect(alice.page.getByTestId('contact-presence')).toHaveText('· online');
  await hook([{ type: 'presence', id: from, online: false }]);
  await expect(alice.page.getByTestId('contact-presence')).toHaveText('· offline');
  // It is stored: a reload shows it too.
  await alice.page.reload();
  await expect(alice.page.getByTestId('contact-presence')).toHaveText('· offline');
  await alice.context.close();
});

test('open_conversation_on_a_phone', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  const { signIn } = await import('./helpers');
  await signIn(page, ALICE);
  // One pane at a time: the list first.
  await expect(page.getByRole('region', { name: 'Conversations' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Channels' })).toBeHidden();
  await page.getByTestId('conversation-item').first().click();
  await expect(page.getByTestId('composer')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Conversations' })).toBeHidden();
  await page.getByRole('link', { name: 'Back to conversations' }).click();
  await expect(page.getByRole('region', { name: 'Conversations' })).toBeVisible();
  await context.close();
});

/** An in-app room with `count` messages `m-00001`…, sent over the API. The first and the last
 * are sent alone, so they are the oldest and the newest; the rest go 50 at a time. */
async function seedRoom(page: Page, count: number): Promise<Conversation> {
  const channel = await api<Channel>(page, 'POST', '/channels', { provider: 'inapp', name: `Long room ${Date.now()}` });
  const room = await api<Conversation>(page, 'POST', '/conversations', { channel_id: channel.id, title: 'Ten thousand' });
  const post = (n: number) =>
    api(page, 'POST', `/conversations/${room.id}/messages`, { text: `m-${String(n).padStart(5, '0')}` });
  await post(1);
  const batch = 50;
  for (let start = 2; start < count; start += batch) {
    const sends = [];
    for (let n = start; n < start + batch && n < count; n++) sends.push(post(n));
    await Promise.all(sends);
  }
  await post(count);
  return room;
}
