//! The messaging service: the one way messages are written, whatever door they come in by
//! (REST now; server functions and realtime RPC call the same methods), and the inbound path
//! every provider's traffic takes (webhooks and connected runtimes alike).

use std::sync::Arc;

use switchboard::message::{self, SendMessage};
use switchboard::message::{ConversationFilter, ConversationSummary};
use switchboard::store::{NewOutbound, Sent};
use switchboard::validate::ValidationError;
use switchboard::{ConversationId, Message, MessageId, Store, UserId};

use super::ratelimit::{KeyedLimiter, Quota};
use super::{Actor, ServiceError};
use crate::access::{self, EventFilter};
use crate::media::MediaLinks;
use switchboard::access::{Right, RoomScope};

/// Default send limit per user: 10 messages a second sustained…
pub const DEFAULT_SEND_RATE_PER_SEC: u32 = 10;
/// …with bursts of up to 30.
pub const DEFAULT_SEND_BURST: u32 = 30;

/// Largest sync page.
pub const MAX_SYNC_PAGE: u32 = 500;

/// Most reads of the log one sync page makes while topping up past hidden rooms' events.
const SYNC_ROUNDS: usize = 4;

/// A page of `GET /api/v1/sync`.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SyncPage {
    #[schema(value_type = Vec<switchboard::event::EventSchema>)]
    pub events: Vec<switchboard::Event>,
    /// Pass as `since` next time.
    pub next: i64,
    pub has_more: bool,
}

/// Default and largest history page.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

pub struct MessageService {
    pub(super) store: Arc<dyn Store>,
    /// Sends per user (a token bucket), whatever door they come in by, so one client cannot
    /// flood a room.
    sends: KeyedLimiter<UserId>,
    /// Mints the attachments' links on every message this service hands out.
    links: Option<MediaLinks>,
    /// The networks behind the channels: templates to render, reads to report.
    pub(super) channels: Option<Arc<super::ChannelService>>,
    /// The workspaces' blocklists, read at most every few seconds.
    pub(super) blocklists: super::moderation::Blocklists,
    /// This server's Web Push keys, once set (`serve` loads them from the data directory).
    pub(super) push: std::sync::OnceLock<Arc<crate::webpush::VapidKeys>>,
}

impl MessageService {
    /// The service with the default send limit ([`DEFAULT_SEND_RATE_PER_SEC`],
    /// [`DEFAULT_SEND_BURST`]).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_send_limit(store, Quota::per_second(DEFAULT_SEND_RATE_PER_SEC, DEFAULT_SEND_BURST))
    }

    /// The service with this send limit per user.
    pub fn with_send_limit(store: Arc<dyn Store>, sends: Quota) -> Self {
        Self {
            store,
            sends: KeyedLimiter::new(sends),
            links: None,
            channels: None,
            blocklists: Default::default(),
            push: Default::default(),
        }
    }

    /// The service, asking the channels' networks for templates and telling them of reads.
    #[must_use]
    pub fn with_channels(mut self, channels: Arc<super::ChannelService>) -> Self {
        self.channels = Some(channels);
        self
    }

    /// The service, minting media links with `links`.
    #[must_use]
    pub fn with_media_links(mut self, links: MediaLinks) -> Self {
        self.links = Some(links);
        self
    }

    /// The links for a message on its way out.
    pub(super) fn signed(&self, mut message: Message) -> Message {
        if let Some(links) = &self.links {
            links.sign_message(&mut message);
        }
        message
    }

    pub(super) fn signed_all(&self, mut messages: Vec<Message>) -> Vec<Message> {
        if let Some(links) = &self.links {
            links.sign_messages(&mut messages);
        }
        messages
    }

    /// The text and buttons a send goes out with: the buttons checked, and kept where the
    /// conversation's network shows that many that long, else folded into the text as
    /// numbered lines (which an answer's number picks as well as its label).
    async fn with_buttons(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
        req: &SendMessage,
        text: String,
        attachments: usize,
    ) -> Result<(String, Vec<String>), ServiceError> {
        let buttons = message::buttons(&req.buttons)?;
        if buttons.is_empty() {
            return Ok((text, buttons));
        }
        if req.note || req.template.is_some() || attachments > 0 || text.is_empty() {
            return Err(ValidationError::new(
                "buttons",
                "buttons go under a text of their own: not on a note, a template or attachments",
            )
            .into());
        }
        let limits = match &self.channels {
            Some(channels) => channels.button_limits(actor, conversation_id).await?,
            None => None,
        };
        if limits.is_some_and(|l| l.fit(&buttons)) {
            return Ok((text, buttons));
        }
        let folded = message::with_numbered_buttons(&text, &buttons);
        let folded = message::message_text(&folded).map_err(|_| {
            ValidationError::new("text", "is too long to carry its buttons as numbered lines")
        })?;
        Ok((folded, Vec::new()))
    }

    /// Sends a message into a conversation: validated, written with its events and outbox row
    /// in one transaction, idempotent by the client's id (or the `Idempotency-Key`).
    pub async fn send(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
        req: SendMessage,
        idempotency_key: Option<&str>,
        trace_id: Option<String>,
    ) -> Result<Sent, ServiceError> {
        self.send_from(actor, conversation_id, req, idempotency_key, trace_id, false).await
    }

    /// [`Self::send`], as a chatbot flow's message when `from_bot` (not counted against the
    /// actor's send rate: the flow's publisher is not the one writing).
    pub(crate) async fn send_from(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
        req: SendMessage,
        idempotency_key: Option<&str>,
        trace_id: Option<String>,
        from_bot: bool,
    ) -> Result<Sent, ServiceError> {
        let attachments = switchboard::media::attachment_ids(&req.attachments)?;
        if req.note && req.template.is_some() {
            return Err(
                ValidationError::new("note", "a note is the team's own text, never a template").into()
            );
        }
        let text = match &req.template {
            None => message::caption_text(&req.text, attachments.len())?,
            Some(_) if !req.text.is_empty() || !attachments.is_empty() => {
                return Err(ValidationError::new(
                    "template",
                    "a template message carries no text or attachments of its own",
                )
                .into());
            }
            Some(template) => match &self.channels {
                Some(channels) => channels.render_template(actor, conversation_id, template).await?,
                None => {
                    return Err(ValidationError::new("template", "this channel sends no templates").into());
                }
            },
        };
        let (text, buttons) =
            self.with_buttons(actor, conversation_id, &req, text, attachments.len()).await?;
        let body_key = req.client_message_id.as_deref().map(message::client_message_id).transpose()?;
        let header_key = idempotency_key.map(message::client_message_id).transpose()?;
        let key = match (header_key, body_key) {
            (Some(h), Some(b)) if h != b => {
                return Err(ValidationError::new(
                    "client_message_id",
                    "differs from the Idempotency-Key header",
                )
                .into());
            }
            (h, b) => h.or(b),
        };
        // Counted once the request is well formed. Whether the caller may post is decided in
        // the write itself (on facts read in its transaction: no read of its own per send); a
        // refused send stores nothing.
        if !from_bot {
            self.sends.check(&actor.user_id).map_err(ServiceError::RateLimited)?;
        }
        // The workspace's blocklist: a blocked word refuses the message, a flagged one lets it
        // through and tells the moderators.
        let blocked = self.blocked(actor.workspace_id, &text).await?;
        if let Some(word) =
            blocked.as_ref().filter(|w| w.action == switchboard::moderation::BlockAction::Block)
        {
            return Err(ServiceError::Unprocessable(
                "blocked_words",
                format!(
                    "The message holds a word this workspace blocks (“{}”); nothing was sent.",
                    word.word
                ),
            ));
        }
        let outbound = NewOutbound {
            workspace_id: actor.workspace_id,
            conversation_id,
            sender: actor.user_id,
            role: actor.role,
            text,
            client_message_id: key,
            reply_to: req.reply_to,
            attachments,
            template: req.template,
            parent_id: req.parent_id,
            show_in_conversation: req.show_in_conversation,
            note: req.note,
            from_bot,
            buttons,
            trace_id,
        };
        let sent = match self.store.send_message(outbound).await {
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "attachments" => {
                Err(ValidationError::new(
                    "attachments",
                    "Each attachment must be an upload of yours that no other message holds.",
                )
                .into())
            }
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "reply_to" => {
                Err(ValidationError::new("reply_to", "is not a message of this conversation").into())
            }
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "parent_id" => {
                Err(ValidationError::new(
                    "parent_id",
                    "is not a message of this conversation that can start a thread (a thread's reply or a deleted message cannot)",
                )
                .into())
            }
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "thread_room" => {
                Err(ValidationError::new(
                    "parent_id",
                    "threads are for rooms; answer a contact's message with reply_to",
                )
                .into())
            }
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "note_room" => {
                Err(ValidationError::new("note", "notes are for conversations with a contact; a room has no one to hide them from")
                    .into())
            }
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "reply_window" => {
                Err(ServiceError::Unprocessable(
                    "reply_window_closed",
                    "More than 24 hours have passed since the customer last wrote: only an approved \
                     template message can reach them now."
                        .into(),
                ))
            }
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "banned" => {
                Err(ServiceError::Refused(403, "banned", "You are banned from posting here."))
            }
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "frozen" => Err(
                ServiceError::Refused(403, "room_frozen", "This room is frozen: reading goes on, posting does not."),
            ),
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "slow_mode" => {
                Err(ServiceError::SlowMode(self.slow_mode_wait(actor, conversation_id).await?))
            }
            // Not theirs to post in: the access module words the refusal (may they read it?).
            Err(switchboard::StoreError::Conflict { constraint }) if constraint == "room_post" => {
                match access::conversation(self.store.as_ref(), actor, conversation_id, Right::Post).await {
                    Err(refusal) => Err(refusal),
                    Ok(_) => Err(ServiceError::Forbidden(
                        "Only the room's members post in it; add yourself first.",
                    )),
                }
            }
            other => other.map_err(|e| ServiceError::from(e).not_found_as("conversation")),
        };
        let mut sent = sent?;
        if let Some(word) = blocked.filter(|_| sent.created) {
            self.flag_by_blocklist(&sent.message, &word.word).await?;
        }
        sent.message = self.signed(sent.message);
        Ok(sent)
    }

    /// Sends a failed message again (from the start of its retry schedule).
    pub async fn retry(&self, actor: Actor, id: MessageId) -> Result<Message, ServiceError> {
        let message =
            self.store.message(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("message"))?;
        access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Post).await?;
        match self.store.retry_message(actor.workspace_id, id).await {
            Ok(message) => Ok(self.signed(message)),
            Err(switchboard::StoreError::Conflict { .. }) => {
                Err(ServiceError::Conflict("Only a failed outbound message can be retried."))
            }
            Err(e) => Err(ServiceError::from(e).not_found_as("message")),
        }
    }

    /// An outbound message the caller may change: their own where they may still post, or any
    /// where they moderate (admins; a room's moderators).
    async fn own_message(&self, actor: &Actor, id: MessageId) -> Result<Message, ServiceError> {
        let message =
            self.store.message(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("message"))?;
        let granted =
            access::conversation(self.store.as_ref(), *actor, message.conversation_id, Right::Read).await?;
        if message.direction == switchboard::provider::Direction::Inbound {
            return Err(ServiceError::Forbidden("Messages from contacts cannot be changed."));
        }
        let own = message.sender_user_id == Some(actor.user_id);
        if !(granted.may(Right::Moderate) || (own && granted.may(Right::Post))) {
            return Err(ServiceError::Forbidden(
                "Only the sender, a room moderator or an admin can change a message.",
            ));
        }
        Ok(message)
    }

    /// Changes the text of an outbound message, with a `message.updated` event.
    pub async fn edit(&self, actor: Actor, id: MessageId, text: &str) -> Result<Message, ServiceError> {
        let text = message::message_text(text)?;
        let current = self.own_message(&actor, id).await?;
        if let Some(channels) = &self.channels
            && current.text != text
            && current.deleted_at.is_none()
        {
            channels.change_on_network(&current, Some(&text)).await?;
        }
        let target = message::MessageRef::Id { workspace_id: actor.workspace_id, id };
        match self.store.edit_message(target, &text).await {
            Ok(Some(message)) => Ok(self.signed(message)),
            Ok(None) => Ok(self.signed(current)),
            Err(switchboard::StoreError::Conflict { .. }) => {
                Err(ServiceError::Conflict("A deleted message cannot be edited."))
            }
            Err(e) => Err(ServiceError::from(e).not_found_as("message")),
        }
    }

    /// Deletes an outbound message, with a `message.deleted` event (again: no change).
    pub async fn delete(&self, actor: Actor, id: MessageId) -> Result<Message, ServiceError> {
        let current = self.own_message(&actor, id).await?;
        if let Some(channels) = &self.channels
            && current.deleted_at.is_none()
        {
            channels.change_on_network(&current, None).await?;
        }
        let target = message::MessageRef::Id { workspace_id: actor.workspace_id, id };
        match self.store.delete_message(target).await {
            Ok(Some(message)) => Ok(message),
            Ok(None) => Ok(self.signed(current)),
            Err(e) => Err(ServiceError::from(e).not_found_as("message")),
        }
    }

    /// Creates a room of members (the caller always one) in an in-app channel.
    pub async fn create_room(
        &self,
        actor: Actor,
        req: message::CreateRoom,
    ) -> Result<switchboard::Conversation, ServiceError> {
        let title = switchboard::validate::name("title", &req.title)?;
        if let Some(custom) = &req.custom
            && (!custom.is_object() || custom.to_string().len() > switchboard::platform::CUSTOM_LIMIT)
        {
            return Err(ValidationError::new("custom", "must be a JSON object of at most 4096 bytes").into());
        }
        if req.member_ids.len() > message::MAX_ROOM_MEMBERS {
            let why = format!("may name at most {} members", message::MAX_ROOM_MEMBERS);
            return Err(ValidationError::new("member_ids", why).into());
        }
        let channel = self
            .store
            .channel(actor.workspace_id, req.channel_id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        if channel.provider != switchboard::ProviderKind::Inapp {
            return Err(ServiceError::Unprocessable(
                "not_in_app",
                "Rooms live in in-app channels; conversations of other channels start with a contact.".into(),
            ));
        }
        let mut members = vec![actor.user_id];
        for id in req.member_ids {
            if !members.contains(&id) {
                members.push(id);
            }
        }
        let room = switchboard::store::NewRoom {
            workspace_id: actor.workspace_id,
            channel_id: channel.id,
            title,
            members,
            room_type: req.room_type,
            custom: req.custom,
        };
        match self.store.create_room(room).await {
            Ok(conversation) => Ok(conversation),
            Err(switchboard::StoreError::Conflict { .. }) => {
                Err(ValidationError::new("member_ids", "names someone who is not a member of the workspace")
                    .into())
            }
            Err(e) => Err(ServiceError::from(e).not_found_as("channel")),
        }
    }

    /// A room's members (empty for a conversation with a contact), for those who may read it.
    pub async fn members(&self, actor: Actor, id: ConversationId) -> Result<Vec<UserId>, ServiceError> {
        access::conversation(self.store.as_ref(), actor, id, Right::Read).await?;
        Ok(self.store.conversation_members(actor.workspace_id, id).await?)
    }

    /// Puts an emoji on a message (`add`) or takes it off, for the caller: anyone who may post
    /// in the conversation may react. Answers the message with its counts.
    pub async fn react(
        &self,
        actor: Actor,
        id: MessageId,
        emoji: &str,
        add: bool,
    ) -> Result<Message, ServiceError> {
        let emoji = switchboard::reaction::reaction_emoji(emoji)?;
        let message =
            self.store.message(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("message"))?;
        access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Post).await?;
        let op = if add {
            switchboard::reaction::ReactionOp::Add
        } else {
            switchboard::reaction::ReactionOp::Remove
        };
        let target = message::MessageRef::Id { workspace_id: actor.workspace_id, id };
        let reactor = switchboard::reaction::Reactor::User(actor.user_id);
        match self.store.react(target, reactor, &emoji, op).await {
            Ok(Some(changed)) => {
                if let Some(channels) = self.channels.clone() {
                    // On networks that carry reactions, the contact sees it too. The account
                    // has one reaction per message there: the team's latest remaining one, or
                    // none when no member's is left.
                    let team = changed.reactions.iter().rev().find(|r| !r.user_ids.is_empty());
                    let shown = if add { emoji } else { team.map(|r| r.emoji.clone()).unwrap_or_default() };
                    let message = changed.clone();
                    tokio::spawn(async move { channels.report_reaction(message, shown).await });
                }
                Ok(self.signed(changed))
            }
            // Already so: the message as it is.
            Ok(None) => Ok(self.signed(message)),
            Err(switchboard::StoreError::Conflict { .. }) => {
                Err(ServiceError::Conflict("A deleted message takes no reactions."))
            }
            Err(e) => Err(ServiceError::from(e).not_found_as("message")),
        }
    }

    /// Stars or unstars a message for the caller.
    pub async fn set_starred(&self, actor: Actor, id: MessageId, starred: bool) -> Result<(), ServiceError> {
        let message =
            self.store.message(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("message"))?;
        access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Read).await?;
        self.store
            .set_starred(actor.workspace_id, actor.user_id, id, starred)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("message"))
    }

    /// Who has read a message (members whose read position is at or past it; its sender left
    /// out): anyone who may read its conversation may ask.
    pub async fn reads(
        &self,
        actor: Actor,
        id: MessageId,
    ) -> Result<switchboard::platform::MessageReads, ServiceError> {
        let message =
            self.store.message(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("message"))?;
        access::conversation(self.store.as_ref(), actor, message.conversation_id, Right::Read).await?;
        let read_by = self
            .store
            .readers(actor.workspace_id, message.conversation_id, id, message.sender_user_id)
            .await?;
        Ok(switchboard::platform::MessageReads { message_id: id, read_by })
    }

    /// Rooms by query (`GET /api/v1/rooms`): those the caller may read (every room for owners,
    /// admins and keys; else the ones they belong to and livestreams), filtered by member, type
    /// and custom values, newest first by last message or creation, a page at a time.
    pub async fn rooms(
        &self,
        actor: Actor,
        filter: RoomFilter,
    ) -> Result<Vec<switchboard::Conversation>, ServiceError> {
        let member = match (filter.member_id, filter.member.as_deref()) {
            (Some(id), _) => Some(id),
            (None, Some(external)) => Some(
                self.store
                    .app_user(actor.workspace_id, external)
                    .await?
                    .ok_or(ServiceError::NotFound("user"))?
                    .user_id,
            ),
            (None, None) => None,
        };
        for (key, value) in &filter.custom {
            let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if key.is_empty() || key.len() > 64 || !key.chars().all(plain) || value.len() > 256 {
                let why = "custom filters are custom.<key>=<value>: keys of letters, digits, _ and -";
                return Err(ValidationError::new("custom", why).into());
            }
        }
        let query = switchboard::store::RoomQuery {
            viewer: actor.user_id,
            all: actor.role.is_admin(),
            member,
            room_type: filter.room_type,
            custom: filter.custom,
            sort: filter.sort,
            after: filter.after,
            limit: filter.limit.unwrap_or(30).clamp(1, 100),
        };
        Ok(self.store.rooms(actor.workspace_id, &query).await?)
    }

    /// The caller's starred messages, newest first.
    pub async fn starred(&self, actor: Actor) -> Result<Vec<Message>, ServiceError> {
        Ok(self.signed_all(self.store.starred(actor.workspace_id, actor.user_id, MAX_PAGE).await?))
    }

    /// The workspace's conversations the caller may read (the shared inbox, and the rooms they
    /// belong to; every room for owners and admins), most recent activity first, with the
    /// caller's unread counts.
    pub async fn conversations(
        &self,
        actor: Actor,
        mut filter: ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, ServiceError> {
        filter.rooms = RoomScope::of(actor.role);
        if filter.search.as_deref().is_some_and(|s| s.chars().count() > message::MAX_SEARCH_CHARS) {
            let why = format!("is longer than {} characters", message::MAX_SEARCH_CHARS);
            return Err(switchboard::validate::ValidationError::new("q", why).into());
        }
        if let Some(search) = &filter.search {
            switchboard::validate::no_nul("q", search)?;
        }
        Ok(self.store.conversations(actor.workspace_id, actor.user_id, &filter).await?)
    }

    /// Moves the caller's read position forward to `up_to`; returns the unread count left
    /// (100 for "99+").
    pub async fn mark_read(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
        up_to: MessageId,
    ) -> Result<switchboard::message::UnreadCount, ServiceError> {
        access::conversation(self.store.as_ref(), actor, conversation_id, Right::Read).await?;
        let unread = self
            .store
            .mark_read(actor.workspace_id, actor.user_id, conversation_id, up_to)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("conversation"))?;
        if let Some(channels) = self.channels.clone() {
            // The contact's blue ticks: off the reader's path, once per message.
            tokio::spawn(
                async move { channels.report_read(actor.workspace_id, conversation_id, up_to).await },
            );
        }
        Ok(unread)
    }

    /// Every event the caller may see after `since` (a position in the workspace's log), in
    /// commit order: for offline clients and recovery. `next` is the cursor for the next call.
    pub async fn sync(&self, actor: Actor, since: i64, limit: Option<u32>) -> Result<SyncPage, ServiceError> {
        if !actor.role.is_staff() {
            return Err(ServiceError::Forbidden(
                "The workspace's log is for its staff; app users read their rooms.",
            ));
        }
        let limit = limit.unwrap_or(100);
        if limit == 0 || limit > MAX_SYNC_PAGE || since < 0 {
            let why = format!("limit must be 1 to {MAX_SYNC_PAGE} and since at least 0");
            return Err(switchboard::validate::ValidationError::new("limit", why).into());
        }
        // Rooms the caller may not read are left out; the cursor still moves past them, and a
        // page is topped up from further on so that hidden events do not shrink it.
        let filter = EventFilter::for_actor(self.store.as_ref(), actor).await?;
        let page = limit as usize;
        let mut events = Vec::with_capacity(page);
        let mut next = since;
        for _ in 0..SYNC_ROUNDS {
            // One more than asked tells whether there is more.
            let rows = self.store.events_since(actor.workspace_id, actor.user_id, next, limit + 1).await?;
            let more = rows.len() > page;
            for (pos, event) in rows.into_iter().take(page) {
                if events.len() == page {
                    return Ok(SyncPage { events, next, has_more: true });
                }
                next = pos;
                if filter.shows(&event) {
                    let mut event = event;
                    if let Some(links) = &self.links {
                        links.sign_event(&mut event);
                    }
                    events.push(event);
                }
            }
            if !more {
                return Ok(SyncPage { events, next, has_more: false });
            }
            if events.len() == page {
                break;
            }
        }
        Ok(SyncPage { events, next, has_more: true })
    }

    /// A page of a conversation's history, newest first, older than `before`.
    pub async fn history(
        &self,
        actor: Actor,
        conversation_id: ConversationId,
        before: Option<MessageId>,
        limit: Option<u32>,
    ) -> Result<Vec<Message>, ServiceError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(switchboard::validate::ValidationError::new(
                "limit",
                format!("must be 1 to {MAX_PAGE}"),
            )
            .into());
        }
        access::conversation(self.store.as_ref(), actor, conversation_id, Right::Read).await?;
        Ok(self.signed_all(
            self.store.history(actor.workspace_id, conversation_id, actor.user_id, before, limit).await?,
        ))
    }
}

/// What `GET /api/v1/rooms` filters by.
#[derive(Clone, Debug, Default)]
pub struct RoomFilter {
    /// Only rooms this app user (by external id) belongs to.
    pub member: Option<String>,
    /// Only rooms this user (by id) belongs to.
    pub member_id: Option<UserId>,
    pub room_type: Option<switchboard::access::RoomType>,
    /// `custom.<key>=<value>` equalities (string values).
    pub custom: Vec<(String, String)>,
    pub sort: switchboard::store::RoomSort,
    pub after: Option<ConversationId>,
    pub limit: Option<u32>,
}
