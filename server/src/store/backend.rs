//! One store for both databases: [`SqlStore<D>`], generic over the sqlx driver `D`. The SQL is
//! written once (both backends take `$n` placeholders, `on conflict` and `returning`); what
//! differs lives in [`Backend`]: how a write transaction begins and how the outbox claim locks
//! its rows. The repositories are plain `impl` blocks, one file per concern.
//!
//! Rust does not carry a trait's where-clauses over to its users, so each repository `impl`
//! names the sqlx bounds it relies on, always in this order (the [`switchboard::Store`] impl
//! names all of them):
//!
//! ```text
//! for<'c> &'c mut D::Connection: Executor<'c, Database = D>,  // queries run on a transaction or the pool
//! for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,        // rows read by column name; &str binds
//! str: Type<D>,
//! usize: ColumnIndex<D::Row>,                                  // tuples read by position
//! Uuid: Column<D>, String: Column<D>, …                        // owned column types, read and bound
//! Option<Uuid>: Bind<D>, …                                     // owned types only bound
//! for<'a> Option<&'a str>: Encode<'a, D>, …                    // borrowed types bound
//! ```
//!
//! [`Column`] and [`Bind`] only bundle sqlx's `Type + Encode (+ Decode)`, so each type takes
//! one line; both backends implement all of them. Borrowed types name their lifetime once
//! (`for<'a> … Encode<'a, D>`): a second binder inside it trips rustc's higher-ranked checks
//! when the store becomes an `Arc<dyn Store>`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type};
use switchboard::store::{Broker, StoreError};

use super::{Listener, map_err, send_queue::SendQueue};

/// A database the store runs on: implemented for [`sqlx::Sqlite`] and [`sqlx::Postgres`].
pub trait Backend:
    Database<Arguments: IntoArguments<Self>, Connection: sqlx::migrate::Migrate, QueryResult: RowsAffected> + Sync
{
    /// The port's name for it.
    const KIND: switchboard::store::Backend;
    /// What a write transaction begins with (`None`: the driver's plain `BEGIN`).
    const BEGIN_WRITE: Option<&'static str>;
    /// Appended to the outbox claim's selects: how rows another worker holds are skipped.
    const CLAIM_LOCK: &'static str;
    /// The migrations embedded in the binary.
    fn migrator() -> &'static sqlx::migrate::Migrator;
}

/// A type the backend binds as a parameter.
pub trait Bind<D: Database>: for<'q> Encode<'q, D> + Type<D> {}
impl<D: Database, T: for<'q> Encode<'q, D> + Type<D>> Bind<D> for T {}

/// How many rows a statement changed (each driver has it, as an inherent method).
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A type the backend stores in a column: binds it and reads it back.
pub trait Column<D: Database>: Bind<D> + for<'r> Decode<'r, D> {}
impl<D: Database, T: Bind<D> + for<'r> Decode<'r, D>> Column<D> for T {}

/// The store: a pool for reads, a pool for write transactions (on SQLite one connection, so
/// writers queue in order instead of polling the file's lock; on PostgreSQL the same pool), the
/// broker it publishes committed events to, and the queue of sends written as groups.
pub struct SqlStore<D: Backend> {
    pub(crate) pool: Pool<D>,
    pub(crate) writer: Pool<D>,
    pub(crate) listener: Listener,
    pub(crate) sends: SendQueue,
}

impl<D: Backend> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            listener: self.listener.clone(),
            sends: self.sends.clone(),
        }
    }
}

impl<D: Backend> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("backend", &D::KIND).finish_non_exhaustive()
    }
}

impl<D: Backend> SqlStore<D> {
    pub(crate) fn with_pools(pool: Pool<D>, writer: Pool<D>, broker: Arc<dyn Broker>) -> Self {
        Self { pool, writer, listener: Listener::new(broker), sends: SendQueue::default() }
    }

    /// The migrations embedded in the binary.
    pub fn migrator() -> &'static sqlx::migrate::Migrator {
        D::migrator()
    }

    /// The pool, for tests that inspect raw rows.
    pub fn pool(&self) -> &Pool<D> {
        &self.pool
    }

    /// A write transaction. On SQLite `BEGIN IMMEDIATE` takes the write lock up front, so two
    /// writers queue instead of failing when a read lock cannot be upgraded; on PostgreSQL row
    /// locks serialize writers to the same rows.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, D>, StoreError> {
        match D::BEGIN_WRITE {
            Some(begin) => self.writer.begin_with(begin).await,
            None => self.writer.begin().await,
        }
        .map_err(map_err)
    }
}

impl<D: Backend> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
{
    /// Applies pending migrations (on PostgreSQL sqlx takes an advisory lock, so concurrent
    /// nodes are safe).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        D::migrator().run(&self.pool).await.map_err(super::migrate_err)
    }
}

#[async_trait::async_trait]
// Every repository's bounds together: the store is all of them.
impl<D: Backend> switchboard::Store for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    bool: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Vec<u8>>: Column<D>,
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    Option<i64>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<DateTime<Utc>>: Bind<D>,
    Option<Json<Value>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    fn backend(&self) -> switchboard::store::Backend {
        D::KIND
    }

    async fn readiness(&self) -> Result<(), StoreError> {
        let applied: Vec<i64> =
            match sqlx::query_scalar("select version from _sqlx_migrations where success = true")
                .fetch_all(&self.pool)
                .await
            {
                Ok(applied) => applied,
                Err(sqlx::Error::Database(e)) => return Err(StoreError::NotMigrated(e.message().to_owned())),
                Err(e) => return Err(map_err(e)),
            };
        super::check_applied(D::migrator(), &applied)
    }
}

/// Placeholders for a statement whose size depends on the data, one per value in the order
/// the values are bound (never reused). PostgreSQL numbers them (`$1, $2, …`); SQLite gets
/// plain `?`, because it looks a numbered parameter's name up by a scan of all of them, which
/// made binding a group's statements quadratic (6 % of the server's CPU at saturation).
pub(crate) struct Params {
    numbered: bool,
    n: usize,
}

impl Params {
    pub(crate) fn new(backend: switchboard::store::Backend) -> Self {
        Self { numbered: backend == switchboard::store::Backend::Postgres, n: 0 }
    }

    pub(crate) fn next(&mut self) -> String {
        self.n += 1;
        if self.numbered { format!("${}", self.n) } else { "?".to_owned() }
    }

    /// `$n, $n+1, …`: `n` values (for `in (…)`).
    pub(crate) fn list(&mut self, n: usize) -> String {
        let list: Vec<String> = (0..n).map(|_| self.next()).collect();
        list.join(", ")
    }

    /// `($n, $n+1, …)` for one row of `columns` values.
    pub(crate) fn row(&mut self, columns: usize) -> String {
        format!("({})", self.list(columns))
    }

    /// `rows` rows of `columns` values, comma-separated (for `values …`).
    pub(crate) fn rows(&mut self, rows: usize, columns: usize) -> String {
        let list: Vec<String> = (0..rows).map(|_| self.row(columns)).collect();
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::Params;
    use switchboard::store::Backend;

    #[test]
    fn params_are_numbered_in_order_on_postgres_and_plain_on_sqlite() {
        let mut p = Params::new(Backend::Postgres);
        assert_eq!(p.rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(p.next(), "$7");
        assert_eq!(p.row(1), "($8)");
        assert_eq!(p.list(2), "$9, $10");
        let mut p = Params::new(Backend::Sqlite);
        assert_eq!(p.rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(p.list(2), "?, ?");
    }
}
