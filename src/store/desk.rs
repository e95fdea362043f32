//! The desk port: what agents change about a conversation (status, assignee, labels) and the
//! workspace's labels and canned replies, beside the other repositories in [`super`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::desk::{CannedReply, Label};
use crate::ids::{CannedReplyId, ConversationId, LabelId, UserId, WorkspaceId};
use crate::message::{Conversation, ConversationStatus};

/// An assignment to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewAssignment {
    /// The agent (none: unassign).
    pub assignee: Option<UserId>,
    /// Who did it (none: the automatic assignment).
    pub by: Option<UserId>,
    /// "Assign to me": only when nobody else has it, else `Conflict { constraint:
    /// "conversation_assigned" }` (the winner of a race keeps it).
    pub only_if_unassigned: bool,
}

/// Conversation status, assignment and labels; the workspace's labels and canned replies. Each
/// change of a conversation commits its `conversation.updated` with it, on the conversation's
/// list topic; nothing is written (and no event sent) when nothing changes.
#[async_trait]
pub trait DeskRepo: Send + Sync {
    /// Opens, parks, resolves or snoozes (until `snoozed_until`, given with `snoozed` only) a
    /// conversation. `NotFound` if it is not in the workspace.
    async fn set_conversation_status(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        status: ConversationStatus,
        snoozed_until: Option<DateTime<Utc>>,
    ) -> Result<Conversation, StoreError>;
    /// Opens every snoozed conversation (of any workspace) whose time has come by `now`, at
    /// most `limit`; returns how many.
    async fn wake_snoozed(&self, now: DateTime<Utc>, limit: u32) -> Result<usize, StoreError>;
    /// Assigns a contact conversation (or unassigns it). `NotFound` if it is not in the
    /// workspace; `Conflict { constraint: "assignee" }` when the assignee is not one of the
    /// workspace's people.
    async fn assign(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        assignment: NewAssignment,
    ) -> Result<Conversation, StoreError>;
    /// The workspace's labels by name.
    async fn labels(&self, workspace_id: WorkspaceId) -> Result<Vec<Label>, StoreError>;
    /// Adds a label; `Conflict { constraint: "label_workspace_id_lower_name_key" }` for a name taken
    /// (whatever the case), `Conflict { constraint: "label_limit" }` past `limit` labels.
    async fn create_label(
        &self,
        workspace_id: WorkspaceId,
        name: &str,
        color: &str,
        limit: usize,
    ) -> Result<Label, StoreError>;
    /// Renames or recolours a label; `NotFound`, or the name conflict.
    async fn update_label(
        &self,
        workspace_id: WorkspaceId,
        id: LabelId,
        name: &str,
        color: &str,
    ) -> Result<Label, StoreError>;
    /// Deletes a label and takes it off every conversation (each with its event); `NotFound`.
    async fn delete_label(&self, workspace_id: WorkspaceId, id: LabelId) -> Result<(), StoreError>;
    /// Sets a conversation's labels (the whole set, kept in the order given for new ones).
    /// `NotFound` for the conversation; `Conflict { constraint: "label" }` for a label not of
    /// the workspace.
    async fn set_conversation_labels(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        labels: &[LabelId],
    ) -> Result<Conversation, StoreError>;
    /// The workspace's canned replies by short code.
    async fn canned_replies(&self, workspace_id: WorkspaceId) -> Result<Vec<CannedReply>, StoreError>;
    /// Adds one; `Conflict { constraint: "canned_reply_workspace_id_short_code_key" }` for a
    /// short code taken, `Conflict { constraint: "canned_reply_limit" }` past `limit`.
    async fn create_canned_reply(
        &self,
        workspace_id: WorkspaceId,
        by: UserId,
        short_code: &str,
        text: &str,
        limit: usize,
    ) -> Result<CannedReply, StoreError>;
    /// Changes one; `NotFound`, or the short code conflict.
    async fn update_canned_reply(
        &self,
        workspace_id: WorkspaceId,
        id: CannedReplyId,
        short_code: &str,
        text: &str,
    ) -> Result<CannedReply, StoreError>;
    /// Messages of the workspace whose text holds every term (the last one as a prefix), the
    /// newest first, older than `before`: in the conversations `viewer` may read (`rooms`, as the
    /// list's scope), not deleted, a shadowed message only for its author.
    async fn search_messages(
        &self,
        workspace_id: WorkspaceId,
        viewer: UserId,
        rooms: crate::access::RoomScope,
        terms: &[String],
        before: Option<crate::ids::MessageId>,
        limit: u32,
    ) -> Result<Vec<crate::search::SearchHit>, StoreError>;
    /// A conversation's messages `viewer` sees from `from` on (inclusive), oldest first: the
    /// newer half of a page around a message.
    async fn history_from(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        viewer: UserId,
        from: crate::ids::MessageId,
        limit: u32,
    ) -> Result<Vec<crate::message::Message>, StoreError>;
    /// Turns a channel's automatic assignment on or off; `NotFound` for a channel not of the
    /// workspace.
    async fn set_auto_assign(
        &self,
        workspace_id: WorkspaceId,
        channel_id: crate::ids::ChannelId,
        on: bool,
    ) -> Result<(), StoreError>;
    /// Whether a channel assigns its new conversations by itself, and when each agent last got one
    /// of its conversations that way (none: `None`).
    async fn auto_assign(
        &self,
        channel_id: crate::ids::ChannelId,
    ) -> Result<Option<Vec<(UserId, DateTime<Utc>)>>, StoreError>;
    /// Notes that an agent got one of the channel's conversations by the automatic assignment.
    async fn auto_assigned(
        &self,
        channel_id: crate::ids::ChannelId,
        user_id: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Deletes one; `NotFound`.
    async fn delete_canned_reply(
        &self,
        workspace_id: WorkspaceId,
        id: CannedReplyId,
    ) -> Result<(), StoreError>;
}
