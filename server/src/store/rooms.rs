//! Room membership: who belongs to which room and with which role, read by the access rules
//! (`crate::access`) and changed by `POST`/`DELETE /api/v1/conversations/{id}/members`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::access::RoomRole;
use switchboard::event::{ConversationChange, ConversationUpdated};
use switchboard::store::{RoomQuery, RoomRepo, RoomSort, StandingOfUser, StoreError};
use switchboard::{Conversation, ConversationId, Event, EventBody, Topic, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::rows::{self, conversation_columns};
use super::{abort, map_err};

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
    /// A room's members in the order they joined, inside `tx`.
    async fn room_members_in(
        tx: &mut Transaction<'static, D>,
        conversation_id: ConversationId,
    ) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "select user_id from conversation_member where conversation_id = $1 order by added_at, user_id",
        )
        .bind(conversation_id.as_uuid())
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(u,)| u.into()).collect())
    }

    /// The room (a conversation with no contact) of the workspace, inside `tx`; `NotFound`
    /// when there is none.
    async fn room_in(
        tx: &mut Transaction<'static, D>,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        let row: Option<rows::ConversationRow> = sqlx::query_as(concat!(
            "select ",
            conversation_columns!(),
            " from conversation where workspace_id = $1 and conversation_id = $2 and contact_id is null"
        ))
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_err)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    /// A conversation with the user's roles (`sql`: [`super::hot::CONVERSATION_STANDING_OF_USER`]),
    /// and with `topic`, the offset of its latest event ([`super::hot::CONVERSATION_STANDING_AT`]).
    async fn standing_of_user(
        &self,
        sql: &'static str,
        conversation_id: ConversationId,
        user_id: UserId,
        topic: Option<String>,
    ) -> Result<Option<(StandingOfUser, i64)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            conversation: rows::ConversationRow,
            room_role: Option<String>,
            workspace_role: Option<String>,
            #[sqlx(default)]
            topic_offset: Option<i64>,
        }
        let mut query = sqlx::query_as(sql).bind(conversation_id.as_uuid()).bind(user_id.as_uuid());
        if let Some(topic) = topic {
            query = query.bind(topic);
        }
        let row: Option<Row> = query.fetch_optional(&self.pool).await.map_err(map_err)?;
        let Some(Row { conversation, room_role, workspace_role: Some(workspace_role), topic_offset }) = row
        else {
            return Ok(None);
        };
        let room_role = room_role.map(|r| r.parse().map_err(StoreError::Internal)).transpose()?;
        let standing = (rows::role(&workspace_role)?, conversation.into(), room_role);
        Ok(Some((standing, topic_offset.unwrap_or(0))))
    }

    /// The `conversation.updated` a membership change puts on the room's topic.
    async fn members_changed(
        tx: &mut Transaction<'static, D>,
        room: &Conversation,
        members: &[UserId],
        at: DateTime<Utc>,
    ) -> Result<Event, StoreError> {
        let body = EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id: room.id,
            change: ConversationChange::Members { member_ids: members.to_vec() },
        });
        let topic = Topic::Conversation(room.id);
        Self::append_event(tx, room.workspace_id, topic, body, None, at).await
    }
}

#[async_trait]
impl<D: Backend> RoomRepo for SqlStore<D>
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
    async fn conversation_standing(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<(Conversation, Option<RoomRole>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            conversation: rows::ConversationRow,
            room_role: Option<String>,
        }
        let row: Option<Row> = sqlx::query_as(concat!(
            "select ",
            conversation_columns!(),
            ", (select m.role from conversation_member m
                where m.conversation_id = conversation.conversation_id and m.user_id = $3) as room_role
             from conversation where workspace_id = $1 and conversation_id = $2"
        ))
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let role = row.room_role.map(|r| r.parse().map_err(StoreError::Internal)).transpose()?;
        Ok(Some((row.conversation.into(), role)))
    }

    async fn conversation_standing_of_user(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<StandingOfUser>, StoreError> {
        let found =
            self.standing_of_user(super::hot::CONVERSATION_STANDING_OF_USER, conversation_id, user_id, None);
        Ok(found.await?.map(|(standing, _)| standing))
    }

    async fn conversation_standing_at(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<(StandingOfUser, i64)>, StoreError> {
        let topic = Topic::Conversation(conversation_id).to_string();
        self.standing_of_user(super::hot::CONVERSATION_STANDING_AT, conversation_id, user_id, Some(topic))
            .await
    }

    async fn add_room_members(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        users: &[UserId],
    ) -> Result<(Vec<UserId>, usize), StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let room = match Self::room_in(&mut tx, workspace_id, conversation_id).await {
            Ok(room) => room,
            Err(err) => return abort(tx, err).await,
        };
        let mut added = Vec::new();
        for user in users {
            let member: Option<(Uuid,)> = sqlx::query_as(super::hot::WORKSPACE_PARTICIPANT)
                .bind(workspace_id.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if member.is_none() {
                return abort(tx, StoreError::Conflict { constraint: "room_member".into() }).await;
            }
            let inserted = sqlx::query(
                "insert into conversation_member (conversation_id, user_id, added_at, role)
                 values ($1, $2, $3, 'member') on conflict (conversation_id, user_id) do nothing",
            )
            .bind(conversation_id.as_uuid())
            .bind(user.as_uuid())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
            if inserted == 1 {
                // A new member starts with the room's history read (as before read positions,
                // when they had no flags for earlier messages).
                sqlx::query(
                    "insert into read_position (user_id, conversation_id, workspace_id, last_read_message_id, updated_at)
                     select $1, m.conversation_id, m.workspace_id, m.message_id, $3 from message m
                     where m.conversation_id = $2 order by m.message_id desc limit 1
                     on conflict (user_id, conversation_id) do nothing",
                )
                .bind(user.as_uuid())
                .bind(conversation_id.as_uuid())
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                added.push(*user);
            }
        }
        let members = Self::room_members_in(&mut tx, conversation_id).await?;
        let added_count = added.len();
        let mut events = Vec::new();
        if !added.is_empty() {
            events.push(Self::members_changed(&mut tx, &room, &members, at).await?);
            // The room appears in each new member's list, through their own topic.
            for user in added {
                let topic = Topic::User(user);
                let body = EventBody::ConversationCreated(room.clone());
                events.push(Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?);
            }
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok((members, added_count))
    }

    async fn remove_room_member(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Vec<UserId>, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let room = match Self::room_in(&mut tx, workspace_id, conversation_id).await {
            Ok(room) => room,
            Err(err) => return abort(tx, err).await,
        };
        let removed =
            sqlx::query("delete from conversation_member where conversation_id = $1 and user_id = $2")
                .bind(conversation_id.as_uuid())
                .bind(user_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
        if removed == 0 {
            return abort(tx, StoreError::NotFound).await;
        }
        // Their read position, mentions and stars in the room go with them: nothing of it
        // stays readable through their lists.
        for sql in [
            "delete from read_position where user_id = $1 and conversation_id = $2",
            "delete from message_flag where user_id = $1 and conversation_id = $2",
        ] {
            sqlx::query(sql)
                .bind(user_id.as_uuid())
                .bind(conversation_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        let members = Self::room_members_in(&mut tx, conversation_id).await?;
        let event = Self::members_changed(&mut tx, &room, &members, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(members)
    }

    async fn rooms(
        &self,
        workspace_id: WorkspaceId,
        query: &RoomQuery,
    ) -> Result<Vec<Conversation>, StoreError> {
        let key = match query.sort {
            RoomSort::LastMessage => "coalesce(c.last_message_at, c.created_at)",
            RoomSort::Created => "c.created_at",
        };
        // Conditions and their binds, numbered as they are added.
        let mut sql = format!(
            "select {} from conversation c where c.workspace_id = $1 and c.contact_id is null",
            conversation_columns!().split(", ").map(|col| format!("c.{col}")).collect::<Vec<_>>().join(", ")
        );
        enum Arg {
            Id(Uuid),
            Text(String),
        }
        let mut args = vec![Arg::Id(workspace_id.as_uuid())];
        let next = |args: &mut Vec<Arg>, arg: Arg| {
            args.push(arg);
            format!("${}", args.len())
        };
        if !query.all {
            let viewer = next(&mut args, Arg::Id(query.viewer.as_uuid()));
            sql += &format!(
                " and (c.room_type = 'livestream' or exists (select 1 from conversation_member m
                       where m.conversation_id = c.conversation_id and m.user_id = {viewer}))"
            );
        }
        if let Some(member) = query.member {
            let member = next(&mut args, Arg::Id(member.as_uuid()));
            sql += &format!(
                " and exists (select 1 from conversation_member m
                      where m.conversation_id = c.conversation_id and m.user_id = {member})"
            );
        }
        if let Some(room_type) = query.room_type {
            let t = next(&mut args, Arg::Text(room_type.as_str().to_owned()));
            sql += &format!(" and coalesce(c.room_type, 'messaging') = {t}");
        }
        for (field, value) in &query.custom {
            let value = next(&mut args, Arg::Text(value.clone()));
            let at = match D::KIND {
                switchboard::store::Backend::Sqlite => {
                    let path = next(&mut args, Arg::Text(format!("$.\"{field}\"")));
                    format!("json_extract(c.custom, {path})")
                }
                switchboard::store::Backend::Postgres => {
                    let field = next(&mut args, Arg::Text(field.clone()));
                    format!("(c.custom ->> {field})")
                }
            };
            sql += &format!(" and {at} = {value}");
        }
        if let Some(after) = query.after {
            let after = next(&mut args, Arg::Id(after.as_uuid()));
            let their = key.replace("c.", "a.");
            sql += &format!(
                " and ({key}, c.conversation_id) < (select {their}, a.conversation_id from conversation a
                                                   where a.conversation_id = {after})"
            );
        }
        sql += &format!(" order by {key} desc, c.conversation_id desc limit {}", query.limit.clamp(1, 200));
        let mut q = sqlx::query_as::<_, rows::ConversationRow>(sqlx::AssertSqlSafe(sql));
        for arg in args {
            q = match arg {
                Arg::Id(id) => q.bind(id),
                Arg::Text(text) => q.bind(text),
            };
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn hidden_rooms(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "select c.conversation_id from conversation c
             where c.workspace_id = $1 and c.contact_id is null
               and coalesce(c.room_type, 'messaging') <> 'livestream'
               and not exists (select 1 from conversation_member m
                               where m.conversation_id = c.conversation_id and m.user_id = $2)",
        )
        .bind(workspace_id.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(c,)| c.into()).collect())
    }
}
