//! Reporting someone else's message to the workspace's moderators: the reason asked in its
//! bubble ("Report" or "Cancel"), then "Reported to the moderators" for a moment.

use leptos::html::Textarea;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::MessageId;

use super::message_actions::{MessageUi, for_a_moment};
use crate::inbox::state::Inbox;

/// How long the confirmation stays, in milliseconds.
const CONFIRMED_MS: u64 = 5000;

/// "Why are you reporting it?", asked in the bubble. Escape (or Cancel) leaves it unreported.
#[component]
pub fn ReportForm(id: MessageId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let field = NodeRef::<Textarea>::new();
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(f) = field.try_get_untracked().flatten() {
                let _ = f.focus();
            }
        });
    });
    let cancel = move || {
        ui.reporting.set(None);
        ui.refocus(id);
    };
    let submit = move || {
        let why = reason.get_untracked().trim().to_owned();
        if why.is_empty() {
            error.set(Some("Say what is wrong with this message.".into()));
            return;
        }
        sending.set(true);
        spawn_local(async move {
            match inbox.flag(id, why).await {
                Ok(()) => {
                    ui.reporting.try_update(|r| {
                        if *r == Some(id) {
                            *r = None;
                        }
                    });
                    // The page may have gone meanwhile, and its signals with it.
                    if !ui.reported.is_disposed() {
                        for_a_moment(ui.reported, id, CONFIRMED_MS);
                        ui.refocus(id);
                    }
                }
                Err(e) => {
                    sending.try_set(false);
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            cancel();
        }
    };
    view! {
        <form
            class="edit"
            data-testid="report-message"
            aria-label="Report this message"
            on:keydown=on_key
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <textarea
                class="search"
                aria-label="Why are you reporting it?"
                placeholder="Why are you reporting it?"
                node_ref=field
                prop:value=move || reason.get()
                on:input=move |ev| reason.set(event_target_value(&ev))
            ></textarea>
            {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || sending.get()>"Report"</button>
                <button type="button" class="link-button" on:click=move |_| cancel()>"Cancel"</button>
            </div>
        </form>
    }
}

/// The confirmation under a message just reported.
#[component]
pub fn Reported() -> impl IntoView {
    view! { <p class="hint" role="status" data-testid="reported">"Reported to the moderators"</p> }
}
