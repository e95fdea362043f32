//! SQLite: the default store, one file under the data dir, in WAL mode so readers never block
//! the writer.

use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use switchboard::store::StoreError;

use super::backend::{Backend, SqlStore};
use super::{StoreOptions, parse_sqlite_options};

/// The SQLite implementation of [`switchboard::Store`].
pub type SqliteStore = SqlStore<Sqlite>;

impl Backend for Sqlite {
    const KIND: switchboard::store::Backend = switchboard::store::Backend::Sqlite;
    // Takes the file's write lock up front: two writers queue on the busy timeout instead of
    // failing when a read lock cannot be upgraded.
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");
    // One writer at a time (`BEGIN IMMEDIATE`): the claimer is single by construction.
    const CLAIM_LOCK: &'static str = "";

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }
}

impl SqlStore<Sqlite> {
    /// Opens (creating if missing) the database file.
    pub async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        let in_memory = options.url.contains(":memory:") || options.url.contains("mode=memory");
        let connect = parse_sqlite_options(&options.url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .synchronous(match options.sqlite_sync {
                super::SqliteSync::Normal => SqliteSynchronous::Normal,
                super::SqliteSync::Full => SqliteSynchronous::Full,
            })
            .journal_mode(if in_memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal });
        // An in-memory database exists per connection: one connection, or each sees its own.
        let max = if in_memory { 1 } else { options.max_connections.max(1) };
        // A connection to a local file does not go stale: no ping before each use (it is a
        // round trip to the connection's worker thread on every statement's acquire).
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .test_before_acquire(false)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(if in_memory {
                connect.clone()
            } else {
                connect.clone().pragma("cache_size", READER_CACHE)
            })
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // One connection for write transactions: writers queue here, in order, instead of
        // polling SQLite's busy handler for the file's write lock.
        let writer = if in_memory {
            pool.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                // A write waits for the ones queued before it; give it the pool's wait and more.
                .acquire_timeout(options.acquire_timeout * 4)
                // Grouped sends prepare one statement per group size (see `sends.rs`).
                .connect_with(connect.statement_cache_capacity(WRITER_STATEMENTS))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?
        };
        Ok(Self::with_pools(pool, writer, options.broker.clone()))
    }
}

/// Each reading connection's page cache (`PRAGMA cache_size`; negative: KiB), a quarter of
/// SQLite's default. In WAL mode a reading connection drops its whole cache at the start of a
/// read once another connection has committed since its last one, so while anything is being
/// written (a chat server's normal state) its cache holds only the pages read since the last
/// commit; the operating system's page cache holds the file once for all of them. At the default
/// the pool's ten caches grew to ~20 MB while 10,000 sockets connected without a write
/// (docs/performance.md). The writer, whose own commits keep its cache valid, keeps the default.
const READER_CACHE: &str = "-512";

/// Prepared statements the writer keeps: the grouped send's statements in each of
/// `MAX_GROUP` sizes, and the rest.
const WRITER_STATEMENTS: usize = 8 * super::send_queue::MAX_GROUP + 100;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
