//! The engine's services: every write and every authorization decision goes through here,
//! whatever door it came in by (REST, server functions, the CLI).

pub mod accounts;
pub mod provision;
pub mod ratelimit;

pub use accounts::{AccountService, AuthConfig};
