// The agent's desk around one customer: private notes written from the composer's toggle (seen
// live by a teammate, mentioning him, never reaching the network), the contact panel beside the
// conversation, and writing first on WhatsApp's Cloud API with an approved template.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { ALICE, BOB, Channel, Conversation, agent, api, expect, mockContact, openConversation, signIn, test } from './helpers';

const fakePort = Number(process.env.SWITCHBOARD_FAKES_PORT ?? 3390);
const fake = `http://127.0.0.1:${fakePort}`;
const APP_SECRET = '0123456789abcdef0123456789abcdef';

/** WCAG 2.2 AA within `selector`: no violations. */
async function axe(page: Page, selector: string): Promise<void> {
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
  const results = await new AxeBuilder({ page }).include(selector).withTags(tags).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** The list's row of one conversation. */
function row(page: Page, id: string) {
  return page.locator(`a[data-testid="conversation-item"][href="/inbox?c=${id}"]`);
}

/** The bubbles holding `text`. */
function bubble(page: Page, text: string) {
  return page.getByTestId('message').filter({ hasText: text });
}

test('write_a_private_note_with_a_mention', async ({ browser }) => {
  test.setTimeout(60_000);
  const alice = await agent(browser, ALICE);
  // A Mock channel of the test's own, signed in: its contact answers every message it gets
  // ("Thanks, got it: …") within 300 ms, and acknowledges delivery within 100 ms.
  const channel = await api<Channel>(alice.page, 'POST', '/channels', {
    provider: 'mock',
    name: `Notes ${Date.now()}`,
    config: { contacts: 1, reply_after_ms: 300, delivered_after_ms: 100, read_after_ms: 200 },
  });
  await api(alice.page, 'POST', `/channels/${channel.id}/auth/start`, { method: 'token' });
  await api(alice.page, 'POST', `/channels/${channel.id}/auth/submit`, {
    kind: 'token',
    fields: { token: `mock_${'n0t3s'.repeat(6)}` },
  });
  await expect
    .poll(async () => (await api<Channel[]>(alice.page, 'GET', '/channels')).find((c) => c.id === channel.id)?.status)
    .toBe('connected');
  const title = `Nora ${Date.now()}`;
  const started = await api<{ conversation: Conversation }>(alice.page, 'POST', '/conversations/start', {
    channel_id: channel.id,
    to: '+15550000001',
    name: title,
    text: 'Your refund is on its way',
  });
  const id = started.conversation.id;
  const bob = await agent(browser, BOB);

  // The network is live: the message reached the contact, who answered.
  await openConversation(alice.page, id);
  const echo = 'Thanks, got it: "Your refund is on its way"';
  await expect(bubble(alice.page, echo)).toBeVisible({ timeout: 10_000 });
  await expect(bubble(alice.page, 'Your refund is on its way').first()).toHaveAttribute('data-status', /delivered|read/);

  // The toggle, by keyboard: the composer turns into a note's.
  const toggle = alice.page.getByRole('button', { name: 'Note', exact: true });
  const composer = alice.page.getByTestId('composer');
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await toggle.focus();
  await alice.page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await expect(composer).toHaveAttribute('placeholder', 'Private note: only your team sees this');
  await expect(alice.page.locator('form.composer.note')).toHaveCount(1);

  // A mention picked from the popup, as in a message.
  const stamp = Date.now();
  await composer.focus();
  await composer.pressSequentially('Refund approved, over to you @Bo');
  await expect(alice.page.getByTestId('mentions').getByRole('option', { name: /@Bob Chen/ })).toBeVisible();
  await composer.press('Enter');
  await composer.pressSequentially(`please confirm ${stamp}`);
  await composer.press('Enter');
  const text = `Refund approved, over to you @Bob please confirm ${stamp}`;
  const note = bubble(alice.page, `please confirm ${stamp}`);
  await expect(note).toHaveAttribute('data-note', 'true');
  await expect(note).toContainText('Private note');
  await expect(note.locator('.mention')).toHaveText('@Bob');
  await expect(note).toHaveAttribute('data-status', 'sent');
  await axe(alice.page, 'form.composer');
  await axe(alice.page, '[data-note="true"]');

  // Bob was mentioned: his list counts it, and his row says so.
  const mine = await api<{ id: string; unread_mentions: number }[]>(bob.page, 'GET', '/conversations');
  expect(mine.find((c) => c.id === id)?.unread_mentions).toBe(1);
  await bob.page.reload();
  await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(row(bob.page, id).getByTestId('mention-marker')).toBeVisible();
  await axe(bob.page, '[data-testid="conversations"]');
  // The note did not move the conversation: its preview is still the customer's answer.
  await expect(row(bob.page, id).getByTestId('preview')).toContainText(echo);

  // Bob opens it: the note shows as a note; the next one arrives live, as a note too.
  await row(bob.page, id).click();
  await expect(bubble(bob.page, `please confirm ${stamp}`)).toHaveAttribute('data-note', 'true');
  await expect(row(bob.page, id).getByTestId('mention-marker')).toHaveCount(0);
  await composer.fill(`Customer called back ${stamp}`);
  await composer.press('Enter');
  const live = bubble(bob.page, `Customer called back ${stamp}`);
  await expect(live).toBeVisible({ timeout: 5000 });
  await expect(live).toHaveAttribute('data-note', 'true');
  await expect(live).toContainText('Private note');
  await expect(bubble(bob.page, echo)).not.toHaveAttribute('data-note', 'true');

  // Never sent to the network: no delivery receipt and no answer, long after the message's
  // came, and the list's preview has not moved.
  await alice.page.waitForTimeout(1500);
  await expect(bubble(alice.page, `Thanks, got it: "${text}`)).toHaveCount(0);
  await expect(bubble(alice.page, 'Thanks, got it: "Customer called back')).toHaveCount(0);
  await expect(note).toHaveAttribute('data-status', 'sent');
  await expect(bubble(alice.page, `Customer called back ${stamp}`)).toHaveAttribute('data-status', 'sent');
  await expect(row(alice.page, id).getByTestId('preview')).toContainText(echo);

  // Off again: a message to the customer.
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await expect(composer).toHaveAttribute('placeholder', 'Type a message');
  await alice.context.close();
  await bob.context.close();
});

test('open_the_contact_panel_and_another_conversation', async ({ page }) => {
  await signIn(page, ALICE);
  const name = `Pia ${Date.now()}`;
  const first = await mockContact(page, name);
  const second = await mockContact(page, `${name} (work)`);
  // The same person on two channels: merged, one contact holds both conversations.
  type Card = { id: string; name: string };
  const [kept] = await api<Card[]>(page, 'GET', `/contacts?q=${encodeURIComponent(name)}&channel_id=${first.channel.id}`);
  const [other] = await api<Card[]>(page, 'GET', `/contacts?q=${encodeURIComponent(`${name} (work)`)}`);
  await api(page, 'POST', `/contacts/${kept.id}/merge`, { contact_id: other.id });
  await api(page, 'PATCH', `/contacts/${kept.id}`, { notes: 'Prefers calls after 5pm.', attributes: { plan: 'gold' } });

  await openConversation(page, first.conversation.id);
  const button = page.getByRole('button', { name: 'Contact', exact: true });
  await expect(button).toHaveAttribute('aria-expanded', 'false');
  await button.focus();
  await page.keyboard.press('Enter');
  const panel = page.getByTestId('contact-panel');
  await expect(panel).toBeVisible();
  await expect(button).toHaveAttribute('aria-expanded', 'true');
  await expect(panel.getByRole('button', { name: 'Close contact' })).toBeFocused();
  await expect(panel.getByRole('heading', { name })).toBeVisible();
  await expect(panel.getByTestId('identities')).toContainText(`${first.channel.name}: ${first.from}`);
  await expect(panel.getByTestId('identities')).toContainText(`${second.channel.name}: ${second.from}`);
  await expect(panel.getByTestId('contact-panel-notes')).toHaveText('Prefers calls after 5pm.');
  await expect(panel.locator('dd')).toHaveText('gold');
  // Its other conversation, not the open one.
  const links = panel.getByTestId('contact-conversations').getByRole('link');
  await expect(links).toHaveCount(1);
  await expect(links).toContainText(second.channel.name);
  await axe(page, '[data-testid="contact-panel"]');
  await axe(page, '.thread-header');

  // Escape closes it, the keyboard back on its button; opened again, the link opens the other.
  await page.keyboard.press('Escape');
  await expect(panel).toHaveCount(0);
  await expect(button).toBeFocused();
  await button.click();
  await panel.getByTestId('contact-conversations').getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`c=${second.conversation.id}$`));
  await expect(page.getByTestId('message').filter({ hasText: `Hello from ${name} (work)` })).toBeVisible();
  // Still the same person beside it: now the first conversation is the other one.
  await expect(panel.getByTestId('contact-conversations').getByRole('link')).toHaveAttribute(
    'href',
    `/inbox?c=${first.conversation.id}`,
  );

  // Editing is the contacts page's.
  await panel.getByTestId('contact-edit').click();
  await expect(page).toHaveURL(new RegExp(`/contacts\\?contact=${kept.id}$`));
  await expect(page.getByTestId('contact-details').getByTestId('contact-name')).toHaveValue(name);
});

test('start_a_whatsapp_cloud_conversation_with_a_template', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const page = alice.page;
  const channel = await api<Channel>(page, 'POST', '/channels', {
    provider: 'whatsapp_cloud',
    name: `WhatsApp first ${Date.now()}`,
    config: { phone_number_id: '106540352242922', waba_id: '102290129340398', api_base_url: fake },
  });
  await api(page, 'POST', `/channels/${channel.id}/auth/start`, { method: 'token' });
  await api(page, 'POST', `/channels/${channel.id}/auth/submit`, {
    kind: 'token',
    fields: { access_token: 'fake-access-token', app_secret: APP_SECRET },
  });

  await page.goto('/contacts');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByTestId('new-conversation').click();
  const form = page.getByTestId('new-conversation-form');
  const start = form.getByRole('button', { name: 'Start conversation' });
  // Free text on the Mock channel…
  await form.getByTestId('start-channel').selectOption({ label: 'Mock WhatsApp (mock)' });
  await expect(form.getByTestId('start-text')).toBeVisible();
  // …a template on WhatsApp's Cloud API, where a business may only write first with one.
  await form.getByTestId('start-channel').selectOption({ label: `${channel.name} (whatsapp_cloud)` });
  await expect(form.getByTestId('start-text')).toHaveCount(0);
  await expect(form.getByTestId('start-template')).toBeVisible();
  const to = `1650557${String(Date.now()).slice(-4)}`;
  await form.getByTestId('start-to').fill(`+${to}`);
  await form.getByTestId('start-name').fill('Tina Template');
  await expect(start).toBeDisabled();
  await form.getByTestId('template-select').selectOption({ label: 'order_update (en_US)' });
  await form.getByLabel('Parameter 1').pressSequentially('Tina');
  await form.getByLabel('Parameter 2').pressSequentially('#88');
  const rendered = 'Hi Tina, your order #88 has shipped.';
  await expect(form.getByTestId('template-preview')).toHaveText(rendered);
  await start.click();

  await expect(page).toHaveURL(/\/inbox\?c=/);
  await expect(page.getByTestId('thread-title')).toHaveText('Tina Template');
  await expect(page.getByTestId('message').filter({ hasText: rendered })).toHaveAttribute('data-status', 'sent', {
    timeout: 10_000,
  });
  const calls = await (await page.request.get(`${fake}/_fake/whatsapp/requests`)).json();
  const sent = calls.filter((c: { body: { to?: string; type?: string } }) => c.body?.to === to && c.body?.type === 'template');
  expect(sent).toHaveLength(1);
  expect(sent[0].body.template.name).toBe('order_update');
  expect(JSON.stringify(sent[0].body.template.components)).toContain('#88');
  await alice.context.close();
});
