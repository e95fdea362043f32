// Finding things: searching message text and opening a hit at its message (far back in a long
// conversation), the contacts page (editing a contact, writing first to someone on the Mock
// network), and the inbox's keyboard shortcuts.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { ALICE, Channel, Conversation, api, expect, mockContact, signIn, test } from './helpers';

/** WCAG 2.2 AA (as accessibility.spec.ts checks the other pages): no violations. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
  const results = await new AxeBuilder({ page }).withTags(tags).analyze();
  const found = results.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) }));
  expect(found, `${what}: accessibility violations`).toEqual([]);
}

test('search_opens_an_older_message', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, ALICE);
  const word = `zebracorn${Date.now()}`;
  const channel = await api<Channel>(page, 'POST', '/channels', { provider: 'inapp', name: `Search room ${Date.now()}` });
  const room = await api<Conversation>(page, 'POST', '/conversations', { channel_id: channel.id, title: 'Long search history' });
  const post = (text: string) => api(page, 'POST', `/conversations/${room.id}/messages`, { text });
  for (let n = 1; n <= 10; n++) await post(`early ${n}`);
  await post(`the ${word} is here`);
  // More than a page (200) after it: opening the room shows the newest ones only.
  for (let start = 0; start < 300; start += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => post(`later ${start + i}`)));
  }

  await page.getByTestId('search-open').click();
  const panel = page.getByTestId('search-panel');
  await expect(panel).toBeVisible();
  await page.getByTestId('search-input').fill(word);
  const hit = page.getByTestId('search-hit');
  await expect(hit).toHaveCount(1);
  await expect(hit.locator('mark')).toHaveText(word);
  await expect(hit).toContainText('Long search history');
  await expectAccessible(page, 'search');
  await hit.click();

  await expect(page).toHaveURL(new RegExp(`c=${room.id}&m=`));
  await expect(panel).toHaveCount(0);
  const found = page.getByTestId('message').filter({ hasText: word });
  await expect(found).toBeVisible({ timeout: 10_000 });
  await expect(found).toHaveClass(/flash/);
  await expect(found).toBeInViewport();
  // The run is unbroken: older ones above it, and the newest below.
  await expect(page.getByTestId('message').filter({ hasText: 'early 10' })).toBeVisible();
  await page.getByTestId('message-list').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(page.getByTestId('message').filter({ hasText: 'later 2' }).last()).toBeAttached();
});

test('edit_contact_and_start_conversation', async ({ page }) => {
  await signIn(page, ALICE);
  const name = `Ada ${Date.now()}`;
  const { channel, from } = await mockContact(page, name);
  const otherName = `Augusta ${Date.now()}`;
  const { channel: otherChannel, from: otherFrom } = await mockContact(page, otherName);

  await page.getByRole('link', { name: 'Contacts', exact: true }).click();
  await expect(page).toHaveURL(/\/contacts$/);
  await page.getByTestId('contact-search').fill(name);
  const item = page.getByTestId('contact').filter({ hasText: name });
  await expect(item).toHaveCount(1);
  await expect(item.getByTestId('identities')).toContainText(`${channel.name}: ${from}`);
  await item.click();

  const details = page.getByTestId('contact-details');
  await expect(details.getByTestId('contact-name')).toHaveValue(name);
  await expectAccessible(page, 'contacts');
  const renamed = `${name} Lovelace`;
  await details.getByTestId('contact-name').fill(renamed);
  await details.getByTestId('contact-notes').fill('Prefers email.');
  await details.getByTestId('contact-save').click();
  await expect(details.getByText('Saved.')).toBeVisible();
  await expect(page.getByTestId('contact').filter({ hasText: renamed })).toHaveCount(1);
  const stored = await api<{ id: string; name: string; notes: string }[]>(page, 'GET', `/contacts?q=${encodeURIComponent(renamed)}`);
  expect(stored.map((c) => [c.name, c.notes])).toEqual([[renamed, 'Prefers email.']]);

  // The same person wrote on another channel: merged, the contact lists both identities.
  await details.getByTestId('merge-open').click();
  const merge = details.getByTestId('merge');
  await merge.getByRole('searchbox', { name: 'Contact to merge' }).fill(otherName);
  await merge.getByRole('button', { name: otherName }).click();
  await merge.getByTestId('merge-confirm').click();
  await expect(details.getByTestId('identities').first()).toContainText(`${otherChannel.name}: ${otherFrom}`);
  await expect(details.getByTestId('identities').first()).toContainText(`${channel.name}: ${from}`);
  await expect(details.getByRole('heading', { name: renamed })).toBeVisible();
  // Searching for the other's name finds the one kept, through its merged identity.
  await page.getByTestId('contact-search').fill(otherName);
  await expect(page.getByTestId('contact')).toHaveCount(1);
  await expect(page.getByTestId('contact')).toContainText(renamed);

  await page.getByTestId('new-conversation').click();
  const form = page.getByTestId('new-conversation-form');
  await form.getByTestId('start-channel').selectOption({ label: `${channel.name} (mock)` });
  const to = `+49 160 ${Date.now() % 10_000_000}`;
  await form.getByTestId('start-to').fill(to);
  await form.getByTestId('start-name').fill('Grace First');
  const text = `Writing first ${Date.now()}`;
  await form.getByTestId('start-text').fill(text);
  await form.getByRole('button', { name: 'Start conversation' }).click();

  await expect(page).toHaveURL(/\/inbox\?c=/);
  await expect(page.getByTestId('message').filter({ hasText: text })).toBeVisible();
  await expect(page.getByTestId('thread-title')).toHaveText('Grace First');
});

test('shortcuts_overlay_and_next_conversation', async ({ page }) => {
  await signIn(page, ALICE);
  const items = page.getByTestId('conversation-item');
  await expect(items.nth(1)).toBeVisible();
  await items.first().click();
  await expect(items.first()).toHaveAttribute('aria-current', 'page');
  const second = await items.nth(1).getAttribute('href');
  // Keys typed into a field are the field's.
  const search = page.getByRole('searchbox', { name: 'Search conversations' });
  await search.focus();
  await page.keyboard.press('?');
  await expect(search).toHaveValue('?');
  await expect(page.getByTestId('shortcuts')).toHaveCount(0);
  await search.fill('');
  await search.blur();

  await page.keyboard.press('?');
  const overlay = page.getByTestId('shortcuts');
  await expect(overlay).toBeVisible();
  await expect(overlay).toContainText('Next conversation');
  await expectAccessible(page, 'shortcuts');
  await page.keyboard.press('Escape');
  await expect(overlay).toHaveCount(0);

  // Opening a conversation puts the cursor in the composer: the letters are its own there.
  await page.getByTestId('message-list').focus();
  await page.keyboard.press('j');
  await expect(page).toHaveURL(new RegExp(`${second!.replace('?', '\\?')}$`));
  await expect(items.nth(1)).toHaveAttribute('aria-current', 'page');
  // Alt+↑ works from the composer too.
  await expect(page.getByTestId('composer')).toBeFocused();
  await page.keyboard.press('Alt+ArrowUp');
  await expect(items.first()).toHaveAttribute('aria-current', 'page');

  // Ctrl+K opens the search.
  await page.keyboard.press('Control+k');
  await expect(page.getByTestId('search-panel')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('search-panel')).toHaveCount(0);
});
