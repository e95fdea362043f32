//! What an admin pastes into a network's console so its webhooks reach a channel (the callback
//! URL and verify token), each with a copy button, and who the channel is on the network once
//! signed in. Shown on the channel's auth page and on the admin page.

use leptos::prelude::*;
use switchboard::Channel;
use switchboard::channel::ChannelIdentity;

/// Puts `text` on the clipboard and sets `copied` once the browser has answered, yes or no
/// (`navigator.clipboard.writeText`, looked up at run time: the binding is not among web-sys's
/// stable APIs). Unlike a fire-and-forget call, a refusal is seen and is not left unhandled.
pub(super) fn copy_to_clipboard(text: &str, copied: RwSignal<Option<bool>>) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    let function = |of: &JsValue, name: &str| {
        js_sys::Reflect::get(of, &JsValue::from_str(name)).ok()?.dyn_into::<js_sys::Function>().ok()
    };
    let written = web_sys::window().and_then(|window| {
        let clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard")).ok()?;
        let promise = function(&clipboard, "writeText")?.call1(&clipboard, &JsValue::from_str(text)).ok()?;
        Some((function(&promise, "then")?, promise))
    });
    let Some((then, promise)) = written else {
        copied.set(Some(false));
        return;
    };
    // The page may be gone when the browser answers: `try_set` is a no-op then.
    let ok = Closure::once_into_js(move |_: JsValue| {
        copied.try_set(Some(true));
    });
    let refused = Closure::once_into_js(move |_: JsValue| {
        copied.try_set(Some(false));
    });
    if then.call2(&promise, &ok, &refused).is_err() {
        copied.set(Some(false));
    }
}

/// A value with a button that copies it.
#[component]
fn Copyable(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let text = value.clone();
    let copy = move |_| copy_to_clipboard(&text, copied);
    view! {
        <div class="copyable">
            <span class="copyable-label">{label}</span>
            <code data-testid=testid>{value}</code>
            <button type="button" class="link-button" on:click=copy aria-label=format!("Copy the {}", label.to_lowercase())>
                {move || match copied.get() {
                    Some(true) => "Copied",
                    Some(false) => "Copy failed: select it instead",
                    None => "Copy",
                }}
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
