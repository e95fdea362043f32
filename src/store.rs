//! The `Store` port: everything the engine persists, one repository trait per aggregate,
//! combined into [`Store`]. Implemented for SQLite and PostgreSQL in `server/store`, and
//! checked by one conformance suite that runs every behaviour against both.
//!
//! Every query on tenant data is scoped by workspace: methods that read tenant data take the
//! `WorkspaceId` as their first argument.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Member, MemberRole, Membership, Session, User, Workspace};
use crate::channel::{Channel, ChannelStatus};
use crate::event::Event;
use crate::ids::{ChannelId, ConversationId, InvitationId, MessageId, SessionId, UserId, WorkspaceId};
use crate::invitation::Invitation;
use crate::message::{Conversation, Message};
use crate::topic::Topic;
use crate::validate::Email;

mod conflicts;
mod contacts;
mod desk;
mod flows;
mod inbound;
mod media;
mod moderation;
mod notify;
mod pins;
mod platform;
mod rooms;
mod webhooks;
pub use conflicts::conflict_reason;
pub use contacts::ContactRepo;
pub use desk::{DeskRepo, NewAssignment};
pub use flows::{FlowRepo, NewSession, SessionAdvance, SessionFilter};
pub use inbound::{InboundRepo, Ingested, NewHistory, NewInbound};
pub use media::{MediaRepo, NewUpload, StoredMedia};
pub use moderation::{ModerationRepo, RoomRules};
pub use notify::NotifyRepo;
pub use pins::PinRepo;
pub use platform::{KeyGrant, NewApiKey, PlatformRepo};
pub use rooms::{RoomQuery, RoomRepo, RoomSort, StandingOfUser};
pub use webhooks::{AttemptOutcome, DueDelivery, NewWebhook, WebhookRepo};

/// Why a store call failed. `Send + Sync` so it crosses tasks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; `constraint` names it (e.g. `user_email_key`).
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The row the call needs does not exist.
    #[error("not found")]
    NotFound,
    /// The database could not be reached (or timed out handing out a connection).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Migrations are missing: the schema is older than this binary.
    #[error("database schema is not migrated: {0}")]
    NotMigrated(String),
    /// Anything else; the text is for logs, never for API responses.
    #[error("database error: {0}")]
    Internal(String),
}

/// A user to insert, with the password already hashed.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Users and their credentials.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Inserts a user; `Conflict { constraint: "user_email_key" }` if the email is taken.
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// The user with this email and their password hash, for sign-in.
    async fn user_credentials(&self, email: &Email) -> Result<Option<(User, String)>, StoreError>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        Ok(self.user_credentials(email).await?.map(|(u, _)| u))
    }
    /// Replaces a user's password hash; `NotFound` if there is no such user.
    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError>;
}

/// Workspaces and their members.
#[async_trait]
pub trait WorkspaceRepo: Send + Sync {
    /// Inserts a workspace; `Conflict { constraint: "workspace_name_key" }` if the name is taken.
    async fn create_workspace(&self, workspace: Workspace) -> Result<Workspace, StoreError>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Option<Workspace>, StoreError>;
    async fn workspace_by_name(&self, name: &str) -> Result<Option<Workspace>, StoreError>;
    /// Adds a member, or changes the role of an existing one, and makes the workspace the
    /// user's default when they have none. `NotFound` if the user or the workspace does not
    /// exist. (The operator's door: `switchboard user create` and the demo seed. Workspace
    /// admins add people by invitation, which the person accepts.)
    async fn put_member(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: MemberRole,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError>;
    async fn member(&self, workspace_id: WorkspaceId, user_id: UserId) -> Result<Option<Member>, StoreError>;
    /// Changes a member's role, never leaving the workspace without an owner: `NotFound` if
    /// the user is not a member, `Conflict { constraint: "last_owner" }` when this would demote
    /// the only owner. The check and the change are one transaction, so two owners demoting each
    /// other at once cannot both succeed.
    async fn set_member_role(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: MemberRole,
        at: DateTime<Utc>,
    ) -> Result<Member, StoreError>;
    /// Removes a member and answers the membership removed. The user's account and sessions
    /// stay (they may belong to other workspaces); every workspace-scoped check reads the
    /// membership, so their access to this workspace ends here. `NotFound` if the user is not a
    /// member, `Conflict { constraint: "last_owner" }` for the only owner (as one transaction).
    async fn remove_member(&self, workspace_id: WorkspaceId, user_id: UserId) -> Result<Member, StoreError>;
    /// The members of a workspace with their users, ordered by email.
    async fn members(&self, workspace_id: WorkspaceId) -> Result<Vec<(Member, User)>, StoreError>;
    /// The workspaces a user belongs to, ordered by name.
    async fn memberships(&self, user_id: UserId) -> Result<Vec<Membership>, StoreError>;
    /// The member of the workspace whose account has this email, in one query (so asking costs
    /// the same whether or not the address has an account).
    async fn member_by_email(
        &self,
        workspace_id: WorkspaceId,
        email: &Email,
    ) -> Result<Option<Member>, StoreError>;
    /// Where the user's calls without `X-Workspace-Id` act; `None` when unset. Set by
    /// [`WorkspaceRepo::put_member`] and by accepting an invitation when the user has none,
    /// cleared by [`WorkspaceRepo::remove_member`] when it named that workspace.
    async fn default_workspace(&self, user_id: UserId) -> Result<Option<WorkspaceId>, StoreError>;
    /// Changes the user's default workspace; `NotFound` unless they are a member of it.
    async fn set_default_workspace(
        &self,
        user_id: UserId,
        workspace_id: WorkspaceId,
    ) -> Result<(), StoreError>;
}

/// An invitation to store; the token is already hashed.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub id: InvitationId,
    pub workspace_id: WorkspaceId,
    pub email: Email,
    pub role: MemberRole,
    pub invited_by: UserId,
    /// SHA-256 of the link's secret, hex.
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An invitation with what its invitee is shown about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationDetail {
    pub invitation: Invitation,
    pub workspace_name: String,
    pub invited_by_name: Option<String>,
}

/// Invitations to workspaces. At most one is pending per (workspace, email); answered ones
/// stay as history.
#[async_trait]
pub trait InvitationRepo: Send + Sync {
    /// Stores a pending invitation, or refreshes the pending one for the same address (role,
    /// inviter, token, expiry; it keeps its id), so re-inviting never makes a second one.
    async fn put_invitation(&self, invitation: NewInvitation) -> Result<Invitation, StoreError>;
    /// The workspace's pending invitations (expired ones too), oldest first.
    async fn invitations(&self, workspace_id: WorkspaceId) -> Result<Vec<Invitation>, StoreError>;
    /// Revokes a pending invitation of the workspace; `NotFound` if it is not pending there.
    async fn revoke_invitation(
        &self,
        workspace_id: WorkspaceId,
        id: InvitationId,
        at: DateTime<Utc>,
    ) -> Result<Invitation, StoreError>;
    /// Pending invitations to this address that have not expired by `now`, oldest first.
    async fn invitations_for(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<InvitationDetail>, StoreError>;
    /// An invitation by id, across workspaces, in any status.
    async fn invitation(&self, id: InvitationId) -> Result<Option<InvitationDetail>, StoreError>;
    /// An invitation by its token's hash, in any status.
    async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationDetail>, StoreError>;
    /// Accepts an open invitation as `user_id`, in one transaction: the invitation is marked
    /// accepted, the user becomes a member with its role (an existing membership is kept as it
    /// is), and the workspace becomes their default if they have none. `Conflict { constraint:
    /// "invitation_closed" }` unless it is pending and unexpired at `at`.
    async fn accept_invitation(
        &self,
        id: InvitationId,
        user_id: UserId,
        at: DateTime<Utc>,
    ) -> Result<Membership, StoreError>;
    /// Declines an open invitation; `Conflict { constraint: "invitation_closed" }` otherwise.
    async fn decline_invitation(&self, id: InvitationId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Creates the account (with the invitation's email) and accepts the open invitation as it,
    /// in one transaction. `Conflict { constraint: "invitation_closed" }` unless open;
    /// `Conflict { constraint: "user_account_email_key" }` when the address has an account.
    async fn accept_invitation_as_new_user(
        &self,
        id: InvitationId,
        user: NewUser,
    ) -> Result<(User, Membership), StoreError>;
}

/// Sign-in sessions.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn create_session(&self, session: Session) -> Result<Session, StoreError>;
    async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Marks a session revoked. Returns false when it was unknown or already revoked.
    async fn revoke_session(&self, id: SessionId, at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Deletes sessions that expired before `before`; returns how many.
    async fn delete_expired_sessions(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// The user's sessions still active at `now`, newest first.
    async fn active_sessions(&self, user_id: UserId, now: DateTime<Utc>) -> Result<Vec<Session>, StoreError>;
    /// Revokes every active session of the user except `keep`; returns how many.
    async fn revoke_user_sessions(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// In one transaction: replaces the user's password hash and revokes their other active
    /// sessions (all but `keep`). Returns how many were revoked; `NotFound` if there is no such
    /// user.
    async fn change_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        keep: SessionId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

/// Channels and their sealed credentials. Every call but [`ChannelRepo::channels_with_status`]
/// (used at boot, across workspaces) is scoped by workspace.
#[async_trait]
pub trait ChannelRepo: Send + Sync {
    async fn create_channel(&self, channel: Channel) -> Result<Channel, StoreError>;
    async fn channel(&self, workspace_id: WorkspaceId, id: ChannelId) -> Result<Option<Channel>, StoreError>;
    /// The workspace's channels, oldest first.
    async fn channels(&self, workspace_id: WorkspaceId) -> Result<Vec<Channel>, StoreError>;
    /// Changes the name and/or the config; `NotFound` if the channel is not in the workspace.
    async fn update_channel(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        name: Option<String>,
        config: Option<serde_json::Value>,
        at: DateTime<Utc>,
    ) -> Result<Channel, StoreError>;
    /// Deletes the channel; false if it was not there.
    async fn delete_channel(&self, workspace_id: WorkspaceId, id: ChannelId) -> Result<bool, StoreError>;
    /// Records a status change and its reason.
    async fn set_channel_status(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        status: ChannelStatus,
        last_error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Channel, StoreError>;
    /// Stores (or with `None`, forgets) the channel's credentials, already sealed; forgets the
    /// polling cursor with them (new credentials may be another account's).
    async fn set_channel_credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        sealed: Option<Vec<u8>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The sealed credentials, if any.
    async fn channel_credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// A channel by id alone, across workspaces: only for routing an inbound webhook, whose URL
    /// names the channel before anything is authenticated.
    async fn channel_for_webhook(&self, id: ChannelId) -> Result<Option<Channel>, StoreError>;
    /// Channels in any of these statuses, across workspaces (the runtime registry's boot list).
    async fn channels_with_status(&self, statuses: &[ChannelStatus]) -> Result<Vec<Channel>, StoreError>;
    /// Where a polled network's reading stopped (the last update recorded), if anywhere.
    async fn channel_cursor(&self, id: ChannelId) -> Result<Option<String>, StoreError>;
    /// Records where reading stopped, once the updates before it are recorded.
    async fn set_channel_cursor(&self, id: ChannelId, cursor: &str) -> Result<(), StoreError>;
    /// Records how the channel's history import stands (the admin page shows it).
    async fn set_history_import(
        &self,
        id: ChannelId,
        progress: &crate::channel::HistoryImport,
    ) -> Result<(), StoreError>;
}

/// An outbound message to record and queue for the provider.
#[derive(Clone, Debug)]
pub struct NewOutbound {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub sender: UserId,
    /// The sender's role in the workspace. The write decides whether they may post (the pure
    /// rule of [`crate::access::Standing`], on facts read in the write's own transaction):
    /// a refusal is `Conflict { constraint: "room_post" }`, and nothing is written.
    pub role: MemberRole,
    /// Already validated.
    pub text: String,
    /// The idempotency key: the same key in the same conversation returns the first message.
    pub client_message_id: Option<String>,
    /// Must be a message of the same conversation (`Conflict { constraint: "reply_to" }`).
    pub reply_to: Option<MessageId>,
    /// Uploads of the sender's in this workspace that no message holds yet (else
    /// `Conflict { constraint: "attachments" }`, and nothing is written).
    pub attachments: Vec<crate::ids::AttachmentId>,
    /// The template this message is (its rendering is `text`). Without one, a send to a
    /// network with a reply window that has closed is `Conflict { constraint: "reply_window" }`.
    pub template: Option<crate::message::TemplateSend>,
    /// Reply in this message's thread: a message of the same room that is no thread reply
    /// itself, not deleted (else `Conflict { constraint: "parent_id" }`; in a contact
    /// conversation `Conflict { constraint: "thread_room" }`).
    pub parent_id: Option<MessageId>,
    /// A thread reply also shown in the conversation.
    pub show_in_conversation: bool,
    /// A private note: written and published like any message, but never queued for the
    /// network and never moving the conversation's preview; in a room `Conflict { constraint:
    /// "note_room" }`.
    pub note: bool,
    /// Sent by a chatbot flow's session (the sender is the flow version's publisher).
    pub from_bot: bool,
    /// Quick-reply buttons, already checked and within the network's limits.
    pub buttons: Vec<String>,
    pub trace_id: Option<String>,
}

/// A room to create. Members are distinct; the first is the creator, the room's moderator.
#[derive(Clone, Debug)]
pub struct NewRoom {
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub title: String,
    pub members: Vec<UserId>,
    pub room_type: crate::access::RoomType,
    pub custom: Option<serde_json::Value>,
}

/// What a send wrote (or found, when `created` is false).
#[derive(Clone, Debug)]
pub struct Sent {
    pub message: Message,
    pub created: bool,
    pub events: Vec<Event>,
}

/// How many times the outbox tries a send before the message is `failed`: the first attempt
/// and five retries after waits of 1, 2, 4, 8 and 16 minutes (the worker's default backoff).
/// Written into each new row (the table's default of 5 predates the 16-minute wait).
pub const OUTBOX_MAX_ATTEMPTS: u32 = 6;

/// One channel's outgoing messages not yet taken by the network (queued, being sent or
/// paused), as `/metrics` reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub depth: u64,
    /// How long the oldest of them has waited.
    pub oldest_age: std::time::Duration,
}

/// A claimed outbox row: what to send, through which channel, on which attempt.
#[derive(Clone, Debug)]
pub struct OutboxJob {
    pub outbox_id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub message: Message,
    /// The network's chat id to send to.
    pub to: String,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    pub max_attempts: u32,
}

/// The outbox: claimed by workers, settled per attempt. Each write is one transaction: state
/// change, events with the next offsets of their topics, outbox rows.
#[async_trait]
pub trait OutboxRepo: Send + Sync {
    /// Leases up to `limit` due rows (queued and due, or sending with an expired lease) until
    /// `lease_until`, counting the attempt. Rows another worker holds are skipped, and so are
    /// rows of a channel or conversation paused past `now` (see [`OutboxRepo::pause_outbox`]).
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxJob>, StoreError>;
    /// The provider took the message: row `sent`, message `sent` with its external id, a
    /// `message.status` event.
    async fn outbox_sent(&self, job: &OutboxJob, external_id: &str) -> Result<(), StoreError>;
    /// Try again at `next_attempt_at`. `count_attempt: false` gives the attempt back (a 429 is
    /// the network pacing us, not a failure of the message).
    async fn outbox_retry(
        &self,
        job: &OutboxJob,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        count_attempt: bool,
    ) -> Result<(), StoreError>;
    /// Give up: row and message `failed` with the error, a `message.status` event.
    async fn outbox_failed(&self, job: &OutboxJob, error: &str) -> Result<(), StoreError>;
    /// Pauses sending until `until` (the network said Retry-After): the whole channel's outbox,
    /// or with `conversation_id` only that conversation's rows. Durable: [`claim_outbox`]
    /// hands out no row of a paused channel or conversation before `until`, rows queued during
    /// the pause included.
    ///
    /// [`claim_outbox`]: OutboxRepo::claim_outbox
    async fn pause_outbox(
        &self,
        channel_id: ChannelId,
        conversation_id: Option<crate::ConversationId>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Every channel's backlog, at `now`; channels with none are left out.
    async fn outbox_backlog(&self, now: DateTime<Utc>) -> Result<Vec<OutboxBacklog>, StoreError>;
    /// Re-queues a `failed` outbound message: the message is `pending` again, its outbox row
    /// starts over, and a `message.status` event is written. `NotFound` if the message is not in
    /// the workspace; `Conflict { constraint: "message_not_failed" }` unless it failed.
    async fn retry_message(&self, workspace_id: WorkspaceId, id: MessageId) -> Result<Message, StoreError>;
    /// Applies a receipt from the network to the message with this external id, only moving it
    /// forward (sent → delivered → read; `failed`, with the network's words in `error`, only
    /// before delivery). `None` if not an advance. A receipt for an id no message holds yet
    /// (it raced the send's own answer) is kept and applied when the outbox records that id.
    async fn apply_delivery(
        &self,
        channel_id: ChannelId,
        external_id: &str,
        status: crate::message::MessageStatus,
        error: Option<&str>,
    ) -> Result<Option<Message>, StoreError>;
    /// The contact's newest message at or before `up_to` that the network has not been told
    /// was read, claimed (so it is reported once, whoever reads it): its network id, or `None`.
    async fn claim_network_read(
        &self,
        conversation_id: ConversationId,
        up_to: MessageId,
    ) -> Result<Option<String>, StoreError>;
}

/// Outbound messages. Sends that arrive while others are being written are written together
/// as one transaction (group commit); a reply takes the same path.
#[async_trait]
pub trait SendRepo: Send + Sync {
    /// Records an outbound message (`pending`, or `sent` on an in-app channel) with its events
    /// and its outbox row; idempotent by `client_message_id`. `NotFound` if the conversation is
    /// not in the workspace; `Conflict { constraint: "reply_to" }` if `reply_to` is not a
    /// message of the conversation.
    async fn send_message(&self, outbound: NewOutbound) -> Result<Sent, StoreError>;
}

/// Conversations and rooms: the list, read state, status, members, stars, presence, titles.
#[async_trait]
pub trait ConversationRepo: Send + Sync {
    async fn conversation(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError>;
    /// The workspace's conversations, most recent activity first (optionally of one channel),
    /// each with `user_id`'s unread count: the messages after their read position that are
    /// not their own (in a contact conversation, the contact's), capped at "99+".
    async fn conversations(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        filter: &crate::message::ConversationFilter,
    ) -> Result<Vec<crate::message::ConversationSummary>, StoreError>;
    /// Moves `user_id`'s read position in the conversation forward to the newest message at
    /// or before `up_to` (never backwards), with a `read.updated` event on the user's topic
    /// when it moved. Returns the unread count left. `NotFound` if the conversation is not in
    /// the workspace.
    async fn mark_read(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        conversation_id: ConversationId,
        up_to: MessageId,
    ) -> Result<crate::message::UnreadCount, StoreError>;
    /// Creates a room (a conversation of members, no contact) in a channel of the workspace,
    /// with a `conversation.created` event. `NotFound` if the channel is not in the workspace;
    /// `Conflict { constraint: "room_member" }` if a member is not one of the workspace.
    async fn create_room(&self, room: NewRoom) -> Result<Conversation, StoreError>;
    /// A room's members (empty for a conversation with a contact).
    async fn conversation_members(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
    ) -> Result<Vec<UserId>, StoreError>;
    /// Stars or unstars a message for one member. `NotFound` if the message is not in the
    /// workspace or the user is not a member of it.
    async fn set_starred(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        id: MessageId,
        starred: bool,
    ) -> Result<(), StoreError>;
    /// The member's starred messages, newest first.
    async fn starred(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
    /// Records what the network says about a contact being online, with a `contact.presence`
    /// event on the inbox topic. False when the contact is unknown or nothing changed.
    async fn set_contact_presence(
        &self,
        channel_id: ChannelId,
        external_id: &str,
        online: bool,
    ) -> Result<bool, StoreError>;
    /// Gives a network chat's conversation (and contact) the chat's new id; false when the old
    /// chat is unknown or the new id is already taken.
    async fn move_chat(&self, channel_id: ChannelId, from: &str, to: &str) -> Result<bool, StoreError>;
    /// Records that the contact blocked the account (`Some(why)`) or unblocked it (`None`);
    /// true when it changed.
    async fn set_contact_blocked(
        &self,
        channel_id: ChannelId,
        external_id: &str,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Renames the conversation of a network chat, with a `conversation.updated` event. `None`
    /// when the chat is unknown or the title unchanged.
    async fn rename_chat(
        &self,
        channel_id: ChannelId,
        external_chat_id: &str,
        title: &str,
    ) -> Result<Option<Conversation>, StoreError>;
}

/// Messages: reads, and changes to one already written.
#[async_trait]
pub trait MessageRepo: Send + Sync {
    /// A message by id within a workspace.
    async fn message(&self, workspace_id: WorkspaceId, id: MessageId) -> Result<Option<Message>, StoreError>;
    /// Up to `limit` messages the conversation shows older than `before` (by id), newest first
    /// (not a thread's replies that stay in it, not a shadow-banned member's).
    async fn messages(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
    /// What `viewer` sees of a conversation: [`MessageRepo::messages`] and their own messages
    /// that only they see (a shadow ban's), newest first.
    async fn history(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        viewer: UserId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
    /// A thread's replies that `viewer` sees, oldest first, after `after`.
    async fn thread_replies(
        &self,
        workspace_id: WorkspaceId,
        parent: MessageId,
        viewer: UserId,
        after: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
    /// Changes a message's text (stamping `edited_at`) with a `message.updated` event.
    /// `None` when the message is unknown (by network id) or the text is unchanged;
    /// `NotFound` for an unknown id; `Conflict { constraint: "message_deleted" }` if deleted.
    async fn edit_message(
        &self,
        target: crate::message::MessageRef,
        text: &str,
    ) -> Result<Option<Message>, StoreError>;
    /// Changes one reactor's reactions on a message (see [`crate::reaction`]), with a
    /// `reaction.added` / `reaction.removed` event per emoji put on or taken off; the message
    /// carries its counts after the change. `None` when nothing changed, or the message (by
    /// network id) or the contact is unknown; `NotFound` for an unknown id;
    /// `Conflict { constraint: "message_deleted" }` if deleted.
    async fn react(
        &self,
        target: crate::message::MessageRef,
        reactor: crate::reaction::Reactor,
        emoji: &str,
        op: crate::reaction::ReactionOp,
    ) -> Result<Option<Message>, StoreError>;
    /// Deletes a message (empty text, `deleted_at`) with a `message.deleted` event. `None`
    /// when unknown by network id or already deleted; `NotFound` for an unknown id.
    async fn delete_message(&self, target: crate::message::MessageRef)
    -> Result<Option<Message>, StoreError>;
}

/// The event log: every write's events, numbered per topic (offsets without gaps) and per
/// workspace (the position `sync` pages by).
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Up to `limit` of the workspace's events after position `after` of its log, in commit
    /// order, leaving out other users' private topics. Each comes with its log position.
    async fn events_since(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, StoreError>;
    /// Up to `limit` events of `topic` with an offset above `after`, in order.
    async fn events_after(&self, topic: Topic, after: i64, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// The offset of the topic's newest event (0 when it has none).
    async fn topic_position(&self, topic: Topic) -> Result<i64, StoreError>;
    /// The log's epoch: a random string made once per database. Offsets are only comparable
    /// within one epoch (a restored or recreated database gets a new one).
    async fn log_epoch(&self) -> Result<String, StoreError>;
}

/// Where committed events go: the port a store is given when it is built, handed the events
/// of each write right after the write commits, so no write path can forget to publish. The
/// server's implementation delivers them to this node's subscribers and, in a cluster, to the
/// other nodes. It must not block: it hands the events on and returns.
pub trait Broker: Send + Sync {
    fn publish(&self, events: &[Event]);
}

/// A broker that drops every event: for stores no one subscribes to (migrations, tools).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoBroker;

impl Broker for NoBroker {
    fn publish(&self, _: &[Event]) {}
}

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything the engine persists.
#[async_trait]
pub trait Store:
    UserRepo
    + WorkspaceRepo
    + InvitationRepo
    + SessionRepo
    + ChannelRepo
    + InboundRepo
    + SendRepo
    + ConversationRepo
    + MessageRepo
    + PinRepo
    + DeskRepo
    + FlowRepo
    + ContactRepo
    + NotifyRepo
    + ModerationRepo
    + RoomRepo
    + EventLog
    + OutboxRepo
    + MediaRepo
    + PlatformRepo
    + WebhookRepo
    + Send
    + Sync
{
    fn backend(&self) -> Backend;
    /// Ok when the database answers and every migration this binary knows is applied.
    async fn readiness(&self) -> Result<(), StoreError>;
}
