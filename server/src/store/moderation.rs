//! Moderation's tables: bans, flags, the record of actions, rooms' freeze and slow mode, mutes
//! and the blocklist (`switchboard::moderation`). The send path reads bans, freezes and slow
//! mode in its own transaction (`sends::plan`, through [`SqlStore::send_rules`]).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::access::RoomRole;
use switchboard::event::{ConversationChange, ConversationUpdated};
use switchboard::moderation::{Ban, BlockAction, BlockedWord, Flag, FlagStatus, ModerationAction};
use switchboard::store::{ModerationRepo, NewOutbound, RoomRules, StoreError};
use switchboard::{BanId, Conversation, ConversationId, EventBody, FlagId, Topic, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::rows::{self, conversation_columns};
use super::{abort, map_err};

const BAN_COLUMNS: &str =
    "ban_id, workspace_id, user_id, conversation_id, shadow, reason, created_by, created_at, expires_at";

#[derive(sqlx::FromRow)]
pub(crate) struct BanRow {
    ban_id: Uuid,
    workspace_id: Uuid,
    user_id: Uuid,
    conversation_id: Option<Uuid>,
    shadow: bool,
    reason: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

impl From<BanRow> for Ban {
    fn from(r: BanRow) -> Self {
        Ban {
            id: r.ban_id.into(),
            workspace_id: r.workspace_id.into(),
            user_id: r.user_id.into(),
            conversation_id: r.conversation_id.map(Into::into),
            shadow: r.shadow,
            reason: r.reason,
            created_by: r.created_by.map(Into::into),
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

const FLAG_COLUMNS: &str = "flag_id, conversation_id, message_id, target_user_id, reason, flagged_by, status, \
                            created_at, resolved_by, resolved_at";

#[derive(sqlx::FromRow)]
struct FlagRow {
    flag_id: Uuid,
    conversation_id: Option<Uuid>,
    message_id: Option<Uuid>,
    target_user_id: Option<Uuid>,
    reason: String,
    flagged_by: Option<Uuid>,
    status: String,
    created_at: DateTime<Utc>,
    resolved_by: Option<Uuid>,
    resolved_at: Option<DateTime<Utc>>,
}

impl TryFrom<FlagRow> for Flag {
    type Error = StoreError;
    fn try_from(r: FlagRow) -> Result<Self, StoreError> {
        Ok(Flag {
            id: r.flag_id.into(),
            conversation_id: r.conversation_id.map(Into::into),
            message_id: r.message_id.map(Into::into),
            target_user_id: r.target_user_id.map(Into::into),
            reason: r.reason,
            flagged_by: r.flagged_by.map(Into::into),
            status: r.status.parse().map_err(StoreError::Internal)?,
            created_at: r.created_at,
            resolved_by: r.resolved_by.map(Into::into),
            resolved_at: r.resolved_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    actor_id: Option<Uuid>,
    action: String,
    target_user_id: Option<Uuid>,
    conversation_id: Option<Uuid>,
    message_id: Option<Uuid>,
    detail: String,
    created_at: DateTime<Utc>,
}

/// What the moderation rules make of one send (see [`SqlStore::send_rules`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendRule {
    /// It goes as usual.
    Post,
    /// Stored, seen by its author alone.
    Shadowed,
    /// Refused: `banned`, `frozen` or `slow_mode`.
    Refused(&'static str),
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
    pub(crate) async fn record_action(
        tx: &mut Transaction<'static, D>,
        workspace_id: WorkspaceId,
        action: &ModerationAction,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into moderation_action (action_id, workspace_id, actor_id, action, target_user_id, conversation_id,
                                            message_id, detail, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7())
        .bind(workspace_id.as_uuid())
        .bind(action.actor_id.map(|u| u.as_uuid()))
        .bind(action.action.as_str())
        .bind(action.target_user_id.map(|u| u.as_uuid()))
        .bind(action.conversation_id.map(|c| c.as_uuid()))
        .bind(action.message_id.map(|m| m.as_uuid()))
        .bind(action.detail.as_str())
        .bind(action.created_at)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// The moderation rules for each send of a group whose rooms are `rooms` (not for sends
    /// answered from their key already), decided in its transaction from the senders' `bans` in
    /// force (read with the group's conversations) and its own reads: a ban refuses a send (a
    /// shadow ban hides it), a frozen room refuses everyone, slow mode refuses a member who
    /// posted too recently (not the room's moderators nor the workspace's admins). Sends into
    /// rooms in slow mode move their sender's last post, here, in the same transaction.
    pub(crate) async fn send_rules(
        tx: &mut Transaction<'static, D>,
        outs: &[&NewOutbound],
        answered: impl Fn(&NewOutbound) -> bool,
        rooms: &HashMap<ConversationId, &Conversation>,
        places: &HashMap<(ConversationId, UserId), RoomRole>,
        bans: Vec<Ban>,
        at: DateTime<Utc>,
    ) -> Result<Vec<SendRule>, StoreError> {
        let mut rules = vec![SendRule::Post; outs.len()];
        let exempt = |i: usize| {
            outs[i].role.is_admin()
                || places.get(&(outs[i].conversation_id, outs[i].sender)) == Some(&RoomRole::Moderator)
        };
        let in_room: Vec<usize> = (0..outs.len())
            .filter(|i| rooms.contains_key(&outs[*i].conversation_id) && !answered(outs[*i]))
            .collect();
        if in_room.is_empty() {
            return Ok(rules);
        }
        // Last posts in the group's slow rooms.
        let slow: Vec<usize> = in_room
            .iter()
            .copied()
            .filter(|i| rooms[&outs[*i].conversation_id].slow_mode_secs.is_some() && !exempt(*i))
            .collect();
        let mut last: HashMap<(ConversationId, UserId), DateTime<Utc>> = HashMap::new();
        for &i in &slow {
            let key = (outs[i].conversation_id, outs[i].sender);
            if last.contains_key(&key) {
                continue;
            }
            let found: Option<DateTime<Utc>> = sqlx::query_scalar(
                "select last_sent_at from slow_mode_send where conversation_id = $1 and user_id = $2",
            )
            .bind(key.0.as_uuid())
            .bind(key.1.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_err)?;
            if let Some(found) = found {
                last.insert(key, found);
            }
        }

        for &i in &in_room {
            let out = outs[i];
            let room = &rooms[&out.conversation_id];
            let ban = bans.iter().find(|b| {
                b.workspace_id == out.workspace_id
                    && b.user_id == out.sender
                    && b.conversation_id.is_none_or(|c| c == out.conversation_id)
            });
            rules[i] = match ban {
                Some(b) if !b.shadow => SendRule::Refused("banned"),
                _ if room.frozen => SendRule::Refused("frozen"),
                _ if slow.contains(&i) => {
                    let secs = room.slow_mode_secs.unwrap_or_default();
                    let key = (out.conversation_id, out.sender);
                    match switchboard::moderation::slow_mode_wait(last.get(&key).copied(), secs, at) {
                        Some(_) => SendRule::Refused("slow_mode"),
                        None => {
                            last.insert(key, at);
                            if ban.is_some() { SendRule::Shadowed } else { SendRule::Post }
                        }
                    }
                }
                Some(_) => SendRule::Shadowed,
                None => SendRule::Post,
            };
        }
        // The slow rooms' senders who may post: their last post is now.
        for &i in &slow {
            if matches!(rules[i], SendRule::Post | SendRule::Shadowed) {
                sqlx::query(
                    "insert into slow_mode_send (conversation_id, user_id, last_sent_at) values ($1, $2, $3)
                     on conflict (conversation_id, user_id) do update set last_sent_at = excluded.last_sent_at",
                )
                .bind(outs[i].conversation_id.as_uuid())
                .bind(outs[i].sender.as_uuid())
                .bind(at)
                .execute(&mut **tx)
                .await
                .map_err(map_err)?;
            }
        }
        Ok(rules)
    }
}

#[async_trait]
impl<D: Backend> ModerationRepo for SqlStore<D>
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
    async fn ban(&self, ban: &Ban, action: &ModerationAction) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "insert into ban (ban_id, workspace_id, user_id, conversation_id, shadow, reason, created_by, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, null)",
        )
        .bind(ban.id.as_uuid())
        .bind(ban.workspace_id.as_uuid())
        .bind(ban.user_id.as_uuid())
        .bind(ban.conversation_id.map(|c| c.as_uuid()))
        .bind(ban.shadow)
        .bind(ban.reason.as_str())
        .bind(ban.created_by.map(|u| u.as_uuid()))
        .bind(ban.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(until) = ban.expires_at {
            sqlx::query("update ban set expires_at = $2 where ban_id = $1")
                .bind(ban.id.as_uuid())
                .bind(until)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        Self::record_action(&mut tx, ban.workspace_id, action).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn unban(
        &self,
        workspace_id: WorkspaceId,
        id: BanId,
        at: DateTime<Utc>,
        action: &ModerationAction,
    ) -> Result<Ban, StoreError> {
        let mut tx = self.begin_write().await?;
        let row: Option<BanRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update ban set expires_at = $3 where workspace_id = $1 and ban_id = $2
               and (expires_at is null or expires_at > $3) returning {BAN_COLUMNS}"
        )))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return abort(tx, StoreError::NotFound).await };
        let ban: Ban = row.into();
        let action = ModerationAction {
            target_user_id: Some(ban.user_id),
            conversation_id: ban.conversation_id,
            ..action.clone()
        };
        Self::record_action(&mut tx, workspace_id, &action).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(ban)
    }

    async fn bans(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: Option<ConversationId>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Ban>, StoreError> {
        let rows: Vec<BanRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {BAN_COLUMNS} from ban where workspace_id = $1 and (expires_at is null or expires_at > $2)
               and ($3 is null or conversation_id is null or conversation_id = $3)
             order by created_at desc limit 500"
        )))
        .bind(workspace_id.as_uuid())
        .bind(at)
        .bind(conversation_id.map(|c| c.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn flag(
        &self,
        workspace_id: WorkspaceId,
        flag: &Flag,
        action: &ModerationAction,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "insert into moderation_flag (flag_id, workspace_id, conversation_id, message_id, target_user_id, reason,
                                          flagged_by, status, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(flag.id.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(flag.conversation_id.map(|c| c.as_uuid()))
        .bind(flag.message_id.map(|m| m.as_uuid()))
        .bind(flag.target_user_id.map(|u| u.as_uuid()))
        .bind(flag.reason.as_str())
        .bind(flag.flagged_by.map(|u| u.as_uuid()))
        .bind(flag.status.as_str())
        .bind(flag.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        Self::record_action(&mut tx, workspace_id, action).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn flags(
        &self,
        workspace_id: WorkspaceId,
        status: Option<FlagStatus>,
        limit: u32,
    ) -> Result<Vec<Flag>, StoreError> {
        let rows: Vec<FlagRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {FLAG_COLUMNS} from moderation_flag where workspace_id = $1 and ($2 is null or status = $2)
             order by created_at desc, flag_id desc limit $3"
        )))
        .bind(workspace_id.as_uuid())
        .bind(status.map(|s| s.as_str()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn flag_by_id(&self, workspace_id: WorkspaceId, id: FlagId) -> Result<Option<Flag>, StoreError> {
        let row: Option<FlagRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {FLAG_COLUMNS} from moderation_flag where workspace_id = $1 and flag_id = $2"
        )))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn resolve_flag(
        &self,
        workspace_id: WorkspaceId,
        id: FlagId,
        status: FlagStatus,
        action: &ModerationAction,
    ) -> Result<Flag, StoreError> {
        let mut tx = self.begin_write().await?;
        let row: Option<FlagRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update moderation_flag set status = $3, resolved_by = $4, resolved_at = $5
             where workspace_id = $1 and flag_id = $2 and status = 'open' returning {FLAG_COLUMNS}"
        )))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(status.as_str())
        .bind(action.actor_id.map(|u| u.as_uuid()))
        .bind(action.created_at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return abort(tx, StoreError::Conflict { constraint: "flag_closed".into() }).await;
        };
        Self::record_action(&mut tx, workspace_id, action).await?;
        tx.commit().await.map_err(map_err)?;
        row.try_into()
    }

    async fn moderation_actions(
        &self,
        workspace_id: WorkspaceId,
        limit: u32,
    ) -> Result<Vec<ModerationAction>, StoreError> {
        let rows: Vec<ActionRow> = sqlx::query_as(
            "select actor_id, action, target_user_id, conversation_id, message_id, detail, created_at
             from moderation_action where workspace_id = $1 order by created_at desc, action_id desc limit $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|r| ModerationAction {
                actor_id: r.actor_id.map(Into::into),
                action: r.action,
                target_user_id: r.target_user_id.map(Into::into),
                conversation_id: r.conversation_id.map(Into::into),
                message_id: r.message_id.map(Into::into),
                detail: r.detail,
                created_at: r.created_at,
            })
            .collect())
    }

    async fn set_room_rules(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        rules: RoomRules,
        action: &ModerationAction,
    ) -> Result<Conversation, StoreError> {
        let at = action.created_at;
        let mut tx = self.begin_write().await?;
        let sql = match (rules.frozen, rules.slow_mode_secs) {
            (Some(true), _) => "update conversation set frozen_at = coalesce(frozen_at, $3), updated_at = $3
                                 where workspace_id = $1 and conversation_id = $2 and contact_id is null returning ",
            (Some(false), _) => "update conversation set frozen_at = null, updated_at = $3
                                 where workspace_id = $1 and conversation_id = $2 and contact_id is null returning ",
            (None, Some(0)) => "update conversation set slow_mode_secs = null, updated_at = $3
                                 where workspace_id = $1 and conversation_id = $2 and contact_id is null returning ",
            (None, None) => "update conversation set updated_at = $3
                                 where workspace_id = $1 and conversation_id = $2 and contact_id is null returning ",
            (None, Some(_)) => "update conversation set slow_mode_secs = $4, updated_at = $3
                                 where workspace_id = $1 and conversation_id = $2 and contact_id is null returning ",
        };
        let mut query = sqlx::query_as::<_, rows::ConversationRow>(sqlx::AssertSqlSafe(format!(
            "{sql}{}",
            conversation_columns!()
        )))
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .bind(at);
        if rules.frozen.is_none() && rules.slow_mode_secs.is_some_and(|s| s > 0) {
            query = query.bind(i64::from(rules.slow_mode_secs.unwrap_or_default()));
        }
        let row: Option<rows::ConversationRow> = query.fetch_optional(&mut *tx).await.map_err(map_err)?;
        let Some(row) = row else { return abort(tx, StoreError::NotFound).await };
        let room: Conversation = row.into();
        if rules.slow_mode_secs.is_some() {
            // A new pace starts afresh.
            sqlx::query("delete from slow_mode_send where conversation_id = $1")
                .bind(conversation_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        Self::record_action(&mut tx, workspace_id, action).await?;
        let body = EventBody::ConversationUpdated(ConversationUpdated {
            conversation_id,
            change: ConversationChange::Rules { frozen: room.frozen, slow_mode_secs: room.slow_mode_secs },
        });
        let event =
            Self::append_event(&mut tx, workspace_id, Topic::Conversation(conversation_id), body, None, at)
                .await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(room)
    }

    async fn last_slow_post(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        sqlx::query_scalar(
            "select last_sent_at from slow_mode_send where conversation_id = $1 and user_id = $2",
        )
        .bind(conversation_id.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn set_mute(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        muted: UserId,
        on: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = if on {
            sqlx::query(
                "insert into user_mute (user_id, muted_user_id, workspace_id, created_at) values ($1, $2, $3, $4)
                 on conflict do nothing",
            )
            .bind(user_id.as_uuid())
            .bind(muted.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(switchboard::time::now())
            .execute(&mut *tx)
            .await
        } else {
            sqlx::query("delete from user_mute where user_id = $1 and muted_user_id = $2")
                .bind(user_id.as_uuid())
                .bind(muted.as_uuid())
                .execute(&mut *tx)
                .await
        }
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn mutes(&self, workspace_id: WorkspaceId, user_id: UserId) -> Result<Vec<UserId>, StoreError> {
        let rows: Vec<Uuid> = sqlx::query_scalar(
            "select muted_user_id from user_mute where user_id = $1 and workspace_id = $2 order by created_at",
        )
        .bind(user_id.as_uuid())
        .bind(workspace_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn set_blocklist(
        &self,
        workspace_id: WorkspaceId,
        words: &[BlockedWord],
        action: &ModerationAction,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("delete from blocked_word where workspace_id = $1")
            .bind(workspace_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for word in words {
            sqlx::query(
                "insert into blocked_word (workspace_id, word, action, created_at) values ($1, $2, $3, $4)
                 on conflict do nothing",
            )
            .bind(workspace_id.as_uuid())
            .bind(word.word.as_str())
            .bind(word.action.as_str())
            .bind(action.created_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        Self::record_action(&mut tx, workspace_id, action).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn blocklist(&self, workspace_id: WorkspaceId) -> Result<Vec<BlockedWord>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("select word, action from blocked_word where workspace_id = $1 order by word")
                .bind(workspace_id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(word, action)| BlockedWord {
                word,
                action: if action == "flag" { BlockAction::Flag } else { BlockAction::Block },
            })
            .collect())
    }
}
