//! The moderation port, beside the other repositories in [`super`]: bans, flags, the record
//! of actions, a room's freeze and slow mode, mutes and the blocklist. Each change records its
//! [`ModerationAction`] in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::ids::{BanId, ConversationId, FlagId, UserId, WorkspaceId};
use crate::message::Conversation;
use crate::moderation::{Ban, BlockedWord, Flag, FlagStatus, ModerationAction};

/// A room's rules to change (`None`: leave as is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomRules {
    pub frozen: Option<bool>,
    /// `Some(0)`: slow mode off.
    pub slow_mode_secs: Option<u32>,
}

#[async_trait]
pub trait ModerationRepo: Send + Sync {
    /// Stores a ban.
    async fn ban(&self, ban: &Ban, action: &ModerationAction) -> Result<(), StoreError>;
    /// Lifts a ban now (its end becomes `at`). `NotFound` for an unknown or ended one.
    async fn unban(
        &self,
        workspace_id: WorkspaceId,
        id: BanId,
        at: DateTime<Utc>,
        action: &ModerationAction,
    ) -> Result<Ban, StoreError>;
    /// The bans in force at `at`, of one room (and the workspace-wide ones) or of all.
    async fn bans(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: Option<ConversationId>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Ban>, StoreError>;
    /// Stores a flag.
    async fn flag(
        &self,
        workspace_id: WorkspaceId,
        flag: &Flag,
        action: &ModerationAction,
    ) -> Result<(), StoreError>;
    /// A workspace's flags, the newest first, of one status or all.
    async fn flags(
        &self,
        workspace_id: WorkspaceId,
        status: Option<FlagStatus>,
        limit: u32,
    ) -> Result<Vec<Flag>, StoreError>;
    async fn flag_by_id(&self, workspace_id: WorkspaceId, id: FlagId) -> Result<Option<Flag>, StoreError>;
    /// Closes an open flag. `Conflict { constraint: "flag_closed" }` if it is not open.
    async fn resolve_flag(
        &self,
        workspace_id: WorkspaceId,
        id: FlagId,
        status: FlagStatus,
        action: &ModerationAction,
    ) -> Result<Flag, StoreError>;
    /// The workspace's moderation record, the newest first.
    async fn moderation_actions(
        &self,
        workspace_id: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<ModerationAction>, StoreError>;
    /// Changes a room's freeze or slow mode, with a `conversation.updated` on its topic.
    async fn set_room_rules(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        rules: RoomRules,
        action: &ModerationAction,
    ) -> Result<Conversation, StoreError>;
    /// When `user` last posted in a room in slow mode.
    async fn last_slow_post(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Mutes (or unmutes) `muted` for `user`; answers whether anything changed.
    async fn set_mute(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        muted: UserId,
        on: bool,
    ) -> Result<bool, StoreError>;
    async fn mutes(&self, workspace_id: WorkspaceId, user_id: UserId) -> Result<Vec<UserId>, StoreError>;
    /// Replaces the workspace's blocklist.
    async fn set_blocklist(
        &self,
        workspace_id: WorkspaceId,
        words: &[BlockedWord],
        action: &ModerationAction,
    ) -> Result<(), StoreError>;
    async fn blocklist(&self, workspace_id: WorkspaceId) -> Result<Vec<BlockedWord>, StoreError>;
}
