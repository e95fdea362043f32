//! The pinned bar under the conversation's header: the newest pin in one line ("📌 text"), and
//! "+N more" opening the others. A click on a pin brings its message into view and highlights
//! it, as a quote does. The bar reads the pins when the conversation opens and again whenever
//! they change (`message.pinned` / `message.unpinned`, or this user's own pin or unpin); the
//! actions menu reads them from [`MessageUi::pins`] to offer Pin or Unpin.

use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::MessageId;
use switchboard::message::Pin;

use super::message_actions::{MessageUi, preview};
use crate::inbox::state::Inbox;

/// The open conversation's pins, when it has some.
#[component]
pub fn PinnedBar() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let error = RwSignal::new(None::<String>);
    let expanded = RwSignal::new(false);
    // The latest read: an older answer arriving after a newer one is dropped.
    let reads = StoredValue::new(0u64);
    let open = Memo::new(move |_| inbox.thread.with(|t| t.conversation));
    Effect::new(move |_| {
        inbox.pins_changed.track();
        let Some(conversation) = open.get() else { return };
        reads.update_value(|n| *n += 1);
        let this = reads.get_value();
        spawn_local(async move {
            let answer = inbox.pins(conversation).await;
            if reads.try_get_value() != Some(this) {
                return;
            }
            match answer {
                Ok(pins) => {
                    error.try_set(None);
                    ui.pins.try_set(pins);
                }
                Err(e) => {
                    error.try_set(Some(format!("Could not read the pinned messages: {}", e.message)));
                }
            }
        });
    });
    // Brought into view if it is loaded; else said (older than the history shown).
    let show = move |id: MessageId| {
        expanded.set(false);
        if inbox.thread.with_untracked(|t| t.messages.iter().any(|m| m.id == id)) {
            ui.jump.set(Some(id));
        } else {
            inbox.announcement.set("The pinned message is further back than the messages shown".into());
        }
    };
    let entry = move |pin: &Pin| {
        let id = pin.message.id;
        let by =
            pin.pinned_by.map(|p| format!(", pinned by {}", inbox.author(Some(p), ""))).unwrap_or_default();
        let text = format!("📌 {}", preview(&pin.message));
        view! {
            <button
                type="button"
                class="link-button"
                data-testid="pinned-message"
                title=format!("Show the pinned message{by}")
                on:click=move |_| show(id)
            >
                {text}
            </button>
        }
    };
    view! {
        {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
        <Show when=move || ui.pins.with(|p| !p.is_empty())>
            <div class="thread-header pinned-bar" data-testid="pinned-bar" role="region" aria-label="Pinned messages">
                {move || ui.pins.with(|p| p.first().map(entry))}
                {move || {
                    let more = ui.pins.with(Vec::len).saturating_sub(1);
                    (more > 0).then(|| view! {
                        <button
                            type="button"
                            class="link-button"
                            aria-expanded=move || if expanded.get() { "true" } else { "false" }
                            on:click=move |_| expanded.update(|e| *e = !*e)
                        >
                            {format!("+{more} more")}
                        </button>
                    })
                }}
                <Show when=move || expanded.get()>
                    <ul class="pending-files" aria-label="Other pinned messages">
                        {move || ui.pins.with(|p| {
                            p.iter().skip(1).map(|pin| view! { <li>{entry(pin)}</li> }).collect_view()
                        })}
                    </ul>
                </Show>
            </div>
        </Show>
    }
}
