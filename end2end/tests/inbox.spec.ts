import { Page } from '@playwright/test';
import { test, expect, ALICE, BOB, agent, api, demoConversation, mockChannel, mockContact, mockEvents, mockWrites, newPhone, openConversation, screenshot, Channel, Conversation } from './helpers';

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

test('teammates_replies_name_their_author_and_are_not_unread', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 1);
  // Bob has read the conversation and looks at the list (nothing open).
  await openConversation(bob.page, conversation.id);
  await bob.page.goto('/inbox');
  await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const bobsItem = bob.page.getByTestId('conversation-item').filter({ hasText: conversation.title });
  await expect(bobsItem.getByTestId('unread')).toHaveCount(0);

  await openConversation(alice.page, conversation.id);
  const text = `Alice answers ${Date.now()}`;
  await send(alice.page, text);
  // Bob's list: Alice's reply, named, and not unread for him; read out with her name.
  await expect(bobsItem.getByTestId('preview')).toHaveText(`Alice Martin: ${text}`);
  await expect(bobsItem.getByTestId('unread')).toHaveCount(0);
  await expect(bob.page.getByTestId('announcer')).toHaveText(`New message from Alice Martin in ${conversation.title}: ${text}`);
  // Alice's own list says "You".
  const alicesItem = alice.page.getByTestId('conversation-item').filter({ hasText: conversation.title });
  await expect(alicesItem.getByTestId('preview')).toHaveText(`You: ${text}`);
  // The contact's answer is unread for Bob, with no author prefix (the title names them).
  const reply = `Thanks, got it: "${text}"`;
  await expect(bobsItem.getByTestId('preview')).toHaveText(reply, { timeout: 6000 });
  await expect(bobsItem.getByTestId('unread')).toHaveText('1');
  await expect(bob.page.getByTestId('announcer')).toHaveText(`New message from ${conversation.title}: ${reply}`);
  // In the thread, the team's bubbles name who wrote them.
  await openConversation(bob.page, conversation.id);
  await expect(exact(bob.page, text).getByTestId('author')).toHaveText('Alice Martin');
  await expect(exact(alice.page, text).getByTestId('author')).toHaveText('You');
  await expect(exact(bob.page, reply).getByTestId('author')).toHaveCount(0);
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

// The page reads its list again after its first subscribe; a new conversation whose events
// arrive while that read is on its way must not be undone by the older answer (docs/inbox.md,
// "Live state and snapshots"). The read is held here: answered by the server, then a contact
// writes (the page shows them live), and only then does the older answer land.
test('a_list_read_that_crosses_a_new_conversation_is_read_again', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const page = alice.page;
  const { channel, secret } = await mockChannel(page, `Crossing ${Date.now()}`);
  // Signed in, the page is on the inbox already: away first, so the held read is the next page's.
  await page.goto('about:blank');
  const name = `Rae Crossing ${Date.now() % 100000}`;
  const item = page.getByTestId('conversation-item').filter({ hasText: name });
  let reads = 0;
  await page.route('**/_fn/conversations', async (route) => {
    reads += 1;
    if (reads > 1) return route.continue();
    const older = await route.fetch();
    const from = newPhone();
    await mockWrites(page, channel, secret, { id: `wamid.${from}`, from, name, text: 'Am I on the list?' });
    await expect(item).toBeVisible();
    await route.fulfill({ response: older });
  });
  await page.goto('/inbox');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  // The older answer made the page read the list again, and the conversation stayed.
  await expect.poll(() => reads, { timeout: 10_000 }).toBeGreaterThan(1);
  await expect(item).toBeVisible();
  await alice.context.close();
});

// The same for the open conversation's first page: an edit that arrives live while the page
// is on its way must not be put back to the older text.
test('a_history_read_that_crosses_an_edit_is_read_again', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const page = alice.page;
  const { conversation } = await mockContact(page, 'Hal History', { channelName: `History ${Date.now()}`, text: 'Hello' });
  const sent = await api<{ id: string }>(page, 'POST', `/conversations/${conversation.id}/messages`, {
    text: 'First draft',
  });
  await page.goto('about:blank');
  let reads = 0;
  await page.route('**/_fn/history', async (route) => {
    reads += 1;
    if (reads > 1) return route.continue();
    const older = await route.fetch();
    await api(page, 'PATCH', `/messages/${sent.id}`, { text: 'Second thought' });
    await expect(messages(page, 'Second thought')).toBeVisible();
    await route.fulfill({ response: older });
  });
  await page.goto(`/inbox?c=${conversation.id}`);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect.poll(() => reads, { timeout: 10_000 }).toBeGreaterThan(1);
  await expect(messages(page, 'Second thought')).toBeVisible();
  await expect(messages(page, 'First draft')).toHaveCount(0);
  await alice.context.close();
});

test.describe('reconnect', () => {
  // The browser logs its reconnect attempts the offline network refuses (the test's own doing).
  test.use({ allowConsole: /net::ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed/ });

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
});

test.describe('offline', () => {
  // The browser logs the requests the offline network refuses (the test's own doing).
  test.use({ allowConsole: /net::ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed/ });

  test('queue_sends_made_offline_and_send_them_in_order_once', async ({ browser }) => {
    const alice = await agent(browser, ALICE);
    const { conversation } = await demoConversation(alice.page, 2);
    await openConversation(alice.page, conversation.id);
    await alice.context.setOffline(true);
    await expect(alice.page.getByTestId('reconnecting')).toBeVisible({ timeout: 5000 });
    const stamp = Date.now();
    const texts = [1, 2, 3].map((i) => `Offline ${i} ${stamp}`);
    for (const text of texts) await send(alice.page, text);
    for (const text of texts) {
      await expect(exact(alice.page, text).getByTestId('waiting')).toHaveText('Waiting for connection');
      await expect(exact(alice.page, text)).toHaveAttribute('data-status', 'pending');
    }
    await expect(alice.page.getByRole('button', { name: 'Retry' })).toHaveCount(0);

    // A reload while the sends still cannot get through (the page loads, the socket and the
    // send call do not) keeps them: they wait in the browser.
    let blocked = true;
    await alice.page.routeWebSocket(/\/connection\/websocket/, (ws) => {
      if (blocked) ws.close({ code: 1006 });
      else ws.connectToServer();
    });
    await alice.page.route('**/_fn/send**', (route) => (blocked ? route.abort('internetdisconnected') : route.continue()));
    await alice.context.setOffline(false);
    await alice.page.reload();
    await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    for (const text of texts) {
      await expect(exact(alice.page, text).getByTestId('waiting')).toHaveText('Waiting for connection');
    }

    // The connection returns: they go out in order, each stored once (their client ids).
    blocked = false;
    for (const text of texts) {
      await expect(exact(alice.page, text)).toHaveAttribute('data-status', /sent|delivered|read/, { timeout: 20_000 });
      await expect(exact(alice.page, text).getByTestId('waiting')).toHaveCount(0);
    }
    const history = await api<{ text: string }[]>(alice.page, 'GET', `/conversations/${conversation.id}/messages?limit=50`);
    const stored = history.map((m) => m.text).filter((t) => t.startsWith('Offline ') && t.endsWith(` ${stamp}`)).reverse();
    expect(stored).toEqual(texts);
    expect(await alice.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('switchboard.outbox.')))).toEqual([]);
    await alice.context.close();
  });
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
  // A search that finds nothing says so (not "no conversations yet").
  await bob.page.getByLabel('Search conversations').fill('nobody by this name');
  await expect(items).toHaveCount(0);
  await expect(bob.page.getByRole('region', { name: 'Conversations' })).toContainText('No conversations match “nobody by this name”.');
  await bob.page.getByLabel('Search conversations').fill('');
  await expect(items).toHaveCount(all);
  // Unread only: exactly the conversations with an unread badge.
  const unread = await items.filter({ has: bob.page.getByTestId('unread') }).count();
  expect(unread).toBeGreaterThanOrEqual(1);
  await bob.page.getByRole('button', { name: 'Unread' }).click();
  await expect(items).toHaveCount(unread);
  // Opening one there reads it, and it stays listed (and selected) until another is opened.
  const first = items.first();
  const firstTitle = (await first.locator('.title').innerText()).trim();
  await first.click();
  await expect(bob.page.getByTestId('thread-title')).toHaveText(firstTitle);
  await expect(items.filter({ hasText: firstTitle }).getByTestId('unread')).toHaveCount(0);
  await expect(items.filter({ hasText: firstTitle })).toHaveClass(/active/);
  await expect(items).toHaveCount(unread);
  await bob.page.getByRole('button', { name: 'All' }).click();
  await expect(items).toHaveCount(all);
  // Opening a conversation marks it read, for good.
  const title = firstTitle;
  await bob.page.reload();
  await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(items.filter({ hasText: title })).toHaveCount(1);
  await expect(items.filter({ hasText: title }).getByTestId('unread')).toHaveCount(0);
  // One channel: its conversations only.
  await bob.page.getByTestId('channel').filter({ hasText: 'Mock WhatsApp' }).click();
  await expect(items.first()).toContainText('Mock WhatsApp');
  await expect(items.filter({ hasNotText: 'Mock WhatsApp' })).toHaveCount(0);
  await bob.context.close();
});

test('refuse_a_message_over_the_limit_before_sending', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const { conversation } = await demoConversation(alice.page, 3);
  await openConversation(alice.page, conversation.id);
  const before = await alice.page.getByTestId('message').count();
  const composer = alice.page.getByTestId('composer');
  const counter = alice.page.getByTestId('composer-counter');
  // Far from the limit, no counter; near it, what is left.
  await composer.fill('short');
  await expect(counter).toHaveCount(0);
  await composer.fill('y'.repeat(4000));
  await expect(counter).toHaveText('96 characters left');
  // Over it: said, refused by Enter and by the button, and the text stays.
  const long = 'x'.repeat(4100);
  await composer.fill(long);
  await expect(counter).toHaveText('4 characters too long to send');
  await composer.press('Enter');
  await expect(alice.page.getByRole('button', { name: 'Send' })).toBeDisabled();
  await expect(composer).toHaveValue(long);
  await expect(alice.page.getByTestId('message')).toHaveCount(before);
  // Nor is it lost on a reload: the draft keeps it.
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(composer).toHaveValue(long);
  await composer.fill('');
  await alice.context.close();
});

test('show_an_unknown_or_forbidden_conversation_as_such', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  // A room Bob is not a member of, and an id that names nothing.
  const channel = await api<Channel>(alice.page, 'POST', '/channels', { provider: 'inapp', name: `Private ${Date.now()}` });
  const room = await api<Conversation>(alice.page, 'POST', '/conversations', { channel_id: channel.id, title: 'Owners only' });
  await api(alice.page, 'POST', `/conversations/${room.id}/messages`, { text: 'not for agents' });
  await alice.context.close();
  const bob = await agent(browser, BOB);
  for (const id of [room.id, '01939a3c-0000-7000-8000-000000000000']) {
    await bob.page.goto(`/inbox?c=${id}`);
    await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await expect(bob.page.getByTestId('conversation-missing')).toHaveText("This conversation doesn't exist or you can't see it.");
    await expect(bob.page.getByTestId('composer')).toHaveCount(0);
    await expect(bob.page.getByText('Loading messages…')).toHaveCount(0);
    await expect(bob.page.getByText('not for agents')).toHaveCount(0);
  }
  await bob.context.close();
});

test('show_contact_presence', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const { channel, secret, conversation, from } = await mockContact(alice.page, 'Grace Hopper', {
    channelName: `Hooked ${Date.now()}`,
    text: 'Are you there?',
  });
  // The Mock network calls our webhook, signed as it would be.
  const hook = (events: unknown[]) => mockEvents(alice.page, channel, secret, events);
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

/** Nothing wider than the screen, and every visible control at least 44 px both ways. */
async function expectFitsAndTouchable(page: Page, width: number): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth), `overflow at ${width}px`).toBeLessThanOrEqual(width);
  const small = await page.evaluate(() =>
    [...document.querySelectorAll('a, button, input, select, textarea')]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
      })
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.height < 44 || r.width < 44;
      })
      .map((el) => `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 30)}" ${Math.round(el.getBoundingClientRect().width)}x${Math.round(el.getBoundingClientRect().height)}`),
  );
  expect(small, `touch targets under 44 px at ${width}px`).toEqual([]);
}

for (const width of [320, 390]) {
  test(`use_the_inbox_on_a_phone_${width}`, async ({ browser }) => {
    const context = await browser.newContext({ viewport: { width, height: 740 }, hasTouch: true });
    const page = await context.newPage();
    const { signIn } = await import('./helpers');
    await signIn(page, ALICE);
    // One pane at a time: the list first.
    const list = page.getByRole('region', { name: 'Conversations' });
    await expect(list).toBeVisible();
    await expect(page.getByTestId('conversation-item').first()).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Channels' })).toBeHidden();
    await expect(page.getByRole('region', { name: 'Conversation', exact: true })).toBeHidden();
    await expectFitsAndTouchable(page, width);
    // The filters and the channels' status are a tap away.
    await page.getByRole('button', { name: /^Filters/ }).click();
    const rail = page.getByRole('navigation', { name: 'Channels' });
    await expect(rail).toBeVisible();
    await expect(rail.getByTestId('channel-status').first()).toBeVisible();
    await rail.getByRole('button', { name: 'Unread' }).click();
    await rail.getByRole('button', { name: 'Done' }).click();
    await expect(rail).toBeHidden();
    await expect(page.getByRole('button', { name: 'Filters: unread' })).toBeVisible();
    await page.getByRole('button', { name: 'Filters: unread' }).click();
    await page.getByRole('navigation', { name: 'Channels' }).getByRole('button', { name: 'All' }).click();
    await page.getByRole('button', { name: 'Done' }).click();
    // A conversation takes the whole screen; Back returns to the list.
    await page.getByTestId('conversation-item').first().click();
    await expect(page.getByTestId('composer')).toBeVisible();
    await expect(list).toBeHidden();
    await expectFitsAndTouchable(page, width);
    await page.getByRole('link', { name: 'Back to conversations' }).click();
    await expect(list).toBeVisible();
    await context.close();
  });
}

test('use_the_inbox_on_a_tablet', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 768, height: 1000 } });
  const page = await context.newPage();
  const { signIn } = await import('./helpers');
  await signIn(page, ALICE);
  // The list and the conversation side by side; the rail behind its button.
  await page.getByTestId('conversation-item').first().click();
  await expect(page.getByTestId('composer')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Conversations' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Channels' })).toBeHidden();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(768);
  await page.getByRole('button', { name: /^Filters/ }).click();
  await expect(page.getByRole('navigation', { name: 'Channels' }).getByTestId('channel-status').first()).toBeVisible();
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
