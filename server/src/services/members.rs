//! Workspace members: who belongs to the caller's workspace and with which role. Any member may
//! list them; owners and admins change and remove members, and only owners touch owners
//! (make one, unmake one, remove one). People join by invitation (see [`super::invitations`]),
//! never by an admin writing a membership for someone else's account. A workspace never loses its last owner: the store checks
//! that in the same transaction as the change.
//!
//! These are [`AccountService`]'s member methods, kept apart from sign-in by concern.

use switchboard::account::{UpdateMember, WorkspaceMember};
use switchboard::store::StoreError;
use switchboard::{MemberRole, User, UserId};

use super::{AccountService, Actor, ServiceError};

const ADMINS_ONLY: &str = "Only owners and admins manage members.";
const OWNERS_ONLY: &str = "Only owners make, change or remove owners.";
const LAST_OWNER: &str = "The workspace needs an owner: make someone else an owner first.";

impl Actor {
    fn require_member_admin(&self) -> Result<(), ServiceError> {
        if self.role.is_admin() { Ok(()) } else { Err(ServiceError::Forbidden(ADMINS_ONLY)) }
    }

    /// Owners' memberships are for owners to change.
    fn require_owner_for(&self, roles: &[MemberRole]) -> Result<(), ServiceError> {
        if roles.contains(&MemberRole::Owner) && self.role != MemberRole::Owner {
            Err(ServiceError::Forbidden(OWNERS_ONLY))
        } else {
            Ok(())
        }
    }
}

impl AccountService {
    /// The members of the caller's workspace, ordered by email.
    pub async fn list_members(&self, actor: Actor) -> Result<Vec<WorkspaceMember>, ServiceError> {
        let members = self.store().members(actor.workspace_id).await?;
        Ok(members.iter().map(|(member, user)| WorkspaceMember::new(member, user)).collect())
    }

    /// Changes a member's role. `Conflict` when it would leave the workspace without an owner.
    pub async fn update_member(
        &self,
        actor: Actor,
        user_id: UserId,
        req: UpdateMember,
    ) -> Result<WorkspaceMember, ServiceError> {
        actor.require_member_admin()?;
        staff_role(req.role)?;
        let (current, user) = self.member_of(actor, user_id).await?;
        actor.require_owner_for(&[current.role, req.role])?;
        let member = self
            .store()
            .set_member_role(actor.workspace_id, user_id, req.role, switchboard::time::now())
            .await
            .map_err(member_error)?;
        if member.role != current.role {
            tracing::info!(%user_id, from = current.role.as_str(), to = member.role.as_str(), "member role changed");
        }
        Ok(WorkspaceMember::new(&member, &user))
    }

    /// Removes a member: from the next request on, they cannot act in the workspace. Their
    /// account stays. `Conflict` for the last owner.
    pub async fn remove_member(&self, actor: Actor, user_id: UserId) -> Result<(), ServiceError> {
        actor.require_member_admin()?;
        let (current, _) = self.member_of(actor, user_id).await?;
        actor.require_owner_for(&[current.role])?;
        self.store().remove_member(actor.workspace_id, user_id).await.map_err(member_error)?;
        // Every socket of theirs closes: a connection's rights are not tracked per workspace
        // (it may have subscribed to this one's topics, whichever it connected with).
        self.end_access(
            crate::realtime::hub::Target::User { user: user_id, keep: None },
            crate::realtime::protocol::AccessEnded::RemovedFromWorkspace,
        );
        tracing::info!(%user_id, role = current.role.as_str(), "member removed");
        Ok(())
    }

    /// A member of the caller's workspace with their user; `NotFound("member")` otherwise.
    async fn member_of(
        &self,
        actor: Actor,
        user_id: UserId,
    ) -> Result<(switchboard::Member, User), ServiceError> {
        let member = self
            .store()
            .member(actor.workspace_id, user_id)
            .await?
            .ok_or(ServiceError::NotFound("member"))?;
        let user = self.store().user(user_id).await?.ok_or(ServiceError::NotFound("member"))?;
        Ok((member, user))
    }
}

fn member_error(err: StoreError) -> ServiceError {
    match err {
        StoreError::Conflict { constraint } if constraint == "last_owner" => {
            ServiceError::Conflict(LAST_OWNER)
        }
        other => ServiceError::from(other).not_found_as("member"),
    }
}

/// A role a member can have: `user` is the app's users' alone (they are made through the API).
pub(crate) fn staff_role(role: MemberRole) -> Result<(), ServiceError> {
    if role.is_staff() {
        Ok(())
    } else {
        Err(switchboard::validate::ValidationError::new("role", "must be owner, admin or agent").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: MemberRole) -> Actor {
        Actor { user_id: UserId::new(), workspace_id: switchboard::WorkspaceId::new(), role }
    }

    #[test]
    fn admins_manage_members_but_only_owners_touch_owners() {
        assert!(actor(MemberRole::Agent).require_member_admin().is_err());
        assert!(actor(MemberRole::Admin).require_member_admin().is_ok());
        let admin = actor(MemberRole::Admin);
        assert!(admin.require_owner_for(&[MemberRole::Agent, MemberRole::Admin]).is_ok());
        assert!(admin.require_owner_for(&[MemberRole::Agent, MemberRole::Owner]).is_err());
        assert!(actor(MemberRole::Owner).require_owner_for(&[MemberRole::Owner]).is_ok());
    }
}
