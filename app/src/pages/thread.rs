//! The open conversation: header, pinned bar, a virtualized message list and the composer,
//! and one side panel beside them: a room's thread (`threads.rs`) or the contact's details
//! (`contact_panel.rs`). The team's private notes show tinted and labelled in the list.
//!
//! The list keeps only the rows near the viewport in the DOM. Each row's height is measured
//! once it has been shown; rows never shown count with an estimate. Spacers above and below
//! stand for the rows left out, so the scrollbar covers the whole conversation.

use std::collections::HashMap;

use leptos::html::Div;
use leptos::prelude::*;
use switchboard::provider::Direction;
use switchboard::{Message, MessageStatus};
use wasm_bindgen::JsCast;

use super::attachments::AttachmentList;
use super::composer::Composer;
use super::markdown::Formatted;
use super::message_actions::{
    ConfirmDelete, EditForm, MessageMenu, MessageUi, MoreButton, Offer, Quote, Reactions,
};
use super::pins::PinnedBar;
use super::report::{ReportForm, Reported};
use super::threads::{ThreadLink, ThreadPanel};
use crate::inbox::state::{Inbox, in_conversation};

/// The height a row is counted with until it has been measured.
const ESTIMATE: f64 = 64.0;
/// Rows within this distance of the viewport are rendered too.
const OVERSCAN: f64 = 800.0;
/// Scrolling closer than this to the top loads older history.
const LOAD_OLDER_AT: f64 = 600.0;

/// One line of the list: a day separator or a message.
#[derive(Clone, PartialEq)]
enum Row {
    Day { key: String, label: String },
    Message { key: String, message: Box<Message> },
}

impl Row {
    /// Stable across an optimistic send's acknowledgement (keyed by the client id).
    fn key(&self) -> &str {
        match self {
            Row::Day { key, .. } | Row::Message { key, .. } => key,
        }
    }

    /// Changes whenever what the row shows changes, so the list re-renders it.
    fn render_key(&self) -> String {
        match self {
            Row::Day { key, .. } => key.clone(),
            Row::Message { key, message } => format!(
                "{key}|{}|{}|{}|{}|{}|{}|{:?}",
                message.id,
                message.status.as_str(),
                message.edited_at.map(|t| t.timestamp_millis()).unwrap_or(0),
                message.deleted_at.is_some(),
                message.error.as_deref().unwrap_or(""),
                message
                    .reactions
                    .iter()
                    .map(|r| format!("{}{}{:?}", r.emoji, r.count, r.user_ids))
                    .collect::<String>(),
                message.thread.as_ref().map(|t| (t.reply_count, &t.participants)),
            ),
        }
    }
}

fn day_label(day: chrono::NaiveDate) -> String {
    let today = chrono::Local::now().date_naive();
    match (today - day).num_days() {
        0 => "Today".to_owned(),
        1 => "Yesterday".to_owned(),
        _ => day.format("%A %-d %B %Y").to_string(),
    }
}

fn rows_of(messages: &[Message]) -> Vec<Row> {
    let mut rows = Vec::with_capacity(messages.len() + 8);
    let mut last_day = None;
    for message in messages.iter().filter(|m| in_conversation(m)) {
        let day = message.created_at.with_timezone(&chrono::Local).date_naive();
        if last_day != Some(day) {
            last_day = Some(day);
            rows.push(Row::Day { key: format!("day-{day}"), label: day_label(day) });
        }
        let key =
            format!("m-{}", message.client_message_id.clone().unwrap_or_else(|| message.id.to_string()));
        rows.push(Row::Message { key, message: Box::new(message.clone()) });
    }
    rows
}

/// The rows to render and the spacers around them.
#[derive(Clone, PartialEq)]
struct Window {
    top: f64,
    bottom: f64,
    rows: Vec<Row>,
}

fn window_of(rows: &[Row], heights: &HashMap<String, f64>, scroll_top: f64, viewport: f64) -> Window {
    let from = scroll_top - OVERSCAN;
    let to = scroll_top + viewport.max(400.0) + OVERSCAN;
    let (mut top, mut y) = (0.0, 0.0);
    let mut shown = Vec::new();
    for row in rows {
        let h = heights.get(row.key()).copied().unwrap_or(ESTIMATE);
        if y + h < from {
            top += h;
        } else if y <= to {
            shown.push(row.clone());
        }
        y += h;
    }
    let shown_height: f64 = shown.iter().map(|r| heights.get(r.key()).copied().unwrap_or(ESTIMATE)).sum();
    Window { top, bottom: (y - top - shown_height).max(0.0), rows: shown }
}

pub(super) fn ticks(status: MessageStatus) -> (&'static str, &'static str) {
    match status {
        MessageStatus::Pending => ("🕓", "Sending"),
        MessageStatus::Sent => ("✓", "Sent"),
        MessageStatus::Delivered => ("✓✓", "Delivered"),
        MessageStatus::Read => ("✓✓", "Read"),
        MessageStatus::Failed => ("!", "Not sent"),
    }
}

/// The conversation pane.
#[component]
pub fn ThreadPane() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let conversation = Memo::new(move |_| {
        let id = inbox.thread.with(|t| t.conversation)?;
        inbox
            .conversations
            .with(|l| l.iter().find(|c| c.conversation.id == id).map(|c| c.conversation.clone()))
    });
    // What the network says about the contact being online.
    let online = Memo::new(move |_| {
        let id = inbox.thread.with(|t| t.conversation)?;
        inbox
            .conversations
            .with(|l| l.iter().find(|c| c.conversation.id == id).and_then(|c| c.contact_online))
    });
    // The contact blocked the account on its network: nothing reaches them.
    let blocked = Memo::new(move |_| {
        let id = inbox.thread.with(|t| t.conversation)?;
        inbox
            .conversations
            .with(|l| l.iter().find(|c| c.conversation.id == id).and_then(|c| c.contact_blocked.clone()))
    });
    let channel = Memo::new(move |_| {
        let channel_id = conversation.get()?.channel_id;
        inbox.channels.with(|l| l.iter().find(|c| c.id == channel_id).map(|c| c.name.clone()))
    });
    // Past the network's reply window (WhatsApp's 24 hours) only a template reaches the
    // contact: the picker replaces the composer. A memo, so the composer is not rebuilt (and
    // its draft and files lost) by every change to the list.
    let template_only = Memo::new(move |_| {
        let id = inbox.thread.with(|t| t.conversation)?;
        let channel = conversation.get()?.channel_id;
        (!super::templates::window_open(&inbox, id)).then_some((channel, id))
    });
    provide_context(super::attachments::Lightbox(RwSignal::new(None)));
    let ui = MessageUi::provide(inbox);
    // The panel is built again only for another thread (not when the same one is asked for).
    let open_thread = Memo::new(move |_| ui.thread.get());
    // The contact's panel: one side panel at a time, so a thread opened closes it.
    let contact = Memo::new(move |_| conversation.with(|c| c.as_ref().and_then(|c| c.contact_id)));
    let has_contact = Memo::new(move |_| contact.with(Option::is_some));
    let contact_open = RwSignal::new(false);
    let contact_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if open_thread.get().is_some() {
            contact_open.set(false);
        }
    });
    let close_contact = Callback::new(move |()| {
        contact_open.set(false);
        if let Some(b) = contact_button.get_untracked() {
            let _ = b.focus();
        }
    });
    view! {
        <div class="thread">
            <super::attachments::LightboxView />
            <header class="thread-header">
                <a class="back" href="/inbox" aria-label="Back to conversations">"←"</a>
                <div class="thread-title">
                    <h1 data-testid="thread-title">{move || conversation.get().map(|c| c.title).unwrap_or_default()}</h1>
                    <p class="thread-sub">
                        {move || match inbox.typing.get() {
                            Some(t) => view! { <span class="typing" data-testid="typing">{format!("{} is typing…", t.name)}</span> }.into_any(),
                            None => {
                                let presence = match online.get() {
                                    Some(true) => " · online",
                                    Some(false) => " · offline",
                                    None => "",
                                };
                                view! {
                                    <span>{channel.get().unwrap_or_default()}</span>
                                    <span data-testid="contact-presence" class:online=move || online.get() == Some(true)>
                                        {presence}
                                    </span>
                                }
                                .into_any()
                            }
                        }}
                    </p>
                </div>
                {move || has_contact.get().then(|| view! {
                    <button
                        type="button"
                        class="filter"
                        node_ref=contact_button
                        aria-expanded=move || contact_open.get().to_string()
                        data-testid="contact-open"
                        on:click=move |_| {
                            ui.thread.set(None);
                            contact_open.update(|o| *o = !*o);
                        }
                    >
                        "Contact"
                    </button>
                })}
                <super::desk::DeskControls conversation />
            </header>
            <Show
                when=move || !inbox.thread.with(|t| t.missing)
                fallback=|| view! {
                    <p class="empty centered" role="status" data-testid="conversation-missing">
                        "This conversation doesn't exist or you can't see it."
                    </p>
                }
            >
                <PinnedBar />
                {move || blocked.get().map(|why| view! { <p class="hint blocked" role="status" data-testid="contact-blocked">{why}</p> })}
                <MessageList />
                <super::desk::HandledBy conversation />
                <super::bot_bar::BotBar />
                {move || match template_only.get() {
                    Some((channel_id, conversation_id)) => view! {
                        <super::templates::TemplatePicker channel_id conversation_id />
                    }
                    .into_any(),
                    None => view! { <Composer /> }.into_any(),
                }}
            </Show>
        </div>
        {move || open_thread.get().map(|parent| view! { <ThreadPanel parent /> })}
        {move || {
            contact.get().filter(|_| contact_open.get()).map(|contact| view! {
                <super::contact_panel::ContactPanel contact close=close_contact />
            })
        }}
    }
}

#[component]
fn MessageList() -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let scroller = NodeRef::<Div>::new();
    let heights = StoredValue::new(HashMap::<String, f64>::new());
    let layout = RwSignal::new(0u64);
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(600.0f64);
    let at_bottom = StoredValue::new(true);
    let first_key = StoredValue::new(None::<(String, f64)>);
    let followed = StoredValue::new(None::<switchboard::ConversationId>);

    let rows = Memo::new(move |_| inbox.thread.with(|t| rows_of(&t.messages)));
    // Whether the open conversation is a room (whose own messages sit on the right): decided
    // once per conversation, not by every row scanning the list.
    let room = Memo::new(move |_| {
        let id = inbox.thread.with(|t| t.conversation)?;
        inbox.conversations.with(|l| {
            l.iter().find(|c| c.conversation.id == id).map(|c| switchboard::access::is_room(&c.conversation))
        })
    });
    let room = Signal::derive(move || room.get().unwrap_or(false));
    let window = Memo::new(move |_| {
        layout.track();
        rows.with(|rows| heights.with_value(|h| window_of(rows, h, scroll_top.get(), viewport.get())))
    });

    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else { return };
        let top = f64::from(el.scroll_top());
        scroll_top.set(top);
        viewport.set(f64::from(el.client_height()));
        at_bottom.set_value(f64::from(el.scroll_height()) - top - f64::from(el.client_height()) < 48.0);
        if top < LOAD_OLDER_AT {
            inbox.load_older();
        }
    };

    // Older history was put in front: keep what the reader sees where it was. Tracks the first
    // message and the height of what stands before it (its day separator, then older rows).
    Effect::new(move |_| {
        let first = rows
            .with(|rows| rows.iter().find(|r| matches!(r, Row::Message { .. })).map(|r| r.key().to_owned()));
        let Some(first) = first else { return };
        let height_before = |key: &str| {
            rows.with_untracked(|rows| {
                heights.with_value(|h| {
                    rows.iter()
                        .take_while(|r| r.key() != key)
                        .map(|r| h.get(r.key()).copied().unwrap_or(ESTIMATE))
                        .sum::<f64>()
                })
            })
        };
        let previous = first_key.get_value();
        first_key.set_value(Some((first.clone(), height_before(&first))));
        let Some((previous, old_height)) = previous else { return };
        if previous == first {
            return;
        }
        let added = height_before(&previous) - old_height;
        if added <= 0.0 {
            return;
        }
        if let Some(el) = scroller.get_untracked() {
            let top = f64::from(el.scroll_top()) + added;
            el.set_scroll_top(top as i32);
            scroll_top.set(top);
        }
    });

    // Follow new messages at the bottom when the reader is there (or sent them). Through a
    // memo: only an append moves the list, not an edit or history put in (a search hit's).
    let appends = Memo::new(move |_| inbox.thread.with(|t| (t.conversation, t.appended)));
    Effect::new(move |_| {
        let (conversation, appended) = appends.get();
        if appended == 0 {
            return;
        }
        // A conversation just opened starts at its newest message.
        let fresh = followed.get_value() != conversation;
        followed.set_value(conversation);
        // A reply kept to its thread is not in the list: it moves nothing there.
        let mine = inbox.thread.with_untracked(|t| {
            t.messages.last().is_some_and(|m| m.sender_user_id == Some(inbox.me) && in_conversation(m))
        });
        if !(fresh || at_bottom.get_value() || mine) {
            return;
        }
        request_animation_frame(move || {
            if let Some(el) = scroller.get_untracked() {
                el.set_scroll_top(el.scroll_height());
                scroll_top.set(f64::from(el.scroll_top()));
                viewport.set(f64::from(el.client_height()));
                at_bottom.set_value(true);
            }
        });
    });

    // A quote was clicked: bring the message it quotes into view and highlight it. Scrolled
    // first by the heights known so far (so that its row is rendered), then centred exactly.
    let ui = expect_context::<MessageUi>();
    // A search hit's `?m=`: the page around it is loaded, then jumped to as here.
    crate::inbox::jump::follow(inbox, ui.jump);
    Effect::new(move |_| {
        let Some(target) = ui.jump.get() else { return };
        ui.jump.set(None);
        let found = rows.with_untracked(|rows| {
            let at = rows
                .iter()
                .position(|r| matches!(r, Row::Message { message, .. } if message.id == target))?;
            let before = heights.with_value(|h| {
                rows[..at].iter().map(|r| h.get(r.key()).copied().unwrap_or(ESTIMATE)).sum::<f64>()
            });
            Some((rows[at].key().to_owned(), before))
        });
        // Not loaded (older than the history shown): nothing to show.
        let (Some((key, before)), Some(el)) = (found, scroller.get_untracked()) else { return };
        let top = (before - f64::from(el.client_height()) / 3.0).max(0.0);
        el.set_scroll_top(top as i32);
        scroll_top.set(top);
        at_bottom.set_value(false);
        ui.flash(target);
        request_animation_frame(move || request_animation_frame(move || centre(scroller, &key)));
    });

    // Measure what was rendered; rows above the viewport that changed height move the scroll
    // position by as much, so nothing jumps.
    Effect::new(move |_| {
        window.track();
        request_animation_frame(move || {
            let Some(el) = scroller.get_untracked() else { return };
            let Ok(nodes) = el.query_selector_all("[data-row]") else { return };
            let top = f64::from(el.scroll_top());
            let mut shift = 0.0;
            let mut changed = false;
            heights.update_value(|h| {
                for i in 0..nodes.length() {
                    let Some(node) = nodes.item(i).and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
                    else {
                        continue;
                    };
                    let Some(key) = node.get_attribute("data-row") else { continue };
                    let height = f64::from(node.offset_height());
                    let old = h.get(&key).copied().unwrap_or(ESTIMATE);
                    if (old - height).abs() > 0.5 {
                        if f64::from(node.offset_top()) + height <= top {
                            shift += height - old;
                        }
                        h.insert(key, height);
                        changed = true;
                    }
                }
            });
            if changed {
                if shift != 0.0 {
                    el.set_scroll_top((top + shift) as i32);
                    scroll_top.set(top + shift);
                }
                if at_bottom.get_value() {
                    el.set_scroll_top(el.scroll_height());
                }
                layout.update(|v| *v += 1);
            }
        });
    });

    view! {
        <div class="thread-scroll" node_ref=scroller on:scroll=on_scroll data-testid="message-list" role="log" aria-label="Messages" tabindex="0">
            <Show when=move || inbox.thread.with(|t| t.loading)>
                <p class="loading-older" role="status">"Loading messages…"</p>
            </Show>
            <Show when=move || inbox.thread.with(|t| !t.has_more && !t.loading && !t.messages.is_empty())>
                <p class="thread-start">"This is the start of the conversation."</p>
            </Show>
            <div style:height=move || format!("{}px", window.with(|w| w.top))></div>
            <For each=move || window.with(|w| w.rows.clone()) key=Row::render_key let:row>
                <RowView row room=room.get_untracked() />
            </For>
            <div style:height=move || format!("{}px", window.with(|w| w.bottom))></div>
        </div>
    }
}

/// Scrolls the list so that the row keyed `key`, if rendered, is in the middle.
fn centre(scroller: NodeRef<Div>, key: &str) {
    let Some(el) = scroller.try_get_untracked().flatten() else { return };
    let Ok(nodes) = el.query_selector_all("[data-row]") else { return };
    let row = (0..nodes.length())
        .filter_map(|i| nodes.item(i)?.dyn_into::<web_sys::Element>().ok())
        .find(|n| n.get_attribute("data-row").as_deref() == Some(key));
    if let Some(row) = row {
        let (r, view) = (row.get_bounding_client_rect(), el.get_bounding_client_rect());
        let delta = r.top() - view.top() - (view.height() - r.height()) / 2.0;
        el.set_scroll_top((f64::from(el.scroll_top()) + delta) as i32);
    }
}

#[component]
fn RowView(row: Row, room: bool) -> impl IntoView {
    let inbox = expect_context::<Inbox>();
    let ui = expect_context::<MessageUi>();
    match row {
        Row::Day { key, label } => view! {
            <div class="day" data-row=key role="separator">
                <span>{label}</span>
            </div>
        }
        .into_any(),
        Row::Message { key, message } => {
            let outbound = message.direction == Direction::Outbound;
            let mine = message.sender_user_id == Some(inbox.me);
            // Right-hand side: the team's replies to a contact; in a room, only one's own.
            let right = mine || (outbound && !room);
            // Who of the team wrote it (a contact's messages need no name: the title says it).
            let sender = message.sender_user_id;
            // In a group chat on a network, who of its members wrote it.
            let group_sender = message.sender_name.clone();
            let author = move || sender.map(|s| inbox.author(Some(s), "")).or_else(|| group_sender.clone());
            let (tick, tick_label) = ticks(message.status);
            let time = message.created_at.with_timezone(&chrono::Local).format("%H:%M").to_string();
            let failed = message.status == MessageStatus::Failed;
            let id = message.id;
            let deleted = message.deleted_at.is_some();
            let status = message.status.as_str();
            let failure = message.error.clone().unwrap_or_else(|| "Not sent.".into());
            let (queued, refused) =
                inbox.thread.with_untracked(|t| (t.unsent.contains(&id), t.refused.contains(&id)));
            // Queued in the browser while the link is down: it goes out when it is back.
            let pending = message.status == MessageStatus::Pending;
            let waiting =
                move || queued && pending && inbox.link.get() != crate::client::realtime::Link::Online;
            // A send not yet acknowledged has no id on the server to act on.
            let actionable = !queued && !deleted;
            let own = actionable && mine && outbound;
            let offer = Offer {
                id,
                text: message.text.clone(),
                own,
                editable: own && !message.text.is_empty(),
                others: !mine,
                // Threads are rooms' and one level deep.
                threadable: room && message.parent_id.is_none(),
            };
            // A thread's reply sent to the conversation too quotes the message it answers.
            let quoted = message.reply_to.or(message.parent_id).filter(|_| !deleted);
            let summary = message.thread.clone().filter(|s| room && s.reply_count > 0);
            let editing = move || ui.editing.get() == Some(id);
            let text = message.text.clone();
            view! {
                <div class="row" class:out=right data-row=key>
                    <div
                        class="bubble"
                        class:failed=failed
                        class:note=message.note
                        class:flash=move || ui.flash.get() == Some(id)
                        data-testid="message"
                        data-status=status
                        data-note=message.note.then_some("true")
                    >
                        {message.note.then(|| view! { <span class="note-label">"Private note"</span> })}
                        {message.from_bot.then(|| view! { <span class="bot-tag" data-testid="bot-tag">"Bot"</span> })}
                        {move || author().map(|name| view! { <span class="author" data-testid="author">{name}</span> })}
                        {quoted.map(|quoted| view! { <Quote id=quoted /> })}
                        {(!deleted && !message.attachments.is_empty())
                            .then(|| view! { <AttachmentList list=message.attachments.clone() /> })}
                        {(deleted || !message.text.is_empty()).then(|| view! {
                            <Show when=move || !editing() fallback=move || view! { <EditForm id /> }>
                                <div class="text" class:deleted=deleted dir="auto">
                                    {if deleted {
                                        view! { <p>"This message was deleted"</p> }.into_any()
                                    } else {
                                        view! { <Formatted text=text.clone() /> }.into_any()
                                    }}
                                </div>
                            </Show>
                        })}
                        {(!deleted && !message.buttons.is_empty()).then(|| view! { <QuickReplies labels=message.buttons.clone() /> })}
                        {(!message.reactions.is_empty()).then(|| view! { <Reactions id reactions=message.reactions.clone() /> })}
                        {summary.map(|summary| view! { <ThreadLink id summary /> })}
                        <span class="meta">
                            {actionable.then(|| view! { <MoreButton id /> })}
                            {message.edited_at.map(|_| view! { <span class="edited">"edited"</span> })}
                            <Show when=waiting>
                                <span class="waiting" data-testid="waiting">"Waiting for connection"</span>
                            </Show>
                            <span class="time">{time}</span>
                            <Show when=move || outbound>
                                <span
                                    class=format!("ticks {status}")
                                    data-testid="ticks"
                                    title=tick_label
                                    aria-label=tick_label
                                >
                                    {tick}
                                </span>
                            </Show>
                        </span>
                        <Show when=move || ui.menu.get() == Some(id)>
                            <MessageMenu offer=offer.clone() />
                        </Show>
                        <Show when=move || ui.confirm.get() == Some(id)>
                            <ConfirmDelete id />
                        </Show>
                        <Show when=move || ui.reporting.get() == Some(id)>
                            <ReportForm id />
                        </Show>
                        <Show when=move || ui.reported.get() == Some(id)>
                            <Reported />
                        </Show>
                        <Show when=move || failed>
                            <div class="failure" role="alert">
                                <span>{failure.clone()}</span>
                                <Show when=move || !refused>
                                    <button class="retry" on:click=move |_| inbox.retry(id)>"Retry"</button>
                                </Show>
                            </div>
                        </Show>
                    </div>
                </div>
            }
            .into_any()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::{ChannelId, ConversationId, MessageId, WorkspaceId};

    fn messages(n: usize) -> Vec<Message> {
        (0..n)
            .map(|i| Message {
                id: MessageId::new(),
                workspace_id: WorkspaceId::new(),
                conversation_id: ConversationId::new(),
                channel_id: ChannelId::new(),
                direction: Direction::Inbound,
                status: MessageStatus::Read,
                text: format!("m{i}"),
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
            })
            .collect()
    }

    #[test]
    fn only_rows_near_the_viewport_are_rendered_and_the_spacers_keep_the_total() {
        let rows = rows_of(&messages(10_000));
        assert!(matches!(rows[0], Row::Day { .. }), "a day separator comes first");
        let heights = HashMap::new();
        let total = rows.len() as f64 * ESTIMATE;
        for scroll_top in [0.0, 5_000.0, total - 600.0] {
            let w = window_of(&rows, &heights, scroll_top, 600.0);
            assert!(w.rows.len() < 60, "{} rows rendered at {scroll_top}", w.rows.len());
            let shown = w.rows.len() as f64 * ESTIMATE;
            assert!((w.top + shown + w.bottom - total).abs() < 0.01);
            assert!(w.top <= scroll_top && w.top + shown >= scroll_top + 600.0 - ESTIMATE);
        }
    }

    #[test]
    fn measured_heights_move_the_window() {
        let rows = rows_of(&messages(100));
        let mut heights = HashMap::new();
        for row in &rows[..50] {
            heights.insert(row.key().to_owned(), 200.0);
        }
        let w = window_of(&rows, &heights, 5_000.0, 600.0);
        // 5,000 px down, with the first rows 200 px tall, is around row 25.
        let first = rows.iter().position(|r| r.key() == w.rows[0].key()).unwrap();
        assert!((17..=22).contains(&first), "first rendered row {first}");
    }

    #[test]
    fn a_reply_kept_to_its_thread_is_left_out_of_the_list_and_one_sent_there_too_is_not() {
        let mut m = messages(3);
        m[1].parent_id = Some(m[0].id);
        m[2].parent_id = Some(m[0].id);
        m[2].show_in_conversation = true;
        let texts: Vec<_> = rows_of(&m)
            .into_iter()
            .filter_map(|r| match r {
                Row::Message { message, .. } => Some(message.text),
                Row::Day { .. } => None,
            })
            .collect();
        assert_eq!(texts, ["m0", "m2"]);
    }

    #[test]
    fn a_new_thread_reply_changes_the_render_key_of_its_first_message() {
        let mut m = messages(1);
        let before = rows_of(&m)[1].clone();
        m[0].thread = Some(switchboard::message::ThreadSummary::with_reply(None, None, chrono::Utc::now()));
        assert_ne!(before.render_key(), rows_of(&m)[1].render_key());
    }

    #[test]
    fn a_status_change_changes_the_render_key_but_not_the_row_key() {
        let mut m = messages(1);
        let before = rows_of(&m)[1].clone();
        m[0].status = MessageStatus::Failed;
        let after = rows_of(&m)[1].clone();
        assert_eq!(before.key(), after.key());
        assert_ne!(before.render_key(), after.render_key());
    }
}

/// The quick-reply buttons a message offered the contact (a chatbot's choices), as the
/// contact's network showed them: the contact presses them, the team only reads them.
#[component]
pub fn QuickReplies(labels: Vec<String>) -> impl IntoView {
    view! {
        <ul class="quick-replies" data-testid="quick-replies" aria-label="Quick replies offered">
            {labels.into_iter().map(|label| view! { <li>{label}</li> }).collect_view()}
        </ul>
    }
}
