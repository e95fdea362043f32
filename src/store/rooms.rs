//! The room membership port, beside the other repositories in [`super`].

use async_trait::async_trait;

use super::StoreError;
use crate::ids::{ConversationId, UserId, WorkspaceId};
use crate::message::Conversation;

/// How a room list is sorted (newest first either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoomSort {
    /// By the last message (a room with none, by its creation).
    #[default]
    LastMessage,
    Created,
}

/// Which rooms a list shows, in what order, from where.
#[derive(Clone, Debug, Default)]
pub struct RoomQuery {
    /// Who asks: without `all`, only rooms they belong to or may read by type (livestream).
    pub viewer: UserId,
    /// Every room of the workspace (owners, admins, keys).
    pub all: bool,
    /// Only rooms this user belongs to.
    pub member: Option<UserId>,
    pub room_type: Option<crate::access::RoomType>,
    /// Only rooms whose custom data has these string values at these keys.
    pub custom: Vec<(String, String)>,
    pub sort: RoomSort,
    /// The last room of the previous page.
    pub after: Option<ConversationId>,
    pub limit: u32,
}

/// Room membership: who belongs to which room, for the access rules in [`crate::access`].
/// Every change commits its events with it (`conversation.updated` with the member list on
/// the room's topic; for each added user, `conversation.created` on their own topic, so the
/// room appears in their list).
/// A conversation with a user's role in its workspace and in the room.
pub type StandingOfUser = (crate::MemberRole, Conversation, Option<crate::access::RoomRole>);

#[async_trait]
pub trait RoomRepo: Send + Sync {
    /// The workspace's conversation with the user's role in it (`None` if they are not a
    /// member, or it is no room): what an access decision needs, in one read.
    async fn conversation_standing(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<(Conversation, Option<crate::access::RoomRole>)>, StoreError>;
    /// The conversation, wherever it is, with the user's role in its workspace (a member's, or
    /// `user` for an active app user of it) and in the room: `None` when the conversation does
    /// not exist or the user is not of its workspace. One read, for callers that name no
    /// workspace (the realtime gateway).
    async fn conversation_standing_of_user(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<StandingOfUser>, StoreError>;
    /// [`conversation_standing_of_user`](Self::conversation_standing_of_user) and, in the same
    /// read, the offset of the latest event on the conversation's topic (0 when it has none): a
    /// realtime subscribe's access check and position, read once the subscriber listens.
    async fn conversation_standing_at(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<(StandingOfUser, i64)>, StoreError>;
    /// Adds members to a room of the workspace (those already in it stay as they are); a new
    /// member starts with the room's history read.
    /// Answers the members after the change and how many of `users` were added (0: nothing
    /// changed, and no event was written).
    /// `NotFound` if the room is not in the workspace; `Conflict { constraint: "room_member" }`
    /// (nothing written) if a user is not a member of the workspace.
    async fn add_room_members(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        users: &[UserId],
    ) -> Result<(Vec<UserId>, usize), StoreError>;
    /// Removes a member from a room of the workspace, with their read position and their
    /// mention and star flags in it. Answers the members left. `NotFound` if the room is not in the
    /// workspace or the user is not one of its members.
    async fn remove_room_member(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Vec<UserId>, StoreError>;
    /// The workspace's rooms a query names, in its order (see [`RoomQuery`]).
    async fn rooms(
        &self,
        workspace_id: WorkspaceId,
        query: &RoomQuery,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// The workspace's rooms the user is not a member of (what an agent may not see).
    async fn hidden_rooms(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
    ) -> Result<Vec<ConversationId>, StoreError>;
}
