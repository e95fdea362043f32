// The agent's desk: assigning a conversation (seen live on a teammate's screen, and out of his
// Unassigned view at once), canned replies put in by `/` and their short code, labels put on
// from the header and filtered by, and snoozing, resolving and reopening.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { ALICE, BOB, Channel, Conversation, agent, api, demoConversation, expect, mockWrites, openConversation, test } from './helpers';

const AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

const SECRET = 'whsec_e2e_desk_secret';
let hooked: Channel | undefined;
let contacts = 0;

/** A conversation of the test's own: a new contact writes on the spec's Mock channel. */
async function newContact(page: Page, name: string): Promise<Conversation> {
  hooked ??= await api<Channel>(page, 'POST', '/channels', {
    provider: 'mock',
    name: `Desk ${Date.now()}`,
    config: { webhook_secret: SECRET },
  });
  const channel = hooked;
  const from = `+49152${Date.now() % 1_000_000}${++contacts}`;
  await mockWrites(page, channel, SECRET, { id: `wamid.${from}`, from, name, text: 'Hello, I need some help' });
  const conversations = await api<Conversation[]>(page, 'GET', '/conversations');
  return conversations.find((c) => c.channel_id === channel.id && c.title === name)!;
}

/** The list's row of the conversation titled `title`. */
function row(page: Page, title: string) {
  return page.getByTestId('conversation-item').filter({ hasText: title });
}

async function axe(page: Page, selector: string): Promise<void> {
  const results = await new AxeBuilder({ page }).include(selector).withTags(AA).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

test('assign_a_conversation_and_see_it_live', async ({ browser }) => {
  test.setTimeout(60_000);
  const alice = await agent(browser, ALICE);
  const bob = await agent(browser, BOB);
  const title = `Ada Lovelace ${Date.now()}`;
  const conversation = await newContact(alice.page, title);

  // Bob works through the unassigned conversations: this one is there.
  await bob.page.reload();
  await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await bob.page.getByRole('radio', { name: 'Unassigned' }).check();
  await expect(row(bob.page, title)).toHaveCount(1);

  // Alice takes it.
  await openConversation(alice.page, conversation.id);
  const assignee = alice.page.getByTestId('assignee');
  await expect(assignee).toHaveText('Unassigned');
  await axe(alice.page, '.thread-header');
  await alice.page.getByRole('button', { name: 'Assign to me' }).click();
  await expect(assignee).toHaveText('Assigned to you');
  await expect(alice.page.getByRole('button', { name: 'Assign to me' })).toHaveCount(0);
  await expect(alice.page.getByTestId('handled-by')).toHaveCount(0);
  await expect(alice.page.getByTestId('announcer')).toHaveText('Assigned to you');

  // It leaves Bob's Unassigned view at once; everyone's view says who has it.
  await expect(row(bob.page, title)).toHaveCount(0, { timeout: 5000 });
  await bob.page.getByRole('radio', { name: 'Mine' }).check();
  await expect(row(bob.page, title)).toHaveCount(0);
  await bob.page.getByRole('radio', { name: 'All' }).check();
  await expect(row(bob.page, title).getByTestId('row-assignee')).toContainText('Assigned to Alice Martin');
  await expect(row(bob.page, title).getByTestId('row-assignee')).toContainText('AM');

  // Bob opens it: who handles it is said above his composer, and taking it as if nobody had it
  // is refused in words.
  await row(bob.page, title).click();
  await expect(bob.page.getByTestId('assignee')).toHaveText('Assigned to Alice Martin');
  await expect(bob.page.getByTestId('handled-by')).toHaveText('Alice Martin is handling this conversation.');
  const refused = await bob.page.request.post(`/api/v1/conversations/${conversation.id}/claim`);
  expect(refused.status()).toBe(409);
  expect((await refused.json()).error.message).toBe('Someone else took this conversation first.');

  // He takes it over from the picker, by keyboard: Alice sees it at once.
  const picker = bob.page.getByRole('button', { name: 'Assigned to Alice Martin' });
  await picker.focus();
  await picker.press('Enter');
  const menu = bob.page.getByRole('menu', { name: 'Assign to' });
  await expect(menu.getByRole('menuitem', { name: 'Assign to me' })).toBeFocused();
  await expect(menu.getByRole('menuitem', { name: 'Unassign' })).toBeVisible();
  await axe(bob.page, '.thread-header');
  await bob.page.keyboard.press('Enter');
  await expect(menu).toHaveCount(0);
  await expect(picker).toHaveCount(0);
  await expect(bob.page.getByTestId('assignee')).toHaveText('Assigned to you');
  await expect(bob.page.getByTestId('handled-by')).toHaveCount(0);
  await expect(assignee).toHaveText('Assigned to Bob Chen', { timeout: 5000 });
  await expect(alice.page.getByTestId('handled-by')).toHaveText('Bob Chen is handling this conversation.');

  // Alice unassigns it: both see it nobody's again, and back in Bob's Unassigned view.
  await alice.page.getByRole('button', { name: 'Assigned to Bob Chen' }).click();
  await alice.page.getByRole('menuitem', { name: 'Unassign' }).click();
  await expect(assignee).toHaveText('Unassigned');
  await expect(bob.page.getByTestId('assignee')).toHaveText('Unassigned', { timeout: 5000 });
  await bob.page.getByRole('radio', { name: 'Unassigned' }).check();
  await expect(row(bob.page, title)).toHaveCount(1);
  await alice.context.close();
  await bob.context.close();
});

test('put_a_canned_reply_in_the_composer_and_send_it', async ({ browser }) => {
  const bob = await agent(browser, BOB);
  const code = `thanks${String(Date.now() % 1_000_000).padStart(6, '0')}`;
  const text = 'Hi {{contact.first_name}}, thanks for writing! {{agent.first_name}} here.';

  // Any agent keeps the team's canned replies, on the account page.
  await bob.page.goto('/account');
  await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const form = bob.page.getByRole('form', { name: 'Add a canned reply' });
  await form.getByLabel('Short code').fill(code);
  await form.getByLabel('Text').fill(text);
  await form.getByRole('button', { name: 'Add canned reply' }).click();
  await expect(bob.page.getByTestId('canned-row').filter({ hasText: `/${code}` })).toContainText(text);

  const { conversation } = await demoConversation(bob.page, 2);
  await openConversation(bob.page, conversation.id);
  const composer = bob.page.getByTestId('composer');
  const first = conversation.title.split(/\s+/)[0];
  const filled = `Hi ${first}, thanks for writing! Bob here.`;

  // `/` and the start of the code: the popup has it, filled in; Escape closes it.
  await composer.pressSequentially(`/${code.slice(0, 8)}`);
  const popup = bob.page.getByTestId('canned-replies');
  await expect(popup.getByRole('option', { name: new RegExp(`/${code}`) })).toContainText(filled);
  await composer.press('Escape');
  await expect(popup).toHaveCount(0);
  await expect(composer).toHaveValue(`/${code.slice(0, 8)}`);

  // Typed on, picked with Enter: the code is replaced by the text.
  await composer.pressSequentially(code.slice(8));
  await expect(popup.getByRole('option')).toHaveCount(1);
  await expect(popup.getByRole('option')).toHaveAttribute('aria-selected', 'true');
  await composer.press('Enter');
  await expect(popup).toHaveCount(0);
  await expect(composer).toHaveValue(filled);

  // Not inside a word or a link.
  await composer.pressSequentially(' see https://x/');
  await expect(popup).toHaveCount(0);
  await composer.fill(filled);
  await composer.press('Enter');
  await expect(composer).toHaveValue('');
  const sent = bob.page.getByTestId('message').filter({ has: bob.page.locator('.text', { hasText: filled }) });
  await expect(sent.first()).toHaveAttribute('data-status', /sent|delivered|read/);
  await bob.context.close();
});

test('label_a_conversation_and_filter_the_list_by_it', async ({ browser }) => {
  test.setTimeout(60_000);
  const alice = await agent(browser, ALICE);
  const stamp = Date.now();
  const name = `VIP ${stamp}`;

  // An owner adds the label on the admin page.
  await alice.page.goto('/admin');
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const form = alice.page.getByRole('form', { name: 'Add a label' });
  await form.getByLabel('Label name').fill(name);
  await form.getByRole('button', { name: 'Add label' }).click();
  await expect(alice.page.getByTestId('label-row').filter({ hasText: name })).toHaveCount(1);

  const title = `Grace Hopper ${stamp}`;
  const conversation = await newContact(alice.page, title);
  await newContact(alice.page, `Katherine Johnson ${stamp}`);
  await openConversation(alice.page, conversation.id);

  // From the header: "+ Label", its checkbox; the chip shows in the header and on the row.
  const add = alice.page.getByRole('button', { name: '+ Label' });
  await add.click();
  const picker = alice.page.getByRole('group', { name: 'Labels' });
  await picker.getByRole('checkbox', { name }).check();
  const header = alice.page.getByRole('list', { name: 'Labels' });
  await expect(header.getByTestId('label-chip')).toHaveText([name]);
  await expect(row(alice.page, title).getByTestId('label-chip')).toHaveText(name);
  await axe(alice.page, '.thread-header');
  await alice.page.keyboard.press('Escape');
  await expect(picker).toHaveCount(0);
  await expect(add).toBeFocused();
  // Stored: a reload shows it.
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(header.getByTestId('label-chip')).toHaveText([name]);

  // Filtered by it, the list holds that conversation alone.
  await alice.page.getByTestId('label-filter').selectOption({ label: name });
  await expect(alice.page.getByTestId('conversation-item')).toHaveCount(1);
  await expect(alice.page.getByTestId('conversation-item')).toContainText(title);

  // Taken off, the conversation leaves the filtered list.
  await add.click();
  await picker.getByRole('checkbox', { name }).uncheck();
  await expect(header.getByTestId('label-chip')).toHaveCount(0);
  await expect(alice.page.getByTestId('conversation-item')).toHaveCount(0);
  await expect(alice.page.getByText('No conversations match the filters.')).toBeVisible();

  // Renamed and deleted on the admin page, the question asked in its row.
  await alice.page.goto('/admin');
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const labelRow = alice.page.getByTestId('label-row').filter({ hasText: name });
  await labelRow.getByRole('button', { name: `Edit ${name}` }).click();
  const renamed = `VVIP ${stamp}`;
  const editing = alice.page.getByRole('form', { name: 'Change the label' });
  await expect(editing.getByLabel('Label name')).toBeFocused();
  await expect(editing.getByLabel('Label name')).toHaveValue(name);
  await editing.getByLabel('Label name').fill(renamed);
  await editing.getByRole('button', { name: 'Save label' }).click();
  const renamedRow = alice.page.getByTestId('label-row').filter({ hasText: renamed });
  await expect(renamedRow).toHaveCount(1);
  await expect(alice.page.getByRole('form', { name: 'Add a label' })).toBeVisible();
  await renamedRow.getByRole('button', { name: `Delete ${renamed}` }).click();
  const question = renamedRow.getByRole('group', { name: 'Delete the label' });
  await expect(question).toContainText('It comes off every conversation.');
  await expect(question.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await question.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(alice.page.getByTestId('label-row').filter({ hasText: renamed })).toHaveCount(0);
  await alice.context.close();
});

test('snooze_a_conversation_then_reopen_and_resolve_it', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const title = `Margaret Hamilton ${Date.now()}`;
  const conversation = await newContact(alice.page, title);
  await openConversation(alice.page, conversation.id);
  const status = alice.page.getByTestId('conversation-status');
  const more = alice.page.getByRole('button', { name: 'More status actions' });
  // The list shows the open conversations first.
  await expect(row(alice.page, title)).toHaveCount(1);
  await expect(status).toHaveCount(0);

  // Snoozed for an hour: said in the header, gone from the open view, in the snoozed one.
  await more.click();
  await alice.page.getByRole('menuitem', { name: 'Snooze 1 hour' }).click();
  await expect(status).toHaveText(/^Snoozed until /);
  await expect(row(alice.page, title)).toHaveCount(0);
  await alice.page.getByTestId('status-filter').selectOption('snoozed');
  await expect(row(alice.page, title).getByTestId('row-tags')).toContainText('Snoozed');

  // Reopened: back in the open view.
  await alice.page.getByRole('button', { name: 'Reopen' }).click();
  await expect(status).toHaveCount(0);
  await expect(row(alice.page, title)).toHaveCount(0);
  await alice.page.getByTestId('status-filter').selectOption('open');
  await expect(row(alice.page, title)).toHaveCount(1);

  // Snoozed until a time of one's choosing (the day after tomorrow, 10:30).
  await more.click();
  await alice.page.getByRole('menuitem', { name: 'Snooze until…' }).click();
  const until = alice.page.getByLabel('Snooze until', { exact: true });
  await expect(until).toBeFocused();
  const day = new Date(Date.now() + 2 * 86_400_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  await until.fill(`${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}T10:30`);
  await alice.page.getByRole('button', { name: 'Snooze', exact: true }).click();
  await expect(status).toHaveText(/^Snoozed until .*10:30$/);
  const snoozed = await api<(Conversation & { snoozed_until: string })[]>(alice.page, 'GET', '/conversations?status=snoozed');
  const stored = snoozed.find((c) => c.id === conversation.id)!;
  expect(new Date(stored.snoozed_until).getHours()).toBe(10);

  // Resolved from the menu (a snoozed conversation's), then reopened; marked pending.
  await more.click();
  await alice.page.getByRole('menuitem', { name: 'Resolve' }).click();
  await expect(status).toHaveText('Resolved');
  await alice.page.getByRole('button', { name: 'Reopen' }).click();
  await expect(status).toHaveCount(0);
  await expect(alice.page.getByRole('button', { name: 'Resolve' })).toBeVisible();
  await more.click();
  await alice.page.getByRole('menuitem', { name: 'Mark pending' }).click();
  await expect(status).toHaveText('Pending');
  await expect(row(alice.page, title)).toHaveCount(0);
  await alice.page.getByTestId('status-filter').selectOption('any');
  await expect(row(alice.page, title).getByTestId('row-tags')).toContainText('Pending');
  await alice.page.getByRole('button', { name: 'Reopen' }).click();
  await expect(status).toHaveCount(0);
  await alice.context.close();
});
