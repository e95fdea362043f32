// Notifications in the browser: the open inbox tells its user of a new customer message in
// another conversation and of a note that mentions them (with the unread count in the tab's
// title), follows their settings, and the service worker shows a push and opens its
// conversation on a click.
import { BrowserContext, Page } from '@playwright/test';
import { ALICE, BOB, Channel, Conversation, api, expect, mockWrites, openConversation, signIn, test } from './helpers';

// Chromium says so in the console when a page of a private context (as Playwright's are) asks
// for a push subscription; the page then carries on with its own notifications.
test.use({ allowConsole: /does not support the Push API in incognito mode/ });

const SECRET = 'whsec_e2e_notifications';
let channel: Channel | undefined;
let contacts = 0;

/** What the page showed with `new Notification(…)`, in order. */
interface Shown {
  title: string;
  body: string;
  tag: string;
}

/**
 * A signed-in context whose pages record each `Notification` they construct (the browser's
 * own would show nothing headless) and can pretend their tab is hidden (`window.__hidden`).
 * `granted`: the notifications permission is granted before the page loads.
 */
async function agentWithNotifications(
  browser: import('@playwright/test').Browser,
  email: string,
  granted = true,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  if (granted) await context.grantPermissions(['notifications']);
  await context.addInitScript(() => {
    const Real = window.Notification;
    const w = window as unknown as { __shown: unknown[]; __hidden: boolean };
    w.__shown = [];
    w.__hidden = false;
    class Recorded {
      onclick: (() => void) | null = null;
      closed = false;
      constructor(
        readonly title: string,
        readonly options: NotificationOptions = {},
      ) {
        w.__shown.push(this);
      }
      close() {
        this.closed = true;
      }
      static get permission() {
        return Real.permission;
      }
      static requestPermission() {
        return Real.requestPermission();
      }
    }
    (window as unknown as { Notification: unknown }).Notification = Recorded;
    Object.defineProperty(document, 'visibilityState', { get: () => (w.__hidden ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { get: () => w.__hidden });
  });
  const page = await context.newPage();
  await signIn(page, email);
  return { context, page };
}

/** The notifications the page showed for this conversation. */
async function shown(page: Page, conversationId: string): Promise<Shown[]> {
  return page.evaluate((tag) => {
    const all = (window as unknown as { __shown: { title: string; options: NotificationOptions }[] }).__shown;
    return all
      .filter((n) => n.options.tag === tag)
      .map((n) => ({ title: n.title, body: n.options.body ?? '', tag: n.options.tag ?? '' }));
  }, `conversation:${conversationId}`);
}

/** A contact (`from`, named `name`) writes `text` on the spec's Mock channel. */
async function contactWrites(page: Page, from: string, name: string, text: string): Promise<Conversation> {
  channel ??= await api<Channel>(page, 'POST', '/channels', {
    provider: 'mock',
    name: `Notifications ${Date.now()}`,
    config: { webhook_secret: SECRET },
  });
  await mockWrites(page, channel, SECRET, { id: `wamid.${from}.${Date.now()}`, from, name, text });
  const conversations = await api<Conversation[]>(page, 'GET', '/conversations');
  return conversations.find((c) => c.channel_id === channel!.id && c.title === name)!;
}

/** A new contact, with a number of their own, writes for the first time. */
async function newContact(page: Page, name: string, text = 'Hello, I need some help'): Promise<{ from: string; conversation: Conversation }> {
  const from = `+49157${Date.now() % 1_000_000}${++contacts}`;
  return { from, conversation: await contactWrites(page, from, name, text) };
}

/** The tab's title with this unread count. */
function titled(count: number): string {
  return count === 0 ? 'Inbox · Switchboard' : `(${count}) Inbox · Switchboard`;
}

/** The unread count the tab's title shows ("(3) Inbox · Switchboard"; none: no number). */
async function titleCount(page: Page): Promise<number> {
  const match = /^(?:\((\d+)\) )?Inbox · Switchboard$/.exec(await page.title());
  expect(match, `the title "${await page.title()}"`).not.toBeNull();
  return Number(match![1] ?? 0);
}

function row(page: Page, title: string) {
  return page.getByTestId('conversation-item').filter({ hasText: title });
}

test('notify_a_new_message_in_another_conversation', async ({ browser }) => {
  // Nothing is asked on load: the rail offers the button, and a click asks.
  const alice = await agentWithNotifications(browser, ALICE, false);
  const status = alice.page.getByTestId('notifications');
  const enable = status.getByRole('button', { name: 'Enable notifications' });
  await expect(enable).toBeVisible();
  await alice.context.grantPermissions(['notifications']);
  await enable.click();
  await expect(status).toContainText('Notifications on');

  // Alice works in one conversation; another contact writes.
  const { conversation: open } = await newContact(alice.page, `Open Olga ${Date.now()}`);
  await openConversation(alice.page, open.id);
  await expect(row(alice.page, open.title).getByTestId('unread')).toHaveCount(0);
  const before = await titleCount(alice.page);
  const name = `Grace Hopper ${Date.now()}`;
  const { conversation } = await newContact(alice.page, name, 'Is my parcel on its way?');

  await expect.poll(() => shown(alice.page, conversation.id)).toEqual([
    { title: `New message from ${name}`, body: 'Is my parcel on its way?', tag: `conversation:${conversation.id}` },
  ]);
  await expect(alice.page).toHaveTitle(titled(before + 1));
  expect(alice.page.url()).toContain(`c=${open.id}`);

  // A click on it opens its conversation in the tab; it is read, and the count goes down.
  await alice.page.evaluate((tag) => {
    const all = (window as unknown as { __shown: { options: NotificationOptions; onclick: () => void }[] }).__shown;
    all.find((n) => n.options.tag === tag)!.onclick();
  }, `conversation:${conversation.id}`);
  await expect(alice.page).toHaveURL(new RegExp(`c=${conversation.id}`));
  await expect(alice.page.getByTestId('message').filter({ hasText: 'Is my parcel on its way?' })).toBeVisible();
  await expect(alice.page).toHaveTitle(titled(before));
  await alice.context.close();
});

test('notify_a_mention_in_a_note', async ({ browser }) => {
  const alice = await agentWithNotifications(browser, ALICE);
  const bob = await agentWithNotifications(browser, BOB);
  const name = `Note Nora ${Date.now()}`;
  const { conversation } = await newContact(alice.page, name);

  // Bob has the conversation open in a tab he is not looking at.
  await openConversation(bob.page, conversation.id);
  await bob.page.evaluate(() => ((window as unknown as { __hidden: boolean }).__hidden = true));

  // Alice writes two notes: the one that mentions Bob is the one he hears of.
  const path = `/conversations/${conversation.id}/messages`;
  await api(alice.page, 'POST', path, { text: 'Checking the refund policy', note: true });
  await api(alice.page, 'POST', path, { text: 'Refund approved, @bob please follow up', note: true });
  await expect.poll(() => shown(bob.page, conversation.id)).toEqual([
    {
      title: `Alice Martin mentioned you in ${name}`,
      body: 'Refund approved, @bob please follow up',
      tag: `conversation:${conversation.id}`,
    },
  ]);

  // Bob reads another conversation, in view: a mention in Mia's still reaches him at once (on
  // his own topic, a note being only on its conversation's), and her row shows the "@".
  const miaName = `Mention Mia ${Date.now()}`;
  const mia = await newContact(alice.page, miaName);
  const other = await newContact(alice.page, `Other Olga ${Date.now()}`);
  await bob.page.evaluate(() => ((window as unknown as { __hidden: boolean }).__hidden = false));
  await openConversation(bob.page, other.conversation.id);
  const miaRow = bob.page.getByTestId('conversation-item').filter({ hasText: miaName });
  await expect(miaRow).toHaveCount(1);
  await expect(miaRow.getByTestId('mention-marker')).toHaveCount(0);
  // A note just after the page loaded may come before its first subscribe: written again
  // until one is told.
  for (let attempt = 0; ; attempt++) {
    const text = `@bob the courier called (${attempt})`;
    await api(alice.page, 'POST', `/conversations/${mia.conversation.id}/messages`, { text, note: true });
    try {
      const bodies = async () => (await shown(bob.page, mia.conversation.id)).map((n) => n.body);
      await expect.poll(bodies, { timeout: 2_000 }).toContain(text);
      break;
    } catch (error) {
      if (attempt === 4) throw error;
    }
  }
  await expect(miaRow.getByTestId('mention-marker')).toBeVisible();
  await alice.context.close();
  await bob.context.close();
});

/** Sets the "unassigned conversations" switch on the account page and saves. */
async function setUnassigned(page: Page, on: boolean): Promise<void> {
  await page.goto('/account');
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  const form = page.getByTestId('notification-settings');
  const unassigned = form.getByLabel('New messages in unassigned conversations');
  await expect(form.getByRole('button', { name: 'Save notification settings' })).toBeEnabled();
  await unassigned.setChecked(on);
  await form.getByRole('button', { name: 'Save notification settings' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved.');
}

test('turn_off_notifications_for_unassigned_conversations', async ({ browser }) => {
  const bob = await agentWithNotifications(browser, BOB);
  // Alice's session posts the contacts' messages (she may add the spec's channel).
  const alice = await agentWithNotifications(browser, ALICE);
  try {
    // A conversation Bob has: its contact's messages reach him whatever the switch says, which
    // shows when his inbox is listening, and that it has heard what came before.
    const mona = `Mine Mona ${Date.now()}`;
    const { from: monaFrom, conversation: mine } = await newContact(alice.page, mona);
    await api(bob.page, 'POST', `/conversations/${mine.id}/claim`);
    // A write just after a page load may land before the page has subscribed (nothing to
    // recover on a first subscribe): Mona writes again until Bob's page tells of one.
    const monaWrites = async (text: string) => {
      for (let attempt = 0; ; attempt++) {
        const body = attempt === 0 ? text : `${text} (${attempt})`;
        await contactWrites(alice.page, monaFrom, mona, body);
        try {
          const bodies = async () => (await shown(bob.page, mine.id)).map((n) => n.body);
          await expect.poll(bodies, { timeout: 2_000 }).toContain(body);
          return;
        } catch (error) {
          if (attempt === 4) throw error;
        }
      }
    };

    await setUnassigned(bob.page, false);
    // Kept: after a reload the switch is still off, the others still on.
    await bob.page.reload();
    const form = bob.page.getByTestId('notification-settings');
    await expect(form.getByRole('button', { name: 'Save notification settings' })).toBeEnabled();
    await expect(form.getByLabel('New messages in unassigned conversations')).not.toBeChecked();
    await expect(form.getByLabel('New messages in conversations assigned to me')).toBeChecked();
    await expect(form.getByLabel('Messages and notes that mention me')).toBeChecked();

    // A new contact writes in a conversation nobody has: no notification.
    await bob.page.goto('/inbox');
    await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await monaWrites('Mona asks once');
    const name = `Quiet Quentin ${Date.now()}`;
    const { from, conversation } = await newContact(alice.page, name, 'First question');
    await monaWrites('Mona asks again');
    expect(await shown(bob.page, conversation.id)).toEqual([]);

    // Switched on again, the same contact's next message is told of.
    await setUnassigned(bob.page, true);
    await bob.page.goto('/inbox');
    await expect(bob.page.locator('body[data-hydrated="true"]')).toHaveCount(1);
    await monaWrites('Mona is back');
    await contactWrites(alice.page, from, name, 'Second question');
    await expect.poll(() => shown(bob.page, conversation.id)).toEqual([
      { title: `New message from ${name}`, body: 'Second question', tag: `conversation:${conversation.id}` },
    ]);
  } finally {
    await api(bob.page, 'PUT', '/me/notification-settings', {});
    await bob.context.close();
    await alice.context.close();
  }
});

test('show_a_push_and_open_its_conversation', async ({ browser }) => {
  const alice = await agentWithNotifications(browser, ALICE);
  const { page, context } = alice;
  const sw = await page.request.get('/sw.js');
  expect(sw.ok()).toBeTruthy();
  expect(sw.headers()['content-type']).toMatch(/^(text|application)\/javascript/);

  // Granted earlier: the inbox registers its worker by itself (no push service answers here, so
  // the rail says the notifications work while the tab is open).
  await expect(page.getByTestId('notifications')).toContainText('Notifications on');
  const script = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
  expect(script).toMatch(/\/sw\.js$/);

  const { conversation } = await newContact(page, `Push Paula ${Date.now()}`, 'Where is my order?');
  const origin = new URL(page.url()).origin;
  const cdp = await context.newCDPSession(page);
  const registered = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r: { scopeURL: string; isDeleted: boolean }) => r.scopeURL === `${origin}/` && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registered;
  const payload = { title: 'New message from Paula', body: 'Where is my order?', url: `/inbox?c=${conversation.id}`, count: 1 };
  const deliver = () => cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) });
  await deliver();

  const notifications = () =>
    page.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        url: (n.data as { url: string }).url,
      })),
    );
  const expected = [{ title: payload.title, body: payload.body, tag: `conversation:${conversation.id}`, url: payload.url }];
  // DevTools drops a delivery that comes while the worker is still starting (a push service
  // would retry it): delivered again until shown. The same tag means at most one is ever shown.
  for (let attempt = 0; ; attempt++) {
    try {
      await expect.poll(notifications, { timeout: 2_000 }).toEqual(expected);
      break;
    } catch (error) {
      if (attempt === 3) throw error;
      await deliver();
    }
  }

  // Its click (run by the worker's own handler) takes the open inbox tab to the conversation.
  expect(page.url()).not.toContain(conversation.id);
  await page.evaluate(async (tag) => (await navigator.serviceWorker.ready).active!.postMessage({ type: 'click', tag }), `conversation:${conversation.id}`);
  await expect(page).toHaveURL(new RegExp(`c=${conversation.id}`));
  await expect(page.getByTestId('message').filter({ hasText: 'Where is my order?' })).toBeVisible();
  await expect.poll(notifications).toEqual([]);
  await context.close();
});
