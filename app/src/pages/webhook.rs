//! What an admin pastes into a network's console so its webhooks reach a channel (the callback
//! URL and verify token), each with a copy button, and who the channel is on the network once
//! signed in. Shown on the channel's auth page and on the admin page.

use leptos::prelude::*;
use switchboard::Channel;
use switchboard::channel::ChannelIdentity;

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`, looked up at run time: the
/// binding is not among web-sys's stable APIs). False where there is no clipboard.
fn copy_text(text: &str) -> bool {
    use wasm_bindgen::{JsCast, JsValue};
    let Some(window) = web_sys::window() else { return false };
    let navigator: JsValue = window.navigator().into();
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard")) else {
        return false;
    };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText")) else {
        return false;
    };
    match write.dyn_into::<js_sys::Function>() {
        Ok(write) => write.call1(&clipboard, &JsValue::from_str(text)).is_ok(),
        Err(_) => false,
    }
}

/// A value with a button that copies it.
#[component]
fn Copyable(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = value.clone();
    let copy = move |_| {
        if copy_text(&text) {
            copied.set(true);
        }
    };
    view! {
        <div class="copyable">
            <span class="copyable-label">{label}</span>
            <code data-testid=testid>{value}</code>
            <button type="button" class="link-button" on:click=copy aria-label=format!("Copy the {}", label.to_lowercase())>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}

/// The channel's webhook set-up and identity, when it has them.
#[component]
pub fn WebhookSetupView(channel: Channel) -> impl IntoView {
    let identity: Option<ChannelIdentity> =
        channel.config.get("identity").and_then(|v| serde_json::from_value(v.clone()).ok());
    let identity = identity.map(|i| {
        let text = [i.name, i.number].into_iter().flatten().collect::<Vec<_>>().join(" · ");
        view! { <p class="identity" data-testid="channel-identity">{text}</p> }
    });
    let webhook = channel.webhook.map(|hook| {
        view! {
            <div class="webhook-setup" data-testid="webhook-setup">
                <p class="hint">"In the network's console, set the webhook to:"</p>
                <Copyable label="Callback URL" value=hook.url testid="webhook-url" />
                {hook.verify_token.map(|token| view! { <Copyable label="Verify token" value=token testid="webhook-verify-token" /> })}
            </div>
        }
    });
    view! { {identity} {webhook} }
}
