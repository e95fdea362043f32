//! The `Store` port's implementation: one generic [`SqlStore`] over SQLite (the default, one file
//! under the data dir, WAL) and PostgreSQL (`postgres://…`), written once (see [`backend`]).
//! Each backend has its own migrations folder, embedded in the binary. One file per concern:
//!
//! | file | what |
//! | --- | --- |
//! | `event_log.rs` | offsets, append, reads after a topic offset or a log position, epoch |
//! | `batch.rs` | a transaction's statements sent together (one hand-off on SQLite) |
//! | `sends.rs`, `send_plan.rs`, `send_queue.rs` | outbound messages, written by group commit; what each send of a group comes to |
//! | `ingest.rs` | inbound messages from the networks |
//! | `history.rs` | a linked phone's past chats, recorded as history |
//! | `messages.rs` | message reads, edits, deletes; what every message write shares |
//! | `hot.rs` | the hot statements of unread state, shared with the plans test |
//! | `conversations.rs` | the list, read state, status, rooms, members, stars, presence, titles |
//! | `rooms.rs` | room membership and roles, read by the access rules |
//! | `outbox.rs` | claiming, settling and pausing network sends |
//! | `accounts.rs` | users, workspaces and members, sessions |
//! | `channels.rs` | connected accounts, status, sealed credentials |
//! | `invitations.rs` | invitations to workspaces |
//! | `media.rs` | uploads, attachments, the media garbage collector's sweep |

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use switchboard::Store;
use switchboard::store::{Broker, NoBroker, StoreError};

mod accounts;
pub mod backend;
mod batch;
mod channels;
mod contacts;
mod conversations;
mod desk;
mod event_log;
mod flows;
mod history;
pub mod hot;
mod ingest;
mod invitations;
mod media;
mod messages;
mod moderation;
mod notify;
mod outbox;
mod pins;
mod platform;
mod postgres;
mod reactions;
mod rooms;
mod rows;
mod search;
mod send_plan;
mod send_queue;
mod sends;
mod sqlite;
mod threads;
mod webhooks;

pub use backend::SqlStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The broker the store was built with, shared by its clones: every write hands it the events
/// it committed.
#[derive(Clone)]
pub(crate) struct Listener(Arc<dyn Broker>);

impl Listener {
    pub(crate) fn new(broker: Arc<dyn Broker>) -> Self {
        Self(broker)
    }

    /// Hands committed events on (nothing to do for a write without events).
    pub(crate) fn committed(&self, events: &[switchboard::Event]) {
        if !events.is_empty() {
            self.0.publish(events);
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}

/// When a SQLite commit reaches the disk: `Normal` syncs the write-ahead log at checkpoints
/// (a commit survives the process dying, not the machine losing power), `Full` at every commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SqliteSync {
    #[default]
    Normal,
    Full,
}

/// How to open the database.
#[derive(Clone)]
pub struct StoreOptions {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://…`.
    pub url: String,
    /// Upper bound on pooled connections.
    pub max_connections: u32,
    /// How long a caller waits for a pooled connection before `Unavailable`.
    pub acquire_timeout: Duration,
    /// When a SQLite commit reaches the disk (PostgreSQL ignores it).
    pub sqlite_sync: SqliteSync,
    /// Where the store publishes the events each write commits (by default nowhere: a store
    /// no one subscribes to, such as the `migrate` command's).
    pub broker: Arc<dyn Broker>,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            sqlite_sync: SqliteSync::Normal,
            broker: Arc::new(NoBroker),
        }
    }

    /// These options, publishing committed events to `broker`.
    pub fn with_broker(self, broker: Arc<dyn Broker>) -> Self {
        Self { broker, ..self }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("sqlite_sync", &self.sqlite_sync)
            .finish_non_exhaustive()
    }
}

/// Opens the database the URL names. Does not migrate: call [`migrate`] (or use [`open`]).
pub async fn connect(options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if is_postgres(&options.url) {
        Ok(Arc::new(PgStore::connect(options).await?))
    } else if options.url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(options).await?))
    } else {
        Err(StoreError::Unavailable(format!(
            "unsupported database URL scheme in `{}` (expected sqlite: or postgres://)",
            redact_url(&options.url)
        )))
    }
}

/// Opens the database and applies any pending migrations.
pub async fn open(options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if is_postgres(&options.url) {
        let store = PgStore::connect(options).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        let store = SqliteStore::connect(options).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The URL with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Maps a sqlx error to the port's error. Unique violations carry the constraint name
/// (PostgreSQL names it; SQLite's message names the columns, which our naming rule turns into
/// the same `{table}_{columns}_key`).
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let constraint =
                db.constraint().map(str::to_owned).unwrap_or_else(|| sqlite_constraint(db.message()));
            StoreError::Conflict { constraint }
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Internal(err.to_string()),
    }
}

/// `UNIQUE constraint failed: user_account.email` → `user_account_email_key`.
fn sqlite_constraint(message: &str) -> String {
    let Some(columns) = message.strip_prefix("UNIQUE constraint failed: ") else {
        return "unknown".to_owned();
    };
    let mut parts = columns.split(", ").filter_map(|c| c.split_once('.'));
    let Some((table, first)) = parts.next() else { return "unknown".to_owned() };
    let mut name = format!("{table}_{first}");
    for (_, column) in parts {
        name.push('_');
        name.push_str(column);
    }
    name.push_str("_key");
    name
}

/// Rolls the transaction back and answers `err`.
pub(crate) async fn abort<D: sqlx::Database, T>(
    tx: sqlx::Transaction<'static, D>,
    err: StoreError,
) -> Result<T, StoreError> {
    tx.rollback().await.map_err(map_err)?;
    Err(err)
}

fn migrate_err(err: sqlx::migrate::MigrateError) -> StoreError {
    match err {
        sqlx::migrate::MigrateError::Execute(e) => map_err(e),
        other => StoreError::Internal(format!("migration failed: {other}")),
    }
}

/// Checks that every migration of `migrator` is recorded as applied.
pub(crate) fn check_applied(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Result<(), StoreError> {
    let missing: Vec<i64> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::NotMigrated(format!("pending migrations: {missing:?}")))
    }
}

pub(crate) fn parse_sqlite_options(url: &str) -> Result<sqlx::sqlite::SqliteConnectOptions, StoreError> {
    sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_unique_messages_map_to_postgres_style_names() {
        assert_eq!(
            sqlite_constraint("UNIQUE constraint failed: user_account.email"),
            "user_account_email_key"
        );
        assert_eq!(
            sqlite_constraint("UNIQUE constraint failed: member.workspace_id, member.user_id"),
            "member_workspace_id_user_id_key"
        );
        assert_eq!(sqlite_constraint("something else"), "unknown");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
