//! The flows page (owners and admins): the workspace's chatbot flows with their published
//! version and a switch for their triggers, and the editor ([`super::flow_editor`]) of a new
//! or an existing one. Everything is fetched from the browser once hydrated.

use gloo_net::http::Method;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use switchboard::flow::Flow;
use switchboard::{FlowId, Me};

use super::flow_editor::Editor;
use super::inbox::TopBar;
use crate::api::current_user;
use crate::client::http;

#[component]
pub fn FlowsPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Flows" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) if me.current_or_first().is_some_and(|m| m.role.is_admin()) => {
                        view! { <FlowsShell me /> }.into_any()
                    }
                    Ok(_) => view! { <Redirect path="/inbox" /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn FlowsShell(me: Me) -> impl IntoView {
    http::act_in(me.current_or_first().map(|m| m.workspace.id));
    let list = RwSignal::new(Vec::<Flow>::new());
    let error = RwSignal::new(None::<String>);
    // The flow open in the editor: `Some(None)` for a new one.
    let editing = RwSignal::new(None::<Option<Flow>>);
    let reload = move || {
        spawn_local(async move {
            match http::get::<Vec<Flow>>("/flows").await {
                Ok(found) => list.set(found),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    Effect::new(move |_| reload());
    let toggle = move |id: FlowId, enabled: bool| {
        error.set(None);
        spawn_local(async move {
            let body = serde_json::json!({ "enabled": enabled });
            if let Err(e) = http::send::<Flow>(Method::PUT, &format!("/flows/{id}/enabled"), &body).await {
                error.set(Some(e.message));
            }
            reload();
        })
    };
    let row = move |f: &Flow| {
        let (id, enabled) = (f.id, f.enabled);
        let flow = f.clone();
        let version =
            if f.version == 0 { "not published".to_owned() } else { format!("version {}", f.version) };
        view! {
            <tr data-testid="flow-row">
                <td>{f.name.clone()}</td>
                <td class="muted">{version}</td>
                <td>
                    <label class="check">
                        <input type="checkbox" prop:checked=enabled disabled=f.version == 0
                            on:change=move |ev| toggle(id, event_target_checked(&ev)) />
                        " On"
                    </label>
                </td>
                <td class="actions">
                    <button type="button" class="link-button" on:click=move |_| editing.set(Some(Some(flow.clone())))>
                        "Edit"<span class="visually-hidden">" " {f.name.clone()}</span>
                    </button>
                </td>
            </tr>
        }
    };
    view! {
        <div class="app">
            <TopBar me />
            <main class="admin">
                <section class="card wide" aria-labelledby="flows-heading">
                    <h1 id="flows-heading">"Chatbot flows"</h1>
                    <p class="muted">
                        "A flow answers customers first: it sends messages, asks questions and hands the conversation over. "
                        <a href="/bot-sessions">"See the bot sessions"</a>
                    </p>
                    <p class="muted" hidden=move || !list.with(Vec::is_empty)>"No flows yet."</p>
                    <table class="table" data-testid="flows" hidden=move || list.with(Vec::is_empty)>
                        <tbody>{move || list.with(|l| l.iter().map(row).collect_view())}</tbody>
                    </table>
                    <button type="button" class="primary" on:click=move |_| editing.set(Some(None))>"New flow"</button>
                    {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
                </section>
                {move || editing.get().map(|flow| view! {
                    <Editor
                        flow
                        changed=Callback::new(move |()| reload())
                        close=Callback::new(move |()| editing.set(None))
                    />
                })}
            </main>
        </div>
    }
}
