//! The contacts page: the workspace's contacts, searched as one types, each with their
//! identities on every channel; one contact's details to edit (name, notes, attributes), its
//! conversations, merging another contact into it; and writing first to someone on a channel
//! ("New conversation"; on WhatsApp's Cloud API with an approved template). `?contact={id}`
//! opens that contact (the inbox's contact panel links here). Everything is fetched from the
//! browser once hydrated.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde_json::{Map, Value, json};
use switchboard::contact::{ContactCard, ContactDetails, Started};
use switchboard::{Channel, ChannelId, ContactId, Me};

use super::contact_panel::{ConversationLinks, Identities};
use super::inbox::{TopBar, short_time};
use super::search::after_pause;
use super::templates::{TemplateChoice, TemplateFields};
use crate::api::current_user;
use crate::client::http;

/// Contacts per page of the list.
const LIST: usize = 50;

#[component]
pub fn ContactsPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Contacts" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <ContactsShell me /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What the page's parts share.
#[derive(Clone, Copy)]
struct Ctx {
    channels: RwSignal<Vec<Channel>>,
    /// The contact shown (none: the list alone, or the new conversation form).
    shown: RwSignal<Option<ContactDetails>>,
    /// The new conversation form is open.
    composing: RwSignal<bool>,
    /// Bumped after a change: the list loads again.
    changed: RwSignal<u32>,
    error: RwSignal<Option<String>>,
}

impl Ctx {
    fn open(self, id: ContactId) {
        spawn_local(async move {
            match http::get::<ContactDetails>(&format!("/contacts/{id}")).await {
                Ok(d) => {
                    self.composing.set(false);
                    self.shown.set(Some(d));
                }
                Err(e) => self.error.set(Some(e.message)),
            }
        });
    }
}

#[component]
fn ContactsShell(me: Me) -> impl IntoView {
    http::act_in(me.current_or_first().map(|m| m.workspace.id));
    let ctx = Ctx {
        channels: RwSignal::new(Vec::new()),
        shown: RwSignal::new(None),
        composing: RwSignal::new(false),
        changed: RwSignal::new(0),
        error: RwSignal::new(None),
    };
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(list) = http::get::<Vec<Channel>>("/channels").await {
                ctx.channels.set(list);
            }
        })
    });
    // A link to one contact (`?contact={id}`) opens it.
    let query = use_query_map();
    Effect::new(move |_| {
        if let Some(id) = query.with(|q| q.get("contact").and_then(|c| c.parse::<uuid::Uuid>().ok())) {
            ctx.open(ContactId(id));
        }
    });
    view! {
        <div class="app">
            <TopBar me />
            <main class="contacts-page">
                <ContactList ctx />
                <section class="pane contact-details" aria-label="Contact">
                    <Show when=move || ctx.error.get().is_some()>
                        <p class="form-error" role="alert">{move || ctx.error.get()}</p>
                    </Show>
                    {move || {
                        if ctx.composing.get() {
                            view! { <NewConversation ctx /> }.into_any()
                        } else if let Some(d) = ctx.shown.get() {
                            view! { <Details ctx d /> }.into_any()
                        } else {
                            view! { <p class="empty centered">"Select a contact."</p> }.into_any()
                        }
                    }}
                </section>
            </main>
        </div>
    }
}

/// Loads contacts matching `q` (from `offset`) into `into`; says whether more may follow.
async fn find(
    q: &str,
    offset: usize,
    exclude: Option<ContactId>,
) -> Result<Vec<ContactCard>, http::ApiError> {
    let q = http::encode(q.trim());
    let mut list: Vec<ContactCard> =
        http::get(&format!("/contacts?q={q}&offset={offset}&limit={LIST}")).await?;
    list.retain(|c| Some(c.id) != exclude);
    Ok(list)
}

#[component]
fn ContactList(ctx: Ctx) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let list = RwSignal::new(Vec::<ContactCard>::new());
    let more = RwSignal::new(false);
    let asked = StoredValue::new(0u32);
    let load = move |offset: usize| {
        let n = asked.get_value();
        spawn_local(async move {
            let answer = find(&text.get_untracked(), offset, None).await;
            if asked.try_get_value() != Some(n) {
                return;
            }
            match answer {
                Ok(page) => {
                    more.set(page.len() == LIST);
                    list.update(|l| {
                        if offset == 0 {
                            l.clear();
                        }
                        l.extend(page);
                    });
                }
                Err(e) => ctx.error.set(Some(e.message)),
            }
        });
    };
    Effect::new(move |_| {
        ctx.changed.track();
        load(0);
    });
    let selected = move || ctx.shown.with(|d| d.as_ref().map(|d| d.contact.id));
    view! {
        <section class="pane contact-list" aria-label="Contacts">
            <div class="list-head">
                <h1>"Contacts"</h1>
                <button class="link-button" data-testid="new-conversation" on:click=move |_| ctx.composing.set(true)>
                    "New conversation"
                </button>
            </div>
            <input
                class="search"
                type="search"
                placeholder="Search by name, number or username"
                aria-label="Search contacts"
                data-testid="contact-search"
                prop:value=move || text.get()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    after_pause(asked, move || load(0));
                }
            />
            <ul class="conversations" data-testid="contacts">
                <For each=move || list.get() key=|c| (c.id, c.name.clone(), c.conversation_count, c.identities.len(), c.last_seen_at) let:c>
                    {
                        let id = c.id;
                        let seen = c.last_seen_at.map(|t| format!("Seen {}", short_time(t))).unwrap_or_default();
                        let count = match c.conversation_count {
                            1 => "1 conversation".to_owned(),
                            n => format!("{n} conversations"),
                        };
                        view! {
                            <li>
                                <button
                                    class="conversation-item contact-item"
                                    class:active=move || selected() == Some(id)
                                    data-testid="contact"
                                    on:click=move |_| ctx.open(id)
                                >
                                    <span class="item-top">
                                        <span class="title" dir="auto">{c.name.clone()}</span>
                                        <span class="time">{seen}</span>
                                    </span>
                                    <Identities channels=ctx.channels identities=c.identities.clone() />
                                    <span class="channel-badge">{count}</span>
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || more.get()>
                <button class="link-button" on:click=move |_| load(list.with_untracked(Vec::len))>"Load more"</button>
            </Show>
        </section>
    }
}

/// An attribute's value as typed: numbers and true/false stay such, the rest is text.
fn attribute_value(text: &str) -> Value {
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(text.to_owned()),
    }
}

#[component]
fn Details(ctx: Ctx, d: ContactDetails) -> impl IntoView {
    let card = d.contact.clone();
    let id = card.id;
    let name = RwSignal::new(card.name.clone());
    let notes = RwSignal::new(card.notes.clone());
    let attributes = card.attributes.as_object().cloned().unwrap_or_default();
    let rows = RwSignal::new(
        attributes
            .into_iter()
            .map(|(k, v)| {
                (RwSignal::new(k), RwSignal::new(v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            })
            .collect::<Vec<_>>(),
    );
    let status = RwSignal::new(None::<Result<&'static str, String>>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let attributes: Map<String, Value> = rows.with_untracked(|r| {
            r.iter()
                .filter(|(k, _)| !k.with_untracked(|k| k.trim().is_empty()))
                .map(|(k, v)| (k.get_untracked().trim().to_owned(), attribute_value(&v.get_untracked())))
                .collect()
        });
        let body =
            json!({ "name": name.get_untracked(), "notes": notes.get_untracked(), "attributes": attributes });
        spawn_local(async move {
            match http::patch::<ContactCard, _>(&format!("/contacts/{id}"), &body).await {
                Ok(_) => {
                    status.set(Some(Ok("Saved.")));
                    ctx.changed.update(|n| *n += 1);
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <div data-testid="contact-details">
            <h2 dir="auto">{card.name.clone()}</h2>
            <p class="hint"><Identities channels=ctx.channels identities=card.identities.clone() /></p>
            <form class="stack" on:submit=save>
                <label class="field">"Name" <input data-testid="contact-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                <label class="field">"Notes" <textarea rows="4" data-testid="contact-notes" prop:value=move || notes.get() on:input=move |ev| notes.set(event_target_value(&ev))></textarea></label>
                <fieldset>
                    <legend>"Attributes"</legend>
                    <For each=move || rows.get() key=|(k, _)| *k let:row>
                        <div>
                            <input aria-label="Attribute name" placeholder="Name" prop:value=move || row.0.get() on:input=move |ev| row.0.set(event_target_value(&ev)) />
                            <input aria-label="Attribute value" placeholder="Value" prop:value=move || row.1.get() on:input=move |ev| row.1.set(event_target_value(&ev)) />
                            <button type="button" class="link-button danger" on:click=move |_| rows.update(|r| r.retain(|x| x.0 != row.0))>"Remove"</button>
                        </div>
                    </For>
                    <button type="button" class="link-button" on:click=move |_| rows.update(|r| r.push((RwSignal::new(String::new()), RwSignal::new(String::new()))))>
                        "Add attribute"
                    </button>
                </fieldset>
                <button type="submit" data-testid="contact-save">"Save"</button>
                {move || status.get().map(|s| match s {
                    Ok(said) => view! { <span role="status">{said}</span> }.into_any(),
                    Err(e) => view! { <span class="form-error" role="alert">{e}</span> }.into_any(),
                })}
            </form>
            <h3>"Conversations"</h3>
            <ConversationLinks channels=ctx.channels list=d.conversations />
            <Merge ctx id name=card.name />
        </div>
    }
}

/// "Merge with…": another contact, searched for, confirmed, then folded into this one.
#[component]
fn Merge(ctx: Ctx, id: ContactId, name: String) -> impl IntoView {
    let name = StoredValue::new(name);
    let open = RwSignal::new(false);
    let text = RwSignal::new(String::new());
    let found = RwSignal::new(Vec::<ContactCard>::new());
    let chosen = RwSignal::new(None::<ContactCard>);
    let error = RwSignal::new(None::<String>);
    let asked = StoredValue::new(0u32);
    let search = move || {
        let n = asked.get_value();
        spawn_local(async move {
            let answer = find(&text.get_untracked(), 0, Some(id)).await;
            if asked.try_get_value() == Some(n) {
                match answer {
                    Ok(list) => found.set(list),
                    Err(e) => error.set(Some(e.message)),
                }
            }
        });
    };
    let merge = move |other: ContactId| {
        spawn_local(async move {
            match http::post::<ContactDetails, _>(
                &format!("/contacts/{id}/merge"),
                &json!({ "contact_id": other }),
            )
            .await
            {
                Ok(d) => {
                    ctx.shown.set(Some(d));
                    ctx.changed.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <Show
            when=move || open.get()
            fallback=move || view! { <button class="link-button" data-testid="merge-open" on:click=move |_| { open.set(true); search(); }>"Merge with…"</button> }
        >
            <div data-testid="merge">
                <input
                    class="search"
                    type="search"
                    placeholder="The other contact"
                    aria-label="Contact to merge"
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        text.set(event_target_value(&ev));
                        after_pause(asked, search);
                    }
                />
                <ul>
                    <For each=move || found.get() key=|c| c.id let:c>
                        <li><button class="link-button" on:click={
                            let c = c.clone();
                            move |_| chosen.set(Some(c.clone()))
                        }>{c.name.clone()}</button> " " <Identities channels=ctx.channels identities=c.identities.clone() /></li>
                    </For>
                </ul>
                {move || chosen.get().map(|other| {
                    let other_id = other.id;
                    view! {
                        <p role="alert">
                            {format!("Merge “{}” into “{}”? Their identities and conversations move here.", other.name, name.get_value())}
                            " "
                            <button data-testid="merge-confirm" on:click=move |_| merge(other_id)>"Merge"</button>
                            " "
                            <button class="link-button" on:click=move |_| chosen.set(None)>"Cancel"</button>
                        </p>
                    }
                })}
                <Show when=move || error.get().is_some()>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                </Show>
                <button class="link-button" on:click=move |_| open.set(false)>"Close"</button>
            </div>
        </Show>
    }
}

/// Writing first to someone: channel, their id there, a name and the first message; on a
/// channel with a reply window (WhatsApp's Cloud API) that message is an approved template.
#[component]
fn NewConversation(ctx: Ctx) -> impl IntoView {
    let channel = RwSignal::new(None::<ChannelId>);
    let to = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    // The channel chosen (the list's first until one is).
    let chosen = Memo::new(move |_| {
        ctx.channels.with(|l| {
            l.iter().find(|c| Some(c.id) == channel.get()).or(l.first()).map(|c| (c.id, c.provider))
        })
    });
    // Only a template reaches someone who has not written in the window.
    let templated =
        Memo::new(move |_| chosen.get().filter(|(_, p)| p.reply_window_secs().is_some()).map(|(id, _)| id));
    let choice = TemplateChoice::new();
    Effect::new(move |_| {
        if let Some(id) = templated.get() {
            choice.load(id);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some((channel_id, _)) = chosen.get_untracked() else { return };
        let template = untrack(move || choice.ready());
        if templated.get_untracked().is_some() && template.is_none() {
            return;
        }
        let name = name.get_untracked();
        let body = json!({
            "channel_id": channel_id,
            "to": to.get_untracked(),
            "name": (!name.trim().is_empty()).then_some(name),
            "text": if template.is_some() { String::new() } else { text.get_untracked() },
            "template": template,
            "client_message_id": uuid::Uuid::now_v7().to_string(),
        });
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match http::post::<Started, _>("/conversations/start", &body).await {
                Ok(s) => navigate(&format!("/inbox?c={}", s.conversation.id), Default::default()),
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.message));
                }
            }
        });
    };
    view! {
        <form class="stack" data-testid="new-conversation-form" on:submit=submit>
            <h2>"New conversation"</h2>
            <label class="field">
                "Channel"
                <select data-testid="start-channel" on:change=move |ev| channel.set(event_target_value(&ev).parse().ok().map(ChannelId))>
                    <For each=move || ctx.channels.get() key=|c| c.id let:c>
                        <option value=c.id.to_string()>{format!("{} ({})", c.name, c.provider.as_str())}</option>
                    </For>
                </select>
            </label>
            <label class="field">"To" <input required data-testid="start-to" placeholder="Phone number or id on the network" prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev)) /></label>
            <label class="field">"Name" <input data-testid="start-name" placeholder="Optional" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            <Show
                when=move || templated.get().is_some()
                fallback=move || view! {
                    <label class="field">"Message" <textarea required rows="3" data-testid="start-text" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea></label>
                }
            >
                <fieldset data-testid="start-template">
                    <legend>"Template"</legend>
                    <p class="hint">"This network lets a business write first with an approved template only."</p>
                    <TemplateFields choice />
                </fieldset>
            </Show>
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="start-error">{move || error.get()}</p>
            </Show>
            <div class="row-buttons">
                <button type="submit" disabled=move || busy.get() || (templated.get().is_some() && choice.preview().is_none())>
                    "Start conversation"
                </button>
                <button type="button" class="link-button" on:click=move |_| ctx.composing.set(false)>"Cancel"</button>
            </div>
        </form>
    }
}
