//! Events: the typed record of every change, as written to the event log and published on a
//! topic, and the ephemeral signals (typing, presence) that are only relayed.
//!
//! An [`Event`] carries an [`EventBody`]: one variant per kind, each with its typed payload.
//! The kind is never stored beside the body, so the two cannot disagree. On the wire (and in
//! the log) an event is the documented envelope
//! `{id, type, schema_version, occurred_at, trace_id, topic, offset, payload}`; `type` and
//! `payload` come from the body. The server writes bodies, the browser's reducer matches on
//! them: one definition for both ends.

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::channel::ChannelStatus;
use crate::ids::{ChannelId, ContactId, ConversationId, EventId, MessageId, UserId, WorkspaceId};
use crate::message::{Conversation, ConversationStatus, Message, MessageStatus};
use crate::provider::Direction;
use crate::topic::Topic;

/// The schema version of the payloads this build writes.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// What an event says happened: its `type` on the wire. Persisted events are in the log; the
/// ephemeral ones (typing, presence) are only relayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventKind {
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "message.updated")]
    MessageUpdated,
    #[serde(rename = "message.deleted")]
    MessageDeleted,
    #[serde(rename = "message.status")]
    MessageStatus,
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    #[serde(rename = "conversation.updated")]
    ConversationUpdated,
    #[serde(rename = "read.updated")]
    ReadUpdated,
    /// A member read a room up to a message (the room's read receipts).
    #[serde(rename = "read.receipt")]
    ReadReceipt,
    #[serde(rename = "contact.presence")]
    ContactPresence,
    #[serde(rename = "channel.status")]
    ChannelStatus,
    #[serde(rename = "member.removed")]
    MemberRemoved,
    #[serde(rename = "reaction.added")]
    ReactionAdded,
    #[serde(rename = "reaction.removed")]
    ReactionRemoved,
    #[serde(rename = "message.pinned")]
    MessagePinned,
    #[serde(rename = "message.unpinned")]
    MessageUnpinned,
    /// A bot session began in a conversation (on the workspace's inbox).
    #[serde(rename = "session.started")]
    SessionStarted,
    /// A message of a running bot session (on `session:{id}`).
    #[serde(rename = "session.message")]
    SessionMessage,
    /// A bot session ran a node (on `session:{id}`).
    #[serde(rename = "session.node_executed")]
    SessionNodeExecuted,
    /// A bot session's status moved (on `session:{id}`).
    #[serde(rename = "session.status_changed")]
    SessionStatusChanged,
    /// A bot session ended (on `session:{id}` and the workspace's inbox).
    #[serde(rename = "session.completed")]
    SessionCompleted,
    /// Ephemeral: a message or note mentions the reader (on their own `user:{id}` topic, so an
    /// inbox that is not watching the conversation hears of it).
    #[serde(rename = "mention")]
    Mentioned,
    /// Ephemeral: someone is typing in a conversation.
    #[serde(rename = "typing")]
    Typing,
    /// Ephemeral: a member's first connection opened.
    #[serde(rename = "presence.online")]
    PresenceOnline,
    /// Ephemeral: a member's last connection closed.
    #[serde(rename = "presence.offline")]
    PresenceOffline,
}

impl EventKind {
    pub const ALL: [EventKind; 24] = [
        EventKind::MessageCreated,
        EventKind::MessageUpdated,
        EventKind::MessageDeleted,
        EventKind::MessageStatus,
        EventKind::ConversationCreated,
        EventKind::ConversationUpdated,
        EventKind::ReadUpdated,
        EventKind::ReadReceipt,
        EventKind::ContactPresence,
        EventKind::ChannelStatus,
        EventKind::MemberRemoved,
        EventKind::ReactionAdded,
        EventKind::ReactionRemoved,
        EventKind::MessagePinned,
        EventKind::MessageUnpinned,
        EventKind::SessionStarted,
        EventKind::SessionMessage,
        EventKind::SessionNodeExecuted,
        EventKind::SessionStatusChanged,
        EventKind::SessionCompleted,
        EventKind::Mentioned,
        EventKind::Typing,
        EventKind::PresenceOnline,
        EventKind::PresenceOffline,
    ];

    /// The name on the wire and in the event log.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::MessageCreated => "message.created",
            EventKind::MessageUpdated => "message.updated",
            EventKind::MessageDeleted => "message.deleted",
            EventKind::MessageStatus => "message.status",
            EventKind::ConversationCreated => "conversation.created",
            EventKind::ConversationUpdated => "conversation.updated",
            EventKind::ReadUpdated => "read.updated",
            EventKind::ReadReceipt => "read.receipt",
            EventKind::ContactPresence => "contact.presence",
            EventKind::ChannelStatus => "channel.status",
            EventKind::MemberRemoved => "member.removed",
            EventKind::ReactionAdded => "reaction.added",
            EventKind::ReactionRemoved => "reaction.removed",
            EventKind::MessagePinned => "message.pinned",
            EventKind::MessageUnpinned => "message.unpinned",
            EventKind::SessionStarted => "session.started",
            EventKind::SessionMessage => "session.message",
            EventKind::SessionNodeExecuted => "session.node_executed",
            EventKind::SessionStatusChanged => "session.status_changed",
            EventKind::SessionCompleted => "session.completed",
            EventKind::Mentioned => "mention",
            EventKind::Typing => "typing",
            EventKind::PresenceOnline => "presence.online",
            EventKind::PresenceOffline => "presence.offline",
        }
    }

    /// Relayed to whoever listens now, never written to the log nor recovered.
    pub fn is_ephemeral(&self) -> bool {
        matches!(
            self,
            EventKind::Typing | EventKind::PresenceOnline | EventKind::PresenceOffline | EventKind::Mentioned
        )
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

/// A `type` this build does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind `{0}`")]
pub struct UnknownKind(pub String);

/// A body that could not be read from its kind and payload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadEvent {
    #[error(transparent)]
    Kind(#[from] UnknownKind),
    #[error("`{kind}` payload: {reason}")]
    Payload { kind: EventKind, reason: String },
}

/// What happened, with its data: the event's `type` and `payload` in one value.
#[derive(Clone, Debug, PartialEq)]
pub enum EventBody {
    /// A message was stored (sent by a member, or received from a network).
    MessageCreated(Message),
    /// A message's text changed (an edit, here or on the network).
    MessageUpdated(Message),
    MessageDeleted(MessageDeleted),
    /// A message's delivery state moved (see [`MessageStatus::advances_to`]).
    MessageStatus(StatusChanged),
    /// A conversation appeared in a list: a new contact chat on the inbox, a room on its
    /// members' own topics.
    ConversationCreated(Conversation),
    ConversationUpdated(ConversationUpdated),
    /// The reader's position and unread count, on their own topic.
    ReadUpdated(ReadUpdated),
    /// A member's read position in a room, on the room's topic (its read receipts).
    ReadReceipt(ReadReceipt),
    ContactPresence(ContactPresence),
    ChannelStatus(ChannelStatusChanged),
    /// A user left a workspace: told on their own topic, whose connections then close.
    MemberRemoved(MemberRemoved),
    /// Someone put an emoji on a message (the message's counts after it).
    ReactionAdded(crate::reaction::ReactionChanged),
    /// Someone took one off.
    ReactionRemoved(crate::reaction::ReactionChanged),
    /// A member pinned a message in its conversation.
    MessagePinned(PinChanged),
    /// A member unpinned it (or it was deleted).
    MessageUnpinned(PinChanged),
    /// A bot session began (the session as it started).
    SessionStarted(crate::flow::BotSession),
    SessionMessage(crate::flow::events::SessionMessage),
    SessionNodeExecuted(crate::flow::events::NodeExecuted),
    SessionStatusChanged(crate::flow::events::SessionStatusChanged),
    SessionCompleted(crate::flow::events::SessionCompleted),
    /// The message (or note) that mentions the reader.
    Mentioned(Message),
    Typing(Typing),
    PresenceOnline(UserPresence),
    PresenceOffline(UserPresence),
}

/// `message.deleted`: the message keeps its place with an empty text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDeleted {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// `message.status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub status: MessageStatus,
    pub external_id: Option<String>,
    pub error: Option<String>,
}

/// `conversation.updated`: which conversation, and what changed about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationUpdated {
    pub conversation_id: ConversationId,
    #[serde(flatten)]
    pub change: ConversationChange,
}

/// What a `conversation.updated` says changed. Each shape has the fields its case needs; on the
/// wire they sit beside `conversation_id` (read in this order: the first shape that fits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConversationChange {
    /// A new message moved it up the list. Whose it is tells a client whether it is unread.
    NewMessage {
        last_message_at: Option<DateTime<Utc>>,
        last_message_preview: String,
        status: ConversationStatus,
        message_id: MessageId,
        direction: Direction,
        sender_user_id: Option<UserId>,
    },
    /// The network renamed the chat.
    Renamed { title: String, status: ConversationStatus },
    /// A room's members changed: the whole list after the change.
    Members { member_ids: Vec<UserId> },
    /// Its labels changed: the whole list after the change.
    Labels { label_ids: Vec<crate::ids::LabelId> },
    /// Assigned to an agent, or unassigned (`assignee_id: null`), by `assigned_by` (none: the
    /// automatic assignment).
    Assigned { assignee_id: Option<UserId>, assigned_by: Option<UserId>, assigned_at: DateTime<Utc> },
    /// Opened, parked as pending, resolved or snoozed (until `snoozed_until`).
    Status {
        last_message_at: Option<DateTime<Utc>>,
        last_message_preview: Option<String>,
        status: ConversationStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snoozed_until: Option<DateTime<Utc>>,
    },
    /// A room's moderation rules changed: frozen or not, its slow mode.
    Rules { frozen: bool, slow_mode_secs: Option<u32> },
}

/// `read.updated`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadUpdated {
    pub conversation_id: ConversationId,
    pub up_to: MessageId,
    /// What is left unread: exact up to 99, 100 for "99+".
    pub unread_count: crate::message::UnreadCount,
}

/// `read.receipt`: `user_id` has read the room up to `message_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadReceipt {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub message_id: MessageId,
}

/// `contact.presence`: what the network said about a contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPresence {
    pub contact_id: ContactId,
    pub channel_id: ChannelId,
    pub online: bool,
    pub at: DateTime<Utc>,
}

/// `channel.status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStatusChanged {
    pub channel_id: ChannelId,
    pub status: ChannelStatus,
    pub last_error: Option<String>,
}

/// `member.removed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRemoved {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
}

/// `typing` (ephemeral).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub name: String,
    /// How long to show it without a repeat.
    pub expires_in_ms: u64,
}

/// `message.pinned` / `message.unpinned`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinChanged {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    /// Who pinned or unpinned it (none: the message was deleted, and its pin with it).
    pub user_id: Option<UserId>,
    pub at: DateTime<Utc>,
}

/// `presence.online` / `presence.offline` (ephemeral).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPresence {
    pub user_id: UserId,
}

impl EventBody {
    pub fn kind(&self) -> EventKind {
        match self {
            EventBody::MessageCreated(_) => EventKind::MessageCreated,
            EventBody::MessageUpdated(_) => EventKind::MessageUpdated,
            EventBody::MessageDeleted(_) => EventKind::MessageDeleted,
            EventBody::MessageStatus(_) => EventKind::MessageStatus,
            EventBody::ConversationCreated(_) => EventKind::ConversationCreated,
            EventBody::ConversationUpdated(_) => EventKind::ConversationUpdated,
            EventBody::ReadUpdated(_) => EventKind::ReadUpdated,
            EventBody::ReadReceipt(_) => EventKind::ReadReceipt,
            EventBody::ContactPresence(_) => EventKind::ContactPresence,
            EventBody::ChannelStatus(_) => EventKind::ChannelStatus,
            EventBody::MemberRemoved(_) => EventKind::MemberRemoved,
            EventBody::ReactionAdded(_) => EventKind::ReactionAdded,
            EventBody::ReactionRemoved(_) => EventKind::ReactionRemoved,
            EventBody::MessagePinned(_) => EventKind::MessagePinned,
            EventBody::MessageUnpinned(_) => EventKind::MessageUnpinned,
            EventBody::SessionStarted(_) => EventKind::SessionStarted,
            EventBody::SessionMessage(_) => EventKind::SessionMessage,
            EventBody::SessionNodeExecuted(_) => EventKind::SessionNodeExecuted,
            EventBody::SessionStatusChanged(_) => EventKind::SessionStatusChanged,
            EventBody::SessionCompleted(_) => EventKind::SessionCompleted,
            EventBody::Mentioned(_) => EventKind::Mentioned,
            EventBody::Typing(_) => EventKind::Typing,
            EventBody::PresenceOnline(_) => EventKind::PresenceOnline,
            EventBody::PresenceOffline(_) => EventKind::PresenceOffline,
        }
    }

    /// The conversation the event is about, if it is about one.
    pub fn conversation_id(&self) -> Option<ConversationId> {
        match self {
            EventBody::MessageCreated(m) | EventBody::MessageUpdated(m) | EventBody::Mentioned(m) => {
                Some(m.conversation_id)
            }
            EventBody::MessageDeleted(d) => Some(d.conversation_id),
            EventBody::MessageStatus(s) => Some(s.conversation_id),
            EventBody::ConversationCreated(c) => Some(c.id),
            EventBody::ConversationUpdated(u) => Some(u.conversation_id),
            EventBody::ReadUpdated(r) => Some(r.conversation_id),
            EventBody::ReadReceipt(r) => Some(r.conversation_id),
            EventBody::ReactionAdded(r) | EventBody::ReactionRemoved(r) => Some(r.conversation_id),
            EventBody::MessagePinned(p) | EventBody::MessageUnpinned(p) => Some(p.conversation_id),
            EventBody::Typing(t) => Some(t.conversation_id),
            EventBody::SessionStarted(s) => Some(s.conversation_id),
            EventBody::SessionMessage(m) => Some(m.message.conversation_id),
            EventBody::SessionCompleted(c) => Some(c.conversation_id),
            EventBody::SessionNodeExecuted(_) | EventBody::SessionStatusChanged(_) => None,
            EventBody::ContactPresence(_)
            | EventBody::ChannelStatus(_)
            | EventBody::MemberRemoved(_)
            | EventBody::PresenceOnline(_)
            | EventBody::PresenceOffline(_) => None,
        }
    }

    /// Reads a body from its wire parts (`type` and `payload`).
    pub fn from_parts(kind: &str, payload: Value) -> Result<EventBody, BadEvent> {
        let kind: EventKind = kind.parse()?;
        fn read<T: serde::de::DeserializeOwned>(kind: EventKind, payload: Value) -> Result<T, BadEvent> {
            serde_json::from_value(payload).map_err(|e| BadEvent::Payload { kind, reason: e.to_string() })
        }
        Ok(match kind {
            EventKind::MessageCreated => EventBody::MessageCreated(read(kind, payload)?),
            EventKind::MessageUpdated => EventBody::MessageUpdated(read(kind, payload)?),
            EventKind::MessageDeleted => EventBody::MessageDeleted(read(kind, payload)?),
            EventKind::MessageStatus => EventBody::MessageStatus(read(kind, payload)?),
            EventKind::ConversationCreated => EventBody::ConversationCreated(read(kind, payload)?),
            EventKind::ConversationUpdated => EventBody::ConversationUpdated(read(kind, payload)?),
            EventKind::ReadUpdated => EventBody::ReadUpdated(read(kind, payload)?),
            EventKind::ReadReceipt => EventBody::ReadReceipt(read(kind, payload)?),
            EventKind::ContactPresence => EventBody::ContactPresence(read(kind, payload)?),
            EventKind::ChannelStatus => EventBody::ChannelStatus(read(kind, payload)?),
            EventKind::MemberRemoved => EventBody::MemberRemoved(read(kind, payload)?),
            EventKind::ReactionAdded => EventBody::ReactionAdded(read(kind, payload)?),
            EventKind::ReactionRemoved => EventBody::ReactionRemoved(read(kind, payload)?),
            EventKind::MessagePinned => EventBody::MessagePinned(read(kind, payload)?),
            EventKind::MessageUnpinned => EventBody::MessageUnpinned(read(kind, payload)?),
            EventKind::SessionStarted => EventBody::SessionStarted(read(kind, payload)?),
            EventKind::SessionMessage => EventBody::SessionMessage(read(kind, payload)?),
            EventKind::SessionNodeExecuted => EventBody::SessionNodeExecuted(read(kind, payload)?),
            EventKind::SessionStatusChanged => EventBody::SessionStatusChanged(read(kind, payload)?),
            EventKind::SessionCompleted => EventBody::SessionCompleted(read(kind, payload)?),
            EventKind::Mentioned => EventBody::Mentioned(read(kind, payload)?),
            EventKind::Typing => EventBody::Typing(read(kind, payload)?),
            EventKind::PresenceOnline => EventBody::PresenceOnline(read(kind, payload)?),
            EventKind::PresenceOffline => EventBody::PresenceOffline(read(kind, payload)?),
        })
    }

    /// The payload alone, as JSON (what the log's `payload` column holds).
    pub fn payload(&self) -> Value {
        // Every payload type serializes to a JSON object without fallible parts.
        serde_json::to_value(Payload(self)).unwrap_or(Value::Null)
    }
}

/// A body's payload, serialized without its kind.
struct Payload<'a>(&'a EventBody);

impl Serialize for Payload<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            EventBody::MessageCreated(m) | EventBody::MessageUpdated(m) | EventBody::Mentioned(m) => {
                m.serialize(s)
            }
            EventBody::MessageDeleted(p) => p.serialize(s),
            EventBody::MessageStatus(p) => p.serialize(s),
            EventBody::ConversationCreated(p) => p.serialize(s),
            EventBody::ConversationUpdated(p) => p.serialize(s),
            EventBody::ReadUpdated(p) => p.serialize(s),
            EventBody::ReadReceipt(p) => p.serialize(s),
            EventBody::ContactPresence(p) => p.serialize(s),
            EventBody::ChannelStatus(p) => p.serialize(s),
            EventBody::MemberRemoved(p) => p.serialize(s),
            EventBody::ReactionAdded(p) | EventBody::ReactionRemoved(p) => p.serialize(s),
            EventBody::MessagePinned(p) | EventBody::MessageUnpinned(p) => p.serialize(s),
            EventBody::SessionStarted(p) => p.serialize(s),
            EventBody::SessionMessage(p) => p.serialize(s),
            EventBody::SessionNodeExecuted(p) => p.serialize(s),
            EventBody::SessionStatusChanged(p) => p.serialize(s),
            EventBody::SessionCompleted(p) => p.serialize(s),
            EventBody::Typing(p) => p.serialize(s),
            EventBody::PresenceOnline(p) | EventBody::PresenceOffline(p) => p.serialize(s),
        }
    }
}

/// On the wire an ephemeral signal is `{type, payload}`: no id, no offset.
impl Serialize for EventBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("EventBody", 2)?;
        out.serialize_field("type", &self.kind())?;
        out.serialize_field("payload", &Payload(self))?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for EventBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Parts {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            payload: Value,
        }
        let parts = Parts::deserialize(d)?;
        EventBody::from_parts(&parts.kind, parts.payload).map_err(serde::de::Error::custom)
    }
}

/// The canonical, persisted record of a change, as published on a topic.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub trace_id: Option<String>,
    pub topic: Topic,
    /// Gapless and increasing within the topic (0 until the log numbers it).
    pub offset: i64,
    pub body: EventBody,
}

impl Event {
    /// A new event on `topic`, not numbered yet.
    pub fn new(topic: Topic, body: EventBody, trace_id: Option<&str>, at: DateTime<Utc>) -> Event {
        Event {
            id: EventId::new(),
            schema_version: EVENT_SCHEMA_VERSION,
            occurred_at: at,
            trace_id: trace_id.map(str::to_owned),
            topic,
            offset: 0,
            body,
        }
    }

    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// The event as a realtime publication carries it (see [`Published`]).
    pub fn published(&self) -> Published<'_> {
        Published(self)
    }
}

/// An event as a realtime publication's `data`: `{id, type, payload}`, with the payload's
/// null fields left out. The publication itself already names the topic (the push's
/// `channel`) and the offset, and the rest of the envelope (`schema_version`, `occurred_at`,
/// `trace_id`) is for the log and `/sync`, not for a client applying a change. A missing
/// field reads back as null, so [`EventBody`] deserializes both forms alike.
#[derive(Debug)]
pub struct Published<'a>(&'a Event);

impl Serialize for Published<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut payload = self.0.body.payload();
        if let Value::Object(fields) = &mut payload {
            fields.retain(|_, v| !v.is_null());
        }
        let mut out = s.serialize_struct("Published", 3)?;
        out.serialize_field("id", &self.0.id)?;
        out.serialize_field("type", &self.0.body.kind())?;
        out.serialize_field("payload", &payload)?;
        out.end()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Event", 8)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("type", &self.body.kind())?;
        out.serialize_field("schema_version", &self.schema_version)?;
        out.serialize_field("occurred_at", &self.occurred_at)?;
        out.serialize_field("trace_id", &self.trace_id)?;
        out.serialize_field("topic", &self.topic)?;
        out.serialize_field("offset", &self.offset)?;
        out.serialize_field("payload", &Payload(&self.body))?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            id: EventId,
            #[serde(rename = "type")]
            kind: String,
            schema_version: u32,
            occurred_at: DateTime<Utc>,
            trace_id: Option<String>,
            topic: Topic,
            offset: i64,
            payload: Value,
        }
        let w = Wire::deserialize(d)?;
        Ok(Event {
            id: w.id,
            schema_version: w.schema_version,
            occurred_at: w.occurred_at,
            trace_id: w.trace_id,
            topic: w.topic,
            offset: w.offset,
            body: EventBody::from_parts(&w.kind, w.payload).map_err(serde::de::Error::custom)?,
        })
    }
}

/// The envelope's schema for the OpenAPI document (the wire shape of [`Event`]).
#[cfg(feature = "openapi")]
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct EventSchema {
    id: EventId,
    #[serde(rename = "type")]
    kind: EventKind,
    schema_version: u32,
    occurred_at: DateTime<Utc>,
    trace_id: Option<String>,
    /// `conversation:{id}`, `inbox:{workspace_id}`, `user:{id}` or `session:{id}`.
    topic: String,
    offset: i64,
    /// The kind's data (see docs/realtime.md).
    payload: Value,
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
