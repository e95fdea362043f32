// Threads, pins and reports in a room, seen live on a teammate's screen: a reply in a thread
// stays out of the conversation unless it is sent there too, the "N replies" link follows the
// thread (a reply made offline waits for the connection, like any send), the pinned bar
// follows pins and unpins, and a report reaches the moderators' queue.
import AxeBuilder from '@axe-core/playwright';
import { Locator, Page } from '@playwright/test';
import {
  ALICE,
  BOB,
  Channel,
  Conversation,
  agent,
  api,
  demoConversation,
  expect,
  openConversation,
  test,
} from './helpers';

interface Member {
  user_id: string;
  name: string;
}

/** A room of its own with Alice (its creator) and Bob, and Alice's first message in it. */
async function room(alice: Page, bob: Page, first: string): Promise<Conversation> {
  const members = await api<Member[]>(alice, 'GET', '/members');
  const bobId = members.find((m) => m.name === 'Bob Chen')!.user_id;
  const channel = await api<Channel>(alice, 'POST', '/channels', { provider: 'inapp', name: `Threads ${Date.now()}` });
  const created = await api<Conversation>(alice, 'POST', '/conversations', {
    channel_id: channel.id,
    title: `Threads ${Date.now()}`,
    member_ids: [bobId],
  });
  await api(alice, 'POST', `/conversations/${created.id}/messages`, { text: first });
  // Bob sees it too.
  await api(bob, 'GET', `/conversations/${created.id}/messages`);
  return created;
}

/** The message of the conversation's list whose text is exactly `text`. */
function exact(page: Page, text: string): Locator {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page
    .getByTestId('message-list')
    .getByTestId('message')
    .filter({ has: page.locator('.text', { hasText: new RegExp(`^${escaped}$`) }) });
}

/** The reply of the open thread panel whose text contains `text`. */
function inThread(page: Page, text: string): Locator {
  return page.getByTestId('thread-panel').getByTestId('thread-reply').filter({ hasText: text });
}

/** Opens a message's actions menu with the pointer. */
async function actions(bubble: Locator): Promise<Locator> {
  await bubble.hover();
  await bubble.getByRole('button', { name: 'Message actions' }).click();
  const menu = bubble.getByRole('menu', { name: 'Message actions' });
  await expect(menu).toBeVisible();
  return menu;
}

test('reply_in_a_thread_and_see_it_live', async ({ browser }) => {
  test.setTimeout(60_000);
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const stamp = Date.now();
  const start = `Who takes the Friday shift? ${stamp}`;
  const chat = await room(alice.page, bob.page, start);
  await openConversation(alice.page, chat.id);
  await openConversation(bob.page, chat.id);

  // Bob answers in a thread: the panel opens with the cursor in its composer.
  await (await actions(exact(bob.page, start))).getByRole('menuitem', { name: 'Reply in thread' }).click();
  const bobsPanel = bob.page.getByTestId('thread-panel');
  await expect(bobsPanel).toBeVisible();
  await expect(bob.page.getByRole('region', { name: 'Thread' })).toBeVisible();
  const bobsField = bob.page.getByRole('textbox', { name: 'Reply in thread' });
  await expect(bobsField).toBeFocused();
  const threadOnly = `I can, until noon ${stamp}`;
  await bobsField.fill(threadOnly);
  await bobsField.press('Enter');
  await expect(inThread(bob.page, threadOnly)).toHaveAttribute('data-status', /sent|delivered|read/);
  await expect(bobsField).toHaveValue('');
  // Kept to the thread: not in the conversation, on either screen.
  await expect(exact(bob.page, threadOnly)).toHaveCount(0);

  // Alice sees the count live under her message, and who replied.
  const link = exact(alice.page, start).getByTestId('thread-link');
  await expect(link).toContainText('1 reply', { timeout: 5000 });
  await expect(link).toContainText('Bob Chen');
  await expect(exact(alice.page, threadOnly)).toHaveCount(0);
  await expect(alice.page.getByTestId('message-list')).not.toContainText(threadOnly);

  // She opens the thread: her message, then Bob's reply.
  await link.click();
  const alicesPanel = alice.page.getByTestId('thread-panel');
  await expect(alicesPanel).toBeVisible();
  await expect(alicesPanel).toContainText(start);
  await expect(inThread(alice.page, threadOnly)).toContainText('Bob Chen');

  // The panel has no accessibility violations.
  const results = await new AxeBuilder({ page: alice.page })
    .include('[data-testid="thread-panel"]')
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'])
    .analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);

  // She answers in the thread and in the conversation.
  const both = `Thanks, Bob, noted for everyone ${stamp}`;
  await alice.page.getByRole('textbox', { name: 'Reply in thread' }).fill(both);
  await alicesPanel.getByLabel('Also send to the conversation').check();
  await alicesPanel.getByRole('button', { name: 'Send' }).click();
  await expect(inThread(alice.page, both)).toHaveAttribute('data-status', /sent|delivered|read/);
  await expect(alicesPanel.getByLabel('Also send to the conversation')).not.toBeChecked();
  // In the conversation on both screens, quoting the message it answers.
  await expect(exact(alice.page, both)).toBeVisible();
  await expect(exact(bob.page, both)).toBeVisible({ timeout: 5000 });
  await expect(exact(bob.page, both).getByTestId('quoted')).toContainText(start);
  // Two replies now, on both screens; Bob's open panel shows hers live.
  await expect(exact(alice.page, start).getByTestId('thread-link')).toContainText('2 replies', { timeout: 5000 });
  await expect(exact(bob.page, start).getByTestId('thread-link')).toContainText('2 replies', { timeout: 5000 });
  await expect(inThread(bob.page, both)).toBeVisible();
  await expect(bobsPanel.getByTestId('thread-reply')).toHaveCount(2);
  // Still only one copy of Bob's thread-only reply, and still not in the list after a reload.
  await expect(inThread(alice.page, threadOnly)).toHaveCount(1);
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(exact(alice.page, both)).toBeVisible();
  await expect(alice.page.getByTestId('message-list')).not.toContainText(threadOnly);
  await expect(exact(alice.page, start).getByTestId('thread-link')).toContainText('2 replies');

  // Escape closes Bob's panel; ✕ closes Alice's (opened again from the link).
  await bobsField.press('Escape');
  await expect(bobsPanel).toHaveCount(0);
  await exact(alice.page, start).getByTestId('thread-link').click();
  await expect(inThread(alice.page, threadOnly)).toBeVisible();
  await alice.page.getByRole('button', { name: 'Close thread' }).click();
  await expect(alice.page.getByTestId('thread-panel')).toHaveCount(0);

  // A reply is no thread's start: its menu offers no thread of its own.
  const menu = await actions(exact(alice.page, both));
  await expect(menu.getByRole('menuitem', { name: 'Reply in thread' })).toHaveCount(0);
  await alice.context.close();
  await bob.context.close();
});

test('pin_and_unpin_a_message_live', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const stamp = Date.now();
  const rules = `House rules: be kind ${stamp}`;
  const chat = await room(alice.page, bob.page, rules);
  const later = `Lunch at one ${stamp}`;
  await api(alice.page, 'POST', `/conversations/${chat.id}/messages`, { text: later });
  await openConversation(alice.page, chat.id);
  await openConversation(bob.page, chat.id);
  await expect(alice.page.getByTestId('pinned-bar')).toHaveCount(0);

  // Alice pins the rules: the bar shows them on her screen and, live, on Bob's.
  await (await actions(exact(alice.page, rules))).getByRole('menuitem', { name: 'Pin', exact: true }).click();
  await expect(alice.page.getByTestId('pinned-bar')).toContainText(`📌 ${rules}`);
  const bobsBar = bob.page.getByTestId('pinned-bar');
  await expect(bobsBar).toContainText(`📌 ${rules}`, { timeout: 5000 });
  await expect(bobsBar).not.toContainText('more');

  // A second pin: the newest first, "+1 more" opens the other.
  await (await actions(exact(alice.page, later))).getByRole('menuitem', { name: 'Pin', exact: true }).click();
  await expect(bobsBar.getByTestId('pinned-message').first()).toHaveText(`📌 ${later}`, { timeout: 5000 });
  await bobsBar.getByRole('button', { name: '+1 more' }).click();
  // The older pin, clicked: its message is brought into view and highlighted.
  await bobsBar.getByTestId('pinned-message').filter({ hasText: rules }).click();
  await expect(exact(bob.page, rules)).toHaveClass(/flash/);

  // Bob unpins both from the menu: the bar goes from Alice's screen too.
  await (await actions(exact(bob.page, later))).getByRole('menuitem', { name: 'Unpin' }).click();
  const alicesBar = alice.page.getByTestId('pinned-bar');
  await expect(alicesBar).not.toContainText('more', { timeout: 5000 });
  await expect(alicesBar.getByTestId('pinned-message')).toHaveText(`📌 ${rules}`);
  await (await actions(exact(bob.page, rules))).getByRole('menuitem', { name: 'Unpin' }).click();
  await expect(bobsBar).toHaveCount(0);
  await expect(alicesBar).toHaveCount(0, { timeout: 5000 });
  await alice.context.close();
  await bob.context.close();
});

test('report_a_message_to_the_moderators', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const stamp = Date.now();
  const rude = `Nobody cares about your shift ${stamp}`;
  const chat = await room(alice.page, bob.page, rude);
  await openConversation(alice.page, chat.id);
  await openConversation(bob.page, chat.id);

  // One's own message cannot be reported.
  const own = await actions(exact(alice.page, rude));
  await expect(own.getByRole('menuitem', { name: 'Report' })).toHaveCount(0);
  await own.press('Escape');

  // Bob reports it: Cancel keeps it unreported, an empty reason is refused in words.
  const bubble = exact(bob.page, rude);
  await (await actions(bubble)).getByRole('menuitem', { name: 'Report' }).click();
  const form = bubble.getByTestId('report-message');
  const reason = form.getByRole('textbox', { name: 'Why are you reporting it?' });
  await expect(reason).toBeFocused();
  await form.getByRole('button', { name: 'Cancel' }).click();
  await expect(form).toHaveCount(0);
  await (await actions(bubble)).getByRole('menuitem', { name: 'Report' }).click();
  await form.getByRole('button', { name: 'Report' }).click();
  await expect(form.getByRole('alert')).toContainText('Say what is wrong');
  await reason.fill(`rude to a teammate ${stamp}`);
  await form.getByRole('button', { name: 'Report' }).click();
  await expect(form).toHaveCount(0);
  await expect(bubble.getByTestId('reported')).toHaveText('Reported to the moderators');

  // The moderators' queue (Alice is an owner) has it.
  const flags = await api<{ flag: { reason: string; message_id: string | null } }[]>(
    alice.page,
    'GET',
    '/moderation/flags',
  );
  expect(flags.map((f) => f.flag.reason)).toContain(`rude to a teammate ${stamp}`);
  await alice.context.close();
  await bob.context.close();
});

test.describe('offline', () => {
  test.use({ allowConsole: /net::ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed/ });

  test('a_thread_reply_made_offline_waits_and_goes_out_once', async ({ browser }) => {
    const alice = await agent(browser, ALICE);
    const bob = await agent(browser, BOB);
    const stamp = Date.now();
    const start = `Anyone free for a call? ${stamp}`;
    const chat = await room(alice.page, bob.page, start);
    await openConversation(alice.page, chat.id);
    await openConversation(bob.page, chat.id);
    await (await actions(exact(bob.page, start))).getByRole('menuitem', { name: 'Reply in thread' }).click();
    await expect(bob.page.getByTestId('thread-panel')).toContainText('No replies yet');

    // Offline, the reply waits in the panel (and nowhere in the list).
    await bob.context.setOffline(true);
    await expect(bob.page.getByTestId('reconnecting')).toBeVisible({ timeout: 5000 });
    const text = `In ten minutes ${stamp}`;
    const field = bob.page.getByRole('textbox', { name: 'Reply in thread' });
    await field.fill(text);
    await field.press('Enter');
    await expect(inThread(bob.page, text)).toHaveAttribute('data-status', 'pending');
    await expect(inThread(bob.page, text).getByTestId('waiting')).toHaveText('Waiting for connection');
    await expect(exact(bob.page, text)).toHaveCount(0);

    // Back online: it goes out once, and Alice's count says so.
    await bob.context.setOffline(false);
    await expect(inThread(bob.page, text)).toHaveAttribute('data-status', /sent|delivered|read/, { timeout: 20_000 });
    await expect(inThread(bob.page, text)).toHaveCount(1);
    await expect(exact(alice.page, start).getByTestId('thread-link')).toContainText('1 reply', { timeout: 5000 });
    await expect(exact(bob.page, text)).toHaveCount(0);
    await alice.context.close();
    await bob.context.close();
  });
});

test('no_thread_in_a_conversation_with_a_contact', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const { conversation } = await demoConversation(alice.page, 3);
  await openConversation(alice.page, conversation.id);
  const bubble = alice.page.getByTestId('message').last();
  const menu = await actions(bubble);
  await expect(menu.getByRole('menuitem', { name: 'Reply', exact: true })).toBeVisible();
  await expect(menu.getByRole('menuitem', { name: 'Reply in thread' })).toHaveCount(0);
  await expect(menu.getByRole('menuitem', { name: /^(Pin|Unpin)$/ })).toBeVisible();
  await alice.context.close();
});
