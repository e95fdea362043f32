//! The one channel-auth page, for every provider and method: it shows the prompt the provider
//! gives (a QR code drawn by the server, a one-time or pairing code with its countdown, or a
//! masked token form) and follows the channel's status live until it is connected.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde::Deserialize;
use serde_json::json;
use switchboard::provider::{AuthHint, AuthMethod, AuthPrompt, AuthStatus, Capabilities, ShownOnce};
use switchboard::{Channel, ChannelId, ChannelStatus, Me};

use super::inbox::TopBar;
use super::webhook::WebhookSetupView;
use crate::api::current_user;
use crate::client::http;
use crate::inbox::state::Inbox;

/// What every auth endpoint answers.
#[derive(Clone, Debug, Deserialize, PartialEq)]
struct AuthView {
    status: AuthStatus,
    prompt: Option<AuthPrompt>,
    error: Option<String>,
    channel: Channel,
    #[serde(default)]
    qr_svg: Option<String>,
    #[serde(default)]
    capabilities: Option<Capabilities>,
    /// The provider's own words: where on its network to scan or type the prompt.
    #[serde(default)]
    hint: Option<AuthHint>,
    /// The first of two steps is done (a gateway took its token): these methods take the second.
    #[serde(default)]
    next_methods: Option<Vec<AuthMethod>>,
    /// A secret the finished sign-in made (an API channel's signing secret), in this answer only.
    #[serde(default)]
    shown_once: Option<ShownOnce>,
}

impl AuthView {
    /// Which step of a two-step sign-in this answer puts the page at: the second once the first
    /// is done or a linking prompt is up, the first at a prompt of its methods; `None` when the
    /// answer does not say (no prompt, or a provider that signs in in one step).
    fn second_step(&self) -> Option<bool> {
        let capabilities = self.capabilities.as_ref()?;
        if capabilities.linking_methods.is_empty() {
            return None;
        }
        if self.next_methods.is_some() {
            return Some(true);
        }
        let method = self.prompt.as_ref().map(prompt_method)?;
        if capabilities.auth_methods.contains(&method) {
            Some(false)
        } else {
            capabilities.linking_methods.contains(&method).then_some(true)
        }
    }
}

/// The method a prompt belongs to.
fn prompt_method(prompt: &AuthPrompt) -> AuthMethod {
    match prompt {
        AuthPrompt::Qr { .. } => AuthMethod::Qr,
        AuthPrompt::Otp { .. } => AuthMethod::Otp,
        AuthPrompt::PairingCode { .. } => AuthMethod::PairingCode,
        AuthPrompt::Token { .. } => AuthMethod::Token,
    }
}

/// A method's button: what it is at the first step, what to do at the second (link the phone).
fn method_label(method: AuthMethod, second_step: bool) -> &'static str {
    match (method, second_step) {
        (AuthMethod::Qr, true) => "Scan a QR code",
        (AuthMethod::PairingCode, true) => "Use a pairing code",
        (AuthMethod::Qr, false) => "QR code",
        (AuthMethod::Otp, _) => "One-time code",
        (AuthMethod::PairingCode, false) => "Pairing code",
        (AuthMethod::Token, _) => "Token",
    }
}

/// A method's name in test ids (`method-qr`, `method-pairing_code`), as the API spells it.
fn method_key(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Qr => "qr",
        AuthMethod::Otp => "otp",
        AuthMethod::PairingCode => "pairing_code",
        AuthMethod::Token => "token",
    }
}

#[component]
pub fn ChannelAuthPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Title text="Connect a channel" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <AuthShell me /> }.into_any(),
                    Err(_) => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AuthShell(me: Me) -> impl IntoView {
    let inbox = Inbox::new(&me);
    provide_context(inbox);
    Effect::new(move |_| inbox.start());
    on_cleanup(move || inbox.stop());
    let params = use_params_map();
    let channel_id = Memo::new(move |_| {
        params.with(|p| p.get("id").and_then(|id| id.parse::<uuid::Uuid>().ok()).map(ChannelId))
    });
    view! {
        <div class="app">
            <TopBar me />
            <main class="center-page">
                {move || match channel_id.get() {
                    Some(id) => view! { <AuthCard id /> }.into_any(),
                    None => view! { <div class="card"><p>"There is no such channel."</p></div> }.into_any(),
                }}
            </main>
        </div>
    }
}

#[component]
fn AuthCard(id: ChannelId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let state = RwSignal::new(None::<AuthView>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let method = RwSignal::new(None::<AuthMethod>);
    let phone = RwSignal::new(String::new());
    let answer = RwSignal::new(String::new());
    // A token prompt's answers, by field name.
    let fields = RwSignal::new(std::collections::BTreeMap::<String, String>::new());
    let now = RwSignal::new(chrono::Utc::now());
    let renewing = StoredValue::new(false);
    // Kept apart from the state, which the next reload replaces: the page holds it until the
    // admin says it is copied.
    let once = RwSignal::new(None::<ShownOnce>);

    let load = move || {
        spawn_local(async move {
            match http::get::<AuthView>(&format!("/channels/{id}/auth")).await {
                Ok(view) => state.set(Some(view)),
                Err(e) => error.set(Some(e.message)),
            }
            renewing.set_value(false);
        });
    };
    let start = move |chosen: AuthMethod| {
        method.set(Some(chosen));
        let needs_phone = state.with_untracked(|s| {
            s.as_ref().and_then(|s| s.capabilities.as_ref()).is_some_and(|c| c.pairing_needs_phone)
        });
        if chosen == AuthMethod::PairingCode && needs_phone && phone.get_untracked().trim().is_empty() {
            // Ask for the phone number first; the form calls `start` again.
            state.update(|s| {
                if let Some(s) = s {
                    s.prompt = None;
                }
            });
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let mut body = json!({ "method": chosen });
            if chosen == AuthMethod::PairingCode {
                body["phone"] = json!(phone.get_untracked().trim());
            }
            match http::post::<AuthView, _>(&format!("/channels/{id}/auth/start"), &body).await {
                Ok(view) => state.set(Some(view)),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let submit = move |kind: &'static str| {
        let value = answer.get_untracked();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let body = if kind == "token" {
                let given: serde_json::Map<String, serde_json::Value> =
                    fields.get_untracked().into_iter().map(|(k, v)| (k, json!(v.trim()))).collect();
                json!({ "kind": kind, "fields": given })
            } else {
                json!({ "kind": kind, "value": value.trim() })
            };
            match http::post::<AuthView, _>(&format!("/channels/{id}/auth/submit"), &body).await {
                Ok(view) => {
                    answer.set(String::new());
                    fields.set(Default::default());
                    // A refusal stays on screen until the next attempt, whatever reloads.
                    if view.error.is_some() {
                        error.set(view.error.clone());
                    }
                    if view.shown_once.is_some() {
                        once.set(view.shown_once.clone());
                    }
                    state.set(Some(view));
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    // Browser only: load the state, tick the countdown, renew an expired prompt. The ticker
    // ends with the page (a ticker left running would write to disposed signals).
    let ticker = StoredValue::new(None::<IntervalHandle>);
    on_cleanup(move || {
        if let Some(handle) = ticker.try_get_value().flatten() {
            handle.clear();
        }
    });
    Effect::new(move |_| {
        load();
        let handle = set_interval_with_handle(
            move || {
                now.set(chrono::Utc::now());
                let expired = state.with_untracked(|s| match s.as_ref().and_then(|s| s.prompt.as_ref()) {
                    Some(AuthPrompt::Qr { expires_at, .. }) => *expires_at <= chrono::Utc::now(),
                    _ => false,
                });
                if expired && !renewing.get_value() {
                    renewing.set_value(true);
                    load();
                }
            },
            std::time::Duration::from_secs(1),
        );
        ticker.set_value(handle.ok());
    });

    // The channel's status, live from the realtime inbox topic.
    let live_status =
        Memo::new(move |_| inbox.channels.with(|l| l.iter().find(|c| c.id == id).map(|c| c.status)));
    let connected = Memo::new(move |_| {
        live_status.get() == Some(ChannelStatus::Connected)
            || state.with(|s| s.as_ref().is_some_and(|s| s.status == AuthStatus::Authenticated))
    });
    // A channel the network calls by webhook stays on this page once connected: its callback
    // URL and verify token are what the admin pastes next.
    let has_webhook =
        Memo::new(move |_| state.with(|s| s.as_ref().is_some_and(|s| s.channel.webhook.is_some())));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if connected.get() && !has_webhook.get() && once.with(Option::is_none) {
            let navigate = navigate.clone();
            let handle = set_timeout_with_handle(
                move || navigate("/inbox", Default::default()),
                std::time::Duration::from_millis(1200),
            );
            // Left before it fired (the user clicked away): it must not fire later.
            if let Ok(handle) = handle {
                on_cleanup(move || handle.clear());
            }
        }
    });
    // A status change (the phone confirmed, the network refused) refreshes the prompt.
    Effect::new(move |previous: Option<Option<ChannelStatus>>| {
        let status = live_status.get();
        if previous.is_some_and(|p| p.is_some() && p != status) {
            load();
        }
        status
    });

    // A provider that signs in in two steps (a gateway's token, then linking the phone).
    let two_steps = Memo::new(move |_| {
        state.with(|s| {
            s.as_ref().and_then(|s| s.capabilities.as_ref()).is_some_and(|c| !c.linking_methods.is_empty())
        })
    });
    // At its second step: an answer that does not say (asking for the phone number, a failed
    // attempt) leaves the page where it was.
    let second_step = Memo::new(move |was: Option<&bool>| {
        state.with(|s| s.as_ref().and_then(AuthView::second_step)).unwrap_or(was.copied().unwrap_or(false))
    });
    let methods = move || {
        let second = second_step.get();
        state.with(|s| {
            let s = s.as_ref();
            let capabilities = s.and_then(|s| s.capabilities.as_ref());
            if second {
                s.and_then(|s| s.next_methods.clone())
                    .or_else(|| capabilities.map(|c| c.linking_methods.clone()))
                    .unwrap_or_default()
            } else {
                capabilities.map(|c| c.auth_methods.clone()).unwrap_or_else(|| {
                    vec![AuthMethod::Qr, AuthMethod::Otp, AuthMethod::PairingCode, AuthMethod::Token]
                })
            }
        })
    };
    // Back to the first step (another token), from the second.
    let restart = move || {
        let first = state.with_untracked(|s| {
            s.as_ref().and_then(|s| s.capabilities.as_ref()).and_then(|c| c.auth_methods.first().copied())
        });
        if let Some(first) = first {
            start(first);
        }
    };
    let countdown = move |expires_at: chrono::DateTime<chrono::Utc>| {
        let secs = (expires_at - now.get()).num_seconds().max(0);
        format!("{}:{:02}", secs / 60, secs % 60)
    };

    view! {
        <div class="card auth-card">
            <h1>
                "Connect "
                <span data-testid="auth-channel-name">
                    {move || state.with(|s| s.as_ref().map(|s| s.channel.name.clone()).unwrap_or_default())}
                </span>
            </h1>
            <Show
                when=move || !connected.get()
                fallback=move || {
                    let stays = has_webhook.get_untracked() || once.with_untracked(Option::is_some);
                    let words = if stays { "✓ Connected." } else { "✓ Connected. Opening the inbox…" };
                    view! {
                        <p class="auth-connected" role="status" data-testid="auth-connected">{words}</p>
                        {move || once.get().map(|secret| view! { <SecretOnce secret on_done=move || once.set(None) /> })}
                        <Show when=move || has_webhook.get()>
                            <a href="/inbox" class="button primary" data-testid="open-inbox">"Open the inbox"</a>
                        </Show>
                    }
                }
            >
                <Show when=move || two_steps.get()>
                    <p class="auth-step" data-testid="auth-step">
                        {move || if second_step.get() { "Step 2 of 2: link the phone" } else { "Step 1 of 2: the token" }}
                    </p>
                </Show>
                <div class="methods" role="group" aria-label="Sign-in method">
                    <For each=methods key=|m| *m let:m>
                        <button
                            class="method"
                            class:active=move || method.get() == Some(m)
                            data-testid=format!("method-{}", method_key(m))
                            disabled=move || busy.get()
                            on:click=move |_| start(m)
                        >
                            {move || method_label(m, second_step.get())}
                        </button>
                    </For>
                </div>
                <Show when=move || method.get() == Some(AuthMethod::PairingCode) && state.with(|s| s.as_ref().is_some_and(|s| s.prompt.is_none()))>
                    <form class="stack" on:submit=move |ev| { ev.prevent_default(); start(AuthMethod::PairingCode); }>
                        <label class="field">
                            <span>"The account's phone number"</span>
                            <input
                                type="tel"
                                autocomplete="tel"
                                placeholder="+1 555 0100"
                                prop:value=move || phone.get()
                                on:input=move |ev| phone.set(event_target_value(&ev))
                                required
                            />
                        </label>
                        <button type="submit" class="primary" disabled=move || busy.get()>"Get a pairing code"</button>
                    </form>
                </Show>
                {move || {
                    let Some(view) = state.get() else {
                        return view! { <p class="empty">"Loading…"</p> }.into_any();
                    };
                    match view.prompt.clone() {
                        Some(AuthPrompt::Qr { value, expires_at }) => view! {
                            <div class="prompt qr-prompt">
                                <p>"Scan this code with the phone that holds the account."</p>
                                <div class="qr" data-testid="qr" data-qr-value=value.clone() inner_html=view.qr_svg.clone().unwrap_or_default()></div>
                                <p class="countdown" data-testid="countdown">"Renews in " {move || countdown(expires_at)}</p>
                                <Hint hint=view.hint.clone() />
                            </div>
                        }
                        .into_any(),
                        Some(AuthPrompt::PairingCode { code, expires_at }) => view! {
                            <div class="prompt">
                                <p>"On the phone, choose “Link with phone number” and type this code:"</p>
                                <p class="big-code" data-testid="pairing-code">{code}</p>
                                <p class="countdown" data-testid="countdown">"Expires in " {move || countdown(expires_at)}</p>
                                <Hint hint=view.hint.clone() />
                            </div>
                        }
                        .into_any(),
                        Some(AuthPrompt::Otp { expires_at, .. }) => view! {
                            <form class="prompt stack" on:submit=move |ev| { ev.prevent_default(); submit("otp"); }>
                                <p>"Enter the code the network sent to the account."</p>
                                <Hint hint=view.hint.clone() />
                                <label class="field">
                                    <span>"Code"</span>
                                    <input
                                        class="big-input"
                                        inputmode="numeric"
                                        autocomplete="one-time-code"
                                        prop:value=move || answer.get()
                                        on:input=move |ev| answer.set(event_target_value(&ev))
                                        required
                                    />
                                </label>
                                <p class="countdown" data-testid="countdown">"Expires in " {move || countdown(expires_at)}</p>
                                <button type="submit" class="primary" disabled=move || busy.get()>"Confirm"</button>
                            </form>
                        }
                        .into_any(),
                        Some(AuthPrompt::Token { fields: asked }) => view! {
                            <form class="prompt stack" on:submit=move |ev| { ev.prevent_default(); submit("token"); }>
                                {asked
                                    .into_iter()
                                    .map(|field| {
                                        let name = field.name.clone();
                                        let read = field.name.clone();
                                        view! {
                                            <label class="field">
                                                <span>{field.label}</span>
                                                <input
                                                    type=if field.masked { "password" } else { "text" }
                                                    autocomplete="off"
                                                    name=field.name.clone()
                                                    placeholder=field.placeholder
                                                    prop:value=move || fields.with(|f| f.get(&read).cloned().unwrap_or_default())
                                                    on:input=move |ev| {
                                                        let value = event_target_value(&ev);
                                                        fields.update(|f| {
                                                            f.insert(name.clone(), value);
                                                        });
                                                    }
                                                    required
                                                />
                                            </label>
                                        }
                                    })
                                    .collect_view()}
                                <Hint hint=view.hint.clone() />
                                <button type="submit" class="primary" disabled=move || busy.get()>"Connect"</button>
                            </form>
                        }
                        .into_any(),
                        None => {
                            let text = match view.status {
                                AuthStatus::Expired => "The code expired. Choose a method to get a new one.",
                                AuthStatus::Failed => "Signing in failed. Choose a method to try again.",
                                _ if view.next_methods.is_some() => {
                                    "The token is accepted. Now link the phone: choose how."
                                }
                                _ => "Choose how to sign this channel in.",
                            };
                            view! { <p class="empty" data-testid="auth-idle">{text}</p> }.into_any()
                        }
                    }
                }}
                <Show when=move || second_step.get()>
                    <button class="link-button" data-testid="auth-restart" disabled=move || busy.get() on:click=move |_| restart()>
                        "Back to step 1: use another token"
                    </button>
                </Show>
                <Show when=move || error.get().is_some() || state.with(|s| s.as_ref().is_some_and(|s| s.error.is_some()))>
                    <div class="form-error" role="alert" data-testid="auth-error">
                        {move || error.get().or_else(|| state.with(|s| s.as_ref().and_then(|s| s.error.clone())))}
                        " "
                        <button
                            class="link-button"
                            on:click=move |_| {
                                if let Some(m) = method.get_untracked() {
                                    start(m);
                                } else {
                                    error.set(None);
                                }
                            }
                        >
                            "Try again"
                        </button>
                    </div>
                </Show>
            </Show>
            {move || state.with(|s| s.as_ref().map(|s| s.channel.clone())).map(|channel| view! { <WebhookSetupView channel /> })}
        </div>
    }
}

/// The provider's words under a prompt, with the page it points to.
#[component]
fn Hint(hint: Option<AuthHint>) -> impl IntoView {
    hint.map(|hint| {
        view! {
            <p class="hint" data-testid="auth-hint">
                {hint.text}
                {hint.link.map(|link| view! {
                    " "
                    <a href=link.url target="_blank" rel="noopener">{link.label}</a>
                })}
            </p>
        }
    })
}

/// A secret shown once (an API channel's signing secret), with a copy button; "Done" lets the
/// page move on.
#[component]
fn SecretOnce(secret: ShownOnce, on_done: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let value = secret.value.clone();
    let copy = move |_| super::webhook::copy_to_clipboard(&value, copied);
    view! {
        <div class="secret-once" role="region" aria-label="Secret shown once" data-testid="shown-once">
            <p><strong>"Copy this now: it will not be shown again."</strong></p>
            <p>{secret.label}</p>
            <code class="secret-value" data-testid="shown-once-value">{secret.value}</code>
            <div class="secret-actions">
                <button type="button" on:click=copy>
                    {move || match copied.get() {
                        Some(true) => "Copied",
                        Some(false) => "Copy failed: select it instead",
                        None => "Copy",
                    }}
                </button>
                <button type="button" class="primary" data-testid="shown-once-done" on:click=move |_| on_done()>
                    "Done"
                </button>
            </div>
        </div>
    }
}
