//! The browser's outbox: every message the agent sends is queued here (persisted in
//! `localStorage`) and sent from here in order, each with its own client id, so a send made
//! offline waits for the connection ("Waiting for connection") instead of failing, survives a
//! reload, and is never stored twice however often it is sent again.

use std::cell::Cell;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use switchboard::{ConversationId, Message, MessageId, MessageStatus, UserId, WorkspaceId};

use super::state::Inbox;
use crate::client::http::ApiError;
use crate::client::realtime::Realtime;

/// The queue of one user in one workspace, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Queue(pub Vec<Message>);

impl Queue {
    /// The key it is stored under.
    pub fn key(workspace: WorkspaceId, user: UserId) -> String {
        format!("switchboard.outbox.{workspace}.{user}")
    }

    /// Parses what was stored; anything unreadable is an empty queue (never a failed page).
    pub fn parse(stored: Option<&str>) -> Self {
        Queue(stored.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }

    pub fn push(&mut self, message: Message) {
        if !self.0.iter().any(|m| m.id == message.id) {
            self.0.push(message);
        }
    }

    pub fn remove(&mut self, id: MessageId) {
        self.0.retain(|m| m.id != id);
    }

    /// The queued sends of one conversation, in order.
    pub fn of(&self, conversation: ConversationId) -> impl Iterator<Item = &Message> {
        self.0.iter().filter(move |m| m.conversation_id == conversation)
    }
}

thread_local! {
    /// A flush is under way (one at a time keeps the order).
    static FLUSHING: Cell<bool> = const { Cell::new(false) };
    /// Where the queue lives when the browser refuses `localStorage` (private modes): it then
    /// lasts as long as the tab.
    static MEMORY: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

impl Inbox {
    fn queue_key(&self) -> String {
        Queue::key(self.workspace, self.me)
    }

    /// The stored queue.
    pub(super) fn queued(&self) -> Queue {
        let stored = match crate::client::local_storage() {
            Some(storage) => storage.get_item(&self.queue_key()).ok().flatten(),
            None => MEMORY.with(|m| m.borrow().clone()),
        };
        Queue::parse(stored.as_deref())
    }

    fn change_queue(&self, change: impl FnOnce(&mut Queue)) {
        let mut queue = self.queued();
        change(&mut queue);
        let json = queue.to_json();
        let stored = crate::client::local_storage().is_some_and(|storage| {
            if queue.0.is_empty() {
                storage.remove_item(&self.queue_key()).is_ok()
            } else {
                storage.set_item(&self.queue_key(), &json).is_ok()
            }
        });
        if !stored {
            MEMORY.with(|m| *m.borrow_mut() = Some(json));
        }
    }

    /// Queues an optimistic message (already shown) and sends what is queued.
    pub(super) fn enqueue(self, message: Message) {
        self.thread.update(|t| {
            t.unsent.insert(message.id);
        });
        self.change_queue(|q| q.push(message));
        self.flush();
    }

    /// Shows the open conversation's queued sends (after a reload, they wait here).
    pub(super) fn show_queued(self, conversation: ConversationId) {
        let queued: Vec<Message> = self.queued().of(conversation).cloned().collect();
        if queued.is_empty() {
            return;
        }
        self.thread.update(|t| {
            if t.conversation != Some(conversation) {
                return;
            }
            for message in queued {
                t.unsent.insert(message.id);
                t.upsert(message);
            }
        });
    }

    /// Sends the queue in order, one at a time. Stops at the first send that cannot reach the
    /// server (it stays queued, and so does everything after it, for the next flush: when the
    /// link is back, or the next send). A refusal ends that send (shown as not sent, with why).
    pub fn flush(self) {
        if FLUSHING.with(Cell::get) {
            return;
        }
        FLUSHING.with(|f| f.set(true));
        spawn_local(async move {
            // Each send once per flush, even if the storage failed to forget it.
            let mut tried = std::collections::HashSet::new();
            while let Some(next) = self.queued().0.into_iter().next() {
                if !tried.insert(next.id) {
                    break;
                }
                match self.deliver(&next).await {
                    Ok(stored) => {
                        self.change_queue(|q| q.remove(next.id));
                        self.thread.update(|t| {
                            if t.conversation == Some(stored.conversation_id) {
                                t.upsert(stored);
                            }
                        });
                    }
                    Err(e) if e.status == 0 => break,
                    Err(e) => {
                        self.change_queue(|q| q.remove(next.id));
                        self.thread.update(|t| {
                            // Refused for good unless the server was busy or failing (then
                            // Retry queues it again: it was never stored).
                            if !(e.status == 429 || e.status >= 500) {
                                t.unsent.remove(&next.id);
                                t.refused.insert(next.id);
                            }
                            t.update(next.id, |m| {
                                m.status = MessageStatus::Failed;
                                m.error = Some(e.message);
                            });
                        });
                    }
                }
            }
            FLUSHING.with(|f| f.set(false));
        });
    }

    /// One send: over the socket when it is up, else through the server function. The same
    /// client id makes any repetition of it harmless.
    async fn deliver(self, message: &Message) -> Result<Message, ApiError> {
        let conversation = message.conversation_id;
        let client_id = message.client_message_id.clone().unwrap_or_else(|| message.id.to_string());
        let attachment_ids: Vec<switchboard::AttachmentId> =
            message.attachments.iter().map(|a| a.id).collect();
        if let Some(rt) = self.rt().filter(Realtime::is_connected) {
            let args = json!({
                "conversation_id": conversation,
                "text": message.text,
                "client_message_id": client_id,
                "attachments": attachment_ids,
                "reply_to": message.reply_to,
                "parent_id": message.parent_id,
                "show_in_conversation": message.show_in_conversation,
                "note": message.note,
            });
            match rt.rpc("send_message", args).await {
                Ok(reply) => {
                    if let Some(stored) =
                        reply.get("message").and_then(|m| serde_json::from_value::<Message>(m.clone()).ok())
                    {
                        return Ok(stored);
                    }
                }
                // The protocol's codes for a refusal are the HTTP statuses (4xx, 5xx).
                Err(e) if (400..600).contains(&e.code) => {
                    return Err(ApiError { status: e.code as u16, message: e.message });
                }
                // The link dropped meanwhile: try the other way.
                Err(_) => {}
            }
        }
        let send = switchboard::message::SendMessage {
            text: message.text.clone(),
            attachments: attachment_ids,
            client_message_id: Some(client_id),
            reply_to: message.reply_to,
            template: None,
            parent_id: message.parent_id,
            show_in_conversation: message.show_in_conversation,
            note: message.note,
            buttons: Vec::new(),
        };
        crate::api::send_message(self.workspace, conversation, send)
            .await
            .map_err(super::state::server_fn_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::provider::Direction;
    use switchboard::{ChannelId, ConversationId};

    fn queued(conversation: ConversationId, text: &str) -> Message {
        let id = MessageId::new();
        Message {
            id,
            workspace_id: WorkspaceId::new(),
            conversation_id: conversation,
            channel_id: ChannelId::new(),
            direction: Direction::Outbound,
            status: MessageStatus::Pending,
            text: text.into(),
            external_id: None,
            client_message_id: Some(id.to_string()),
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
    fn the_queue_keeps_its_order_through_storage_and_each_send_once() {
        let (a, b) = (ConversationId::new(), ConversationId::new());
        let mut queue = Queue::default();
        let first = queued(a, "one");
        queue.push(first.clone());
        queue.push(queued(b, "elsewhere"));
        queue.push(queued(a, "two"));
        queue.push(first.clone());
        assert_eq!(queue.0.len(), 3, "a send queued again is still one send");
        let stored = Queue::parse(Some(&queue.to_json()));
        assert_eq!(stored, queue);
        assert_eq!(stored.of(a).map(|m| m.text.as_str()).collect::<Vec<_>>(), ["one", "two"]);
        let mut stored = stored;
        stored.remove(first.id);
        assert_eq!(stored.0.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["elsewhere", "two"]);
    }

    #[test]
    fn an_unreadable_stored_queue_is_empty() {
        assert_eq!(Queue::parse(Some("{not json")), Queue::default());
        assert_eq!(Queue::parse(None), Queue::default());
    }
}
