//! The messaging write path and reads, shared by both backends (see `sql.rs` for why one body
//! of SQL serves both). Every write is one transaction: the state change, its events with the
//! next offsets of their topics, and its outbox rows.

/// Columns of a message row, in `rows::MessageRow`'s order.
macro_rules! message_columns {
    () => {
        "message_id, workspace_id, conversation_id, channel_id, direction, status, text, external_id, \
         client_message_id, sender_user_id, error, created_at, edited_at, deleted_at, reply_to_message_id"
    };
}

/// Columns of a conversation row, in `rows::ConversationRow`'s order.
macro_rules! conversation_columns {
    () => {
        "conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, last_message_at, \
         last_message_preview, status, created_at"
    };
}

macro_rules! impl_messages {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Hands out the next offset of a counter (a topic, or a workspace's log), locking its
            /// row until the transaction ends.
            async fn next_offset(tx: &mut sqlx::Transaction<'static, $db>, key: &str) -> Result<i64, switchboard::StoreError> {
                let (offset,): (i64,) = sqlx::query_as(
                    "insert into topic_offset (topic, last_offset) values ($1, 1)
                     on conflict (topic) do update set last_offset = topic_offset.last_offset + 1
                     returning last_offset",
                )
                .bind(key)
                .fetch_one(&mut **tx)
                .await
                .map_err($crate::store::map_err)?;
                Ok(offset)
            }

            /// Appends one event to `topic` with the topic's next offset, inside `tx`.
            async fn append_event(
                tx: &mut sqlx::Transaction<'static, $db>,
                workspace_id: switchboard::WorkspaceId,
                topic: String,
                kind: &str,
                payload: serde_json::Value,
                trace_id: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Event, switchboard::StoreError> {
                // The workspace's log first, then the topic: every transaction takes these
                // counters in the same order, so writers never deadlock on them.
                let workspace_offset = Self::next_offset(tx, &format!("log:{workspace_id}")).await?;
                let offset = Self::next_offset(tx, &topic).await?;
                let event = switchboard::Event {
                    id: switchboard::EventId::new(),
                    kind: kind.to_owned(),
                    schema_version: switchboard::message::EVENT_SCHEMA_VERSION,
                    occurred_at: at,
                    trace_id: trace_id.map(str::to_owned),
                    topic,
                    offset,
                    payload,
                };
                sqlx::query(
                    "insert into event (event_id, workspace_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload, workspace_offset)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(event.id.as_uuid())
                .bind(workspace_id.as_uuid())
                .bind(&event.topic)
                .bind(event.offset)
                .bind(&event.kind)
                .bind(event.schema_version as i32)
                .bind(event.occurred_at)
                .bind(&event.trace_id)
                .bind(sqlx::types::Json(&event.payload))
                .bind(workspace_offset)
                .execute(&mut **tx)
                .await
                .map_err($crate::store::map_err)?;
                Ok(event)
            }

            async fn message_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: switchboard::MessageId,
            ) -> Result<switchboard::Message, switchboard::StoreError> {
                let row: $crate::store::rows::MessageRow =
                    sqlx::query_as(concat!("select ", message_columns!(), " from message where message_id = $1"))
                        .bind(id.as_uuid())
                        .fetch_one(&mut **tx)
                        .await
                        .map_err($crate::store::map_err)?;
                row.try_into()
            }

            /// The message a reference names, inside `tx`: `NotFound` for an unknown id of ours,
            /// `None` for an unknown network id (the network may talk about messages we never saw).
            async fn message_by_ref(
                tx: &mut sqlx::Transaction<'static, $db>,
                target: &switchboard::message::MessageRef,
            ) -> Result<Option<switchboard::Message>, switchboard::StoreError> {
                use switchboard::message::MessageRef;
                let row: Option<$crate::store::rows::MessageRow> = match target {
                    MessageRef::Id { workspace_id, id } => {
                        let row = sqlx::query_as(concat!(
                            "select ", message_columns!(), " from message where workspace_id = $1 and message_id = $2"
                        ))
                        .bind(workspace_id.as_uuid())
                        .bind(id.as_uuid())
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err($crate::store::map_err)?;
                        Some(row.ok_or(switchboard::StoreError::NotFound)?)
                    }
                    MessageRef::External { channel_id, external_id } => sqlx::query_as(concat!(
                        "select ", message_columns!(), " from message where channel_id = $1 and external_id = $2"
                    ))
                    .bind(channel_id.as_uuid())
                    .bind(external_id)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err($crate::store::map_err)?,
                };
                row.map(TryInto::try_into).transpose()
            }

            async fn message_by_client_id(
                &self,
                conversation_id: switchboard::ConversationId,
                client_message_id: &str,
            ) -> Result<Option<switchboard::Message>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::MessageRow> = sqlx::query_as(concat!(
                    "select ",
                    message_columns!(),
                    " from message where conversation_id = $1 and client_message_id = $2"
                ))
                .bind(conversation_id.as_uuid())
                .bind(client_message_id)
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }
        }

        #[async_trait::async_trait]
        impl switchboard::store::MessageRepo for $store {
            async fn ingest_inbound(
                &self,
                inbound: switchboard::store::NewInbound,
            ) -> Result<Option<switchboard::store::Ingested>, switchboard::StoreError> {
                use switchboard::message::inbox_topic;
                let at = switchboard::time::now();
                let ws = inbound.workspace_id;
                let mut tx = self.begin_write().await?;

                let (contact_id,): (uuid::Uuid,) = sqlx::query_as(
                    "insert into contact (contact_id, workspace_id, channel_id, external_id, name, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $6)
                     on conflict (channel_id, external_id) do update set name = excluded.name, updated_at = excluded.updated_at
                     returning contact_id",
                )
                .bind(switchboard::ContactId::new().as_uuid())
                .bind(ws.as_uuid())
                .bind(inbound.channel_id.as_uuid())
                .bind(&inbound.contact.external_id)
                .bind(&inbound.contact.name)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;

                let created_conversation = sqlx::query(
                    "insert into conversation (conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, created_at, updated_at)
                     values ($1, $2, $3, $4, $5, $6, $7, $7)
                     on conflict (channel_id, external_chat_id) do nothing",
                )
                .bind(switchboard::ConversationId::new().as_uuid())
                .bind(ws.as_uuid())
                .bind(inbound.channel_id.as_uuid())
                .bind(contact_id)
                .bind(&inbound.message.contact_id)
                .bind(&inbound.contact.name)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::map_err)?
                .rows_affected()
                    == 1;
                let conversation: $crate::store::rows::ConversationRow = sqlx::query_as(concat!(
                    "select ",
                    conversation_columns!(),
                    " from conversation where channel_id = $1 and external_chat_id = $2"
                ))
                .bind(inbound.channel_id.as_uuid())
                .bind(&inbound.message.contact_id)
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let conversation: switchboard::Conversation = conversation.into();

                let message_id = switchboard::MessageId::new();
                let inserted = sqlx::query(
                    "insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text, external_id, created_at, updated_at)
                     values ($1, $2, $3, $4, 'inbound', 'delivered', $5, $6, $7, $7)
                     on conflict (channel_id, external_id) do nothing",
                )
                .bind(message_id.as_uuid())
                .bind(ws.as_uuid())
                .bind(conversation.id.as_uuid())
                .bind(inbound.channel_id.as_uuid())
                .bind(&inbound.message.text)
                .bind(&inbound.message.external_id)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::map_err)?
                .rows_affected();
                if inserted == 0 {
                    // Already recorded: a replay changes nothing.
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(None);
                }
                let message = Self::message_in(&mut tx, message_id).await?;
                let conversation = Self::touch_conversation(&mut tx, &conversation, &message, true, at).await?;
                Self::write_flags(&mut tx, &message, None).await?;

                let trace = inbound.trace_id.as_deref();
                let mut events = Vec::new();
                if created_conversation {
                    let payload = serde_json::to_value(&conversation).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                    events.push(Self::append_event(&mut tx, ws, inbox_topic(ws), "conversation.created", payload, trace, at).await?);
                }
                events.extend(Self::message_events(&mut tx, &conversation, &message, trace, at).await?);
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(&events);
                Ok(Some(switchboard::store::Ingested { message, conversation, events }))
            }

            async fn send_message(
                &self,
                out: switchboard::store::NewOutbound,
            ) -> Result<switchboard::store::Sent, switchboard::StoreError> {
                let ws = out.workspace_id;
                if let Some(key) = &out.client_message_id {
                    if let Some(found) = self.message_by_client_id(out.conversation_id, key).await? {
                        if found.workspace_id == ws {
                            return Ok(switchboard::store::Sent { message: found, created: false, events: Vec::new() });
                        }
                        return Err(switchboard::StoreError::NotFound);
                    }
                }
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                // The conversation and its channel's provider in one statement.
                #[derive(sqlx::FromRow)]
                struct Target {
                    #[sqlx(flatten)]
                    conversation: $crate::store::rows::ConversationRow,
                    provider: String,
                }
                let target: Option<Target> = sqlx::query_as(concat!(
                    "select ",
                    conversation_columns!(),
                    ", (select provider from channel where channel.channel_id = conversation.channel_id) as provider
                     from conversation where workspace_id = $1 and conversation_id = $2"
                ))
                .bind(ws.as_uuid())
                .bind(out.conversation_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let Target { conversation, provider } = target.ok_or(switchboard::StoreError::NotFound)?;
                let conversation: switchboard::Conversation = conversation.into();

                if let Some(reply_to) = out.reply_to {
                    let same: Option<(uuid::Uuid,)> =
                        sqlx::query_as("select message_id from message where message_id = $1 and conversation_id = $2")
                            .bind(reply_to.as_uuid())
                            .bind(conversation.id.as_uuid())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err($crate::store::map_err)?;
                    if same.is_none() {
                        tx.rollback().await.map_err($crate::store::map_err)?;
                        return Err(switchboard::StoreError::Conflict { constraint: "reply_to".into() });
                    }
                }
                // In-app channels are Switchboard's own network: stored is sent (the realtime
                // gateway delivers it), so there is nothing to queue.
                let local = provider == switchboard::ProviderKind::Inapp.as_str();
                let message_id = switchboard::MessageId::new();
                // The new row comes back from the insert itself.
                let inserted: Result<$crate::store::rows::MessageRow, sqlx::Error> = sqlx::query_as(concat!(
                    "insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text, client_message_id, sender_user_id, created_at, updated_at, reply_to_message_id)
                     values ($1, $2, $3, $4, 'outbound', $10, $5, $6, $7, $8, $8, $9) returning ",
                    message_columns!()
                ))
                .bind(message_id.as_uuid())
                .bind(ws.as_uuid())
                .bind(conversation.id.as_uuid())
                .bind(conversation.channel_id.as_uuid())
                .bind(&out.text)
                .bind(&out.client_message_id)
                .bind(out.sender.as_uuid())
                .bind(at)
                .bind(out.reply_to.map(|r| r.as_uuid()))
                .bind(if local { "sent" } else { "pending" })
                .fetch_one(&mut *tx)
                .await;
                let inserted = match inserted {
                    Ok(row) => row,
                    Err(err) => {
                    let err = $crate::store::map_err(err);
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    // A concurrent request with the same key won: answer with its message.
                    if let (switchboard::StoreError::Conflict { .. }, Some(key)) = (&err, &out.client_message_id) {
                        if let Some(found) = self.message_by_client_id(out.conversation_id, key).await? {
                            return Ok(switchboard::store::Sent { message: found, created: false, events: Vec::new() });
                        }
                    }
                    return Err(err);
                    }
                };
                let message: switchboard::Message = inserted.try_into()?;
                let conversation = Self::touch_conversation(&mut tx, &conversation, &message, false, at).await?;
                Self::write_flags(&mut tx, &message, Some(out.sender)).await?;
                if !local {
                    sqlx::query(
                        "insert into outbox (outbox_id, workspace_id, channel_id, message_id, next_attempt_at, status, created_at, updated_at)
                         values ($1, $2, $3, $4, $5, 'queued', $5, $5)",
                    )
                    .bind(uuid::Uuid::now_v7())
                    .bind(ws.as_uuid())
                    .bind(conversation.channel_id.as_uuid())
                    .bind(message.id.as_uuid())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?;
                }

                let trace = out.trace_id.as_deref();
                let events = Self::message_events(&mut tx, &conversation, &message, trace, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(&events);
                Ok(switchboard::store::Sent { message, created: true, events })
            }

            async fn conversation(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ConversationId,
            ) -> Result<Option<switchboard::Conversation>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::ConversationRow> = sqlx::query_as(concat!(
                    "select ",
                    conversation_columns!(),
                    " from conversation where workspace_id = $1 and conversation_id = $2"
                ))
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(row.map(Into::into))
            }

            async fn conversations(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
                filter: &switchboard::message::ConversationFilter,
            ) -> Result<Vec<switchboard::message::ConversationSummary>, switchboard::StoreError> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    conversation: $crate::store::rows::ConversationRow,
                    unread_count: i64,
                    unread_mentions: i64,
                    contact_online: Option<bool>,
                }
                let rows: Vec<Row> = sqlx::query_as(concat!(
                    "select ",
                    conversation_columns!(),
                    ", (select count(*) from message_flag f
                        where f.user_id = $3 and f.conversation_id = conversation.conversation_id and f.is_read = false) as unread_count,
                      (select count(*) from message_flag f
                        where f.user_id = $3 and f.conversation_id = conversation.conversation_id and f.is_read = false
                          and f.is_mentioned = true) as unread_mentions,
                      (select c.online from contact c where c.contact_id = conversation.contact_id) as contact_online
                      from conversation where workspace_id = $1 and ($2 is null or channel_id = $2)
                        and ($6 is null or status = $6)
                        and ($4 is null or lower(title) like $4 escape '\\')
                        and ($5 = false or exists (select 1 from message_flag u
                            where u.user_id = $3 and u.conversation_id = conversation.conversation_id and u.is_read = false))
                      order by case when last_message_at is null then 1 else 0 end, last_message_at desc, conversation_id desc"
                ))
                .bind(workspace_id.as_uuid())
                .bind(filter.channel_id.map(|c| c.as_uuid()))
                .bind(user_id.as_uuid())
                .bind(filter.like_pattern())
                .bind(filter.unread_only)
                .bind(filter.status.map(|s| s.as_str()))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(rows
                    .into_iter()
                    .map(|r| switchboard::message::ConversationSummary {
                        conversation: r.conversation.into(),
                        unread_count: r.unread_count.max(0) as u32,
                        unread_mentions: r.unread_mentions.max(0) as u32,
                        contact_online: r.contact_online,
                    })
                    .collect())
            }

            async fn mark_read(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
                conversation_id: switchboard::ConversationId,
                up_to: switchboard::MessageId,
            ) -> Result<(u64, u32, Vec<switchboard::Event>), switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let exists: Option<(uuid::Uuid,)> =
                    sqlx::query_as("select conversation_id from conversation where workspace_id = $1 and conversation_id = $2")
                        .bind(workspace_id.as_uuid())
                        .bind(conversation_id.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::store::map_err)?;
                if exists.is_none() {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Err(switchboard::StoreError::NotFound);
                }
                let changed = sqlx::query(
                    "update message_flag set is_read = true
                     where user_id = $1 and conversation_id = $2 and message_id <= $3 and is_read = false",
                )
                .bind(user_id.as_uuid())
                .bind(conversation_id.as_uuid())
                .bind(up_to.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err($crate::store::map_err)?
                .rows_affected();
                let (unread,): (i64,) = sqlx::query_as(
                    "select count(*) from message_flag where user_id = $1 and conversation_id = $2 and is_read = false",
                )
                .bind(user_id.as_uuid())
                .bind(conversation_id.as_uuid())
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let mut events = Vec::new();
                if changed > 0 {
                    let payload = serde_json::json!({
                        "conversation_id": conversation_id,
                        "up_to": up_to,
                        "unread_count": unread,
                    });
                    let topic = switchboard::message::user_topic(user_id);
                    events.push(Self::append_event(&mut tx, workspace_id, topic, "read.updated", payload, None, at).await?);
                }
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(&events);
                Ok((changed, unread.max(0) as u32, events))
            }

            async fn messages(
                &self,
                workspace_id: switchboard::WorkspaceId,
                conversation_id: switchboard::ConversationId,
                before: Option<switchboard::MessageId>,
                limit: u32,
            ) -> Result<Vec<switchboard::Message>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::MessageRow> = sqlx::query_as(concat!(
                    "select ",
                    message_columns!(),
                    " from message where workspace_id = $1 and conversation_id = $2 and ($3 is null or message_id < $3)
                      order by message_id desc limit $4"
                ))
                .bind(workspace_id.as_uuid())
                .bind(conversation_id.as_uuid())
                .bind(before.map(|b| b.as_uuid()))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn events_since(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
                after: i64,
                limit: u32,
            ) -> Result<Vec<(i64, switchboard::Event)>, switchboard::StoreError> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    workspace_offset: i64,
                    #[sqlx(flatten)]
                    event: $crate::store::rows::EventRow,
                }
                let rows: Vec<Row> = sqlx::query_as(
                    "select workspace_offset, event_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload
                     from event where workspace_id = $1 and workspace_offset > $2 and (topic not like 'user:%' or topic = $3)
                     order by workspace_offset limit $4",
                )
                .bind(workspace_id.as_uuid())
                .bind(after)
                .bind(switchboard::message::user_topic(user_id))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(rows.into_iter().map(|r| (r.workspace_offset, r.event.into())).collect())
            }

            async fn edit_message(
                &self,
                target: switchboard::message::MessageRef,
                text: &str,
            ) -> Result<Option<(switchboard::Message, Vec<switchboard::Event>)>, switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let Some(current) = Self::message_by_ref(&mut tx, &target).await? else {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(None);
                };
                if current.deleted_at.is_some() {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Err(switchboard::StoreError::Conflict { constraint: "message_deleted".into() });
                }
                if current.text == text {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(None);
                }
                sqlx::query("update message set text = $2, edited_at = $3, updated_at = $3 where message_id = $1")
                    .bind(current.id.as_uuid())
                    .bind(text)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?;
                let message = Self::message_in(&mut tx, current.id).await?;
                let payload = serde_json::to_value(&message).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                let topic = switchboard::message::conversation_topic(message.conversation_id);
                let event = Self::append_event(&mut tx, message.workspace_id, topic, "message.updated", payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok(Some((message, vec![event])))
            }

            async fn delete_message(
                &self,
                target: switchboard::message::MessageRef,
            ) -> Result<Option<(switchboard::Message, Vec<switchboard::Event>)>, switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let current = Self::message_by_ref(&mut tx, &target).await?;
                let Some(current) = current.filter(|m| m.deleted_at.is_none()) else {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(None);
                };
                sqlx::query("update message set text = '', deleted_at = $2, updated_at = $2 where message_id = $1")
                    .bind(current.id.as_uuid())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?;
                let message = Self::message_in(&mut tx, current.id).await?;
                let payload = serde_json::json!({
                    "message_id": message.id,
                    "conversation_id": message.conversation_id,
                    "deleted_at": message.deleted_at,
                });
                let topic = switchboard::message::conversation_topic(message.conversation_id);
                let event = Self::append_event(&mut tx, message.workspace_id, topic, "message.deleted", payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok(Some((message, vec![event])))
            }

            async fn set_conversation_status(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ConversationId,
                status: switchboard::message::ConversationStatus,
            ) -> Result<(switchboard::Conversation, Vec<switchboard::Event>), switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let row: Option<$crate::store::rows::ConversationRow> = sqlx::query_as(concat!(
                    "update conversation set status = $3, updated_at = $4
                     where workspace_id = $1 and conversation_id = $2 and status <> $3 returning ",
                    conversation_columns!()
                ))
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .bind(status.as_str())
                .bind(at)
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let Some(row) = row else {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    // Unchanged, or not there at all.
                    let found = self.conversation(workspace_id, id).await?;
                    return found.map(|c| (c, Vec::new())).ok_or(switchboard::StoreError::NotFound);
                };
                let conversation: switchboard::Conversation = row.into();
                let payload = serde_json::json!({
                    "conversation_id": conversation.id,
                    "last_message_at": conversation.last_message_at,
                    "last_message_preview": conversation.last_message_preview,
                    "status": conversation.status,
                });
                let topic = switchboard::message::inbox_topic(workspace_id);
                let event = Self::append_event(&mut tx, workspace_id, topic, "conversation.updated", payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok((conversation, vec![event]))
            }

            async fn create_room(
                &self,
                room: switchboard::store::NewRoom,
            ) -> Result<(switchboard::Conversation, Vec<switchboard::Event>), switchboard::StoreError> {
                let at = switchboard::time::now();
                let ws = room.workspace_id;
                let mut tx = self.begin_write().await?;
                let channel: Option<(uuid::Uuid,)> =
                    sqlx::query_as("select channel_id from channel where workspace_id = $1 and channel_id = $2")
                        .bind(ws.as_uuid())
                        .bind(room.channel_id.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::store::map_err)?;
                if channel.is_none() {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Err(switchboard::StoreError::NotFound);
                }
                let id = switchboard::ConversationId::new();
                let row: $crate::store::rows::ConversationRow = sqlx::query_as(concat!(
                    "insert into conversation (conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, created_at, updated_at)
                     values ($1, $2, $3, null, $4, $5, $6, $6) returning ",
                    conversation_columns!()
                ))
                .bind(id.as_uuid())
                .bind(ws.as_uuid())
                .bind(room.channel_id.as_uuid())
                .bind(format!("room:{id}"))
                .bind(&room.title)
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                for member in &room.members {
                    // Only members of the workspace: the select finds nothing for anyone else.
                    let added = sqlx::query(
                        "insert into conversation_member (conversation_id, user_id, added_at)
                         select $1, user_id, $3 from member where workspace_id = $2 and user_id = $4",
                    )
                    .bind(id.as_uuid())
                    .bind(ws.as_uuid())
                    .bind(at)
                    .bind(member.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::store::map_err)?
                    .rows_affected();
                    if added != 1 {
                        tx.rollback().await.map_err($crate::store::map_err)?;
                        return Err(switchboard::StoreError::Conflict { constraint: "room_member".into() });
                    }
                }
                let conversation: switchboard::Conversation = row.into();
                let payload = serde_json::to_value(&conversation).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                let topic = switchboard::message::inbox_topic(ws);
                let event = Self::append_event(&mut tx, ws, topic, "conversation.created", payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok((conversation, vec![event]))
            }

            async fn conversation_members(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::ConversationId,
            ) -> Result<Vec<switchboard::UserId>, switchboard::StoreError> {
                let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
                    "select m.user_id from conversation_member m join conversation c on c.conversation_id = m.conversation_id
                     where c.workspace_id = $1 and m.conversation_id = $2 order by m.added_at, m.user_id",
                )
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(rows.into_iter().map(|(u,)| u.into()).collect())
            }

            async fn set_starred(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
                id: switchboard::MessageId,
                starred: bool,
            ) -> Result<(), switchboard::StoreError> {
                let mut tx = self.begin_write().await?;
                let message = sqlx::query_as::<_, (uuid::Uuid,)>(
                    "select m.conversation_id from message m join member w on w.workspace_id = m.workspace_id
                     where m.workspace_id = $1 and m.message_id = $2 and w.user_id = $3",
                )
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .bind(user_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let Some((conversation_id,)) = message else {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Err(switchboard::StoreError::NotFound);
                };
                // Members outside a room have no flag row yet: one is made, already read.
                sqlx::query(
                    "insert into message_flag (user_id, message_id, workspace_id, conversation_id, is_read, is_starred)
                     values ($1, $2, $3, $4, true, $5)
                     on conflict (user_id, message_id) do update set is_starred = $5",
                )
                .bind(user_id.as_uuid())
                .bind(id.as_uuid())
                .bind(workspace_id.as_uuid())
                .bind(conversation_id)
                .bind(starred)
                .execute(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                tx.commit().await.map_err($crate::store::map_err)?;
                Ok(())
            }

            async fn starred(
                &self,
                workspace_id: switchboard::WorkspaceId,
                user_id: switchboard::UserId,
                limit: u32,
            ) -> Result<Vec<switchboard::Message>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::MessageRow> = sqlx::query_as(concat!(
                    "select ", message_columns!(), " from message where message_id in
                       (select message_id from message_flag where workspace_id = $1 and user_id = $2 and is_starred = true)
                     order by message_id desc limit $3"
                ))
                .bind(workspace_id.as_uuid())
                .bind(user_id.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_contact_presence(
                &self,
                channel_id: switchboard::ChannelId,
                external_id: &str,
                online: bool,
            ) -> Result<Option<switchboard::Event>, switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let row: Option<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
                    "update contact set online = $3, presence_at = $4, updated_at = $4
                     where channel_id = $1 and external_id = $2 and (online is null or online <> $3)
                     returning contact_id, workspace_id",
                )
                .bind(channel_id.as_uuid())
                .bind(external_id)
                .bind(online)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let Some((contact_id, workspace_id)) = row else {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(None);
                };
                let ws = switchboard::WorkspaceId(workspace_id);
                let payload = serde_json::json!({
                    "contact_id": contact_id,
                    "channel_id": channel_id,
                    "online": online,
                    "at": at,
                });
                let topic = switchboard::message::inbox_topic(ws);
                let event = Self::append_event(&mut tx, ws, topic, "contact.presence", payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok(Some(event))
            }

            async fn rename_chat(
                &self,
                channel_id: switchboard::ChannelId,
                external_chat_id: &str,
                title: &str,
            ) -> Result<Option<(switchboard::Conversation, Vec<switchboard::Event>)>, switchboard::StoreError> {
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;
                let row: Option<$crate::store::rows::ConversationRow> = sqlx::query_as(concat!(
                    "update conversation set title = $3, updated_at = $4
                     where channel_id = $1 and external_chat_id = $2 and title <> $3 returning ",
                    conversation_columns!()
                ))
                .bind(channel_id.as_uuid())
                .bind(external_chat_id)
                .bind(title)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::store::map_err)?;
                let Some(row) = row else {
                    tx.rollback().await.map_err($crate::store::map_err)?;
                    return Ok(None);
                };
                let conversation: switchboard::Conversation = row.into();
                let payload = serde_json::json!({
                    "conversation_id": conversation.id,
                    "title": conversation.title,
                    "status": conversation.status,
                });
                let ws = conversation.workspace_id;
                let event = Self::append_event(&mut tx, ws, switchboard::message::inbox_topic(ws), "conversation.updated", payload, None, at).await?;
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(std::slice::from_ref(&event));
                Ok(Some((conversation, vec![event])))
            }

            async fn message(
                &self,
                workspace_id: switchboard::WorkspaceId,
                id: switchboard::MessageId,
            ) -> Result<Option<switchboard::Message>, switchboard::StoreError> {
                let row: Option<$crate::store::rows::MessageRow> = sqlx::query_as(concat!(
                    "select ", message_columns!(), " from message where workspace_id = $1 and message_id = $2"
                ))
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                row.map(TryInto::try_into).transpose()
            }

            async fn topic_position(&self, topic: &str) -> Result<i64, switchboard::StoreError> {
                let last: Option<i64> = sqlx::query_scalar("select last_offset from topic_offset where topic = $1")
                    .bind(topic)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                Ok(last.unwrap_or(0))
            }

            async fn log_epoch(&self) -> Result<String, switchboard::StoreError> {
                // The first caller's value wins, even when two nodes start at once.
                let fresh = hex::encode(rand::random::<[u8; 8]>());
                sqlx::query("insert into instance_meta (key, value) values ('log_epoch', $1) on conflict (key) do nothing")
                    .bind(&fresh)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::store::map_err)?;
                sqlx::query_scalar("select value from instance_meta where key = 'log_epoch'")
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::store::map_err)
            }

            async fn events_after(
                &self,
                topic: &str,
                after: i64,
                limit: u32,
            ) -> Result<Vec<switchboard::Event>, switchboard::StoreError> {
                let rows: Vec<$crate::store::rows::EventRow> = sqlx::query_as(
                    "select event_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload
                     from event where topic = $1 and topic_offset > $2 order by topic_offset limit $3",
                )
                .bind(topic)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::store::map_err)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }

        impl $store {
            /// A new message's events: `message.created` on the conversation's topic and
            /// `conversation.updated` (the list's preview) on the workspace's inbox topic.
            async fn message_events(
                tx: &mut sqlx::Transaction<'static, $db>,
                conversation: &switchboard::Conversation,
                message: &switchboard::Message,
                trace: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<switchboard::Event>, switchboard::StoreError> {
                use switchboard::message::{conversation_topic, inbox_topic, preview};
                let ws = conversation.workspace_id;
                let payload = serde_json::to_value(message).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                let created = Self::append_event(tx, ws, conversation_topic(conversation.id), "message.created", payload, trace, at).await?;
                // Which message moved the conversation, and whose it is: a client bumps its
                // unread count only for messages it did not send itself.
                let payload = serde_json::json!({
                    "conversation_id": conversation.id,
                    "last_message_at": conversation.last_message_at,
                    "last_message_preview": preview(&message.text),
                    "status": conversation.status,
                    "message_id": message.id,
                    "direction": message.direction,
                    "sender_user_id": message.sender_user_id,
                });
                let updated = Self::append_event(tx, ws, inbox_topic(ws), "conversation.updated", payload, trace, at).await?;
                Ok(vec![created, updated])
            }

            /// One flags row per member of the workspace; the sender (if a member) has read it.
            async fn write_flags(
                tx: &mut sqlx::Transaction<'static, $db>,
                message: &switchboard::Message,
                sender: Option<switchboard::UserId>,
            ) -> Result<(), switchboard::StoreError> {
                sqlx::query(
                    "insert into message_flag (user_id, message_id, workspace_id, conversation_id, is_read)
                     select user_id, $2, $1, $3, coalesce(user_id = $4, false) from member where workspace_id = $1
                       and (not exists (select 1 from conversation_member c where c.conversation_id = $3)
                            or user_id in (select c.user_id from conversation_member c where c.conversation_id = $3))",
                )
                .bind(message.workspace_id.as_uuid())
                .bind(message.id.as_uuid())
                .bind(message.conversation_id.as_uuid())
                .bind(sender.map(|s| s.as_uuid()))
                .execute(&mut **tx)
                .await
                .map_err($crate::store::map_err)?;
                // Mentions: `@handle` of a member who got a flag.
                if message.text.contains('@') {
                    let members: Vec<(uuid::Uuid, String, String)> = sqlx::query_as(
                        "select u.user_id, u.email, u.name from message_flag f join user_account u on u.user_id = f.user_id
                         where f.message_id = $1",
                    )
                    .bind(message.id.as_uuid())
                    .fetch_all(&mut **tx)
                    .await
                    .map_err($crate::store::map_err)?;
                    for (user_id, email, name) in members {
                        if switchboard::message::mentions(&message.text, &email, &name) {
                            sqlx::query("update message_flag set is_mentioned = true where message_id = $1 and user_id = $2")
                                .bind(message.id.as_uuid())
                                .bind(user_id)
                                .execute(&mut **tx)
                                .await
                                .map_err($crate::store::map_err)?;
                        }
                    }
                }
                Ok(())
            }

            /// Moves the conversation's last activity to this message (never backwards).
            async fn touch_conversation(
                tx: &mut sqlx::Transaction<'static, $db>,
                conversation: &switchboard::Conversation,
                message: &switchboard::Message,
                reopen: bool,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Conversation, switchboard::StoreError> {
                // A contact writing again reopens a resolved conversation.
                let row: $crate::store::rows::ConversationRow = sqlx::query_as(concat!(
                    "update conversation set last_message_at = $2, last_message_preview = $3, updated_at = $2,
                        status = case when $4 then 'open' else status end
                     where conversation_id = $1 returning ",
                    conversation_columns!()
                ))
                .bind(conversation.id.as_uuid())
                .bind(at)
                .bind(switchboard::message::preview(&message.text))
                .bind(reopen)
                .fetch_one(&mut **tx)
                .await
                .map_err($crate::store::map_err)?;
                Ok(row.into())
            }
        }
    };
}

pub(crate) use {conversation_columns, impl_messages, message_columns};
