// WCAG 2.2 AA, checked by axe-core in Chromium on every page an agent or admin uses, in light
// and dark mode: zero violations. And the keyboard: where focus goes after signing in, after a
// failed sign-in and after opening a conversation.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { test, expect, ALICE, PASSWORD, agent, api, demoConversation, openConversation, Channel } from './helpers';

const AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

async function expectNoViolations(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(AA).analyze();
  const found = results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
  }));
  expect(found, `${what}: accessibility violations`).toEqual([]);
}

for (const scheme of ['light', 'dark'] as const) {
  test(`no_accessibility_violations_${scheme}`, async ({ browser }) => {
    const context = await browser.newContext({ colorScheme: scheme });
    const page = await context.newPage();
    await page.goto('/login');
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await expectNoViolations(page, 'login');

    await page.getByLabel('Email').fill(ALICE);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/inbox/);
    await expect(page.getByTestId('conversation-item').first()).toBeVisible();
    const { conversation } = await demoConversation(page, 0);
    await openConversation(page, conversation.id);
    // Selected row, outgoing bubbles with their ticks and times, the composer.
    await expect(page.getByTestId('conversation-item').filter({ hasText: conversation.title })).toHaveClass(/active/);
    await expectNoViolations(page, 'inbox with a conversation open');

    await page.goto('/admin');
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await expect(page.getByTestId('member-row').first()).toBeVisible();
    await expectNoViolations(page, 'admin');

    const channel = await api<Channel>(page, 'POST', '/channels', { provider: 'mock', name: `A11y ${scheme} ${Date.now()}` });
    await page.goto(`/channels/${channel.id}/auth`);
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await page.getByRole('button', { name: 'QR code' }).click();
    await expect(page.getByTestId('qr').locator('svg')).toBeVisible();
    await expectNoViolations(page, 'channel auth');
    await context.close();
  });
}

test('only_the_open_conversation_is_the_current_page', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const { conversation } = await demoConversation(alice.page, 0);
  await openConversation(alice.page, conversation.id);
  const current = alice.page.locator('[data-testid="conversation-item"][aria-current="page"]');
  await expect(current).toHaveCount(1);
  await expect(current).toContainText(conversation.title);
  await expect(alice.page.getByRole('main')).toHaveCount(1);
  await alice.context.close();
});

test('focus_goes_where_the_keyboard_user_needs_it', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/login');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  // A failed sign-in: focus on the password field to try again, the error read out.
  await page.getByLabel('Email').fill(ALICE);
  await page.getByLabel('Password').fill('not the password');
  await page.getByLabel('Password').press('Enter');
  await expect(page.getByRole('alert')).toContainText('Invalid email or password.');
  await expect(page.getByLabel('Password')).toBeFocused();
  // Signed in: the inbox; opening a conversation puts the cursor in the composer.
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Password').press('Enter');
  await expect(page).toHaveURL(/\/inbox/);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  // No conversation open yet: the search, to find one.
  await expect(page.getByLabel('Search conversations')).toBeFocused();
  await page.getByTestId('conversation-item').first().click();
  await expect(page.getByTestId('composer')).toBeFocused();
  // The message list is reachable by keyboard (it scrolls with the arrow keys).
  await expect(page.getByTestId('message-list')).toHaveAttribute('tabindex', '0');
  await context.close();
});
