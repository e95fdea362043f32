//! The page an invitation link opens (`/invite/{token}`): what the invitation offers, and for a
//! person without an account a name and password form that creates it, joins the workspace and
//! signs them in. A person with an account is asked to sign in and accept from the inbox.
//! Backed by the public `/api/v1/invitations/by-token/{token}` routes.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde_json::json;
use switchboard::auth::LoginOutcome;
use switchboard::invitation::InvitationPreview;

use crate::client::http;

/// Where the page stands.
#[derive(Clone, Debug, PartialEq)]
enum Stage {
    Loading,
    Open(InvitationPreview),
    /// The link does not work (unknown, used, revoked, expired): words to show.
    Closed(String),
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let stage = RwSignal::new(Stage::Loading);
    let error = RwSignal::new(None::<String>);
    let has_account = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let (name, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    // Browser only: the link's secret never goes through a server function's logs.
    Effect::new(move |_| {
        let token = token();
        spawn_local(async move {
            match http::get::<InvitationPreview>(&format!("/invitations/by-token/{}", http::encode(&token)))
                .await
            {
                Ok(preview) => stage.set(Stage::Open(preview)),
                Err(e) => stage.set(Stage::Closed(e.message)),
            }
        });
    });
    let join = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        pending.set(true);
        let body = json!({ "name": name.get_untracked().trim(), "password": password.get_untracked() });
        let path = format!("/invitations/by-token/{}/accept", http::encode(&token()));
        spawn_local(async move {
            match http::post::<LoginOutcome, _>(&path, &body).await {
                // Signed in (the answer set the cookie): a full load renders the inbox as them.
                Ok(_) => {
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().set_href("/inbox");
                    }
                }
                Err(e) => {
                    has_account.set(e.status == 409);
                    error.set(Some(e.message));
                    pending.set(false);
                }
            }
        });
    };
    view! {
        <Title text="Invitation" />
        <div class="center-page">
            <div class="card login-card" data-testid="invitation">
                <div class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " Switchboard"
                </div>
                {move || match stage.get() {
                    Stage::Loading => view! { <p class="loading">"Loading…"</p> }.into_any(),
                    Stage::Closed(message) => view! {
                        <h1>"This invitation does not work"</h1>
                        <p role="alert" data-testid="invitation-closed">{message}</p>
                        <a href="/login">"Sign in"</a>
                    }.into_any(),
                    Stage::Open(preview) => view! {
                        <h1>"Join " {preview.workspace_name.clone()}</h1>
                        <p>
                            "You are invited as " <strong>{preview.role.as_str()}</strong> " with "
                            <strong data-testid="invitation-email">{preview.email.clone()}</strong> "."
                        </p>
                        <p class="muted">
                            "Already have an account with this email? "
                            <a href="/login">"Sign in"</a>
                            " and accept the invitation at the top of your inbox."
                        </p>
                        <form on:submit=join aria-label="Create your account">
                            <div class="stack">
                                <label class="field">
                                    <span>"Your name"</span>
                                    <input name="name" autocomplete="name" required
                                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                                </label>
                                <label class="field">
                                    <span>"Choose a password"</span>
                                    <input type="password" name="password" autocomplete="new-password" required
                                        prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                                </label>
                                <Show when=move || error.get().is_some()>
                                    <p class="form-error" role="alert" data-testid="invitation-error">
                                        {move || error.get()} " "
                                        <Show when=move || has_account.get()>
                                            <a href="/login">"Sign in"</a>
                                        </Show>
                                    </p>
                                </Show>
                                <button type="submit" class="primary" disabled=move || pending.get()>
                                    "Join"
                                </button>
                            </div>
                        </form>
                    }.into_any(),
                }}
            </div>
        </div>
    }
}
