//! The pages of the app, one module each.

use leptos::prelude::*;
use leptos_meta::Title;

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod attachments;
pub mod bot_bar;
pub mod bot_sessions;
pub mod canned;
pub mod channel_auth;
pub mod composer;
pub mod contact_panel;
pub mod contacts;
pub mod desk;
pub mod desk_list;
pub mod flow_editor;
pub mod flows;
pub mod inbox;
pub mod invite;
pub mod labels;
pub mod login;
pub mod markdown;
pub mod mentions;
pub mod message_actions;
pub mod moderation;
pub mod notifications;
pub mod pins;
pub mod report;
pub mod search;
pub mod shortcuts;
pub mod templates;
pub mod thread;
pub mod threads;
pub mod webhook;
pub mod webhooks;

/// Shown for any path no route matches.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <div class="center-page">
            <div class="card">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <a href="/inbox">"Go to the inbox"</a>
            </div>
        </div>
    }
}
