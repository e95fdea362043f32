//! The composer: the text (Enter sends, Shift+Enter a new line, the draft kept per
//! conversation), typing notices, the length counter, and files picked, dropped or pasted,
//! uploaded at once with their progress and sent with the text as their caption. A reply
//! chosen in a message's actions shows above it (Escape stops replying). Typing `@` suggests
//! people to mention, `/` the canned replies (`mentions.rs`). In a conversation with a contact,
//! the "Note" toggle makes the next sends private notes, which only the team reads (tinted
//! while on). A frozen room's composer is closed; a room in slow mode says so.

use std::collections::HashMap;

use leptos::prelude::*;
use switchboard::desk::{ReplyContext, fill_in, search_canned};
use switchboard::message::MAX_TEXT_CHARS;
use wasm_bindgen::JsCast;

use super::attachments::{PendingFile, PendingState};
use super::mentions::{
    Kind, Popup, Suggestion, SuggestionList, complete, option_id, query_at, splice, suggest,
};
use super::message_actions::{MessageUi, ReplyingTo};
use crate::client::upload;
use crate::inbox::state::{Inbox, drafts};

/// Enter sends, Shift+Enter starts a new line; the draft survives reloads.
#[component]
pub fn Composer() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let text = RwSignal::new(String::new());
    let last_typing = StoredValue::new(0.0f64);
    let field = NodeRef::<leptos::html::Textarea>::new();
    // Load the draft of the conversation being opened, and put the cursor there.
    // Files picked, dropped or pasted: uploaded at once, sent with the text (their caption).
    let files = RwSignal::new(Vec::<PendingFile>::new());
    // Each file's upload number (see `upload::cancel`).
    let uploads = StoredValue::new(HashMap::<u64, u64>::new());
    // Writing a private note instead of a message.
    let note = RwSignal::new(false);
    Effect::new(move |previous: Option<Option<switchboard::ConversationId>>| {
        let id = inbox.thread.with(|t| t.conversation);
        if previous.is_some_and(|p| p != id) {
            // Each conversation starts with a message to the customer, not a note.
            note.set(false);
            // Files belong to the conversation they were picked in: never sent to the next one.
            uploads.update_value(|u| u.drain().for_each(|(_, id)| upload::cancel(id)));
            files.set(Vec::new());
        }
        if previous != Some(id)
            && let Some(id) = id
        {
            text.set(drafts::load(id));
            if let Some(field) = field.get() {
                let _ = field.focus();
            }
        }
        id
    });
    // Reply chosen on a message: the cursor comes here to write it.
    Effect::new(move |_| {
        if ui.replying.get().is_some()
            && let Some(field) = field.get_untracked()
        {
            let _ = field.focus();
        }
    });
    // Who may be mentioned: a room's members, or the team for a contact's conversation.
    let room_members = RwSignal::new(None::<Vec<switchboard::UserId>>);
    let open_conversation = move || {
        let id = inbox.thread.with(|t| t.conversation)?;
        inbox
            .conversations
            .with(|l| l.iter().find(|c| c.conversation.id == id).map(|c| c.conversation.clone()))
    };
    Effect::new(move |previous: Option<Option<switchboard::ConversationId>>| {
        let id = inbox.thread.with(|t| t.conversation);
        if previous != Some(id) {
            room_members.set(None);
            let room = open_conversation().is_some_and(|c| c.contact_id.is_none());
            if let (Some(id), true) = (id, room) {
                leptos::task::spawn_local(async move {
                    let path = format!("/conversations/{id}/members");
                    if let Ok(members) = crate::client::http::get::<Vec<switchboard::UserId>>(&path).await {
                        room_members.set(Some(members));
                    }
                });
            }
        }
        id
    });
    let mentionable = move || -> Vec<(switchboard::UserId, String)> {
        inbox.people.with(|people| {
            let mut all: Vec<(switchboard::UserId, String)> = match room_members.get() {
                Some(members) => {
                    members.iter().filter_map(|id| people.get(id).map(|name| (*id, name.clone()))).collect()
                }
                None => people.iter().map(|(id, name)| (*id, name.clone())).collect(),
            };
            all.retain(|(id, _)| *id != inbox.me);
            all
        })
    };
    let popup = RwSignal::new(None::<Popup>);
    // The caret as a byte offset of the text (the browser counts UTF-16 units).
    let caret = move |value: &str| -> usize {
        let units =
            field.get_untracked().and_then(|f| f.selection_start().ok().flatten()).unwrap_or(0) as usize;
        let mut seen = 0;
        for (i, c) in value.char_indices() {
            if seen >= units {
                return i;
            }
            seen += c.len_utf16();
        }
        value.len()
    };
    // A canned reply's variables: the contact (a room's title) and this agent.
    let canned_matches = move |query: &str| -> Vec<Suggestion> {
        let contact = open_conversation().map(|c| c.title).unwrap_or_default();
        let agent = inbox.my_name();
        let context = ReplyContext { contact_name: &contact, agent_name: &agent };
        inbox.desk.canned.with_untracked(|replies| {
            search_canned(replies, query, 6)
                .iter()
                .map(|r| {
                    let filled = fill_in(&r.text, &context);
                    let line = filled.lines().next().unwrap_or_default();
                    let mut detail: String = line.chars().take(60).collect();
                    if detail.len() < filled.len() {
                        detail.push('…');
                    }
                    Suggestion { label: format!("/{}", r.short_code), detail, insert: filled }
                })
                .collect()
        })
    };
    let matches = move |kind: Kind, query: &str| match kind {
        Kind::Mention => suggest(&mentionable(), query)
            .iter()
            .map(|(_, name)| Suggestion {
                label: format!("@{name}"),
                detail: String::new(),
                insert: name.clone(),
            })
            .collect(),
        Kind::Canned => canned_matches(query),
    };
    let follow_popup = move |value: &str| {
        let at_caret = caret(value);
        let found = query_at(value, at_caret, '/')
            .map(|q| (Kind::Canned, q))
            .or_else(|| query_at(value, at_caret, '@').map(|q| (Kind::Mention, q)));
        let was_canned = popup.with_untracked(|p| p.as_ref().is_some_and(|p| p.kind == Kind::Canned));
        if !was_canned && found.as_ref().is_some_and(|(kind, _)| *kind == Kind::Canned) {
            inbox.fresh_canned();
        }
        popup.set(found.map(|(kind, (at, query))| Popup {
            kind,
            at,
            caret: at_caret,
            matches: matches(kind, &query),
            query,
            chosen: 0,
        }));
    };
    // Canned replies read again while the popup is open: its matches follow.
    Effect::new(move |_| {
        inbox.desk.canned.track();
        let Some(query) =
            popup.with_untracked(|p| p.as_ref().filter(|p| p.kind == Kind::Canned).map(|p| p.query.clone()))
        else {
            return;
        };
        let found = untrack(move || canned_matches(&query));
        popup.update(|p| {
            if let Some(p) = p.as_mut() {
                p.chosen = p.chosen.min(found.len().saturating_sub(1));
                p.matches = found;
            }
        });
    });
    let pick = Callback::new(move |i: usize| {
        let Some(p) = popup.get_untracked() else { return };
        let Some(chosen) = p.matches.get(i) else { return };
        let (value, at) = match p.kind {
            Kind::Mention => complete(&text.get_untracked(), p.at, p.caret, &chosen.insert),
            Kind::Canned => splice(&text.get_untracked(), p.at, p.caret, &chosen.insert),
        };
        if let Some(id) = inbox.thread.with_untracked(|t| t.conversation) {
            drafts::save(id, &value);
        }
        text.set(value.clone());
        popup.set(None);
        if let Some(field) = field.get_untracked() {
            field.set_value(&value);
            let units = value[..at].encode_utf16().count() as u32;
            let _ = field.set_selection_range(units, units);
            let _ = field.focus();
        }
    });
    let frozen = move || open_conversation().is_some_and(|c| c.frozen);
    // Notes are for conversations with a contact (a room's readers are all its members).
    let can_note = Memo::new(move |_| open_conversation().is_some_and(|c| c.contact_id.is_some()));
    let noting = move || note.get() && can_note.get();
    let slow_mode = move || open_conversation().and_then(|c| c.slow_mode_secs);
    // Characters as the server counts them (of the trimmed text); shown near the limit.
    let length = Memo::new(move |_| text.with(|t| t.trim().chars().count()));
    let too_long = move || length.get() > MAX_TEXT_CHARS;
    let next_key = StoredValue::new(0u64);
    let dragging = RwSignal::new(false);
    let uploading = move || files.with(|f| f.iter().any(|f| f.state == PendingState::Uploading));
    // What keeps the files from going: a failed one (remove it first) or too many.
    let files_problem = move || {
        files.with(|f| {
            if f.iter().any(|p| matches!(p.state, PendingState::Failed(_))) {
                Some("Remove the files that failed to upload first.".to_owned())
            } else if f.len() > switchboard::media::MAX_ATTACHMENTS {
                Some(format!("A message carries at most {} files.", switchboard::media::MAX_ATTACHMENTS))
            } else {
                None
            }
        })
    };
    let add_files = move |list: web_sys::FileList| {
        for i in 0..list.length() {
            let Some(file) = list.item(i) else { continue };
            let key = next_key.get_value();
            next_key.set_value(key + 1);
            files.update(|f| {
                f.push(PendingFile {
                    key,
                    name: file.name(),
                    size: file.size() as u64,
                    progress: 0.0,
                    state: PendingState::Uploading,
                })
            });
            let set = move |change: &dyn Fn(&mut PendingFile)| {
                files.update(|f| {
                    if let Some(p) = f.iter_mut().find(|p| p.key == key) {
                        change(p);
                    }
                })
            };
            let progress = move |share: f64| set(&|p: &mut PendingFile| p.progress = share);
            let done = move |result: Result<
                switchboard::media::Attachment,
                crate::client::http::ApiError,
            >| {
                uploads.update_value(|u| {
                    u.remove(&key);
                });
                match result {
                    Ok(up) => set(&|p: &mut PendingFile| {
                        p.progress = 1.0;
                        p.state = PendingState::Done(Box::new(up.clone()));
                    }),
                    // Cancelled: already gone from the list.
                    Err(e) if e.status == 0 && e.message.is_empty() => {}
                    Err(e) => set(&|p: &mut PendingFile| p.state = PendingState::Failed(e.message.clone())),
                }
            };
            match upload::start(&file, None, progress, done) {
                Ok(id) => uploads.update_value(|u| {
                    u.insert(key, id);
                }),
                Err(e) => set(&|p: &mut PendingFile| p.state = PendingState::Failed(e.message.clone())),
            }
        }
    };
    let remove_file = move |key: u64| {
        uploads.update_value(|u| {
            if let Some(id) = u.remove(&key) {
                upload::cancel(id);
            }
        });
        files.update(|f| f.retain(|p| p.key != key));
    };
    let send = move || {
        let body = text.get_untracked();
        if uploading() || files_problem().is_some() {
            return;
        }
        let attachments: Vec<switchboard::media::Attachment> =
            files.with_untracked(|f| f.iter().filter_map(|p| p.done().cloned()).collect());
        if (body.trim().is_empty() && attachments.is_empty()) || length.get_untracked() > MAX_TEXT_CHARS {
            // Refused here, before anything is sent; the text stays to be shortened.
            return;
        }
        let as_note = untrack(noting);
        inbox.send(body.trim().to_owned(), attachments, ui.replying.get_untracked(), as_note);
        ui.replying.set(None);
        text.set(String::new());
        files.set(Vec::new());
        if let Some(id) = inbox.thread.with_untracked(|t| t.conversation) {
            drafts::save(id, "");
        }
    };
    let on_paste = move |ev: leptos::ev::ClipboardEvent| {
        if let Some(list) = ev.clipboard_data().and_then(|d| d.files())
            && list.length() > 0
        {
            ev.prevent_default();
            add_files(list);
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
            add_files(list);
        }
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        if let Some(list) = input.files() {
            add_files(list);
        }
        // The same file can be picked again.
        input.set_value("");
    };
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if let Some(id) = inbox.thread.with_untracked(|t| t.conversation) {
            drafts::save(id, &value);
        }
        follow_popup(&value);
        text.set(value);
        let now = crate::client::now_ms();
        if now - last_typing.get_value() > 1500.0 {
            last_typing.set_value(now);
            inbox.typing();
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let suggesting = popup.with_untracked(|p| p.as_ref().map_or(0, |p| p.matches.len()));
        if suggesting > 0 {
            let step = |by: usize| {
                popup.update(|p| {
                    if let Some(p) = p {
                        p.chosen = (p.chosen + by) % suggesting;
                    }
                })
            };
            let handled = match ev.key().as_str() {
                "ArrowDown" => {
                    step(1);
                    true
                }
                "ArrowUp" => {
                    step(suggesting - 1);
                    true
                }
                "Enter" | "Tab" if !ev.shift_key() => {
                    pick.run(popup.with_untracked(|p| p.as_ref().map_or(0, |p| p.chosen)));
                    true
                }
                "Escape" => {
                    popup.set(None);
                    true
                }
                _ => false,
            };
            if handled {
                ev.prevent_default();
                return;
            }
        }
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        } else if ev.key() == "Escape" && ui.replying.get_untracked().is_some() {
            ev.prevent_default();
            ui.replying.set(None);
        }
    };
    view! {
        <form
            class="composer"
            class:dragging=move || dragging.get()
            class:note=noting
            on:submit=move |ev| { ev.prevent_default(); send(); }
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <ReplyingTo />
            <Show when=move || files.with(|f| !f.is_empty())>
                <ul class="pending-files" data-testid="pending-files" aria-label="Files to send">
                    <For each=move || files.get() key=|p| (p.key, p.progress.to_bits(), matches!(p.state, PendingState::Uploading)) let:p>
                        <li class="pending-file" data-testid="pending-file" class:failed=matches!(p.state, PendingState::Failed(_))>
                            <span class="file-name">{p.name.clone()}</span>
                            {match p.state.clone() {
                                PendingState::Uploading => view! {
                                    <progress max="100" value=(p.progress * 100.0) as u32 aria-label=format!("Uploading {}", p.name)></progress>
                                }.into_any(),
                                PendingState::Done(_) => view! {
                                    <span class="file-facts">{switchboard::media::human_size(p.size)}</span>
                                }.into_any(),
                                PendingState::Failed(why) => view! {
                                    <span class="file-error" role="alert">{why}</span>
                                }.into_any(),
                            }}
                            <button
                                type="button"
                                class="remove-file"
                                aria-label=format!("Remove {}", p.name)
                                on:click=move |_| remove_file(p.key)
                            >"✕"</button>
                        </li>
                    </For>
                </ul>
            </Show>
            <label class="attach" title="Attach files">
                <span aria-hidden="true">"📎"</span>
                <span class="visually-hidden">"Attach files"</span>
                <input type="file" multiple data-testid="attach-input" on:change=on_pick />
            </label>
            <Show when=move || can_note.get()>
                <button
                    type="button"
                    class="filter"
                    class:active=noting
                    aria-pressed=move || noting().to_string()
                    title="Write a private note: only your team sees it"
                    data-testid="note-toggle"
                    on:click=move |_| {
                        note.update(|n| *n = !*n);
                        if let Some(field) = field.get_untracked() {
                            let _ = field.focus();
                        }
                    }
                >
                    "Note"
                </button>
            </Show>
            <SuggestionList popup pick />
            <textarea
                rows="1"
                placeholder=move || {
                    if frozen() {
                        "This room is frozen: no new messages"
                    } else if noting() {
                        "Private note: only your team sees this"
                    } else {
                        "Type a message"
                    }
                }
                aria-label="Message"
                data-testid="composer"
                node_ref=field
                disabled=frozen
                prop:value=move || text.get()
                on:input=on_input
                on:keydown=on_keydown
                on:paste=on_paste
                on:blur=move |_| popup.set(None)
                aria-controls=move || popup.with(|p| p.as_ref().filter(|p| !p.matches.is_empty()).map(|_| "suggestions"))
                aria-activedescendant=move || {
                    popup.with(|p| p.as_ref().filter(|p| !p.matches.is_empty()).map(|p| option_id(p.chosen)))
                }
            ></textarea>
            {move || slow_mode().map(|secs| view! {
                <span class="counter" data-testid="slow-mode">{format!("Slow mode: one message every {secs} s")}</span>
            })}
            <Show when=move || { length.get() * 10 >= MAX_TEXT_CHARS * 9 }>
                <span
                    class="counter"
                    class:over=too_long
                    data-testid="composer-counter"
                    aria-live="polite"
                >
                    {move || {
                        let n = length.get();
                        if n > MAX_TEXT_CHARS {
                            format!("{} characters too long to send", n - MAX_TEXT_CHARS)
                        } else {
                            format!("{} characters left", MAX_TEXT_CHARS - n)
                        }
                    }}
                </span>
            </Show>
            {move || files_problem().map(|why| view! { <span class="file-error" role="alert" data-testid="files-problem">{why}</span> })}
            <button type="submit" class="primary" aria-label="Send" disabled=move || too_long() || uploading() || files_problem().is_some() || frozen()>
                {move || if uploading() { "Uploading…" } else { "Send" }}
            </button>
        </form>
    }
}
