//! Threads in the write path: a send's parent checked in its transaction, the parents' reply
//! counts and latest repliers moved with their replies, and a thread's replies read in order
//! (`GET /api/v1/messages/{id}/thread`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::message::ThreadSummary;
use switchboard::store::{NewOutbound, StoreError};
use switchboard::{ConversationId, Message, MessageId, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, Params, SqlStore};
use super::map_err;
use super::rows::{self, message_columns};

/// What a send needs to know of the message it replies to in a thread.
pub(crate) struct Parent {
    pub conversation_id: ConversationId,
    /// No thread reply itself, and not deleted.
    pub usable: bool,
    pub summary: Option<ThreadSummary>,
}

/// Who sees a message where (the `visibility` column).
pub(crate) fn visibility(out: &NewOutbound, shadowed: bool) -> &'static str {
    match (shadowed, out.parent_id) {
        (true, _) => "author",
        (false, Some(_)) if !out.show_in_conversation => "thread",
        _ => "all",
    }
}

#[derive(sqlx::FromRow)]
struct ParentRow {
    message_id: Uuid,
    conversation_id: Uuid,
    parent_id: Option<Uuid>,
    deleted_at: Option<DateTime<Utc>>,
    reply_count: i64,
    last_reply_at: Option<DateTime<Utc>>,
    thread_participants: Option<String>,
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
    /// The parents the group's thread replies name, read in the write's transaction.
    pub(crate) async fn thread_parents(
        tx: &mut Transaction<'static, D>,
        outs: &[&NewOutbound],
    ) -> Result<HashMap<MessageId, Parent>, StoreError> {
        let mut ids: Vec<MessageId> = outs.iter().filter_map(|o| o.parent_id).collect();
        ids.sort_unstable_by_key(|id| id.as_uuid());
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "select message_id, conversation_id, parent_id, deleted_at, reply_count, last_reply_at, thread_participants
             from message where message_id in ({})",
            Params::new(D::KIND).list(ids.len())
        );
        let mut query = sqlx::query_as::<_, ParentRow>(sqlx::AssertSqlSafe(sql));
        for id in &ids {
            query = query.bind(id.as_uuid());
        }
        Ok(query
            .fetch_all(&mut **tx)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(|r| {
                let summary = (r.reply_count > 0).then(|| ThreadSummary {
                    reply_count: u32::try_from(r.reply_count).unwrap_or(u32::MAX),
                    last_reply_at: r.last_reply_at,
                    participants: r
                        .thread_participants
                        .as_deref()
                        .and_then(|j| serde_json::from_str(j).ok())
                        .unwrap_or_default(),
                });
                let parent = Parent {
                    conversation_id: r.conversation_id.into(),
                    usable: r.parent_id.is_none() && r.deleted_at.is_none(),
                    summary,
                };
                (r.message_id.into(), parent)
            })
            .collect())
    }

    /// Moves each parent's summary past the group's replies to it (in their order; a
    /// shadow-banned member's replies count for nobody), answering the parents as they are now.
    pub(crate) async fn bump_parents(
        tx: &mut Transaction<'static, D>,
        parents: &HashMap<MessageId, Parent>,
        replies: &[&Message],
        shadowed: impl Fn(&Message) -> bool,
        at: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        let mut summaries: Vec<(MessageId, ThreadSummary)> = Vec::new();
        for reply in replies {
            let Some(parent_id) = reply.parent_id else { continue };
            if shadowed(reply) {
                continue;
            }
            let previous = match summaries.iter().position(|(p, _)| *p == parent_id) {
                Some(i) => Some(summaries.remove(i).1),
                None => parents.get(&parent_id).and_then(|p| p.summary.clone()),
            };
            summaries
                .push((parent_id, ThreadSummary::with_reply(previous.as_ref(), reply.sender_user_id, at)));
        }
        let mut updated = Vec::with_capacity(summaries.len());
        for (parent_id, summary) in summaries {
            let participants = serde_json::to_string(&summary.participants)
                .map_err(|e| StoreError::Internal(format!("a thread's participants do not write: {e}")))?;
            let row: rows::MessageRow = sqlx::query_as(concat!(
                "update message set reply_count = $2, last_reply_at = $3, thread_participants = $4
                 where message_id = $1 returning ",
                message_columns!()
            ))
            .bind(parent_id.as_uuid())
            .bind(i64::from(summary.reply_count))
            .bind(summary.last_reply_at.unwrap_or(at))
            .bind(participants)
            .fetch_one(&mut **tx)
            .await
            .map_err(map_err)?;
            updated.push(row.try_into()?);
        }
        Ok(updated)
    }

    /// A thread's replies that `viewer` sees, oldest first, after `after`.
    pub(crate) async fn replies_of(
        &self,
        workspace_id: WorkspaceId,
        parent: MessageId,
        viewer: UserId,
        after: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<rows::MessageRow> = sqlx::query_as(concat!(
            "select ",
            message_columns!(),
            " from message where parent_id = $1 and workspace_id = $2 and ($3 is null or message_id > $3)
               and (visibility <> 'author' or sender_user_id = $4)
             order by message_id limit $5"
        ))
        .bind(parent.as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(after.map(|a| a.as_uuid()))
        .bind(viewer.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
