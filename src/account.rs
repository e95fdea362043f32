//! Accounts: users, workspaces, members (a user's role in a workspace) and sign-in sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{SessionId, UserId, WorkspaceId};

/// A person who signs in. The password hash never leaves the server: it is not part of this
/// type (see [`crate::store::UserRepo::password_hash`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    /// Lowercased and trimmed (see [`crate::validate::Email`]).
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A tenant: everything else belongs to exactly one workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// What a member may do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// A user of the workspace's app (created through the API, see [`crate::platform`]):
    /// reads and posts only in the rooms they belong to (or that their type opens), never the
    /// shared inbox. Never a role of the `member` table: a workspace's staff are the others.
    User,
    /// Answers conversations.
    Agent,
    /// Also manages channels, members (except owners) and settings.
    Admin,
    /// Also manages owners and can delete the workspace.
    Owner,
}

impl MemberRole {
    /// The staff roles (the ones a member, an invitation or a role change can have), least
    /// privileged first.
    pub const ALL: [MemberRole; 3] = [MemberRole::Agent, MemberRole::Admin, MemberRole::Owner];

    /// The stable name used in the API, the database and the CLI.
    pub fn as_str(&self) -> &'static str {
        match self {
            MemberRole::User => "user",
            MemberRole::Agent => "agent",
            MemberRole::Admin => "admin",
            MemberRole::Owner => "owner",
        }
    }

    /// True for owners and admins: they manage channels and members.
    pub fn is_admin(&self) -> bool {
        *self >= MemberRole::Admin
    }

    /// True for the workspace's people (agents, admins, owners), false for app users.
    pub fn is_staff(&self) -> bool {
        *self >= MemberRole::Agent
    }
}

impl std::fmt::Display for MemberRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MemberRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(MemberRole::User),
            "agent" => Ok(MemberRole::Agent),
            "admin" => Ok(MemberRole::Admin),
            "owner" => Ok(MemberRole::Owner),
            other => Err(format!("unknown role `{other}` (expected owner, admin or agent)")),
        }
    }
}

/// A user's membership in a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: MemberRole,
    pub created_at: DateTime<Utc>,
}

/// A member of a workspace as the members API shows it: who they are and their role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceMember {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: MemberRole,
    /// When the user joined the workspace.
    pub joined_at: DateTime<Utc>,
}

impl WorkspaceMember {
    /// The membership and its user, in the members API's shape.
    pub fn new(member: &Member, user: &User) -> Self {
        Self {
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: member.role,
            joined_at: member.created_at,
        }
    }
}

/// `PATCH /api/v1/members/{user_id}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    pub role: MemberRole,
}

/// A workspace as seen by one of its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    pub workspace: Workspace,
    pub role: MemberRole,
}

/// A sign-in session. Bearer tokens and the browser cookie both name one; signing out
/// revokes it, so a stolen token stops working at sign-out rather than at expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One of the caller's sessions as `GET /api/v1/me/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub id: SessionId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The session this request was made with.
    pub current: bool,
}

/// `POST /api/v1/me/password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

impl Session {
    /// A session is usable until it expires or is revoked.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// The signed-in user and the workspaces they belong to (`GET /api/v1/me`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub user: User,
    pub workspaces: Vec<Membership>,
    /// Where calls without `X-Workspace-Id` act (and the workspace the web UI opens). Set with
    /// the user's first membership; changed with `PUT /api/v1/me/default-workspace`.
    #[serde(default)]
    pub default_workspace_id: Option<WorkspaceId>,
}

impl Me {
    /// The membership the user acts in by default: the default workspace while they still
    /// belong to it, else their only workspace. `None` when neither decides.
    pub fn current(&self) -> Option<&Membership> {
        acting_membership(&self.workspaces, self.default_workspace_id)
    }

    /// What the web UI shows and acts in: [`Me::current`], else the first workspace by name
    /// (the page names the workspace it shows, so nothing is done in one by surprise).
    pub fn current_or_first(&self) -> Option<&Membership> {
        self.current().or(self.workspaces.first())
    }
}

/// Which of `memberships` a call that names no workspace acts in: the default workspace while
/// the user is still a member of it, else the only one. `None` when neither decides (no
/// membership, or several and no usable default). One rule for the API, the pages and the UI.
pub fn acting_membership(
    memberships: &[Membership],
    default_workspace_id: Option<WorkspaceId>,
) -> Option<&Membership> {
    default_workspace_id.and_then(|id| memberships.iter().find(|m| m.workspace.id == id)).or(
        match memberships {
            [only] => Some(only),
            _ => None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_by_privilege() {
        assert!(MemberRole::Owner.is_admin());
        assert!(MemberRole::Admin.is_admin());
        assert!(!MemberRole::Agent.is_admin());
        for role in MemberRole::ALL {
            assert_eq!(role.as_str().parse::<MemberRole>().unwrap(), role);
        }
        assert!("root".parse::<MemberRole>().is_err());
    }

    #[test]
    fn calls_without_a_workspace_act_in_the_default_then_the_only_one() {
        let membership = |name: &str| Membership {
            workspace: Workspace { id: WorkspaceId::new(), name: name.into(), created_at: Utc::now() },
            role: MemberRole::Agent,
        };
        let (a, b) = (membership("A"), membership("B"));
        let both = [a.clone(), b.clone()];
        assert_eq!(acting_membership(&both, Some(b.workspace.id)), Some(&b));
        assert_eq!(acting_membership(&both, None), None, "several and no default: ambiguous");
        assert_eq!(acting_membership(&both, Some(WorkspaceId::new())), None, "a default left behind");
        assert_eq!(acting_membership(std::slice::from_ref(&a), Some(WorkspaceId::new())), Some(&a));
        assert_eq!(acting_membership(std::slice::from_ref(&a), None), Some(&a));
        assert_eq!(acting_membership(&[], None), None);
    }

    #[test]
    fn revoked_or_expired_sessions_are_inactive() {
        let now = Utc::now();
        let mut s = Session {
            id: SessionId::new(),
            user_id: UserId::new(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
            revoked_at: None,
        };
        assert!(s.is_active(now));
        assert!(!s.is_active(now + chrono::Duration::hours(2)));
        s.revoked_at = Some(now);
        assert!(!s.is_active(now));
    }
}
