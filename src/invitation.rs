//! Invitations: how a person joins a workspace. An admin invites an email address; the person
//! accepts from their account (`/api/v1/me/invitations`) or, without an account, through the
//! link the admin passes on (`/invite/{token}`). Nothing about the address's account (whether
//! it exists, its name, its other workspaces) is shown to the inviter: the answer to an
//! invitation is the same for every address, and the person is a member only once they accept.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::MemberRole;
use crate::ids::{InvitationId, UserId, WorkspaceId};

/// Where an invitation stands. Only `pending` ones can be answered; the others are history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
}

impl InvitationStatus {
    /// The stable name used in the API and the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Declined => "declined",
            InvitationStatus::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for InvitationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(InvitationStatus::Pending),
            "accepted" => Ok(InvitationStatus::Accepted),
            "declined" => Ok(InvitationStatus::Declined),
            "revoked" => Ok(InvitationStatus::Revoked),
            other => Err(format!("unknown invitation status `{other}`")),
        }
    }
}

/// An invitation as its workspace's owners and admins see it. Never carries the token: only
/// its hash is stored, and the link is shown once, when the invitation is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub id: InvitationId,
    pub workspace_id: WorkspaceId,
    /// The address as the inviter typed it, normalized (trimmed, lowercased).
    pub email: String,
    /// The role the person gets when they accept.
    pub role: MemberRole,
    /// Who sent (or last re-sent) it; `None` once their account is gone.
    pub invited_by: Option<UserId>,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Invitation {
    /// Pending and not yet expired: the only state in which it can be accepted or declined.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.status == InvitationStatus::Pending && now < self.expires_at
    }
}

/// `POST /api/v1/members`: invite this address with this role. No name and no password: the
/// person chooses their own when they accept by link, and an existing account is never touched.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InviteMember {
    pub email: String,
    pub role: MemberRole,
    /// Days until the link stops working: 7 when left out, kept within 1–30.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// The answer to `POST /api/v1/members` (202): the same shape and status for every address,
/// whether or not it has an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationSent {
    pub invitation: SentInvitation,
}

/// A just-sent invitation, with its link: the only time the link is shown. Re-inviting the
/// address answers a fresh link and the old one stops working.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentInvitation {
    pub id: InvitationId,
    pub email: String,
    pub role: MemberRole,
    pub expires_at: DateTime<Utc>,
    /// `{public_url}/invite/{token}`: pass it on to the person. Whoever holds it can join.
    pub link: String,
}

/// An invitation addressed to the signed-in user (`GET /api/v1/me/invitations`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivedInvitation {
    pub id: InvitationId,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: MemberRole,
    /// The inviter's name; `None` once their account is gone.
    pub invited_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the holder of an invitation link sees (`GET /api/v1/invitations/by-token/{token}`):
/// only what the link's holder was told already, never whether the address has an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationPreview {
    pub workspace_name: String,
    pub email: String,
    pub role: MemberRole,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/invitations/by-token/{token}/accept`: the new account's name and password.
#[derive(Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub name: String,
    pub password: String,
}

// By hand, so a password never reaches a log line.
impl std::fmt::Debug for AcceptInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptInvitation").field("name", &self.name).field("password", &"<redacted>").finish()
    }
}

/// `PUT /api/v1/me/default-workspace`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetDefaultWorkspace {
    pub workspace_id: WorkspaceId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepting_by_link_never_shows_the_password() {
        let req: AcceptInvitation =
            serde_json::from_value(serde_json::json!({"name": "Zoe", "password": "hunter2-secret"})).unwrap();
        assert!(!format!("{req:?}").contains("hunter2"));
    }

    #[test]
    fn only_pending_unexpired_invitations_are_open() {
        let now = Utc::now();
        let mut inv = Invitation {
            id: InvitationId::new(),
            workspace_id: WorkspaceId::new(),
            email: "zoe@example.com".into(),
            role: MemberRole::Agent,
            invited_by: None,
            status: InvitationStatus::Pending,
            created_at: now,
            expires_at: now + chrono::Duration::days(7),
        };
        assert!(inv.is_open(now));
        assert!(!inv.is_open(now + chrono::Duration::days(8)));
        inv.status = InvitationStatus::Revoked;
        assert!(!inv.is_open(now));
        for s in ["pending", "accepted", "declined", "revoked"] {
            assert_eq!(s.parse::<InvitationStatus>().unwrap().as_str(), s);
        }
    }
}
