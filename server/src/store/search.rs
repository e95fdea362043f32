//! Full-text search of message text (`GET /api/v1/search/messages`) and the page around a
//! message a hit opens. SQLite: the FTS5 table `message_fts` (kept by triggers on `message`);
//! PostgreSQL: a GIN index on `to_tsvector('simple', text)`. Both take terms built by
//! `switchboard::search` (words only, never the caller's text as syntax) and mark matches in
//! the snippet with the same two characters.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::access::RoomScope;
use switchboard::search::{self, SearchHit};
use switchboard::store::{Backend as Kind, StoreError};
use switchboard::{ConversationId, Message, MessageId, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, SqlStore};
use super::map_err;
use super::rows::{self, message_columns};

#[derive(sqlx::FromRow)]
struct HitRow {
    #[sqlx(flatten)]
    message: rows::MessageRow,
    conversation_title: String,
    snippet: String,
}

/// The message columns, each as `m.<column>` (the search joins conversations, which share
/// some names).
fn message_columns_of_m() -> String {
    message_columns!().split(", ").map(|c| format!("m.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// Who may read what: the list's rule (`hot::CONVERSATION_LIST`), then the message's own.
const READABLE: &str = "m.workspace_id = $2 and m.deleted_at is null
       and (m.visibility <> 'author' or m.sender_user_id = $3)
       and (c.contact_id is not null or $4 = true or cm.user_id is not null)
       and ($5 = false or (c.contact_id is null and cm.user_id is not null))
       and ($6 is null or m.message_id < $6)";

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
    pub(crate) async fn search_in(
        &self,
        workspace_id: WorkspaceId,
        viewer: UserId,
        rooms: RoomScope,
        terms: &[String],
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let columns = message_columns_of_m();
        let (start, end) = (search::MATCH_START, search::MATCH_END);
        let (sql, query) = match D::KIND {
            Kind::Sqlite => (
                format!(
                    "select {columns}, c.title as conversation_title,
                            snippet(message_fts, 0, '{start}', '{end}', '…', 16) as snippet
                     from message_fts f
                     join message m on m.rowid = f.rowid
                     join conversation c on c.conversation_id = m.conversation_id
                     left join conversation_member cm on cm.conversation_id = c.conversation_id and cm.user_id = $3
                     where message_fts match $1 and {READABLE}
                     order by m.message_id desc limit $7"
                ),
                search::fts5_query(terms),
            ),
            Kind::Postgres => (
                format!(
                    "select {columns}, c.title as conversation_title,
                            ts_headline('simple', m.text, to_tsquery('simple', $1),
                                        'StartSel={start}, StopSel={end}, MaxWords=24, MinWords=8, ShortWord=1, MaxFragments=2, FragmentDelimiter=\" … \"') as snippet
                     from message m
                     join conversation c on c.conversation_id = m.conversation_id
                     left join conversation_member cm on cm.conversation_id = c.conversation_id and cm.user_id = $3
                     where to_tsvector('simple', m.text) @@ to_tsquery('simple', $1) and {READABLE}
                     order by m.message_id desc limit $7"
                ),
                search::tsquery(terms),
            ),
        };
        let rows: Vec<HitRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(workspace_id.as_uuid())
            .bind(viewer.as_uuid())
            .bind(rooms == RoomScope::All)
            .bind(rooms == RoomScope::Joined)
            .bind(before.map(|b| b.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(SearchHit {
                    message: r.message.try_into()?,
                    conversation_title: r.conversation_title,
                    snippet: search::snippet_parts(&r.snippet),
                })
            })
            .collect()
    }

    pub(crate) async fn history_from_in(
        &self,
        workspace_id: WorkspaceId,
        conversation_id: ConversationId,
        viewer: UserId,
        from: MessageId,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<rows::MessageRow> = sqlx::query_as(concat!(
            "select ",
            message_columns!(),
            " from message where workspace_id = $1 and conversation_id = $2 and message_id >= $3
                and (visibility = 'all' or (visibility = 'author' and sender_user_id = $5))
              order by message_id limit $4"
        ))
        .bind(workspace_id.as_uuid())
        .bind(conversation_id.as_uuid())
        .bind(from.as_uuid())
        .bind(i64::from(limit))
        .bind(viewer.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
