// Formatting: a message in the markdown subset shows as formatting on both agents' screens,
// its links are safe, and HTML in a message (a <script> included) is shown as text, never run.
// The composer: `@` suggests the room's members; a frozen room closes it, slow mode is told.
import { test, expect, ALICE, BOB, agent, api, demoConversation, openConversation, Channel, Conversation } from './helpers';

test('markdown_is_rendered_and_html_stays_text', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const { conversation } = await demoConversation(alice.page, 2);
  await openConversation(alice.page, conversation.id);
  await openConversation(bob.page, conversation.id);
  const stamp = Date.now();
  const text =
    `**Order ${stamp}** is _on its way_, ~~late~~ \`A-1\` see [the page](https://example.com/o/1) ` +
    `<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2">\n- first\n- second`;
  const composer = alice.page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');

  for (const page of [alice.page, bob.page]) {
    const bubble = page.getByTestId('message').filter({ hasText: `Order ${stamp}` });
    await expect(bubble).toHaveCount(1);
    await expect(bubble.locator('.text strong')).toHaveText(`Order ${stamp}`);
    await expect(bubble.locator('.text em')).toHaveText('on its way');
    await expect(bubble.locator('.text s')).toHaveText('late');
    await expect(bubble.locator('.text code')).toHaveText('A-1');
    const link = bubble.locator('.text a');
    await expect(link).toHaveText('the page');
    await expect(link).toHaveAttribute('href', 'https://example.com/o/1');
    await expect(link).toHaveAttribute('rel', 'noopener noreferrer nofollow');
    await expect(link).toHaveAttribute('target', '_blank');
    await expect(bubble.locator('.text li')).toHaveText(['first', 'second']);
    // The HTML is text on the screen, and nothing of it became an element or ran.
    await expect(bubble.locator('.text')).toContainText('<script>window.__pwned = 1</script>');
    await expect(bubble.locator('.text')).toContainText('<img src=x');
    await expect(bubble.locator('script, img')).toHaveCount(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  }
});

test('mention_a_member_from_the_popup', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const members = await api<{ user_id: string; name: string }[]>(alice.page, 'GET', '/members');
  const bobId = members.find((m) => m.name === 'Bob Chen')!.user_id;
  const channel = await api<Channel>(alice.page, 'POST', '/channels', { provider: 'inapp', name: `Mentions ${Date.now()}` });
  const room = await api<Conversation>(alice.page, 'POST', '/conversations', {
    channel_id: channel.id,
    title: 'Mentions',
    member_ids: [bobId],
  });
  await api(alice.page, 'POST', `/conversations/${room.id}/messages`, { text: 'Welcome' });
  await openConversation(alice.page, room.id);
  const composer = alice.page.getByTestId('composer');
  await composer.pressSequentially('Thanks @b');
  const popup = alice.page.getByTestId('mentions');
  await expect(popup.getByRole('option')).toHaveText(['@Bob Chen']);
  await composer.press('Enter');
  await expect(popup).toHaveCount(0);
  await expect(composer).toHaveValue('Thanks @Bob ');
  await composer.pressSequentially('for the help');
  await composer.press('Enter');
  const bubble = alice.page.getByTestId('message').filter({ hasText: 'for the help' });
  await expect(bubble.locator('.mention')).toHaveText('@Bob');
  // Bob's list counts the mention.
  const list = await api<{ id: string; unread_mentions: number }[]>(bob.page, 'GET', '/conversations');
  expect(list.find((c) => c.id === room.id)?.unread_mentions).toBe(1);
});

test('a_frozen_room_closes_the_composer_and_slow_mode_is_told', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const channel = await api<Channel>(alice.page, 'POST', '/channels', { provider: 'inapp', name: `Rules ${Date.now()}` });
  const room = await api<Conversation>(alice.page, 'POST', '/conversations', { channel_id: channel.id, title: 'Rules' });
  await api(alice.page, 'POST', `/conversations/${room.id}/messages`, { text: 'House rules' });
  await api(alice.page, 'PUT', `/conversations/${room.id}/slow-mode`, { seconds: 30 });
  await openConversation(alice.page, room.id);
  await expect(alice.page.getByTestId('slow-mode')).toHaveText('Slow mode: one message every 30 s');
  const composer = alice.page.getByTestId('composer');
  await expect(composer).toBeEnabled();
  // Live from here: a message posted now shows without a reload.
  await api(alice.page, 'POST', `/conversations/${room.id}/messages`, { text: 'Listening' });
  await expect(alice.page.getByTestId('message').filter({ hasText: 'Listening' })).toBeVisible();
  // Frozen while open: the change reaches the page live and the composer closes.
  await api(alice.page, 'PUT', `/conversations/${room.id}/freeze`);
  await expect(composer).toBeDisabled();
  await expect(composer).toHaveAttribute('placeholder', /frozen/);
  await api(alice.page, 'DELETE', `/conversations/${room.id}/freeze`);
  await expect(composer).toBeEnabled();
});
