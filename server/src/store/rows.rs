//! Row shapes shared by both backends, converted into domain types.

use chrono::{DateTime, Utc};
use switchboard::account::{Member, MemberRole, Session, User, Workspace};
use switchboard::store::StoreError;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User { id: r.user_id.into(), email: r.email, name: r.name, created_at: r.created_at }
    }
}

#[derive(sqlx::FromRow)]
pub struct CredentialsRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
pub struct WorkspaceRow {
    pub workspace_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<WorkspaceRow> for Workspace {
    fn from(r: WorkspaceRow) -> Self {
        Workspace { id: r.workspace_id.into(), name: r.name, created_at: r.created_at }
    }
}

#[derive(sqlx::FromRow)]
pub struct MemberRow {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

pub fn role(raw: &str) -> Result<MemberRole, StoreError> {
    raw.parse().map_err(|e: String| StoreError::Internal(e))
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;
    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        Ok(Member {
            workspace_id: r.workspace_id.into(),
            user_id: r.user_id.into(),
            role: role(&r.role)?,
            created_at: r.created_at,
        })
    }
}

/// A member joined with its user (`members` listing).
#[derive(sqlx::FromRow)]
pub struct MemberUserRow {
    #[sqlx(flatten)]
    pub member: MemberRow,
    pub email: String,
    pub name: String,
    pub user_created_at: DateTime<Utc>,
}

/// A workspace joined with the caller's role (`memberships`).
#[derive(sqlx::FromRow)]
pub struct MembershipRow {
    #[sqlx(flatten)]
    pub workspace: WorkspaceRow,
    pub role: String,
}

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id: r.session_id.into(),
            user_id: r.user_id.into(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct ChannelRow {
    pub channel_id: Uuid,
    pub workspace_id: Uuid,
    pub provider: String,
    pub name: String,
    pub status: String,
    pub config: sqlx::types::Json<serde_json::Value>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<ChannelRow> for switchboard::Channel {
    type Error = StoreError;
    fn try_from(r: ChannelRow) -> Result<Self, StoreError> {
        Ok(switchboard::Channel {
            id: r.channel_id.into(),
            workspace_id: r.workspace_id.into(),
            provider: r.provider.parse().map_err(StoreError::Internal)?,
            name: r.name,
            status: r.status.parse().map_err(StoreError::Internal)?,
            config: r.config.0,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}
