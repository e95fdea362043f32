//! The agent's desk: the inbox flows the UI's server functions call (the conversation list,
//! a conversation's history, sending). The server implements it over the same services and
//! access rules as the REST API, so both answer alike; the UI only sees this port. Every call
//! names the workspace the page shows, and acts in it (as the API's `X-Workspace-Id` does).

use async_trait::async_trait;

use crate::ids::{ConversationId, MessageId, WorkspaceId};
use crate::message::{ConversationSummary, Message};

/// A refusal, with the HTTP status and the stable code the REST API answers for the same
/// failure, and words fit to show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeskError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[async_trait]
pub trait Desk: Send + Sync {
    /// The caller's conversations (session `token`), most recent activity first.
    async fn conversations(
        &self,
        token: &str,
        workspace: WorkspaceId,
    ) -> Result<Vec<ConversationSummary>, DeskError>;
    /// A page of history, newest first, older than `before` when given.
    async fn history(
        &self,
        token: &str,
        workspace: WorkspaceId,
        conversation: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, DeskError>;
    /// Sends a message; the same `client_message_id` again answers the first message.
    async fn send(
        &self,
        token: &str,
        workspace: WorkspaceId,
        conversation: ConversationId,
        send: crate::message::SendMessage,
    ) -> Result<Message, DeskError>;
}
