//! The event log: every write's events, numbered per topic (`topic_offset`, gapless) and per
//! workspace (`workspace_offset`, the position `sync` pages by), and the reads that recover
//! from it. Writes append inside their own transaction, so an event exists exactly when its
//! state change does.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::store::{EventLog, StoreError};
use switchboard::{Event, EventBody, Topic, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, Params, SqlStore};
use super::map_err;
use super::rows;

impl<D: Backend> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    /// Hands out the next offset of a counter (a topic, or a workspace's log), locking its
    /// row until the transaction ends.
    async fn next_offset(tx: &mut Transaction<'static, D>, key: &str) -> Result<i64, StoreError> {
        let (offset,): (i64,) = sqlx::query_as(
            "insert into topic_offset (topic, last_offset) values ($1, 1)
             on conflict (topic) do update set last_offset = topic_offset.last_offset + 1
             returning last_offset",
        )
        .bind(key)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(offset)
    }

    /// Appends one event to `topic` with the topic's next offset, inside `tx`.
    pub(crate) async fn append_event(
        tx: &mut Transaction<'static, D>,
        workspace_id: WorkspaceId,
        topic: Topic,
        body: EventBody,
        trace_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Event, StoreError> {
        // The workspace's log first, then the topic: every transaction takes these
        // counters in the same order, so writers never deadlock on them.
        let workspace_offset = Self::next_offset(tx, &format!("log:{workspace_id}")).await?;
        let name = topic.to_string();
        let offset = Self::next_offset(tx, &name).await?;
        let event = Event { offset, ..Event::new(topic, body, trace_id, at) };
        sqlx::query(
            "insert into event (event_id, workspace_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload, workspace_offset)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(event.id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(&name)
        .bind(event.offset)
        .bind(event.kind().as_str())
        .bind(event.schema_version as i32)
        .bind(event.occurred_at)
        .bind(&event.trace_id)
        .bind(Json(&event.body.payload()))
        .bind(workspace_offset)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
        Self::enqueue_deliveries(tx, &[event.id.as_uuid()]).await?;
        Ok(event)
    }

    /// Writes a webhook delivery for each of these (just inserted) events and each active
    /// endpoint of its workspace that names its type; personal `user:{id}` copies are not
    /// delivered (the conversation's own event is), nor a bot session's own stream
    /// (`session:{id}`: its start and end are delivered from the inbox). In the events' transaction: a committed
    /// event always has its deliveries.
    async fn enqueue_deliveries(tx: &mut Transaction<'static, D>, ids: &[Uuid]) -> Result<(), StoreError> {
        let placeholders = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "insert into webhook_delivery (endpoint_id, event_id, workspace_id, event_type, status, attempts,
                                           next_attempt_at, created_at)
             select w.endpoint_id, e.event_id, e.workspace_id, e.type, 'pending', 0, e.occurred_at, e.occurred_at
             from event e join webhook_endpoint w on w.workspace_id = e.workspace_id
             where e.event_id in ({placeholders}) and w.active = true and e.topic not like 'user:%' and e.topic not like 'session:%'
               and (w.events = '*' or w.events like '%,' || e.type || ',%')"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await.map_err(map_err)?;
        Ok(())
    }

    /// Numbers `events` (in order) from their topics' counters and their workspaces'
    /// logs (`event_ws`, one per event) in one statement: each counter moves by its
    /// count and the events take the numbers up to its new value. Returns each event's
    /// log offset.
    pub(crate) async fn take_offsets(
        tx: &mut Transaction<'static, D>,
        events: &mut [Event],
        event_ws: &[WorkspaceId],
    ) -> Result<Vec<i64>, StoreError> {
        use std::collections::{BTreeMap, HashMap};
        let logs: Vec<String> = event_ws.iter().map(|ws| format!("log:{ws}")).collect();
        let topics: Vec<String> = events.iter().map(|e| e.topic.to_string()).collect();
        // Workspace logs sort first: every transaction takes a log before its topics
        // (as `append_event` does), so writers never deadlock on the counters.
        let mut counts: BTreeMap<(bool, &str), i64> = BTreeMap::new();
        for key in &logs {
            *counts.entry((false, key.as_str())).or_default() += 1;
        }
        for topic in &topics {
            *counts.entry((true, topic.as_str())).or_default() += 1;
        }
        let sql = format!(
            "insert into topic_offset (topic, last_offset) values {}
             on conflict (topic) do update set last_offset = topic_offset.last_offset + excluded.last_offset
             returning topic, last_offset",
            Params::new(D::KIND).rows(counts.len(), 2)
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
        for ((_, key), count) in &counts {
            query = query.bind(*key).bind(*count);
        }
        let tops: HashMap<String, i64> =
            query.fetch_all(&mut **tx).await.map_err(map_err)?.into_iter().collect();
        let mut next: HashMap<String, i64> = HashMap::with_capacity(counts.len());
        for ((_, key), count) in &counts {
            let top = tops
                .get(*key)
                .ok_or_else(|| StoreError::Internal(format!("no offset came back for {key}")))?;
            next.insert((*key).to_owned(), top - count + 1);
        }
        let mut take = |key: &str| -> Result<i64, StoreError> {
            let n =
                next.get_mut(key).ok_or_else(|| StoreError::Internal(format!("{key} was not counted")))?;
            *n += 1;
            Ok(*n - 1)
        };
        let mut log_offsets = Vec::with_capacity(events.len());
        for ((event, log), topic) in events.iter_mut().zip(&logs).zip(&topics) {
            log_offsets.push(take(log)?);
            event.offset = take(topic)?;
        }
        Ok(log_offsets)
    }

    /// Inserts numbered events (`event_ws` and `log_offsets` one per event).
    pub(crate) async fn insert_events(
        tx: &mut Transaction<'static, D>,
        events: &[Event],
        event_ws: &[WorkspaceId],
        log_offsets: &[i64],
    ) -> Result<(), StoreError> {
        let sql = format!(
            "insert into event (event_id, workspace_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload, workspace_offset)
             values {}",
            Params::new(D::KIND).rows(events.len(), 10)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((event, ws), log) in events.iter().zip(event_ws).zip(log_offsets) {
            query = query
                .bind(event.id.as_uuid())
                .bind(ws.as_uuid())
                .bind(event.topic.to_string())
                .bind(event.offset)
                .bind(event.kind().as_str())
                .bind(event.schema_version as i32)
                .bind(event.occurred_at)
                .bind(&event.trace_id)
                .bind(Json(event.body.payload()))
                .bind(*log);
        }
        query.execute(&mut **tx).await.map_err(map_err)?;
        let ids: Vec<Uuid> = events.iter().map(|e| e.id.as_uuid()).collect();
        Self::enqueue_deliveries(tx, &ids).await
    }
}

#[async_trait]
impl<D: Backend> EventLog for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn events_since(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            workspace_offset: i64,
            #[sqlx(flatten)]
            event: rows::EventRow,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "select workspace_offset, event_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload
             from event where workspace_id = $1 and workspace_offset > $2 and (topic not like 'user:%' or topic = $3)
             order by workspace_offset limit $4",
        )
        .bind(workspace_id.as_uuid())
        .bind(after)
        .bind(Topic::User(user_id).to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(|r| Ok((r.workspace_offset, r.event.try_into()?))).collect()
    }

    async fn events_after(&self, topic: Topic, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<rows::EventRow> = sqlx::query_as(
            "select event_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload
             from event where topic = $1 and topic_offset > $2 order by topic_offset limit $3",
        )
        .bind(topic.to_string())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn topic_position(&self, topic: Topic) -> Result<i64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("select last_offset from topic_offset where topic = $1")
            .bind(topic.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(last.unwrap_or(0))
    }

    async fn log_epoch(&self) -> Result<String, StoreError> {
        // The first caller's value wins, even when two nodes start at once.
        let fresh = hex::encode(rand::random::<[u8; 8]>());
        sqlx::query(
            "insert into instance_meta (key, value) values ('log_epoch', $1) on conflict (key) do nothing",
        )
        .bind(&fresh)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        sqlx::query_scalar("select value from instance_meta where key = 'log_epoch'")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }
}
