//! PostgreSQL: the store for several nodes sharing one database.

use sqlx::Postgres;
use sqlx::postgres::PgPoolOptions;
use switchboard::store::StoreError;

use super::StoreOptions;
use super::backend::{Backend, SqlStore};

/// The PostgreSQL implementation of [`switchboard::Store`].
pub type PgStore = SqlStore<Postgres>;

impl Backend for Postgres {
    const KIND: switchboard::store::Backend = switchboard::store::Backend::Postgres;
    // Row locks serialize writers to the same rows.
    const BEGIN_WRITE: Option<&'static str> = None;
    // Several nodes claim at once: each skips the rows another holds.
    const CLAIM_LOCK: &'static str = " for update of o skip locked";

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }
}

impl SqlStore<Postgres> {
    /// Connects a pool; fails with `Unavailable` if the server cannot be reached.
    pub async fn connect(options: &StoreOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect(&options.url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", super::redact_url(&options.url))))?;
        Ok(Self::with_pools(pool.clone(), pool, options.broker.clone()))
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");
