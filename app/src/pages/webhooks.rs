//! The admin page's outgoing webhooks (owners and admins): register an endpoint for some event
//! types, its signing secret shown once to copy; list the endpoints, open one's recent
//! deliveries (followed while open), send a delivery again, and delete an endpoint. Not to be
//! confused with [`super::webhook`], the set-up of a channel's *incoming* webhooks. What a
//! delivery carries and how to check its signature: `docs/embedding.md`.

use std::time::Duration;

use leptos::html::{Div, Input};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard::event::EventKind;
use switchboard::webhook::{
    CreateWebhook, CreatedWebhook, DeliveryStatus, WebhookDelivery, WebhookEndpoint, deliverable,
};
use switchboard::{EventId, WebhookId};

use super::admin::confirm;
use crate::client::http;

/// "Every event type" on the wire.
const ALL_EVENTS: &str = "*";
/// How often an open endpoint's deliveries are fetched again: attempts have no realtime event,
/// and the worker's first retry comes 30 s after a failure, so 3 s shows each attempt promptly
/// without loading the server.
const FOLLOW_EVERY: Duration = Duration::from_secs(3);
/// How many of an endpoint's deliveries are shown, newest first.
const SHOWN: u32 = 20;

/// The event types an endpoint may name, in the order the form offers them.
fn event_types() -> impl Iterator<Item = &'static str> {
    EventKind::ALL.into_iter().filter(|k| deliverable(*k)).map(|k| k.as_str())
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let endpoints = RwSignal::new(None::<Vec<WebhookEndpoint>>);
    let error = RwSignal::new(None::<String>);
    let (url, description) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    // The chosen types, or every type (which then disables the single choices).
    let (chosen, all) = (RwSignal::new(Vec::<&'static str>::new()), RwSignal::new(false));
    let busy = RwSignal::new(false);
    // The endpoint just registered, with its secret: held only here, until "Done" (the list
    // never has it, and the server cannot show it again).
    let created = RwSignal::new(None::<CreatedWebhook>);
    // Whether the secret reached the clipboard: the browser may refuse, and a secret shown once
    // must not read "Copied" then.
    let copied = RwSignal::new(None::<bool>);
    let url_field = NodeRef::<Input>::new();
    let secret_box = NodeRef::<Div>::new();
    // Focus follows the secret: onto its box when it appears, back to the form when done.
    Effect::new(move |_| {
        if let Some(node) = secret_box.get() {
            let _ = node.focus();
        }
    });
    let reload = move || {
        spawn_local(async move {
            match http::get::<Vec<WebhookEndpoint>>("/webhook-endpoints").await {
                Ok(list) => {
                    endpoints.try_set(Some(list));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        })
    };
    Effect::new(move |_| reload());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let events = if all.get_untracked() {
            vec![ALL_EVENTS.to_owned()]
        } else {
            chosen.with_untracked(|c| event_types().filter(|t| c.contains(t)).map(str::to_owned).collect())
        };
        let body = CreateWebhook {
            url: url.get_untracked().trim().to_owned(),
            events,
            description: description.get_untracked().trim().to_owned(),
        };
        busy.set(true);
        spawn_local(async move {
            match register(&body).await {
                Ok(endpoint) => {
                    url.set(String::new());
                    description.set(String::new());
                    chosen.set(Vec::new());
                    all.set(false);
                    copied.set(None);
                    created.set(Some(endpoint));
                    reload();
                }
                Err(refusal) => error.set(Some(refusal)),
            }
            busy.set(false);
        });
    };
    let done = move |_| {
        created.set(None);
        copied.set(None);
        if let Some(field) = url_field.get_untracked() {
            let _ = field.focus();
        }
    };
    let remove = move |id: WebhookId, url: String| {
        if !confirm(&format!(
            "Delete the endpoint {url}? It hears no more events, and its deliveries are deleted with it."
        )) {
            return;
        }
        error.set(None);
        spawn_local(async move {
            if let Err(e) = http::delete::<()>(&format!("/webhook-endpoints/{id}")).await {
                error.try_set(Some(e.message));
            }
            reload();
        });
    };
    view! {
        <section class="card wide" aria-labelledby="webhooks-heading" data-testid="webhooks">
            <h1 id="webhooks-heading">"Webhooks"</h1>
            <p class="muted">
                "Your backend hears this workspace's events as signed POST requests to its URL. "
                "A failed delivery is retried for a day; you can send one again here."
            </p>
            {move || created.get().map(|hook| {
                let secret = hook.secret.clone();
                view! {
                    <div class="secret-once" role="region" aria-labelledby="webhook-secret-heading"
                        tabindex="-1" node_ref=secret_box data-testid="webhook-secret">
                        <p id="webhook-secret-heading">
                            <strong>"Copy this signing secret now: it will not be shown again."</strong>
                        </p>
                        <p>"The secret that signs the requests to " {hook.endpoint.url} ":"</p>
                        <code class="secret-value" data-testid="webhook-secret-value">{hook.secret}</code>
                        <div class="secret-actions">
                            <button type="button" on:click=move |_| super::webhook::copy_to_clipboard(&secret, copied)>
                                {move || if copied.get() == Some(true) { "Copied" } else { "Copy" }}
                            </button>
                            <button type="button" class="primary" on:click=done>"Done"</button>
                        </div>
                        <Show when=move || copied.get() == Some(false)>
                            <p class="form-error" role="alert">
                                "The browser did not allow copying: select the secret and copy it yourself."
                            </p>
                        </Show>
                    </div>
                }
            })}
            <h2 id="webhook-list-heading">"Endpoints"</h2>
            <ul class="webhook-list" aria-labelledby="webhook-list-heading" data-testid="webhook-list">
                <For each=move || endpoints.get().unwrap_or_default() key=|e| e.id let:hook>
                    {
                        let (id, open) = (hook.id, RwSignal::new(false));
                        let (name, listed) = (hook.url.clone(), hook.url.clone());
                        view! {
                            <li class="webhook" data-testid="webhook-row">
                                <div class="webhook-head">
                                    <code class="webhook-url">{hook.url.clone()}</code>
                                    <div class="actions">
                                        <button type="button" class="link-button"
                                            aria-expanded=move || open.get().to_string()
                                            on:click=move |_| open.update(|o| *o = !*o)>
                                            "Deliveries"
                                        </button>
                                        <button type="button" class="link-button danger"
                                            aria-label=format!("Delete {}", hook.url)
                                            on:click=move |_| remove(id, name.clone())>
                                            "Delete"
                                        </button>
                                    </div>
                                </div>
                                <p class="muted">
                                    "Events: " <span data-testid="webhook-events">{events_words(&hook.events)}</span>
                                    " · created " {when(hook.created_at)}
                                    {(!hook.description.is_empty()).then(|| format!(" · {}", hook.description))}
                                </p>
                                <Show when=move || open.get()>
                                    <Deliveries id url=listed.clone() error />
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || endpoints.with(|e| e.as_ref().is_some_and(Vec::is_empty))>
                <p class="empty">"No endpoints yet."</p>
            </Show>
            <form class="stack" on:submit=add aria-label="Add a webhook endpoint">
                <label class="field">
                    "Endpoint URL"
                    <input type="url" required maxlength="2048" placeholder="https://example.com/hooks/switchboard"
                        node_ref=url_field
                        prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                </label>
                <fieldset class="event-choices">
                    <legend>"Events"</legend>
                    <label class="check all-events">
                        <input type="checkbox" prop:checked=move || all.get()
                            on:change=move |ev| all.set(event_target_checked(&ev)) />
                        "All events"
                    </label>
                    {event_types()
                        .map(|name| view! {
                            <label class="check">
                                <input type="checkbox" value=name disabled=move || all.get()
                                    prop:checked=move || chosen.with(|c| c.contains(&name))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|t| *t != name);
                                            if on {
                                                c.push(name);
                                            }
                                        });
                                    } />
                                <code>{name}</code>
                            </label>
                        })
                        .collect_view()}
                </fieldset>
                <label class="field">
                    "Description (optional)"
                    <input maxlength="200" placeholder="e.g. Order system"
                        prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev)) />
                </label>
                <div>
                    <button type="submit" class="primary" disabled=move || busy.get()>"Add endpoint"</button>
                </div>
            </form>
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="webhooks-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

/// An endpoint's recent deliveries, fetched again every [`FOLLOW_EVERY`] while shown: the
/// interval lives exactly as long as this component (closing the list, deleting the endpoint or
/// leaving the page clears it), so no tick outlives the signals it writes.
#[component]
fn Deliveries(id: WebhookId, url: String, error: RwSignal<Option<String>>) -> impl IntoView {
    let deliveries = RwSignal::new(None::<Vec<WebhookDelivery>>);
    // An answer may arrive after the list closed: `try_set` is a no-op then.
    let load = move || {
        spawn_local(async move {
            let path = format!("/webhook-endpoints/{id}/deliveries?limit={SHOWN}");
            match http::get::<Vec<WebhookDelivery>>(&path).await {
                Ok(list) => {
                    deliveries.try_set(Some(list));
                }
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        })
    };
    // An effect, so it runs in the browser only; its cleanup runs when the component goes.
    Effect::new(move |_| {
        load();
        if let Ok(handle) = set_interval_with_handle(load, FOLLOW_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    let resend = move |event: EventId| {
        error.set(None);
        spawn_local(async move {
            let path = format!("/webhook-endpoints/{id}/deliveries/{event}/redeliver");
            match http::post::<WebhookDelivery, _>(&path, &json!({})).await {
                Ok(_) => load(),
                Err(e) => {
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    view! {
        <div class="webhook-deliveries" data-testid="webhook-deliveries">
            <table class="table">
                <caption class="visually-hidden">{format!("Recent deliveries to {url}")}</caption>
                <thead>
                    <tr>
                        <th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last result"</th><th>"Time"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || deliveries.get().unwrap_or_default()
                        key=|d| (d.event_id, d.status, d.attempts, d.created_at, d.next_attempt_at)
                        let:d>
                        {
                            let (event, status) = (d.event_id, d.status.as_str());
                            let label = format!("Send the {} delivery again", d.event_type);
                            view! {
                                <tr data-testid="webhook-delivery" data-event-id=event.to_string()
                                    data-status=status data-attempts=d.attempts.to_string()>
                                    <td><code>{d.event_type.clone()}</code></td>
                                    <td><span class=format!("delivery-status {status}") data-testid="webhook-delivery-status">{status}</span></td>
                                    <td data-testid="webhook-delivery-attempts">{d.attempts}</td>
                                    <td data-testid="webhook-delivery-result">{result_words(&d)}</td>
                                    <td class="muted">{time_words(&d)}</td>
                                    <td>
                                        {resendable(&d).then(|| view! {
                                            <button type="button" class="link-button" title=label
                                                on:click=move |_| resend(event)>
                                                "Send again"
                                            </button>
                                        })}
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            {move || match deliveries.with(|d| d.as_ref().map(Vec::is_empty)) {
                None => Some(view! { <p class="muted">"Loading deliveries…"</p> }.into_any()),
                Some(true) => Some(
                    view! { <p class="muted">"No deliveries yet: events of its types show here as they happen."</p> }
                        .into_any(),
                ),
                Some(false) => None,
            }}
        </div>
    }
}

/// Whether a delivery can be sent again now: a delivered or dead one, or a pending one that
/// already failed and waits for its retry (30 s after the first failure, doubling) — what an
/// admin who has just fixed the endpoint wants. One never tried is about to go anyway.
fn resendable(d: &WebhookDelivery) -> bool {
    d.status != DeliveryStatus::Pending || d.attempts > 0
}

/// The last attempt's outcome: the endpoint's HTTP status, or why it failed.
fn result_words(d: &WebhookDelivery) -> String {
    match (&d.last_error, d.last_status) {
        (Some(why), _) => why.clone(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => "not tried yet".to_owned(),
    }
}

/// When it was last tried (or queued), and when it is tried next if it waits.
fn time_words(d: &WebhookDelivery) -> String {
    let last = when(d.last_attempt_at.unwrap_or(d.created_at));
    match (d.status, d.next_attempt_at) {
        (DeliveryStatus::Pending, Some(next)) if d.attempts > 0 => {
            format!("{last}, next try {}", next.format("%H:%M:%S"))
        }
        _ => last,
    }
}

/// "All events", or the types it names.
fn events_words(events: &[String]) -> String {
    if events.iter().any(|e| e == ALL_EVENTS) { "All events".to_owned() } else { events.join(", ") }
}

/// A time as the admin page shows delivery times (to the second: attempts come seconds apart).
fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `POST /webhook-endpoints`. Called directly rather than through [`http::post`], whose error
/// keeps only the words: this form names the field the API refused, as the form labels it.
async fn register(body: &CreateWebhook) -> Result<CreatedWebhook, String> {
    use gloo_net::http::Request;
    #[derive(serde::Deserialize)]
    struct Refused {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: String,
        field: Option<String>,
    }
    let unreachable = |_| "Could not reach the server. Check your connection and try again.".to_owned();
    let mut request = Request::post("/api/v1/webhook-endpoints");
    if let Some(workspace) = http::workspace() {
        request = request.header("X-Workspace-Id", &workspace.to_string());
    }
    let response = request.json(body).map_err(unreachable)?.send().await.map_err(unreachable)?;
    let status = response.status();
    if response.ok() {
        return response.json::<CreatedWebhook>().await.map_err(|e| e.to_string());
    }
    Err(match response.json::<Refused>().await {
        Ok(Refused { error }) => in_words(error.field.as_deref(), &error.message),
        Err(_) => format!("The server answered {status}."),
    })
}

/// A refusal naming the field as the form labels it: the API's "Url points to a private,
/// loopback or reserved address." reads "Endpoint URL: points to a private, loopback or
/// reserved address.". The API starts its words with the field's name
/// (`switchboard::validate::ValidationError`'s `Display`), which is dropped for the label.
fn in_words(field: Option<&str>, message: &str) -> String {
    let label = match field {
        Some("url") => "Endpoint URL",
        Some("events") => "Events",
        Some("description") => "Description",
        _ => return message.to_owned(),
    };
    // `reply_to` → "Reply to", as the API writes it.
    let field = field.unwrap_or_default().replace('_', " ");
    let mut chars = field.chars();
    let named: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    let reason =
        message.strip_prefix(&named).map(str::trim_start).filter(|r| !r.is_empty()).unwrap_or(message);
    format!("{label}: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::validate::ValidationError;

    #[test]
    fn a_refused_field_is_named_as_the_form_labels_it() {
        let said = |field: &str, why: &str| ValidationError::new(field, why).to_string();
        assert_eq!(
            in_words(Some("url"), &said("url", "points to a private, loopback or reserved address")),
            "Endpoint URL: points to a private, loopback or reserved address."
        );
        assert_eq!(
            in_words(Some("events"), &said("events", "must name at least one event type, or \"*\"")),
            "Events: must name at least one event type, or \"*\"."
        );
        assert_eq!(in_words(Some("url"), "The address is refused."), "Endpoint URL: The address is refused.");
        assert_eq!(in_words(None, "Only owners manage webhooks."), "Only owners manage webhooks.");
    }

    #[test]
    fn the_form_offers_the_deliverable_types_only() {
        let offered: Vec<_> = event_types().collect();
        assert_eq!(offered.len(), 17);
        assert!(offered.contains(&"message.created") && !offered.contains(&"typing"));
        assert!(offered.contains(&"session.completed") && !offered.contains(&"session.node_executed"));
    }
}
