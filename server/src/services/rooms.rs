//! Room members: adding and removing the people of a private room
//! (`POST`/`DELETE /api/v1/conversations/{id}/members`). Who may is decided by the access rules
//! ([`switchboard::access`]): a room's members and the workspace's owners and admins add
//! members; its moderators and the owners and admins remove others; anyone may leave. Only
//! members of the workspace can join a room. A removed member's sockets close with the
//! "rooms changed" code (4000), so their client reconnects and subscribes to what it may still
//! read; the room's topic hears of every change (`conversation.updated` with `member_ids`).
//!
//! These are [`AccountService`]'s methods because ending access — closing sockets — is its
//! concern, as for removal from a workspace.

use switchboard::access::Right;
use switchboard::message::MAX_ROOM_MEMBERS;
use switchboard::validate::ValidationError;
use switchboard::{ConversationId, StoreError, UserId};

use super::{AccountService, Actor, ServiceError};
use crate::access::{self, Granted};

/// `POST /api/v1/conversations/{id}/members`.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRoomMembers {
    /// Members of the workspace to add (1 to 1000); those already in the room stay as they are.
    pub user_ids: Vec<UserId>,
}

impl AccountService {
    /// The room the actor may read, or the refusal: 404 unknown, 403 private, 422 no room.
    async fn room(&self, actor: Actor, id: ConversationId) -> Result<Granted, ServiceError> {
        let granted = access::conversation(self.store().as_ref(), actor, id, Right::Read).await?;
        if !granted.standing.room {
            return Err(ServiceError::Unprocessable(
                "not_a_room",
                "Only rooms have members; a conversation with a contact belongs to the whole workspace."
                    .into(),
            ));
        }
        Ok(granted)
    }

    /// Adds workspace members to a room; answers its members after the change.
    pub async fn add_room_members(
        &self,
        actor: Actor,
        id: ConversationId,
        req: AddRoomMembers,
    ) -> Result<Vec<UserId>, ServiceError> {
        let mut users = Vec::with_capacity(req.user_ids.len());
        for user in req.user_ids {
            if !users.contains(&user) {
                users.push(user);
            }
        }
        if users.is_empty() || users.len() > MAX_ROOM_MEMBERS {
            let why = format!("must name 1 to {MAX_ROOM_MEMBERS} users");
            return Err(ValidationError::new("user_ids", why).into());
        }
        // Joining (adding only oneself) is the room type's to allow (a team's room is open to
        // the staff, a livestream to everyone); adding others, a member's.
        let joining = users == [actor.user_id];
        let room = if joining {
            let granted = access::conversation(self.store().as_ref(), actor, id, Right::Join).await?;
            if !granted.standing.room {
                return self.room(actor, id).await.map(|_| Vec::new());
            }
            granted
        } else {
            self.room(actor, id).await?
        };
        if !joining && !room.may(Right::AddMembers) {
            return Err(ServiceError::Forbidden("Only the room's members and admins add members."));
        }
        match self.store().add_room_members(actor.workspace_id, id, &users).await {
            Ok((members, added)) => {
                if added > 0 {
                    tracing::info!(conversation_id = %id, added, "room members added");
                }
                Ok(members)
            }
            Err(StoreError::Conflict { .. }) => {
                Err(ValidationError::new("user_ids", "names someone who is not a member of the workspace")
                    .into())
            }
            Err(e) => Err(ServiceError::from(e).not_found_as("conversation")),
        }
    }

    /// Removes a member from a room (or the caller leaves it); their sockets close with the
    /// "rooms changed" code so that they stop hearing the room at once.
    pub async fn remove_room_member(
        &self,
        actor: Actor,
        id: ConversationId,
        user_id: UserId,
    ) -> Result<(), ServiceError> {
        let room = self.room(actor, id).await?;
        if user_id != actor.user_id && !room.may(Right::RemoveMembers) {
            return Err(ServiceError::Forbidden("Only a room moderator or an admin removes other members."));
        }
        self.store()
            .remove_room_member(actor.workspace_id, id, user_id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("room member"))?;
        // Committed: now their subscriptions to the room end, on every node.
        self.end_access(
            crate::realtime::hub::Target::User { user: user_id, keep: None },
            crate::realtime::protocol::AccessEnded::RoomsChanged,
        );
        tracing::info!(conversation_id = %id, %user_id, "room member removed");
        Ok(())
    }
}
