//! Switchboard's domain: the vocabulary of the product and the ports the engine implements.
//!
//! This crate is pure: no tokio, sqlx, axum or leptos. It builds for `wasm32-unknown-unknown`
//! so the UI shares the same types as the server (checked by `scripts/test.sh`).
//!
//! - [`access`]: who may read, post into and manage a conversation (the rules, no I/O).
//! - [`ids`]: newtype ids (UUIDv7, time-sortable).
//! - [`account`]: users, workspaces, members and roles, sessions.
//! - [`invitation`]: offers to join a workspace, accepted by the person invited.
//! - [`channel`]: connected messaging accounts, their providers and statuses.
//! - [`message`]: conversations, messages and the send command.
//! - [`media`]: attachments: their kinds, type sniffing, what may render inline.
//! - [`event`]: the typed events every change is recorded and published as.
//! - [`topic`]: the realtime topics events are published on.
//! - [`platform`]: the developer platform: API keys, app users, the user tokens keys mint.
//! - [`provider`]: the contract every network adapter implements.
//! - [`webhook`]: outgoing webhooks: endpoints and their deliveries.
//! - [`validate`]: input validation shared by every entry point (REST, server fns, CLI).
//! - [`store`]: the `Store` port, implemented for SQLite and PostgreSQL in `server/`.
//! - [`time`]: timestamps at the precision every store keeps.
//! - [`auth`]: the sign-in port the UI calls through context during SSR.

pub mod access;
pub mod account;
pub mod auth;
pub mod channel;
pub mod contact;
pub mod desk;
pub mod event;
pub mod flow;
pub mod ids;
pub mod invitation;
pub mod markdown;
pub mod media;
pub mod message;
pub mod moderation;
pub mod notify;
pub mod platform;
pub mod provider;
pub mod reaction;
pub mod search;
pub mod store;
pub mod time;
pub mod topic;
pub mod validate;
pub mod webhook;

pub use account::{Me, Member, MemberRole, Membership, Session, User, Workspace, WorkspaceMember};
pub use channel::{Channel, ChannelStatus, ProviderKind};
pub use event::{Event, EventBody, EventKind};
pub use ids::{
    ApiKeyId, AttachmentId, BanId, BotSessionId, CannedReplyId, ChannelId, ContactId, ConversationId,
    EventId, FlagId, FlowId, InvitationId, LabelId, MessageId, SessionId, UserId, WebhookId, WorkspaceId,
};
pub use message::{Conversation, Message, MessageStatus};
pub use store::{Store, StoreError};
pub use topic::Topic;
