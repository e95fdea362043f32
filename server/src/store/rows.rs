//! Row shapes shared by both backends, converted into domain types, and the column lists that
//! select them (macros, so `concat!` can splice them into static SQL).

/// The columns of a channel row, in [`ChannelRow`]'s order.
macro_rules! channel_columns {
    () => {
        "channel_id, workspace_id, provider, name, status, config, last_error, created_at, updated_at, history_import"
    };
}

/// The columns of a message row, in [`MessageRow`]'s order.
macro_rules! message_columns {
    () => {
        "message_id, workspace_id, conversation_id, channel_id, direction, status, text, external_id, \
         client_message_id, sender_user_id, error, created_at, edited_at, deleted_at, reply_to_message_id, attachments, \
         template, reactions, sender_name, parent_id, visibility, reply_count, last_reply_at, thread_participants, note, from_bot, buttons"
    };
}

/// The columns of a conversation row, in [`ConversationRow`]'s order.
macro_rules! conversation_columns {
    () => {
        "conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, last_message_at, \
         last_message_preview, status, created_at, last_message_sender_user_id, last_inbound_at, room_type, custom, \
         frozen_at, slow_mode_secs, snoozed_until, assignee_id, label_ids"
    };
}

/// The columns of an invitation with its workspace's and inviter's names, in
/// [`InvitationRow`]'s order, and the joins they need.
macro_rules! invitation_select {
    () => {
        "select i.invitation_id, i.workspace_id, i.email, i.role, i.invited_by, i.status, i.created_at,
                i.expires_at, w.name as workspace_name, u.name as invited_by_name
         from invitation i
         join workspace w on w.workspace_id = i.workspace_id
         left join user_account u on u.user_id = i.invited_by "
    };
}

pub(crate) use {channel_columns, conversation_columns, invitation_select, message_columns};

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
    pub history_import: Option<String>,
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
            webhook: None,
            // Written by this server only; an unreadable value reads as none rather than
            // hiding the channel.
            history_import: r.history_import.and_then(|json| serde_json::from_str(&json).ok()),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ConversationRow {
    pub conversation_id: Uuid,
    pub workspace_id: Uuid,
    pub channel_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub external_chat_id: String,
    pub title: String,
    pub last_message_at: Option<DateTime<Utc>>,
    pub last_message_preview: Option<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub last_message_sender_user_id: Option<Uuid>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub room_type: Option<String>,
    pub custom: Option<sqlx::types::Json<serde_json::Value>>,
    pub frozen_at: Option<DateTime<Utc>>,
    pub slow_mode_secs: Option<i64>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub label_ids: sqlx::types::Json<serde_json::Value>,
}

impl From<ConversationRow> for switchboard::Conversation {
    fn from(r: ConversationRow) -> Self {
        switchboard::Conversation {
            id: r.conversation_id.into(),
            workspace_id: r.workspace_id.into(),
            channel_id: r.channel_id.into(),
            contact_id: r.contact_id.map(Into::into),
            external_chat_id: r.external_chat_id,
            title: r.title,
            last_message_at: r.last_message_at,
            last_message_preview: r.last_message_preview,
            last_message_sender_user_id: r.last_message_sender_user_id.map(Into::into),
            // The column's check constraint admits only the two.
            status: r.status.parse().unwrap_or_default(),
            snoozed_until: r.snoozed_until,
            assignee_id: r.assignee_id.map(Into::into),
            // Written only by the store, from label ids.
            label_ids: serde_json::from_value(r.label_ids.0).unwrap_or_default(),
            created_at: r.created_at,
            last_inbound_at: r.last_inbound_at,
            // A room made before rooms had types is a `messaging` one.
            room_type: r
                .contact_id
                .is_none()
                .then(|| r.room_type.as_deref().and_then(|t| t.parse().ok()).unwrap_or_default()),
            custom: r.custom.map(|c| c.0),
            frozen: r.frozen_at.is_some(),
            slow_mode_secs: r.slow_mode_secs.and_then(|s| u32::try_from(s).ok()).filter(|s| *s > 0),
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct MessageRow {
    pub message_id: Uuid,
    pub workspace_id: Uuid,
    pub conversation_id: Uuid,
    pub channel_id: Uuid,
    pub direction: String,
    pub status: String,
    pub text: String,
    pub external_id: Option<String>,
    pub client_message_id: Option<String>,
    pub sender_user_id: Option<Uuid>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub reply_to_message_id: Option<Uuid>,
    /// The attachments' metadata as JSON (null: none).
    pub attachments: Option<String>,
    /// The template sent, as JSON (null: free text).
    pub template: Option<String>,
    /// The reaction counts, as JSON (null: none).
    pub reactions: Option<String>,
    pub sender_name: Option<String>,
    pub parent_id: Option<Uuid>,
    /// `all`, `thread` or `author` (see the threads migration).
    pub visibility: String,
    pub reply_count: i64,
    pub last_reply_at: Option<DateTime<Utc>>,
    /// The thread's latest repliers, as a JSON array of ids (null: none).
    pub thread_participants: Option<String>,
    pub note: bool,
    pub from_bot: bool,
    /// The quick-reply buttons, as a JSON array of labels (null: none).
    pub buttons: Option<String>,
}

impl TryFrom<MessageRow> for switchboard::Message {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        use switchboard::provider::Direction;
        Ok(switchboard::Message {
            id: r.message_id.into(),
            workspace_id: r.workspace_id.into(),
            conversation_id: r.conversation_id.into(),
            channel_id: r.channel_id.into(),
            direction: match r.direction.as_str() {
                "inbound" => Direction::Inbound,
                "outbound" => Direction::Outbound,
                other => return Err(StoreError::Internal(format!("unknown direction `{other}`"))),
            },
            status: r.status.parse().map_err(StoreError::Internal)?,
            text: r.text,
            external_id: r.external_id,
            client_message_id: r.client_message_id,
            sender_user_id: r.sender_user_id.map(Into::into),
            error: r.error,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
            reply_to: r.reply_to_message_id.map(Into::into),
            attachments: match r.attachments.as_deref() {
                None | Some("") => Vec::new(),
                Some(json) => serde_json::from_str(json)
                    .map_err(|e| StoreError::Internal(format!("a message's attachments do not read: {e}")))?,
            },
            template: match r.template.as_deref() {
                None | Some("") => None,
                Some(json) => {
                    Some(serde_json::from_str(json).map_err(|e| {
                        StoreError::Internal(format!("a message's template does not read: {e}"))
                    })?)
                }
            },
            sender_name: r.sender_name,
            note: r.note,
            from_bot: r.from_bot,
            buttons: match r.buttons.as_deref() {
                None | Some("") => Vec::new(),
                Some(json) => serde_json::from_str(json)
                    .map_err(|e| StoreError::Internal(format!("a message's buttons do not read: {e}")))?,
            },
            reactions: match r.reactions.as_deref() {
                None | Some("") => Vec::new(),
                Some(json) => serde_json::from_str(json)
                    .map_err(|e| StoreError::Internal(format!("a message's reactions do not read: {e}")))?,
            },
            parent_id: r.parent_id.map(Into::into),
            show_in_conversation: r.parent_id.is_some() && r.visibility == "all",
            thread: (r.reply_count > 0).then(|| switchboard::message::ThreadSummary {
                reply_count: u32::try_from(r.reply_count).unwrap_or(u32::MAX),
                last_reply_at: r.last_reply_at,
                participants: r
                    .thread_participants
                    .as_deref()
                    .and_then(|json| serde_json::from_str(json).ok())
                    .unwrap_or_default(),
            }),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub event_id: Uuid,
    pub topic: String,
    pub topic_offset: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub schema_version: i32,
    pub occurred_at: DateTime<Utc>,
    pub trace_id: Option<String>,
    pub payload: sqlx::types::Json<serde_json::Value>,
}

/// A logged event reads back typed; a row this build cannot read (an unknown kind, a bad
/// payload) is an internal error naming the event, never a panic.
impl TryFrom<EventRow> for switchboard::Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        let id = r.event_id;
        let bad = |why: String| StoreError::Internal(format!("event {id}: {why}"));
        Ok(switchboard::Event {
            id: id.into(),
            schema_version: r.schema_version as u32,
            occurred_at: r.occurred_at,
            trace_id: r.trace_id,
            topic: r.topic.parse().map_err(|e: switchboard::topic::UnknownTopic| bad(e.to_string()))?,
            offset: r.topic_offset,
            body: switchboard::EventBody::from_parts(&r.kind, r.payload.0).map_err(|e| bad(e.to_string()))?,
        })
    }
}

/// An invitation joined with its workspace's name and its inviter's name.
#[derive(sqlx::FromRow)]
pub struct InvitationRow {
    pub invitation_id: Uuid,
    pub workspace_id: Uuid,
    pub email: String,
    pub role: String,
    pub invited_by: Option<Uuid>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub workspace_name: String,
    pub invited_by_name: Option<String>,
}

impl TryFrom<InvitationRow> for switchboard::store::InvitationDetail {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> Result<Self, StoreError> {
        Ok(switchboard::store::InvitationDetail {
            invitation: switchboard::invitation::Invitation {
                id: r.invitation_id.into(),
                workspace_id: r.workspace_id.into(),
                email: r.email,
                role: role(&r.role)?,
                invited_by: r.invited_by.map(Into::into),
                status: r.status.parse().map_err(StoreError::Internal)?,
                created_at: r.created_at,
                expires_at: r.expires_at,
            },
            workspace_name: r.workspace_name,
            invited_by_name: r.invited_by_name,
        })
    }
}
