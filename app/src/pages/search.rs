//! Searching message text across the workspace: a button in the top bar (or `/`, Ctrl+K)
//! opens a panel that searches as one types, lists the hits newest first with their matched
//! words marked, and pages on with "Load more". A hit opens its conversation at the message
//! (`/inbox?c={id}&m={message}`, see `inbox/jump.rs`).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::search::SearchHit;

use super::inbox::short_time;
use super::shortcuts::typing_in_field;
use crate::client::http;

/// Hits per page (the server's default page).
const HITS: usize = 20;
/// Typing pauses this long before the search runs.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// The top bar's "Search" button and the panel it opens.
#[component]
pub fn SearchButton() -> impl IntoView {
    let open = RwSignal::new(false);
    // `/` or Ctrl+K (⌘K) anywhere but in a field opens it.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let ctrl_k = (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("k");
        if ctrl_k || (ev.key() == "/" && !typing_in_field(&ev)) {
            ev.prevent_default();
            open.set(true);
        }
    });
    on_cleanup(move || keys.remove());
    view! {
        <button
            class="link-button search-open"
            data-testid="search-open"
            aria-label="Search messages"
            aria-keyshortcuts="/ Control+K"
            title="Search messages (/ or Ctrl+K)"
            on:click=move |_| open.set(true)
        >
            "Search"
        </button>
        <Show when=move || open.get()>
            <SearchPanel open />
        </Show>
    }
}

#[component]
fn SearchPanel(open: RwSignal<bool>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let hits = RwSignal::new(Vec::<SearchHit>::new());
    let more = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Bumped by every change of the text: an answer to an older text is dropped.
    let asked = StoredValue::new(0u32);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(field) = input.get() {
            let _ = field.focus();
        }
    });

    let fetch = move |before: Option<switchboard::MessageId>| {
        let q = text.get_untracked();
        let n = asked.get_value();
        busy.set(true);
        spawn_local(async move {
            let after = before.map(|b| format!("&before={b}")).unwrap_or_default();
            let path = format!("/search/messages?q={}&limit={HITS}{after}", http::encode(q.trim()));
            let answer = http::get::<Vec<SearchHit>>(&path).await;
            if asked.try_get_value() != Some(n) {
                return;
            }
            busy.set(false);
            match answer {
                Ok(page) => {
                    more.set(page.len() == HITS);
                    error.set(None);
                    hits.update(|h| {
                        if before.is_none() {
                            h.clear();
                        }
                        h.extend(page);
                    });
                }
                Err(e) => {
                    more.set(false);
                    hits.set(Vec::new());
                    error.set(Some(e.message));
                }
            }
        });
    };
    let on_input = move |ev| {
        text.set(event_target_value(&ev));
        if text.with_untracked(|t| t.chars().any(char::is_alphanumeric)) {
            after_pause(asked, move || fetch(None));
        } else {
            asked.update_value(|n| *n += 1);
            hits.set(Vec::new());
            more.set(false);
            error.set(None);
            busy.set(false);
        }
    };
    let close = move || open.set(false);
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.stop_propagation();
            close();
        }
    };
    view! {
        <div class="overlay" on:click=move |_| close()>
            <div
                class="overlay-panel search-panel"
                role="dialog"
                aria-modal="true"
                aria-label="Search messages"
                data-testid="search-panel"
                on:click=|ev| ev.stop_propagation()
                on:keydown=on_key
            >
                <input
                    class="search"
                    type="search"
                    placeholder="Search messages"
                    aria-label="Search messages"
                    data-testid="search-input"
                    node_ref=input
                    prop:value=move || text.get()
                    on:input=on_input
                />
                <Show when=move || error.get().is_some()>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                </Show>
                <Show when=move || {
                    hits.with(Vec::is_empty) && !busy.get() && error.get().is_none()
                        && text.with(|t| t.chars().any(char::is_alphanumeric))
                }>
                    <p class="empty" role="status">"No messages match."</p>
                </Show>
                <ul class="conversations" data-testid="search-hits">
                    <For each=move || hits.get() key=|h| h.message.id let:hit>
                        <li>
                            <a
                                class="conversation-item"
                                data-testid="search-hit"
                                href=format!("/inbox?c={}&m={}", hit.message.conversation_id, hit.message.id)
                                on:click=move |_| close()
                            >
                                <span class="item-main">
                                <span class="item-top">
                                    <span class="title" dir="auto">{hit.conversation_title.clone()}</span>
                                    <span class="time">{short_time(hit.message.created_at)}</span>
                                </span>
                                <span class="preview" dir="auto">
                                    {hit
                                        .snippet
                                        .iter()
                                        .map(|p| {
                                            if p.hit {
                                                view! { <mark>{p.text.clone()}</mark> }.into_any()
                                            } else {
                                                p.text.clone().into_any()
                                            }
                                        })
                                        .collect_view()}
                                </span>
                                </span>
                            </a>
                        </li>
                    </For>
                </ul>
                <Show when=move || more.get()>
                    <button
                        class="link-button"
                        disabled=move || busy.get()
                        on:click=move |_| fetch(hits.with_untracked(|h| h.last().map(|h| h.message.id)))
                    >
                        "Load more"
                    </button>
                </Show>
            </div>
        </div>
    }
}

/// Runs `run` once typing pauses: each call counts in `asked`, and only the last one's timer
/// runs (an answer to an older text is dropped by the same count).
pub(super) fn after_pause(asked: StoredValue<u32>, run: impl FnOnce() + 'static) {
    asked.update_value(|n| *n += 1);
    let n = asked.get_value();
    set_timeout(
        move || {
            if asked.try_get_value() == Some(n) {
                run();
            }
        },
        DEBOUNCE,
    );
}
