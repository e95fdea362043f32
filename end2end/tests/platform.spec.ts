// The developer platform end to end: an admin creates an API key on the admin page, copies its
// secret from the box that shows it once, uses it and revokes it; and an app's backend, with
// only a key, creates a user and a room and mints the user's token offline (HS256 with Node's
// crypto, as docs/embedding.md tells), which the official Centrifugo SDK connects with.
import AxeBuilder from '@axe-core/playwright';
import { APIRequestContext } from '@playwright/test';
import { Centrifuge, PublicationContext } from 'centrifuge';
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';
import { test, expect, ALICE, PASSWORD, signIn } from './helpers';

interface CreatedKey {
  id: string;
  name: string;
  scope: string;
  secret: string;
}

/** A user token minted the way an app's backend does it without calling us. */
function offlineToken(secret: string, keyId: string, sub: string, expiresInSec: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, iss: keyId, exp: Math.floor(Date.now() / 1000) + expiresInSec })}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

/** `method path` with `token` as the bearer; the answer's status and JSON body. */
async function call(request: APIRequestContext, token: string, method: string, path: string, data?: unknown) {
  const response = await request.fetch(`/api/v1${path}`, { method, data, headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status(), body: await response.json() };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('an_admin_creates_copies_and_revokes_an_api_key', async ({ page, context, request, baseURL }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  await signIn(page, ALICE);
  await page.goto('/admin');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const section = page.getByTestId('api-keys');
  await expect(section.getByRole('heading', { name: 'API keys' })).toBeVisible();

  const name = `Backend ${Date.now()}`;
  await section.getByLabel('Key name').fill(name);
  await section.getByLabel('Key scope').selectOption('server');
  await section.getByRole('button', { name: 'Create key' }).click();

  // The secret, once, in its own box, which takes the focus; copied to the clipboard.
  const once = page.getByTestId('api-key-secret');
  await expect(once).toContainText('Copy this secret now: it will not be shown again.');
  await expect(once).toBeFocused();
  const secret = (await once.getByTestId('api-key-secret-value').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^sb_sk_/);
  await once.getByRole('button', { name: 'Copy' }).click();
  await expect(once.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const audit = await new AxeBuilder({ page }).include('[data-testid="api-keys"]')
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']).analyze();
    expect(audit.violations.map((v) => `${colorScheme} ${v.id}: ${v.help}`)).toEqual([]);
  }

  // Listed without its secret, active, not used yet.
  const row = section.getByTestId('api-key-row').filter({ hasText: name });
  await expect(row.getByTestId('api-key-status')).toHaveText('active');
  await expect(row).toContainText('server');
  await expect(row).toContainText('never');

  // The secret works as a bearer (this request context has no session cookie).
  const bearer = { Authorization: `Bearer ${secret}` };
  expect((await request.get('/api/v1/users', { headers: bearer })).status()).toBe(200);

  // Done: the secret is gone from the page, and the focus is back in the form.
  await once.getByRole('button', { name: 'Done' }).click();
  await expect(once).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
  await expect(section.getByLabel('Key name')).toBeFocused();

  // Revoking asks first: dismissed, the key stays active; accepted, it is revoked.
  page.once('dialog', (dialog) => dialog.dismiss());
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row.getByTestId('api-key-status')).toHaveText('active');
  page.once('dialog', (dialog) => {
    expect(dialog.message()).toContain(name);
    return dialog.accept();
  });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row.getByTestId('api-key-status')).toHaveText('revoked');
  await expect(row.getByRole('button', { name: 'Revoke' })).toHaveCount(0);
  // The call above is its last use.
  await expect(row).not.toContainText('never');
  expect(await page.content()).not.toContain(secret);

  const refused = await request.get('/api/v1/users', { headers: bearer });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe('key_revoked');
});

test('a_token_minted_offline_connects_the_centrifuge_sdk_and_receives_the_rooms_messages', async ({ request, baseURL }) => {
  const login = await request.post('/api/v1/auth/login', { data: { email: ALICE, password: PASSWORD } });
  expect(login.status()).toBe(200);
  const alice: string = (await login.json()).token;

  // Alice makes a key for her app; the app's backend does the rest with the key alone.
  const made = await call(request, alice, 'POST', '/api-keys', { name: `App backend ${Date.now()}`, scope: 'server' });
  expect(made.status).toBe(201);
  const key = made.body as CreatedKey;
  const externalId = `uma-${Date.now()}`;
  const uma = await call(request, key.secret, 'PUT', `/users/${externalId}`, { name: 'Uma Fischer' });
  expect(uma.status).toBe(201);
  const channel = await call(request, alice, 'POST', '/channels', { provider: 'inapp', name: `App chat ${Date.now()}` });
  expect(channel.status).toBe(201);
  const room = await call(request, key.secret, 'POST', '/conversations', {
    channel_id: channel.body.id,
    title: 'Support',
    member_ids: [uma.body.user_id],
  });
  expect(room.status).toBe(201);
  const roomId: string = room.body.id;

  // Minted offline: never seen by the server before it is used.
  const token = offlineToken(key.secret, key.id, externalId, 600);

  // With it, Uma sees exactly her room, and nothing of the staff's.
  const rooms = await call(request, token, 'GET', '/conversations');
  expect(rooms.status).toBe(200);
  expect(rooms.body.map((c: { id: string }) => c.id)).toEqual([roomId]);
  const members = await call(request, token, 'GET', '/members');
  expect(members.status).toBe(403);
  expect(members.body.error.code).toBe('staff_only');

  // The same token is the SDK's connection token.
  const client = new Centrifuge(baseURL!.replace(/^http/, 'ws') + '/connection/websocket', {
    websocket: WebSocket,
    getToken: async () => token,
  });
  try {
    const received: PublicationContext[] = [];
    const sub = client.newSubscription(`conversation:${roomId}`);
    sub.on('publication', (ctx) => received.push(ctx));
    sub.subscribe();
    client.connect();
    await sub.ready(5000);

    const text = `hello Uma ${Date.now()}`;
    const sent = await call(request, key.secret, 'POST', `/conversations/${roomId}/messages`, { text });
    expect(sent.status).toBe(201);
    const live = await until('the message', () =>
      received.find((p) => p.data.type === 'message.created' && p.data.payload.text === text),
    );
    expect(live.data.payload.id).toBe(sent.body.id);
  } finally {
    client.disconnect();
  }
});
