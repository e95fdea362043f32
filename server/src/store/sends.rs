//! Sends, written by group commit: the sends that queue while a group is written (`send_queue.rs`)
//! go in one transaction of multi-row statements, about eight for the whole group where one send
//! alone would take a dozen. Every send takes this path, replies included.
use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::access::{Right, RoomRole, Standing};
use switchboard::media::Attachment;
use switchboard::store::{NewOutbound, OUTBOX_MAX_ATTEMPTS, SendRepo, Sent, StoreError};
use switchboard::{
    AttachmentId, ChannelId, Conversation, ConversationId, Event, EventBody, Message, MessageId,
    ProviderKind, Topic, UserId, WorkspaceId,
};

use super::backend::{Backend, Bind, Column, Params, SqlStore};
use super::batch::{Batch, decode};
use super::moderation::SendRule;
use super::rows::{self, conversation_columns, message_columns};
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

    /// Decides, inside the group's transaction, what each send comes to: a key used before
    /// answers with the first message (a key used twice in the group, with the first send's),
    /// a conversation of another workspace is not found, a reply to a message of another
    /// conversation is a conflict, and everything else is a new message.
    async fn plan(tx: &mut Transaction<'static, D>, outs: &[&NewOutbound]) -> Result<Planned, StoreError> {
        // One batch of reads (one hand-off on SQLite): the keys used before, the conversations
        // with their channels' providers, the senders' places in them, the senders' bans.
        let now = switchboard::time::now();
        let mut batch = Batch::<D>::default();
        let keys: Vec<(ConversationId, &str)> = outs
            .iter()
            .filter_map(|o| o.client_message_id.as_deref().map(|k| (o.conversation_id, k)))
            .collect();
        if !keys.is_empty() {
            let mut p = Params::new(D::KIND);
            let test: Vec<String> = keys
                .iter()
                .map(|_| format!("(conversation_id = {} and client_message_id = {})", p.next(), p.next()))
                .collect();
            batch.statement(&format!(
                concat!("select ", message_columns!(), " from message where {}"),
                test.join(" or ")
            ));
            for (conversation, key) in &keys {
                batch.bind(conversation.as_uuid()).bind(*key);
            }
            batch.query(tx).await?;
        }
        let mut ids: Vec<ConversationId> = outs.iter().map(|o| o.conversation_id).collect();
        ids.sort_unstable_by_key(|id| id.as_uuid());
        ids.dedup();
        batch.statement(&format!(
            concat!(
                "select ",
                conversation_columns!(),
                ", (select provider from channel where channel.channel_id = conversation.channel_id) as provider
                 from conversation where conversation_id in ({})"
            ),
            Params::new(D::KIND).list(ids.len())
        ));
        for id in &ids {
            batch.bind(id.as_uuid());
        }
        batch.query(tx).await?;
        // Who may post: in a room, its members only. Their places are read here, in the write's
        // transaction, so a member removed before this send commits can never post (and a send
        // costs no read of its own before the write).
        let mut senders: Vec<UserId> = outs.iter().map(|o| o.sender).collect();
        senders.sort_unstable_by_key(|id| id.as_uuid());
        senders.dedup();
        let mut p = Params::new(D::KIND);
        batch.statement(&format!(
            "select conversation_id, user_id, role from conversation_member
             where conversation_id in ({}) and user_id in ({})",
            p.list(ids.len()),
            p.list(senders.len())
        ));
        for id in &ids {
            batch.bind(id.as_uuid());
        }
        for id in &senders {
            batch.bind(id.as_uuid());
        }
        batch.query(tx).await?;
        batch.statement(&hot::senders_bans(D::KIND, senders.len())).bind(now);
        for id in &senders {
            batch.bind(id.as_uuid());
        }
        batch.query(tx).await?;
        let sets = batch.rows(tx).await?;
        let mut sets = sets.iter();
        let mut set = || {
            sets.next().ok_or_else(|| StoreError::Internal("a read of the group's batch is missing".into()))
        };

        let mut keyed: HashMap<(ConversationId, String), Message> = HashMap::new();
        if !keys.is_empty() {
            for row in decode::<D, rows::MessageRow>(set()?)? {
                let message: Message = row.try_into()?;
                if let Some(key) = message.client_message_id.clone() {
                    keyed.insert((message.conversation_id, key), message);
                }
            }
        }
        let mut targets: HashMap<ConversationId, (Conversation, ProviderKind)> = HashMap::new();
        for t in decode::<D, Target>(set()?)? {
            let conversation: Conversation = t.conversation.into();
            let provider: ProviderKind = t.provider.parse().map_err(StoreError::Internal)?;
            targets.insert(conversation.id, (conversation, provider));
        }
        let is_room =
            |id: &ConversationId| targets.get(id).is_some_and(|(c, _)| switchboard::access::is_room(c));
        let mut places: HashMap<(ConversationId, UserId), RoomRole> = HashMap::new();
        for (conversation, user, role) in decode::<D, (Uuid, Uuid, String)>(set()?)? {
            if is_room(&conversation.into()) {
                places
                    .insert((conversation.into(), user.into()), role.parse().map_err(StoreError::Internal)?);
            }
        }
        let bans = decode::<D, super::moderation::BanRow>(set()?)?.into_iter().map(Into::into).collect();

        // The conversations of the messages replied to: a reply stays in its conversation.
        let mut replied: Vec<MessageId> = outs.iter().filter_map(|o| o.reply_to).collect();
        replied.sort_unstable_by_key(|id| id.as_uuid());
        replied.dedup();
        let mut reply_in: HashMap<MessageId, ConversationId> = HashMap::new();
        if !replied.is_empty() {
            let sql = format!(
                "select message_id, conversation_id from message where message_id in ({})",
                Params::new(D::KIND).list(replied.len())
            );
            let mut query = sqlx::query_as::<_, (Uuid, Uuid)>(sqlx::AssertSqlSafe(sql));
            for id in &replied {
                query = query.bind(id.as_uuid());
            }
            for (message, conversation) in query.fetch_all(&mut **tx).await.map_err(map_err)? {
                reply_in.insert(message.into(), conversation.into());
            }
        }

        // The messages whose threads replies go in: of the same room, no thread reply themselves.
        let parents = Self::thread_parents(tx, outs).await?;

        // Moderation: bans, frozen rooms, slow mode (not for sends answered already).
        let rooms_of: HashMap<ConversationId, &Conversation> = targets
            .values()
            .filter(|(c, _)| switchboard::access::is_room(c))
            .map(|(c, _)| (c.id, c))
            .collect();
        let answered = |o: &NewOutbound| {
            o.client_message_id
                .as_deref()
                .is_some_and(|k| keyed.contains_key(&(o.conversation_id, k.to_owned())))
        };
        let rules = Self::send_rules(tx, outs, answered, &rooms_of, &places, bans, now).await?;

        // The uploads the sends carry: each must be the sender's, in the workspace, unused (also
        // by an earlier send of this group).
        let wanted: Vec<AttachmentId> = outs.iter().flat_map(|o| o.attachments.iter().copied()).collect();
        let uploads: HashMap<AttachmentId, super::media::AttachmentRow> = Self::attachment_rows(tx, &wanted)
            .await?
            .into_iter()
            .map(|row| (row.attachment_id.into(), row))
            .collect();
        let mut claimed: std::collections::HashSet<AttachmentId> = std::collections::HashSet::new();

        let mut first_with_key: HashMap<(ConversationId, &str), usize> = HashMap::new();
        let mut plans = Vec::with_capacity(outs.len());
        for (i, out) in outs.iter().enumerate() {
            let key = out.client_message_id.as_deref().map(|k| (out.conversation_id, k));
            let plan = match (
                key.and_then(|(c, k)| keyed.get(&(c, k.to_owned()))),
                targets.get(&out.conversation_id),
            ) {
                (Some(found), _) if found.workspace_id == out.workspace_id => {
                    Plan::Known(Box::new(found.clone()))
                }
                (Some(_), _) => Plan::Fails(StoreError::NotFound),
                (None, Some((conversation, provider))) if conversation.workspace_id == out.workspace_id => {
                    let local = *provider == ProviderKind::Inapp;
                    // Past the network's reply window only a template reaches the contact.
                    let window_closed = out.template.is_none()
                        && !conversation.reply_window_open(provider.reply_window_secs(), now);
                    let stray_reply =
                        out.reply_to.is_some_and(|r| reply_in.get(&r) != Some(&conversation.id));
                    let stray_parent = out.parent_id.is_some_and(|p| {
                        parents.get(&p).is_none_or(|p| p.conversation_id != conversation.id || !p.usable)
                    });
                    let thread_outside_room =
                        out.parent_id.is_some() && !switchboard::access::is_room(conversation);
                    let standing = Standing {
                        role: out.role,
                        room: switchboard::access::is_room(conversation),
                        room_role: places.get(&(conversation.id, out.sender)).copied(),
                        room_type: conversation.room_type.unwrap_or_default(),
                    };
                    match key.and_then(|k| first_with_key.get(&k)) {
                        _ if !standing.may(Right::Post) => {
                            Plan::Fails(StoreError::Conflict { constraint: "room_post".into() })
                        }
                        Some(&first) => Plan::SameAs(first),
                        None if stray_reply => {
                            Plan::Fails(StoreError::Conflict { constraint: "reply_to".into() })
                        }
                        None if thread_outside_room => {
                            Plan::Fails(StoreError::Conflict { constraint: "thread_room".into() })
                        }
                        None if out.note && switchboard::access::is_room(conversation) => {
                            Plan::Fails(StoreError::Conflict { constraint: "note_room".into() })
                        }
                        None if stray_parent => {
                            Plan::Fails(StoreError::Conflict { constraint: "parent_id".into() })
                        }
                        None if matches!(rules[i], SendRule::Refused(_)) => {
                            let SendRule::Refused(why) = rules[i] else { unreachable!() };
                            Plan::Fails(StoreError::Conflict { constraint: why.into() })
                        }
                        None if window_closed && !out.note => {
                            Plan::Fails(StoreError::Conflict { constraint: "reply_window".into() })
                        }
                        None => match Self::take_uploads(out, &uploads, &mut claimed) {
                            Err(err) => Plan::Fails(err),
                            Ok(attachments) => {
                                if let Some(k) = key {
                                    first_with_key.insert(k, i);
                                }
                                Plan::New {
                                    id: MessageId::new(),
                                    channel_id: conversation.channel_id,
                                    // A shadowed message goes nowhere: its author alone sees it.
                                    local: local || out.note || rules[i] == SendRule::Shadowed,
                                    attachments,
                                    shadowed: rules[i] == SendRule::Shadowed,
                                }
                            }
                        },
                    }
                }
                (None, _) => Plan::Fails(StoreError::NotFound),
            };
            plans.push(plan);
        }
        let conversations = targets.into_iter().map(|(id, (c, _))| (id, c)).collect();
        Ok(Planned { plans, conversations, parents })
    }

    /// The attachments a send takes, in its order, marking them taken for the rest of the group;
    /// `Conflict { constraint: "attachments" }` if one is not the sender's free upload.
    fn take_uploads(
        out: &NewOutbound,
        uploads: &HashMap<AttachmentId, super::media::AttachmentRow>,
        claimed: &mut std::collections::HashSet<AttachmentId>,
    ) -> Result<Vec<Attachment>, StoreError> {
        let refused = || StoreError::Conflict { constraint: "attachments".into() };
        let mut taken = Vec::with_capacity(out.attachments.len());
        for id in &out.attachments {
            let row =
                uploads.get(id).filter(|r| r.free_for(out.workspace_id, out.sender)).ok_or_else(refused)?;
            if claimed.contains(id) {
                return Err(refused());
            }
            taken.push(row.attachment()?);
        }
        claimed.extend(out.attachments.iter().copied());
        Ok(taken)
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

/// What a send of a group comes to: an earlier message, an error, or a new row.
/// What a group's planning found: each send's plan, the group's conversations, and the
/// messages its thread replies name.
struct Planned {
    plans: Vec<Plan>,
    conversations: HashMap<ConversationId, Conversation>,
    parents: HashMap<MessageId, super::threads::Parent>,
}

enum Plan {
    Known(Box<Message>),
    /// The same key earlier in this group: answered with that send's message.
    SameAs(usize),
    Fails(StoreError),
    /// A new message in the channel `channel_id`; `local` when it needs no outbox row (an
    /// in-app channel: stored is sent).
    New {
        id: MessageId,
        channel_id: ChannelId,
        local: bool,
        attachments: Vec<Attachment>,
        /// Its sender is shadow-banned: only they see it.
        shadowed: bool,
    },
}

/// A conversation with its channel's provider.
#[derive(sqlx::FromRow)]
struct Target {
    #[sqlx(flatten)]
    conversation: rows::ConversationRow,
    provider: String,
}
