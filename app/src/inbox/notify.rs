//! The browser's side of notifications. While the inbox is open, a new customer message (in a
//! conversation assigned to the user, or nobody's) or a message or note that mentions them shows
//! a notification, as their settings say, when the tab is hidden or another conversation is open;
//! a click brings the tab forward and opens the conversation. The tab's title carries the unread
//! count. When the user turns notifications on, the page registers `public/sw.js` and subscribes
//! it to Web Push, so the server reaches them with the tab closed; when no push service answers,
//! the notifications of the open tab still work, and the rail says so.
//!
//! The few browser calls live in a small JS module: bindings for them through web-sys would
//! cost the WASM more.

use std::cell::RefCell;
use std::collections::VecDeque;

use leptos::prelude::*;
use leptos_meta::Title;
use switchboard::event::{ConversationChange, ConversationUpdated};
use switchboard::notify::NotificationSettings;
use switchboard::provider::Direction;
use switchboard::{EventBody, Me, MessageId};
use wasm_bindgen::prelude::*;

use super::state::{Inbox, page_visible};
use crate::client::http;

#[wasm_bindgen(inline_js = r#"
const sw = navigator.serviceWorker;
function go(url) {
  if (!url.startsWith('/') || url.startsWith('//') || location.pathname + location.search == url) return;
  // A link's click: the router navigates in place, as for the list's own links.
  const a = document.createElement('a');
  a.href = url;
  document.body.append(a);
  a.click();
  a.remove();
}
function beep() {
  try {
    const a = new AudioContext(), o = a.createOscillator(), g = a.createGain();
    o.frequency.value = 880;
    g.gain.value = 0.08;
    o.connect(g).connect(a.destination);
    o.onended = () => a.close();
    o.start();
    o.stop(a.currentTime + 0.15);
  } catch (_) {}
}
export function permission() {
  return typeof Notification == 'undefined' ? 'unsupported' : Notification.permission;
}
// The worker asks a tab to open a conversation (a click on a push notification): any page of
// the app loads this module, so whichever tab it picks follows.
if (sw) sw.addEventListener('message', (e) => e.data && e.data.type == 'open' && go(String(e.data.url)));
export function show(title, body, tag, url, sound) {
  const n = new Notification(title, { body, tag });
  n.onclick = () => { window.focus(); n.close(); go(url); };
  if (sound) beep();
}
export async function enable(ask) {
  let p = permission();
  if (p == 'default' && ask) p = await Notification.requestPermission();
  if (p != 'granted') return p;
  try {
    await sw.register('/sw.js');
    const reg = await sw.ready;
    let sub = await reg.pushManager.getSubscription();
    if (!sub) {
      const key = (await (await fetch('/api/v1/push/public-key')).json()).public_key;
      const raw = atob(key.replace(/-/g, '+').replace(/_/g, '/'));
      const applicationServerKey = Uint8Array.from(raw, (c) => c.charCodeAt(0));
      sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
    }
    const kept = await fetch('/api/v1/me/push-subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sub),
    });
    return kept.ok ? 'push' : 'page';
  } catch (_) {
    return 'page';
  }
}
"#)]
extern "C" {
    /// `Notification.permission` (`default`, `granted`, `denied`), or `unsupported`.
    fn permission() -> String;
    /// Asks for the permission when `ask` and nobody has yet, then registers the worker and
    /// subscribes it to push. Resolves to `push`, `page` (granted, no push), or the permission.
    fn enable(ask: bool) -> js_sys::Promise;
    /// Shows a notification whose click focuses the tab and opens `url` in it.
    fn show(title: &str, body: &str, tag: &str, url: &str, sound: bool);
}

/// What the page needs to decide whom a message concerns: who the user is, what they want to
/// hear of, and the messages already told of (a message may arrive in up to three events:
/// `message.created` when its conversation is open, the list's `conversation.updated`, and
/// `mention` on the user's own topic when it mentions them).
#[derive(Default)]
struct Watch {
    email: String,
    name: String,
    settings: NotificationSettings,
    told: VecDeque<MessageId>,
}

thread_local! {
    static WATCH: RefCell<Watch> = RefCell::default();
}

impl Inbox {
    /// Shows a notification for a new message that calls for one (see the module's notes).
    pub(super) fn notify(self, body: &EventBody) {
        let (conversation, id, text, preview, direction, sender) = match body {
            EventBody::MessageCreated(m) | EventBody::Mentioned(m) => {
                (m.conversation_id, m.id, m.text.as_str(), m.preview(), m.direction, m.sender_user_id)
            }
            EventBody::ConversationUpdated(ConversationUpdated {
                conversation_id,
                change:
                    ConversationChange::NewMessage {
                        message_id,
                        last_message_preview,
                        direction,
                        sender_user_id,
                        ..
                    },
            }) => (
                *conversation_id,
                *message_id,
                last_message_preview.as_str(),
                last_message_preview.clone(),
                *direction,
                *sender_user_id,
            ),
            _ => return,
        };
        let looking = page_visible() && self.thread.with_untracked(|t| t.conversation) == Some(conversation);
        if sender == Some(self.me) || looking || permission() != "granted" {
            return;
        }
        let (title, assignee, contact) = self
            .conversations
            .with_untracked(|l| {
                let c = &l.iter().find(|c| c.conversation.id == conversation)?.conversation;
                Some((c.title.clone(), c.assignee_id, c.contact_id.is_some()))
            })
            .unwrap_or_else(|| ("A new conversation".into(), None, true));
        let told = WATCH.with_borrow_mut(|w| {
            let s = &w.settings;
            let mentioned = s.mentions && switchboard::message::mentions(text, &w.email, &w.name);
            let customer = contact
                && direction == Direction::Inbound
                && match assignee {
                    Some(someone) => someone == self.me && s.assigned,
                    None => s.unassigned,
                };
            if !(mentioned || customer) || s.quiet_at(chrono::Utc::now()) || w.told.contains(&id) {
                return None;
            }
            if w.told.len() == 16 {
                w.told.pop_front();
            }
            w.told.push_back(id);
            Some((mentioned, s.sound))
        });
        let Some((mentioned, sound)) = told else { return };
        let heading = if mentioned {
            format!("{} mentioned you in {title}", self.author(sender, &title))
        } else {
            switchboard::notify::batch_title(1, &[title])
        };
        let url = format!("/inbox?c={conversation}");
        show(&heading, &preview, &format!("conversation:{conversation}"), &url, sound);
    }
}

/// The tab's title with the unread count ("(3) Inbox"); in the browser it also loads the
/// settings the notifications follow.
#[component]
pub fn Alerts(me: Me) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    Effect::new(move |_| {
        let (email, name) = (me.user.email.clone(), me.user.name.clone());
        WATCH.with_borrow_mut(|w| (w.email, w.name) = (email, name));
        leptos::task::spawn_local(async {
            if let Ok(settings) = http::get::<NotificationSettings>("/me/notification-settings").await {
                WATCH.with_borrow_mut(|w| w.settings = settings);
            }
        });
    });
    let title =
        move || match inbox.conversations.with(|l| l.iter().map(|c| c.unread_count.get()).sum::<u32>()) {
            0 => "Inbox".to_owned(),
            n => format!("({n}) Inbox"),
        };
    view! { <Title text=title /> }
}

/// "Enable notifications" until the user has chosen, then what they get. Never asks by itself:
/// the browser's prompt follows a click.
#[component]
pub fn EnableButton() -> impl IntoView {
    let state = RwSignal::new(String::new());
    let turn_on = move |ask: bool| {
        leptos::task::spawn_local(async move {
            let answer = wasm_bindgen_futures::JsFuture::from(enable(ask)).await;
            state.set(answer.ok().and_then(|a| a.as_string()).unwrap_or_default());
        })
    };
    // Granted earlier: register the worker again, which renews a subscription the server forgot.
    Effect::new(move |_| {
        let now = permission();
        if now == "granted" {
            turn_on(false);
        }
        state.set(now);
    });
    let text = move || match state.get().as_str() {
        "granted" | "push" => "Notifications on",
        "page" => "Notifications on while Switchboard is open (no push service)",
        "denied" => "Notifications are blocked in the browser's settings",
        _ => "",
    };
    view! {
        <p class="muted" data-testid="notifications">
            <Show when=move || state.get() == "default" fallback=text>
                <button class="link-button" on:click=move |_| turn_on(true)>"Enable notifications"</button>
            </Show>
        </p>
    }
}
