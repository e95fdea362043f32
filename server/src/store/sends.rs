//! Sends, written by group commit: the sends that queue while a group is written (`send_queue.rs`)
//! go in one transaction of multi-row statements. On SQLite the statements travel in batches
//! (`batch.rs`): a plain group is four hand-offs to the database thread (begin; the plan's
//! reads; every write with the events; commit) where each statement used to be one. Every send
//! takes this path, replies included.
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::media::Attachment;
use switchboard::store::{NewOutbound, OUTBOX_MAX_ATTEMPTS, SendRepo, Sent, StoreError};
use switchboard::{
    AttachmentId, ChannelId, Conversation, ConversationId, Event, EventBody, Message, MessageId, Topic,
    UserId, WorkspaceId,
};

use super::backend::{Backend, Bind, Column, Params, SqlStore};
use super::batch::Batch;
use super::rows::{self, conversation_columns, message_columns};
use super::send_plan::{Plan, Planned};
use super::{hot, map_err};

#[async_trait]
impl<D: Backend> SendRepo for SqlStore<D>
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
    async fn send_message(&self, out: NewOutbound) -> Result<Sent, StoreError> {
        let store = self.clone();
        self.sends
            .send(out, move |group| {
                let store = store.clone();
                async move { store.send_group(group).await }
            })
            .await
    }
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
    /// Writes a group of queued sends in one transaction. If that transaction fails, nothing
    /// of it was written and each send is written again as a group of its own, so every caller
    /// gets the answer its send alone would have got.
    async fn send_group(&self, outs: Vec<NewOutbound>) -> Vec<Result<Sent, StoreError>> {
        let group: Vec<&NewOutbound> = outs.iter().collect();
        let err = match self.send_together(&group).await {
            Ok(answers) => return answers,
            Err(err) => err,
        };
        if outs.len() > 1 {
            tracing::warn!(error = %err, sends = outs.len(), "group write failed; writing its sends one at a time");
        }
        let mut answers = Vec::with_capacity(outs.len());
        for out in &outs {
            answers.push(self.send_alone(out).await);
        }
        answers
    }

    /// One send as a group of its own. A key that another writer stored between this send's
    /// look-up and its insert (another node, on PostgreSQL) answers with that message.
    async fn send_alone(&self, out: &NewOutbound) -> Result<Sent, StoreError> {
        let err = match self.send_together(&[out]).await {
            Ok(mut answers) => {
                return answers
                    .pop()
                    .unwrap_or_else(|| Err(StoreError::Internal("a send got no answer".into())));
            }
            Err(err) => err,
        };
        let (StoreError::Conflict { .. }, Some(key)) = (&err, &out.client_message_id) else {
            return Err(err);
        };
        match self.message_by_client_id(out.conversation_id, key).await? {
            Some(found) if found.workspace_id != out.workspace_id => Err(StoreError::NotFound),
            Some(found) => Ok(Sent { message: found, created: false, events: Vec::new() }),
            None => Err(err),
        }
    }

    /// Sends in one transaction of multi-row statements. `Err` means the transaction was
    /// rolled back before its commit; `Ok` holds each send's own answer.
    async fn send_together(
        &self,
        outs: &[&NewOutbound],
    ) -> Result<Vec<Result<Sent, StoreError>>, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let mut batch = Batch::<D>::default();

        let Planned { plans, conversations, parents } = Self::plan(&mut tx, outs).await?;
        let new: Vec<(usize, MessageId, bool)> = plans
            .iter()
            .enumerate()
            .filter_map(|(i, plan)| match plan {
                Plan::New { id, local, .. } => Some((i, *id, *local)),
                _ => None,
            })
            .collect();
        let hidden: std::collections::HashSet<MessageId> = plans
            .iter()
            .filter_map(|plan| match plan {
                Plan::New { id, shadowed: true, .. } => Some(*id),
                _ => None,
            })
            .collect();
        let visibility = |i: usize, id: &MessageId| super::threads::visibility(outs[i], hidden.contains(id));
        let carried: HashMap<MessageId, &[Attachment]> = plans
            .iter()
            .filter_map(|plan| match plan {
                Plan::New { id, attachments, .. } => Some((*id, attachments.as_slice())),
                _ => None,
            })
            .collect();
        let channel_of: HashMap<MessageId, ChannelId> = plans
            .iter()
            .filter_map(|plan| match plan {
                Plan::New { id, channel_id, .. } => Some((*id, *channel_id)),
                _ => None,
            })
            .collect();

        let mut messages: HashMap<MessageId, Message> = HashMap::new();
        let mut events: Vec<Event> = Vec::new();
        let mut event_owner: Vec<usize> = Vec::new();
        let mut event_ws: Vec<WorkspaceId> = Vec::new();
        if !new.is_empty() {
            // The messages, built here from what is written (no row read back), sent with the
            // next statement that must run.
            let sql = hot::insert_messages(D::KIND, new.len());
            batch.statement(&sql);
            for &(i, id, local) in &new {
                let out = outs[i];
                let row = rows::MessageRow {
                    message_id: id.as_uuid(),
                    workspace_id: out.workspace_id.as_uuid(),
                    conversation_id: out.conversation_id.as_uuid(),
                    channel_id: channel_of[&id].as_uuid(),
                    direction: "outbound".to_owned(),
                    status: if local { "sent" } else { "pending" }.to_owned(),
                    text: out.text.clone(),
                    external_id: None,
                    client_message_id: out.client_message_id.clone(),
                    sender_user_id: Some(out.sender.as_uuid()),
                    error: None,
                    created_at: at,
                    edited_at: None,
                    deleted_at: None,
                    reply_to_message_id: out.reply_to.map(|r| r.as_uuid()),
                    attachments: super::media::attachments_json(carried[&id]),
                    template: out.template.as_ref().map(|t| serde_json::to_string(t).unwrap_or_default()),
                    reactions: None,
                    sender_name: None,
                    parent_id: out.parent_id.map(|p| p.as_uuid()),
                    visibility: visibility(i, &id).to_owned(),
                    reply_count: 0,
                    last_reply_at: None,
                    thread_participants: None,
                    note: out.note,
                    from_bot: out.from_bot,
                    buttons: (!out.buttons.is_empty()).then(|| serde_json::json!(out.buttons).to_string()),
                };
                batch
                    .bind(row.message_id)
                    .bind(row.workspace_id)
                    .bind(row.conversation_id)
                    .bind(row.channel_id)
                    .bind(row.direction.as_str())
                    .bind(row.status.as_str())
                    .bind(row.text.as_str())
                    .bind(row.client_message_id.as_deref())
                    .bind(row.sender_user_id)
                    .bind(at)
                    .bind(at)
                    .bind(row.reply_to_message_id)
                    .bind(row.attachments.as_deref())
                    .bind(row.template.as_deref())
                    .bind(row.parent_id)
                    .bind(row.visibility.as_str())
                    .bind(row.note)
                    .bind(row.from_bot)
                    .bind(row.buttons.as_deref());
                let message: Message = row.try_into()?;
                messages.insert(message.id, message);
            }
            batch.write(&mut tx).await?;
            let taken: Vec<(AttachmentId, MessageId)> = carried
                .iter()
                .flat_map(|(message, attachments)| attachments.iter().map(|a| (a.id, *message)))
                .collect();
            if !taken.is_empty() {
                batch.flush(&mut tx).await?;
                Self::attach(&mut tx, &taken).await?;
            }

            // Each conversation's last activity: its last message shown (no thread reply, shadowed message or note).
            let mut last: Vec<(ConversationId, &Message)> = Vec::new();
            for (i, id, _) in &new {
                if visibility(*i, id) != "all" || outs[*i].note {
                    continue;
                }
                let message = &messages[id];
                match last.iter_mut().find(|(c, _)| *c == message.conversation_id) {
                    Some(entry) => entry.1 = message,
                    None => last.push((message.conversation_id, message)),
                }
            }
            // Placeholders in the order of their values: the time twice, each
            // conversation's id and preview, each conversation's id and sender, then the ids
            // again.
            let touched: HashMap<ConversationId, Conversation> = if last.is_empty() {
                HashMap::new()
            } else {
                let mut p = Params::new(D::KIND);
                let (at_1, at_2) = (p.next(), p.next());
                let mut cases = || -> String {
                    last.iter()
                        .map(|_| format!("when {} then {}", p.next(), p.next()))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let (previews, senders) = (cases(), cases());
                // SQLite has one writer, and this transaction read these rows in its plan: the
                // update's result is known, so the statement goes with the group's other writes.
                // On PostgreSQL another writer may have changed a row since: it is read back.
                let known = D::KIND == switchboard::store::Backend::Sqlite;
                let sql = format!(
                    "update conversation set last_message_at = {at_1}, updated_at = {at_2},
                       last_message_preview = case conversation_id {previews} end,
                       last_message_sender_user_id = case conversation_id {senders} end
                     where conversation_id in ({list}){returning}",
                    list = p.list(last.len()),
                    returning = if known { "" } else { concat!(" returning ", conversation_columns!()) },
                );
                batch.statement(&sql).bind(at).bind(at);
                for (conversation, message) in &last {
                    batch.bind(conversation.as_uuid()).bind(message.preview());
                }
                for (conversation, message) in &last {
                    batch.bind(conversation.as_uuid()).bind(message.sender_user_id.map(|u| u.as_uuid()));
                }
                for (conversation, _) in &last {
                    batch.bind(conversation.as_uuid());
                }
                if known {
                    batch.write(&mut tx).await?;
                    last.iter()
                        .filter_map(|(id, message)| {
                            let mut conversation = conversations.get(id)?.clone();
                            conversation.last_message_at = Some(at);
                            conversation.last_message_preview = Some(message.preview());
                            conversation.last_message_sender_user_id = message.sender_user_id;
                            Some((*id, conversation))
                        })
                        .collect()
                } else {
                    batch
                        .read::<rows::ConversationRow>(&mut tx)
                        .await?
                        .into_iter()
                        .map(|row| {
                            let conversation: Conversation = row.into();
                            (conversation.id, conversation)
                        })
                        .collect()
                }
            };

            // Each sender has read their own message: one position row per sender and
            // conversation (the group's newest), nothing per member. Then the mentions.
            let mut read: HashMap<(UserId, ConversationId), (WorkspaceId, MessageId)> = HashMap::new();
            for (_, id, _) in &new {
                let message = &messages[id];
                if let Some(sender) = message.sender_user_id {
                    let entry = read
                        .entry((sender, message.conversation_id))
                        .or_insert((message.workspace_id, message.id));
                    if entry.1.as_uuid() < message.id.as_uuid() {
                        entry.1 = message.id;
                    }
                }
            }
            if !read.is_empty() {
                batch.statement(&hot::advance_read_positions(D::KIND, read.len()));
                for ((sender, conversation), (workspace, message)) in &read {
                    batch
                        .bind(sender.as_uuid())
                        .bind(conversation.as_uuid())
                        .bind(workspace.as_uuid())
                        .bind(message.as_uuid())
                        .bind(at);
                }
                batch.write(&mut tx).await?;
            }

            // Network sends go to the outbox.
            let queued: Vec<&Message> =
                new.iter().filter(|(_, _, local)| !local).map(|(_, id, _)| &messages[id]).collect();
            if !queued.is_empty() {
                batch.statement(&format!(
                    "insert into outbox (outbox_id, workspace_id, channel_id, message_id, next_attempt_at, status, created_at, updated_at, max_attempts)
                     values {}",
                    Params::new(D::KIND).rows(queued.len(), 9)
                ));
                for message in &queued {
                    batch
                        .bind(Uuid::now_v7())
                        .bind(message.workspace_id.as_uuid())
                        .bind(message.channel_id.as_uuid())
                        .bind(message.id.as_uuid())
                        .bind(at)
                        .bind("queued")
                        .bind(at)
                        .bind(at)
                        .bind(OUTBOX_MAX_ATTEMPTS as i32);
                }
                batch.write(&mut tx).await?;
            }

            // Mentions and threads write on the transaction itself: after what the batch holds.
            let mentioning = |m: &Message| !hidden.contains(&m.id) && super::messages::mentions_someone(m);
            if new.iter().any(|(_, id, _)| mentioning(&messages[id]) || messages[id].parent_id.is_some()) {
                batch.flush(&mut tx).await?;
            }
            for (_, id, _) in &new {
                let message = &messages[id];
                if hidden.contains(id) {
                    continue;
                }
                let room =
                    conversations.get(&message.conversation_id).is_some_and(|c| c.contact_id.is_none());
                Self::write_mentions(&mut tx, message, room).await?;
            }

            // The threads' first messages, with their replies counted.
            let replies: Vec<&Message> = new.iter().map(|(_, id, _)| &messages[id]).collect();
            let shadowed = |m: &Message| hidden.contains(&m.id);
            let bumped = Self::bump_parents(&mut tx, &parents, &replies, shadowed, at).await?;

            // The events: each message's `message.created` and, when the conversation shows it,
            // `conversation.updated`; a shadowed message's only on its author's own topic; each
            // thread's first message once more (`message.updated`, its new count).
            for &(i, id, _) in &new {
                let message = &messages[&id];
                let trace = outs[i].trace_id.as_deref();
                let ws = message.workspace_id;
                let mut bodies = Vec::with_capacity(2);
                if hidden.contains(&id) {
                    bodies.push((Topic::User(outs[i].sender), EventBody::MessageCreated(message.clone())));
                } else {
                    bodies.push((
                        Topic::Conversation(message.conversation_id),
                        EventBody::MessageCreated(message.clone()),
                    ));
                    if let Some(conversation) = touched.get(&message.conversation_id)
                        && visibility(i, &id) == "all"
                        && !message.note
                    {
                        bodies.push((
                            switchboard::access::list_topic(conversation),
                            Self::moved_by(conversation, message),
                        ));
                    }
                }
                for (topic, body) in bodies {
                    // Numbered below, once the group's counters have moved.
                    events.push(Event::new(topic, body, trace, at));
                    event_owner.push(i);
                    event_ws.push(ws);
                }
            }
            for parent in bumped {
                let owner = new
                    .iter()
                    .rev()
                    .find(|(_, id, _)| messages[id].parent_id == Some(parent.id))
                    .map_or(0, |(i, _, _)| *i);
                event_ws.push(parent.workspace_id);
                events.push(Event::new(
                    Topic::Conversation(parent.conversation_id),
                    EventBody::MessageUpdated(parent),
                    None,
                    at,
                ));
                event_owner.push(owner);
            }
            Self::append_events_after(&mut tx, &mut batch, &mut events, &event_ws).await?;
        }
        if let Err(err) = tx.commit().await {
            // Not retried one by one: a commit that failed on the way back (a lost
            // PostgreSQL connection) may have happened, and a retry would store the
            // unkeyed sends twice. Each caller gets the error, as a lone send would.
            let err = map_err(err);
            return Ok(outs.iter().map(|_| Err(err.clone())).collect());
        }
        self.listener.committed(&events);

        let mut own_events: Vec<Vec<Event>> = vec![Vec::new(); outs.len()];
        for (event, &i) in events.into_iter().zip(&event_owner) {
            own_events[i].push(event);
        }
        let mut answers: Vec<Result<Sent, StoreError>> = Vec::with_capacity(outs.len());
        for (i, plan) in plans.into_iter().enumerate() {
            answers.push(match plan {
                Plan::Known(message) => Ok(Sent { message: *message, created: false, events: Vec::new() }),
                Plan::Fails(err) => Err(err),
                Plan::New { id, .. } => Ok(Sent {
                    message: messages[&id].clone(),
                    created: true,
                    events: std::mem::take(&mut own_events[i]),
                }),
                // `first` comes earlier, so its answer is in already.
                Plan::SameAs(first) => match &answers[first] {
                    Ok(sent) => {
                        Ok(Sent { message: sent.message.clone(), created: false, events: Vec::new() })
                    }
                    Err(_) => Err(StoreError::Internal("a grouped send lost its first".into())),
                },
            });
        }
        Ok(answers)
    }

    async fn message_by_client_id(
        &self,
        conversation_id: ConversationId,
        client_message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let row: Option<rows::MessageRow> = sqlx::query_as(concat!(
            "select ",
            message_columns!(),
            " from message where conversation_id = $1 and client_message_id = $2"
        ))
        .bind(conversation_id.as_uuid())
        .bind(client_message_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }
}
