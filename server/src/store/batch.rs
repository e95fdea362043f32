//! A write transaction's statements, sent to the database together where it allows.
//!
//! Every statement on SQLite is a hand-off to the connection's thread and back (sqlx runs
//! each connection on a thread of its own), two thread switches that cost more than most of
//! the statements. But sqlx runs the statements of one string in order, with plain `?`
//! parameters continuing from one statement to the next, so on SQLite a [`Batch`] holds the
//! statements that return nothing and sends them with the next one whose rows are wanted, or
//! at [`Batch::flush`]: a group of writes is one hand-off. PostgreSQL takes one statement per
//! round trip (its extended protocol), so there each statement runs as soon as it is complete.
//!
//! sqlx 0.9 marks several statements in one prepared string as deprecated (SQLite alone allows
//! it); the store's conformance suite runs every batch on both backends, so an upgrade that
//! drops it fails there, not in production.
//!
//! Statements in a batch use [`super::backend::Params`] placeholders (`?` on SQLite): a
//! numbered `$n` would count from the first statement of the string. Anything that runs on
//! the transaction directly must come after a [`Batch::flush`], or it would run before the
//! statements still held.

use futures_util::TryStreamExt;
use sqlx::{Arguments, Either, Encode, Executor, FromRow, Transaction, Type};
use switchboard::store::StoreError;

use super::backend::Backend;
use super::map_err;

pub(crate) struct Batch<D: Backend> {
    /// The held statements and the one being built, `;`-separated.
    sql: String,
    args: D::Arguments,
    /// The first value that could not be encoded: the batch fails with it when it runs.
    unbound: Option<sqlx::error::BoxDynError>,
    /// PostgreSQL: the rows of the statements run since the last [`Batch::rows`].
    sets: Vec<Vec<D::Row>>,
}

impl<D: Backend> Default for Batch<D> {
    fn default() -> Self {
        Self { sql: String::new(), args: D::Arguments::default(), unbound: None, sets: Vec::new() }
    }
}

impl<D: Backend> Batch<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
{
    /// Whether statements wait for the next one to be sent with it.
    fn holds() -> bool {
        D::KIND == switchboard::store::Backend::Sqlite
    }

    /// Starts a statement; its values follow with [`Self::bind`], in the placeholders' order.
    pub(crate) fn statement(&mut self, sql: &str) -> &mut Self {
        debug_assert!(Self::holds() || self.sql.is_empty(), "a statement was not ended");
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(sql);
        self
    }

    /// The statement's next value.
    pub(crate) fn bind<'t, T: Encode<'t, D> + Type<D>>(&mut self, value: T) -> &mut Self {
        if let Err(err) = self.args.add(value) {
            self.unbound.get_or_insert(err);
        }
        self
    }

    /// Ends a statement that returns nothing: held on SQLite, run now on PostgreSQL.
    pub(crate) async fn write(&mut self, tx: &mut Transaction<'static, D>) -> Result<(), StoreError> {
        if Self::holds() {
            return Ok(());
        }
        self.flush(tx).await?;
        self.sets.push(Vec::new());
        Ok(())
    }

    /// Ends a statement whose rows [`Self::rows`] returns: held on SQLite, run now on PostgreSQL.
    pub(crate) async fn query(&mut self, tx: &mut Transaction<'static, D>) -> Result<(), StoreError> {
        if Self::holds() {
            return Ok(());
        }
        let (sql, args) = self.take()?;
        let rows = sqlx::query_with::<D, _>(sqlx::AssertSqlSafe(sql), args)
            .fetch_all(&mut **tx)
            .await
            .map_err(map_err)?;
        self.sets.push(rows);
        Ok(())
    }

    /// Runs the statements held and returns the rows of every statement ended since the last
    /// call, one set per statement in order (a write's is empty). Read them with [`decode`].
    pub(crate) async fn rows(
        &mut self,
        tx: &mut Transaction<'static, D>,
    ) -> Result<Vec<Vec<D::Row>>, StoreError> {
        if !Self::holds() {
            return Ok(std::mem::take(&mut self.sets));
        }
        let (sql, args) = self.take()?;
        let mut sets = Vec::new();
        let mut set = Vec::new();
        let mut results = (&mut **tx).fetch_many(sqlx::query_with::<D, _>(sqlx::AssertSqlSafe(sql), args));
        // Each statement's rows come first, then its result.
        while let Some(item) = results.try_next().await.map_err(map_err)? {
            match item {
                Either::Left(_) => sets.push(std::mem::take(&mut set)),
                Either::Right(row) => set.push(row),
            }
        }
        Ok(sets)
    }

    /// Ends a statement whose rows are wanted and runs it, after the statements held. Only
    /// this statement may return rows (on SQLite, rows of a held one would be read as its).
    pub(crate) async fn read<R>(&mut self, tx: &mut Transaction<'static, D>) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> FromRow<'r, D::Row> + Send + Unpin,
    {
        self.sets.clear();
        let (sql, args) = self.take()?;
        sqlx::query_as_with::<D, R, _>(sqlx::AssertSqlSafe(sql), args)
            .fetch_all(&mut **tx)
            .await
            .map_err(map_err)
    }

    /// Runs the statements held, if any.
    pub(crate) async fn flush(&mut self, tx: &mut Transaction<'static, D>) -> Result<(), StoreError> {
        if self.sql.is_empty() {
            return Ok(());
        }
        let (sql, args) = self.take()?;
        sqlx::query_with::<D, _>(sqlx::AssertSqlSafe(sql), args).execute(&mut **tx).await.map_err(map_err)?;
        Ok(())
    }

    fn take(&mut self) -> Result<(String, D::Arguments), StoreError> {
        let (sql, args) = (std::mem::take(&mut self.sql), std::mem::take(&mut self.args));
        match self.unbound.take() {
            Some(err) => Err(map_err(sqlx::Error::Encode(err))),
            None => Ok((sql, args)),
        }
    }
}

/// One statement's rows, as `R`.
pub(crate) fn decode<D: Backend, R: for<'r> FromRow<'r, D::Row>>(
    rows: &[D::Row],
) -> Result<Vec<R>, StoreError> {
    rows.iter().map(|row| R::from_row(row).map_err(map_err)).collect()
}
