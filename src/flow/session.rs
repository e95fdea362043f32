//! Bot sessions (one run of a flow version in a conversation), how they end, and the
//! workspace's business hours their conditions may ask about.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::NodeId;
use crate::ids::{BotSessionId, ChannelId, ContactId, ConversationId, FlowId, UserId, WorkspaceId};
use crate::validate::ValidationError;

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Running,
    WaitingInput,
    Completed,
    Expired,
    Stopped,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Running => "running",
            SessionStatus::WaitingInput => "waiting_input",
            SessionStatus::Completed => "completed",
            SessionStatus::Expired => "expired",
            SessionStatus::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<SessionStatus> {
        [Self::Running, Self::WaitingInput, Self::Completed, Self::Expired, Self::Stopped]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// Still running or waiting: at most one such session per conversation.
    pub fn is_live(self) -> bool {
        matches!(self, SessionStatus::Running | SessionStatus::WaitingInput)
    }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// It reached an end (an `end` node, or a node with nowhere to go).
    Finished,
    /// A hand-over node gave the conversation to the team.
    HandedOver,
    /// Nobody answered in time and the question had no timeout branch.
    TimedOut,
    /// An agent wrote in the conversation.
    AgentReplied,
    /// An agent pressed Stop.
    StoppedByAgent,
    /// The flow went wrong at run time (e.g. a label it sets was deleted).
    Failed,
}

impl Completion {
    pub fn as_str(self) -> &'static str {
        match self {
            Completion::Finished => "finished",
            Completion::HandedOver => "handed_over",
            Completion::TimedOut => "timed_out",
            Completion::AgentReplied => "agent_replied",
            Completion::StoppedByAgent => "stopped_by_agent",
            Completion::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Completion> {
        [
            Self::Finished,
            Self::HandedOver,
            Self::TimedOut,
            Self::AgentReplied,
            Self::StoppedByAgent,
            Self::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The status a session ends in for this reason.
    pub fn status(self) -> SessionStatus {
        match self {
            Completion::Finished | Completion::HandedOver | Completion::Failed => SessionStatus::Completed,
            Completion::TimedOut => SessionStatus::Expired,
            Completion::AgentReplied | Completion::StoppedByAgent => SessionStatus::Stopped,
        }
    }
}

/// One run of a flow version in a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotSession {
    pub id: BotSessionId,
    pub workspace_id: WorkspaceId,
    pub flow_id: FlowId,
    pub flow_version: i32,
    /// The flow's name when the session started.
    pub flow_name: String,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub contact_id: Option<ContactId>,
    pub status: SessionStatus,
    /// The node being run or waited on (none once ended).
    pub current_node: Option<NodeId>,
    pub variables: BTreeMap<String, String>,
    /// Steps taken (each node run, each answer handled).
    pub steps: i32,
    pub nodes_executed: i32,
    pub messages_sent: i32,
    pub messages_received: i32,
    /// When a question stops waiting.
    pub wait_until: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub completion: Option<Completion>,
    /// Who started it by hand (none: a trigger).
    pub started_by: Option<UserId>,
}

/// A workspace's opening hours, for conditions on business hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// An IANA time zone, e.g. `Europe/Berlin` (checked by the server).
    pub time_zone: String,
    /// Monday first: each day's opening, or none when closed.
    pub days: [Option<OpenHours>; 7],
}

/// One day's opening, in minutes after local midnight (`close` after `open`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpenHours {
    pub open_minute: u16,
    pub close_minute: u16,
}

impl BusinessHours {
    pub fn validate(&self) -> Result<(), ValidationError> {
        for day in self.days.iter().flatten() {
            if day.open_minute >= day.close_minute || day.close_minute > 1440 {
                return Err(ValidationError::new(
                    "days",
                    "each day opens before it closes, within 0 to 1440 minutes",
                ));
            }
        }
        Ok(())
    }

    /// Whether it is open at a local time (`weekday` 0 is Monday).
    pub fn open_at(&self, weekday: usize, minute_of_day: u16) -> bool {
        self.days
            .get(weekday)
            .copied()
            .flatten()
            .is_some_and(|d| (d.open_minute..d.close_minute).contains(&minute_of_day))
    }
}
