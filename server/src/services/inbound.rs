//! The one inbound path: a network's canonical events (from a webhook or a connected runtime)
//! recorded in the store — messages with their media fetched first, receipts, edits, deletes,
//! reactions, chat names, presence, the channel's own status.

use std::sync::Arc;

use switchboard::message;
use switchboard::provider::{Contact, ProviderMessage};
use switchboard::store::{Ingested, NewInbound};
use switchboard::{Channel, Store};

use super::ServiceError;

/// Records one inbound message of a channel: the path webhooks and connected runtimes share.
/// A redelivery with changed text updates the stored message (`created: false`); `None` when
/// the message was already recorded as it is.
pub async fn ingest(
    store: &dyn Store,
    channel: &Channel,
    contact: Contact,
    message: ProviderMessage,
) -> Result<Option<Ingested>, ServiceError> {
    ingest_with(store, channel, contact, message, Vec::new()).await
}

/// [`ingest`], with the message's media already stored (or marked unavailable).
pub async fn ingest_with(
    store: &dyn Store,
    channel: &Channel,
    contact: Contact,
    message: ProviderMessage,
    received: Vec<(switchboard::media::Attachment, Option<String>, Option<String>)>,
) -> Result<Option<Ingested>, ServiceError> {
    let (attachments, blob_keys): (Vec<_>, Vec<_>) =
        received.into_iter().map(|(a, b, t)| (a, (b, t))).unzip();
    let inbound = NewInbound {
        workspace_id: channel.workspace_id,
        channel_id: channel.id,
        contact,
        message,
        attachments,
        blob_keys,
        trace_id: None,
    };
    let done = store.ingest_inbound(inbound).await?;
    if let Some(done) = &done {
        let what =
            if done.created { "inbound message recorded" } else { "inbound message updated by a redelivery" };
        tracing::info!(channel_id = %channel.id, conversation_id = %done.conversation.id, message_id = %done.message.id, "{what}");
    }
    Ok(done)
}

/// The event with every NUL removed from the text a network gave us (the rule is in
/// [`switchboard::validate::no_nul`]): stored as the person wrote it, minus what neither
/// backend can hold, rather than refused and retried by the network forever.
fn without_nul(event: switchboard::provider::ChannelEvent) -> switchboard::provider::ChannelEvent {
    use switchboard::provider::ChannelEvent;
    use switchboard::validate::strip_nul as s;
    match event {
        ChannelEvent::ContactsUpdated { contacts } => ChannelEvent::ContactsUpdated {
            contacts: contacts
                .into_iter()
                .map(|c| Contact { external_id: s(c.external_id), name: s(c.name) })
                .collect(),
        },
        ChannelEvent::MessageReceived { message } => {
            ChannelEvent::MessageReceived { message: clean(message) }
        }
        ChannelEvent::History { contact_id, messages } => ChannelEvent::History {
            contact_id: s(contact_id),
            messages: messages.into_iter().map(clean).collect(),
        },
        ChannelEvent::MessageStatus { external_id, status, error } => {
            ChannelEvent::MessageStatus { external_id: s(external_id), status, error: error.map(s) }
        }
        ChannelEvent::MessageEdited { external_id, text } => {
            ChannelEvent::MessageEdited { external_id: s(external_id), text: s(text) }
        }
        ChannelEvent::ChatUpdated { chat_id, title } => {
            ChannelEvent::ChatUpdated { chat_id: s(chat_id), title: s(title) }
        }
        ChannelEvent::StatusChanged { status, last_error } => {
            ChannelEvent::StatusChanged { status, last_error: last_error.map(s) }
        }
        ChannelEvent::Presence { contact_id, online } => {
            ChannelEvent::Presence { contact_id: s(contact_id), online }
        }
        ChannelEvent::MessageRevoked { external_id } => {
            ChannelEvent::MessageRevoked { external_id: s(external_id) }
        }
        other => other,
    }
}

/// A network's message with every NUL removed from its text fields.
fn clean(mut message: ProviderMessage) -> ProviderMessage {
    use switchboard::validate::strip_nul as s;
    message.external_id = s(message.external_id);
    message.contact_id = s(message.contact_id);
    message.text = s(message.text);
    message.reply_to = message.reply_to.map(s);
    message.sender_name = message.sender_name.map(s);
    message
}

/// Routes a channel's canonical inbound events (from a webhook or a connected runtime) to the
/// store: messages are ingested, receipts advance message statuses, contact names are
/// remembered for the messages that follow. Everything else is not stored.
pub struct InboundRouter<'a> {
    store: &'a dyn Store,
    channel: &'a Channel,
    names: std::collections::HashMap<String, String>,
    media: Option<MediaFetch>,
    /// Messages the history import under way added so far.
    imported: u64,
}

/// What fetching a network's media takes: its adapter, the channel's credentials, and where
/// the bytes go.
#[derive(Clone)]
pub struct MediaFetch {
    pub media: Arc<crate::media::MediaService>,
    pub provider: Arc<dyn switchboard::provider::Provider>,
    pub credentials: Option<serde_json::Value>,
    /// Waits between the attempts (three attempts: the first, then one after each wait).
    pub retry_waits: [std::time::Duration; 2],
}

impl MediaFetch {
    pub fn new(
        media: Arc<crate::media::MediaService>,
        provider: Arc<dyn switchboard::provider::Provider>,
        credentials: Option<serde_json::Value>,
    ) -> Self {
        let waits = [std::time::Duration::from_millis(500), std::time::Duration::from_secs(2)];
        Self { media, provider, credentials, retry_waits: waits }
    }

    /// Each media item as an attachment with its blob keys: fetched (retried) and stored, or
    /// marked unavailable so the message still arrives.
    async fn fetch_all(
        &self,
        channel: &Channel,
        items: &[switchboard::provider::InboundMedia],
    ) -> Vec<(switchboard::media::Attachment, Option<String>, Option<String>)> {
        use switchboard::media::{Attachment, MediaState};
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter().take(switchboard::media::MAX_ATTACHMENTS) {
            let bare = unfetched(item);
            if !item.kind.has_blob() {
                out.push((bare, None, None));
                continue;
            }
            match self.fetch_one(channel, item).await {
                Some(stored) => out.push(stored),
                None => out.push((Attachment { state: MediaState::Unavailable, ..bare }, None, None)),
            }
        }
        out
    }

    async fn fetch_one(
        &self,
        channel: &Channel,
        item: &switchboard::provider::InboundMedia,
    ) -> Option<(switchboard::media::Attachment, Option<String>, Option<String>)> {
        use switchboard::provider::ProviderError;
        let mut waits = self.retry_waits.iter();
        let bytes = loop {
            let why = match self.provider.fetch_media(channel, self.credentials.as_ref(), &item.source).await
            {
                Ok(bytes) => break bytes,
                Err(ProviderError::Retryable { message, .. }) => message,
                Err(ProviderError::RateLimited { retry_after_secs, .. }) => {
                    format!("rate limited for {retry_after_secs} s")
                }
                Err(e) => {
                    tracing::warn!(channel_id = %channel.id, error = %e, "inbound media refused by the network");
                    return None;
                }
            };
            match waits.next() {
                Some(wait) => tokio::time::sleep(*wait).await,
                None => {
                    tracing::warn!(channel_id = %channel.id, %why, "inbound media unavailable after retries");
                    return None;
                }
            }
        };
        let meta = crate::media::UploadMeta {
            file_name: item.file_name.clone(),
            kind: Some(item.kind),
            duration_ms: item.duration_ms,
        };
        match self.media.store_received(channel.workspace_id, bytes.into(), meta).await {
            Ok(stored) => Some(stored),
            Err(e) => {
                tracing::warn!(channel_id = %channel.id, error = %e, "inbound media not stored");
                None
            }
        }
    }
}

/// A network's media item as an attachment before (or without) its bytes: whole for places and
/// contact cards, which have none; `ready` to be filled in by a fetch.
fn unfetched(item: &switchboard::provider::InboundMedia) -> switchboard::media::Attachment {
    switchboard::media::Attachment {
        id: switchboard::AttachmentId::new(),
        kind: item.kind,
        mime_type: "application/octet-stream".into(),
        size: 0,
        file_name: switchboard::media::file_name(item.file_name.as_deref(), item.kind.as_str()),
        width: None,
        height: None,
        duration_ms: item.duration_ms,
        has_thumbnail: false,
        state: switchboard::media::MediaState::Ready,
        location: item.location.clone(),
        contact: item.contact.clone(),
        url: None,
        thumbnail_url: None,
    }
}

/// History's media are not fetched (a linked phone's past can hold gigabytes): files are
/// recorded `unavailable`, places and contact cards whole.
fn history_attachments(items: &[switchboard::provider::InboundMedia]) -> Vec<switchboard::media::Attachment> {
    use switchboard::media::MediaState;
    items
        .iter()
        .take(switchboard::media::MAX_ATTACHMENTS)
        .map(|item| {
            let attachment = unfetched(item);
            if item.kind.has_blob() {
                switchboard::media::Attachment { state: MediaState::Unavailable, ..attachment }
            } else {
                attachment
            }
        })
        .collect()
}

impl<'a> InboundRouter<'a> {
    pub fn new(store: &'a dyn Store, channel: &'a Channel) -> Self {
        Self { store, channel, names: Default::default(), media: None, imported: 0 }
    }

    /// The same router, fetching messages' media with `fetch` before recording them.
    #[must_use]
    pub fn with_media(mut self, fetch: Option<MediaFetch>) -> Self {
        self.media = fetch;
        self
    }

    /// Applies one event; true when it changed something.
    pub async fn route(&mut self, event: switchboard::provider::ChannelEvent) -> Result<bool, ServiceError> {
        use switchboard::MessageStatus;
        use switchboard::provider::{ChannelEvent, DeliveryStatus};
        match without_nul(event) {
            ChannelEvent::ContactsUpdated { contacts } => {
                self.names.extend(contacts.into_iter().map(|c| (c.external_id, c.name)));
                Ok(false)
            }
            ChannelEvent::MessageReceived { message } => {
                let name = self
                    .names
                    .get(&message.contact_id)
                    .cloned()
                    .unwrap_or_else(|| message.contact_id.clone());
                let contact = Contact { external_id: message.contact_id.clone(), name };
                // The collector waits until the message that names the fetched blobs is written.
                // A redelivery keeps the media it was recorded with: nothing to fetch again.
                let known = !message.media.is_empty()
                    && self.store.has_inbound(self.channel.id, &message.external_id).await?;
                let (received, _hold) = match &self.media {
                    Some(fetch) if !message.media.is_empty() && !known => {
                        let hold = fetch.media.hold().await;
                        (fetch.fetch_all(self.channel, &message.media).await, Some(hold))
                    }
                    _ => (Vec::new(), None),
                };
                Ok(ingest_with(self.store, self.channel, contact, message, received).await?.is_some())
            }
            ChannelEvent::MessageStatus { external_id, status, error } => {
                let status = match status {
                    DeliveryStatus::Sent => MessageStatus::Sent,
                    DeliveryStatus::Delivered => MessageStatus::Delivered,
                    DeliveryStatus::Read => MessageStatus::Read,
                    DeliveryStatus::Failed => MessageStatus::Failed,
                };
                let applied =
                    self.store.apply_delivery(self.channel.id, &external_id, status, error.as_deref());
                Ok(applied.await?.is_some())
            }
            ChannelEvent::Reaction { external_id, contact_id, emoji } => {
                // One reaction per contact on these networks: the next replaces it, an empty
                // one takes it back.
                let emoji = match emoji.trim() {
                    "" => String::new(),
                    given => match switchboard::reaction::reaction_emoji(given) {
                        Ok(emoji) => emoji,
                        Err(_) => {
                            tracing::warn!(channel_id = %self.channel.id, "ignoring an unusable reaction");
                            return Ok(false);
                        }
                    },
                };
                let target = message::MessageRef::External { channel_id: self.channel.id, external_id };
                let reactor = switchboard::reaction::Reactor::Contact(contact_id);
                let op = switchboard::reaction::ReactionOp::Replace;
                match self.store.react(target, reactor, &emoji, op).await {
                    Ok(done) => Ok(done.is_some()),
                    // On a deleted message: nothing to show it on.
                    Err(switchboard::StoreError::Conflict { .. }) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
            ChannelEvent::MessageEdited { external_id, text } => {
                let Ok(text) = message::message_text(&text) else {
                    tracing::warn!(channel_id = %self.channel.id, "ignoring an edit to an empty or oversized text");
                    return Ok(false);
                };
                let target = message::MessageRef::External { channel_id: self.channel.id, external_id };
                match self.store.edit_message(target, &text).await {
                    Ok(done) => Ok(done.is_some()),
                    // The message was deleted first; an edit cannot bring it back.
                    Err(switchboard::StoreError::Conflict { .. }) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
            ChannelEvent::ChatUpdated { chat_id, title } => {
                let Ok(title) = switchboard::validate::name("title", &title) else {
                    tracing::warn!(channel_id = %self.channel.id, "ignoring a chat update with an unusable title");
                    return Ok(false);
                };
                Ok(self.store.rename_chat(self.channel.id, &chat_id, &title).await?.is_some())
            }
            ChannelEvent::StatusChanged { status, last_error } => {
                // The network itself says how the account stands (banned, logged out elsewhere).
                let before = self.store.channel(self.channel.workspace_id, self.channel.id).await?;
                let at = switchboard::time::now();
                let after = self
                    .store
                    .set_channel_status(self.channel.workspace_id, self.channel.id, status, last_error, at)
                    .await?;
                let changed =
                    before.is_some_and(|b| b.status != after.status || b.last_error != after.last_error);
                if changed && after.status == switchboard::ChannelStatus::Connected {
                    // Working again (a phone linked anew): what waited for it goes out now.
                    self.store.pause_outbox(self.channel.id, None, at).await?;
                }
                Ok(changed)
            }
            ChannelEvent::ChatMoved { from, to } => {
                let moved = self.store.move_chat(self.channel.id, &from, &to).await?;
                tracing::info!(channel_id = %self.channel.id, moved, "a chat took a new id");
                Ok(moved)
            }
            ChannelEvent::ContactBlocked { contact_id, reason } => {
                Ok(self.store.set_contact_blocked(self.channel.id, &contact_id, reason.as_deref()).await?)
            }
            ChannelEvent::History { contact_id, messages } => {
                let name = self.names.get(&contact_id).cloned().unwrap_or_else(|| contact_id.clone());
                let messages = messages
                    .into_iter()
                    .map(|m| {
                        let attachments = history_attachments(&m.media);
                        (m, attachments)
                    })
                    .collect();
                let history = switchboard::store::NewHistory {
                    workspace_id: self.channel.workspace_id,
                    channel_id: self.channel.id,
                    contact: Contact { external_id: contact_id, name },
                    messages,
                };
                let added = self.store.import_history(history).await?;
                self.imported += added as u64;
                Ok(added > 0)
            }
            ChannelEvent::HistoryProgress { chats_done, chats_total, finished, error } => {
                use switchboard::channel::{HistoryImport, HistoryImportState};
                let state = match (finished, &error) {
                    (false, _) => HistoryImportState::Running,
                    (true, None) => HistoryImportState::Done,
                    (true, Some(_)) => HistoryImportState::Failed,
                };
                let progress = HistoryImport {
                    state,
                    chats_done,
                    chats_total,
                    messages_added: self.imported,
                    error,
                    updated_at: switchboard::time::now(),
                };
                if finished {
                    self.imported = 0;
                }
                self.store.set_history_import(self.channel.id, &progress).await?;
                Ok(true)
            }
            ChannelEvent::Cursor { value } => {
                self.store.set_channel_cursor(self.channel.id, &value).await?;
                Ok(false)
            }
            ChannelEvent::Presence { contact_id, online } => {
                Ok(self.store.set_contact_presence(self.channel.id, &contact_id, online).await?)
            }
            ChannelEvent::MessageRevoked { external_id } => {
                let target = message::MessageRef::External { channel_id: self.channel.id, external_id };
                Ok(self.store.delete_message(target).await?.is_some())
            }
            _ => Ok(false),
        }
    }
}
