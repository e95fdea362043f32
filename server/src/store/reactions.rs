//! Reactions: one row per (message, reactor, emoji), the message's counts kept beside it as
//! JSON, and an event per emoji put on or taken off, all in one transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::message::MessageRef;
use switchboard::reaction::{ReactionChanged, ReactionOp, Reactor};
use switchboard::store::StoreError;
use switchboard::{ContactId, EventBody, Message, Topic, UserId};

use super::backend::{Backend, Bind, Column, SqlStore};
use super::map_err;

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
    pub(crate) async fn change_reactions(
        &self,
        target: MessageRef,
        reactor: Reactor,
        emoji: &str,
        op: ReactionOp,
    ) -> Result<Option<Message>, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let Some(message) = Self::message_by_ref(&mut tx, &target).await? else {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        };
        if message.deleted_at.is_some() {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::Conflict { constraint: "message_deleted".into() });
        }
        let (key, user_id, contact_id): (String, Option<UserId>, Option<ContactId>) = match &reactor {
            Reactor::User(user) => (format!("user:{user}"), Some(*user), None),
            Reactor::Contact(external_id) => {
                let found: Option<(Uuid,)> = sqlx::query_as(
                    "select contact_id from contact where channel_id = $1 and external_id = $2",
                )
                .bind(message.channel_id.as_uuid())
                .bind(external_id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                let Some((contact,)) = found else {
                    tx.rollback().await.map_err(map_err)?;
                    return Ok(None);
                };
                (format!("contact:{contact}"), None, Some(contact.into()))
            }
        };
        let mine: Vec<(String,)> =
            sqlx::query_as("select emoji from reaction where message_id = $1 and reactor = $2")
                .bind(message.id.as_uuid())
                .bind(key.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        let has = |e: &str| mine.iter().any(|(m,)| m == e);
        let (mut added, mut removed): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        match op {
            ReactionOp::Add if !has(emoji) => added.push(emoji.to_owned()),
            ReactionOp::Remove if has(emoji) => removed.push(emoji.to_owned()),
            ReactionOp::Replace => {
                removed.extend(mine.iter().map(|(m,)| m.clone()).filter(|m| m != emoji));
                if !emoji.is_empty() && !has(emoji) {
                    added.push(emoji.to_owned());
                }
            }
            _ => {}
        }
        if added.is_empty() && removed.is_empty() {
            tx.rollback().await.map_err(map_err)?;
            return Ok(None);
        }
        for gone in &removed {
            sqlx::query("delete from reaction where message_id = $1 and reactor = $2 and emoji = $3")
                .bind(message.id.as_uuid())
                .bind(key.as_str())
                .bind(gone.as_str())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        for new in &added {
            sqlx::query(
                "insert into reaction (message_id, reactor, emoji, user_id, contact_id, created_at)
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(message.id.as_uuid())
            .bind(key.as_str())
            .bind(new.as_str())
            .bind(user_id.map(|u| u.as_uuid()))
            .bind(contact_id.map(|c| c.as_uuid()))
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        let rows: Vec<(String, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
            "select emoji, user_id, contact_id from reaction where message_id = $1
             order by created_at, reactor, emoji",
        )
        .bind(message.id.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let counts = switchboard::reaction::summarize(
            rows.iter().map(|(e, u, c)| (e.as_str(), u.map(UserId::from), c.is_some())),
        );
        let json = (!counts.is_empty()).then(|| serde_json::to_string(&counts).unwrap_or_default());
        sqlx::query("update message set reactions = $2, updated_at = $3 where message_id = $1")
            .bind(message.id.as_uuid())
            .bind(json)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let message = Self::message_in(&mut tx, message.id).await?;
        let change = |emoji: &String| ReactionChanged {
            message_id: message.id,
            conversation_id: message.conversation_id,
            emoji: emoji.clone(),
            user_id,
            contact_id,
            reactions: counts.clone(),
        };
        let bodies = removed
            .iter()
            .map(|e| EventBody::ReactionRemoved(change(e)))
            .chain(added.iter().map(|e| EventBody::ReactionAdded(change(e))));
        let mut events = Vec::new();
        for body in bodies {
            let topic = Topic::Conversation(message.conversation_id);
            events.push(Self::append_event(&mut tx, message.workspace_id, topic, body, None, at).await?);
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(Some(message))
    }
}
