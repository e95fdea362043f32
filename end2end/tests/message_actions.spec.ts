// Message actions in the conversation pane: reactions that toggle and show live on a teammate's
// screen, quote replies (and the quote that brings its original into view), editing and
// deleting one's own messages, copying, and all of it by keyboard.
import { Locator, Page } from '@playwright/test';
import { test, expect, ALICE, BOB, agent, api, demoConversation, openConversation, Channel, Conversation } from './helpers';

/** The message whose text is exactly `text` (a reply quoting it, or the contact's echo, is another). */
function exact(page: Page, text: string): Locator {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return page.getByTestId('message').filter({ has: page.locator('.text', { hasText: new RegExp(`^${escaped}$`) }) });
}

/** The message of the row keyed `key` (the key stays when the text changes or goes). */
function byRow(page: Page, key: string): Locator {
  return page.locator(`[data-row="${key}"]`).getByTestId('message');
}

async function send(page: Page, text: string): Promise<Locator> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
  const bubble = exact(page, text);
  // Acknowledged: it has its id on the server, and its actions.
  await expect(bubble).toHaveAttribute('data-status', /sent|delivered|read/);
  return bubble;
}

/** The row key of a bubble, to find it again on any screen. */
async function rowKey(bubble: Locator): Promise<string> {
  const key = await bubble.locator('xpath=ancestor::*[@data-row][1]').getAttribute('data-row');
  if (!key) throw new Error('the bubble has no row');
  return key;
}

/** Opens a message's actions menu with the pointer. */
async function actions(bubble: Locator): Promise<Locator> {
  await bubble.hover();
  await bubble.getByRole('button', { name: 'Message actions' }).click();
  const menu = bubble.getByRole('menu', { name: 'Message actions' });
  await expect(menu).toBeVisible();
  return menu;
}

function chip(bubble: Locator, emoji: string): Locator {
  return bubble.getByTestId('reactions').getByRole('button', { name: new RegExp(emoji) });
}

test('react_to_a_message_and_see_it_live', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 3);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);
  const text = `React to me ${Date.now()}`;
  const key = await rowKey(await send(alice.page, text));
  const onAlice = byRow(alice.page, key);
  const onBob = byRow(bob.page, key);
  await expect(onBob).toBeVisible();

  // Bob reacts from the menu: his chip is pressed; Alice sees the count at once.
  await (await actions(onBob)).getByRole('menuitem', { name: 'React with 👍' }).click();
  await expect(chip(onBob, '👍')).toHaveText('👍 1');
  await expect(chip(onBob, '👍')).toHaveAttribute('aria-pressed', 'true');
  await expect(chip(onAlice, '👍')).toHaveText('👍 1', { timeout: 2000 });
  await expect(chip(onAlice, '👍')).toHaveAttribute('aria-pressed', 'false');

  // Alice adds hers with the chip: two, hers pressed too.
  await chip(onAlice, '👍').click();
  await expect(chip(onAlice, '👍')).toHaveText('👍 2');
  await expect(chip(onAlice, '👍')).toHaveAttribute('aria-pressed', 'true');
  await expect(chip(onBob, '👍')).toHaveText('👍 2', { timeout: 2000 });

  // Bob takes his back with his chip; another emoji from the menu is a chip of its own.
  await chip(onBob, '👍').click();
  await expect(chip(onBob, '👍')).toHaveText('👍 1');
  await expect(chip(onBob, '👍')).toHaveAttribute('aria-pressed', 'false');
  await expect(chip(onAlice, '👍')).toHaveText('👍 1', { timeout: 2000 });
  await (await actions(onAlice)).getByRole('menuitem', { name: 'React with 😂' }).click();
  await expect(chip(onBob, '😂')).toHaveText('😂 1', { timeout: 2000 });
  // Alice takes both of hers off: no chips left.
  await chip(onAlice, '👍').click();
  await expect(chip(onAlice, '👍')).toHaveCount(0);
  await chip(onAlice, '😂').click();
  await expect(onAlice.getByTestId('reactions')).toHaveCount(0);
  await expect(onBob.getByTestId('reactions')).toHaveCount(0, { timeout: 2000 });
  await alice.context.close();
  await bob.context.close();
});

test('quote_reply_to_a_message', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 3);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);
  const original = `The original ${Date.now()}`;
  const originalBubble = await send(alice.page, original);

  // Reply: the quote above the composer, the cursor in it; Escape or ✕ stops replying.
  await (await actions(originalBubble)).getByRole('menuitem', { name: 'Reply' }).click();
  const replying = alice.page.getByTestId('replying-to');
  await expect(replying).toContainText(`Replying to You: ${original}`);
  await expect(alice.page.getByTestId('composer')).toBeFocused();
  await alice.page.getByTestId('composer').press('Escape');
  await expect(replying).toHaveCount(0);
  await (await actions(originalBubble)).getByRole('menuitem', { name: 'Reply' }).click();
  await replying.getByRole('button', { name: 'Cancel reply' }).click();
  await expect(replying).toHaveCount(0);
  await (await actions(originalBubble)).getByRole('menuitem', { name: 'Reply' }).click();
  await expect(replying).toBeVisible();

  // Sent: the bubble quotes the original, on both screens; the composer no longer replies.
  const answer = `The answer ${Date.now()}`;
  const reply = await send(alice.page, answer);
  await expect(replying).toHaveCount(0);
  await expect(reply.getByTestId('quoted')).toHaveText(`You ${original}`);
  await expect(exact(bob.page, answer).getByTestId('quoted')).toHaveText(`Alice Martin ${original}`, { timeout: 2000 });

  // Clicking the quote highlights the original.
  await reply.getByTestId('quoted').click();
  await expect(exact(alice.page, original)).toHaveClass(/flash/);
  await expect(exact(alice.page, original)).not.toHaveClass(/flash/, { timeout: 4000 });
  // After a reload the reply still quotes it (reply_to was stored).
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(exact(alice.page, answer).getByTestId('quoted')).toHaveText(`You ${original}`);
  await alice.context.close();
  await bob.context.close();
});

test('a_quote_brings_its_original_into_view', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  // A room of its own: the original, then enough messages to push it far out of the window.
  const channel = await api<Channel>(alice.page, 'POST', '/channels', { provider: 'inapp', name: `Quotes ${Date.now()}` });
  const room = await api<Conversation>(alice.page, 'POST', '/conversations', { channel_id: channel.id, title: 'Quotes' });
  const post = (text: string, extra: Record<string, unknown> = {}) =>
    api<{ id: string }>(alice.page, 'POST', `/conversations/${room.id}/messages`, { text, ...extra });
  const origin = await post('Far back');
  for (let n = 0; n < 60; n++) await post(`filler ${n}`);
  await post('Answering far back', { reply_to: origin.id });

  await openConversation(alice.page, room.id);
  const reply = exact(alice.page, 'Answering far back');
  await expect(reply).toBeVisible();
  // Virtualized: the original is not even in the page yet.
  await expect(exact(alice.page, 'Far back')).toHaveCount(0);
  await expect(reply.getByTestId('quoted')).toHaveText('You Far back');
  await reply.getByTestId('quoted').click();
  await expect(exact(alice.page, 'Far back')).toBeInViewport();
  await expect(exact(alice.page, 'Far back')).toHaveClass(/flash/);
  await alice.context.close();
});

test('edit_own_message', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 4);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);
  const text = `Edit me ${Date.now()}`;
  const key = await rowKey(await send(alice.page, text));
  const onAlice = byRow(alice.page, key);
  const onBob = byRow(bob.page, key);

  // Only its sender may edit or delete it.
  const bobsMenu = await actions(onBob);
  await expect(bobsMenu.getByRole('menuitem', { name: 'Reply' })).toBeVisible();
  await expect(bobsMenu.getByRole('menuitem', { name: 'Edit' })).toHaveCount(0);
  await expect(bobsMenu.getByRole('menuitem', { name: 'Delete' })).toHaveCount(0);
  await bobsMenu.press('Escape');
  await expect(bobsMenu).toHaveCount(0);

  // Escape leaves the text as it was.
  await (await actions(onAlice)).getByRole('menuitem', { name: 'Edit' }).click();
  const field = onAlice.getByRole('textbox', { name: 'Edit message' });
  await expect(field).toBeFocused();
  await expect(field).toHaveValue(text);
  await field.press('Escape');
  await expect(field).toHaveCount(0);
  await expect(onAlice.locator('.text')).toHaveText(text);

  // An empty text is refused, in words.
  await (await actions(onAlice)).getByRole('menuitem', { name: 'Edit' }).click();
  await field.fill('   ');
  await field.press('Enter');
  await expect(onAlice.getByRole('alert')).toContainText('A message needs some text');

  // Saved with Enter: "edited", here and on Bob's screen.
  const edited = `${text} (fixed)`;
  await field.fill(edited);
  await field.press('Enter');
  await expect(field).toHaveCount(0);
  await expect(onAlice.locator('.text')).toHaveText(edited);
  await expect(onAlice.locator('.edited')).toHaveText('edited');
  await expect(onBob.locator('.text')).toHaveText(edited, { timeout: 2000 });
  await expect(onBob.locator('.edited')).toHaveText('edited');
  await alice.context.close();
  await bob.context.close();
});

test('delete_own_message', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 4);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);
  const text = `Delete me ${Date.now()}`;
  const key = await rowKey(await send(alice.page, text));
  const onAlice = byRow(alice.page, key);
  const onBob = byRow(bob.page, key);

  // Asked in the bubble; Cancel keeps it.
  await (await actions(onAlice)).getByRole('menuitem', { name: 'Delete' }).click();
  const confirm = onAlice.getByTestId('confirm-delete');
  await expect(confirm).toContainText('Delete for everyone?');
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  await expect(onAlice.locator('.text')).toHaveText(text);

  await (await actions(onAlice)).getByRole('menuitem', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(onAlice.locator('.text')).toHaveText('This message was deleted');
  await expect(onBob.locator('.text')).toHaveText('This message was deleted', { timeout: 2000 });
  // Nothing left to act on.
  await expect(onAlice.getByRole('button', { name: 'Message actions' })).toHaveCount(0);
  await alice.context.close();
  await bob.context.close();
});

test('copy_a_message', async ({ browser, baseURL }) => {
  const alice = await agent(browser, ALICE);
  await alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const { conversation } = await demoConversation(alice.page, 3);
  await openConversation(alice.page, conversation.id);
  const stamp = `Copy me ${Date.now()}`;
  const text = `${stamp}\nsecond line`;
  const composer = alice.page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
  // Not the contact's echo of it.
  const bubble = alice.page.getByTestId('message').filter({ hasText: stamp }).filter({ hasNotText: 'Thanks' });
  await expect(bubble).toHaveAttribute('data-status', /sent|delivered|read/);
  // A click elsewhere closes the menu.
  await actions(bubble);
  await alice.page.getByTestId('thread-title').click();
  await expect(bubble.getByRole('menu')).toHaveCount(0);
  await (await actions(bubble)).getByRole('menuitem', { name: 'Copy' }).click();
  await expect(alice.page.getByTestId('announcer')).toHaveText('Message copied');
  expect(await alice.page.evaluate(() => navigator.clipboard.readText())).toBe(text);
  await alice.context.close();
});

test('message_actions_by_keyboard', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  // A room: its messages are sent once stored, so no receipt re-renders the row (and resets an
  // open menu's focus) while the keys are pressed.
  const channel = await api<Channel>(alice.page, 'POST', '/channels', { provider: 'inapp', name: `Keys ${Date.now()}` });
  const conversation = await api<Conversation>(alice.page, 'POST', '/conversations', { channel_id: channel.id, title: 'Keys' });
  await api(alice.page, 'POST', `/conversations/${conversation.id}/messages`, { text: 'Start' });
  await openConversation(alice.page, conversation.id);
  const original = `Keys only ${Date.now()}`;
  const bubble = await send(alice.page, original);
  const more = bubble.getByRole('button', { name: 'Message actions' });

  // From the composer, back through the list with Shift+Tab to the message's actions button.
  const composer = alice.page.getByTestId('composer');
  await composer.focus();
  for (let i = 0; i < 30 && !(await more.evaluate((el) => el === document.activeElement)); i++) {
    await alice.page.keyboard.press('Shift+Tab');
  }
  await expect(more).toBeFocused();
  await expect(more).toHaveCSS('opacity', '1');

  // Enter opens the menu on its first item; the arrows move (and wrap); Escape closes it and
  // gives the focus back.
  await alice.page.keyboard.press('Enter');
  const menu = bubble.getByRole('menu', { name: 'Message actions' });
  await expect(menu.getByRole('menuitem', { name: 'React with 👍' })).toBeFocused();
  await alice.page.keyboard.press('ArrowUp');
  await expect(menu.getByRole('menuitem').last()).toBeFocused();
  await alice.page.keyboard.press('Escape');
  await expect(menu).toHaveCount(0);
  await expect(more).toBeFocused();
  // Tab leaves it the same way.
  await alice.page.keyboard.press('Enter');
  await expect(menu.getByRole('menuitem', { name: 'React with 👍' })).toBeFocused();
  await alice.page.keyboard.press('Tab');
  await expect(menu).toHaveCount(0);
  await expect(more).toBeFocused();

  // Reply: six reactions, then Reply.
  await alice.page.keyboard.press('Enter');
  await expect(menu.getByRole('menuitem', { name: 'React with 👍' })).toBeFocused();
  for (let i = 0; i < 6; i++) await alice.page.keyboard.press('ArrowDown');
  await expect(menu.getByRole('menuitem', { name: 'Reply', exact: true })).toBeFocused();
  await alice.page.keyboard.press('Enter');
  await expect(alice.page.getByTestId('replying-to')).toContainText(original);
  await expect(composer).toBeFocused();
  const answer = `Answered by keyboard ${Date.now()}`;
  await alice.page.keyboard.type(answer);
  await alice.page.keyboard.press('Enter');
  await expect(exact(alice.page, answer).getByTestId('quoted')).toHaveText(`You ${original}`);
  await alice.context.close();
});
