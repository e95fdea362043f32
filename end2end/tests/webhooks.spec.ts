// Outgoing webhooks end to end: an admin registers an endpoint on the admin page (a refusal names
// the field), takes its signing secret from the box that shows it once, causes an event, follows
// its delivery while the list is open, sends it again and deletes the endpoint. The endpoint's
// host does not resolve here (and this server refuses private addresses), so the delivery fails
// and is retried: what an admin most needs to see.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { test, expect, ALICE, signIn, api, demoConversation } from './helpers';

const ENDPOINT = 'https://hooks.example.com/switchboard';

/** WCAG 2.2 AA in the webhooks section, light and dark. */
async function auditSection(page: Page, what: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const audit = await new AxeBuilder({ page }).include('[data-testid="webhooks"]')
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']).analyze();
    expect(audit.violations.map((v) => `${what}, ${colorScheme}: ${v.id}: ${v.help}`)).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: null });
}

test('an_admin_registers_a_webhook_and_sees_its_deliveries', async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, ALICE);
  await page.goto('/admin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const section = page.getByTestId('webhooks');
  await expect(section.getByRole('heading', { name: 'Webhooks' })).toBeVisible();
  const error = section.getByTestId('webhooks-error');

  // No event type chosen: the API refuses, and the page names the field.
  await section.getByLabel('Endpoint URL').fill(ENDPOINT);
  await section.getByRole('button', { name: 'Add endpoint' }).click();
  await expect(error).toContainText('Events: must name at least one event type');

  // One type: registered, and its secret shown once, in its own box, which takes the focus.
  await section.getByLabel('message.created', { exact: true }).check();
  await section.getByLabel('Description (optional)').fill('Order system');
  await section.getByRole('button', { name: 'Add endpoint' }).click();
  const once = page.getByTestId('webhook-secret');
  await expect(once).toContainText('it will not be shown again');
  await expect(once).toBeFocused();
  await expect(error).toHaveCount(0);
  const secret = (await once.getByTestId('webhook-secret-value').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^whsec_/);
  await auditSection(page, 'secret shown');

  // Done: the secret is gone from the page, and the focus is back in the form.
  await once.getByRole('button', { name: 'Done' }).click();
  await expect(once).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
  await expect(section.getByLabel('Endpoint URL')).toBeFocused();

  const row = section.getByTestId('webhook-row').filter({ hasText: ENDPOINT });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('webhook-events')).toHaveText('message.created');
  await expect(row).toContainText('Order system');

  // An event of its type: Alice writes in a demo conversation.
  const { conversation } = await demoConversation(page, 0);
  await api(page, 'POST', `/conversations/${conversation.id}/messages`, { text: 'hook me' });

  // Its deliveries, followed while open: tried once, failed, waiting for its retry.
  const toggle = row.getByRole('button', { name: 'Deliveries' });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  const created = row.getByTestId('webhook-delivery').filter({ hasText: 'message.created' }).first();
  await expect(created).toBeVisible({ timeout: 10_000 });
  const eventId = (await created.getAttribute('data-event-id')) ?? '';
  expect(eventId).not.toBe('');
  const delivery = row.locator(`[data-testid="webhook-delivery"][data-event-id="${eventId}"]`);
  await expect.poll(async () => Number(await delivery.getAttribute('data-attempts')), { timeout: 15_000 })
    .toBeGreaterThanOrEqual(1);
  await expect(delivery.getByTestId('webhook-delivery-status')).toHaveText(/pending|dead/);
  const failure = (await delivery.getByTestId('webhook-delivery-result').textContent())?.trim() ?? '';
  expect(failure).not.toBe('');
  expect(failure).not.toBe('not tried yet');
  expect(failure).not.toMatch(/^HTTP 2/);
  await auditSection(page, 'deliveries open');

  // Sent again: the API takes it back as pending, and the row follows the new attempt.
  const attempts = Number(await delivery.getAttribute('data-attempts'));
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().includes(`/deliveries/${eventId}/redeliver`)),
    delivery.getByRole('button', { name: 'Send again' }).click(),
  ]);
  expect(answer.status()).toBe(202);
  expect((await answer.json()).status).toBe('pending');
  await expect.poll(async () => Number(await delivery.getAttribute('data-attempts')), { timeout: 15_000 })
    .toBeGreaterThan(attempts);
  await expect(error).toHaveCount(0);

  // Deleting asks first: dismissed, the endpoint stays; accepted, it goes, and its deliveries
  // are no longer fetched.
  page.once('dialog', (dialog) => dialog.dismiss());
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(row).toHaveCount(1);
  let fetched = 0;
  page.on('request', (r) => {
    if (r.url().includes('/deliveries')) fetched += 1;
  });
  page.once('dialog', (dialog) => {
    expect(dialog.message()).toContain(ENDPOINT);
    return dialog.accept();
  });
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(row).toHaveCount(0);
  const listed = await api<Array<{ url: string }>>(page, 'GET', '/webhook-endpoints');
  expect(listed.map((e) => e.url)).not.toContain(ENDPOINT);
  fetched = 0;
  await page.waitForTimeout(3_500);
  expect(fetched, 'deliveries fetched after the endpoint was deleted').toBe(0);
});
