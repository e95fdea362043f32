//! A send group's plan: what each send of the group comes to, decided inside the group's
//! transaction from one batch of reads (`sends.rs` writes it).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::access::{Right, RoomRole, Standing};
use switchboard::media::Attachment;
use switchboard::store::{NewOutbound, StoreError};
use switchboard::{
    AttachmentId, ChannelId, Conversation, ConversationId, Message, MessageId, ProviderKind, UserId,
};

use super::backend::{Backend, Bind, Column, Params, SqlStore};
use super::batch::{Batch, decode};
use super::moderation::SendRule;
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
    Option<i64>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    /// Decides, inside the group's transaction, what each send comes to: a key used before
    /// answers with the first message (a key used twice in the group, with the first send's),
    /// a conversation of another workspace is not found, a reply to a message of another
    /// conversation is a conflict, and everything else is a new message.
    pub(super) async fn plan(
        tx: &mut Transaction<'static, D>,
        outs: &[&NewOutbound],
    ) -> Result<Planned, StoreError> {
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
}

/// What a group's planning found: each send's plan, the group's conversations, and the
/// messages its thread replies name.
pub(super) struct Planned {
    pub(super) plans: Vec<Plan>,
    pub(super) conversations: HashMap<ConversationId, Conversation>,
    pub(super) parents: HashMap<MessageId, super::threads::Parent>,
}

/// What a send of a group comes to: an earlier message, an error, or a new row.
pub(super) enum Plan {
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
