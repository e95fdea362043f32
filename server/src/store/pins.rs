//! Pinned messages (`PUT`/`DELETE /api/v1/messages/{id}/pin`, `GET …/conversations/{id}/pins`):
//! one row per pin, each change with its event on the conversation's topic.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::event::PinChanged;
use switchboard::message::{MessageRef, Pin};
use switchboard::store::{PinRepo, StoreError};
use switchboard::{ConversationId, EventBody, Message, MessageId, Topic, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::rows;
use super::{abort, map_err};

#[derive(sqlx::FromRow)]
struct PinRow {
    pinned_by: Option<Uuid>,
    pinned_at: DateTime<Utc>,
    #[sqlx(flatten)]
    message: rows::MessageRow,
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
    /// Takes a deleted message's pin away, with its `message.unpinned` (no one unpinned it).
    pub(crate) async fn unpin_deleted(
        tx: &mut Transaction<'static, D>,
        message: &Message,
        at: DateTime<Utc>,
    ) -> Result<Option<switchboard::Event>, StoreError> {
        let removed = sqlx::query("delete from pinned_message where message_id = $1")
            .bind(message.id.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        if removed.rows_affected() == 0 {
            return Ok(None);
        }
        let body = EventBody::MessageUnpinned(PinChanged {
            conversation_id: message.conversation_id,
            message_id: message.id,
            user_id: None,
            at,
        });
        let topic = Topic::Conversation(message.conversation_id);
        Self::append_event(tx, message.workspace_id, topic, body, None, at).await.map(Some)
    }
}

#[async_trait]
impl<D: Backend> PinRepo for SqlStore<D>
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
    async fn pin(
        &self,
        workspace_id: WorkspaceId,
        message_id: MessageId,
        by: UserId,
        limit: usize,
    ) -> Result<bool, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let target = MessageRef::Id { workspace_id, id: message_id };
        let Some(message) = Self::message_by_ref(&mut tx, &target).await? else {
            return abort(tx, StoreError::NotFound).await;
        };
        if message.deleted_at.is_some() {
            return abort(tx, StoreError::Conflict { constraint: "message_deleted".into() }).await;
        }
        let pinned: i64 =
            sqlx::query_scalar("select count(*) from pinned_message where conversation_id = $1")
                .bind(message.conversation_id.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        let inserted = sqlx::query(
            "insert into pinned_message (conversation_id, message_id, workspace_id, pinned_by, pinned_at)
             values ($1, $2, $3, $4, $5) on conflict do nothing",
        )
        .bind(message.conversation_id.as_uuid())
        .bind(message.id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(by.as_uuid())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        if pinned as usize >= limit {
            return abort(tx, StoreError::Conflict { constraint: "pinned_message_limit".into() }).await;
        }
        let body = EventBody::MessagePinned(PinChanged {
            conversation_id: message.conversation_id,
            message_id,
            user_id: Some(by),
            at,
        });
        let topic = Topic::Conversation(message.conversation_id);
        let event = Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(true)
    }

    async fn unpin(
        &self,
        workspace_id: WorkspaceId,
        message_id: MessageId,
        by: UserId,
    ) -> Result<bool, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let target = MessageRef::Id { workspace_id, id: message_id };
        let Some(message) = Self::message_by_ref(&mut tx, &target).await? else {
            return abort(tx, StoreError::NotFound).await;
        };
        let removed = sqlx::query("delete from pinned_message where message_id = $1")
            .bind(message.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if removed.rows_affected() == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        let body = EventBody::MessageUnpinned(PinChanged {
            conversation_id: message.conversation_id,
            message_id,
            user_id: Some(by),
            at,
        });
        let topic = Topic::Conversation(message.conversation_id);
        let event = Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(true)
    }

    async fn pins(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
    ) -> Result<Vec<Pin>, StoreError> {
        // `m.*`: the row reads its columns by name (a message row, plus the pin's two).
        let rows: Vec<PinRow> = sqlx::query_as(
            "select p.pinned_by, p.pinned_at, m.* from pinned_message p join message m on m.message_id = p.message_id
              where p.workspace_id = $1 and p.conversation_id = $2
              order by p.pinned_at desc, p.message_id desc",
        )
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(Pin {
                    pinned_by: r.pinned_by.map(Into::into),
                    pinned_at: r.pinned_at,
                    message: r.message.try_into()?,
                })
            })
            .collect()
    }
}
