//! Conversations and rooms: the inbox list with unread counts, read state, status, rooms and
//! their members, stars, contact presence and chat titles from the network.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::event::{
    ContactPresence, ConversationChange, ConversationUpdated, ReadReceipt, ReadUpdated,
};
use switchboard::message::{AssigneeFilter, ConversationFilter, ConversationSummary, UnreadCount};
use switchboard::store::{ConversationRepo, NewRoom, StoreError};
use switchboard::{
    ChannelId, ContactId, Conversation, ConversationId, EventBody, Message, MessageId, Topic, UserId,
    WorkspaceId,
};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::rows::{self, conversation_columns, message_columns};
use super::{hot, map_err};

#[async_trait]
impl<D: Backend> ConversationRepo for SqlStore<D>
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
    async fn conversation(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        let row: Option<rows::ConversationRow> = sqlx::query_as(concat!(
            "select ",
            conversation_columns!(),
            " from conversation where workspace_id = $1 and conversation_id = $2"
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    async fn conversations(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            conversation: rows::ConversationRow,
            unread_count: i64,
            unread_mentions: i64,
            contact_online: Option<bool>,
            contact_blocked: Option<String>,
        }
        // One pass of joins, no subquery per row: the caller's position (a primary key
        // lookup), the messages after it (a range of `message_read_idx` per conversation),
        // the caller's mention flags after their positions (sparse rows, one range of the
        // caller's). The cost grows with the conversations listed and their unread messages,
        // never with the members.
        let rows: Vec<Row> = sqlx::query_as(hot::CONVERSATION_LIST)
            .bind(workspace_id.as_uuid())
            .bind(filter.channel_id.map(|c| c.as_uuid()))
            .bind(user_id.as_uuid())
            .bind(filter.like_pattern())
            .bind(filter.unread_only)
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.rooms == switchboard::access::RoomScope::All)
            .bind(Uuid::nil())
            .bind(filter.rooms == switchboard::access::RoomScope::Joined)
            .bind(filter.assignee == Some(AssigneeFilter::Nobody))
            .bind(match filter.assignee {
                Some(AssigneeFilter::User(id)) => Some(id.as_uuid()),
                _ => None,
            })
            .bind(filter.label_id.map(|l| l.as_uuid()))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|r| ConversationSummary {
                conversation: r.conversation.into(),
                unread_count: UnreadCount::capped(r.unread_count),
                unread_mentions: r.unread_mentions.clamp(0, i64::from(u32::MAX)) as u32,
                contact_online: r.contact_online,
                contact_blocked: r.contact_blocked,
            })
            .collect())
    }

    async fn mark_read(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        conversation_id: ConversationId,
        up_to: MessageId,
    ) -> Result<UnreadCount, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let found: Option<(Option<Uuid>, Option<String>)> = sqlx::query_as(
            "select contact_id, room_type from conversation where workspace_id = $1 and conversation_id = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some((contact_id, room_type)) = found else {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
        };
        // The newest message at or before `up_to`: a position is always a message of the
        // conversation, so an id from the future cannot mark later messages read.
        let target: Option<(Uuid,)> = sqlx::query_as(hot::READ_TARGET)
            .bind(conversation_id.as_uuid())
            .bind(up_to.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let moved = match target {
            Some((target,)) => Self::advance_read_position(
                &mut tx,
                workspace_id,
                user_id,
                conversation_id,
                MessageId(target),
                at,
            )
            .await?
            .then_some(MessageId(target)),
            None => None,
        };
        let unread = Self::unread_in(&mut tx, user_id, conversation_id, contact_id.is_none()).await?;
        let mut events = Vec::new();
        if let Some(target) = moved {
            let body = EventBody::ReadUpdated(ReadUpdated { conversation_id, up_to, unread_count: unread });
            let topic = Topic::User(user_id);
            events.push(Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?);
            // A room's members see each other's reads (a livestream's audience is too many to).
            if contact_id.is_none() && room_type.as_deref() != Some("livestream") {
                let body =
                    EventBody::ReadReceipt(ReadReceipt { conversation_id, user_id, message_id: target });
                let topic = Topic::Conversation(conversation_id);
                events.push(Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?);
            }
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(unread)
    }

    async fn create_room(&self, room: NewRoom) -> Result<Conversation, StoreError> {
        let at = switchboard::time::now();
        let ws = room.workspace_id;
        let mut tx = self.begin_write().await?;
        let channel: Option<(Uuid,)> =
            sqlx::query_as("select channel_id from channel where workspace_id = $1 and channel_id = $2")
                .bind(ws.as_uuid())
                .bind(room.channel_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if channel.is_none() {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
        }
        let id = ConversationId::new();
        let row: rows::ConversationRow = sqlx::query_as(concat!(
            "insert into conversation (conversation_id, workspace_id, channel_id, contact_id, external_chat_id, title, created_at, updated_at, room_type, custom)
             values ($1, $2, $3, null, $4, $5, $6, $6, $7, $8) returning ",
            conversation_columns!()
        ))
        .bind(id.as_uuid())
        .bind(ws.as_uuid())
        .bind(room.channel_id.as_uuid())
        .bind(format!("room:{id}"))
        .bind(&room.title)
        .bind(at)
        .bind(room.room_type.as_str())
        .bind(Json(room.custom.clone().unwrap_or_else(|| Value::Object(Default::default()))))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        for member in &room.members {
            // The creator (first) moderates the room.
            let role = if Some(member) == room.members.first() { "moderator" } else { "member" };
            // Only the workspace's people and its app's active users: the select finds nothing
            // for anyone else.
            let sql = format!(
                "insert into conversation_member (conversation_id, user_id, added_at, role)
                 select $3, user_id, $4, $5 from ({}) p",
                hot::WORKSPACE_PARTICIPANT
            );
            let added = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ws.as_uuid())
                .bind(member.as_uuid())
                .bind(id.as_uuid())
                .bind(at)
                .bind(role)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
            if added != 1 {
                tx.rollback().await.map_err(map_err)?;
                return Err(StoreError::Conflict { constraint: "room_member".into() });
            }
        }
        let conversation: Conversation = row.into();
        // A room is private: it appears in its members' lists, through their own topics.
        let mut events = Vec::with_capacity(room.members.len());
        for member in &room.members {
            let topic = Topic::User(*member);
            let body = EventBody::ConversationCreated(conversation.clone());
            events.push(Self::append_event(&mut tx, ws, topic, body, None, at).await?);
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(conversation)
    }

    async fn conversation_members(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
    ) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "select m.user_id from conversation_member m join conversation c on c.conversation_id = m.conversation_id
             where c.workspace_id = $1 and m.conversation_id = $2 order by m.added_at, m.user_id",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(u,)| u.into()).collect())
    }

    async fn set_starred(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        id: MessageId,
        starred: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let message = sqlx::query_as::<_, (Uuid,)>(
            "select m.conversation_id from message m join member w on w.workspace_id = m.workspace_id
             where m.workspace_id = $1 and m.message_id = $2 and w.user_id = $3",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some((conversation_id,)) = message else {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
        };
        // Flags are sparse: a row only while the message is starred or mentions the user.
        sqlx::query(
            "insert into message_flag (user_id, message_id, workspace_id, conversation_id, is_starred)
             values ($1, $2, $3, $4, $5)
             on conflict (user_id, message_id) do update set is_starred = $5",
        )
        .bind(user_id.as_uuid())
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(conversation_id)
        .bind(starred)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if !starred {
            sqlx::query(
                "delete from message_flag where user_id = $1 and message_id = $2
                   and is_starred = false and is_mentioned = false",
            )
            .bind(user_id.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn starred(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<rows::MessageRow> = sqlx::query_as(concat!(
            "select ", message_columns!(), " from message where message_id in
               (select message_id from message_flag where workspace_id = $1 and user_id = $2 and is_starred = true)
             order by message_id desc limit $3"
        ))
        .bind(workspace_id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn set_contact_presence(
        &self,
        channel_id: ChannelId,
        external_id: &str,
        online: bool,
    ) -> Result<bool, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let row: Option<(Uuid, Uuid)> = sqlx::query_as(
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
        .map_err(map_err)?;
        let Some((contact_id, workspace_id)) = row else {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        };
        let ws = WorkspaceId(workspace_id);
        let body = EventBody::ContactPresence(ContactPresence {
            contact_id: ContactId(contact_id),
            channel_id,
            online,
            at,
        });
        let event = Self::append_event(&mut tx, ws, Topic::Inbox(ws), body, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(true)
    }

    async fn move_chat(&self, channel_id: ChannelId, from: &str, to: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let taken: Option<(i32,)> =
            sqlx::query_as("select 1 from conversation where channel_id = $1 and external_chat_id = $2")
                .bind(channel_id.as_uuid())
                .bind(to)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if taken.is_some() {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        let moved = sqlx::query(
            "update conversation set external_chat_id = $3 where channel_id = $1 and external_chat_id = $2",
        )
        .bind(channel_id.as_uuid())
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            == 1;
        sqlx::query("update contact set external_id = $3 where channel_id = $1 and external_id = $2")
            .bind(channel_id.as_uuid())
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(moved)
    }

    async fn set_contact_blocked(
        &self,
        channel_id: ChannelId,
        external_id: &str,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "update contact set blocked_reason = $3
             where channel_id = $1 and external_id = $2 and coalesce(blocked_reason, '') <> coalesce($3, '')",
        )
        .bind(channel_id.as_uuid())
        .bind(external_id)
        .bind(reason)
        .execute(&self.pool)
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn rename_chat(
        &self,
        channel_id: ChannelId,
        external_chat_id: &str,
        title: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let row: Option<rows::ConversationRow> = sqlx::query_as(concat!(
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
        .map_err(map_err)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        };
        let conversation: Conversation = row.into();
        let body = EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id: conversation.id,
            change: ConversationChange::Renamed {
                title: conversation.title.clone(),
                status: conversation.status,
            },
        });
        let ws = conversation.workspace_id;
        let topic = switchboard::access::list_topic(&conversation);
        let event = Self::append_event(&mut tx, ws, topic, body, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(Some(conversation))
    }
}
