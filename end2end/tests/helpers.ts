import { Browser, BrowserContext, Page, expect, test as base } from '@playwright/test';
import { createHmac, randomBytes, randomInt } from 'node:crypto';

export { expect };

/**
 * Every test's `test`: it fails a test whose pages logged a console error or threw an uncaught
 * error (a Rust panic, a disposed signal read, an `unreachable`), in every browser context the
 * test opens, so such a bug cannot pass silently. A test that provokes an expected error names
 * it with `test.use({ allowConsole: /…/ })`.
 */
export const test = base.extend<{ allowConsole: RegExp | undefined; pageErrors: PageErrors; consoleGuard: void }>({
  allowConsole: [undefined, { option: true }],
  pageErrors: async ({}, use) => {
    await use(new PageErrors());
  },
  // The default context (the `page` fixture's)…
  context: async ({ context, pageErrors }, use) => {
    pageErrors.watch(context);
    await use(context);
  },
  // …and every context the test opens itself.
  consoleGuard: [
    async ({ browser, allowConsole, pageErrors }, use) => {
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
        const context = await newContext(...args);
        pageErrors.watch(context);
        return context;
      };
      try {
        await use();
      } finally {
        browser.newContext = newContext;
      }
      const unexpected = pageErrors.errors.filter((e) => !allowConsole?.test(e));
      expect(unexpected, 'errors logged by the pages').toEqual([]);
    },
    { auto: true },
  ],
});

const REFUSAL = /^Failed to load resource: the server responded with a status of 4\d\d/;

/** What the pages of a test logged as errors. */
class PageErrors {
  readonly errors: string[] = [];
  private readonly watched = new WeakSet<BrowserContext>();

  watch(context: BrowserContext): void {
    if (this.watched.has(context)) return;
    this.watched.add(context);
    context.on('console', (message) => {
      // Chromium logs every 4xx answer as an error; a refusal is the API's normal answer, which
      // the page shows in words. A 5xx is not.
      if (message.type() === 'error' && !REFUSAL.test(message.text())) this.errors.push(`console: ${message.text()}`);
    });
    context.on('weberror', (error) => this.errors.push(`uncaught: ${error.error().message}`));
  }
}

export const PASSWORD = 'demo-password';
export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

/** Signs in through the page and waits for the inbox to be hydrated. */
export async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/inbox/);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** A fresh browser context (its own cookies) signed in as `email`. */
export async function agent(browser: Browser, email: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, email);
  return { context, page };
}

/** Opens a conversation by id and waits until its messages are shown. */
export async function openConversation(page: Page, id: string): Promise<void> {
  await page.goto(`/inbox?c=${id}`);
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  await expect(page.getByTestId('message').first()).toBeVisible();
}

/** The API as the page's user (the context's session cookie). */
export async function api<T>(page: Page, method: string, path: string, data?: unknown): Promise<T> {
  const response = await page.request.fetch(`/api/v1${path}`, { method, data });
  if (!response.ok()) {
    throw new Error(`${method} ${path}: ${response.status()} ${await response.text()}`);
  }
  return response.status() === 204 ? (undefined as T) : ((await response.json()) as T);
}

export interface Conversation {
  id: string;
  channel_id: string;
  title: string;
  external_chat_id: string;
}

export interface Channel {
  id: string;
  name: string;
  provider: string;
  status: string;
  config: Record<string, unknown>;
}

/** The Mock network calls `channel`'s webhook with `events`, signed with the channel's `secret`. */
export async function mockEvents(page: Page, channel: Channel, secret: string, events: unknown[]): Promise<void> {
  const body = JSON.stringify({ events });
  const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  const response = await page.request.post(`/webhooks/mock/${channel.id}`, {
    headers: { 'content-type': 'application/json', 'x-mock-signature': signature },
    data: body,
  });
  expect(response.ok()).toBeTruthy();
}

/**
 * A Mock contact writes on `channel` through the network's signed webhook (the channel was made
 * with `config.webhook_secret` = `secret`), as the real network would deliver it.
 */
export async function mockWrites(
  page: Page,
  channel: Channel,
  secret: string,
  message: { id: string; from: string; name: string; text: string },
): Promise<void> {
  await mockEvents(page, channel, secret, [{ type: 'message', ...message }]);
}

/** A Mock channel of the test's own, named `name`, with a webhook secret for `mockWrites`. */
export async function mockChannel(page: Page, name: string): Promise<{ channel: Channel; secret: string }> {
  const secret = `whsec_e2e_${randomBytes(12).toString('hex')}`;
  const channel = await api<Channel>(page, 'POST', '/channels', { provider: 'mock', name, config: { webhook_secret: secret } });
  return { channel, secret };
}

/** A phone number no other test's contact has. */
export function newPhone(): string {
  return `+4915${randomInt(10_000_000, 100_000_000)}`;
}

/**
 * A Mock channel of the test's own (named `channelName`) and a new contact `name` who writes
 * `text` on it: the conversation that opened, and the contact's number.
 */
export async function mockContact(
  page: Page,
  name: string,
  { channelName = `Mock ${name}`, text = `Hello from ${name}` } = {},
): Promise<{ channel: Channel; secret: string; conversation: Conversation; from: string }> {
  const { channel, secret } = await mockChannel(page, channelName);
  const from = newPhone();
  await mockWrites(page, channel, secret, { id: `wamid.${from}`, from, name, text });
  const conversations = await api<Conversation[]>(page, 'GET', '/conversations');
  const conversation = conversations.find((c) => c.channel_id === channel.id);
  if (!conversation) throw new Error(`no conversation opened on ${channel.name}`);
  return { channel, secret, conversation, from };
}

/** The demo's Mock channel and one of its conversations. Each test uses its own contact. */
export async function demoConversation(page: Page, index: number): Promise<{ channel: Channel; conversation: Conversation }> {
  const channels = await api<Channel[]>(page, 'GET', '/channels');
  const channel = channels.find((c) => c.provider === 'mock' && c.status === 'connected');
  if (!channel) throw new Error('the demo Mock channel is missing');
  const conversations = await api<Conversation[]>(page, 'GET', '/conversations');
  const mine = conversations
    .filter((c) => c.channel_id === channel.id)
    .sort((a, b) => a.external_chat_id.localeCompare(b.external_chat_id));
  if (mine.length <= index) throw new Error(`the demo has ${mine.length} Mock conversations`);
  return { channel, conversation: mine[index] };
}

/** Saves a screenshot for the README when SCREENSHOT_DIR is set (scripts/screenshots.sh). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR;
  if (dir) {
    await page.screenshot({ path: `${dir}/${name}.png` });
  }
}
