//! The pins port: a conversation's pinned messages, beside the other repositories in [`super`].

use async_trait::async_trait;

use super::StoreError;
use crate::ids::{ConversationId, MessageId, UserId, WorkspaceId};
use crate::message::Pin;

/// Pinned messages. Every change commits its event with it (`message.pinned` /
/// `message.unpinned` on the conversation's topic).
#[async_trait]
pub trait PinRepo: Send + Sync {
    /// Pins a message of the workspace in its conversation. `Ok(false)` when it already was
    /// (nothing written); `NotFound` for an unknown message; `Conflict { constraint:
    /// "message_deleted" }` for a deleted one; `Conflict { constraint: "pinned_message_limit" }`
    /// when the conversation already has `limit` pins.
    async fn pin(
        &self,
        workspace_id: WorkspaceId,
        message_id: MessageId,
        by: UserId,
        limit: usize,
    ) -> Result<bool, StoreError>;
    /// Unpins it. `Ok(false)` when it was not pinned; `NotFound` for an unknown message.
    async fn unpin(
        &self,
        workspace_id: WorkspaceId,
        message_id: MessageId,
        by: UserId,
    ) -> Result<bool, StoreError>;
    /// A conversation's pins, the newest pin first.
    async fn pins(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
    ) -> Result<Vec<Pin>, StoreError>;
}
