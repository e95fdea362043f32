//! The engine's services: every write and every authorization decision goes through here,
//! whatever door it came in by (REST, server functions, the CLI).

pub mod accounts;
pub mod bot_runner;
pub mod bots;
pub mod channel_network;
pub mod channels;
pub mod chat;
pub mod contacts;
pub mod desk;
pub mod inbound;
pub mod invitations;
pub mod members;
pub mod messages;
pub mod moderation;
pub mod notify;
pub mod outbox;
pub mod platform;
pub mod provision;
pub mod ratelimit;
pub mod refusal;
pub mod rooms;
pub mod webhooks;

pub use accounts::{AccountService, AuthConfig};
pub use channels::{Actor, ChannelService};
pub use messages::MessageService;
pub use refusal::Refusal;

use switchboard::StoreError;
use switchboard::validate::ValidationError;

/// Why a service call was refused or failed. [`ServiceError::refusal`] maps each to the one
/// status, code and sentence every door renders (REST, realtime RPC, server functions).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Signing in or the session failed.
    #[error(transparent)]
    Auth(switchboard::auth::AuthError),
    /// A well-formed request the service cannot carry out (code, message).
    #[error("{1}")]
    Unprocessable(&'static str, String),
    #[error("{0}")]
    Forbidden(&'static str),
    /// A network the request depends on is temporarily unavailable; try again later.
    #[error("{0}")]
    Unavailable(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(&'static str),
    /// The named thing does not exist in the caller's workspace.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A refusal with its own stable code: (HTTP status, code, message).
    #[error("{2}")]
    Refused(u16, &'static str, &'static str),
    /// The room is in slow mode and the caller posted too recently: the wait left.
    #[error("slow mode; post again in {} ms", .0.as_millis())]
    SlowMode(std::time::Duration),
    /// The caller is over a rate limit; it may try again after this long.
    #[error("too many requests; try again in {} ms", .0.as_millis())]
    RateLimited(std::time::Duration),
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        ServiceError::Store(err)
    }
}

impl ServiceError {
    /// Names what a store `NotFound` was about.
    pub fn not_found_as(self, what: &'static str) -> Self {
        match self {
            ServiceError::Store(StoreError::NotFound) => ServiceError::NotFound(what),
            other => other,
        }
    }
}
