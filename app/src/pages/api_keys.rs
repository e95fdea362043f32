//! The admin page's API keys (owners and admins): create one, its secret shown once to copy,
//! list them with when each was last used, and revoke. What keys are for: `docs/embedding.md`.

use leptos::html::{Div, Input};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard::ApiKeyId;
use switchboard::platform::{ApiKey, ApiKeyScope, CreatedApiKey};

use super::admin::confirm;
use crate::client::http;

/// The scopes a new key can have, the default first.
const SCOPES: [ApiKeyScope; 2] = [ApiKeyScope::Server, ApiKeyScope::Read];

/// The scope as the form offers it.
fn scope_words(scope: ApiKeyScope) -> &'static str {
    match scope {
        ApiKeyScope::Server => "server: the whole API, and user tokens",
        ApiKeyScope::Read => "read: reads only",
    }
}

#[component]
pub fn ApiKeys() -> impl IntoView {
    let keys = RwSignal::new(None::<Vec<ApiKey>>);
    let error = RwSignal::new(None::<String>);
    let (name, scope) = (RwSignal::new(String::new()), RwSignal::new(ApiKeyScope::Server));
    // The key just created, with its secret: held only here, until "Done" (the list never
    // has it, and the server cannot show it again).
    let created = RwSignal::new(None::<CreatedApiKey>);
    // Whether the secret reached the clipboard: the browser may refuse, and a secret shown once
    // must not read "Copied" then.
    let copied = RwSignal::new(None::<bool>);
    let name_field = NodeRef::<Input>::new();
    let secret_box = NodeRef::<Div>::new();
    // Focus follows the secret: onto its box when it appears, back to the form when done.
    Effect::new(move |_| {
        if let Some(node) = secret_box.get() {
            let _ = node.focus();
        }
    });
    let reload = move || {
        spawn_local(async move {
            match http::get::<Vec<ApiKey>>("/api-keys").await {
                Ok(list) => keys.set(Some(list)),
                Err(e) => error.set(Some(e.message)),
            }
        })
    };
    Effect::new(move |_| reload());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = json!({ "name": name.get_untracked().trim(), "scope": scope.get_untracked() });
        spawn_local(async move {
            match http::post::<CreatedApiKey, _>("/api-keys", &body).await {
                Ok(key) => {
                    name.set(String::new());
                    copied.set(None);
                    created.set(Some(key));
                    reload();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let done = move |_| {
        created.set(None);
        copied.set(None);
        if let Some(field) = name_field.get_untracked() {
            let _ = field.focus();
        }
    };
    let revoke = move |id: ApiKeyId, name: String| {
        if !confirm(&format!(
            "Revoke the key {name}? Its calls, and the tokens it signed for your app's users, are refused from now on."
        )) {
            return;
        }
        error.set(None);
        spawn_local(async move {
            if let Err(e) = http::delete::<ApiKey>(&format!("/api-keys/{id}")).await {
                error.set(Some(e.message));
            }
            reload();
        });
    };
    view! {
        <section class="card wide" aria-labelledby="api-keys-heading" data-testid="api-keys">
            <h1 id="api-keys-heading">"API keys"</h1>
            <p class="muted">
                "A key lets your app's backend call the API as this workspace: create its users and rooms, "
                "and sign the tokens its users connect with. A read key only reads."
            </p>
            {move || created.get().map(|key| {
                let secret = key.secret.clone();
                view! {
                    <div class="secret-once" role="region" aria-labelledby="api-key-secret-heading"
                        tabindex="-1" node_ref=secret_box data-testid="api-key-secret">
                        <p id="api-key-secret-heading">
                            <strong>"Copy this secret now: it will not be shown again."</strong>
                        </p>
                        <p>"The secret of " {key.key.name} " (" {key.key.scope.as_str()} "):"</p>
                        <code class="secret-value" data-testid="api-key-secret-value">{key.secret}</code>
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
            <table class="table" data-testid="api-key-list">
                <thead>
                    <tr>
                        <th>"Name"</th><th>"Scope"</th><th>"ID"</th><th>"Created"</th><th>"Last used"</th>
                        <th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || keys.get().unwrap_or_default() key=|k| (k.id, k.revoked_at, k.last_used_at) let:k>
                        {
                            let (id, active, name) = (k.id, k.revoked_at.is_none(), k.name.clone());
                            let status = if active { "active" } else { "revoked" };
                            view! {
                                <tr data-testid="api-key-row" data-status=status>
                                    <td>{k.name.clone()}</td>
                                    <td>{k.scope.as_str()}</td>
                                    <td><code class="key-id">{k.id.to_string()}</code></td>
                                    <td class="muted">{when(k.created_at)}</td>
                                    <td class="muted">{k.last_used_at.map(when).unwrap_or_else(|| "never".to_owned())}</td>
                                    <td data-testid="api-key-status">{status}</td>
                                    <td>
                                        <Show when=move || active>
                                            <button class="link-button danger" aria-label=format!("Revoke {name}")
                                                on:click={
                                                    let name = name.clone();
                                                    move |_| revoke(id, name.clone())
                                                }>
                                                "Revoke"
                                            </button>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || keys.with(|k| k.as_ref().is_some_and(Vec::is_empty))>
                <p class="empty">"No keys yet."</p>
            </Show>
            <form class="inline-form" on:submit=create aria-label="Create an API key">
                <input placeholder="Key name, e.g. Production backend" aria-label="Key name" required maxlength="80"
                    node_ref=name_field
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <select aria-label="Key scope" on:change=move |ev| {
                    if let Ok(s) = event_target_value(&ev).parse::<ApiKeyScope>() { scope.set(s) }
                }>
                    {SCOPES
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str() selected=move || s == scope.get()>{scope_words(s)}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="primary">"Create key"</button>
            </form>
            <Show when=move || error.get().is_some()>
                <p class="form-error" role="alert" data-testid="api-keys-error">{move || error.get()}</p>
            </Show>
        </section>
    }
}

/// A time as the admin page shows times.
fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
