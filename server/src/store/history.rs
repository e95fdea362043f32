//! History import: a linked phone's recent chats recorded as the past, not as news. Messages are
//! ordered by when they were sent (their ids carry that time), count as read for everyone, and
//! announce nothing but the chat itself.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::event::{ConversationChange, ConversationUpdated};
use switchboard::provider::Direction;
use switchboard::store::{NewHistory, StoreError};
use switchboard::{Conversation, EventBody, MessageId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::map_err;
use super::rows::{self, conversation_columns};

/// A message id that sorts at `at`: history takes its place among the messages by the time it
/// was sent, not by when it was imported.
fn id_at(at: DateTime<Utc>) -> MessageId {
    let secs = at.timestamp().max(0) as u64;
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, at.timestamp_subsec_nanos());
    Uuid::new_v7(ts).into()
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
    Option<i64>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    pub(super) async fn record_history(&self, history: NewHistory) -> Result<usize, StoreError> {
        let at = switchboard::time::now();
        let ws = history.workspace_id;
        let chat = &history.contact.external_id;
        let mut tx = self.begin_write().await?;
        let (conversation, created) =
            Self::chat_in(&mut tx, ws, history.channel_id, &history.contact, chat, true, at).await?;

        // Oldest first, so a reply finds the message it quotes when both are imported.
        let mut messages = history.messages;
        messages.sort_by_key(|(m, _)| m.sent_at);
        let mut added = 0;
        let mut newest: Option<(MessageId, DateTime<Utc>, String)> = None;
        let mut newest_inbound: Option<DateTime<Utc>> = None;
        for (message, attachments) in &messages {
            let id = id_at(message.sent_at);
            let (direction, status) = match message.direction {
                Direction::Inbound => ("inbound", "delivered"),
                Direction::Outbound => ("outbound", "sent"),
            };
            let inserted = sqlx::query(
                "insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text, external_id, created_at, updated_at, attachments, reply_to_message_id, sender_name)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                         (select q.message_id from message q where q.channel_id = $4 and q.external_id = $12 and q.conversation_id = $3), $13)
                 on conflict (channel_id, external_id) do nothing",
            )
            .bind(id.as_uuid())
            .bind(ws.as_uuid())
            .bind(conversation.id.as_uuid())
            .bind(history.channel_id.as_uuid())
            .bind(direction)
            .bind(status)
            .bind(&message.text)
            .bind(&message.external_id)
            .bind(message.sent_at)
            .bind(at)
            .bind(super::media::attachments_json(attachments))
            .bind(message.reply_to.as_deref())
            .bind(message.sender_name.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
            if inserted != 1 {
                continue;
            }
            added += 1;
            if !attachments.is_empty() {
                let rows: Vec<_> = attachments.iter().map(|a| (a.clone(), None, None)).collect();
                Self::insert_attachments(&mut tx, ws, Some(id), None, &rows, at).await?;
            }
            let preview = match (message.text.is_empty(), attachments.first()) {
                (true, Some(first)) => switchboard::message::preview(&first.label()),
                _ => switchboard::message::preview(&message.text),
            };
            if newest.as_ref().is_none_or(|(_, when, _)| *when <= message.sent_at) {
                newest = Some((id, message.sent_at, preview));
            }
            if message.direction == Direction::Inbound {
                newest_inbound = Some(message.sent_at);
            }
        }
        let Some((newest_id, newest_at, preview)) = newest else {
            // Everything was recorded already: a repeated import changes nothing.
            tx.commit().await.map_err(map_err)?;
            return Ok(0);
        };
        // Read for everyone up to the newest imported message; the list shows the chat by its
        // latest message, unless a newer one is already there.
        let row: rows::ConversationRow = sqlx::query_as(concat!(
            "update conversation set
                history_floor_message_id = case when history_floor_message_id is null or history_floor_message_id < $2
                                                then $2 else history_floor_message_id end,
                last_message_preview = case when last_message_at is null or last_message_at < $3
                                            then $4 else last_message_preview end,
                last_message_sender_user_id = case when last_message_at is null or last_message_at < $3
                                                   then null else last_message_sender_user_id end,
                last_message_at = case when last_message_at is null or last_message_at < $3
                                       then $3 else last_message_at end,
                last_inbound_at = case when $5 and (last_inbound_at is null or last_inbound_at < $7)
                                       then $7 else last_inbound_at end,
                updated_at = $6
             where conversation_id = $1 returning ",
            conversation_columns!()
        ))
        .bind(conversation.id.as_uuid())
        .bind(newest_id.as_uuid())
        .bind(newest_at)
        .bind(preview)
        .bind(newest_inbound.is_some())
        .bind(at)
        .bind(newest_inbound.unwrap_or(at))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        let conversation: Conversation = row.into();
        let list = switchboard::access::list_topic(&conversation);
        let body = if created {
            EventBody::ConversationCreated(conversation.clone())
        } else {
            EventBody::ConversationUpdated(ConversationUpdated {
                conversation_id: conversation.id,
                change: ConversationChange::Status {
                    last_message_at: conversation.last_message_at,
                    last_message_preview: conversation.last_message_preview.clone(),
                    status: conversation.status,
                    snoozed_until: conversation.snoozed_until,
                },
            })
        };
        let event = Self::append_event(&mut tx, ws, list, body, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        tracing::info!(channel_id = %history.channel_id, conversation_id = %conversation.id, added, "history imported");
        Ok(added)
    }

    /// The contact (named `contact.name` when new, or when `rename` and the team has not named
    /// them) and the conversation of chat `chat` on a channel, each found or created in `tx`
    /// (a new one belongs to the contact this one was merged into, if so); true when the
    /// conversation is new.
    pub(super) async fn chat_in(
        tx: &mut sqlx::Transaction<'static, D>,
        ws: switchboard::WorkspaceId,
        channel_id: switchboard::ChannelId,
        contact: &switchboard::provider::Contact,
        chat: &str,
        rename: bool,
        at: DateTime<Utc>,
    ) -> Result<(Conversation, bool), StoreError> {
        let (contact_id,): (Uuid,) = sqlx::query_as(
            "insert into contact (contact_id, workspace_id, channel_id, external_id, name, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $6)
             on conflict (channel_id, external_id) do update
               set name = case when $7 and not contact.name_edited then excluded.name else contact.name end,
                   updated_at = excluded.updated_at
             returning coalesce(merged_into, contact_id)",
        )
        .bind(switchboard::ContactId::new().as_uuid())
        .bind(ws.as_uuid())
        .bind(channel_id.as_uuid())
        .bind(&contact.external_id)
        .bind(&contact.name)
        .bind(at)
        .bind(rename)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        let created = sqlx::query(
            "insert into conversation (conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)
             on conflict (channel_id, external_chat_id) do nothing",
        )
        .bind(switchboard::ConversationId::new().as_uuid())
        .bind(ws.as_uuid())
        .bind(channel_id.as_uuid())
        .bind(contact_id)
        .bind(chat)
        .bind(&contact.name)
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        let row: rows::ConversationRow = sqlx::query_as(concat!(
            "select ",
            conversation_columns!(),
            " from conversation where channel_id = $1 and external_chat_id = $2"
        ))
        .bind(channel_id.as_uuid())
        .bind(chat)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok((row.into(), created))
    }
}
