//! Messages: reads, edits and deletes, and the pieces every message write shares (read
//! positions and mentions, the conversation's last activity, the `message.created` pair of
//! events).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::event::{ConversationChange, ConversationUpdated, MessageDeleted};
use switchboard::message::{MessageRef, UnreadCount};
use switchboard::store::{MessageRepo, StoreError};
use switchboard::{
    Conversation, ConversationId, Event, EventBody, Message, MessageId, Topic, UserId, WorkspaceId,
};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::rows::{self, conversation_columns, message_columns};
use super::{hot, map_err};

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
    pub(crate) async fn message_in(
        tx: &mut Transaction<'static, D>,
        id: MessageId,
    ) -> Result<Message, StoreError> {
        let row: rows::MessageRow =
            sqlx::query_as(concat!("select ", message_columns!(), " from message where message_id = $1"))
                .bind(id.as_uuid())
                .fetch_one(&mut **tx)
                .await
                .map_err(map_err)?;
        row.try_into()
    }

    /// The message a reference names, inside `tx`: `NotFound` for an unknown id of ours,
    /// `None` for an unknown network id (the network may talk about messages we never saw).
    pub(crate) async fn message_by_ref(
        tx: &mut Transaction<'static, D>,
        target: &MessageRef,
    ) -> Result<Option<Message>, StoreError> {
        let row: Option<rows::MessageRow> = match target {
            MessageRef::Id { workspace_id, id } => {
                let row = sqlx::query_as(concat!(
                    "select ",
                    message_columns!(),
                    " from message where workspace_id = $1 and message_id = $2"
                ))
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&mut **tx)
                .await
                .map_err(map_err)?;
                Some(row.ok_or(StoreError::NotFound)?)
            }
            MessageRef::External { channel_id, external_id } => sqlx::query_as(concat!(
                "select ",
                message_columns!(),
                " from message where channel_id = $1 and external_id = $2"
            ))
            .bind(channel_id.as_uuid())
            .bind(external_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_err)?,
        };
        row.map(TryInto::try_into).transpose()
    }

    /// A message's new text as a `message.updated` event on its conversation's topic (a
    /// user's edit and a network's alike).
    pub(crate) async fn updated_event(
        tx: &mut Transaction<'static, D>,
        message: &Message,
        trace: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Event, StoreError> {
        let topic = Topic::Conversation(message.conversation_id);
        let body = EventBody::MessageUpdated(message.clone());
        Self::append_event(tx, message.workspace_id, topic, body, trace, at).await
    }

    /// A page of what the conversation shows, and `viewer`'s own shadowed messages.
    async fn history_of(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: switchboard::ConversationId,
        viewer: Option<UserId>,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<rows::MessageRow> = sqlx::query_as(concat!(
            "select ",
            message_columns!(),
            " from message where workspace_id = $1 and conversation_id = $2 and ($3 is null or message_id < $3)
                and (visibility = 'all' or (visibility = 'author' and sender_user_id = $5))
              order by message_id desc limit $4"
        ))
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .bind(before.map(|b| b.as_uuid()))
        .bind(i64::from(limit))
        .bind(viewer.map(|v| v.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// A new message's events: `message.created` on the conversation's topic and
    /// `conversation.updated` (the list's preview) on the workspace's inbox topic.
    pub(crate) async fn message_events(
        tx: &mut Transaction<'static, D>,
        conversation: &Conversation,
        message: &Message,
        trace: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Event>, StoreError> {
        let ws = conversation.workspace_id;
        let topic = Topic::Conversation(conversation.id);
        let body = EventBody::MessageCreated(message.clone());
        let created = Self::append_event(tx, ws, topic, body, trace, at).await?;
        let list = switchboard::access::list_topic(conversation);
        let body = Self::moved_by(conversation, message);
        let updated = Self::append_event(tx, ws, list, body, trace, at).await?;
        Ok(vec![created, updated])
    }

    /// The `conversation.updated` for a new message: which message moved the conversation,
    /// and whose it is (a client bumps its unread count only for messages it did not send).
    pub(crate) fn moved_by(conversation: &Conversation, message: &switchboard::Message) -> EventBody {
        EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id: conversation.id,
            change: ConversationChange::NewMessage {
                last_message_at: conversation.last_message_at,
                last_message_preview: message.preview(),
                status: conversation.status,
                message_id: message.id,
                direction: message.direction,
                sender_user_id: message.sender_user_id,
            },
        })
    }

    /// Moves a member's read position in a conversation forward to `to` (never backwards).
    /// `true` when it moved.
    pub(crate) async fn advance_read_position(
        tx: &mut Transaction<'static, D>,
        workspace_id: WorkspaceId,
        user_id: UserId,
        conversation_id: ConversationId,
        to: MessageId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(hot::ADVANCE_READ_POSITION)
            .bind(user_id.as_uuid())
            .bind(conversation_id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(to.as_uuid())
            .bind(at)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(moved > 0)
    }

    /// A member's unread count in a conversation: the messages after their position that
    /// are not their own (in a contact conversation, only the contact's), at most 100 rows
    /// of one `message_read_idx` range.
    pub(crate) async fn unread_in(
        tx: &mut Transaction<'static, D>,
        user_id: UserId,
        conversation_id: ConversationId,
        room: bool,
    ) -> Result<UnreadCount, StoreError> {
        let (count,): (i64,) = sqlx::query_as(hot::UNREAD_COUNT)
            .bind(conversation_id.as_uuid())
            .bind(user_id.as_uuid())
            .bind(room)
            .bind(Uuid::nil())
            .fetch_one(&mut **tx)
            .await
            .map_err(map_err)?;
        Ok(UnreadCount::capped(count))
    }

    /// What a new message writes besides itself: its sender has read it (their position
    /// moves to it), and each member it mentions gets a mention flag. Nothing per member of
    /// the conversation: the others' unread counts come from their positions.
    pub(crate) async fn record_new_message(
        tx: &mut Transaction<'static, D>,
        message: &Message,
        room: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(sender) = message.sender_user_id {
            Self::advance_read_position(
                tx,
                message.workspace_id,
                sender,
                message.conversation_id,
                message.id,
                at,
            )
            .await?;
        }
        Self::write_mentions(tx, message, room).await
    }

    /// Mentions: `@handle` of a member who can read `message` (a room's members, or the
    /// workspace's for a contact conversation). Read only when the text has an `@`.
    pub(crate) async fn write_mentions(
        tx: &mut Transaction<'static, D>,
        message: &Message,
        room: bool,
    ) -> Result<(), StoreError> {
        if !mentions_someone(message) {
            return Ok(());
        }
        let readers: Vec<(Uuid, String, String)> = if room {
            sqlx::query_as(
                "select u.user_id, u.email, u.name from conversation_member cm
                 join user_account u on u.user_id = cm.user_id where cm.conversation_id = $1",
            )
            .bind(message.conversation_id.as_uuid())
            .fetch_all(&mut **tx)
            .await
        } else {
            sqlx::query_as(
                "select u.user_id, u.email, u.name from member w
                 join user_account u on u.user_id = w.user_id where w.workspace_id = $1",
            )
            .bind(message.workspace_id.as_uuid())
            .fetch_all(&mut **tx)
            .await
        }
        .map_err(map_err)?;
        for (user_id, email, name) in readers {
            if Some(UserId(user_id)) == message.sender_user_id
                || !switchboard::message::mentions(&message.text, &email, &name)
            {
                continue;
            }
            sqlx::query(
                "insert into message_flag (user_id, message_id, workspace_id, conversation_id, is_mentioned)
                 values ($1, $2, $3, $4, true)
                 on conflict (user_id, message_id) do update set is_mentioned = true",
            )
            .bind(user_id)
            .bind(message.id.as_uuid())
            .bind(message.workspace_id.as_uuid())
            .bind(message.conversation_id.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }

    /// Moves the conversation's last activity to this message (never backwards); an inbound
    /// message also moves the contact's last-message time to `inbound_at` (the network's clock),
    /// never backwards.
    pub(crate) async fn touch_conversation(
        tx: &mut Transaction<'static, D>,
        conversation: &Conversation,
        message: &Message,
        inbound_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        // A contact writing again reopens a resolved, pending or snoozed conversation.
        let row: rows::ConversationRow = sqlx::query_as(concat!(
            "update conversation set last_message_at = $2, last_message_preview = $3, updated_at = $2,
                status = case when $4 then 'open' else status end, last_message_sender_user_id = $5,
                snoozed_until = case when $4 then null else snoozed_until end,
                last_inbound_at = case when $4 and (last_inbound_at is null or last_inbound_at < $6)
                                       then $6 else last_inbound_at end
             where conversation_id = $1 returning ",
            conversation_columns!()
        ))
        .bind(conversation.id.as_uuid())
        .bind(at)
        .bind(message.preview())
        .bind(inbound_at.is_some())
        .bind(message.sender_user_id.map(|u| u.as_uuid()))
        .bind(inbound_at.unwrap_or(at))
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(row.into())
    }
}

#[async_trait]
impl<D: Backend> MessageRepo for SqlStore<D>
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
    async fn message(&self, workspace_id: WorkspaceId, id: MessageId) -> Result<Option<Message>, StoreError> {
        let row: Option<rows::MessageRow> = sqlx::query_as(concat!(
            "select ",
            message_columns!(),
            " from message where workspace_id = $1 and message_id = $2"
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn messages(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: switchboard::ConversationId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        self.history_of(workspace_id, conversation_id, None, before, limit).await
    }

    async fn history(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: switchboard::ConversationId,
        viewer: UserId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        self.history_of(workspace_id, conversation_id, Some(viewer), before, limit).await
    }

    async fn thread_replies(
        &self,
        workspace_id: WorkspaceId,
        parent: MessageId,
        viewer: UserId,
        after: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        self.replies_of(workspace_id, parent, viewer, after, limit).await
    }

    async fn edit_message(&self, target: MessageRef, text: &str) -> Result<Option<Message>, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let Some(current) = Self::message_by_ref(&mut tx, &target).await? else {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        };
        if current.deleted_at.is_some() {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::Conflict { constraint: "message_deleted".into() });
        }
        if current.text == text {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        }
        sqlx::query("update message set text = $2, edited_at = $3, updated_at = $3 where message_id = $1")
            .bind(current.id.as_uuid())
            .bind(text)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let message = Self::message_in(&mut tx, current.id).await?;
        let event = Self::updated_event(&mut tx, &message, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(Some(message))
    }

    async fn react(
        &self,
        target: MessageRef,
        reactor: switchboard::reaction::Reactor,
        emoji: &str,
        op: switchboard::reaction::ReactionOp,
    ) -> Result<Option<Message>, StoreError> {
        self.change_reactions(target, reactor, emoji, op).await
    }

    async fn delete_message(&self, target: MessageRef) -> Result<Option<Message>, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let current = Self::message_by_ref(&mut tx, &target).await?;
        let Some(current) = current.filter(|m| m.deleted_at.is_none()) else {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        };
        sqlx::query(
            "update message set text = '', attachments = null, deleted_at = $2, updated_at = $2
             where message_id = $1",
        )
        .bind(current.id.as_uuid())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // Its media are no longer served; the garbage collector takes the bytes.
        sqlx::query("update attachment set deleted_at = $2 where message_id = $1 and deleted_at is null")
            .bind(current.id.as_uuid())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let message = Self::message_in(&mut tx, current.id).await?;
        let body = EventBody::MessageDeleted(MessageDeleted {
            message_id: message.id,
            conversation_id: message.conversation_id,
            deleted_at: message.deleted_at,
        });
        let topic = Topic::Conversation(message.conversation_id);
        let mut events =
            vec![Self::append_event(&mut tx, message.workspace_id, topic, body, None, at).await?];
        events.extend(Self::unpin_deleted(&mut tx, &message, at).await?);
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(Some(message))
    }
}

/// Whether a message may mention someone (an `@` in its text): only then are its mentions read.
pub(crate) fn mentions_someone(message: &Message) -> bool {
    message.text.contains('@')
}
