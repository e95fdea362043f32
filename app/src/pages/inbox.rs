//! The inbox: channel rail | conversation list | conversation. The open conversation is in the
//! address (`/inbox?c={id}`), so a reload or a shared link opens it again.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::{use_navigate, use_query_map};
use switchboard::message::ConversationSummary;
use switchboard::{Channel, ChannelStatus, ConversationId, Me, MemberRole};

use super::desk_list::{DeskFilters, RowTags, filter_label};
use super::thread::ThreadPane;
use crate::api::{Logout, inbox_start};
use crate::client::http;
use crate::client::realtime::Link;
use crate::inbox::state::{Filter, Inbox};

/// Loads the signed-in user; anyone else is sent to the sign-in page.
#[component]
pub fn InboxPage() -> impl IntoView {
    let start = Resource::new(|| (), |_| inbox_start());
    view! {
        <Title text="Inbox" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match start.await {
                    Ok((me, list)) => view! { <InboxShell me list /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The top bar shared by the signed-in pages: brand, workspace, navigation, user, sign-out.
#[component]
pub fn TopBar(me: Me) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    // The server answers with a redirect; follow it here too, like the sign-in page does.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            navigate("/login", Default::default());
        }
    });
    let workspace = me.current_or_first().map(|m| m.workspace.name.clone()).unwrap_or_default();
    let role = me.current_or_first().map(|m| m.role).unwrap_or(MemberRole::Agent);
    let admin = matches!(role, MemberRole::Owner | MemberRole::Admin);
    view! {
        <header class="topbar">
            <div class="brand">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " Switchboard"
            </div>
            <div class="workspace-name" data-testid="workspace-name">{workspace}</div>
            <nav class="top-nav" aria-label="Sections">
                <A href="/inbox">"Inbox"</A>
                <A href="/contacts">"Contacts"</A>
                <A href="/bot-sessions">"Bots"</A>
                <Show when=move || admin>
                    <A href="/flows">"Flows"</A>
                    <A href="/admin">"Admin"</A>
                    <A href="/moderation">"Moderation"</A>
                </Show>
                <A href="/account">"Account"</A>
            </nav>
            <super::search::SearchButton />
            <Invitations />
            <div class="user">
                <span class="user-name" data-testid="user-name">{me.user.name.clone()}</span>
                <span class="role-badge">{role.as_str()}</span>
                <ActionForm action=logout>
                    <button type="submit" class="link-button">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
    }
}

/// Invitations to the signed-in user's email, with Accept and Decline (browser only). Accepting
/// reloads the page, so the workspace list and the default follow.
#[component]
fn Invitations() -> impl IntoView {
    use switchboard::invitation::ReceivedInvitation;
    let list = RwSignal::new(Vec::<ReceivedInvitation>::new());
    let error = RwSignal::new(None::<String>);
    let reload = move || {
        leptos::task::spawn_local(async move {
            if let Ok(found) = http::get::<Vec<ReceivedInvitation>>("/me/invitations").await {
                list.set(found);
            }
        })
    };
    Effect::new(move |_| reload());
    let answer = move |id: switchboard::InvitationId, accept: bool| {
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = if accept {
                http::post::<switchboard::Membership, _>(&format!("/me/invitations/{id}/accept"), &())
                    .await
                    .map(|_| ())
            } else {
                http::post::<(), _>(&format!("/me/invitations/{id}/decline"), &()).await
            };
            match result {
                Ok(()) if accept => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().reload();
                    }
                }
                Ok(()) => reload(),
                Err(e) => {
                    error.set(Some(e.message));
                    reload();
                }
            }
        });
    };
    view! {
        <Show when=move || !list.with(Vec::is_empty) || error.get().is_some()>
            <div class="invitations" data-testid="my-invitations" role="status">
                <For each=move || list.get() key=|i| i.id let:i>
                    {
                        let id = i.id;
                        view! {
                            <span data-testid="my-invitation">
                                "Invited to " <strong>{i.workspace_name.clone()}</strong> " as " {i.role.as_str()}
                                {i.invited_by_name.clone().map(|n| format!(" by {n}"))} " "
                                <button class="link-button" on:click=move |_| answer(id, true)>"Accept"</button>
                                " "
                                <button class="link-button danger" on:click=move |_| answer(id, false)>"Decline"</button>
                            </span>
                        }
                    }
                </For>
                <Show when=move || error.get().is_some()>
                    <span class="form-error" role="alert">{move || error.get()}</span>
                </Show>
            </div>
        </Show>
    }
}

/// The three panes, fed by the inbox store.
#[component]
fn InboxShell(me: Me, list: Vec<ConversationSummary>) -> impl IntoView {
    let inbox = Inbox::new(&me);
    inbox.seed(list);
    provide_context(inbox);
    on_cleanup(move || inbox.stop());
    // On narrow screens the filters and channels are a panel opened from the list.
    let rail_open = RwSignal::new(false);
    let query = use_query_map();
    let selected = Memo::new(move |_| {
        query.with(|q| q.get("c").and_then(|c| c.parse::<uuid::Uuid>().ok()).map(ConversationId))
    });
    // Browser only: connect and follow the topics (loading the lists), then the open conversation.
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            inbox.start();
        }
        inbox.open(selected.get());
    });
    // Sends that waited for the connection go out once it is back (and at once, if it is).
    Effect::new(move |_| {
        if inbox.link.get() == Link::Online {
            inbox.flush();
        }
    });

    view! {
        <div class="app">
            <crate::inbox::notify::Alerts me=me.clone() />
            <TopBar me />
            <super::shortcuts::Shortcuts />
            <ConnectionBanner />
            <RelinkBanner />
            <main
                class="inbox"
                class:has-open=move || selected.get().is_some()
                class:rail-open=move || rail_open.get()
            >
                <ChannelRail rail_open />
                <ConversationList selected rail_open />
                <section class="pane conversation" aria-label="Conversation">
                    <Show
                        when=move || selected.get().is_some()
                        fallback=|| view! { <p class="empty centered">"Select a conversation to start."</p> }
                    >
                        <ThreadPane />
                    </Show>
                </section>
            </main>
            // New messages are read out to screen readers.
            <div class="visually-hidden" aria-live="polite" data-testid="announcer">
                {move || inbox.announcement.get()}
            </div>
        </div>
    }
}

/// "Reconnecting…" while the realtime link is down; gone once it is back and caught up.
#[component]
fn ConnectionBanner() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    view! {
        <Show when=move || inbox.link.get() == Link::Reconnecting>
            <div class="banner" role="status" data-testid="reconnecting">
                "Reconnecting… Messages will appear as soon as the connection is back."
            </div>
        </Show>
        <Show when=move || inbox.error.get().is_some()>
            <div class="banner error" role="alert">
                {move || inbox.error.get()}
                " "
                <button class="link-button" on:click=move |_| inbox.error.set(None)>"Dismiss"</button>
            </div>
        </Show>
    }
}

/// Whether a channel waits for its phone to be linked again (and not, say, for a gateway that is
/// still starting, which says so in other words).
fn needs_relink(channel: &Channel) -> bool {
    channel.status == ChannelStatus::PendingAuth
        && channel.last_error.as_deref() == Some(switchboard::channel::PHONE_UNLINKED)
}

/// Owners and admins: one banner per channel whose phone was unlinked, with the way to link it
/// again. It follows the channels' live status, so it comes and goes without a reload.
#[component]
fn RelinkBanner() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let admin = matches!(inbox.role, MemberRole::Owner | MemberRole::Admin);
    let unlinked = Memo::new(move |_| {
        inbox.channels.with(|list| {
            list.iter()
                .filter(|c| admin && needs_relink(c))
                .map(|c| (c.id, c.name.clone()))
                .collect::<Vec<_>>()
        })
    });
    view! {
        <For each=move || unlinked.get() key=|c| c.clone() let:c>
            <div class="banner" role="status" data-testid="relink-banner">
                {format!("{}: the phone was unlinked. ", c.1)}
                <a href=format!("/channels/{}/auth", c.0) data-testid="relink-link">"Link it again"</a>
            </div>
        </For>
    }
}

fn status_label(status: ChannelStatus) -> &'static str {
    match status {
        ChannelStatus::Connected => "Connected",
        ChannelStatus::Degraded => "Degraded",
        ChannelStatus::Failed => "Failed",
        ChannelStatus::PendingAuth => "Signing in",
        ChannelStatus::Disconnected => "Disconnected",
    }
}

/// Channels with their live status, and the list's filters.
#[component]
fn ChannelRail(rail_open: RwSignal<bool>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let filter_button = move |label: &'static str, value: Filter| {
        view! {
            <button
                class="filter"
                class:active=move || inbox.filter.get() == value
                aria-pressed=move || (inbox.filter.get() == value).to_string()
                on:click=move |_| inbox.filter.set(value)
            >
                {label}
            </button>
        }
    };
    view! {
        <nav class="pane channel-rail" id="channel-rail" aria-label="Channels">
            <button class="rail-close" on:click=move |_| rail_open.set(false)>"Done"</button>
            <h2>"Filters"</h2>
            <div class="filters">{filter_button("All", Filter::All)} {filter_button("Unread", Filter::Unread)}</div>
            <DeskFilters />
            <crate::inbox::notify::EnableButton />
            <h2>"Channels"</h2>
            <Show
                when=move || inbox.channels.with(|c| !c.is_empty())
                fallback=|| view! { <p class="empty">"No channels connected yet."</p> }
            >
                <ul class="channels">
                    <For
                        each=move || inbox.channels.get()
                        key=|c| (c.id, c.status, c.last_error.clone(), c.name.clone())
                        let:channel
                    >
                        {
                            let id = channel.id;
                            let status = channel.status;
                            view! {
                                <li>
                                    <button
                                        class="channel"
                                        class:active=move || inbox.filter.get() == Filter::Channel(id)
                                        data-testid="channel"
                                        title=channel.last_error.clone().unwrap_or_default()
                                        on:click=move |_| {
                                            inbox.filter.update(|f| {
                                                *f = if *f == Filter::Channel(id) { Filter::All } else { Filter::Channel(id) }
                                            })
                                        }
                                    >
                                        <span class=format!("dot {}", status.as_str()) aria-hidden="true"></span>
                                        <span class="channel-name">{channel.name.clone()}</span>
                                        <span class="channel-kind">{channel.provider.as_str()}</span>
                                        <span class="channel-status" data-testid="channel-status">{status_label(status)}</span>
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
        </nav>
    }
}

/// "14:05" today, "Mon" this week, else "21/11".
pub fn short_time(at: chrono::DateTime<chrono::Utc>) -> String {
    let local = at.with_timezone(&chrono::Local);
    let now = chrono::Local::now();
    let days = (now.date_naive() - local.date_naive()).num_days();
    match days {
        0 => local.format("%H:%M").to_string(),
        1..=6 => local.format("%a").to_string(),
        _ => local.format("%d/%m/%y").to_string(),
    }
}

/// What the list says when it shows nothing: still loading, nothing matches what the search or
/// a filter asks for, or nothing at all yet.
fn empty_list_text(inbox: Inbox) -> String {
    if !inbox.loaded.get() {
        return "Loading conversations…".into();
    }
    let search = inbox.search.get();
    let search = search.trim();
    if !search.is_empty() {
        return format!("No conversations match “{search}”.");
    }
    match inbox.filter.get() {
        Filter::Unread => "No unread conversations.".into(),
        Filter::Channel(_) if inbox.desk.narrowed() => {
            "No conversations in this channel match the filters.".into()
        }
        Filter::Channel(_) => "No conversations in this channel yet.".into(),
        Filter::All if inbox.conversations.with(|l| !l.is_empty()) => {
            "No conversations match the filters.".into()
        }
        Filter::All => "No conversations yet.".into(),
    }
}

/// Conversations by last activity, with search.
#[component]
fn ConversationList(selected: Memo<Option<ConversationId>>, rail_open: RwSignal<bool>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    // Filtered once per change, for both the empty state and the list.
    let visible = Memo::new(move |_| inbox.visible(selected.get()));
    // Arriving with no conversation open (just signed in): the keyboard starts at the search.
    let search = NodeRef::<leptos::html::Input>::new();
    // On the next frame: a page shown by client-side navigation is built off the document and
    // attached after its effects run, and a detached field cannot take focus.
    Effect::new(move |_| {
        if selected.get_untracked().is_none() {
            request_animation_frame(move || {
                if let Some(field) = search.get_untracked() {
                    let _ = field.focus();
                }
            });
        }
    });
    view! {
        <section class="pane conversation-list" aria-label="Conversations">
            <div class="list-head">
                <h2>"Conversations"</h2>
                // Narrow screens only (CSS): the rail's filters and channel status.
                <button
                    class="rail-toggle"
                    aria-controls="channel-rail"
                    aria-expanded=move || rail_open.get().to_string()
                    on:click=move |_| rail_open.update(|open| *open = !*open)
                >
                    {move || filter_label(inbox)}
                </button>
            </div>
            <input
                class="search"
                type="search"
                placeholder="Search by name"
                aria-label="Search conversations"
                node_ref=search
                prop:value=move || inbox.search.get()
                on:input=move |ev| inbox.search.set(event_target_value(&ev))
            />
            <Show
                when=move || visible.with(|v| !v.is_empty())
                fallback=move || {
                    view! {
                        <p class="empty">
                            {move || empty_list_text(inbox)}
                        </p>
                    }
                }
            >
                <ul class="conversations" data-testid="conversations">
                    <For
                        each=move || visible.get()
                        key=|c| {
                            let conv = &c.conversation;
                            (conv.id, c.unread_count, c.unread_mentions, conv.last_message_at, conv.last_message_preview.clone(), conv.title.clone(), conv.last_message_sender_user_id, conv.status, conv.assignee_id, conv.label_ids.clone())
                        }
                        let:c
                    >
                        {
                            let id = c.conversation.id;
                            let unread = c.unread_count;
                            let mentioned = c.unread_mentions != 0;
                            let time = c.conversation.last_message_at.map(short_time).unwrap_or_default();
                            // The channels may load after the list (the list is rendered on the server).
                            let channel_id = c.conversation.channel_id;
                            let badge = move || {
                                inbox.channels.with(|list| {
                                    list.iter().find(|ch| ch.id == channel_id).map(|ch| ch.name.clone()).unwrap_or_default()
                                })
                            };
                            // "You: …" or "Alice Martin: …" before a reply from the team.
                            let sender = c.conversation.last_message_sender_user_id;
                            let title = c.conversation.title.clone();
                            let prefix = move || {
                                sender.map(|s| format!("{}: ", inbox.author(Some(s), &title))).unwrap_or_default()
                            };
                            view! {
                                <li>
                                    // A plain link (the router still navigates in place): only the
                                    // open conversation is the current page.
                                    <a
                                        href=format!("/inbox?c={id}")
                                        class=move || {
                                            if selected.get() == Some(id) { "conversation-item active" } else { "conversation-item" }
                                        }
                                        aria-current=move || (selected.get() == Some(id)).then_some("page")
                                        data-testid="conversation-item"
                                    >
                                        <span class="avatar" aria-hidden="true">
                                            {c.conversation.title.chars().next().unwrap_or('?').to_string()}
                                        </span>
                                        <span class="item-main">
                                            <span class="item-top">
                                                <span class="title" dir="auto">{c.conversation.title.clone()}</span>
                                                <span class="time">{time}</span>
                                            </span>
                                            <span class="item-bottom">
                                                <span class="preview" dir="auto" data-testid="preview">
                                                    <span class="preview-author">{prefix}</span>
                                                    {c.conversation.last_message_preview.clone().unwrap_or_default()}
                                                </span>
                                                <Show when=move || unread != 0>
                                                    <span class="unread" data-testid="unread" aria-label=format!("{unread} unread")>
                                                        {unread.to_string()}
                                                    </span>
                                                </Show>
                                                // A message or note that mentions this user, not read yet.
                                                {mentioned.then(|| view! {
                                                    <span class="unread" data-testid="mention-marker" title="You were mentioned">
                                                        <span aria-hidden="true">"@"</span>
                                                        <span class="visually-hidden">"You were mentioned"</span>
                                                    </span>
                                                })}
                                            </span>
                                            <span class="channel-badge">{badge}</span>
                                            <RowTags labels=c.conversation.label_ids.clone() status=c.conversation.status assignee=c.conversation.assignee_id />
                                        </span>
                                    </a>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
        </section>
    }
}
