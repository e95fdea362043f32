//! The inbox's keyboard shortcuts, and the overlay that lists them (`?`). Keys typed into a
//! field (an input, a textarea, rich text) are the field's, never a shortcut.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use switchboard::ConversationId;
use switchboard::message::ConversationStatus;
use wasm_bindgen::JsCast;

use crate::inbox::state::Inbox;

/// What the overlay lists: the keys and what they do.
const KEYS: [(&str, &str); 7] = [
    ("j / Alt+↓", "Next conversation"),
    ("k / Alt+↑", "Previous conversation"),
    ("a", "Assign the open conversation to me"),
    ("e", "Resolve the open conversation"),
    ("r / c", "Write in the composer"),
    ("/ / Ctrl+K", "Search messages"),
    ("?", "Show these shortcuts"),
];

/// Whether the key went to something one types into.
pub fn typing_in_field(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || el.is_content_editable()
}

/// Listens for the shortcuts while the inbox is shown (mounted once in it).
#[component]
pub fn Shortcuts() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let query = use_query_map();
    let navigate = use_navigate();
    let help = RwSignal::new(false);
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && help.get_untracked() {
            help.set(false);
            return;
        }
        // Alt+↓/↑ move on from the composer too; the letters are a field's own.
        let typing = typing_in_field(&ev) && !ev.alt_key();
        if typing || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        let open = query
            .with_untracked(|q| q.get("c").and_then(|c| c.parse::<uuid::Uuid>().ok()))
            .map(ConversationId);
        let step = match (ev.key().as_str(), ev.alt_key()) {
            ("j", false) | ("ArrowDown", true) => Some(1),
            ("k", false) | ("ArrowUp", true) => Some(-1),
            _ => None,
        };
        if let Some(step) = step {
            let list = untrack(|| inbox.visible(open));
            let at = open.and_then(|id| list.iter().position(|c| c.conversation.id == id));
            let next = match at {
                Some(i) => i.checked_add_signed(step).filter(|n| *n < list.len()),
                None if !list.is_empty() => Some(if step > 0 { 0 } else { list.len() - 1 }),
                None => None,
            };
            if let Some(next) = next {
                ev.prevent_default();
                navigate(&format!("/inbox?c={}", list[next].conversation.id), Default::default());
            }
            return;
        }
        if ev.alt_key() || typing_in_field(&ev) {
            return;
        }
        match (ev.key().as_str(), open) {
            ("?", _) => help.set(true),
            ("a", Some(id)) => inbox.claim(id),
            ("e", Some(id)) => inbox.set_status(id, ConversationStatus::Resolved, None),
            ("r" | "c", Some(_)) => {
                let composer = document().query_selector("[data-testid=composer]").ok().flatten();
                if let Some(field) = composer.and_then(|c| c.dyn_into::<web_sys::HtmlElement>().ok()) {
                    let _ = field.focus();
                }
            }
            _ => return,
        }
        ev.prevent_default();
    });
    on_cleanup(move || keys.remove());
    view! {
        <Show when=move || help.get()>
            <div class="overlay" on:click=move |_| help.set(false)>
                <div
                    class="overlay-panel"
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby="shortcuts-title"
                    data-testid="shortcuts"
                    on:click=|ev| ev.stop_propagation()
                >
                    <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                    <table>
                        <tbody>
                            {KEYS
                                .iter()
                                .map(|(keys, what)| view! { <tr><th scope="row"><kbd>{*keys}</kbd></th><td>{*what}</td></tr> })
                                .collect_view()}
                        </tbody>
                    </table>
                    <button class="link-button" on:click=move |_| help.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}
