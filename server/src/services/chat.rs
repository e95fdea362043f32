//! Pins and threads. Pins: any member who may post in a conversation pins or unpins its messages (up to
//! [`MAX_PINS`] at once); everyone who reads it sees them in its header
//! (`GET /api/v1/conversations/{id}/pins`) and hears `message.pinned` / `message.unpinned`.

use switchboard::access::Right;
use switchboard::message::{MAX_PINS, Pin};
use switchboard::{ConversationId, MessageId, StoreError};

use super::{Actor, ServiceError};
use crate::access;
use crate::services::messages::MessageService;

impl MessageService {
    /// Pins (or, `pinned: false`, unpins) a message; doing it twice changes nothing.
    pub async fn pin(&self, actor: Actor, id: MessageId, pinned: bool) -> Result<(), ServiceError> {
        let message =
            self.store.message(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("message"))?;
        access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Post).await?;
        let changed = if pinned {
            self.store.pin(actor.workspace_id, id, actor.user_id, MAX_PINS).await
        } else {
            self.store.unpin(actor.workspace_id, id, actor.user_id).await
        };
        match changed {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { constraint }) if constraint == "pinned_message_limit" => {
                Err(ServiceError::Unprocessable(
                    "too_many_pins",
                    format!("A conversation keeps at most {MAX_PINS} pins."),
                ))
            }
            Err(StoreError::Conflict { .. }) => {
                Err(ServiceError::Conflict("A deleted message cannot be pinned."))
            }
            Err(e) => Err(ServiceError::from(e).not_found_as("message")),
        }
    }

    /// A conversation's pinned messages, the newest pin first.
    pub async fn pins(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
    ) -> Result<Vec<Pin>, ServiceError> {
        access::conversation(self.store.as_ref(), actor, conversation_id, Right::Read).await?;
        let pins = self.store.pins(actor.workspace_id, conversation_id).await?;
        Ok(pins.into_iter().map(|p| Pin { message: self.signed(p.message), ..p }).collect())
    }
}

/// Most replies one page of a thread holds.
pub const MAX_THREAD_PAGE: u32 = 200;

impl MessageService {
    /// A thread's replies the caller sees, oldest first, after `after` (`GET
    /// /api/v1/messages/{id}/thread`).
    pub async fn thread(
        &self,
        actor: Actor,
        parent: MessageId,
        after: Option<MessageId>,
        limit: Option<u32>,
    ) -> Result<Vec<switchboard::Message>, ServiceError> {
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_THREAD_PAGE {
            let why = format!("must be 1 to {MAX_THREAD_PAGE}");
            return Err(switchboard::validate::ValidationError::new("limit", why).into());
        }
        let message =
            self.store.message(actor.workspace_id, parent).await?.ok_or(ServiceError::NotFound("message"))?;
        access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Read).await?;
        let replies =
            self.store.thread_replies(actor.workspace_id, parent, actor.user_id, after, limit).await?;
        Ok(replies.into_iter().map(|m| self.signed(m)).collect())
    }
}
