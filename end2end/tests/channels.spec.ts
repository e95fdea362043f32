import { Page, Browser } from '@playwright/test';
import { test, expect, ALICE, agent, screenshot } from './helpers';

/** Adds a Mock channel on the admin page; the app goes to the channel's auth page. */
async function addMockChannel(page: Page, name: string): Promise<void> {
  await page.goto('/admin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Channel name').fill(name);
  await page.getByLabel('Provider').selectOption('mock');
  await page.getByRole('button', { name: 'Add channel' }).click();
  await expect(page).toHaveURL(/\/channels\/[0-9a-f-]+\/auth$/);
  await expect(page.getByTestId('auth-channel-name')).toHaveText(name);
}

/** The auth page says connected and moves on to the inbox, where the channel is live. */
async function expectConnected(page: Page, name: string): Promise<void> {
  await expect(page.getByTestId('auth-connected')).toBeVisible({ timeout: 10000 });
  await expect(page).toHaveURL(/\/inbox$/, { timeout: 5000 });
  const channel = page.getByTestId('channel').filter({ hasText: name });
  await expect(channel.getByTestId('channel-status')).toHaveText('Connected');
  // Long enough for anything the auth page left running (its once-a-second countdown) to fire
  // on the inbox: the console guard fails the test if it touches the page that is gone.
  await page.waitForTimeout(2500);
}

async function phone(browser: Browser) {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

test('connect_mock_channel_by_qr', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const name = `QR line ${Date.now()}`;
  await addMockChannel(alice.page, name);
  await alice.page.getByRole('button', { name: 'QR code' }).click();
  // The QR is an SVG drawn by the server, with a countdown to its renewal.
  await expect(alice.page.getByTestId('qr').locator('svg')).toBeVisible();
  await expect(alice.page.getByTestId('countdown')).toContainText(/Renews in \d:\d\d/);
  await screenshot(alice.page, 'auth-qr');
  const link = await alice.page.getByTestId('qr').getAttribute('data-qr-value');
  expect(link).toMatch(/\/mock\/pair\//);
  // The provider says where to scan, and links to it.
  await expect(alice.page.getByTestId('auth-hint')).toContainText('open the QR\'s pairing link');
  await expect(alice.page.getByTestId('auth-hint').getByRole('link')).toHaveAttribute('href', link!);

  // "The phone" opens the QR's pairing link.
  const handset = await phone(browser);
  await handset.page.goto(link!);
  await expect(handset.page.getByText('Phone paired')).toBeVisible();
  await expectConnected(alice.page, name);
  await handset.context.close();
  await alice.context.close();
});

test('renew_expired_qr', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  // A network whose QR codes live two seconds.
  const created = await alice.page.request.post('/api/v1/channels', {
    data: { provider: 'mock', name: `Short QR ${Date.now()}`, config: { qr_ttl_secs: 2 } },
  });
  expect(created.ok()).toBeTruthy();
  const { id } = await created.json();
  await alice.page.goto(`/channels/${id}/auth`);
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await alice.page.getByRole('button', { name: 'QR code' }).click();
  const qr = alice.page.getByTestId('qr');
  await expect(qr.locator('svg')).toBeVisible();
  const first = await qr.getAttribute('data-qr-value');
  await expect(alice.page.getByTestId('countdown')).toContainText(/Renews in 0:0[0-2]/);
  // When it expires the page fetches the renewed code by itself, and the countdown restarts.
  await expect(qr).not.toHaveAttribute('data-qr-value', first!, { timeout: 6000 });
  await expect(qr.locator('svg')).toBeVisible();
  await expect(alice.page.getByTestId('auth-connected')).toHaveCount(0);
  await alice.context.close();
});

test('connect_mock_channel_by_pairing_code', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const name = `Pairing line ${Date.now()}`;
  await addMockChannel(alice.page, name);
  await alice.page.getByRole('button', { name: 'Pairing code' }).click();
  // The phone number comes first.
  await alice.page.getByLabel("The account's phone number").fill('+1 555 0100');
  await alice.page.getByRole('button', { name: 'Get a pairing code' }).click();
  const code = (await alice.page.getByTestId('pairing-code').innerText()).trim();
  expect(code.length).toBeGreaterThanOrEqual(6);
  await expect(alice.page.getByTestId('countdown')).toContainText(/Expires in \d:\d\d/);

  // The provider says where to type it: the page its hint links to.
  const hint = alice.page.getByTestId('auth-hint');
  await expect(hint).toContainText("type the code on the Mock phone's pairing page");
  const where = await hint.getByRole('link').getAttribute('href');
  expect(where).toBe('/mock/pair');

  // The code is typed "into the phone".
  const handset = await phone(browser);
  await handset.page.goto(where!);
  await handset.page.getByLabel('Code').fill(code);
  await handset.page.getByRole('button', { name: 'Pair' }).click();
  await expectConnected(alice.page, name);
  await handset.context.close();
  await alice.context.close();
});

test('connect_mock_channel_by_token', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  const name = `Token line ${Date.now()}`;
  await addMockChannel(alice.page, name);
  await alice.page.getByRole('button', { name: 'Token' }).click();
  const input = alice.page.getByLabel('Mock API token');
  // Masked input, and the provider's word on what a token looks like.
  await expect(input).toHaveAttribute('type', 'password');
  await expect(alice.page.getByTestId('auth-hint')).toContainText('a token is mock_ followed by');
  // A wrong token is refused in words, and the page offers to try again.
  await input.fill('not-a-token');
  await alice.page.getByRole('button', { name: 'Connect' }).click();
  await expect(alice.page.getByTestId('auth-error')).toBeVisible();
  await expect(alice.page.getByTestId('auth-error').getByRole('button', { name: 'Try again' })).toBeVisible();
  await alice.page.getByLabel('Mock API token').fill(`mock_${'a1b2c3'.repeat(5)}`);
  await alice.page.getByRole('button', { name: 'Connect' }).click();
  await expectConnected(alice.page, name);
  await alice.context.close();
});

test('manage_members_and_channels', async ({ browser }) => {
  const alice = await agent(browser, ALICE);
  await alice.page.goto('/admin');
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  // Presence: alice's own connection makes her online.
  await expect(alice.page.getByTestId('member-row').filter({ hasText: 'alice@example.com' })).toContainText('online');
  // Alice invites Carol: a link to pass on, and a pending invitation (not a member yet).
  const email = `carol.${Date.now()}@example.com`;
  await alice.page.getByLabel('Email to invite').fill(email);
  await alice.page.getByRole('button', { name: 'Invite' }).click();
  const link = alice.page.getByLabel('Invitation link');
  await expect(link).toHaveValue(/\/invite\/[0-9a-f]{64}$/);
  const url = new URL(await link.inputValue());
  await expect(alice.page.getByTestId('invitation-row').filter({ hasText: email })).toBeVisible();
  await expect(alice.page.getByTestId('member-row').filter({ hasText: email })).toHaveCount(0);
  // Carol opens the link in her own browser, chooses her name and password, and lands in the inbox.
  const carol = await browser.newContext();
  const carolPage = await carol.newPage();
  await carolPage.goto(url.pathname);
  await expect(carolPage.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(carolPage.getByTestId('invitation-email')).toHaveText(email);
  await carolPage.getByLabel('Your name').fill('Carol Diaz');
  await carolPage.getByLabel('Choose a password').fill('carol-password-123');
  await carolPage.getByRole('button', { name: 'Join' }).click();
  await expect(carolPage).toHaveURL(/\/inbox/);
  await expect(carolPage.getByTestId('user-name')).toHaveText('Carol Diaz');
  await carol.close();
  await alice.page.reload();
  await expect(alice.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(alice.page.getByTestId('invitation-row').filter({ hasText: email })).toHaveCount(0);
  const row = alice.page.getByTestId('member-row').filter({ hasText: email });
  await expect(row).toBeVisible();
  await row.getByLabel('Role of Carol Diaz').selectOption('admin');
  await expect(row.getByLabel('Role of Carol Diaz')).toHaveValue('admin');
  await alice.page.reload();
  await expect(alice.page.getByTestId('member-row').filter({ hasText: email }).getByLabel('Role of Carol Diaz')).toHaveValue('admin');
  await screenshot(alice.page, 'admin');
  // Demoting the last owner is refused: the control shows the stored role again, and why.
  const own = alice.page.getByTestId('member-row').filter({ hasText: 'alice@example.com' });
  await own.getByLabel('Role of Alice Martin').selectOption('agent');
  await expect(alice.page.getByTestId('members-error')).toBeVisible();
  await expect(own.getByLabel('Role of Alice Martin')).toHaveValue('owner');
  // One's own row has no Remove button.
  await expect(own.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  // Removing asks first: dismissed, nothing happens; accepted, Carol goes.
  const carolRow = alice.page.getByTestId('member-row').filter({ hasText: email });
  alice.page.once('dialog', (dialog) => dialog.dismiss());
  await carolRow.getByRole('button', { name: 'Remove' }).click();
  await expect(carolRow).toHaveCount(1);
  alice.page.once('dialog', (dialog) => {
    expect(dialog.message()).toContain('Carol Diaz');
    return dialog.accept();
  });
  await carolRow.getByRole('button', { name: 'Remove' }).click();
  await expect(alice.page.getByTestId('member-row').filter({ hasText: email })).toHaveCount(0);

  // The demo channel is listed with its live status; a new in-app channel can be deleted.
  await expect(alice.page.getByTestId('channel-row').filter({ hasText: 'connected' }).first()).toBeVisible();
  const name = `Scratch ${Date.now()}`;
  await alice.page.getByLabel('Channel name').fill(name);
  await alice.page.getByLabel('Provider').selectOption('inapp');
  await alice.page.getByRole('button', { name: 'Add channel' }).click();
  const channelRow = alice.page.getByTestId('channel-row').filter({ hasText: name });
  await expect(channelRow.getByTestId('admin-channel-status')).toHaveText('connected');
  alice.page.once('dialog', (dialog) => dialog.accept());
  await channelRow.getByRole('button', { name: 'Delete' }).click();
  await expect(alice.page.getByTestId('channel-row').filter({ hasText: name })).toHaveCount(0);
  await alice.context.close();
});
