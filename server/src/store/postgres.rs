//! PostgreSQL: the store for several nodes sharing one database.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use switchboard::store::{Backend, StoreError};

use super::invitations::impl_invitations;
use super::messages::{conversation_columns, impl_messages, message_columns};
use super::outbox::impl_outbox;
use super::sql::{channel_columns, impl_store};
use super::{StoreOptions, migrate_err};

/// The PostgreSQL implementation of [`switchboard::Store`].
#[derive(Clone, Debug)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) listener: super::Listener,
    /// Sends waiting to be written as a group.
    sends: super::batch::SendQueue,
}

impl PgStore {
    pub(crate) const BACKEND: Backend = Backend::Postgres;
    /// The migrations embedded in the binary.
    pub fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    /// Connects a pool; fails with `Unavailable` if the server cannot be reached.
    pub async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect(&options.url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", super::redact_url(&options.url))))?;
        Ok(Self { pool, listener: super::Listener::new(options.broker.clone()), sends: Default::default() })
    }

    /// A write transaction (row locks serialize writers to the same topic).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.pool.begin().await.map_err(super::map_err)
    }

    /// Applies pending migrations (sqlx takes an advisory lock, so concurrent nodes are safe).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(migrate_err)
    }

    /// The pool, for tests that inspect raw rows.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl_store!(PgStore);
impl_invitations!(PgStore);
impl_messages!(PgStore, sqlx::Postgres);
impl_outbox!(PgStore, sqlx::Postgres, " for update of o skip locked");
