//! The payloads of a bot session's events: on `session:{id}` every message, node run and
//! status change of the session; on the workspace's inbox its start and its end.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BotSession, Completion, NodeId, SessionStatus};
use crate::ids::{BotSessionId, ConversationId};
use crate::message::Message;

/// `session.message`: a message of the session's conversation while it runs, the bot's own
/// (`from_bot`) or the customer's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionMessage {
    pub session_id: BotSessionId,
    pub from_bot: bool,
    pub message: Message,
}

/// `session.node_executed`: the session ran a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeExecuted {
    pub session_id: BotSessionId,
    pub node_id: NodeId,
    pub label: String,
    /// The node's kind (`send`, `ask`, `choice`, …).
    pub kind: String,
    /// The session's step count after it.
    pub step: i32,
}

/// `session.status_changed`: running, waiting for the customer (until `wait_until`), or ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionStatusChanged {
    pub session_id: BotSessionId,
    pub status: SessionStatus,
    pub current_node: Option<NodeId>,
    pub wait_until: Option<DateTime<Utc>>,
}

/// `session.completed`: why it ended and what it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionCompleted {
    pub session_id: BotSessionId,
    pub conversation_id: ConversationId,
    pub status: SessionStatus,
    pub reason: Completion,
    pub nodes_executed: i32,
    pub messages_sent: i32,
    pub messages_received: i32,
    pub completed_at: DateTime<Utc>,
}

impl SessionCompleted {
    /// The completion of a session that has ended (none while it runs).
    pub fn of(session: &BotSession) -> Option<SessionCompleted> {
        Some(SessionCompleted {
            session_id: session.id,
            conversation_id: session.conversation_id,
            status: session.status,
            reason: session.completion?,
            nodes_executed: session.nodes_executed,
            messages_sent: session.messages_sent,
            messages_received: session.messages_received,
            completed_at: session.completed_at?,
        })
    }
}
