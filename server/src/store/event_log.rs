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
use super::batch::Batch;
use super::map_err;
use super::rows;

/// The webhook deliveries of the events in `{events}` (the `event` table, or the rows a statement
/// just appended): one per active endpoint of the event's workspace that names its type.
/// Personal `user:{id}` copies are not delivered (the conversation's own event is), nor a bot
/// session's own stream (`session:{id}`: its start and end are delivered from the inbox).
const DELIVERIES_OF: &str =
    "insert into webhook_delivery (endpoint_id, event_id, workspace_id, event_type, status,
                                  attempts, next_attempt_at, created_at)
    select w.endpoint_id, e.event_id, e.workspace_id, e.type, 'pending', 0, e.occurred_at, e.occurred_at
    from {events} e join webhook_endpoint w on w.workspace_id = e.workspace_id
    where w.active = true and e.topic not like 'user:%' and e.topic not like 'session:%'
      and (w.events = '*' or w.events like '%,' || e.type || ',%')";

/// How far each counter moves for these events (`logs` and `topics` one per event), in the
/// order every writer takes them: the workspace logs first, then the topics, each sorted, so
/// writers never deadlock on the counters.
fn tally<'a>(logs: &'a [String], topics: &'a [String]) -> std::collections::BTreeMap<(bool, &'a str), i64> {
    let mut counts = std::collections::BTreeMap::new();
    for key in logs {
        *counts.entry((false, key.as_str())).or_default() += 1;
    }
    for topic in topics {
        *counts.entry((true, topic.as_str())).or_default() += 1;
    }
    counts
}

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
    /// Appends one event to `topic` with the topic's next offset, inside `tx` (see
    /// [`Self::append_events`]).
    pub(crate) async fn append_event(
        tx: &mut Transaction<'static, D>,
        workspace_id: WorkspaceId,
        topic: Topic,
        body: EventBody,
        trace_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Event, StoreError> {
        let mut events = [Event::new(topic, body, trace_id, at)];
        Self::append_events(tx, &mut events, &[workspace_id]).await?;
        let [event] = events;
        Ok(event)
    }

    /// Numbers `events` (in order) and appends them to the log with their webhook deliveries
    /// ([`DELIVERIES_OF`]; `event_ws` one per event), inside `tx`: a committed event always has
    /// its offsets and its deliveries. See [`Self::append_events_after`].
    pub(crate) async fn append_events(
        tx: &mut Transaction<'static, D>,
        events: &mut [Event],
        event_ws: &[WorkspaceId],
    ) -> Result<(), StoreError> {
        Self::append_events_after(tx, &mut Batch::default(), events, event_ws).await
    }

    /// [`Self::append_events`] after the statements `batch` holds, sent with them on SQLite.
    ///
    /// Each counter (the topic's, and the workspace log's `log:{workspace}`) moves once, by its
    /// count of the events, and the events take the numbers up to its new value: an event's
    /// offset is the counter's new value less the events after it in the group on that counter.
    /// On PostgreSQL that is one statement (data-modifying `with`), so the counters' row locks
    /// — the workspace log's above all, which every write in the workspace takes — are held for
    /// one statement and the commit. SQLite (one writer, no data-modifying `with`) runs the
    /// counters' upsert, the insert numbered from the counters' rows and the deliveries as one
    /// string, a single hand-off with whatever the batch held.
    pub(crate) async fn append_events_after(
        tx: &mut Transaction<'static, D>,
        batch: &mut Batch<D>,
        events: &mut [Event],
        event_ws: &[WorkspaceId],
    ) -> Result<(), StoreError> {
        use std::collections::HashMap;
        if events.is_empty() {
            return batch.flush(tx).await;
        }
        let logs: Vec<String> = event_ws.iter().map(|ws| format!("log:{ws}")).collect();
        let topics: Vec<String> = events.iter().map(|e| e.topic.to_string()).collect();
        let counts = tally(&logs, &topics);
        let mut later: HashMap<&str, i64> = HashMap::with_capacity(counts.len());
        let mut backs = vec![(0_i64, 0_i64); events.len()];
        for i in (0..events.len()).rev() {
            let topic = later.entry(topics[i].as_str()).or_default();
            backs[i].0 = *topic;
            *topic += 1;
            let log = later.entry(logs[i].as_str()).or_default();
            backs[i].1 = *log;
            *log += 1;
        }
        let mut p = Params::new(D::KIND);
        let upsert = format!(
            "insert into topic_offset (topic, last_offset) values {}
             on conflict (topic) do update set last_offset = topic_offset.last_offset + excluded.last_offset",
            p.rows(counts.len(), 2)
        );
        let incoming = format!(
            "incoming (event_id, workspace_id, topic, log, topic_back, log_back, type, schema_version,
                       occurred_at, trace_id, payload) as (values {})",
            p.rows(events.len(), 11)
        );
        let append = |counters: &str, returning: &str| {
            format!(
                "insert into event (event_id, workspace_id, topic, topic_offset, type, schema_version, occurred_at,
                                    trace_id, payload, workspace_offset)
                 select i.event_id, i.workspace_id, i.topic, t.last_offset - i.topic_back, i.type, i.schema_version,
                        i.occurred_at, i.trace_id, i.payload, l.last_offset - i.log_back
                 from incoming i join {counters} t on t.topic = i.topic join {counters} l on l.topic = i.log
                 returning {returning}"
            )
        };
        if D::KIND == switchboard::store::Backend::Sqlite {
            batch.statement(&upsert);
            batch.statement(&format!("with {incoming} {}", append("topic_offset", "event_id, topic_offset")));
        } else {
            batch.statement(&format!(
                "with counters as ({upsert} returning topic, last_offset), {incoming},
                 appended as ({}), delivered as ({})
                 select event_id, topic_offset from appended",
                append("counters", "event_id, workspace_id, topic, type, occurred_at, topic_offset"),
                DELIVERIES_OF.replace("{events}", "appended"),
            ));
        }
        for ((_, key), count) in &counts {
            batch.bind(*key).bind(*count);
        }
        for (i, event) in events.iter().enumerate() {
            batch
                .bind(event.id.as_uuid())
                .bind(event_ws[i].as_uuid())
                .bind(topics[i].as_str())
                .bind(logs[i].as_str())
                .bind(backs[i].0)
                .bind(backs[i].1)
                .bind(event.kind().as_str())
                .bind(event.schema_version as i32)
                .bind(event.occurred_at)
                .bind(event.trace_id.as_deref())
                .bind(Json(event.body.payload()));
        }
        if D::KIND == switchboard::store::Backend::Sqlite {
            let ids = Params::new(D::KIND).list(events.len());
            batch.statement(&format!(
                "{} and e.event_id in ({ids})",
                DELIVERIES_OF.replace("{events}", "event")
            ));
            for event in events.iter() {
                batch.bind(event.id.as_uuid());
            }
        }
        let offsets: HashMap<Uuid, i64> = batch.read::<(Uuid, i64)>(tx).await?.into_iter().collect();
        for event in events.iter_mut() {
            event.offset = *offsets
                .get(&event.id.as_uuid())
                .ok_or_else(|| StoreError::Internal(format!("event {} was not appended", event.id)))?;
        }
        Ok(())
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
