// The API channel on the one auth page: an admin adds one, gives its callback URL, copies the
// signing secret the page shows once, and a message the integrator then posts (with a one-use
// JWT signed with that secret) appears live in the inbox.
import { createHmac, randomUUID } from 'node:crypto';
import { test, expect, ALICE, signIn } from './helpers';

/** An HS256 JWT, built by hand the way any integrator's library would. */
function jwt(secret: string, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

test('an_api_channel_shows_its_secret_once_and_its_posts_reach_the_inbox', async ({ page }) => {
  await signIn(page, ALICE);
  await page.goto('/admin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Channel name').fill('Partner network');
  await page.getByLabel('Provider').selectOption('api');
  await page.getByRole('button', { name: 'Add channel' }).click();
  await expect(page).toHaveURL(/\/channels\/[0-9a-f-]+\/auth$/);
  const channelId = page.url().match(/channels\/([0-9a-f-]+)\/auth/)![1];

  await page.getByTestId('method-token').click();
  await page.getByLabel(/Callback URL/).fill('https://partner.example/switchboard');
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('auth-connected')).toBeVisible();
  const secret = (await page.getByTestId('shown-once-value').textContent())!.trim();
  expect(secret).toMatch(/^sbch_/);
  // The page waits for the admin: no move to the inbox while the secret is up.
  await page.waitForTimeout(2000);
  await expect(page).toHaveURL(/\/auth$/);
  await page.getByTestId('shown-once-done').click();
  await expect(page).toHaveURL(/\/inbox$/, { timeout: 5000 });
  await expect(page.getByTestId('shown-once')).toHaveCount(0);

  // The integrator posts; the conversation appears live.
  const token = jwt(secret, { exp: Math.floor(Date.now() / 1000) + 60, jti: randomUUID() });
  const posted = await page.request.post(`/api/v1/channels/${channelId}/inbound`, {
    headers: { Authorization: `Bearer ${token}` },
    data: { messages: [{ id: 'p-1', from: 'cust-42', name: 'Carla Partner', text: 'Hello from the partner network' }] },
  });
  expect(posted.status()).toBe(200);
  await expect(page.getByRole('link', { name: /Carla Partner/ })).toBeVisible();
  // The same token again is refused.
  const replayed = await page.request.post(`/api/v1/channels/${channelId}/inbound`, {
    headers: { Authorization: `Bearer ${token}` },
    data: { messages: [] },
  });
  expect(replayed.status()).toBe(401);
  expect((await replayed.json()).error.code).toBe('token_replayed');
});
