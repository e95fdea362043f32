//! Administration (owners and admins): the workspace's members and roles, and its channels
//! with their live status.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::use_navigate;
use serde_json::json;
use switchboard::{Channel, Me, MemberRole, ProviderKind, UserId, WorkspaceMember};

use super::inbox::TopBar;
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
                    Ok(me) if me.workspaces.first().is_some_and(|m| m.role != MemberRole::Agent) => {
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
    let my_role = inbox.role;
    view! {
        <div class="app">
            <TopBar me />
            <main class="admin">
                <Members my_role />
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
    let (email, name, password, role) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(MemberRole::Agent),
    );
    let reload = move || {
        spawn_local(async move {
            match http::get::<Vec<WorkspaceMember>>("/members").await {
                Ok(list) => members.set(list),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    Effect::new(move |_| reload());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = json!({
            "email": email.get_untracked().trim(),
            "name": Some(name.get_untracked().trim().to_owned()).filter(|n| !n.is_empty()),
            "password": Some(password.get_untracked()).filter(|p| !p.is_empty()),
            "role": role.get_untracked(),
        });
        spawn_local(async move {
            match http::post::<WorkspaceMember, _>("/members", &body).await {
                Ok(_) => {
                    email.set(String::new());
                    name.set(String::new());
                    password.set(String::new());
                    reload();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let change_role = move |user: UserId, new_role: MemberRole| {
        error.set(None);
        spawn_local(async move {
            if let Err(e) =
                http::patch::<WorkspaceMember, _>(&format!("/members/{user}"), &json!({ "role": new_role }))
                    .await
            {
                error.set(Some(e.message));
            }
            reload();
        });
    };
    let remove = move |user: UserId| {
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
                            let editable = my_role == MemberRole::Owner || current != MemberRole::Owner;
                            view! {
                                <tr data-testid="member-row">
                                    <td>{m.name.clone()}</td>
                                    <td>{m.email.clone()}</td>
                                    <td>
                                        <select
                                            aria-label=format!("Role of {}", m.name)
                                            disabled=!editable
                                            on:change=move |ev| {
                                                if let Ok(r) = event_target_value(&ev).parse::<MemberRole>() {
                                                    change_role(user, r);
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
                                        <button class="link-button danger" disabled=!editable on:click=move |_| remove(user)>
                                            "Remove"
                                        </button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <form class="inline-form" on:submit=add aria-label="Add a member">
                <input type="email" placeholder="Email" aria-label="New member's email" required
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) />
                <input placeholder="Name (new accounts)" aria-label="New member's name"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <input type="password" placeholder="Password (new accounts)" aria-label="New member's password" autocomplete="new-password"
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                <select aria-label="New member's role" on:change=move |ev| {
                    if let Ok(r) = event_target_value(&ev).parse::<MemberRole>() { role.set(r) }
                }>
                    {role_options(my_role)
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str() selected=r == MemberRole::Agent>{r.as_str()}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="primary">"Add member"</button>
            </form>
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
    let navigate = use_navigate();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = json!({ "name": name.get_untracked().trim(), "provider": provider.get_untracked() });
        let navigate = navigate.clone();
        spawn_local(async move {
            match http::post::<Channel, _>("/channels", &body).await {
                Ok(channel) => {
                    name.set(String::new());
                    inbox.reload_lists();
                    if channel.status != switchboard::ChannelStatus::Connected {
                        navigate(&format!("/channels/{}/auth", channel.id), Default::default());
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let act = move |path: String, delete: bool| {
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
                            view! {
                                <tr data-testid="channel-row">
                                    <td>{c.name.clone()}</td>
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
                                            <button class="link-button" on:click=move |_| act(format!("/channels/{id}/logout"), false)>
                                                "Disconnect"
                                            </button>
                                        </Show>
                                        <button class="link-button danger" on:click=move |_| act(format!("/channels/{id}"), true)>
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
                    if let Ok(p) = event_target_value(&ev).parse::<ProviderKind>() { provider.set(p) }
                }>
                    {ProviderKind::ALL
                        .into_iter()
                        .map(|p| view! { <option value=p.as_str() selected=p == ProviderKind::Mock>{p.as_str()}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="primary">"Add channel"</button>
            </form>
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="channels-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}
