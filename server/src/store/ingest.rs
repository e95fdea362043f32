//! Inbound ingest: a message from a network, recorded once by `(channel_id, external_id)`,
//! with its contact and conversation found or created in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::provider::{Direction, ProviderMessage};
use switchboard::store::{InboundRepo, Ingested, NewInbound, StoreError};
use switchboard::{ChannelId, Conversation, EventBody, Topic};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::map_err;

#[async_trait]
impl<D: Backend> InboundRepo for SqlStore<D>
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
    Option<i64>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn has_inbound(&self, channel_id: ChannelId, external_id: &str) -> Result<bool, StoreError> {
        let found: Option<(i32,)> =
            sqlx::query_as("select 1 from message where channel_id = $1 and external_id = $2")
                .bind(channel_id.as_uuid())
                .bind(external_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(found.is_some())
    }

    async fn import_history(&self, history: switchboard::store::NewHistory) -> Result<usize, StoreError> {
        self.record_history(history).await
    }

    async fn ingest_inbound(&self, inbound: NewInbound) -> Result<Option<Ingested>, StoreError> {
        let at = switchboard::time::now();
        let ws = inbound.workspace_id;
        let mut tx = self.begin_write().await?;

        // Only the contact's own message names them: what the account wrote from the phone
        // carries no name of theirs.
        let named = inbound.message.direction == Direction::Inbound;
        let (conversation, created_conversation) = Self::chat_in(
            &mut tx,
            ws,
            inbound.channel_id,
            &inbound.contact,
            &inbound.message.contact_id,
            named,
            at,
        )
        .await?;

        let outbound = inbound.message.direction == Direction::Outbound;
        if outbound && Self::claim_echo(&mut tx, &conversation, &inbound.message).await? {
            // Our own send, reported by the network before its answer reached the outbox.
            tx.commit().await.map_err(map_err)?;
            return Ok(None);
        }
        let message_id = switchboard::MessageId::new();
        let (direction, status) = if outbound { ("outbound", "sent") } else { ("inbound", "delivered") };
        let inserted = sqlx::query(
            "insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text, external_id, created_at, updated_at, attachments, reply_to_message_id, sender_name)
             values ($1, $2, $3, $4, $11, $12, $5, $6, $7, $7, $8,
                     (select q.message_id from message q where q.channel_id = $4 and q.external_id = $9 and q.conversation_id = $3), $10)
             on conflict (channel_id, external_id) do nothing",
        )
        .bind(message_id.as_uuid())
        .bind(ws.as_uuid())
        .bind(conversation.id.as_uuid())
        .bind(inbound.channel_id.as_uuid())
        .bind(&inbound.message.text)
        .bind(&inbound.message.external_id)
        .bind(at)
        .bind(super::media::attachments_json(&inbound.attachments))
        .bind(inbound.message.reply_to.as_deref())
        .bind(inbound.message.sender_name.as_deref())
        .bind(direction)
        .bind(status)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if inserted == 1 && !inbound.attachments.is_empty() {
            let rows: Vec<_> = inbound
                .attachments
                .iter()
                .zip(&inbound.blob_keys)
                .map(|(a, (blob, thumb))| (a.clone(), blob.clone(), thumb.clone()))
                .collect();
            Self::insert_attachments(&mut tx, ws, Some(message_id), None, &rows, at).await?;
        }
        if inserted == 0 {
            // Already recorded. A redelivery whose text changed is an edit on the network:
            // the stored message takes the new text once, with `message.updated`. A replay
            // of the same text changes nothing. The condition sits in the update itself,
            // so two concurrent redeliveries of one edit update (and announce) it once.
            let edited: Option<(Uuid,)> = sqlx::query_as(
                "update message set text = $3, edited_at = $4, updated_at = $4
                 where channel_id = $1 and external_id = $2 and conversation_id = $5
                   and direction = 'inbound' and deleted_at is null and text <> $3
                 returning message_id",
            )
            .bind(inbound.channel_id.as_uuid())
            .bind(&inbound.message.external_id)
            .bind(&inbound.message.text)
            .bind(at)
            .bind(conversation.id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            let Some((id,)) = edited else {
                tx.rollback().await.map_err(map_err)?;
                return Ok(None);
            };
            let message = Self::message_in(&mut tx, id.into()).await?;
            let event = Self::updated_event(&mut tx, &message, inbound.trace_id.as_deref(), at).await?;
            tx.commit().await.map_err(map_err)?;
            self.listener.committed(std::slice::from_ref(&event));
            return Ok(Some(Ingested { message, conversation, created: false, events: vec![event] }));
        }
        let message = Self::message_in(&mut tx, message_id).await?;
        // What the account's owner wrote elsewhere (the phone) neither reopens the conversation
        // nor opens a reply window.
        let inbound_at = (!outbound).then_some(inbound.message.sent_at);
        let conversation = Self::touch_conversation(&mut tx, &conversation, &message, inbound_at, at).await?;
        Self::record_new_message(&mut tx, &message, conversation.contact_id.is_none(), at).await?;

        let trace = inbound.trace_id.as_deref();
        let mut events = Vec::new();
        if created_conversation {
            let body = EventBody::ConversationCreated(conversation.clone());
            events.push(Self::append_event(&mut tx, ws, Topic::Inbox(ws), body, trace, at).await?);
        }
        events.extend(Self::message_events(&mut tx, &conversation, &message, trace, at).await?);
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(Some(Ingested { message, conversation, created: true, events }))
    }
}

impl<D: Backend> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    DateTime<Utc>: Column<D>,
{
    /// A message the account sent from elsewhere that is really one of ours: the network told
    /// us of our send (`from_me`) before the send's own answer reached the outbox. The oldest
    /// send of this text in the conversation still waiting for its network id takes the id,
    /// so the outbox's answer finds it already there and no copy appears. True when claimed.
    async fn claim_echo(
        tx: &mut sqlx::Transaction<'static, D>,
        conversation: &Conversation,
        message: &ProviderMessage,
    ) -> Result<bool, StoreError> {
        let claimed: Option<(Uuid,)> = sqlx::query_as(
            "update message set external_id = $3
             where message_id = (
                 select message_id from message
                 where conversation_id = $1 and direction = 'outbound' and status = 'pending'
                   and external_id is null and deleted_at is null and sender_user_id is not null
                   and text = $2
                 order by message_id limit 1)
               and not exists (select 1 from message where channel_id = $4 and external_id = $3)
             returning message_id",
        )
        .bind(conversation.id.as_uuid())
        .bind(message.text.as_str())
        .bind(message.external_id.as_str())
        .bind(conversation.channel_id.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_err)?;
        if let Some((id,)) = &claimed {
            tracing::info!(conversation_id = %conversation.id, message_id = %id, "a send's echo arrived before its answer");
        }
        Ok(claimed.is_some())
    }
}
