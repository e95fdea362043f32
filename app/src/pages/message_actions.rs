//! What an agent does with a message in the open conversation: the actions menu on each bubble
//! (react, reply, reply in thread, copy, edit, pin, report, delete), the reaction chips that toggle one's own reaction, the
//! quote of the message a reply answers, the inline editor and the "replying to" bar above the
//! composer.
//!
//! Which message is being replied to, edited, deleted or reported, which thread is open and
//! what is pinned live in [`MessageUi`], shared by the rows, the composer and the panels: the list re-renders a row whenever what it shows changes (a tick, a
//! reaction), and an open menu or a half-edited text must survive that.

use leptos::html::{Button, Div, Textarea};
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::message::Pin;
use switchboard::reaction::ReactionCount;
use switchboard::{Message, MessageId};
use wasm_bindgen::JsCast;

use crate::inbox::state::Inbox;

/// The reactions the menu offers in one click.
pub const QUICK_REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/// Longest preview of a quoted message, in characters.
const PREVIEW_CHARS: usize = 80;

/// The conversation pane's message actions in progress. `Copy`: every field is a signal.
#[derive(Clone, Copy)]
pub struct MessageUi {
    /// The message whose actions menu is open.
    pub menu: RwSignal<Option<MessageId>>,
    /// The message asking "Delete for everyone?".
    pub confirm: RwSignal<Option<MessageId>>,
    /// The message whose text is being edited, and the text so far.
    pub editing: RwSignal<Option<MessageId>>,
    pub draft: RwSignal<String>,
    /// Why the last save of that edit was refused. Kept here, not in the editor, so a row
    /// rendered again (a status or reaction arriving) still shows it.
    pub edit_error: RwSignal<Option<String>>,
    /// The message the composer's next send answers.
    pub replying: RwSignal<Option<MessageId>>,
    /// A message to bring into view: the list scrolls to it and clears this.
    pub jump: RwSignal<Option<MessageId>>,
    /// The message just jumped to, highlighted for a moment.
    pub flash: RwSignal<Option<MessageId>>,
    /// The message whose thread the side panel shows.
    pub thread: RwSignal<Option<MessageId>>,
    /// The open conversation's pins, the newest first (the pinned bar reads them).
    pub pins: RwSignal<Vec<Pin>>,
    /// The message being reported (its reason asked in the bubble).
    pub reporting: RwSignal<Option<MessageId>>,
    /// The message just reported, confirmed for a moment.
    pub reported: RwSignal<Option<MessageId>>,
    /// The message whose actions button takes back the focus if it falls to the page (its
    /// menu, editor or question closed, or its row was rendered again), for a moment.
    focus_back: RwSignal<Option<MessageId>>,
    /// The clipboard's answer to the last Copy (the menu is gone by then).
    copied: RwSignal<Option<bool>>,
}

impl MessageUi {
    /// A fresh set for the thread pane, provided to its rows and composer. Opening another
    /// conversation drops whatever was in progress in the last one.
    pub fn provide(inbox: Inbox) -> Self {
        let ui = MessageUi {
            menu: RwSignal::new(None),
            confirm: RwSignal::new(None),
            editing: RwSignal::new(None),
            draft: RwSignal::new(String::new()),
            edit_error: RwSignal::new(None),
            replying: RwSignal::new(None),
            jump: RwSignal::new(None),
            flash: RwSignal::new(None),
            thread: RwSignal::new(None),
            pins: RwSignal::new(Vec::new()),
            reporting: RwSignal::new(None),
            reported: RwSignal::new(None),
            focus_back: RwSignal::new(None),
            copied: RwSignal::new(None),
        };
        let open = Memo::new(move |_| inbox.thread.with(|t| t.conversation));
        Effect::new(move |previous: Option<Option<switchboard::ConversationId>>| {
            let id = open.get();
            if previous.is_some_and(|p| p != id) {
                ui.menu.set(None);
                ui.confirm.set(None);
                ui.editing.set(None);
                ui.replying.set(None);
                ui.thread.set(None);
                ui.pins.set(Vec::new());
                ui.reporting.set(None);
            }
            id
        });
        Effect::new(move |_| match ui.copied.get() {
            Some(true) => inbox.announcement.set("Message copied".into()),
            Some(false) => inbox.error.set(Some("Could not copy: select the text instead.".into())),
            None => {}
        });
        provide_context(ui);
        ui
    }

    /// Highlights a message for a moment (the one a quote was clicked for).
    pub fn flash(self, id: MessageId) {
        for_a_moment(self.flash, id, 1600);
    }

    /// Gives the focus back to a message's actions button, if it falls to the page within a
    /// second (the row is rendered again when the change it asked for comes back).
    pub fn refocus(self, id: MessageId) {
        for_a_moment(self.focus_back, id, 1000);
    }
}

/// Sets `signal` to `id`, and back to nothing after `ms` unless it changed meanwhile.
pub(super) fn for_a_moment(signal: RwSignal<Option<MessageId>>, id: MessageId, ms: u64) {
    signal.set(Some(id));
    set_timeout(
        move || {
            signal.try_update(|f| {
                if *f == Some(id) {
                    *f = None;
                }
            });
        },
        std::time::Duration::from_millis(ms),
    );
}

/// One line of a message, short enough for a quote.
pub fn preview(message: &Message) -> String {
    if message.deleted_at.is_some() {
        return "This message was deleted".into();
    }
    let line = message.text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if line.is_empty() {
        return if message.attachments.is_empty() { "Message".into() } else { "📎 Attachment".into() };
    }
    let mut short: String = line.chars().take(PREVIEW_CHARS).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// Who wrote a message: "You", a teammate, a group member, or the conversation's contact.
fn author_of(inbox: Inbox, message: &Message) -> String {
    if message.sender_user_id.is_some() {
        return inbox.author(message.sender_user_id, "");
    }
    message.sender_name.clone().unwrap_or_else(|| {
        inbox.conversations.with_untracked(|l| {
            l.iter()
                .find(|c| c.conversation.id == message.conversation_id)
                .map(|c| c.conversation.title.clone())
                .unwrap_or_default()
        })
    })
}

/// The author and preview of a message of the open conversation, if it is loaded.
fn quoted(inbox: Inbox, id: MessageId) -> Option<(String, String)> {
    inbox.thread.with(|t| t.messages.iter().find(|m| m.id == id).map(|m| (author_of(inbox, m), preview(m))))
}

/// Moves the focus within a menu with the arrow keys, Home and End.
pub(super) fn move_focus(menu: &web_sys::HtmlElement, key: &str) -> bool {
    let Ok(items) = menu.query_selector_all("[role=menuitem]") else { return false };
    let n = items.length();
    if n == 0 {
        return false;
    }
    let active = document().active_element();
    let at = (0..n).find(|&i| items.item(i).is_some_and(|item| item.is_same_node(active.as_deref())));
    let next = match (key, at) {
        ("ArrowDown" | "ArrowRight", Some(i)) => (i + 1) % n,
        ("ArrowUp" | "ArrowLeft", Some(i)) => (i + n - 1) % n,
        ("Home", _) | ("ArrowDown" | "ArrowRight", None) => 0,
        ("End", _) | ("ArrowUp" | "ArrowLeft", None) => n - 1,
        _ => return false,
    };
    if let Some(item) = items.item(next).and_then(|i| i.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = item.focus();
    }
    true
}

/// The reaction chips under a bubble: each toggles this user's own reaction of its emoji.
#[component]
pub fn Reactions(id: MessageId, reactions: Vec<ReactionCount>) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let chips = reactions
        .into_iter()
        .map(|r| {
            let mine = r.user_ids.contains(&inbox.me);
            let label = match (mine, r.count) {
                (true, 1) => format!("You reacted with {}", r.emoji),
                (true, n) => format!("You and {} others reacted with {}", n - 1, r.emoji),
                (false, n) => format!("{n} reacted with {}", r.emoji),
            };
            let text = format!("{} {}", r.emoji, r.count);
            let emoji = r.emoji;
            view! {
                <li>
                    <button
                        type="button"
                        class="filter reaction"
                        class:active=mine
                        aria-pressed=if mine { "true" } else { "false" }
                        title=label.clone()
                        aria-label=label
                        on:click=move |_| {
                            ui.refocus(id);
                            inbox.react(id, emoji.clone(), !mine);
                        }
                    >
                        {text}
                    </button>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="reactions" data-testid="reactions" aria-label="Reactions">{chips}</ul> }
}

/// The message a reply answers, quoted at the top of its bubble; a click shows the original.
#[component]
pub fn Quote(id: MessageId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let shown = move || quoted(inbox, id);
    view! {
        <button
            type="button"
            class="link-button quote"
            data-testid="quoted"
            title="Show the original message"
            on:click=move |_| ui.jump.set(Some(id))
        >
            {move || match shown() {
                Some((author, text)) => view! { <b>{author}</b> " " {text} }.into_any(),
                None => "Original message".into_any(),
            }}
        </button>
    }
}

/// Above the composer: the message the next send answers, with a button to stop answering it.
#[component]
pub fn ReplyingTo() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let shown = move || ui.replying.get().map(|id| quoted(inbox, id).unwrap_or_default());
    move || {
        shown().map(|(author, text)| {
            view! {
                <div class="pending-files" data-testid="replying-to">
                    <div class="pending-file quote">
                        <span>"Replying to " <b>{author}</b> ": " {text}</span>
                        <button
                            type="button"
                            class="remove-file"
                            aria-label="Cancel reply"
                            on:click=move |_| ui.replying.set(None)
                        >
                            "✕"
                        </button>
                    </div>
                </div>
            }
        })
    }
}

/// The button that opens a message's actions menu.
#[component]
pub fn MoreButton(id: MessageId) -> impl IntoView {
    let ui = expect_context::<MessageUi>();
    let more = NodeRef::<Button>::new();
    // Asked to take the focus back: only if nothing else has it (never from where the user went).
    Effect::new(move |_| {
        if ui.focus_back.get() != Some(id) {
            return;
        }
        request_animation_frame(move || {
            let lost =
                document().active_element().is_none_or(|a| Some(a) == document().body().map(Into::into));
            if lost && let Some(button) = more.try_get_untracked().flatten() {
                let _ = button.focus();
            }
        });
    });
    let open = move || ui.menu.get() == Some(id);
    let toggle = move |_| {
        ui.confirm.set(None);
        ui.menu.set(if open() { None } else { Some(id) });
    };
    view! {
        <button
            type="button"
            class="link-button more"
            node_ref=more
            aria-label="Message actions"
            aria-haspopup="menu"
            aria-expanded=move || if open() { "true" } else { "false" }
            on:click=toggle
        >
            "⋯"
        </button>
    }
}

/// What the menu of one message offers.
#[derive(Clone)]
pub struct Offer {
    pub id: MessageId,
    pub text: String,
    /// This user's own message, not deleted: it may be deleted.
    pub own: bool,
    /// …and has text: it may be edited.
    pub editable: bool,
    /// Someone else's (a teammate's or the contact's): it may be reported.
    pub others: bool,
    /// A message of a room that is no thread's reply: it may start a thread.
    pub threadable: bool,
}

/// A message's actions menu: quick reactions, then Reply, Reply in thread, Copy, Edit, Pin,
/// Report and Delete. The arrow keys move between its items, Escape closes it.
#[component]
pub fn MessageMenu(offer: Offer) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let menu = NodeRef::<Div>::new();
    let Offer { id, text, own, editable, others, threadable } = offer;
    // Opened, by keyboard or pointer: the first item takes the focus.
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(menu) = menu.try_get_untracked().flatten() {
                move_focus(&menu, "Home");
            }
        });
    });
    let close = move || {
        ui.menu.set(None);
        ui.refocus(id);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        // Tab leaves it as Escape does: back on its button, from where the next Tab goes on.
        if key == "Escape" || key == "Tab" {
            ev.prevent_default();
            ev.stop_propagation();
            close();
        } else if let Some(el) = menu.try_get_untracked().flatten()
            && move_focus(&el, &key)
        {
            ev.prevent_default();
        }
    };
    // A click or tap outside its bubble closes it (its own button, in the bubble, toggles it).
    // Not on focus leaving: the list renders a row again when its message changes (a tick),
    // and the focus leaves the old menu then, for its new copy.
    let outside = window_event_listener(leptos::ev::pointerdown, move |ev| {
        let bubble = menu.try_get_untracked().flatten().and_then(|m| m.parent_element());
        let inside = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Node>().ok())
            .zip(bubble)
            .is_some_and(|(to, bubble)| bubble.contains(Some(&to)));
        if !inside {
            ui.menu.try_update(|m| {
                if *m == Some(id) {
                    *m = None;
                }
            });
        }
    });
    on_cleanup(move || outside.remove());
    let react = move |emoji: &'static str| {
        let mine = inbox.thread.with_untracked(|t| {
            t.messages.iter().find(|m| m.id == id).is_some_and(|m| {
                m.reactions.iter().any(|r| r.emoji == emoji && r.user_ids.contains(&inbox.me))
            })
        });
        inbox.react(id, emoji.to_owned(), !mine);
        close();
    };
    let reply = move |_| {
        ui.menu.set(None);
        ui.replying.set(Some(id));
    };
    let copy_text = text.clone();
    let copy = move |_| {
        super::webhook::copy_to_clipboard(&copy_text, ui.copied);
        close();
    };
    let edit_text = text.clone();
    let edit = move |_| {
        ui.menu.set(None);
        ui.draft.set(edit_text.clone());
        ui.edit_error.set(None);
        ui.editing.set(Some(id));
    };
    let delete = move |_| {
        ui.menu.set(None);
        ui.confirm.set(Some(id));
    };
    let in_thread = move |_| {
        ui.menu.set(None);
        ui.thread.set(Some(id));
    };
    // Whether it is pinned, by the pins read last (the bar's).
    let pinned = Memo::new(move |_| ui.pins.with(|p| p.iter().any(|p| p.message.id == id)));
    let pin = move |_| {
        let on = !pinned.get_untracked();
        close();
        spawn_local(async move {
            match inbox.pin(id, on).await {
                Ok(()) => {
                    inbox.announcement.try_set(if on { "Message pinned" } else { "Message unpinned" }.into());
                }
                Err(e) => {
                    inbox.error.try_set(Some(e.message));
                }
            }
        });
    };
    let report = move |_| {
        ui.menu.set(None);
        ui.reporting.set(Some(id));
    };
    view! {
        <div
            class="actions menu"
            role="menu"
            aria-label="Message actions"
            tabindex="-1"
            data-testid="message-menu"
            node_ref=menu
            on:keydown=on_key
        >
            {QUICK_REACTIONS
                .into_iter()
                .map(|emoji| view! {
                    <button
                        type="button"
                        class="link-button"
                        role="menuitem"
                        aria-label=format!("React with {emoji}")
                        on:click=move |_| react(emoji)
                    >
                        {emoji}
                    </button>
                })
                .collect_view()}
            <button type="button" class="link-button" role="menuitem" on:click=reply>"Reply"</button>
            {threadable.then(|| view! {
                <button type="button" class="link-button" role="menuitem" on:click=in_thread>"Reply in thread"</button>
            })}
            {(!text.is_empty()).then(|| view! {
                <button type="button" class="link-button" role="menuitem" on:click=copy>"Copy"</button>
            })}
            {editable.then(|| view! {
                <button type="button" class="link-button" role="menuitem" on:click=edit>"Edit"</button>
            })}
            <button type="button" class="link-button" role="menuitem" on:click=pin>
                {move || if pinned.get() { "Unpin" } else { "Pin" }}
            </button>
            {others.then(|| view! {
                <button type="button" class="link-button" role="menuitem" on:click=report>"Report"</button>
            })}
            {own.then(|| view! {
                <button type="button" class="link-button danger" role="menuitem" on:click=delete>"Delete"</button>
            })}
        </div>
    }
}

/// "Delete for everyone?", asked in the bubble.
#[component]
pub fn ConfirmDelete(id: MessageId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let cancel_button = NodeRef::<Button>::new();
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(b) = cancel_button.try_get_untracked().flatten() {
                let _ = b.focus();
            }
        });
    });
    let cancel = move || {
        ui.confirm.set(None);
        ui.refocus(id);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            cancel();
        }
    };
    view! {
        <div class="actions" role="group" aria-label="Delete this message" data-testid="confirm-delete" on:keydown=on_key>
            <span>"Delete for everyone?"</span>
            <button
                type="button"
                class="primary"
                on:click=move |_| {
                    ui.confirm.set(None);
                    inbox.delete(id);
                }
            >
                "Delete"
            </button>
            <button type="button" class="link-button" node_ref=cancel_button on:click=move |_| cancel()>
                "Cancel"
            </button>
        </div>
    }
}

/// The bubble's text, being edited: Enter (or Save) saves, Shift+Enter starts a new line,
/// Escape (or Cancel) leaves it as it was.
#[component]
pub fn EditForm(id: MessageId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let field = NodeRef::<Textarea>::new();
    let error = ui.edit_error;
    let saving = RwSignal::new(false);
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(f) = field.try_get_untracked().flatten() {
                let _ = f.focus();
                let end = f.value().len() as u32;
                let _ = f.set_selection_range(end, end);
            }
        });
    });
    let cancel = move || {
        ui.editing.set(None);
        ui.refocus(id);
    };
    let save = move || {
        let text = ui.draft.get_untracked().trim().to_owned();
        let unchanged = inbox
            .thread
            .with_untracked(|t| t.messages.iter().find(|m| m.id == id).is_some_and(|m| m.text == text));
        if unchanged {
            cancel();
            return;
        }
        if text.is_empty() {
            error.set(Some("A message needs some text. To remove it, delete it instead.".into()));
            return;
        }
        saving.set(true);
        spawn_local(async move {
            match inbox.edit(id, text).await {
                Ok(()) => {
                    ui.editing.try_update(|e| {
                        if *e == Some(id) {
                            *e = None;
                        }
                    });
                    ui.refocus(id);
                }
                Err(e) => {
                    saving.try_set(false);
                    error.try_set(Some(e.message));
                }
            }
        });
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            save();
        } else if ev.key() == "Escape" {
            ev.prevent_default();
            cancel();
        }
    };
    view! {
        <form class="edit" data-testid="edit-message" on:submit=move |ev| { ev.prevent_default(); save(); }>
            <textarea
                class="search"
                aria-label="Edit message"
                node_ref=field
                prop:value=move || ui.draft.get()
                on:input=move |ev| ui.draft.set(event_target_value(&ev))
                on:keydown=on_key
            ></textarea>
            {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || saving.get()>"Save"</button>
                <button type="button" class="link-button" on:click=move |_| cancel()>"Cancel"</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::provider::Direction;
    use switchboard::{ChannelId, ConversationId, MessageStatus, WorkspaceId};

    fn message(text: &str) -> Message {
        Message {
            id: MessageId::new(),
            workspace_id: WorkspaceId::new(),
            conversation_id: ConversationId::new(),
            channel_id: ChannelId::new(),
            direction: Direction::Inbound,
            status: MessageStatus::Read,
            text: text.into(),
            external_id: None,
            client_message_id: None,
            sender_user_id: None,
            error: None,
            created_at: chrono::Utc::now(),
            edited_at: None,
            deleted_at: None,
            reply_to: None,
            attachments: Vec::new(),
            template: None,
            reactions: Vec::new(),
            parent_id: None,
            show_in_conversation: false,
            thread: None,
            note: false,
            from_bot: false,
            buttons: Vec::new(),
            sender_name: None,
        }
    }

    #[test]
    fn a_quote_shows_the_first_line_cut_short() {
        assert_eq!(preview(&message("\n  Hello there  \nsecond line")), "Hello there");
        let long = "é".repeat(PREVIEW_CHARS + 5);
        let shown = preview(&message(&long));
        assert_eq!(shown.chars().count(), PREVIEW_CHARS + 1, "{shown}");
        assert!(shown.ends_with('…'));
        assert_eq!(preview(&message(&"é".repeat(PREVIEW_CHARS))), "é".repeat(PREVIEW_CHARS));
    }

    #[test]
    fn a_quote_of_a_deleted_or_textless_message_says_so() {
        let mut deleted = message("");
        deleted.deleted_at = Some(chrono::Utc::now());
        assert_eq!(preview(&deleted), "This message was deleted");
        assert_eq!(preview(&message("")), "Message");
    }
}
