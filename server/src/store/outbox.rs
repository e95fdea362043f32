//! The outbox: rows written with each network send, claimed by workers (PostgreSQL skips rows
//! another node holds; SQLite has one writer, so its claimer is single by construction),
//! settled per attempt, paused by a network's rate limit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::event::StatusChanged;
use switchboard::store::{OutboxBacklog, OutboxJob, OutboxRepo, StoreError};
use switchboard::{
    ChannelId, ConversationId, Event, EventBody, Message, MessageId, MessageStatus, Topic, WorkspaceId,
};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::map_err;
use super::rows::{self, message_columns};

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
    bool: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    /// A message's status change as an event on its conversation's topic.
    pub(crate) async fn status_event(
        tx: &mut Transaction<'static, D>,
        message: &Message,
        at: DateTime<Utc>,
    ) -> Result<Event, StoreError> {
        let body = EventBody::MessageStatus(StatusChanged {
            message_id: message.id,
            conversation_id: message.conversation_id,
            status: message.status,
            external_id: message.external_id.clone(),
            error: message.error.clone(),
        });
        let topic = Topic::Conversation(message.conversation_id);
        Self::append_event(tx, message.workspace_id, topic, body, None, at).await
    }

    /// Fails an outbox row and its message with `error`; answers the status event.
    pub(crate) async fn fail_row(
        tx: &mut Transaction<'static, D>,
        outbox_id: Uuid,
        message_id: MessageId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<Event, StoreError> {
        sqlx::query("update outbox set status = 'failed', last_error = $2, lease_until = null, updated_at = $3 where outbox_id = $1")
            .bind(outbox_id)
            .bind(error)
            .bind(at)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        let message =
            Self::set_message_status(tx, message_id, MessageStatus::Failed, None, Some(error), at).await?;
        Self::status_event(tx, &message, at).await
    }

    pub(crate) async fn set_message_status(
        tx: &mut Transaction<'static, D>,
        id: MessageId,
        status: MessageStatus,
        external_id: Option<&str>,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Message, StoreError> {
        let row: rows::MessageRow = sqlx::query_as(concat!(
            "update message set status = $2, external_id = coalesce($3, external_id), error = $4, updated_at = $5
             where message_id = $1 returning ",
            message_columns!()
        ))
        .bind(id.as_uuid())
        .bind(status.as_str())
        .bind(external_id)
        .bind(error)
        .bind(at)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        row.try_into()
    }
}

#[async_trait]
impl<D: Backend> OutboxRepo for SqlStore<D>
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
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        let mut tx = self.begin_write().await?;
        // The poison-pill rule: a row still `sending` after its lease with no attempts
        // left was being sent when the process died, every time. It fails with the
        // reason instead of being handed out (and killing the next process) again.
        let poisoned: Vec<(Uuid, Uuid)> = sqlx::query_as(sqlx::AssertSqlSafe(
            [
                "select o.outbox_id, o.message_id from outbox o
             where o.status = 'sending' and o.lease_until < $1 and o.attempts >= o.max_attempts
             order by o.outbox_id limit $2",
                D::CLAIM_LOCK,
            ]
            .concat(),
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut failed = Vec::with_capacity(poisoned.len());
        for (outbox_id, message_id) in poisoned {
            const WHY: &str = "sending was interrupted on every attempt; retry to try again";
            failed.push(Self::fail_row(&mut tx, outbox_id, message_id.into(), WHY, now).await?);
        }
        let due: Vec<(Uuid,)> = sqlx::query_as(sqlx::AssertSqlSafe([
            "select o.outbox_id from outbox o join message m on m.message_id = o.message_id
               join channel c on c.channel_id = o.channel_id
               join conversation cv on cv.conversation_id = m.conversation_id
             where ((o.status = 'queued' and o.next_attempt_at <= $1) or (o.status = 'sending' and o.lease_until < $1))
               -- A rate limit pauses the whole channel, or one conversation, until it passes.
               and (c.outbox_paused_until is null or c.outbox_paused_until <= $1)
               and (cv.outbox_paused_until is null or cv.outbox_paused_until <= $1)
               -- Order per conversation: an earlier message still on its way holds the later ones.
               and not exists (
                   select 1 from outbox o2 join message m2 on m2.message_id = o2.message_id
                   where m2.conversation_id = m.conversation_id and o2.message_id < o.message_id
                     and o2.status in ('queued', 'sending', 'paused'))
             order by o.priority desc, o.next_attempt_at, o.outbox_id limit $2",
            D::CLAIM_LOCK,
        ]
        .concat()))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut jobs = Vec::with_capacity(due.len());
        for (outbox_id,) in due {
            let (workspace_id, channel_id, message_id, attempts, max_attempts): (Uuid, Uuid, Uuid, i32, i32) =
                sqlx::query_as(
                    "update outbox set status = 'sending', attempts = attempts + 1, lease_until = $2, updated_at = $3
                     where outbox_id = $1
                     returning workspace_id, channel_id, message_id, attempts, max_attempts",
                )
                .bind(outbox_id)
                .bind(lease_until)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
            let message = Self::message_in(&mut tx, message_id.into()).await?;
            let (to,): (String,) =
                sqlx::query_as("select external_chat_id from conversation where conversation_id = $1")
                    .bind(message.conversation_id.as_uuid())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
            jobs.push(OutboxJob {
                outbox_id,
                workspace_id: workspace_id.into(),
                channel_id: channel_id.into(),
                message,
                to,
                attempt: attempts.max(0) as u32,
                max_attempts: max_attempts.max(1) as u32,
            });
        }
        tx.commit().await.map_err(map_err)?;
        if !failed.is_empty() {
            tracing::warn!(rows = failed.len(), "outbox rows failed by the poison-pill rule");
            self.listener.committed(&failed);
        }
        Ok(jobs)
    }

    async fn outbox_sent(&self, job: &OutboxJob, external_id: &str) -> Result<(), StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        sqlx::query("update outbox set status = 'sent', last_error = null, lease_until = null, updated_at = $2 where outbox_id = $1")
            .bind(job.outbox_id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // A receipt may have raced ahead of us; never move a message backwards.
        let current = Self::message_in(&mut tx, job.message.id).await?;
        let mut status = if current.status.advances_to(MessageStatus::Sent) {
            MessageStatus::Sent
        } else {
            current.status
        };
        // Or raced ahead of the network's answer itself: kept until now, applied here.
        let mut error = None;
        let early: Option<(String, Option<String>)> = sqlx::query_as(
            "delete from early_receipt where channel_id = $1 and external_id = $2 returning status, error",
        )
        .bind(job.channel_id.as_uuid())
        .bind(external_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some((early, why)) = early {
            let early: MessageStatus = early.parse().map_err(StoreError::Internal)?;
            if receipt_applies(status, early) {
                status = early;
                error = why.filter(|_| early == MessageStatus::Failed);
            }
        }
        // The network told us of this very send as one the account wrote elsewhere, and it was
        // recorded as such (its text differed from ours, so it could not be matched): that copy
        // gives the id back and is deleted, so the message shows once.
        let mut events = Vec::new();
        let echo: Option<(Uuid,)> = sqlx::query_as(
            "update message set external_id = null, text = '', attachments = null, deleted_at = $3, updated_at = $3
             where channel_id = $1 and external_id = $2 and message_id <> $4
               and direction = 'outbound' and sender_user_id is null
             returning message_id",
        )
        .bind(job.channel_id.as_uuid())
        .bind(external_id)
        .bind(at)
        .bind(job.message.id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some((echo,)) = echo {
            let copy = Self::message_in(&mut tx, echo.into()).await?;
            let body = EventBody::MessageDeleted(switchboard::event::MessageDeleted {
                message_id: copy.id,
                conversation_id: copy.conversation_id,
                deleted_at: copy.deleted_at,
            });
            let topic = switchboard::Topic::Conversation(copy.conversation_id);
            events.push(Self::append_event(&mut tx, copy.workspace_id, topic, body, None, at).await?);
        }
        let message = Self::set_message_status(
            &mut tx,
            job.message.id,
            status,
            Some(external_id),
            error.as_deref(),
            at,
        )
        .await?;
        events.push(Self::status_event(&mut tx, &message, at).await?);
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        // A receipt stored between our look above and our commit (PostgreSQL runs the two
        // writes at once): it could not see the message, and we could not see it. Take it now.
        self.take_early_receipt(job.channel_id, external_id).await
    }

    async fn outbox_retry(
        &self,
        job: &OutboxJob,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        count_attempt: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update outbox set status = 'queued', last_error = $2, next_attempt_at = $3, lease_until = null,
                    attempts = case when $4 then attempts else attempts - 1 end, updated_at = $5
             where outbox_id = $1",
        )
        .bind(job.outbox_id)
        .bind(error)
        .bind(next_attempt_at)
        .bind(count_attempt)
        .bind(switchboard::time::now())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn outbox_failed(&self, job: &OutboxJob, error: &str) -> Result<(), StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let event = Self::fail_row(&mut tx, job.outbox_id, job.message.id, error, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(())
    }

    async fn pause_outbox(
        &self,
        channel_id: ChannelId,
        conversation_id: Option<ConversationId>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let query = match conversation_id {
            None => sqlx::query("update channel set outbox_paused_until = $2 where channel_id = $1")
                .bind(channel_id.as_uuid()),
            Some(conversation_id) => {
                sqlx::query("update conversation set outbox_paused_until = $2 where conversation_id = $1")
                    .bind(conversation_id.as_uuid())
            }
        };
        query.bind(until).execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    async fn outbox_backlog(&self, now: DateTime<Utc>) -> Result<Vec<OutboxBacklog>, StoreError> {
        let rows: Vec<(Uuid, Uuid, i64, DateTime<Utc>)> = sqlx::query_as(
            "select workspace_id, channel_id, count(*), min(created_at) from outbox
             where status in ('queued', 'sending', 'paused')
             group by workspace_id, channel_id order by workspace_id, channel_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(workspace_id, channel_id, depth, oldest)| OutboxBacklog {
                workspace_id: workspace_id.into(),
                channel_id: channel_id.into(),
                depth: depth.max(0) as u64,
                oldest_age: (now - oldest).to_std().unwrap_or_default(),
            })
            .collect())
    }

    async fn retry_message(&self, workspace_id: WorkspaceId, id: MessageId) -> Result<Message, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let found: Option<(String, String)> = sqlx::query_as(
            "select status, direction from message where workspace_id = $1 and message_id = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        match found {
            None => return Err(StoreError::NotFound),
            Some((status, direction)) if status != "failed" || direction != "outbound" => {
                return Err(StoreError::Conflict { constraint: "message_not_failed".into() });
            }
            Some(_) => {}
        }
        sqlx::query(
            "update outbox set status = 'queued', attempts = 0, next_attempt_at = $2, last_error = null, lease_until = null, updated_at = $2
             where message_id = $1",
        )
        .bind(id.as_uuid())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let message = Self::set_message_status(&mut tx, id, MessageStatus::Pending, None, None, at).await?;
        let event = Self::status_event(&mut tx, &message, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(message)
    }

    async fn apply_delivery(
        &self,
        channel_id: ChannelId,
        external_id: &str,
        status: MessageStatus,
        error: Option<&str>,
    ) -> Result<Option<Message>, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let found: Option<(Uuid,)> =
            sqlx::query_as("select message_id from message where channel_id = $1 and external_id = $2")
                .bind(channel_id.as_uuid())
                .bind(external_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let Some((id,)) = found else {
            self.keep_early_receipt(tx, channel_id, external_id, status, error, at).await?;
            // The send's answer may have been recorded meanwhile, having looked for this
            // receipt before it was there (PostgreSQL): then it is ours to apply.
            self.take_early_receipt(channel_id, external_id).await?;
            return Ok(None);
        };
        let current = Self::message_in(&mut tx, id.into()).await?;
        if current.direction != switchboard::provider::Direction::Outbound
            || !receipt_applies(current.status, status)
        {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        }
        let error = error
            .filter(|_| status == MessageStatus::Failed)
            .map(|e| e.chars().take(500).collect::<String>());
        let message =
            Self::set_message_status(&mut tx, current.id, status, None, error.as_deref(), at).await?;
        let event = Self::status_event(&mut tx, &message, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(Some(message))
    }

    async fn claim_network_read(
        &self,
        conversation_id: ConversationId,
        up_to: MessageId,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let newest: Option<(Uuid, String)> = sqlx::query_as(
            "select message_id, external_id from message
             where conversation_id = $1 and message_id <= $2 and direction = 'inbound'
               and external_id is not null and deleted_at is null
             order by message_id desc limit 1",
        )
        .bind(conversation_id.as_uuid())
        .bind(up_to.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some((id, external_id)) = newest else {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        };
        let claimed = sqlx::query(
            "update conversation set network_read_message_id = $2
             where conversation_id = $1 and (network_read_message_id is null or network_read_message_id < $2)",
        )
        .bind(conversation_id.as_uuid())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        tx.commit().await.map_err(map_err)?;
        Ok(claimed.then_some(external_id))
    }
}

/// How long a receipt for a message not yet known is kept: far longer than any send's answer
/// takes; receipts for messages sent elsewhere (another app on the same number) go after it.
const EARLY_RECEIPT_TTL_SECS: u64 = 3600;

/// Whether a network's receipt moves a message in `current` to `next`: ticks only move forward
/// ([`MessageStatus::advances_to`]); the network failing a message counts until it is delivered.
fn receipt_applies(current: MessageStatus, next: MessageStatus) -> bool {
    match next {
        MessageStatus::Failed => matches!(current, MessageStatus::Pending | MessageStatus::Sent),
        MessageStatus::Pending => false,
        _ => current.advances_to(next),
    }
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
    bool: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    /// Applies the early receipt for `external_id` if its message is known by now (and no one
    /// else took it first).
    async fn take_early_receipt(&self, channel_id: ChannelId, external_id: &str) -> Result<(), StoreError> {
        let known: Option<(Uuid,)> =
            sqlx::query_as("select message_id from message where channel_id = $1 and external_id = $2")
                .bind(channel_id.as_uuid())
                .bind(external_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        if known.is_none() {
            return Ok(());
        }
        let taken: Option<(String, Option<String>)> = sqlx::query_as(
            "delete from early_receipt where channel_id = $1 and external_id = $2 returning status, error",
        )
        .bind(channel_id.as_uuid())
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if let Some((status, error)) = taken {
            let status: MessageStatus = status.parse().map_err(StoreError::Internal)?;
            self.apply_delivery(channel_id, external_id, status, error.as_deref()).await?;
        }
        Ok(())
    }

    /// Keeps a receipt whose message is not known yet (the most advanced one per id), and lets
    /// go of those older than [`EARLY_RECEIPT_TTL_SECS`].
    async fn keep_early_receipt(
        &self,
        mut tx: Transaction<'static, D>,
        channel_id: ChannelId,
        external_id: &str,
        status: MessageStatus,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let expired = at - chrono::Duration::seconds(EARLY_RECEIPT_TTL_SECS as i64);
        sqlx::query("delete from early_receipt where received_at < $1")
            .bind(expired)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let kept: Option<(String,)> =
            sqlx::query_as("select status from early_receipt where channel_id = $1 and external_id = $2")
                .bind(channel_id.as_uuid())
                .bind(external_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let replace = match kept {
            None => true,
            Some((kept,)) => receipt_applies(kept.parse().map_err(StoreError::Internal)?, status),
        };
        if replace {
            sqlx::query(
                "insert into early_receipt (channel_id, external_id, status, error, received_at) values ($1, $2, $3, $4, $5)
                 on conflict (channel_id, external_id) do update
                   set status = excluded.status, error = excluded.error, received_at = excluded.received_at",
            )
            .bind(channel_id.as_uuid())
            .bind(external_id)
            .bind(status.as_str())
            .bind(error)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}
