//! Threads of a room: the "N replies" link under a message that has some, and the thread panel
//! beside the message list (over it on a phone) with the message, its replies and a composer of
//! its own.
//!
//! The panel's replies come from three places, merged by id and client id, the later copy
//! winning: the thread as read when the panel opened, this user's own replies in the open
//! conversation's messages (where the outbox shows them pending, then acknowledges them), and
//! the replies that arrived live since (`Inbox::thread_replies`).

use leptos::html::{Div, Textarea};
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchboard::message::ThreadSummary;
use switchboard::{Message, MessageId, MessageStatus};

use super::attachments::AttachmentList;
use super::markdown::Formatted;
use super::message_actions::MessageUi;
use super::thread::ticks;
use crate::client::realtime::Link;
use crate::inbox::state::Inbox;

/// How many of the latest repliers the link names.
const NAMED: usize = 3;

/// Under a message with replies: "N replies · who replied last"; opens the thread panel.
#[component]
pub fn ThreadLink(id: MessageId, summary: ThreadSummary) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let count = match summary.reply_count {
        1 => "1 reply".to_owned(),
        n => format!("{n} replies"),
    };
    let participants = summary.participants;
    let names = move || {
        let names: Vec<String> =
            participants.iter().take(NAMED).map(|p| inbox.author(Some(*p), "")).collect();
        (!names.is_empty()).then(|| format!(" · {}", names.join(", ")))
    };
    view! {
        <button
            type="button"
            class="link-button thread-link"
            data-testid="thread-link"
            aria-expanded=move || if ui.thread.get() == Some(id) { "true" } else { "false" }
            on:click=move |_| ui.thread.set(Some(id))
        >
            <b>{count}</b>
            {names}
        </button>
    }
}

/// Merges the copies of a thread's replies (oldest source first): one per message, the later
/// copy winning but for ticks, which never move backwards. Oldest first.
fn merge(copies: Vec<Message>) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(copies.len());
    for mut m in copies {
        let same = out.iter().position(|o| {
            o.id == m.id || (m.client_message_id.is_some() && o.client_message_id == m.client_message_id)
        });
        match same {
            Some(at) => {
                let old = &out[at];
                if old.id == m.id && old.status != m.status && !old.status.advances_to(m.status) {
                    m.status = old.status;
                }
                out[at] = m;
            }
            None => out.push(m),
        }
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    out
}

/// The thread of `parent`, beside the message list. Escape or ✕ closes it.
#[component]
pub fn ThreadPanel(parent: MessageId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    let fetched = RwSignal::new(Vec::<Message>::new());
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        spawn_local(async move {
            match inbox.thread_replies_of(parent).await {
                Ok(replies) => {
                    fetched.try_set(replies);
                }
                Err(e) => {
                    error.try_set(Some(format!("Could not read the thread: {}", e.message)));
                }
            }
            loading.try_set(false);
        });
    });
    let first =
        Memo::new(move |_| inbox.thread.with(|t| t.messages.iter().find(|m| m.id == parent).cloned()));
    let replies = Memo::new(move |_| {
        let mut copies = fetched.get();
        let of_parent = |m: &&Message| m.parent_id == Some(parent);
        inbox.thread.with(|t| copies.extend(t.messages.iter().filter(of_parent).cloned()));
        inbox.thread_replies.with(|r| copies.extend(r.iter().filter(of_parent).cloned()));
        merge(copies)
    });
    // The newest reply stays in view.
    let scroller = NodeRef::<Div>::new();
    Effect::new(move |_| {
        replies.track();
        request_animation_frame(move || {
            if let Some(el) = scroller.try_get_untracked().flatten() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    });
    let close = move || {
        ui.thread.set(None);
        ui.refocus(parent);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            ev.stop_propagation();
            close();
        }
    };
    let count = move || match replies.with(Vec::len) {
        0 => "No replies yet".to_owned(),
        1 => "1 reply".to_owned(),
        n => format!("{n} replies"),
    };
    let closed = move || first.with(|m| m.as_ref().is_some_and(|m| m.deleted_at.is_some()));
    view! {
        <section class="thread-panel" data-testid="thread-panel" aria-label="Thread" on:keydown=on_key>
            <header class="thread-header">
                <h2>"Thread"</h2>
                <button type="button" class="remove-file" aria-label="Close thread" on:click=move |_| close()>
                    "✕"
                </button>
            </header>
            <div class="thread-scroll" node_ref=scroller role="log" aria-label="Thread messages" tabindex="0">
                {move || match first.get() {
                    Some(m) => view! { <ol><Reply message=m first=true /></ol> }.into_any(),
                    None => view! { <p class="thread-start">"The message is further back than the messages shown."</p> }.into_any(),
                }}
                <div class="day" role="separator"><span>{count}</span></div>
                <Show when=move || loading.get()>
                    <p class="loading-older" role="status">"Loading replies…"</p>
                </Show>
                {move || error.get().map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
                <ol>
                    <For each=move || replies.get() key=render_key let:message>
                        <Reply message />
                    </For>
                </ol>
            </div>
            <Show
                when=move || !closed()
                fallback=|| view! { <p class="hint composer">"This message was deleted: its thread takes no new replies."</p> }
            >
                <ThreadComposer parent />
            </Show>
        </section>
    }
}

/// Changes whenever what a reply shows changes, so the list renders it again.
fn render_key(m: &Message) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        m.id,
        m.status.as_str(),
        m.edited_at.map(|t| t.timestamp_millis()).unwrap_or(0),
        m.deleted_at.is_some(),
        m.error.as_deref().unwrap_or(""),
        m.text,
    )
}

/// One message of the thread (`first`: the one it answers): its author, text, files, time and
/// ticks; a send that failed says why, with Retry when it may go through again.
#[component]
fn Reply(message: Message, #[prop(optional)] first: bool) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let id = message.id;
    let mine = message.sender_user_id == Some(inbox.me);
    let sender = message.sender_user_id;
    let group_sender = message.sender_name.clone();
    let author = move || sender.map(|s| inbox.author(Some(s), "")).or_else(|| group_sender.clone());
    let deleted = message.deleted_at.is_some();
    let (tick, tick_label) = ticks(message.status);
    let failed = message.status == MessageStatus::Failed;
    let (queued, refused) =
        inbox.thread.with_untracked(|t| (t.unsent.contains(&id), t.refused.contains(&id)));
    // Queued in the browser while the link is down: it goes out when it is back.
    let pending = message.status == MessageStatus::Pending;
    let waiting = move || queued && pending && inbox.link.get() != Link::Online;
    let failure = message.error.clone().unwrap_or_else(|| "Not sent.".into());
    let time = message.created_at.with_timezone(&chrono::Local).format("%H:%M").to_string();
    let text = message.text.clone();
    view! {
        <li class="row" class:out=mine>
            <div class="bubble" class:failed=failed data-testid=if first { "thread-parent" } else { "thread-reply" } data-status=message.status.as_str()>
                {move || author().map(|name| view! { <span class="author">{name}</span> })}
                {(!deleted && !message.attachments.is_empty())
                    .then(|| view! { <AttachmentList list=message.attachments.clone() /> })}
                {(deleted || !text.is_empty()).then(|| view! {
                    <div class="text" class:deleted=deleted dir="auto">
                        {if deleted {
                            view! { <p>"This message was deleted"</p> }.into_any()
                        } else {
                            view! { <Formatted text=text.clone() /> }.into_any()
                        }}
                    </div>
                })}
                <span class="meta">
                    {message.show_in_conversation.then(|| view! { <span>"also in the conversation"</span> })}
                    {message.edited_at.map(|_| view! { <span class="edited">"edited"</span> })}
                    <Show when=waiting>
                        <span class="waiting" data-testid="waiting">"Waiting for connection"</span>
                    </Show>
                    <span class="time">{time}</span>
                    {mine.then(|| view! {
                        <span class=format!("ticks {}", message.status.as_str()) title=tick_label aria-label=tick_label>
                            {tick}
                        </span>
                    })}
                </span>
                {failed.then(|| view! {
                    <div class="failure" role="alert">
                        <span>{failure}</span>
                        {(!refused).then(|| view! {
                            <button class="retry" on:click=move |_| inbox.retry(id)>"Retry"</button>
                        })}
                    </div>
                })}
            </div>
        </li>
    }
}

/// The thread's own composer: Enter (or Send) replies, Shift+Enter starts a new line; the box
/// sends the reply to the conversation as well.
#[component]
fn ThreadComposer(parent: MessageId) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let field = NodeRef::<Textarea>::new();
    let text = RwSignal::new(String::new());
    let also = RwSignal::new(false);
    // Opened (from the menu or the link): the cursor comes here.
    Effect::new(move |_| {
        request_animation_frame(move || {
            if let Some(f) = field.try_get_untracked().flatten() {
                let _ = f.focus();
            }
        });
    });
    let send = move || {
        let body = text.get_untracked().trim().to_owned();
        if body.is_empty() {
            return;
        }
        inbox.send_in_thread(body, parent, also.get_untracked());
        text.set(String::new());
        also.set(false);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <form
            class="composer"
            data-testid="thread-composer"
            on:submit=move |ev| {
                ev.prevent_default();
                send();
            }
        >
            <textarea
                rows="1"
                aria-label="Reply in thread"
                placeholder="Reply in thread"
                node_ref=field
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=on_key
            ></textarea>
            <button type="submit" class="primary">"Send"</button>
            <label class="hint">
                <input
                    type="checkbox"
                    prop:checked=move || also.get()
                    on:change=move |ev| also.set(event_target_checked(&ev))
                />
                " Also send to the conversation"
            </label>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::provider::Direction;
    use switchboard::{ChannelId, ConversationId, WorkspaceId};

    fn reply(text: &str, client: Option<&str>, status: MessageStatus) -> Message {
        Message {
            id: MessageId::new(),
            workspace_id: WorkspaceId::new(),
            conversation_id: ConversationId::new(),
            channel_id: ChannelId::new(),
            direction: Direction::Outbound,
            status,
            text: text.into(),
            external_id: None,
            client_message_id: client.map(str::to_owned),
            sender_user_id: None,
            error: None,
            created_at: chrono::Utc::now(),
            edited_at: None,
            deleted_at: None,
            reply_to: None,
            attachments: Vec::new(),
            template: None,
            reactions: Vec::new(),
            parent_id: Some(MessageId::new()),
            show_in_conversation: false,
            thread: None,
            note: false,
            from_bot: false,
            buttons: Vec::new(),
            sender_name: None,
        }
    }

    #[test]
    fn an_acknowledged_reply_replaces_its_pending_copy_and_a_fetched_one_is_not_doubled() {
        let fetched = reply("first", None, MessageStatus::Sent);
        let pending = reply("mine", Some("c1"), MessageStatus::Pending);
        let mut acknowledged = reply("mine", Some("c1"), MessageStatus::Sent);
        acknowledged.created_at = pending.created_at;
        let merged =
            merge(vec![fetched.clone(), fetched.clone(), pending, acknowledged.clone(), fetched.clone()]);
        assert_eq!(merged.iter().map(|m| m.id).collect::<Vec<_>>(), vec![fetched.id, acknowledged.id]);
        assert_eq!(merged[1].status, MessageStatus::Sent);
    }

    #[test]
    fn an_older_copy_never_moves_the_ticks_backwards_but_an_edit_shows() {
        let mut read = reply("hi", None, MessageStatus::Read);
        let mut older = read.clone();
        older.status = MessageStatus::Sent;
        older.text = "hi (edited)".into();
        read.text = "hi".into();
        let merged = merge(vec![read, older]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].status, MessageStatus::Read);
        assert_eq!(merged[0].text, "hi (edited)");
    }
}
