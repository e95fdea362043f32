//! The desk (`/api/v1/conversations/{id}` status, assignee and labels; `/api/v1/labels`,
//! `/api/v1/canned-replies`): each change of a conversation with its `conversation.updated` on
//! the conversation's list topic, in the change's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::desk::{CannedReply, Label};
use switchboard::event::{ConversationChange, ConversationUpdated};
use switchboard::message::ConversationStatus;
use switchboard::store::{DeskRepo, NewAssignment, StoreError};
use switchboard::{CannedReplyId, Conversation, ConversationId, EventBody, LabelId, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::rows::{self, conversation_columns};
use super::{abort, map_err};

#[derive(sqlx::FromRow)]
struct LabelRow {
    label_id: Uuid,
    workspace_id: Uuid,
    name: String,
    color: String,
    created_at: DateTime<Utc>,
}

impl From<LabelRow> for Label {
    fn from(r: LabelRow) -> Self {
        Label {
            id: r.label_id.into(),
            workspace_id: r.workspace_id.into(),
            name: r.name,
            color: r.color,
            created_at: r.created_at,
        }
    }
}

const LABEL_COLUMNS: &str = "label_id, workspace_id, name, color, created_at";

#[derive(sqlx::FromRow)]
struct CannedRow {
    canned_reply_id: Uuid,
    workspace_id: Uuid,
    short_code: String,
    text: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<CannedRow> for CannedReply {
    fn from(r: CannedRow) -> Self {
        CannedReply {
            id: r.canned_reply_id.into(),
            workspace_id: r.workspace_id.into(),
            short_code: r.short_code,
            text: r.text,
            created_by: r.created_by.map(Into::into),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const CANNED_COLUMNS: &str =
    "canned_reply_id, workspace_id, short_code, text, created_by, created_at, updated_at";

/// The name labels are told apart by: "VIP" and "vip" are one label.
fn lower_name(name: &str) -> String {
    name.to_lowercase()
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
    /// Appends a conversation's `conversation.updated` on its list topic.
    async fn conversation_changed(
        tx: &mut Transaction<'static, D>,
        conversation: &Conversation,
        change: ConversationChange,
        at: DateTime<Utc>,
    ) -> Result<switchboard::Event, StoreError> {
        let body =
            EventBody::ConversationUpdated(ConversationUpdated { conversation_id: conversation.id, change });
        let topic = switchboard::access::list_topic(conversation);
        Self::append_event(tx, conversation.workspace_id, topic, body, None, at).await
    }

    fn status_change(conversation: &Conversation) -> ConversationChange {
        ConversationChange::Status {
            last_message_at: conversation.last_message_at,
            last_message_preview: conversation.last_message_preview.clone(),
            status: conversation.status,
            snoozed_until: conversation.snoozed_until,
        }
    }

    /// Rewrites a conversation's `label_ids` from its `conversation_label` rows (oldest first).
    async fn relabel(
        tx: &mut Transaction<'static, D>,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "select label_id from conversation_label where conversation_id = $1 order by added_at, label_id",
        )
        .bind(id.as_uuid())
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let value = Value::from(ids);
        let row: rows::ConversationRow = sqlx::query_as(concat!(
            "update conversation set label_ids = $2, updated_at = $3 where conversation_id = $1 returning ",
            conversation_columns!()
        ))
        .bind(id.as_uuid())
        .bind(Json(&value))
        .bind(at)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(row.into())
    }

    /// A conversation of the workspace, read in the transaction.
    async fn conversation_in(
        tx: &mut Transaction<'static, D>,
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
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(row.map(Into::into))
    }

    async fn label_count(&self, workspace_id: WorkspaceId) -> Result<i64, StoreError> {
        sqlx::query_scalar("select count(*) from label where workspace_id = $1")
            .bind(workspace_id.as_uuid())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)
    }
}

#[async_trait]
impl<D: Backend> DeskRepo for SqlStore<D>
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
    async fn set_conversation_status(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        status: ConversationStatus,
        snoozed_until: Option<DateTime<Utc>>,
    ) -> Result<Conversation, StoreError> {
        let at = switchboard::time::now();
        let snoozed = status == ConversationStatus::Snoozed && snoozed_until.is_some();
        let until = snoozed_until.unwrap_or(at);
        let mut tx = self.begin_write().await?;
        // Unchanged (the same status, the same snooze) writes nothing.
        let row: Option<rows::ConversationRow> = sqlx::query_as(concat!(
            "update conversation set status = $3, updated_at = $4,
                 snoozed_until = case when $5 then $6 else null end
             where workspace_id = $1 and conversation_id = $2
               and (status <> $3 or ($5 and (snoozed_until is null or snoozed_until <> $6))) returning ",
            conversation_columns!()
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(status.as_str())
        .bind(at)
        .bind(snoozed)
        .bind(until)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(map_err)?;
            let found = switchboard::store::ConversationRepo::conversation(self, workspace_id, id).await?;
            return found.ok_or(StoreError::NotFound);
        };
        let conversation: Conversation = row.into();
        let event =
            Self::conversation_changed(&mut tx, &conversation, Self::status_change(&conversation), at)
                .await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(conversation)
    }

    async fn wake_snoozed(&self, now: DateTime<Utc>, limit: u32) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows: Vec<rows::ConversationRow> = sqlx::query_as(concat!(
            "update conversation set status = 'open', snoozed_until = null, updated_at = $1
             where conversation_id in (select conversation_id from conversation
                                       where status = 'snoozed' and snoozed_until <= $1 limit $2) returning ",
            conversation_columns!()
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let conversation: Conversation = row.into();
            let change = Self::status_change(&conversation);
            events.push(Self::conversation_changed(&mut tx, &conversation, change, now).await?);
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(events.len())
    }

    async fn assign(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        assignment: NewAssignment,
    ) -> Result<Conversation, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        if let Some(assignee) = assignment.assignee {
            let staff: Option<(Uuid,)> = sqlx::query_as(
                "select user_id from member where workspace_id = $1 and user_id = $2
                   and role in ('owner', 'admin', 'agent')",
            )
            .bind(workspace_id.as_uuid())
            .bind(assignee.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if staff.is_none() {
                return abort(tx, StoreError::Conflict { constraint: "assignee".into() }).await;
            }
        }
        // One statement decides a race: the second "assign to me" finds it taken.
        let target = assignment.assignee.map(|u| u.as_uuid());
        let row: Option<rows::ConversationRow> = sqlx::query_as(concat!(
            "update conversation set assignee_id = $3, updated_at = $4
             where workspace_id = $1 and conversation_id = $2 and contact_id is not null
               and coalesce(assignee_id, $5) <> coalesce($3, $5)
               and ($6 = false or assignee_id is null) returning ",
            conversation_columns!()
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(target)
        .bind(at)
        .bind(Uuid::nil())
        .bind(assignment.only_if_unassigned)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(map_err)?;
            let found = switchboard::store::ConversationRepo::conversation(self, workspace_id, id)
                .await?
                .ok_or(StoreError::NotFound)?;
            if found.assignee_id != assignment.assignee && assignment.only_if_unassigned {
                return Err(StoreError::Conflict { constraint: "conversation_assigned".into() });
            }
            return Ok(found);
        };
        let conversation: Conversation = row.into();
        let change = ConversationChange::Assigned {
            assignee_id: conversation.assignee_id,
            assigned_by: assignment.by,
            assigned_at: at,
        };
        let event = Self::conversation_changed(&mut tx, &conversation, change, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(conversation)
    }

    async fn labels(&self, workspace_id: WorkspaceId) -> Result<Vec<Label>, StoreError> {
        let sql = format!("select {LABEL_COLUMNS} from label where workspace_id = $1 order by lower_name");
        let rows: Vec<LabelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_label(
        &self,
        workspace_id: WorkspaceId,
        name: &str,
        color: &str,
        limit: usize,
    ) -> Result<Label, StoreError> {
        if self.label_count(workspace_id).await? as usize >= limit {
            return Err(StoreError::Conflict { constraint: "label_limit".into() });
        }
        let sql = format!(
            "insert into label (label_id, workspace_id, name, lower_name, color, created_at)
             values ($1, $2, $3, $4, $5, $6) returning {LABEL_COLUMNS}"
        );
        let row: LabelRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(LabelId::new().as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(name)
            .bind(lower_name(name))
            .bind(color)
            .bind(switchboard::time::now())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.into())
    }

    async fn update_label(
        &self,
        workspace_id: WorkspaceId,
        id: LabelId,
        name: &str,
        color: &str,
    ) -> Result<Label, StoreError> {
        let sql = format!(
            "update label set name = $3, lower_name = $4, color = $5 where workspace_id = $1 and label_id = $2
             returning {LABEL_COLUMNS}"
        );
        let row: Option<LabelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .bind(name)
            .bind(lower_name(name))
            .bind(color)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    async fn delete_label(&self, workspace_id: WorkspaceId, id: LabelId) -> Result<(), StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let on: Vec<Uuid> = sqlx::query_scalar(
            "select cl.conversation_id from conversation_label cl
             where cl.label_id = $1 and cl.workspace_id = $2",
        )
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let deleted = sqlx::query("delete from label where workspace_id = $1 and label_id = $2")
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if deleted.rows_affected() == 0 {
            return abort(tx, StoreError::NotFound).await;
        }
        // The cascade took the label off; each conversation's list and event follow.
        sqlx::query("delete from conversation_label where label_id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut events = Vec::with_capacity(on.len());
        for conversation in on {
            let conversation = Self::relabel(&mut tx, conversation.into(), at).await?;
            let change = ConversationChange::Labels { label_ids: conversation.label_ids.clone() };
            events.push(Self::conversation_changed(&mut tx, &conversation, change, at).await?);
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(())
    }

    async fn set_conversation_labels(
        &self,
        workspace_id: WorkspaceId,
        id: ConversationId,
        labels: &[LabelId],
    ) -> Result<Conversation, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let Some(before) = Self::conversation_in(&mut tx, workspace_id, id).await? else {
            return abort(tx, StoreError::NotFound).await;
        };
        let mut wanted: Vec<LabelId> = Vec::with_capacity(labels.len());
        for label in labels {
            if !wanted.contains(label) {
                wanted.push(*label);
            }
        }
        if wanted == before.label_ids {
            tx.rollback().await.map_err(map_err)?;
            return Ok(before);
        }
        for label in &before.label_ids {
            if !wanted.contains(label) {
                sqlx::query("delete from conversation_label where conversation_id = $1 and label_id = $2")
                    .bind(id.as_uuid())
                    .bind(label.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
        }
        // New ones in the order given, after the ones kept: a microsecond apart.
        for (i, label) in wanted.iter().filter(|l| !before.label_ids.contains(l)).enumerate() {
            let added = sqlx::query(
                "insert into conversation_label (conversation_id, label_id, workspace_id, added_at)
                 select $1, label_id, workspace_id, $3 from label where workspace_id = $4 and label_id = $2",
            )
            .bind(id.as_uuid())
            .bind(label.as_uuid())
            .bind(at + chrono::Duration::microseconds(i as i64))
            .bind(workspace_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if added.rows_affected() != 1 {
                return abort(tx, StoreError::Conflict { constraint: "label".into() }).await;
            }
        }
        let conversation = Self::relabel(&mut tx, id, at).await?;
        let change = ConversationChange::Labels { label_ids: conversation.label_ids.clone() };
        let event = Self::conversation_changed(&mut tx, &conversation, change, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(conversation)
    }

    async fn canned_replies(&self, workspace_id: WorkspaceId) -> Result<Vec<CannedReply>, StoreError> {
        let sql =
            format!("select {CANNED_COLUMNS} from canned_reply where workspace_id = $1 order by short_code");
        let rows: Vec<CannedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_canned_reply(
        &self,
        workspace_id: WorkspaceId,
        by: switchboard::UserId,
        short_code: &str,
        text: &str,
        limit: usize,
    ) -> Result<CannedReply, StoreError> {
        let count: i64 = sqlx::query_scalar("select count(*) from canned_reply where workspace_id = $1")
            .bind(workspace_id.as_uuid())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        if count as usize >= limit {
            return Err(StoreError::Conflict { constraint: "canned_reply_limit".into() });
        }
        let at = switchboard::time::now();
        let sql = format!(
            "insert into canned_reply (canned_reply_id, workspace_id, short_code, text, created_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $6) returning {CANNED_COLUMNS}"
        );
        let row: CannedRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(CannedReplyId::new().as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(short_code)
            .bind(text)
            .bind(by.as_uuid())
            .bind(at)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.into())
    }

    async fn update_canned_reply(
        &self,
        workspace_id: WorkspaceId,
        id: CannedReplyId,
        short_code: &str,
        text: &str,
    ) -> Result<CannedReply, StoreError> {
        let sql = format!(
            "update canned_reply set short_code = $3, text = $4, updated_at = $5
             where workspace_id = $1 and canned_reply_id = $2 returning {CANNED_COLUMNS}"
        );
        let row: Option<CannedRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .bind(short_code)
            .bind(text)
            .bind(switchboard::time::now())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    async fn set_auto_assign(
        &self,
        workspace_id: WorkspaceId,
        channel_id: switchboard::ChannelId,
        on: bool,
    ) -> Result<(), StoreError> {
        let found: Option<(Uuid,)> =
            sqlx::query_as("select channel_id from channel where workspace_id = $1 and channel_id = $2")
                .bind(workspace_id.as_uuid())
                .bind(channel_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        let sql = if on {
            "insert into auto_assign (channel_id, workspace_id, enabled_at) values ($1, $2, $3)
             on conflict (channel_id) do nothing"
        } else {
            "delete from auto_assign where channel_id = $1 and workspace_id = $2 and enabled_at <= $3"
        };
        sqlx::query(sql)
            .bind(channel_id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(switchboard::time::now())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn auto_assign(
        &self,
        channel_id: switchboard::ChannelId,
    ) -> Result<Option<Vec<(switchboard::UserId, DateTime<Utc>)>>, StoreError> {
        let on: Option<(Uuid,)> = sqlx::query_as("select channel_id from auto_assign where channel_id = $1")
            .bind(channel_id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        if on.is_none() {
            return Ok(None);
        }
        let turns: Vec<(Uuid, DateTime<Utc>)> =
            sqlx::query_as("select user_id, last_assigned_at from auto_assign_turn where channel_id = $1")
                .bind(channel_id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(Some(turns.into_iter().map(|(u, at)| (u.into(), at)).collect()))
    }

    async fn auto_assigned(
        &self,
        channel_id: switchboard::ChannelId,
        user_id: switchboard::UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into auto_assign_turn (channel_id, user_id, last_assigned_at) values ($1, $2, $3)
             on conflict (channel_id, user_id) do update set last_assigned_at = excluded.last_assigned_at",
        )
        .bind(channel_id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn search_messages(
        &self,
        workspace_id: WorkspaceId,
        viewer: switchboard::UserId,
        rooms: switchboard::access::RoomScope,
        terms: &[String],
        before: Option<switchboard::MessageId>,
        limit: u32,
    ) -> Result<Vec<switchboard::search::SearchHit>, StoreError> {
        self.search_in(workspace_id, viewer, rooms, terms, before, limit).await
    }

    async fn history_from(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        viewer: switchboard::UserId,
        from: switchboard::MessageId,
        limit: u32,
    ) -> Result<Vec<switchboard::Message>, StoreError> {
        self.history_from_in(workspace_id, conversation_id, viewer, from, limit).await
    }

    async fn delete_canned_reply(
        &self,
        workspace_id: WorkspaceId,
        id: CannedReplyId,
    ) -> Result<(), StoreError> {
        let deleted =
            sqlx::query("delete from canned_reply where workspace_id = $1 and canned_reply_id = $2")
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
