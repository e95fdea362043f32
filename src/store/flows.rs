//! The flows port: a workspace's chatbot flows and their versions, bot sessions, and business
//! hours, beside the other repositories in [`super`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::flow::events::NodeExecuted;
use crate::flow::{
    BotSession, BusinessHours, Completion, Flow, FlowDraft, FlowVersion, NodeId, SessionStatus,
};
use crate::ids::{BotSessionId, ChannelId, ContactId, ConversationId, FlowId, UserId, WorkspaceId};
use crate::message::Message;

/// A session to begin, at its flow version's start node.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub workspace_id: WorkspaceId,
    pub flow_id: FlowId,
    pub flow_version: i32,
    pub flow_name: String,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub contact_id: Option<ContactId>,
    pub start: NodeId,
    pub variables: BTreeMap<String, String>,
    pub started_by: Option<UserId>,
}

/// One step of a session to record: where it is now, what it ran and said, and whether it
/// ended. Written only if the session is still at `expected_steps` (else `Conflict {
/// constraint: "bot_session_moved" }`: someone else moved it on).
#[derive(Clone, Debug)]
pub struct SessionAdvance {
    pub workspace_id: WorkspaceId,
    pub id: BotSessionId,
    pub expected_steps: i32,
    pub status: SessionStatus,
    pub current_node: Option<NodeId>,
    pub variables: BTreeMap<String, String>,
    pub wait_until: Option<DateTime<Utc>>,
    /// The node run in this step, for `session.node_executed`.
    pub executed: Option<NodeExecuted>,
    /// The messages of this step (the bot's, or the customer's answer), for `session.message`.
    pub messages: Vec<Message>,
    /// Set when the session ends.
    pub completion: Option<Completion>,
}

/// Which sessions a list shows (newest first).
#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    pub flow_id: Option<FlowId>,
    pub status: Option<SessionStatus>,
    pub channel_id: Option<ChannelId>,
    pub conversation_id: Option<ConversationId>,
    /// Sessions started before this one (paging).
    pub before: Option<BotSessionId>,
    pub limit: u32,
}

/// Flows, their versions and sessions. Every session change commits its events with it:
/// `session.started` / `session.completed` on the workspace's inbox, the run's own on
/// `session:{id}`.
#[async_trait]
pub trait FlowRepo: Send + Sync {
    async fn create_flow(
        &self,
        workspace_id: WorkspaceId,
        draft: &FlowDraft,
        by: UserId,
    ) -> Result<Flow, StoreError>;
    /// Replaces a flow's name, triggers and draft. `NotFound` outside the workspace.
    async fn update_flow(
        &self,
        workspace_id: WorkspaceId,
        id: FlowId,
        draft: &FlowDraft,
    ) -> Result<Flow, StoreError>;
    async fn set_flow_enabled(
        &self,
        workspace_id: WorkspaceId,
        id: FlowId,
        enabled: bool,
    ) -> Result<Flow, StoreError>;
    /// Deletes a flow with its versions and sessions.
    async fn delete_flow(&self, workspace_id: WorkspaceId, id: FlowId) -> Result<(), StoreError>;
    async fn flow(&self, workspace_id: WorkspaceId, id: FlowId) -> Result<Option<Flow>, StoreError>;
    async fn flows(&self, workspace_id: WorkspaceId) -> Result<Vec<Flow>, StoreError>;
    /// Freezes the draft as the next version and enables the flow.
    async fn publish_flow(
        &self,
        workspace_id: WorkspaceId,
        id: FlowId,
        by: UserId,
    ) -> Result<FlowVersion, StoreError>;
    async fn flow_version(&self, flow_id: FlowId, version: i32) -> Result<Option<FlowVersion>, StoreError>;

    /// Begins a session (status running) with its `session.started`. `Conflict { constraint:
    /// "bot_session_live" }` when one already runs in the conversation.
    async fn start_session(&self, new: NewSession) -> Result<BotSession, StoreError>;
    async fn advance_session(&self, step: SessionAdvance) -> Result<BotSession, StoreError>;
    /// A session of any workspace (for the realtime gateway's authorization and the runner).
    async fn bot_session(&self, id: BotSessionId) -> Result<Option<BotSession>, StoreError>;
    /// The running or waiting session of a conversation.
    async fn live_session(&self, conversation_id: ConversationId) -> Result<Option<BotSession>, StoreError>;
    /// Which of these conversations have a running or waiting session (one read for many).
    async fn conversations_with_live_sessions(
        &self,
        conversation_ids: &[ConversationId],
    ) -> Result<std::collections::HashSet<ConversationId>, StoreError>;
    async fn bot_sessions(
        &self,
        workspace_id: WorkspaceId,
        filter: &SessionFilter,
    ) -> Result<Vec<BotSession>, StoreError>;
    /// Sessions to move on (any workspace): waiting ones whose time is up by `now`, and running
    /// ones not touched since `stale_before` (their runner stopped, e.g. the server restarted).
    async fn due_sessions(
        &self,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BotSession>, StoreError>;

    async fn business_hours(&self, workspace_id: WorkspaceId) -> Result<Option<BusinessHours>, StoreError>;
    async fn set_business_hours(
        &self,
        workspace_id: WorkspaceId,
        hours: Option<&BusinessHours>,
    ) -> Result<(), StoreError>;
}
