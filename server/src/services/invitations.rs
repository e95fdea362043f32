//! Invitations: the only way a workspace admin adds a person. The inviter names an address and
//! a role and gets a link; the person becomes a member only when they accept, from their account
//! or (without one) through the link. What the inviter learns is the same for every address:
//! whether it has an account, its name and its other workspaces stay private. See
//! `docs/members.md`.
//!
//! The link's secret is 32 random bytes; only its SHA-256 is stored, so a copy of the database
//! cannot be turned into working links.

use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard::auth::{AuthError, LoginOutcome};
use switchboard::invitation::{
    Invitation, InvitationPreview, InvitationSent, InviteMember, ReceivedInvitation, SentInvitation,
};
use switchboard::store::{InvitationDetail, NewInvitation, NewUser, StoreError};
use switchboard::validate::{self, Email};
use switchboard::{InvitationId, Me, MemberRole, Membership, User, UserId, WorkspaceId};

use super::{AccountService, Actor, ServiceError};

/// Days an invitation stays open unless the inviter says otherwise, and the bounds they may
/// choose within.
pub const DEFAULT_DAYS: u32 = 7;
pub const MIN_DAYS: u32 = 1;
pub const MAX_DAYS: u32 = 30;

const ADMINS_ONLY: &str = "Only owners and admins invite people and see invitations.";
const OWNERS_ONLY: &str = "Only owners invite owners.";
const ALREADY_MEMBER: &str = "This person is already a member of the workspace.";
const GONE: &str = "This invitation was accepted, declined or revoked, or it expired. Ask for a new one.";
const ACCOUNT_EXISTS: &str =
    "An account with this email exists already: sign in, then accept the invitation from your account.";
const NOT_A_MEMBER: &str = "You are not a member of this workspace.";

fn gone() -> ServiceError {
    ServiceError::Refused(410, "invitation_gone", GONE)
}

/// A fresh link secret: 32 random bytes, hex.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a link secret.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token from a URL: 64 hex digits, or nothing (never a database lookup for junk).
fn parse_token(raw: &str) -> Option<&str> {
    (raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit())).then_some(raw)
}

fn received(detail: InvitationDetail) -> ReceivedInvitation {
    ReceivedInvitation {
        id: detail.invitation.id,
        workspace_id: detail.invitation.workspace_id,
        workspace_name: detail.workspace_name,
        role: detail.invitation.role,
        invited_by_name: detail.invited_by_name,
        created_at: detail.invitation.created_at,
        expires_at: detail.invitation.expires_at,
    }
}

impl AccountService {
    /// Invites `req.email` to the caller's workspace with `req.role` (owners and admins; only
    /// owners invite owners). The answer is the same whether or not the address has an account;
    /// re-inviting a pending address refreshes its invitation (new link, new expiry, the old link
    /// stops working). `Refused(409, "already_member")` for a member of this workspace — whom the
    /// caller can list anyway.
    pub async fn invite(&self, actor: Actor, req: InviteMember) -> Result<InvitationSent, ServiceError> {
        if !actor.role.is_admin() {
            return Err(ServiceError::Forbidden(ADMINS_ONLY));
        }
        if req.role == MemberRole::Owner && actor.role != MemberRole::Owner {
            return Err(ServiceError::Forbidden(OWNERS_ONLY));
        }
        super::members::staff_role(req.role)?;
        let email = Email::parse(&req.email)?;
        let store = self.store();
        // One query that costs the same whether or not the address has an account.
        if store.member_by_email(actor.workspace_id, &email).await?.is_some() {
            return Err(ServiceError::Refused(409, "already_member", ALREADY_MEMBER));
        }
        let days = req.expires_in_days.unwrap_or(DEFAULT_DAYS).clamp(MIN_DAYS, MAX_DAYS);
        let now = switchboard::time::now();
        let token = new_token();
        let invitation = store
            .put_invitation(NewInvitation {
                id: InvitationId::new(),
                workspace_id: actor.workspace_id,
                email,
                role: req.role,
                invited_by: actor.user_id,
                token_hash: token_hash(&token),
                created_at: now,
                expires_at: now + chrono::Duration::days(i64::from(days)),
            })
            .await?;
        tracing::info!(invitation_id = %invitation.id, role = invitation.role.as_str(), "invitation sent");
        let link = format!("{}/invite/{token}", self.config().public_url.trim_end_matches('/'));
        Ok(InvitationSent {
            invitation: SentInvitation {
                id: invitation.id,
                email: invitation.email,
                role: invitation.role,
                expires_at: invitation.expires_at,
                link,
            },
        })
    }

    /// The workspace's pending invitations, expired ones included (owners and admins).
    pub async fn workspace_invitations(&self, actor: Actor) -> Result<Vec<Invitation>, ServiceError> {
        if !actor.role.is_admin() {
            return Err(ServiceError::Forbidden(ADMINS_ONLY));
        }
        Ok(self.store().invitations(actor.workspace_id).await?)
    }

    /// Revokes a pending invitation of the caller's workspace: its link stops working at once.
    /// Only owners revoke invitations to become an owner.
    pub async fn revoke_invitation(&self, actor: Actor, id: InvitationId) -> Result<(), ServiceError> {
        if !actor.role.is_admin() {
            return Err(ServiceError::Forbidden(ADMINS_ONLY));
        }
        let store = self.store();
        let found = store
            .invitation(id)
            .await?
            .filter(|d| d.invitation.workspace_id == actor.workspace_id)
            .ok_or(ServiceError::NotFound("invitation"))?;
        if found.invitation.role == MemberRole::Owner && actor.role != MemberRole::Owner {
            return Err(ServiceError::Forbidden(OWNERS_ONLY));
        }
        store
            .revoke_invitation(actor.workspace_id, id, switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("invitation"))?;
        tracing::info!(invitation_id = %id, "invitation revoked");
        Ok(())
    }

    /// Open invitations addressed to the user's email.
    pub async fn my_invitations(&self, user: &User) -> Result<Vec<ReceivedInvitation>, ServiceError> {
        let email = Email::parse(&user.email)?;
        let found = self.store().invitations_for(&email, switchboard::time::now()).await?;
        Ok(found.into_iter().map(received).collect())
    }

    /// One of the user's invitations: `NotFound` unless it is addressed to their email (whether
    /// or not it exists), `invitation_gone` unless it is still open.
    async fn my_open_invitation(
        &self,
        user: &User,
        id: InvitationId,
    ) -> Result<InvitationDetail, ServiceError> {
        let found = self
            .store()
            .invitation(id)
            .await?
            .filter(|d| d.invitation.email == user.email)
            .ok_or(ServiceError::NotFound("invitation"))?;
        if !found.invitation.is_open(switchboard::time::now()) {
            return Err(gone());
        }
        Ok(found)
    }

    /// Accepts one of the user's invitations: they are a member from now on, and the workspace
    /// becomes their default only if they had none (so their API clients keep acting where
    /// they did).
    pub async fn accept_my_invitation(
        &self,
        user: &User,
        id: InvitationId,
    ) -> Result<Membership, ServiceError> {
        self.my_open_invitation(user, id).await?;
        let membership =
            self.store().accept_invitation(id, user.id, switchboard::time::now()).await.map_err(closed)?;
        tracing::info!(invitation_id = %id, user_id = %user.id, "invitation accepted");
        Ok(membership)
    }

    /// Declines one of the user's invitations.
    pub async fn decline_my_invitation(&self, user: &User, id: InvitationId) -> Result<(), ServiceError> {
        self.my_open_invitation(user, id).await?;
        self.store().decline_invitation(id, switchboard::time::now()).await.map_err(closed)?;
        tracing::info!(invitation_id = %id, user_id = %user.id, "invitation declined");
        Ok(())
    }

    /// The open invitation a link names; `NotFound` for an unknown token, `invitation_gone`
    /// when it is no longer open.
    async fn open_by_token(&self, token: &str) -> Result<InvitationDetail, ServiceError> {
        let token = parse_token(token).ok_or(ServiceError::NotFound("invitation"))?;
        let found = self
            .store()
            .invitation_by_token(&token_hash(token))
            .await?
            .ok_or(ServiceError::NotFound("invitation"))?;
        if !found.invitation.is_open(switchboard::time::now()) {
            return Err(gone());
        }
        Ok(found)
    }

    /// What a link's holder sees: the workspace, the address and the role — never whether the
    /// address has an account.
    pub async fn preview_invitation(&self, token: &str) -> Result<InvitationPreview, ServiceError> {
        let found = self.open_by_token(token).await?;
        Ok(InvitationPreview {
            workspace_name: found.workspace_name,
            email: found.invitation.email,
            role: found.invitation.role,
            expires_at: found.invitation.expires_at,
        })
    }

    /// Accepts by link for a person without an account: creates it with the invitation's email
    /// and the given name and password, makes them a member and signs them in (as one
    /// transaction, then a session). `Refused(409, "account_exists")` when the address has an
    /// account: its owner signs in and accepts from there.
    pub async fn accept_by_link(
        &self,
        token: &str,
        name: &str,
        password: &str,
    ) -> Result<LoginOutcome, ServiceError> {
        let name = validate::name("name", name)?;
        validate::new_password(password)?;
        let found = self.open_by_token(token).await?;
        let email = Email::parse(&found.invitation.email)?;
        let store = self.store();
        if store.user_by_email(&email).await?.is_some() {
            return Err(ServiceError::Refused(409, "account_exists", ACCOUNT_EXISTS));
        }
        let password_hash = super::accounts::hash_password(password)
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let new =
            NewUser { id: UserId::new(), email, name, password_hash, created_at: switchboard::time::now() };
        let (user, _) = match store.accept_invitation_as_new_user(found.invitation.id, new).await {
            Ok(done) => done,
            // Created meanwhile (by another door): the same answer as if it had been there.
            Err(StoreError::Conflict { constraint }) if constraint == "user_account_email_key" => {
                return Err(ServiceError::Refused(409, "account_exists", ACCOUNT_EXISTS));
            }
            Err(e) => return Err(closed(e)),
        };
        tracing::info!(invitation_id = %found.invitation.id, user_id = %user.id, "account created by invitation");
        self.start_session(user).await.map_err(auth_error)
    }

    /// Makes `workspace_id` where the user's calls without `X-Workspace-Id` act.
    pub async fn set_default_workspace(
        &self,
        user: User,
        workspace_id: WorkspaceId,
    ) -> Result<Me, ServiceError> {
        match self.store().set_default_workspace(user.id, workspace_id).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(ServiceError::Refused(403, "forbidden", NOT_A_MEMBER)),
            Err(e) => return Err(e.into()),
        }
        self.me_of(user).await.map_err(auth_error)
    }
}

/// An invitation closed between reading and answering it: gone, like one found closed.
fn closed(err: StoreError) -> ServiceError {
    match err {
        StoreError::Conflict { constraint } if constraint == "invitation_closed" => gone(),
        StoreError::NotFound => ServiceError::NotFound("invitation"),
        other => other.into(),
    }
}

fn auth_error(err: AuthError) -> ServiceError {
    match err {
        AuthError::Invalid(v) => v.into(),
        other => ServiceError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(parse_token(&a), Some(a.as_str()));
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(parse_token("short"), None);
        assert_eq!(parse_token(&"z".repeat(64)), None);
    }
}
