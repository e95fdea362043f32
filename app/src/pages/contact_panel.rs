//! The contact beside the open conversation: who they are on each channel, when they last
//! wrote, the team's notes and attributes about them, and their other conversations as links
//! that open them. Editing stays on the contacts page, which the panel links to; the pieces
//! both show (`Identities`, `ConversationLinks`) live here.

use leptos::html::Button;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use switchboard::contact::{ContactDetails, ContactIdentity};
use switchboard::{Channel, ChannelId, ContactId, Conversation};

use super::inbox::short_time;
use crate::client::http;
use crate::inbox::state::Inbox;

/// A channel's name, from the channels the page loaded (empty until they are).
fn channel_name(channels: RwSignal<Vec<Channel>>, id: ChannelId) -> String {
    channels.with(|l| l.iter().find(|c| c.id == id).map(|c| c.name.clone())).unwrap_or_default()
}

/// "Mock: +49151…, WhatsApp: 1555…": who they are on each channel.
#[component]
pub fn Identities(channels: RwSignal<Vec<Channel>>, identities: Vec<ContactIdentity>) -> impl IntoView {
    let text = move || {
        identities
            .iter()
            .map(|i| format!("{}: {}", channel_name(channels, i.channel_id), i.external_id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! { <span class="preview" data-testid="identities">{text}</span> }
}

/// Conversations as links that open them in the inbox: channel, title and last activity.
#[component]
pub fn ConversationLinks(channels: RwSignal<Vec<Channel>>, list: Vec<Conversation>) -> impl IntoView {
    view! {
        <ul data-testid="contact-conversations">
            {list
                .into_iter()
                .map(|c| {
                    let when = c.last_message_at.map(short_time).unwrap_or_default();
                    let channel = c.channel_id;
                    let label = move || format!("{} · {}", channel_name(channels, channel), c.title);
                    view! { <li><a href=format!("/inbox?c={}", c.id)>{label}</a> " " <span class="time">{when}</span></li> }
                })
                .collect_view()}
        </ul>
    }
}

/// An attribute's value as the team typed it (text without its quotes).
fn shown(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

/// The panel for `contact`, read when it opens. Escape or ✕ calls `close`.
#[component]
pub fn ContactPanel(contact: ContactId, close: Callback<()>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let details = RwSignal::new(None::<Result<ContactDetails, String>>);
    let close_button = NodeRef::<Button>::new();
    Effect::new(move |_| {
        spawn_local(async move {
            let answer = http::get::<ContactDetails>(&format!("/contacts/{contact}")).await;
            details.try_set(Some(answer.map_err(|e| e.message)));
        });
        // The keyboard follows the panel it opened.
        request_animation_frame(move || {
            if let Some(b) = close_button.try_get_untracked().flatten() {
                let _ = b.focus();
            }
        });
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            ev.stop_propagation();
            close.run(());
        }
    };
    let facts = move |d: ContactDetails| {
        let card = d.contact;
        let seen = card.last_seen_at.map(|t| format!("Last seen {}", short_time(t)));
        let online = (card.online == Some(true)).then_some(" · online");
        let attributes = card.attributes.as_object().cloned().unwrap_or_default();
        let conversations = d.conversations;
        // The open conversation is the one beside the panel: the others are listed.
        let others = move || {
            let open = inbox.thread.with(|t| t.conversation);
            let list: Vec<Conversation> =
                conversations.iter().filter(|c| Some(c.id) != open).cloned().collect();
            if list.is_empty() {
                view! { <p class="muted">"No other conversations."</p> }.into_any()
            } else {
                view! { <ConversationLinks channels=inbox.channels list /> }.into_any()
            }
        };
        view! {
            <h3 dir="auto">{card.name.clone()}</h3>
            <p class="hint"><Identities channels=inbox.channels identities=card.identities.clone() /></p>
            <p class="hint">{seen}{online}</p>
            {(!card.notes.is_empty()).then(|| view! { <p dir="auto" data-testid="contact-panel-notes">{card.notes.clone()}</p> })}
            {(!attributes.is_empty()).then(|| view! {
                <dl>
                    {attributes.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt> <dd>{shown(v)}</dd> }).collect_view()}
                </dl>
            })}
            <h3>"Other conversations"</h3>
            {others}
            <a href=format!("/contacts?contact={}", card.id) data-testid="contact-edit">"Edit on the contacts page"</a>
        }
    };
    view! {
        <section class="thread-panel" data-testid="contact-panel" aria-label="Contact" on:keydown=on_key>
            <header class="thread-header">
                <h2>"Contact"</h2>
                <button type="button" class="remove-file" aria-label="Close contact" node_ref=close_button on:click=move |_| close.run(())>
                    "✕"
                </button>
            </header>
            <div class="thread-scroll">
                {move || match details.get() {
                    None => view! { <p class="loading-older" role="status">"Loading the contact…"</p> }.into_any(),
                    Some(Err(why)) => view! { <p class="form-error" role="alert">{why}</p> }.into_any(),
                    Some(Ok(d)) => facts(d).into_any(),
                }}
            </div>
        </section>
    }
}
