//! Inbound traffic in the store: a network's messages recorded once, and a linked phone's
//! history recorded as the past.

use async_trait::async_trait;

use super::StoreError;
use crate::event::Event;
use crate::ids::{ChannelId, WorkspaceId};
use crate::message::{Conversation, Message};
use crate::provider::{Contact, ProviderMessage};

/// An inbound message to record (from a webhook or a connected runtime).
#[derive(Clone, Debug)]
pub struct NewInbound {
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub contact: Contact,
    pub message: ProviderMessage,
    /// The message's media, already in the blob store (or marked unavailable); recorded with
    /// the message, in its transaction.
    pub attachments: Vec<crate::media::Attachment>,
    /// Each attachment's blob and thumbnail keys, in the same order.
    pub blob_keys: Vec<(Option<String>, Option<String>)>,
    pub trace_id: Option<String>,
}

/// What recording an inbound message wrote.
#[derive(Clone, Debug)]
pub struct Ingested {
    pub message: Message,
    pub conversation: Conversation,
    /// False when the message was already recorded and this redelivery changed its text (an
    /// edit on the network): then the one event is `message.updated`.
    pub created: bool,
    /// In the order written; publish them after commit.
    pub events: Vec<Event>,
}

/// Inbound messages from the networks.
#[async_trait]
pub trait InboundRepo: Send + Sync {
    /// Records an inbound message: upserts the contact, finds or creates the conversation,
    /// upserts the message by `(channel_id, external_id)`. A redelivery whose text changed
    /// updates the stored message once (`created: false`, one `message.updated` event); `None`
    /// when it was already recorded as it is (a replayed webhook changes nothing).
    async fn ingest_inbound(&self, inbound: NewInbound) -> Result<Option<Ingested>, StoreError>;
    /// Whether the channel's message with this network id is recorded (a redelivery: its media
    /// need not be fetched again).
    async fn has_inbound(&self, channel_id: ChannelId, external_id: &str) -> Result<bool, StoreError>;
    /// Records one chat's past messages as history (a phone just linked): the contact and
    /// conversation found or created, each message added once by `(channel_id, external_id)`
    /// and ordered by when it was sent. History is not news: no `message.created`, nothing
    /// unread, the conversation not reopened; only `conversation.created` or
    /// `conversation.updated` so inboxes show the chat. Returns how many messages were added.
    async fn import_history(&self, history: NewHistory) -> Result<usize, StoreError>;
}

/// One chat's past messages to record (see [`InboundRepo::import_history`]).
#[derive(Clone, Debug)]
pub struct NewHistory {
    pub workspace_id: WorkspaceId,
    pub channel_id: ChannelId,
    pub contact: Contact,
    /// Each message with its media as attachments (history's media are not fetched: they are
    /// `unavailable`, places and contact cards whole).
    pub messages: Vec<(ProviderMessage, Vec<crate::media::Attachment>)>,
}
