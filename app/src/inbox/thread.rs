//! The open conversation's messages, as the inbox keeps them: in id (time) order, optimistic
//! sends replaced by their acknowledgement, ticks that only move forward.

use std::collections::HashSet;

use switchboard::{ConversationId, Message, MessageId};

/// The conversation open in the right pane.
#[derive(Clone, Debug, Default)]
pub struct Thread {
    pub conversation: Option<ConversationId>,
    /// Oldest first; with this user's replies kept to a thread (see [`in_conversation`]).
    pub messages: Vec<Message>,
    /// Optimistic sends the server never acknowledged (the network was down): retried by
    /// sending again with the same client id.
    pub unsent: HashSet<MessageId>,
    /// Sends the server refused for good (a retry would be refused again): no Retry button.
    pub refused: HashSet<MessageId>,
    /// Older history exists beyond the first message.
    pub has_more: bool,
    pub loading: bool,
    /// The conversation does not exist or is not the user's to read (a stale or foreign link).
    pub missing: bool,
    /// Counts appends at the bottom, so the list can follow them.
    pub appended: u64,
}

impl Thread {
    pub(super) fn position(&self, message: &Message) -> Option<usize> {
        self.messages.iter().rposition(|m| {
            m.id == message.id
                || (message.client_message_id.is_some()
                    && m.client_message_id == message.client_message_id
                    && m.sender_user_id == message.sender_user_id)
        })
    }

    /// Adds a message or replaces the one it acknowledges (same id, or the same client id of an
    /// optimistic send), keeping the list in id (time) order.
    pub fn upsert(&mut self, message: Message) {
        if let Some(at) = self.position(&message) {
            let old = self.messages.remove(at);
            self.unsent.remove(&old.id);
            // A late echo must not move the ticks backwards.
            let mut message = message;
            if old.id == message.id && old.status != message.status && !old.status.advances_to(message.status)
            {
                message.status = old.status;
            }
            self.insert_sorted(message);
        } else {
            let last = self.messages.last().is_none_or(|m| m.id < message.id);
            self.insert_sorted(message);
            if last {
                self.appended += 1;
            }
        }
    }

    pub(super) fn insert_sorted(&mut self, message: Message) {
        let at = self.messages.iter().rposition(|m| m.id < message.id).map_or(0, |i| i + 1);
        self.messages.insert(at, message);
    }

    pub(super) fn update(&mut self, id: MessageId, change: impl FnOnce(&mut Message)) {
        if let Some(m) = self.messages.iter_mut().rev().find(|m| m.id == id) {
            change(m);
        }
    }
}

/// Whether a message shows in its conversation's list: any message but a thread's reply kept
/// to its thread. [`Thread::messages`] holds this user's own thread replies too (the outbox
/// acknowledges them there), for the thread panel; the list leaves them out.
pub fn in_conversation(message: &Message) -> bool {
    message.parent_id.is_none() || message.show_in_conversation
}

#[cfg(test)]
mod tests {
    use switchboard::provider::Direction;
    use switchboard::{ChannelId, MessageStatus, UserId, WorkspaceId};

    use super::*;

    fn message(text: &str, client: Option<&str>, status: MessageStatus) -> Message {
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
            sender_user_id: Some(UserId(uuid::Uuid::nil())),
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
    fn an_acknowledgement_replaces_the_optimistic_message_in_order() {
        let mut thread = Thread::default();
        let optimistic = message("hi", Some("c1"), MessageStatus::Pending);
        thread.upsert(optimistic.clone());
        let other = message("from the network", None, MessageStatus::Read);
        thread.upsert(other.clone());
        assert_eq!(thread.appended, 2);
        // The server's copy has its own (later) id and the same client id.
        let mut stored = message("hi", Some("c1"), MessageStatus::Sent);
        stored.created_at = optimistic.created_at;
        thread.upsert(stored.clone());
        assert_eq!(thread.messages.len(), 2);
        assert_eq!(thread.messages.iter().map(|m| m.id).collect::<Vec<_>>(), vec![other.id, stored.id]);
        assert_eq!(thread.appended, 2, "a replacement is not a new message");
    }

    #[test]
    fn ticks_never_move_backwards_on_a_late_echo() {
        let mut thread = Thread::default();
        let mut read = message("hi", Some("c1"), MessageStatus::Read);
        thread.upsert(read.clone());
        read.status = MessageStatus::Sent;
        thread.upsert(read.clone());
        assert_eq!(thread.messages[0].status, MessageStatus::Read);
    }

    #[test]
    fn messages_stay_in_id_order_whatever_the_arrival_order() {
        let (a, b, c) = (
            message("a", None, MessageStatus::Sent),
            message("b", None, MessageStatus::Sent),
            message("c", None, MessageStatus::Sent),
        );
        let mut thread = Thread::default();
        thread.upsert(c.clone());
        thread.upsert(a.clone());
        thread.upsert(b.clone());
        thread.upsert(a.clone());
        let texts: Vec<_> = thread.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }
}
