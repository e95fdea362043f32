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

            /// An event not numbered yet (offset 0).
            fn new_event(
                topic: switchboard::Topic,
                kind: switchboard::EventKind,
                payload: serde_json::Value,
                trace_id: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> switchboard::Event {
                switchboard::Event {
                    id: switchboard::EventId::new(),
                    kind: kind.as_str().to_owned(),
                    schema_version: switchboard::message::EVENT_SCHEMA_VERSION,
                    occurred_at: at,
                    trace_id: trace_id.map(str::to_owned),
                    topic: topic.to_string(),
                    offset: 0,
                    payload,
                }
            }

            /// Appends one event to `topic` with the topic's next offset, inside `tx`.
            async fn append_event(
                tx: &mut sqlx::Transaction<'static, $db>,
                workspace_id: switchboard::WorkspaceId,
                topic: switchboard::Topic,
                kind: switchboard::EventKind,
                payload: serde_json::Value,
                trace_id: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Event, switchboard::StoreError> {
                // The workspace's log first, then the topic: every transaction takes these
                // counters in the same order, so writers never deadlock on them.
                let workspace_offset = Self::next_offset(tx, &format!("log:{workspace_id}")).await?;
                let event = Self::new_event(topic, kind, payload, trace_id, at);
                let offset = Self::next_offset(tx, &event.topic).await?;
                let event = switchboard::Event { offset, ..event };
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

            /// A message's new text as a `message.updated` event on its conversation's topic (a
            /// user's edit and a network's alike).
            async fn updated_event(
                tx: &mut sqlx::Transaction<'static, $db>,
                message: &switchboard::Message,
                trace: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<switchboard::Event, switchboard::StoreError> {
                let payload = serde_json::to_value(message).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                let topic = switchboard::Topic::Conversation(message.conversation_id);
                Self::append_event(tx, message.workspace_id, topic, switchboard::EventKind::MessageUpdated, payload, trace, at).await
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
                    // Already recorded. A redelivery whose text changed is an edit on the network:
                    // the stored message takes the new text once, with `message.updated`. A replay
                    // of the same text changes nothing. The condition sits in the update itself,
                    // so two concurrent redeliveries of one edit update (and announce) it once.
                    let edited: Option<(uuid::Uuid,)> = sqlx::query_as(
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
                    .map_err($crate::store::map_err)?;
                    let Some((id,)) = edited else {
                        tx.rollback().await.map_err($crate::store::map_err)?;
                        return Ok(None);
                    };
                    let message = Self::message_in(&mut tx, id.into()).await?;
                    let event = Self::updated_event(&mut tx, &message, inbound.trace_id.as_deref(), at).await?;
                    tx.commit().await.map_err($crate::store::map_err)?;
                    self.listener.committed(std::slice::from_ref(&event));
                    return Ok(Some(switchboard::store::Ingested { message, conversation, created: false, events: vec![event] }));
                }
                let message = Self::message_in(&mut tx, message_id).await?;
                let conversation = Self::touch_conversation(&mut tx, &conversation, &message, true, at).await?;
                Self::write_flags(&mut tx, &message, None).await?;

                let trace = inbound.trace_id.as_deref();
                let mut events = Vec::new();
                if created_conversation {
                    let payload = serde_json::to_value(&conversation).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                    events.push(Self::append_event(&mut tx, ws, switchboard::Topic::Inbox(ws), switchboard::EventKind::ConversationCreated, payload, trace, at).await?);
                }
                events.extend(Self::message_events(&mut tx, &conversation, &message, trace, at).await?);
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(&events);
                Ok(Some(switchboard::store::Ingested { message, conversation, created: true, events }))
            }

            async fn send_message(
                &self,
                out: switchboard::store::NewOutbound,
            ) -> Result<switchboard::store::Sent, switchboard::StoreError> {
                let store = self.clone();
                self.sends
                    .send(out, move |group| {
                        let store = store.clone();
                        async move { store.send_group(group).await }
                    })
                    .await
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
                        and (contact_id is not null or $7 = true or exists (select 1 from conversation_member cm
                            where cm.conversation_id = conversation.conversation_id and cm.user_id = $3))
                      order by case when last_message_at is null then 1 else 0 end, last_message_at desc, conversation_id desc"
                ))
                .bind(workspace_id.as_uuid())
                .bind(filter.channel_id.map(|c| c.as_uuid()))
                .bind(user_id.as_uuid())
                .bind(filter.like_pattern())
                .bind(filter.unread_only)
                .bind(filter.status.map(|s| s.as_str()))
                .bind(filter.rooms == switchboard::access::RoomScope::All)
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
                    let topic = switchboard::Topic::User(user_id);
                    events.push(Self::append_event(&mut tx, workspace_id, topic, switchboard::EventKind::ReadUpdated, payload, None, at).await?);
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
                .bind(switchboard::Topic::User(user_id).to_string())
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
                let event = Self::updated_event(&mut tx, &message, None, at).await?;
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
                let topic = switchboard::Topic::Conversation(message.conversation_id);
                let event = Self::append_event(&mut tx, message.workspace_id, topic, switchboard::EventKind::MessageDeleted, payload, None, at).await?;
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
                let topic = switchboard::access::list_topic(&conversation);
                let event = Self::append_event(&mut tx, workspace_id, topic, switchboard::EventKind::ConversationUpdated, payload, None, at).await?;
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
                    let role = if Some(member) == room.members.first() { "moderator" } else { "member" };
                    let added = sqlx::query(
                        "insert into conversation_member (conversation_id, user_id, added_at, role)
                         select $1, user_id, $3, $5 from member where workspace_id = $2 and user_id = $4",
                    )
                    .bind(id.as_uuid())
                    .bind(ws.as_uuid())
                    .bind(at)
                    .bind(member.as_uuid())
                    .bind(role)
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
                // A room is private: it appears in its members' lists, through their own topics.
                let mut events = Vec::with_capacity(room.members.len());
                for member in &room.members {
                    let topic = switchboard::Topic::User(*member);
                    let kind = switchboard::EventKind::ConversationCreated;
                    events.push(Self::append_event(&mut tx, ws, topic, kind, payload.clone(), None, at).await?);
                }
                tx.commit().await.map_err($crate::store::map_err)?;
                self.listener.committed(&events);
                Ok((conversation, events))
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
                let topic = switchboard::Topic::Inbox(ws);
                let event = Self::append_event(&mut tx, ws, topic, switchboard::EventKind::ContactPresence, payload, None, at).await?;
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
                let topic = switchboard::access::list_topic(&conversation);
                let event = Self::append_event(&mut tx, ws, topic, switchboard::EventKind::ConversationUpdated, payload, None, at).await?;
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
            /// One send in its own transaction.
            async fn send_one(
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
                        "insert into outbox (outbox_id, workspace_id, channel_id, message_id, next_attempt_at, status, created_at, updated_at, max_attempts)
                         values ($1, $2, $3, $4, $5, 'queued', $5, $5, $6)",
                    )
                    .bind(uuid::Uuid::now_v7())
                    .bind(ws.as_uuid())
                    .bind(conversation.channel_id.as_uuid())
                    .bind(message.id.as_uuid())
                    .bind(at)
                    .bind(switchboard::store::OUTBOX_MAX_ATTEMPTS as i32)
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

            /// Writes a group of queued sends (see `batch.rs`): all but replies together in one
            /// transaction (about eight statements, where a send alone takes thirteen), replies
            /// on their own. If the shared transaction fails, nothing of it
            /// was written and each of its sends runs alone, so every caller gets the answer its
            /// send alone would have got.
            async fn send_group(
                &self,
                outs: Vec<switchboard::store::NewOutbound>,
            ) -> Vec<Result<switchboard::store::Sent, switchboard::StoreError>> {
                let together: Vec<usize> = (0..outs.len()).filter(|&i| outs[i].reply_to.is_none()).collect();
                let mut results: Vec<Option<Result<switchboard::store::Sent, switchboard::StoreError>>> =
                    (0..outs.len()).map(|_| None).collect();
                // Even a group of one: the grouped statements are fewer than a lone send's.
                if !together.is_empty() {
                    let group: Vec<&switchboard::store::NewOutbound> = together.iter().map(|&i| &outs[i]).collect();
                    match self.send_together(&group).await {
                        Ok(sent) => {
                            for (&i, result) in together.iter().zip(sent) {
                                results[i] = Some(result);
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, sends = group.len(), "group write failed; writing its sends one at a time"),
                    }
                }
                let mut answers = Vec::with_capacity(outs.len());
                for (out, result) in outs.into_iter().zip(results) {
                    answers.push(match result {
                        Some(result) => result,
                        None => self.send_one(out).await,
                    });
                }
                answers
            }

            /// Sends (none a reply) in one transaction of multi-row statements. `Err` means
            /// the transaction was rolled back before its commit; `Ok` holds each send's own
            /// answer.
            async fn send_together(
                &self,
                outs: &[&switchboard::store::NewOutbound],
            ) -> Result<Vec<Result<switchboard::store::Sent, switchboard::StoreError>>, switchboard::StoreError> {
                use std::collections::HashMap;
                use switchboard::Topic;
                use switchboard::{ConversationId, Message, StoreError};
                use $crate::store::batch::Params;
                use $crate::store::map_err;
                let at = switchboard::time::now();
                let mut tx = self.begin_write().await?;

                // Keys used before: such a send answers with the first message.
                let keys: Vec<(ConversationId, &str)> = outs
                    .iter()
                    .filter_map(|o| o.client_message_id.as_deref().map(|k| (o.conversation_id, k)))
                    .collect();
                let mut keyed: HashMap<(ConversationId, String), Message> = HashMap::new();
                if !keys.is_empty() {
                    let mut p = Params::new(Self::BACKEND);
                    let test: Vec<String> = keys
                        .iter()
                        .map(|_| format!("(conversation_id = {} and client_message_id = {})", p.next(), p.next()))
                        .collect();
                    let sql = format!(concat!("select ", message_columns!(), " from message where {}"), test.join(" or "));
                    let mut query = sqlx::query_as::<_, $crate::store::rows::MessageRow>(sqlx::AssertSqlSafe(sql));
                    for (conversation, key) in &keys {
                        query = query.bind(conversation.as_uuid()).bind(*key);
                    }
                    for row in query.fetch_all(&mut *tx).await.map_err(map_err)? {
                        let message: Message = row.try_into()?;
                        if let Some(key) = message.client_message_id.clone() {
                            keyed.insert((message.conversation_id, key), message);
                        }
                    }
                }

                // The conversations, with their channels' providers.
                #[derive(sqlx::FromRow)]
                struct Target {
                    #[sqlx(flatten)]
                    conversation: $crate::store::rows::ConversationRow,
                    provider: String,
                }
                let mut ids: Vec<ConversationId> = outs.iter().map(|o| o.conversation_id).collect();
                ids.sort_unstable_by_key(|id| id.as_uuid());
                ids.dedup();
                let sql = format!(
                    concat!(
                        "select ",
                        conversation_columns!(),
                        ", (select provider from channel where channel.channel_id = conversation.channel_id) as provider
                         from conversation where conversation_id in ({})"
                    ),
                    Params::new(Self::BACKEND).list(ids.len())
                );
                let mut query = sqlx::query_as::<_, Target>(sqlx::AssertSqlSafe(sql));
                for id in &ids {
                    query = query.bind(id.as_uuid());
                }
                let targets: HashMap<ConversationId, (switchboard::Conversation, bool)> = query
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .into_iter()
                    .map(|t| {
                        let conversation: switchboard::Conversation = t.conversation.into();
                        let local = t.provider == switchboard::ProviderKind::Inapp.as_str();
                        (conversation.id, (conversation, local))
                    })
                    .collect();

                // What each send comes to: an earlier message, an error, or a new row.
                enum Plan {
                    Known(Message),
                    /// The same key earlier in this group: answered with that send's message.
                    SameAs(usize),
                    Fails(StoreError),
                    New { id: switchboard::MessageId, local: bool },
                }
                let mut first_with_key: HashMap<(ConversationId, &str), usize> = HashMap::new();
                let mut plans = Vec::with_capacity(outs.len());
                for (i, out) in outs.iter().enumerate() {
                    let key = out.client_message_id.as_deref().map(|k| (out.conversation_id, k));
                    let plan = match (key.and_then(|(c, k)| keyed.get(&(c, k.to_owned()))), targets.get(&out.conversation_id)) {
                        (Some(found), _) if found.workspace_id == out.workspace_id => Plan::Known(found.clone()),
                        (Some(_), _) => Plan::Fails(StoreError::NotFound),
                        (None, Some((conversation, local))) if conversation.workspace_id == out.workspace_id => {
                            match key.and_then(|k| first_with_key.get(&k)) {
                                Some(&first) => Plan::SameAs(first),
                                None => {
                                    if let Some(k) = key {
                                        first_with_key.insert(k, i);
                                    }
                                    Plan::New { id: switchboard::MessageId::new(), local: *local }
                                }
                            }
                        }
                        (None, _) => Plan::Fails(StoreError::NotFound),
                    };
                    plans.push(plan);
                }
                let new: Vec<(usize, switchboard::MessageId, bool)> = plans
                    .iter()
                    .enumerate()
                    .filter_map(|(i, plan)| match plan {
                        Plan::New { id, local } => Some((i, *id, *local)),
                        _ => None,
                    })
                    .collect();

                let mut messages: HashMap<switchboard::MessageId, Message> = HashMap::new();
                let mut events: Vec<switchboard::Event> = Vec::new();
                let mut event_owner: Vec<usize> = Vec::new();
                let mut event_ws: Vec<switchboard::WorkspaceId> = Vec::new();
                if !new.is_empty() {
                    // The messages.
                    let mut p = Params::new(Self::BACKEND);
                    let sql = format!(
                        concat!(
                            "insert into message (message_id, workspace_id, conversation_id, channel_id, direction, status, text, client_message_id, sender_user_id, created_at, updated_at)
                             values {} returning ",
                            message_columns!()
                        ),
                        p.rows(new.len(), 11)
                    );
                    let mut query = sqlx::query_as::<_, $crate::store::rows::MessageRow>(sqlx::AssertSqlSafe(sql));
                    for &(i, id, local) in &new {
                        let out = outs[i];
                        let (conversation, _) = &targets[&out.conversation_id];
                        query = query
                            .bind(id.as_uuid())
                            .bind(out.workspace_id.as_uuid())
                            .bind(conversation.id.as_uuid())
                            .bind(conversation.channel_id.as_uuid())
                            .bind("outbound")
                            .bind(if local { "sent" } else { "pending" })
                            .bind(&out.text)
                            .bind(&out.client_message_id)
                            .bind(out.sender.as_uuid())
                            .bind(at)
                            .bind(at);
                    }
                    for row in query.fetch_all(&mut *tx).await.map_err(map_err)? {
                        let message: Message = row.try_into()?;
                        messages.insert(message.id, message);
                    }
                    if messages.len() != new.len() {
                        return Err(StoreError::Internal("a grouped insert returned the wrong rows".into()));
                    }

                    // Unread flags for every member who can see them; the sender has read theirs.
                    let sql = format!(
                        "insert into message_flag (user_id, message_id, workspace_id, conversation_id, is_read)
                         select mb.user_id, m.message_id, m.workspace_id, m.conversation_id, coalesce(mb.user_id = m.sender_user_id, false)
                         from message m join member mb on mb.workspace_id = m.workspace_id
                         where m.message_id in ({})
                           and (not exists (select 1 from conversation_member c where c.conversation_id = m.conversation_id)
                                or mb.user_id in (select c.user_id from conversation_member c where c.conversation_id = m.conversation_id))",
                        Params::new(Self::BACKEND).list(new.len())
                    );
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (_, id, _) in &new {
                        query = query.bind(id.as_uuid());
                    }
                    query.execute(&mut *tx).await.map_err(map_err)?;
                    for (_, id, _) in &new {
                        Self::write_mentions(&mut tx, &messages[id]).await?;
                    }

                    // Each conversation's last activity: its last message in the group.
                    let mut last: Vec<(ConversationId, &Message)> = Vec::new();
                    for (_, id, _) in &new {
                        let message = &messages[id];
                        match last.iter_mut().find(|(c, _)| *c == message.conversation_id) {
                            Some(entry) => entry.1 = message,
                            None => last.push((message.conversation_id, message)),
                        }
                    }
                    // Placeholders in the order of their values: the time twice, each
                    // conversation's id and preview, then the ids again.
                    let mut p = Params::new(Self::BACKEND);
                    let (at_1, at_2) = (p.next(), p.next());
                    let cases: Vec<String> = last.iter().map(|_| format!("when {} then {}", p.next(), p.next())).collect();
                    let sql = format!(
                        concat!(
                            "update conversation set last_message_at = {at_1}, updated_at = {at_2},
                               last_message_preview = case conversation_id {cases} end
                             where conversation_id in ({list}) returning ",
                            conversation_columns!()
                        ),
                        at_1 = at_1,
                        at_2 = at_2,
                        cases = cases.join(" "),
                        list = p.list(last.len())
                    );
                    let mut query =
                        sqlx::query_as::<_, $crate::store::rows::ConversationRow>(sqlx::AssertSqlSafe(sql)).bind(at).bind(at);
                    for (conversation, message) in &last {
                        query = query.bind(conversation.as_uuid()).bind(switchboard::message::preview(&message.text));
                    }
                    for (conversation, _) in &last {
                        query = query.bind(conversation.as_uuid());
                    }
                    let touched: HashMap<ConversationId, switchboard::Conversation> = query
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(map_err)?
                        .into_iter()
                        .map(|row| {
                            let conversation: switchboard::Conversation = row.into();
                            (conversation.id, conversation)
                        })
                        .collect();

                    // Network sends go to the outbox.
                    let queued: Vec<&Message> = new.iter().filter(|(_, _, local)| !local).map(|(_, id, _)| &messages[id]).collect();
                    if !queued.is_empty() {
                        let sql = format!(
                            "insert into outbox (outbox_id, workspace_id, channel_id, message_id, next_attempt_at, status, created_at, updated_at, max_attempts)
                             values {}",
                            Params::new(Self::BACKEND).rows(queued.len(), 9)
                        );
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                        for message in &queued {
                            query = query
                                .bind(uuid::Uuid::now_v7())
                                .bind(message.workspace_id.as_uuid())
                                .bind(message.channel_id.as_uuid())
                                .bind(message.id.as_uuid())
                                .bind(at)
                                .bind("queued")
                                .bind(at)
                                .bind(at)
                                .bind(switchboard::store::OUTBOX_MAX_ATTEMPTS as i32);
                        }
                        query.execute(&mut *tx).await.map_err(map_err)?;
                    }

                    // The events: each message's `message.created` and `conversation.updated`.
                    for &(i, id, _) in &new {
                        let message = &messages[&id];
                        let conversation = touched
                            .get(&message.conversation_id)
                            .ok_or_else(|| StoreError::Internal("a grouped update missed a conversation".into()))?;
                        let trace = outs[i].trace_id.as_deref();
                        let ws = message.workspace_id;
                        let created = serde_json::to_value(message).map_err(|e| StoreError::Internal(e.to_string()))?;
                        for (topic, kind, payload) in [
                            (Topic::Conversation(conversation.id), switchboard::EventKind::MessageCreated, created),
                            (switchboard::access::list_topic(conversation), switchboard::EventKind::ConversationUpdated, Self::moved_by(conversation, message)),
                        ] {
                            // Numbered below, once the group's counters have moved.
                            events.push(Self::new_event(topic, kind, payload, trace, at));
                            event_owner.push(i);
                            event_ws.push(ws);
                        }
                    }
                    let log_offsets = Self::take_offsets(&mut tx, &mut events, &event_ws).await?;
                    Self::insert_events(&mut tx, &events, &event_ws, &log_offsets).await?;
                }
                if let Err(err) = tx.commit().await {
                    // Not retried one by one: a commit that failed on the way back (a lost
                    // PostgreSQL connection) may have happened, and a retry would store the
                    // unkeyed sends twice. Each caller gets the error, as a lone send would.
                    let err = map_err(err);
                    return Ok(outs.iter().map(|_| Err(err.clone())).collect());
                }
                self.listener.committed(&events);

                let mut own_events: Vec<Vec<switchboard::Event>> = vec![Vec::new(); outs.len()];
                for (event, &i) in events.into_iter().zip(&event_owner) {
                    own_events[i].push(event);
                }
                let mut answers: Vec<Result<switchboard::store::Sent, StoreError>> = Vec::with_capacity(outs.len());
                for (i, plan) in plans.into_iter().enumerate() {
                    answers.push(match plan {
                        Plan::Known(message) => Ok(switchboard::store::Sent { message, created: false, events: Vec::new() }),
                        Plan::Fails(err) => Err(err),
                        Plan::New { id, .. } => Ok(switchboard::store::Sent {
                            message: messages[&id].clone(),
                            created: true,
                            events: std::mem::take(&mut own_events[i]),
                        }),
                        // `first` comes earlier, so its answer is in already.
                        Plan::SameAs(first) => match &answers[first] {
                            Ok(sent) => Ok(switchboard::store::Sent { message: sent.message.clone(), created: false, events: Vec::new() }),
                            Err(_) => Err(StoreError::Internal("a grouped send lost its first".into())),
                        },
                    });
                }
                Ok(answers)
            }

            /// Numbers `events` (in order) from their topics' counters and their workspaces'
            /// logs (`event_ws`, one per event) in one statement: each counter moves by its
            /// count and the events take the numbers up to its new value. Returns each event's
            /// log offset.
            async fn take_offsets(
                tx: &mut sqlx::Transaction<'static, $db>,
                events: &mut [switchboard::Event],
                event_ws: &[switchboard::WorkspaceId],
            ) -> Result<Vec<i64>, switchboard::StoreError> {
                use std::collections::{BTreeMap, HashMap};
                let logs: Vec<String> = event_ws.iter().map(|ws| format!("log:{ws}")).collect();
                // Workspace logs sort first: every transaction takes a log before its topics
                // (as `append_event` does), so writers never deadlock on the counters.
                let mut counts: BTreeMap<(bool, &str), i64> = BTreeMap::new();
                for key in &logs {
                    *counts.entry((false, key.as_str())).or_default() += 1;
                }
                for event in events.iter() {
                    *counts.entry((true, event.topic.as_str())).or_default() += 1;
                }
                let sql = format!(
                    "insert into topic_offset (topic, last_offset) values {}
                     on conflict (topic) do update set last_offset = topic_offset.last_offset + excluded.last_offset
                     returning topic, last_offset",
                    $crate::store::batch::Params::new(Self::BACKEND).rows(counts.len(), 2)
                );
                let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
                for ((_, key), count) in &counts {
                    query = query.bind(*key).bind(*count);
                }
                let tops: HashMap<String, i64> =
                    query.fetch_all(&mut **tx).await.map_err($crate::store::map_err)?.into_iter().collect();
                let mut next: HashMap<String, i64> = HashMap::with_capacity(counts.len());
                for ((_, key), count) in &counts {
                    let top = tops
                        .get(*key)
                        .ok_or_else(|| switchboard::StoreError::Internal(format!("no offset came back for {key}")))?;
                    next.insert((*key).to_owned(), top - count + 1);
                }
                let mut take = |key: &str| -> Result<i64, switchboard::StoreError> {
                    let n = next
                        .get_mut(key)
                        .ok_or_else(|| switchboard::StoreError::Internal(format!("{key} was not counted")))?;
                    *n += 1;
                    Ok(*n - 1)
                };
                let mut log_offsets = Vec::with_capacity(events.len());
                for (event, log) in events.iter_mut().zip(&logs) {
                    log_offsets.push(take(log)?);
                    event.offset = take(&event.topic)?;
                }
                Ok(log_offsets)
            }

            /// Inserts numbered events (`event_ws` and `log_offsets` one per event).
            async fn insert_events(
                tx: &mut sqlx::Transaction<'static, $db>,
                events: &[switchboard::Event],
                event_ws: &[switchboard::WorkspaceId],
                log_offsets: &[i64],
            ) -> Result<(), switchboard::StoreError> {
                let sql = format!(
                    "insert into event (event_id, workspace_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload, workspace_offset)
                     values {}",
                    $crate::store::batch::Params::new(Self::BACKEND).rows(events.len(), 10)
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for ((event, ws), log) in events.iter().zip(event_ws).zip(log_offsets) {
                    query = query
                        .bind(event.id.as_uuid())
                        .bind(ws.as_uuid())
                        .bind(&event.topic)
                        .bind(event.offset)
                        .bind(&event.kind)
                        .bind(event.schema_version as i32)
                        .bind(event.occurred_at)
                        .bind(&event.trace_id)
                        .bind(sqlx::types::Json(&event.payload))
                        .bind(*log);
                }
                query.execute(&mut **tx).await.map_err($crate::store::map_err)?;
                Ok(())
            }

            /// A new message's events: `message.created` on the conversation's topic and
            /// `conversation.updated` (the list's preview) on the workspace's inbox topic.
            async fn message_events(
                tx: &mut sqlx::Transaction<'static, $db>,
                conversation: &switchboard::Conversation,
                message: &switchboard::Message,
                trace: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<switchboard::Event>, switchboard::StoreError> {
                use switchboard::Topic;
                let ws = conversation.workspace_id;
                let payload = serde_json::to_value(message).map_err(|e| switchboard::StoreError::Internal(e.to_string()))?;
                let created = Self::append_event(tx, ws, Topic::Conversation(conversation.id), switchboard::EventKind::MessageCreated, payload, trace, at).await?;
                // Which message moved the conversation, and whose it is: a client bumps its
                // unread count only for messages it did not send itself.
                let payload = Self::moved_by(conversation, message);
                let list = switchboard::access::list_topic(conversation);
                let updated = Self::append_event(tx, ws, list, switchboard::EventKind::ConversationUpdated, payload, trace, at).await?;
                Ok(vec![created, updated])
            }

            /// The `conversation.updated` payload for a new message.
            fn moved_by(conversation: &switchboard::Conversation, message: &switchboard::Message) -> serde_json::Value {
                serde_json::json!({
                    "conversation_id": conversation.id,
                    "last_message_at": conversation.last_message_at,
                    "last_message_preview": switchboard::message::preview(&message.text),
                    "status": conversation.status,
                    "message_id": message.id,
                    "direction": message.direction,
                    "sender_user_id": message.sender_user_id,
                })
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
                Self::write_mentions(tx, message).await
            }

            /// Mentions: `@handle` of a member who got a flag for `message`.
            async fn write_mentions(
                tx: &mut sqlx::Transaction<'static, $db>,
                message: &switchboard::Message,
            ) -> Result<(), switchboard::StoreError> {
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
