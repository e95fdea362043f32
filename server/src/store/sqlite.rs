//! SQLite: the default store, one file under the data dir, in WAL mode so readers never block
//! the writer.

use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use switchboard::store::{Backend, StoreError};

use super::invitations::impl_invitations;
use super::messages::{conversation_columns, impl_messages, message_columns};
use super::outbox::impl_outbox;
use super::sql::{channel_columns, impl_store};
use super::{StoreOptions, migrate_err, parse_sqlite_options};

/// The SQLite implementation of [`switchboard::Store`].
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// One connection for write transactions: writers queue here, in order, instead of
    /// polling SQLite's busy handler for the file's write lock.
    writer: SqlitePool,
    pub(crate) listener: super::Listener,
    /// Sends waiting to be written as a group.
    sends: super::batch::SendQueue,
}

impl SqliteStore {
    pub(crate) const BACKEND: Backend = Backend::Sqlite;
    /// The migrations embedded in the binary.
    pub fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    /// Opens (creating if missing) the database file.
    pub async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        let in_memory = options.url.contains(":memory:") || options.url.contains("mode=memory");
        let connect = parse_sqlite_options(&options.url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .synchronous(SqliteSynchronous::Normal)
            .journal_mode(if in_memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal });
        // An in-memory database exists per connection: one connection, or each sees its own.
        let max = if in_memory { 1 } else { options.max_connections.max(1) };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let writer = if in_memory {
            pool.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(1)
                // A write waits for the ones queued before it; give it the pool's wait and more.
                .acquire_timeout(options.acquire_timeout * 4)
                // Grouped sends prepare one statement per group size (see `batch.rs`).
                .connect_with(connect.statement_cache_capacity(WRITER_STATEMENTS))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?
        };
        Ok(Self {
            pool,
            writer,
            listener: super::Listener::new(options.broker.clone()),
            sends: Default::default(),
        })
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so two writers
    /// queue on the busy timeout instead of failing when a read lock cannot be upgraded.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(super::map_err)
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(migrate_err)
    }

    /// The pool, for tests that inspect raw rows.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Prepared statements the writer keeps: the grouped send's seven statements in each of
/// `MAX_GROUP` sizes, and the rest.
const WRITER_STATEMENTS: usize = 8 * super::batch::MAX_GROUP + 100;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

impl_store!(SqliteStore);
impl_invitations!(SqliteStore);
impl_messages!(SqliteStore, sqlx::Sqlite);
impl_outbox!(SqliteStore, sqlx::Sqlite, "");
