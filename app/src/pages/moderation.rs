//! The moderation page (owners and admins): the queue of flags, each with its message in
//! context and what to do about it (dismiss, delete the message, ban its author); the bans in
//! force, to lift; the workspace's blocklist; and the record of every moderation action. The
//! rules themselves, and who may do what: `docs/chat.md`, "Moderation".
//!
//! Everything is fetched from the browser once hydrated; after any action the queue, the bans
//! and the record load again (they have no realtime event), so what is shown is what was done.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde_json::json;
use switchboard::moderation::{
    Ban, BlockAction, BlockedWord, Flag, FlagInContext, FlagStatus, ModerationAction,
};
use switchboard::{BanId, ConversationId, Me, Message, UserId};

use super::admin::confirm;
use super::inbox::TopBar;
use crate::api::current_user;
use crate::client::http::{self, ApiError};

/// What a non-admin reads here (the API answers them 403 too).
const REFUSED: &str = "Only owners and admins moderate this workspace.";
/// The queue's tabs: the API's `status` and its label.
const TABS: [(&str, &str); 4] =
    [("open", "Open"), ("dismissed", "Dismissed"), ("actioned", "Actioned"), ("all", "All")];
/// How long a ban from the queue lasts: seconds (none: for good) and words.
const DURATIONS: [(Option<u64>, &str); 4] =
    [(Some(3_600), "1 hour"), (Some(86_400), "1 day"), (Some(7 * 86_400), "1 week"), (None, "For good")];

#[component]
pub fn ModerationPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Moderation" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <ModerationShell me /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ModerationShell(me: Me) -> impl IntoView {
    let membership = me.current_or_first();
    http::act_in(membership.map(|m| m.workspace.id));
    let ctx = Ctx {
        people: RwSignal::new(HashMap::new()),
        rooms: RwSignal::new(HashMap::new()),
        changed: RwSignal::new(0),
        refused: RwSignal::new(!membership.is_some_and(|m| m.role.is_admin())),
    };
    let refusal = || {
        view! {
            <section class="card wide" aria-labelledby="moderation-heading">
                <h1 id="moderation-heading">"Moderation"</h1>
                <p class="form-error" role="alert" data-testid="moderation-refused">{REFUSED}</p>
            </section>
        }
    };
    view! {
        <div class="app">
            <TopBar me />
            <main class="admin">
                <Show when=move || !ctx.refused.get() fallback=refusal>
                    <Names ctx />
                    <Queue ctx />
                    <Bans ctx />
                    <Blocklist ctx />
                    <Record ctx />
                </Show>
            </main>
        </div>
    }
}

/// What the sections share: names to show for ids, and the signal that reloads them.
#[derive(Clone, Copy)]
struct Ctx {
    /// The workspace's people by id.
    people: RwSignal<HashMap<UserId, String>>,
    /// The rooms' titles by id.
    rooms: RwSignal<HashMap<ConversationId, String>>,
    /// Bumped after every action: the queue, the bans and the record load again.
    changed: RwSignal<u32>,
    /// The API refused the caller (403): the page says so instead.
    refused: RwSignal<bool>,
}

impl Ctx {
    /// A person's name; `none` names who an absent id stands for.
    fn person(self, id: Option<UserId>, none: &str) -> String {
        match id {
            None => none.to_owned(),
            // People the members list lacks: app users, or someone since removed.
            Some(id) => self.people.with(|p| p.get(&id).cloned()).unwrap_or_else(|| "Someone".to_owned()),
        }
    }

    /// Where: a room's title, or every room when none is named.
    fn room(self, id: Option<ConversationId>) -> String {
        match id {
            None => "every room".to_owned(),
            Some(id) => self.rooms.with(|r| r.get(&id).cloned()).unwrap_or_else(|| "a room".to_owned()),
        }
    }

    /// Something was done: what depends on it loads again.
    fn acted(self) {
        self.changed.try_update(|n| *n += 1);
    }

    /// Shows a refusal in `error`, or the whole page's refusal for a 403.
    fn fail(self, e: ApiError, error: RwSignal<Option<String>>) {
        if e.status == 403 {
            self.refused.try_set(true);
        } else {
            error.try_set(Some(e.message));
        }
    }
}

/// Loads the names the other sections show (browser only; renders nothing).
#[component]
fn Names(ctx: Ctx) -> impl IntoView {
    /// A room as the conversation list gives it: only what is shown here.
    #[derive(serde::Deserialize)]
    struct Room {
        id: ConversationId,
        title: String,
    }
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(members) = http::get::<Vec<switchboard::WorkspaceMember>>("/members").await {
                ctx.people.try_set(members.into_iter().map(|m| (m.user_id, m.name)).collect());
            }
            if let Ok(rooms) = http::get::<Vec<Room>>("/conversations").await {
                ctx.rooms.try_set(rooms.into_iter().map(|r| (r.id, r.title)).collect());
            }
        });
    });
}

#[component]
fn Queue(ctx: Ctx) -> impl IntoView {
    let status = RwSignal::new("open");
    let flags = RwSignal::new(None::<Vec<FlagInContext>>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let wanted = status.get();
        ctx.changed.track();
        spawn_local(async move {
            match http::get::<Vec<FlagInContext>>(&format!("/moderation/flags?status={wanted}")).await {
                // An answer for a tab left meanwhile is dropped.
                Ok(list) if status.try_get_untracked() == Some(wanted) => {
                    flags.try_set(Some(list));
                }
                Ok(_) => {}
                Err(e) => ctx.fail(e, error),
            }
        });
    });
    view! {
        <section class="card wide" aria-labelledby="queue-heading" data-testid="moderation-queue">
            <h1 id="queue-heading">"Moderation queue"</h1>
            <div class="filters" role="group" aria-label="Which flags">
                {TABS
                    .into_iter()
                    .map(|(value, label)| view! {
                        <button type="button" class="filter" class:active=move || status.get() == value
                            aria-pressed=move || (status.get() == value).to_string()
                            on:click=move |_| {
                                if status.get_untracked() != value {
                                    flags.set(None);
                                    status.set(value);
                                }
                            }>
                            {label}
                        </button>
                    })
                    .collect_view()}
            </div>
            <ul class="webhook-list" aria-labelledby="queue-heading">
                <For each=move || flags.get().unwrap_or_default() key=|f| (f.flag.id, f.flag.status) let:item>
                    <FlagCard ctx item error />
                </For>
            </ul>
            {move || match flags.with(|f| f.as_ref().map(Vec::is_empty)) {
                None => Some(view! { <p class="muted">"Loading flags…"</p> }),
                Some(true) => Some(view! { <p class="empty" data-testid="queue-empty">"No flags here."</p> }),
                Some(false) => None,
            }}
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="queue-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

/// One flag: why, by whom, the message in context, and (while open) what to do.
#[component]
fn FlagCard(ctx: Ctx, item: FlagInContext, error: RwSignal<Option<String>>) -> impl IntoView {
    let FlagInContext { flag, context } = item;
    let Flag { id, message_id, target_user_id: target, flagged_by, status, .. } = flag;
    let (banning, busy) = (RwSignal::new(false), RwSignal::new(false));
    let (duration, shadow) = (RwSignal::new(DURATIONS[0].0), RwSignal::new(false));
    let duration_field = NodeRef::<leptos::html::Select>::new();
    // The form opens with its first field focused, for the keyboard.
    Effect::new(move |_| {
        if let Some(field) = duration_field.get() {
            let _ = field.focus();
        }
    });
    let resolve = move |body: serde_json::Value| {
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let answer = http::post::<Flag, _>(&format!("/moderation/flags/{id}/resolve"), &body).await;
            if let Err(e) = answer {
                busy.try_set(false);
                ctx.fail(e, error);
            }
            // Also after a refusal: another moderator may have handled it meanwhile.
            ctx.acted();
        });
    };
    let delete = move |_| {
        if confirm("Delete this message for everyone? This cannot be undone.") {
            resolve(json!({ "action": "delete_message" }));
        }
    };
    let ban = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({ "action": "ban", "shadow": shadow.get_untracked(), "duration_secs": duration.get_untracked() });
        resolve(body);
    };
    view! {
        <li class="webhook" data-testid="flag" data-status=status.as_str()>
            <div class="webhook-head">
                <strong data-testid="flag-reason">{flag.reason.clone()}</strong>
                <span class="muted">
                    "Flagged by " {move || ctx.person(flagged_by, "the blocklist")} " · " {local(flag.created_at)}
                </span>
            </div>
            <p class="muted">
                {move || match target {
                    Some(_) => format!("About {}", ctx.person(target, "")),
                    None => "About a message".to_owned(),
                }}
                {move || flag.conversation_id.map(|c| format!(" in {}", ctx.room(Some(c))))}
            </p>
            {(!context.is_empty()).then(|| view! {
                <ol class="webhook-list" aria-label="The message in context">
                    {context
                        .into_iter()
                        .map(|m| {
                            let flagged = Some(m.id) == message_id;
                            view! { <ContextMessage ctx message=m flagged /> }
                        })
                        .collect_view()}
                </ol>
            })}
            {flag.resolved_at.map(|at| view! {
                <p class="muted" data-testid="flag-outcome">
                    {if status == FlagStatus::Dismissed { "Dismissed by " } else { "Acted on by " }}
                    {move || ctx.person(flag.resolved_by, "Someone")} " · " {local(at)}
                </p>
            })}
            <Show when=move || status == FlagStatus::Open>
                <div class="actions">
                    <button type="button" class="link-button" disabled=move || busy.get()
                        on:click=move |_| resolve(json!({ "action": "dismiss" }))>
                        "Dismiss"
                    </button>
                    {message_id.map(|_| view! {
                        <button type="button" class="link-button danger" disabled=move || busy.get() on:click=delete>
                            "Delete message"
                        </button>
                    })}
                    {target.map(|_| view! {
                        <button type="button" class="link-button danger" disabled=move || busy.get()
                            aria-expanded=move || banning.get().to_string()
                            on:click=move |_| banning.update(|b| *b = !*b)>
                            "Ban"
                        </button>
                    })}
                </div>
                <Show when=move || banning.get()>
                    <form class="inline-form" aria-label="Ban the author" on:submit=ban
                        on:keydown=move |ev| {
                            if ev.key() == "Escape" {
                                banning.set(false);
                            }
                        }>
                        <select aria-label="Ban for how long" node_ref=duration_field on:change=move |ev| {
                            let chosen = event_target_value(&ev);
                            duration.set(DURATIONS.iter().find(|(_, l)| *l == chosen).and_then(|(d, _)| *d));
                        }>
                            {DURATIONS
                                .into_iter()
                                .map(|(d, label)| view! { <option value=label selected=move || duration.get() == d>{label}</option> })
                                .collect_view()}
                        </select>
                        <label class="check">
                            <input type="checkbox" prop:checked=move || shadow.get()
                                on:change=move |ev| shadow.set(event_target_checked(&ev)) />
                            " Shadow ban (they still post; only they see it)"
                        </label>
                        <button type="submit" class="primary" disabled=move || busy.get()>"Confirm ban"</button>
                        <button type="button" class="link-button" on:click=move |_| banning.set(false)>"Cancel"</button>
                    </form>
                </Show>
            </Show>
        </li>
    }
}

/// A message of a flag's context: the flagged one stands out, those before it are dimmed. Its
/// text is plain text, never markup.
#[component]
fn ContextMessage(ctx: Ctx, message: Message, flagged: bool) -> impl IntoView {
    let Message { sender_user_id, sender_name, direction, text, deleted_at, attachments, created_at, .. } =
        message;
    let author = move || match (sender_user_id, &sender_name) {
        (Some(_), _) => ctx.person(sender_user_id, ""),
        (None, Some(name)) => name.clone(),
        (None, None) if direction == switchboard::provider::Direction::Inbound => "The contact".to_owned(),
        (None, None) => "Someone".to_owned(),
    };
    let (text, deleted) = match deleted_at {
        Some(_) => ("This message was deleted.".to_owned(), true),
        None if text.is_empty() && !attachments.is_empty() => ("(an attachment)".to_owned(), false),
        None => (text, false),
    };
    view! {
        // Existing classes only (the stylesheet's budget): the flagged one on the banners' tint.
        <li class=if flagged { "banner" } else { "muted" }
            data-testid=if flagged { "flagged-message" } else { "context-message" }>
            {flagged.then(|| view! { <span class="visually-hidden">"Flagged: "</span> })}
            <strong>{author}</strong>
            <span class="muted">" · " {local(created_at)}</span>
            <p class="text" class:deleted=deleted data-testid="context-text">{text}</p>
        </li>
    }
}

#[component]
fn Bans(ctx: Ctx) -> impl IntoView {
    let bans = RwSignal::new(None::<Vec<Ban>>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        ctx.changed.track();
        spawn_local(async move {
            match http::get::<Vec<Ban>>("/moderation/bans").await {
                Ok(list) => {
                    bans.try_set(Some(list));
                }
                Err(e) => ctx.fail(e, error),
            }
        });
    });
    let lift = move |id: BanId| {
        error.set(None);
        spawn_local(async move {
            if let Err(e) = http::delete::<Ban>(&format!("/moderation/bans/{id}")).await {
                ctx.fail(e, error);
            }
            ctx.acted();
        });
    };
    view! {
        <section class="card wide" aria-labelledby="bans-heading" data-testid="bans">
            <h1 id="bans-heading">"Bans in force"</h1>
            <table class="table">
                <thead>
                    <tr>
                        <th>"Who"</th><th>"Where"</th><th>"Kind"</th><th>"Until"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || bans.get().unwrap_or_default() key=|b| b.id let:b>
                        {
                            let (id, user, room) = (b.id, b.user_id, b.conversation_id);
                            view! {
                                <tr data-testid="ban">
                                    <td>{move || ctx.person(Some(user), "")}</td>
                                    <td>{move || ctx.room(room)}</td>
                                    <td>{if b.shadow { "shadow ban" } else { "ban" }}</td>
                                    <td class="muted">{b.expires_at.map(local).unwrap_or_else(|| "for good".to_owned())}</td>
                                    <td>
                                        <button type="button" class="link-button"
                                            aria-label=move || format!("Lift the ban on {}", ctx.person(Some(user), ""))
                                            on:click=move |_| lift(id)>
                                            "Lift"
                                        </button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            {move || match bans.with(|b| b.as_ref().map(Vec::is_empty)) {
                None => Some(view! { <p class="muted">"Loading bans…"</p> }),
                Some(true) => Some(view! { <p class="empty">"No bans in force."</p> }),
                Some(false) => None,
            }}
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="bans-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

#[component]
fn Blocklist(ctx: Ctx) -> impl IntoView {
    let words = RwSignal::new(None::<Vec<BlockedWord>>);
    let error = RwSignal::new(None::<String>);
    // Changes not saved yet, and the last save's outcome.
    let (dirty, saved) = (RwSignal::new(false), RwSignal::new(false));
    let (word, action) = (RwSignal::new(String::new()), RwSignal::new(BlockAction::Block));
    Effect::new(move |_| {
        spawn_local(async move {
            match http::get::<Vec<BlockedWord>>("/moderation/blocklist").await {
                Ok(list) => {
                    words.try_set(Some(list));
                }
                Err(e) => ctx.fail(e, error),
            }
        });
    });
    let edit = move |change: &dyn Fn(&mut Vec<BlockedWord>)| {
        words.update(|w| change(w.get_or_insert_with(Vec::new)));
        dirty.set(true);
        saved.set(false);
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = word.get_untracked().trim().to_owned();
        if new.is_empty() {
            return;
        }
        let new = BlockedWord { word: new, action: action.get_untracked() };
        edit(&|w| {
            w.retain(|b| !b.word.eq_ignore_ascii_case(&new.word));
            w.push(new.clone());
        });
        word.set(String::new());
    };
    let save = move |_| {
        error.set(None);
        let list = words.get_untracked().unwrap_or_default();
        spawn_local(async move {
            match put_blocklist(&list).await {
                Ok(folded) => {
                    words.try_set(Some(folded));
                    dirty.try_set(false);
                    saved.try_set(true);
                    ctx.acted();
                }
                Err(e) => ctx.fail(e, error),
            }
        });
    };
    view! {
        <section class="card wide" aria-labelledby="blocklist-heading" data-testid="blocklist">
            <h1 id="blocklist-heading">"Blocklist"</h1>
            <p class="muted">
                "Words and phrases matched whole, whatever their case or accents. "
                "Block refuses the message; flag lets it through and puts it in the queue."
            </p>
            <table class="table">
                <thead>
                    <tr><th>"Word"</th><th>"Action"</th><th><span class="visually-hidden">"Actions"</span></th></tr>
                </thead>
                <tbody>
                    <For each=move || words.get().unwrap_or_default() key=|w| (w.word.clone(), w.action.as_str()) let:w>
                        {
                            let gone = w.word.clone();
                            view! {
                                <tr data-testid="blocked-word">
                                    <td>{w.word.clone()}</td>
                                    <td>{w.action.as_str()}</td>
                                    <td>
                                        <button type="button" class="link-button danger"
                                            aria-label=format!("Remove {}", w.word)
                                            on:click=move |_| edit(&|list| list.retain(|b| b.word != gone))>
                                            "Remove"
                                        </button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            {move || match words.with(|w| w.as_ref().map(Vec::is_empty)) {
                None => Some(view! { <p class="muted">"Loading the blocklist…"</p> }),
                Some(true) => Some(view! { <p class="empty">"No words yet."</p> }),
                Some(false) => None,
            }}
            <form class="inline-form" on:submit=add aria-label="Add a word">
                <input placeholder="Word or phrase" aria-label="Word or phrase" required maxlength="500"
                    prop:value=move || word.get() on:input=move |ev| word.set(event_target_value(&ev)) />
                <select aria-label="What to do with it" on:change=move |ev| {
                    action.set(if event_target_value(&ev) == "flag" { BlockAction::Flag } else { BlockAction::Block });
                }>
                    <option value="block" selected=move || action.get() == BlockAction::Block>"Block"</option>
                    <option value="flag" selected=move || action.get() == BlockAction::Flag>"Flag"</option>
                </select>
                <button type="submit">"Add word"</button>
                <button type="button" class="primary" disabled=move || !dirty.get() on:click=save>"Save blocklist"</button>
            </form>
            <p class="muted" role="status">
                {move || if dirty.get() { "Unsaved changes." } else if saved.get() { "Saved." } else { "" }}
            </p>
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="blocklist-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

#[component]
fn Record(ctx: Ctx) -> impl IntoView {
    let actions = RwSignal::new(None::<Vec<ModerationAction>>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        ctx.changed.track();
        spawn_local(async move {
            match http::get::<Vec<ModerationAction>>("/moderation/actions").await {
                Ok(list) => {
                    actions.try_set(Some(list));
                }
                Err(e) => ctx.fail(e, error),
            }
        });
    });
    view! {
        <section class="card wide" aria-labelledby="record-heading" data-testid="moderation-record">
            <h1 id="record-heading">"Record"</h1>
            <table class="table">
                <thead>
                    <tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Detail"</th></tr>
                </thead>
                <tbody>
                    {move || {
                        actions
                            .get()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|a| view! {
                                <tr data-testid="moderation-action" data-action=a.action.clone()>
                                    <td class="muted">{local(a.created_at)}</td>
                                    <td>{ctx.person(a.actor_id, "The blocklist")}</td>
                                    <td>{what(ctx, &a)}</td>
                                    <td class="muted">{detail(&a.detail)}</td>
                                </tr>
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            {move || match actions.with(|a| a.as_ref().map(Vec::is_empty)) {
                None => Some(view! { <p class="muted">"Loading the record…"</p> }),
                Some(true) => Some(view! { <p class="empty">"Nothing done yet."</p> }),
                Some(false) => None,
            }}
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="record-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

/// An action in words: "Banned Bob Chen in Support", "Dismissed a flag".
fn what(ctx: Ctx, a: &ModerationAction) -> String {
    let whom = || ctx.person(a.target_user_id, "someone");
    let said = match a.action.as_str() {
        "ban" => format!("Banned {}", whom()),
        "unban" => "Lifted a ban".to_owned(),
        "flag" if a.message_id.is_some() => format!("Flagged a message by {}", whom()),
        "flag" => format!("Flagged {}", whom()),
        "dismiss" => "Dismissed a flag".to_owned(),
        "delete_message" => format!("Deleted a message by {}", whom()),
        "freeze" => "Froze a room".to_owned(),
        "unfreeze" => "Unfroze a room".to_owned(),
        "slow_mode" => "Changed a room's slow mode".to_owned(),
        "blocklist" => "Changed the blocklist".to_owned(),
        other => other.replace('_', " "),
    };
    match (a.action.as_str(), a.conversation_id) {
        ("blocklist" | "unban", _) | (_, None) => said,
        (_, room) => format!("{said} in {}", ctx.room(room)),
    }
}

/// The recorded detail, with the queue's own notes ("flag ban") in words.
fn detail(raw: &str) -> String {
    match raw.strip_prefix("flag ") {
        Some("dismiss" | "delete_message" | "ban") => "from the queue".to_owned(),
        _ => raw.to_owned(),
    }
}

/// A time in the reader's own time zone.
fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string()
}

/// `PUT /moderation/blocklist` with the whole list; the list as stored (folded) comes back.
/// [`http::put`] sends no body, so the request is built here.
async fn put_blocklist(words: &[BlockedWord]) -> Result<Vec<BlockedWord>, ApiError> {
    use gloo_net::http::Request;
    #[derive(serde::Deserialize)]
    struct Refused {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: String,
    }
    let unreachable = |_| ApiError {
        status: 0,
        message: "Could not reach the server. Check your connection and try again.".to_owned(),
    };
    let mut request = Request::put("/api/v1/moderation/blocklist");
    if let Some(workspace) = http::workspace() {
        request = request.header("X-Workspace-Id", &workspace.to_string());
    }
    let response =
        request.json(&json!({ "words": words })).map_err(unreachable)?.send().await.map_err(unreachable)?;
    let status = response.status();
    if response.ok() {
        return response.json().await.map_err(|e| ApiError { status, message: e.to_string() });
    }
    let message = match response.json::<Refused>().await {
        Ok(Refused { error }) => error.message,
        Err(_) => format!("The server answered {status}."),
    };
    Err(ApiError { status, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_notes_read_as_words() {
        assert_eq!(detail("flag ban"), "from the queue");
        assert_eq!(detail("flag dismiss"), "from the queue");
        assert_eq!(detail("ban until 2026-12-04 10:00:00 UTC"), "ban until 2026-12-04 10:00:00 UTC");
        assert_eq!(detail("rude"), "rude");
    }
}
