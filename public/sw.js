// Switchboard's service worker. It shows the server's Web Push notifications while no inbox tab
// is open, and a click on one brings the inbox forward on the conversation it names. The inbox
// registers it (scope: the whole site) when its user turns notifications on; see
// app/src/inbox/notify.rs for the page's side and docs/desk.md for what the server sends.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

// A page of this site, whatever the payload says: a push never sends anyone elsewhere.
function page(url) {
  const target = new URL(url || '/inbox', self.location.origin);
  return target.origin === self.location.origin ? target.pathname + target.search : '/inbox';
}

// The payload is `{title, body, url, count}` (switchboard::notify::PushPayload). Its tag is the
// conversation's, as the open tab's own notifications are, so one replaces the other.
self.addEventListener('push', (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch (_) {
    payload = { body: event.data.text() };
  }
  const url = page(payload.url);
  const conversation = new URL(url, self.location.origin).searchParams.get('c');
  event.waitUntil(
    self.registration.showNotification(payload.title || 'Switchboard', {
      body: payload.body || '',
      tag: conversation ? `conversation:${conversation}` : 'switchboard',
      icon: '/favicon.svg',
      data: { url },
    }),
  );
});

// A tab of the app already open (an inbox one first) is focused and told which conversation to
// open, which it does without a reload; with none, a new window opens on it. A tab's `url` is
// where it was loaded, not where the app has taken it since, so any tab will do.
async function open(url) {
  const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const tab = tabs.find((t) => new URL(t.url).pathname === '/inbox') || tabs[0];
  if (!tab) return self.clients.openWindow(url);
  tab.postMessage({ type: 'open', url });
  // Focusing needs the click's user activation; without it the tab still navigates.
  return tab.focus().catch(() => tab);
}

function clicked(notification) {
  notification.close();
  return open(page(notification.data && notification.data.url));
}

self.addEventListener('notificationclick', (event) => event.waitUntil(clicked(event.notification)));

// `{type: 'click', tag}` from a page of this site runs the click of the notification shown with
// that tag, as if it had been clicked: the end-to-end tests drive the click this way, a headless
// browser having no notification to click.
self.addEventListener('message', (event) => {
  if (!event.data || event.data.type !== 'click') return;
  event.waitUntil(
    self.registration
      .getNotifications({ tag: String(event.data.tag) })
      .then((shown) => Promise.all(shown.map(clicked))),
  );
});
