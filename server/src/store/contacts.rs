//! Contacts (`/api/v1/contacts…`, `POST /api/v1/conversations/start`): the contacts page's
//! reads, edits and merges, and opening a chat with someone who has not written yet.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::contact::{ContactCard, ContactDetails, ContactIdentity, UpdateContact};
use switchboard::event::{ConversationChange, ConversationUpdated};
use switchboard::store::{ContactRepo, StoreError};
use switchboard::{ChannelId, ContactId, Conversation, EventBody, WorkspaceId};

use super::backend::{Backend, Bind, Column, Params, SqlStore};
use super::rows::{self, conversation_columns};
use super::{abort, map_err};

#[derive(sqlx::FromRow)]
struct CardRow {
    contact_id: Uuid,
    workspace_id: Uuid,
    name: String,
    notes: String,
    attributes: Json<Value>,
    online: Option<bool>,
    created_at: DateTime<Utc>,
}

const CARD_COLUMNS: &str =
    "k.contact_id, k.workspace_id, k.name, k.notes, k.attributes, k.online, k.created_at";

#[derive(sqlx::FromRow)]
struct IdentityRow {
    contact_id: Uuid,
    channel_id: Uuid,
    external_id: String,
    name: String,
    owner: Uuid,
}

#[derive(sqlx::FromRow)]
struct StatsRow {
    contact_id: Uuid,
    conversations: i64,
    last_seen_at: Option<DateTime<Utc>>,
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
    /// The cards of these contacts (primary ones), in the order given: their identities and
    /// the counts of their conversations, two reads for the whole page.
    async fn cards(&self, rows: Vec<CardRow>) -> Result<Vec<ContactCard>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.contact_id).collect();
        let mut p = Params::new(D::KIND);
        let (own, merged) = (p.list(ids.len()), p.list(ids.len()));
        let sql = format!(
            "select contact_id, channel_id, external_id, name, coalesce(merged_into, contact_id) as owner
             from contact where contact_id in ({own}) or merged_into in ({merged})
             order by case when merged_into is null then 0 else 1 end, created_at, contact_id"
        );
        let mut query = sqlx::query_as::<_, IdentityRow>(sqlx::AssertSqlSafe(sql));
        for id in ids.iter().chain(&ids) {
            query = query.bind(*id);
        }
        let identities = query.fetch_all(&self.pool).await.map_err(map_err)?;
        let mut p = Params::new(D::KIND);
        let sql = format!(
            "select contact_id, count(*) as conversations, max(last_inbound_at) as last_seen_at
             from conversation where contact_id in ({}) group by contact_id",
            p.list(ids.len())
        );
        let mut query = sqlx::query_as::<_, StatsRow>(sqlx::AssertSqlSafe(sql));
        for id in &ids {
            query = query.bind(*id);
        }
        let stats: HashMap<Uuid, StatsRow> = query
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?
            .into_iter()
            .map(|s| (s.contact_id, s))
            .collect();
        Ok(rows
            .into_iter()
            .map(|r| {
                let stat = stats.get(&r.contact_id);
                ContactCard {
                    id: r.contact_id.into(),
                    workspace_id: r.workspace_id.into(),
                    name: r.name,
                    notes: r.notes,
                    attributes: r.attributes.0,
                    identities: identities
                        .iter()
                        .filter(|i| i.owner == r.contact_id)
                        .map(|i| ContactIdentity {
                            contact_id: i.contact_id.into(),
                            channel_id: i.channel_id.into(),
                            external_id: i.external_id.clone(),
                            name: i.name.clone(),
                        })
                        .collect(),
                    online: r.online,
                    last_seen_at: stat.and_then(|s| s.last_seen_at),
                    conversation_count: stat
                        .map_or(0, |s| s.conversations.clamp(0, i64::from(u32::MAX)) as u32),
                    created_at: r.created_at,
                }
            })
            .collect())
    }

    /// The primary contact `id` stands for (itself, or the one it was merged into).
    async fn primary(&self, workspace_id: WorkspaceId, id: ContactId) -> Result<Option<Uuid>, StoreError> {
        sqlx::query_scalar(
            "select coalesce(merged_into, contact_id) from contact where workspace_id = $1 and contact_id = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)
    }

    async fn card(&self, workspace_id: WorkspaceId, id: Uuid) -> Result<Option<ContactCard>, StoreError> {
        let sql =
            format!("select {CARD_COLUMNS} from contact k where k.workspace_id = $1 and k.contact_id = $2");
        let row: Option<CardRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(self.cards(row.into_iter().collect()).await?.pop())
    }

    /// Renames the contact's chats still titled `old`, each with its `conversation.updated`.
    async fn retitle(
        tx: &mut Transaction<'static, D>,
        contact: Uuid,
        old: &str,
        new: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<switchboard::Event>, StoreError> {
        let renamed: Vec<rows::ConversationRow> = sqlx::query_as(concat!(
            "update conversation set title = $3, updated_at = $4 where contact_id = $1 and title = $2 returning ",
            conversation_columns!()
        ))
        .bind(contact)
        .bind(old)
        .bind(new)
        .bind(at)
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
        let mut events = Vec::with_capacity(renamed.len());
        for row in renamed {
            let c: Conversation = row.into();
            let change = ConversationChange::Renamed { title: c.title.clone(), status: c.status };
            let body = EventBody::ConversationUpdated(ConversationUpdated { conversation_id: c.id, change });
            let topic = switchboard::access::list_topic(&c);
            events.push(Self::append_event(tx, c.workspace_id, topic, body, None, at).await?);
        }
        Ok(events)
    }
}

#[async_trait]
impl<D: Backend> ContactRepo for SqlStore<D>
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
    async fn contacts(
        &self,
        workspace_id: WorkspaceId,
        search: Option<&str>,
        channel: Option<ChannelId>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ContactCard>, StoreError> {
        let sql = format!(
            "select {CARD_COLUMNS} from contact k
             where k.workspace_id = $1 and k.merged_into is null
               and ($2 is null or exists (
                   select 1 from contact x where (x.contact_id = k.contact_id or x.merged_into = k.contact_id)
                     and (lower(x.name) like $2 escape '\\' or lower(x.external_id) like $2 escape '\\')))
               and ($3 is null or exists (
                   select 1 from contact y where (y.contact_id = k.contact_id or y.merged_into = k.contact_id)
                     and y.channel_id = $3))
             order by lower(k.name), k.contact_id limit $4 offset $5"
        );
        let rows: Vec<CardRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .bind(search)
            .bind(channel.map(|c| c.as_uuid()))
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        self.cards(rows).await
    }

    async fn contact_details(
        &self,
        workspace_id: WorkspaceId,
        id: ContactId,
    ) -> Result<Option<ContactDetails>, StoreError> {
        let Some(primary) = self.primary(workspace_id, id).await? else { return Ok(None) };
        let Some(contact) = self.card(workspace_id, primary).await? else { return Ok(None) };
        let rows: Vec<rows::ConversationRow> = sqlx::query_as(concat!(
            "select ",
            conversation_columns!(),
            " from conversation where workspace_id = $1 and contact_id = $2
              order by case when last_message_at is null then 1 else 0 end, last_message_at desc, conversation_id desc"
        ))
        .bind(workspace_id.as_uuid())
        .bind(primary)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Some(ContactDetails { contact, conversations: rows.into_iter().map(Into::into).collect() }))
    }

    async fn update_contact(
        &self,
        workspace_id: WorkspaceId,
        id: ContactId,
        change: &UpdateContact,
    ) -> Result<ContactCard, StoreError> {
        let at = switchboard::time::now();
        let Some(primary) = self.primary(workspace_id, id).await? else { return Err(StoreError::NotFound) };
        let mut tx = self.begin_write().await?;
        let mut events = Vec::new();
        if let Some(name) = &change.name {
            let old: String = sqlx::query_scalar("select name from contact where contact_id = $1")
                .bind(primary)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query(
                "update contact set name = $2, name_edited = true, updated_at = $3 where contact_id = $1",
            )
            .bind(primary)
            .bind(name)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if &old != name {
                events = Self::retitle(&mut tx, primary, &old, name, at).await?;
            }
        }
        if let Some(notes) = &change.notes {
            sqlx::query("update contact set notes = $2, updated_at = $3 where contact_id = $1")
                .bind(primary)
                .bind(notes)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        if let Some(attributes) = &change.attributes {
            sqlx::query("update contact set attributes = $2, updated_at = $3 where contact_id = $1")
                .bind(primary)
                .bind(Json(attributes))
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        self.card(workspace_id, primary).await?.ok_or(StoreError::NotFound)
    }

    async fn merge_contacts(
        &self,
        workspace_id: WorkspaceId,
        keep: ContactId,
        gone: ContactId,
    ) -> Result<ContactDetails, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        #[derive(sqlx::FromRow)]
        struct Side {
            merged_into: Option<Uuid>,
            notes: String,
            attributes: Json<Value>,
        }
        let mut sides = Vec::with_capacity(2);
        for id in [keep, gone] {
            let side: Option<Side> = sqlx::query_as(
                "select merged_into, notes, attributes from contact where workspace_id = $1 and contact_id = $2",
            )
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            match side {
                None => return abort(tx, StoreError::NotFound).await,
                Some(side) => sides.push(side),
            }
        }
        let (kept, merged) = (&sides[0], &sides[1]);
        if keep == gone || kept.merged_into.is_some() || merged.merged_into.is_some() {
            return abort(tx, StoreError::Conflict { constraint: "contact_merge".into() }).await;
        }
        let notes = match (kept.notes.trim().is_empty(), merged.notes.trim().is_empty()) {
            (_, true) => kept.notes.clone(),
            (true, false) => merged.notes.clone(),
            (false, false) => format!("{}\n\n{}", kept.notes, merged.notes),
        };
        let mut attributes = merged.attributes.0.as_object().cloned().unwrap_or_default();
        if let Some(own) = kept.attributes.0.as_object() {
            attributes.extend(own.clone());
        }
        let attributes = Value::Object(attributes);
        sqlx::query("update contact set notes = $2, attributes = $3, updated_at = $4 where contact_id = $1")
            .bind(keep.as_uuid())
            .bind(&notes)
            .bind(Json(&attributes))
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "update contact set merged_into = $1, updated_at = $3 where contact_id = $2 or merged_into = $2",
        )
        .bind(keep.as_uuid())
        .bind(gone.as_uuid())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("update conversation set contact_id = $1, updated_at = $3 where contact_id = $2")
            .bind(keep.as_uuid())
            .bind(gone.as_uuid())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        self.contact_details(workspace_id, keep).await?.ok_or(StoreError::NotFound)
    }

    async fn open_chat(
        &self,
        workspace_id: WorkspaceId,
        channel_id: ChannelId,
        to: &str,
        name: &str,
    ) -> Result<(Conversation, bool), StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let channel: Option<(Uuid,)> =
            sqlx::query_as("select channel_id from channel where workspace_id = $1 and channel_id = $2")
                .bind(workspace_id.as_uuid())
                .bind(channel_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if channel.is_none() {
            return abort(tx, StoreError::NotFound).await;
        }
        let contact = switchboard::provider::Contact { external_id: to.to_owned(), name: name.to_owned() };
        let (conversation, created) =
            Self::chat_in(&mut tx, workspace_id, channel_id, &contact, to, false, at).await?;
        let mut events = Vec::new();
        if created {
            let body = EventBody::ConversationCreated(conversation.clone());
            let topic = switchboard::access::list_topic(&conversation);
            events.push(Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?);
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok((conversation, created))
    }
}
