//! The inbox's reducer: how each realtime event changes the page's state. It matches on the
//! typed [`EventBody`] the server wrote, so a renamed field or kind fails to compile here
//! instead of silently doing nothing.

use leptos::prelude::*;
use switchboard::event::{ConversationChange, ConversationUpdated};
use switchboard::message::ConversationSummary;
use switchboard::{EventBody, Message, Topic};

use super::state::{Inbox, Typing, page_visible, sort};

impl Inbox {
    /// Applies one event to the page.
    pub(super) fn apply(self, body: EventBody) {
        self.notify(&body);
        match body {
            EventBody::MessageCreated(message) => self.message_arrived(message, true),
            EventBody::MessageUpdated(message) => self.message_arrived(message, false),
            EventBody::MessageStatus(change) => self.thread.update(|t| {
                t.update(change.message_id, |m| {
                    // Ticks only move forward; restating the status may bring a new error text.
                    if m.status == change.status || m.status.advances_to(change.status) {
                        m.status = change.status;
                        m.error = change.error;
                    }
                })
            }),
            EventBody::MessageDeleted(deleted) => self.thread.update(|t| {
                t.update(deleted.message_id, |m| {
                    m.text.clear();
                    m.deleted_at = deleted.deleted_at.or(Some(chrono::Utc::now()));
                })
            }),
            EventBody::Typing(typing) => self.someone_typing(typing),
            // Mentioned somewhere this page is not reading: the row's "@" marker, at once.
            EventBody::Mentioned(message) => {
                let reading = page_visible()
                    && self.thread.with_untracked(|t| t.conversation) == Some(message.conversation_id);
                if !reading {
                    self.conversations.update(|list| {
                        if let Some(c) =
                            list.iter_mut().find(|c| c.conversation.id == message.conversation_id)
                        {
                            c.unread_mentions += 1;
                        }
                    });
                }
            }
            EventBody::ConversationCreated(conversation) => {
                if switchboard::access::is_room(&conversation)
                    && let Some(rt) = self.rt()
                {
                    rt.subscribe(Topic::Conversation(conversation.id));
                }
                self.conversations.update(|list| {
                    if !list.iter().any(|c| c.conversation.id == conversation.id) {
                        list.push(ConversationSummary {
                            conversation,
                            unread_count: switchboard::message::UnreadCount::ZERO,
                            unread_mentions: 0,
                            contact_online: None,
                            contact_blocked: None,
                        });
                        sort(list);
                    }
                });
            }
            EventBody::ConversationUpdated(update) => self.conversation_updated(update),
            EventBody::ReadUpdated(read) => self.set_unread(read.conversation_id, read.unread_count),
            // Others' reads: the inbox shows no per-message receipts yet.
            EventBody::ReadReceipt(_) => {}
            // Bot sessions: the bot bar asks again at each step, status change, start and end
            // (their messages reach the thread through the conversation's own topic).
            EventBody::SessionStarted(_)
            | EventBody::SessionNodeExecuted(_)
            | EventBody::SessionStatusChanged(_)
            | EventBody::SessionCompleted(_) => self.bot_events.update(|n| *n += 1),
            EventBody::SessionMessage(_) => {}
            EventBody::ChannelStatus(change) => self.channels.update(|list| {
                if let Some(c) = list.iter_mut().find(|c| c.id == change.channel_id) {
                    c.status = change.status;
                    c.last_error = change.last_error;
                }
            }),
            EventBody::ContactPresence(presence) => self.conversations.update(|list| {
                for c in list.iter_mut().filter(|c| c.conversation.contact_id == Some(presence.contact_id)) {
                    c.contact_online = Some(presence.online);
                }
            }),
            EventBody::PresenceOnline(p) => self.online.update(|set| {
                set.insert(p.user_id);
            }),
            EventBody::PresenceOffline(p) => self.online.update(|set| {
                set.remove(&p.user_id);
            }),
            // The server closes this user's connections right after; nothing to show first.
            EventBody::MemberRemoved(_) => {}
            // The counts after the change, on the message in the open thread.
            EventBody::ReactionAdded(change) | EventBody::ReactionRemoved(change) => {
                self.thread.update(|t| {
                    t.update(change.message_id, |m| m.reactions = change.reactions.clone());
                })
            }
            // The open conversation's pinned bar reads its pins again.
            EventBody::MessagePinned(change) | EventBody::MessageUnpinned(change) => {
                if self.thread.with_untracked(|t| t.conversation == Some(change.conversation_id)) {
                    self.pins_changed.update(|n| *n += 1);
                }
            }
        }
    }

    /// A message stored (`created`) or edited, in the open thread only.
    fn message_arrived(self, message: Message, created: bool) {
        let open = self.thread.with_untracked(|t| t.conversation == Some(message.conversation_id));
        if !open {
            return;
        }
        // A thread's reply shows in its thread (the side panel follows those), not in the
        // conversation, unless it was sent there too.
        if message.parent_id.is_some() && !message.show_in_conversation {
            self.thread_replies.update(|r| r.push(message));
            return;
        }
        let from_someone_else = created && message.sender_user_id != Some(self.me);
        if from_someone_else {
            // Their message ends their typing.
            self.typing.update(|t| {
                if t.as_ref().is_some_and(|t| Some(t.user_id) == message.sender_user_id) {
                    *t = None;
                }
            });
        }
        self.thread.update(|t| t.upsert(message));
        if from_someone_else {
            self.mark_read(true);
        }
    }

    fn someone_typing(self, typing: switchboard::event::Typing) {
        let open = self.thread.with_untracked(|t| t.conversation);
        if typing.user_id == self.me || Some(typing.conversation_id) != open {
            return;
        }
        let ttl = typing.expires_in_ms as f64;
        let until = crate::client::now_ms() + ttl;
        self.typing.set(Some(Typing { user_id: typing.user_id, name: typing.name, until }));
        set_timeout(
            move || {
                // The page may have gone in the meantime (then the signal is disposed).
                self.typing.try_update(|t| {
                    if t.as_ref().is_some_and(|t| t.until <= crate::client::now_ms() + 1.0) {
                        *t = None;
                    }
                });
            },
            std::time::Duration::from_millis(typing.expires_in_ms + 10),
        );
    }

    fn conversation_updated(self, update: ConversationUpdated) {
        let id = update.conversation_id;
        let known = self.conversations.with_untracked(|l| l.iter().any(|c| c.conversation.id == id));
        if !known {
            // A conversation this page has not seen (created while the list loaded): reload.
            self.reload_lists();
            return;
        }
        let open = self.thread.with_untracked(|t| t.conversation == Some(id)) && page_visible();
        let mut announce = None;
        self.conversations.update(|list| {
            let Some(c) = list.iter_mut().find(|c| c.conversation.id == id) else { return };
            let conv = &mut c.conversation;
            match update.change {
                ConversationChange::NewMessage {
                    last_message_at,
                    last_message_preview,
                    status,
                    direction,
                    sender_user_id,
                    ..
                } => {
                    let from_someone_else = sender_user_id != Some(self.me);
                    // The server's rule (docs/realtime.md): the contact's messages, or in a room
                    // anyone else's; a teammate's reply to a contact is not unread, and my own
                    // message moves my read position past everything.
                    let unread = direction == switchboard::provider::Direction::Inbound
                        || (conv.contact_id.is_none() && from_someone_else);
                    if from_someone_else {
                        // The real author: the contact, or the teammate who replied to them.
                        let author = self.author(sender_user_id, &conv.title);
                        announce = Some(if author == conv.title {
                            format!("New message from {author}: {last_message_preview}")
                        } else {
                            format!("New message from {author} in {}: {last_message_preview}", conv.title)
                        });
                    }
                    if !from_someone_else {
                        c.unread_count = switchboard::message::UnreadCount::ZERO;
                        c.unread_mentions = 0;
                    } else if unread && !open {
                        c.unread_count = c.unread_count.bumped();
                    }
                    if last_message_at.is_some() {
                        conv.last_message_at = last_message_at;
                    }
                    conv.last_message_preview = Some(last_message_preview);
                    conv.last_message_sender_user_id = sender_user_id;
                    conv.status = status;
                    if status != switchboard::message::ConversationStatus::Snoozed {
                        conv.snoozed_until = None;
                    }
                }
                ConversationChange::Status {
                    last_message_at,
                    last_message_preview,
                    status,
                    snoozed_until,
                } => {
                    if last_message_at.is_some() {
                        conv.last_message_at = last_message_at;
                    }
                    if last_message_preview.is_some() {
                        conv.last_message_preview = last_message_preview;
                    }
                    conv.status = status;
                    conv.snoozed_until = snoozed_until;
                }
                ConversationChange::Renamed { title, status } => {
                    conv.title = title;
                    conv.status = status;
                }
                // Who is in the room does not show in the list.
                ConversationChange::Members { .. } => {}
                ConversationChange::Labels { label_ids } => conv.label_ids = label_ids,
                ConversationChange::Assigned { assignee_id, .. } => conv.assignee_id = assignee_id,
                // The composer reads these from the list: a frozen room takes nothing.
                ConversationChange::Rules { frozen, slow_mode_secs } => {
                    conv.frozen = frozen;
                    conv.slow_mode_secs = slow_mode_secs;
                }
            }
            sort(list);
        });
        if let Some(text) = announce {
            self.announcement.set(text);
        }
    }
}
