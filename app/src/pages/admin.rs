//! Administration (owners and admins): the workspace's members and roles, invitations (send,
//! copy the link, revoke), its labels and canned replies (see [`super::labels`] and
//! [`super::canned`]), its API keys (see [`super::api_keys`]), its outgoing webhooks (see
//! [`super::webhooks`]), and its channels with their live status.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::use_navigate;
use serde_json::json;
use switchboard::channel::{HistoryImport, HistoryImportState};
use switchboard::invitation::{Invitation, InvitationSent};
use switchboard::provider::ProviderInfo;
use switchboard::{
    Channel, ChannelId, ChannelStatus, InvitationId, Me, MemberRole, ProviderKind, UserId, WorkspaceMember,
};

use super::api_keys::ApiKeys;
use super::canned::CannedReplies;
use super::inbox::TopBar;
use super::labels::Labels;
use super::webhook::WebhookSetupView;
use super::webhooks::Webhooks;
use crate::api::current_user;
use crate::client::http;
use crate::inbox::state::Inbox;

#[component]
pub fn AdminPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Admin" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) if me.current_or_first().is_some_and(|m| m.role.is_admin()) => {
                        view! { <AdminShell me /> }.into_any()
                    }
                    Ok(_) => view! { <Redirect path="/inbox" /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AdminShell(me: Me) -> impl IntoView {
    let inbox = Inbox::new(&me);
    provide_context(inbox);
    Effect::new(move |_| inbox.start());
    on_cleanup(move || inbox.stop());
    let my_role = inbox.role;
    view! {
        <div class="app">
            <TopBar me />
            <main class="admin">
                <Members my_role />
                <Labels />
                <CannedReplies />
                <ApiKeys />
                <Webhooks />
                <Channels />
            </main>
        </div>
    }
}

fn role_options(mine: MemberRole) -> Vec<MemberRole> {
    // Only an owner makes owners.
    match mine {
        MemberRole::Owner => vec![MemberRole::Owner, MemberRole::Admin, MemberRole::Agent],
        _ => vec![MemberRole::Admin, MemberRole::Agent],
    }
}

#[component]
fn Members(my_role: MemberRole) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let members = RwSignal::new(Vec::<WorkspaceMember>::new());
    let error = RwSignal::new(None::<String>);
    let invitations = RwSignal::new(Vec::<Invitation>::new());
    // The link of the invitation just sent: shown once, to pass on.
    let sent = RwSignal::new(None::<(String, String)>);
    let (email, role) = (RwSignal::new(String::new()), RwSignal::new(MemberRole::Agent));
    let reload = move || {
        spawn_local(async move {
            match http::get::<Vec<WorkspaceMember>>("/members").await {
                Ok(list) => members.set(list),
                Err(e) => error.set(Some(e.message)),
            }
            match http::get::<Vec<Invitation>>("/invitations").await {
                Ok(list) => invitations.set(list),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    Effect::new(move |_| reload());
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        sent.set(None);
        let body = json!({ "email": email.get_untracked().trim(), "role": role.get_untracked() });
        spawn_local(async move {
            match http::post::<InvitationSent, _>("/members", &body).await {
                Ok(answer) => {
                    email.set(String::new());
                    sent.set(Some((answer.invitation.email, answer.invitation.link)));
                    reload();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let revoke = move |id: InvitationId| {
        error.set(None);
        spawn_local(async move {
            if let Err(e) = http::delete::<()>(&format!("/invitations/{id}")).await {
                error.set(Some(e.message));
            }
            reload();
        });
    };
    // `shown` is what the row's control shows: back to the stored role when refused.
    let change_role = move |user: UserId,
                            stored: MemberRole,
                            new_role: MemberRole,
                            shown: RwSignal<MemberRole>| {
        error.set(None);
        shown.set(new_role);
        spawn_local(async move {
            if let Err(e) =
                http::patch::<WorkspaceMember, _>(&format!("/members/{user}"), &json!({ "role": new_role }))
                    .await
            {
                shown.set(stored);
                error.set(Some(e.message));
            }
            reload();
        });
    };
    let remove = move |user: UserId, name: String| {
        if !confirm(&format!("Remove {name} from the workspace? They lose access at once.")) {
            return;
        }
        error.set(None);
        spawn_local(async move {
            if let Err(e) = http::delete::<()>(&format!("/members/{user}")).await {
                error.set(Some(e.message));
            }
            reload();
        });
    };
    view! {
        <section class="card wide" aria-labelledby="members-heading">
            <h1 id="members-heading">"Members"</h1>
            <table class="table" data-testid="members">
                <thead>
                    <tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Online"</th><th></th></tr>
                </thead>
                <tbody>
                    <For each=move || members.get() key=|m| (m.user_id, m.role) let:m>
                        {
                            let user = m.user_id;
                            let current = m.role;
                            let shown = RwSignal::new(current);
                            let editable = my_role == MemberRole::Owner || current != MemberRole::Owner;
                            // One does not remove oneself here (leaving is another act).
                            let removable = editable && user != inbox.me;
                            let name = m.name.clone();
                            view! {
                                <tr data-testid="member-row">
                                    <td>{m.name.clone()}</td>
                                    <td>{m.email.clone()}</td>
                                    <td>
                                        <select
                                            aria-label=format!("Role of {}", m.name)
                                            disabled=!editable
                                            prop:value=move || shown.get().as_str()
                                            on:change=move |ev| {
                                                if let Ok(r) = event_target_value(&ev).parse::<MemberRole>() {
                                                    change_role(user, current, r, shown);
                                                }
                                            }
                                        >
                                            {role_options(if editable { my_role } else { MemberRole::Owner })
                                                .into_iter()
                                                .map(|r| view! { <option value=r.as_str() selected=r == current>{r.as_str()}</option> })
                                                .collect_view()}
                                        </select>
                                    </td>
                                    <td>{move || if inbox.online.with(|o| o.contains(&user)) { "● online" } else { "" }}</td>
                                    <td>
                                        <Show when=move || removable>
                                            <button class="link-button danger" on:click={
                                                let name = name.clone();
                                                move |_| remove(user, name.clone())
                                            }>
                                                "Remove"
                                            </button>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || !invitations.with(Vec::is_empty)>
                <h2>"Pending invitations"</h2>
                <table class="table" data-testid="invitations">
                    <thead>
                        <tr><th>"Email"</th><th>"Role"</th><th>"Expires"</th><th></th></tr>
                    </thead>
                    <tbody>
                        <For each=move || invitations.get() key=|i| (i.id, i.role, i.expires_at) let:i>
                            {
                                let id = i.id;
                                let revocable = my_role == MemberRole::Owner || i.role != MemberRole::Owner;
                                view! {
                                    <tr data-testid="invitation-row">
                                        <td>{i.email.clone()}</td>
                                        <td>{i.role.as_str()}</td>
                                        <td class="muted">{i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                        <td>
                                            <button class="link-button danger" disabled=!revocable on:click=move |_| revoke(id)>
                                                "Revoke"
                                            </button>
                                        </td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </Show>
            <form class="inline-form" on:submit=invite aria-label="Invite a member">
                <input type="email" placeholder="Email" aria-label="Email to invite" required
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) />
                <select aria-label="Role to invite as" on:change=move |ev| {
                    if let Ok(r) = event_target_value(&ev).parse::<MemberRole>() { role.set(r) }
                }>
                    {role_options(my_role)
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str() selected=r == MemberRole::Agent>{r.as_str()}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="primary">"Invite"</button>
            </form>
            {move || sent.get().map(|(to, link)| view! {
                <p class="muted" data-testid="invitation-sent">
                    "Invitation for " {to} " ready. Send this link to them (it is shown only now): "
                    <input readonly aria-label="Invitation link" class="copy-field" prop:value=link />
                </p>
            })}
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="members-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

#[component]
fn Channels() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let error = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let provider = RwSignal::new(ProviderKind::Mock);
    // The providers this server runs, with the settings each channel of them needs.
    let providers = RwSignal::new(Vec::<ProviderInfo>::new());
    let settings = RwSignal::new(std::collections::BTreeMap::<String, String>::new());
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(list) = http::get::<Vec<ProviderInfo>>("/providers").await {
                providers.set(list);
            }
        });
    });
    let fields = move || {
        providers.with(|list| {
            list.iter()
                .find(|p| p.kind == provider.get())
                .map(|p| p.config_fields.clone())
                .unwrap_or_default()
        })
    };
    follow_history_imports(inbox);
    let navigate = use_navigate();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let config: serde_json::Map<String, serde_json::Value> = settings
            .get_untracked()
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k, json!(v.trim())))
            .collect();
        let body = json!({ "name": name.get_untracked().trim(), "provider": provider.get_untracked(), "config": config });
        let navigate = navigate.clone();
        spawn_local(async move {
            match http::post::<Channel, _>("/channels", &body).await {
                Ok(channel) => {
                    name.set(String::new());
                    settings.set(Default::default());
                    inbox.reload_lists();
                    if channel.status != switchboard::ChannelStatus::Connected {
                        navigate(&format!("/channels/{}/auth", channel.id), Default::default());
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let act = move |path: String, delete: bool, name: String| {
        if delete
            && !confirm(&format!(
                "Delete the channel {name}? Its conversations and messages are deleted with it."
            ))
        {
            return;
        }
        error.set(None);
        spawn_local(async move {
            let result = if delete {
                http::delete::<()>(&path).await
            } else {
                http::post::<Channel, _>(&path, &json!({})).await.map(|_| ())
            };
            if let Err(e) = result {
                error.set(Some(e.message));
            }
            inbox.reload_lists();
        });
    };
    view! {
        <section class="card wide" aria-labelledby="channels-heading">
            <h1 id="channels-heading">"Channels"</h1>
            <table class="table" data-testid="admin-channels">
                <thead>
                    <tr><th>"Name"</th><th>"Provider"</th><th>"Status"</th><th>"Last error"</th><th></th></tr>
                </thead>
                <tbody>
                    <For each=move || inbox.channels.get() key=|c| (c.id, c.status, c.last_error.clone(), c.name.clone()) let:c>
                        {
                            let id = c.id;
                            let connected = c.status == switchboard::ChannelStatus::Connected;
                            let name = c.name.clone();
                            view! {
                                <tr data-testid="channel-row">
                                    <td>
                                        {c.name.clone()}
                                        <HistoryImportView id />
                                        <WebhookSetupView channel=c.clone() />
                                    </td>
                                    <td>{c.provider.as_str()}</td>
                                    <td>
                                        <span class=format!("dot {}", c.status.as_str()) aria-hidden="true"></span>
                                        " "
                                        <span data-testid="admin-channel-status">{c.status.as_str()}</span>
                                    </td>
                                    <td class="muted">{c.last_error.clone().unwrap_or_default()}</td>
                                    <td class="actions">
                                        <Show when=move || !connected>
                                            <A href=format!("/channels/{id}/auth")>"Connect"</A>
                                        </Show>
                                        <Show when=move || connected>
                                            <button class="link-button" on:click=move |_| act(format!("/channels/{id}/logout"), false, String::new())>
                                                "Disconnect"
                                            </button>
                                        </Show>
                                        <button class="link-button danger" on:click=move |_| act(format!("/channels/{id}"), true, name.clone())>
                                            "Delete"
                                        </button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <form class="inline-form" on:submit=add aria-label="Add a channel">
                <input placeholder="Channel name" aria-label="Channel name" required
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <select aria-label="Provider" on:change=move |ev| {
                    if let Ok(p) = event_target_value(&ev).parse::<ProviderKind>() {
                        provider.set(p);
                        settings.set(Default::default());
                    }
                }>
                    {move || {
                        let offered: Vec<ProviderKind> = providers.with(|l| l.iter().map(|p| p.kind).collect());
                        let offered = if offered.is_empty() { vec![ProviderKind::Mock] } else { offered };
                        offered
                            .into_iter()
                            .map(|p| view! { <option value=p.as_str() selected=move || p == provider.get()>{p.as_str()}</option> })
                            .collect_view()
                    }}
                </select>
                {move || {
                    fields()
                        .into_iter()
                        .map(|field| {
                            let name = field.name.clone();
                            view! {
                                <input
                                    placeholder=field.placeholder.clone()
                                    aria-label=field.label.clone()
                                    title=field.label.clone()
                                    required=field.required
                                    on:input=move |ev| {
                                        let value = event_target_value(&ev);
                                        settings.update(|s| {
                                            s.insert(name.clone(), value);
                                        });
                                    }
                                />
                            }
                        })
                        .collect_view()
                }}
                <button type="submit" class="primary">"Add channel"</button>
            </form>
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="channels-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

/// Keeps the channels' history imports current while the page is open (browser only): their
/// progress has no realtime event, so the list is fetched again every two seconds while one
/// runs, and once shortly after a channel connects (a phone just linked starts one).
fn follow_history_imports(inbox: Inbox) {
    let every = std::time::Duration::from_secs(2);
    let importing = Memo::new(move |_| {
        inbox.channels.with(|list| {
            list.iter()
                .any(|c| c.history_import.as_ref().is_some_and(|h| h.state == HistoryImportState::Running))
        })
    });
    // The effect's cleanup (on the next run, or when the page unmounts) stops the interval.
    Effect::new(move |_| {
        if importing.get()
            && let Ok(handle) = set_interval_with_handle(move || inbox.reload_channels(), every)
        {
            on_cleanup(move || handle.clear());
        }
    });
    let statuses = Memo::new(move |_| {
        inbox
            .channels
            .with(|list| list.iter().map(|c| (c.id, c.status)).collect::<Vec<(ChannelId, ChannelStatus)>>())
    });
    Effect::new(move |before: Option<Vec<(ChannelId, ChannelStatus)>>| {
        let now = statuses.get();
        let linked = before.is_some_and(|before| {
            now.iter().any(|(id, status)| {
                *status == ChannelStatus::Connected
                    && before.iter().any(|(was_id, was)| was_id == id && was != status)
            })
        });
        if linked && let Ok(handle) = set_timeout_with_handle(move || inbox.reload_channels(), every) {
            on_cleanup(move || handle.clear());
        }
        now
    });
}

/// Where a channel's history import stands, under its name (nothing when none ran).
#[component]
fn HistoryImportView(id: ChannelId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let progress = Memo::new(move |_| {
        inbox.channels.with(|list| list.iter().find(|c| c.id == id).and_then(|c| c.history_import.clone()))
    });
    move || {
        progress.get().map(|import| {
            let state = match import.state {
                HistoryImportState::Running => "running",
                HistoryImportState::Done => "done",
                HistoryImportState::Failed => "failed",
            };
            view! {
                <p class=format!("history-import muted {state}") data-testid="history-import" data-state=state>
                    {history_text(&import)}
                </p>
            }
        })
    }
}

/// "History: importing 3 of 50 chats…", "History: 50 chats, 1,234 messages imported",
/// "History import stopped: {why}".
fn history_text(import: &HistoryImport) -> String {
    match import.state {
        HistoryImportState::Running => {
            format!(
                "History: importing {} of {}…",
                import.chats_done,
                count(import.chats_total.into(), "chat")
            )
        }
        HistoryImportState::Done => format!(
            "History: {}, {} imported",
            count(import.chats_done.into(), "chat"),
            count(import.messages_added, "message")
        ),
        HistoryImportState::Failed => match &import.error {
            Some(why) => format!("History import stopped: {why}"),
            None => "History import stopped.".to_owned(),
        },
    }
}

/// "1 chat", "1,234 messages".
fn count(n: u64, noun: &str) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let plural = if n == 1 { "" } else { "s" };
    format!("{grouped} {noun}{plural}")
}

/// Asks before a destructive act (the browser's own dialog: modal, keyboard-reachable, read out).
pub(super) fn confirm(question: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(state: HistoryImportState, chats_done: u32, messages_added: u64) -> HistoryImport {
        HistoryImport {
            state,
            chats_done,
            chats_total: 50,
            messages_added,
            error: None,
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn history_reads_as_progress_then_totals() {
        assert_eq!(
            history_text(&import(HistoryImportState::Running, 3, 40)),
            "History: importing 3 of 50 chats…"
        );
        assert_eq!(
            history_text(&import(HistoryImportState::Done, 50, 1234)),
            "History: 50 chats, 1,234 messages imported"
        );
        assert_eq!(
            history_text(&import(HistoryImportState::Done, 1, 1)),
            "History: 1 chat, 1 message imported"
        );
        let failed = HistoryImport {
            error: Some("the gateway refused".into()),
            ..import(HistoryImportState::Failed, 2, 9)
        };
        assert_eq!(history_text(&failed), "History import stopped: the gateway refused");
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0, "message"), "0 messages");
        assert_eq!(count(999, "message"), "999 messages");
        assert_eq!(count(1_000, "message"), "1,000 messages");
        assert_eq!(count(1_234_567, "message"), "1,234,567 messages");
    }
}
