import { Page } from '@playwright/test';
import { ALICE, BOB, Channel, Conversation, agent, api, expect, test } from './helpers';

interface Member {
  user_id: string;
  name: string;
}

interface Message {
  id: string;
  text: string;
  deleted_at: string | null;
}

/** A room of its own with Alice (its creator, an owner) and Bob (an agent). */
async function room(alice: Page, bob: Page): Promise<Conversation> {
  const members = await api<Member[]>(alice, 'GET', '/members');
  const bobId = members.find((m) => m.name === 'Bob Chen')!.user_id;
  const channel = await api<Channel>(alice, 'POST', '/channels', { provider: 'inapp', name: `Moderated ${Date.now()}` });
  const title = `Moderated room ${Date.now()}`;
  const created = await api<Conversation>(alice, 'POST', '/conversations', {
    channel_id: channel.id,
    title,
    member_ids: [bobId],
  });
  // Bob sees it too.
  await api(bob, 'GET', `/conversations/${created.id}/messages`);
  return created;
}

const post = (page: Page, roomId: string, text: string) =>
  api<Message>(page, 'POST', `/conversations/${roomId}/messages`, { text });

/** Bob's send as the API answers it (status only: some are refused). */
async function bobSends(bob: Page, roomId: string, text: string): Promise<number> {
  const response = await bob.request.post(`/api/v1/conversations/${roomId}/messages`, { data: { text } });
  return response.status();
}

async function openModeration(page: Page): Promise<void> {
  await page.goto('/moderation');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

test('moderate_flags_from_the_queue', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const chat = await room(alice.page, bob.page);
  const stamp = Date.now();

  // Bob greets, Alice answers rudely, Bob flags her answer.
  await post(bob.page, chat.id, 'Morning, everyone');
  const rude = await post(alice.page, chat.id, 'Nobody asked you');
  await api(bob.page, 'POST', `/messages/${rude.id}/flag`, { reason: `rude ${stamp}` });

  // The nav offers the page to the owner.
  await alice.page.getByRole('link', { name: 'Moderation' }).click();
  await expect(alice.page).toHaveURL(/\/moderation$/);
  await expect(alice.page.getByRole('heading', { name: 'Moderation queue' })).toBeVisible();
  const first = alice.page.getByTestId('flag').filter({ hasText: `rude ${stamp}` });
  await expect(first).toHaveCount(1);
  await expect(first).toContainText('Flagged by Bob Chen');
  await expect(first).toContainText(`About Alice Martin in ${chat.title}`);
  // The message in context: the one before dimmed, the flagged one last and marked.
  await expect(first.getByTestId('context-message')).toContainText('Morning, everyone');
  await expect(first.getByTestId('flagged-message')).toContainText('Nobody asked you');
  await expect(first.getByTestId('flagged-message')).toContainText('Alice Martin');

  // Dismissed: it leaves the open queue, the record says so, the Dismissed tab has it.
  await first.getByRole('button', { name: 'Dismiss' }).click();
  await expect(first).toHaveCount(0);
  const record = alice.page.getByTestId('moderation-record');
  await expect(record.getByTestId('moderation-action').first()).toContainText('Dismissed a flag');
  await expect(record.getByTestId('moderation-action').first()).toContainText('Alice Martin');
  await alice.page.getByRole('button', { name: 'Dismissed', exact: true }).click();
  await expect(alice.page.getByRole('button', { name: 'Dismissed', exact: true })).toHaveAttribute('aria-pressed', 'true');
  const dismissed = alice.page.getByTestId('flag').filter({ hasText: `rude ${stamp}` });
  await expect(dismissed.getByTestId('flag-outcome')).toContainText('Dismissed by Alice Martin');
  await expect(dismissed.getByRole('button', { name: 'Dismiss' })).toHaveCount(0);
  await alice.page.getByRole('button', { name: 'Open', exact: true }).click();

  // A second flag: the message is deleted (after the browser's confirmation).
  const spam = await post(alice.page, chat.id, 'Buy my course');
  await api(bob.page, 'POST', `/messages/${spam.id}/flag`, { reason: `spam ${stamp}` });
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const second = alice.page.getByTestId('flag').filter({ hasText: `spam ${stamp}` });
  alice.page.once('dialog', (dialog) => dialog.accept());
  await second.getByRole('button', { name: 'Delete message' }).click();
  await expect(second).toHaveCount(0);
  await expect(record.getByTestId('moderation-action').first()).toContainText('Deleted a message by Alice Martin');
  const history = await api<Message[]>(bob.page, 'GET', `/conversations/${chat.id}/messages`);
  expect(history.find((m) => m.id === spam.id)?.deleted_at).toBeTruthy();

  // A third, on Bob's message: banned for an hour, he cannot post; lifted, he can again.
  const rant = await post(bob.page, chat.id, 'You will all regret this');
  await api(alice.page, 'POST', `/messages/${rant.id}/flag`, { reason: `threat ${stamp}` });
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const third = alice.page.getByTestId('flag').filter({ hasText: `threat ${stamp}` });
  await expect(third).toContainText('Flagged by Alice Martin');
  await third.getByRole('button', { name: 'Ban', exact: true }).click();
  const duration = third.getByLabel('Ban for how long');
  await expect(duration).toBeFocused();
  await duration.selectOption('1 hour');
  await third.getByRole('button', { name: 'Confirm ban' }).click();
  await expect(third).toHaveCount(0);
  const ban = alice.page.getByTestId('bans').getByTestId('ban').filter({ hasText: chat.title });
  await expect(ban).toHaveCount(1);
  await expect(ban).toContainText('Bob Chen');
  await expect(ban).toContainText('ban');
  await expect(ban).not.toContainText('for good');
  await expect(record.getByTestId('moderation-action').first()).toContainText(`Banned Bob Chen in ${chat.title}`);
  expect(await bobSends(bob.page, chat.id, 'Let me in')).toBe(403);

  await ban.getByRole('button', { name: 'Lift the ban on Bob Chen' }).click();
  await expect(ban).toHaveCount(0);
  await expect(record.getByTestId('moderation-action').first()).toContainText('Lifted a ban');
  expect(await bobSends(bob.page, chat.id, 'Thanks, I will behave')).toBe(201);

  await alice.context.close();
  await bob.context.close();
});

test('keep_a_blocklist', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const chat = await room(alice.page, bob.page);
  await openModeration(alice.page);

  const blocklist = alice.page.getByTestId('blocklist');
  await blocklist.getByLabel('Word or phrase').fill('spoiler');
  await blocklist.getByLabel('What to do with it').selectOption('block');
  await blocklist.getByRole('button', { name: 'Add word' }).click();
  await expect(blocklist.getByTestId('blocked-word')).toContainText(['spoiler']);
  await expect(blocklist.getByRole('status')).toHaveText('Unsaved changes.');
  await blocklist.getByRole('button', { name: 'Save blocklist' }).click();
  await expect(blocklist.getByRole('status')).toHaveText('Saved.');
  await expect(alice.page.getByTestId('moderation-record').getByTestId('moderation-action').first()).toContainText(
    'Changed the blocklist',
  );
  // Whatever its case.
  expect(await bobSends(bob.page, chat.id, 'Big Spoiler: the butler did it')).toBe(422);
  expect(await bobSends(bob.page, chat.id, 'No spoilers here')).toBe(201);

  // Kept after a reload; removed and saved, the word passes again.
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await blocklist.getByRole('button', { name: 'Remove spoiler' }).click();
  await blocklist.getByRole('button', { name: 'Save blocklist' }).click();
  await expect(blocklist.getByRole('status')).toHaveText('Saved.');
  await expect(blocklist.getByTestId('blocked-word')).toHaveCount(0);
  expect(await bobSends(bob.page, chat.id, 'Spoiler: it was fine')).toBe(201);

  await alice.context.close();
  await bob.context.close();
});

test('refuse_moderation_to_an_agent', async ({ browser }) => {
  // Signed out: sent to sign in, like the other private pages.
  const visitor = await browser.newContext();
  const page = await visitor.newPage();
  await page.goto('/moderation');
  await expect(page).toHaveURL(/\/login/);
  await visitor.close();

  const bob = await agent(browser, BOB);
  await expect(bob.page.getByRole('link', { name: 'Moderation' })).toHaveCount(0);
  await openModeration(bob.page);
  await expect(bob.page.getByTestId('moderation-refused')).toHaveText('Only owners and admins moderate this workspace.');
  await expect(bob.page.getByTestId('moderation-queue')).toHaveCount(0);
  await bob.context.close();
});
