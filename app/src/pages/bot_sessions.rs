//! The bot sessions page: the workspace's runs of its flows, newest first, filtered by flow,
//! status and channel, kept current by the inbox topic's `session.started` and
//! `session.completed`; and one session's page ([`BotSessionPage`]), its state, transcript and
//! node trail so far, then live from its own topic (`session:{id}`), with a Stop button.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;
use switchboard::flow::{BotSession, Flow, SessionStatus};
use switchboard::{BotSessionId, Channel, EventBody, Me, Topic};

use super::inbox::{TopBar, short_time};
use crate::api::current_user;
use crate::client::http;
use crate::client::realtime::{Incoming, Link, Realtime};

/// The statuses the filter offers.
const STATUSES: [SessionStatus; 5] = [
    SessionStatus::Running,
    SessionStatus::WaitingInput,
    SessionStatus::Completed,
    SessionStatus::Expired,
    SessionStatus::Stopped,
];

/// A signed-in member's page, `shell` given who they are.
fn signed_in(title: &'static str, shell: fn(Me) -> AnyView) -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text=title />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => {
                        http::act_in(me.current_or_first().map(|m| m.workspace.id));
                        shell(me)
                    }
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn BotSessionsPage() -> impl IntoView {
    signed_in("Bot sessions", |me| view! { <SessionList me /> }.into_any())
}

#[component]
pub fn BotSessionPage() -> impl IntoView {
    signed_in("Bot session", |me| view! { <SessionDetail me /> }.into_any())
}

/// Follows `topic` while the page is shown, handing its events (with their offsets) and its
/// (re)subscriptions to `on`.
fn follow(topic: Topic, on: impl Fn(Incoming) + 'static) {
    let link = RwSignal::new(Link::Connecting);
    let on = std::rc::Rc::new(on);
    Effect::new(move |_| {
        let on = on.clone();
        let client = Realtime::attach(link, move |incoming| on(incoming));
        client.subscribe(topic);
    });
    on_cleanup(move || Realtime::detach(link));
}

#[component]
fn SessionList(me: Me) -> impl IntoView {
    let workspace = me.current_or_first().map(|m| m.workspace.id);
    let flows = RwSignal::new(Vec::<Flow>::new());
    let channels = RwSignal::new(Vec::<Channel>::new());
    let (flow, status, channel) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let list = RwSignal::new(Vec::<BotSession>::new());
    let error = RwSignal::new(None::<String>);
    let changed = RwSignal::new(0u32);
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(l) = http::get::<Vec<Flow>>("/flows").await {
                flows.set(l);
            }
            if let Ok(l) = http::get::<Vec<Channel>>("/channels").await {
                channels.set(l);
            }
        })
    });
    Effect::new(move |_| {
        changed.track();
        let query: Vec<String> =
            [("flow_id", flow.get()), ("status", status.get()), ("channel_id", channel.get())]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
        spawn_local(async move {
            match http::get::<Vec<BotSession>>(&format!("/bot-sessions?{}", query.join("&"))).await {
                Ok(l) => {
                    error.set(None);
                    list.set(l);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    });
    if let Some(ws) = workspace {
        // Subscribed anew (nothing recovered), a session start or end: the list loads again.
        follow(Topic::Inbox(ws), move |incoming| {
            let stale = match incoming {
                Incoming::Subscribed { recovered, .. } => !recovered,
                Incoming::Event { body, .. } => {
                    matches!(*body, EventBody::SessionStarted(_) | EventBody::SessionCompleted(_))
                }
                Incoming::Refused { .. } => false,
            };
            if stale {
                changed.update(|n| *n += 1);
            }
        });
    }
    let filter = move |label: &'static str,
                       value: RwSignal<String>,
                       options: Signal<Vec<(String, String)>>| {
        view! {
            <label class="field">
                <span>{label}</span>
                <select on:change=move |ev| value.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {move || options.get().into_iter().map(|(v, t)| view! { <option value=v>{t}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    let flow_options = Signal::derive(move || {
        flows.with(|l| l.iter().map(|f| (f.id.to_string(), f.name.clone())).collect())
    });
    let status_options = Signal::derive(|| {
        STATUSES.iter().map(|s| (s.as_str().to_owned(), s.as_str().replace('_', " "))).collect()
    });
    let channel_options = Signal::derive(move || {
        channels.with(|l| l.iter().map(|c| (c.id.to_string(), c.name.clone())).collect())
    });
    let row = |s: &BotSession| {
        view! {
            <tr data-testid="session-row" data-status=s.status.as_str()>
                <td><a href=format!("/bot-sessions/{}", s.id)>{format!("{} (v{})", s.flow_name, s.flow_version)}</a></td>
                <td>{s.status.as_str().replace('_', " ")}</td>
                <td class="muted">{s.current_node.clone().unwrap_or_default()}</td>
                <td class="muted">{short_time(s.started_at)}</td>
            </tr>
        }
    };
    view! {
        <div class="app">
            <TopBar me />
            <main class="admin">
                <section class="card wide" aria-labelledby="sessions-heading">
                    <h1 id="sessions-heading">"Bot sessions"</h1>
                    <div class="flow-row">
                        {filter("Flow", flow, flow_options)}
                        {filter("Status", status, status_options)}
                        {filter("Channel", channel, channel_options)}
                        <button type="button" class="link-button" on:click=move |_| changed.update(|n| *n += 1)>"Refresh"</button>
                    </div>
                    <p class="muted" hidden=move || !list.with(Vec::is_empty)>"No sessions."</p>
                    <table class="table" data-testid="sessions" hidden=move || list.with(Vec::is_empty)>
                        <thead><tr><th>"Flow"</th><th>"Status"</th><th>"At node"</th><th>"Started"</th></tr></thead>
                        <tbody>{move || list.with(|l| l.iter().map(row).collect_view())}</tbody>
                    </table>
                    {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
                </section>
            </main>
        </div>
    }
}

#[component]
fn SessionDetail(me: Me) -> impl IntoView {
    let params = use_params_map();
    let Some(id) =
        params.with_untracked(|p| p.get("id").and_then(|s| s.parse::<uuid::Uuid>().ok())).map(BotSessionId)
    else {
        return view! { <TopBar me /><p class="empty centered">"No such session."</p> }.into_any();
    };
    let session = RwSignal::new(None::<BotSession>);
    // The session topic's events by offset: the page's load and the live ones land here alike.
    let events = RwSignal::new(BTreeMap::<u64, EventBody>::new());
    let error = RwSignal::new(None::<String>);
    let reload_session = move || {
        spawn_local(async move {
            match http::get::<BotSession>(&format!("/bot-sessions/{id}")).await {
                Ok(s) => session.set(Some(s)),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    let load_events = move || {
        spawn_local(async move {
            match http::get::<Vec<switchboard::Event>>(&format!("/bot-sessions/{id}/events")).await {
                Ok(list) => events.update(|m| m.extend(list.into_iter().map(|e| (e.offset as u64, e.body)))),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    // The first subscribe (or one that could not recover) loads the run so far; whatever then
    // arrives live is added by its offset, so an event in both never shows twice.
    follow(Topic::Session(id), move |incoming| match incoming {
        Incoming::Subscribed { recovered: false, .. } => {
            reload_session();
            load_events();
        }
        Incoming::Event { offset: Some(offset), body, .. } => {
            let ended = matches!(*body, EventBody::SessionStatusChanged(_) | EventBody::SessionCompleted(_));
            events.update(|m| drop(m.insert(offset, *body)));
            if ended {
                reload_session();
            }
        }
        _ => {}
    });
    let stop = move |_| {
        spawn_local(async move {
            match http::post::<BotSession, _>(&format!("/bot-sessions/{id}/stop"), &()).await {
                Ok(s) => session.set(Some(s)),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    let live = move || session.with(|s| s.as_ref().is_some_and(|s| s.status.is_live()));
    let facts = move || {
        session.get().map(|s| {
            let vars = s.variables.iter().map(|(k, v)| view! { <li><code>{k.clone()}</code>" = "{v.clone()}</li> }).collect_view();
            view! {
                <h1>{format!("{} (version {})", s.flow_name, s.flow_version)}</h1>
                <dl class="facts">
                    <dt>"Status"</dt><dd data-testid="session-status">{s.status.as_str().replace('_', " ")}</dd>
                    <dt>"At node"</dt><dd data-testid="session-node">{s.current_node.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Ended"</dt><dd>{s.completion.map(|c| c.as_str().replace('_', " ")).unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Counts"</dt>
                    <dd>{format!("{} steps, {} nodes, {} sent, {} received", s.steps, s.nodes_executed, s.messages_sent, s.messages_received)}</dd>
                </dl>
                <a href=format!("/inbox?c={}", s.conversation_id)>"Open the conversation"</a>
                <ul class="variables" data-testid="session-variables">{vars}</ul>
            }
        })
    };
    let transcript = move || {
        events.with(|m| {
            m.values()
                .filter_map(|e| match e {
                    EventBody::SessionMessage(m) => Some(view! {
                        <li class="bubble" class:out=m.from_bot data-testid="session-message">
                            {m.from_bot.then(|| view! { <span class="bot-tag">"Bot"</span> " " })}
                            {m.message.text.clone()}
                            {(!m.message.buttons.is_empty())
                                .then(|| view! { <crate::pages::thread::QuickReplies labels=m.message.buttons.clone() /> })}
                        </li>
                    }),
                    _ => None,
                })
                .collect_view()
        })
    };
    let trail = move || {
        events.with(|m| {
            m.values()
                .filter_map(|e| match e {
                    EventBody::SessionNodeExecuted(n) => Some(view! {
                        <li data-testid="session-trail-node">{format!("{} ({}, {})", n.label, n.node_id, n.kind)}</li>
                    }),
                    _ => None,
                })
                .collect_view()
        })
    };
    view! {
        <div class="app">
            <TopBar me />
            <main class="admin">
                <section class="card wide" aria-label="Bot session">
                    <a href="/bot-sessions">"← All sessions"</a>
                    {facts}
                    <Show when=live>
                        <button type="button" class="danger" on:click=stop>"Stop the bot"</button>
                    </Show>
                    {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
                    <h2>"Transcript"</h2>
                    <ul class="session-transcript" data-testid="session-transcript">{transcript}</ul>
                    <h2>"Nodes run"</h2>
                    <ol data-testid="session-trail">{trail}</ol>
                </section>
            </main>
        </div>
    }
    .into_any()
}
