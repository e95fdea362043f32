//! The Centrifugo client protocol v2, JSON format: the subset of its commands, replies and
//! pushes this server speaks, and every byte of framing the gateway writes. Field names and
//! numbers follow the protocol's schema (`client.proto` of centrifugal/protocol), so the
//! official SDKs work unmodified.
//!
//! A WebSocket text frame carries one or more JSON objects separated by `\n`, in both
//! directions. An empty object is a ping (from the server) or a pong (from the client).
//!
//! Incoming, a line parses once into a [`Command`] and from there into a [`Request`] (and an
//! `rpc` into an [`Rpc`]), which the connection dispatches with `match`. Outgoing, every frame
//! is a typed value serialized by serde: a [`Reply`] to a command, or a push built by
//! [`event_push`], [`ephemeral_push`], [`join_push`] and [`leave_push`]. A publication is
//! serialized once into the frame that every subscriber's queue shares.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use switchboard::{ConversationId, Event, Message, MessageId, UserId, WorkspaceId};

/// A client command as it arrives. Exactly one of the request fields is set; none at all is a
/// pong. [`Command::into_request`] turns it into the one [`Request`] it makes.
#[derive(Debug, Default, Deserialize)]
pub struct Command {
    #[serde(default)]
    pub id: u32,
    pub connect: Option<ConnectRequest>,
    pub subscribe: Option<SubscribeRequest>,
    pub unsubscribe: Option<ChannelRequest>,
    pub publish: Option<ChannelRequest>,
    pub presence: Option<ChannelRequest>,
    pub presence_stats: Option<ChannelRequest>,
    pub history: Option<HistoryRequest>,
    pub ping: Option<serde::de::IgnoredAny>,
    pub send: Option<serde::de::IgnoredAny>,
    pub rpc: Option<RpcRequest>,
    pub refresh: Option<RefreshRequest>,
    pub sub_refresh: Option<serde::de::IgnoredAny>,
}

/// What a command asks for: one variant per request kind, matched once by the connection.
#[derive(Debug)]
pub enum Request {
    /// No request and no id: the client's answer to a ping.
    Pong,
    /// An asynchronous message to the server (`send`); unused here, so ignored.
    Send,
    Connect(ConnectRequest),
    Subscribe(SubscribeRequest),
    Unsubscribe(ChannelRequest),
    Publish(ChannelRequest),
    Presence(ChannelRequest),
    PresenceStats(ChannelRequest),
    History(HistoryRequest),
    Ping,
    Rpc(RpcRequest),
    Refresh(RefreshRequest),
    SubRefresh,
    /// An id but no request this server knows.
    Unknown,
}

impl Command {
    /// The command's id and the request it makes. `send` wins (it may come without an id);
    /// then the first request field set, in the order of the protocol's schema.
    pub fn into_request(self) -> (u32, Request) {
        let request = if self.send.is_some() {
            Request::Send
        } else if let Some(req) = self.connect {
            Request::Connect(req)
        } else if let Some(req) = self.subscribe {
            Request::Subscribe(req)
        } else if let Some(req) = self.unsubscribe {
            Request::Unsubscribe(req)
        } else if let Some(req) = self.publish {
            Request::Publish(req)
        } else if let Some(req) = self.presence {
            Request::Presence(req)
        } else if let Some(req) = self.presence_stats {
            Request::PresenceStats(req)
        } else if let Some(req) = self.history {
            Request::History(req)
        } else if self.ping.is_some() {
            Request::Ping
        } else if let Some(req) = self.rpc {
            Request::Rpc(req)
        } else if let Some(req) = self.refresh {
            Request::Refresh(req)
        } else if self.sub_refresh.is_some() {
            Request::SubRefresh
        } else if self.id == 0 {
            Request::Pong
        } else {
            Request::Unknown
        };
        (self.id, request)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ConnectRequest {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SubscribeRequest {
    pub channel: String,
    #[serde(default)]
    pub recover: bool,
    #[serde(default)]
    pub epoch: String,
    #[serde(default)]
    pub offset: u64,
    /// The client wants join/leave pushes (the SDKs' `joinLeave` option).
    #[serde(default)]
    pub join_leave: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ChannelRequest {
    #[serde(default)]
    pub channel: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamPosition {
    #[serde(default)]
    pub offset: u64,
    #[serde(default)]
    pub epoch: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct HistoryRequest {
    pub channel: String,
    #[serde(default)]
    pub limit: i32,
    pub since: Option<StreamPosition>,
    #[serde(default)]
    pub reverse: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct RpcRequest {
    #[serde(default)]
    pub method: String,
    pub data: Option<Box<RawValue>>,
}

/// The RPC methods by name. An unknown name is the protocol's 104 `method not found`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcMethod {
    SendMessage,
    Typing,
    MarkRead,
}

impl RpcMethod {
    pub const ALL: [Self; 3] = [Self::SendMessage, Self::Typing, Self::MarkRead];

    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendMessage => "send_message",
            Self::Typing => "typing",
            Self::MarkRead => "mark_read",
        }
    }
}

impl FromStr for RpcMethod {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == name)
            .ok_or_else(|| Error::new(codes::METHOD_NOT_FOUND, "method not found"))
    }
}

/// An RPC call, its method and its arguments parsed once. Arguments are strict (unknown fields
/// refused), and bad ones are a 400 naming what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum Rpc {
    SendMessage(SendMessageArgs),
    Typing(TypingArgs),
    MarkRead(MarkReadArgs),
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendMessageArgs {
    pub conversation_id: ConversationId,
    pub text: String,
    pub client_message_id: Option<String>,
    pub reply_to: Option<MessageId>,
    /// Uploads to carry (`POST /api/v1/uploads`).
    #[serde(default)]
    pub attachments: Vec<switchboard::AttachmentId>,
    /// Reply in this message's thread (rooms).
    #[serde(default)]
    pub parent_id: Option<MessageId>,
    /// A thread reply also sent to the conversation.
    #[serde(default)]
    pub show_in_conversation: bool,
    /// A private note for the team (conversations with a contact).
    #[serde(default)]
    pub note: bool,
    /// Quick-reply labels under the text (the network's own buttons where it has them).
    #[serde(default)]
    pub buttons: Vec<String>,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingArgs {
    pub conversation_id: ConversationId,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadArgs {
    pub conversation_id: ConversationId,
    pub up_to: MessageId,
}

impl Rpc {
    /// The call an `rpc` request makes: 104 for an unknown method, 400 for bad arguments
    /// (absent data counts as `{}`).
    pub fn parse(req: &RpcRequest) -> Result<Self, Error> {
        let method: RpcMethod = req.method.parse()?;
        let data = req.data.as_ref().map_or("{}", |d| d.get());
        Ok(match method {
            RpcMethod::SendMessage => Self::SendMessage(args(data)?),
            RpcMethod::Typing => Self::Typing(args(data)?),
            RpcMethod::MarkRead => Self::MarkRead(args(data)?),
        })
    }

    pub fn method(&self) -> RpcMethod {
        match self {
            Self::SendMessage(_) => RpcMethod::SendMessage,
            Self::Typing(_) => RpcMethod::Typing,
            Self::MarkRead(_) => RpcMethod::MarkRead,
        }
    }
}

fn args<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, Error> {
    serde_json::from_str(data).map_err(|e| Error::new(codes::RPC_INVALID, format!("invalid data: {e}")))
}

#[derive(Debug, Default, Deserialize)]
pub struct RefreshRequest {
    #[serde(default)]
    pub token: String,
}

/// An error reply's body. Codes below 1000 are the protocol's own; see [`codes`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Error {
    pub code: u32,
    pub message: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub temporary: bool,
}

impl Error {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), temporary: false }
    }

    pub fn temporary(code: u32, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), temporary: true }
    }
}

/// Error codes of replies: the protocol's, and the application's (HTTP-like, for RPC).
pub mod codes {
    pub const INTERNAL: u32 = 100;
    pub const UNAUTHORIZED: u32 = 101;
    pub const UNKNOWN_CHANNEL: u32 = 102;
    pub const PERMISSION_DENIED: u32 = 103;
    pub const METHOD_NOT_FOUND: u32 = 104;
    pub const ALREADY_SUBSCRIBED: u32 = 105;
    pub const LIMIT_EXCEEDED: u32 = 106;
    pub const BAD_REQUEST: u32 = 107;
    pub const NOT_AVAILABLE: u32 = 108;
    pub const TOKEN_EXPIRED: u32 = 109;
    pub const TOO_MANY_REQUESTS: u32 = 111;
    pub const UNRECOVERABLE_POSITION: u32 = 112;
    /// RPC failures carry the HTTP status the same call answers over REST.
    pub const RPC_INVALID: u32 = 400;
    pub const RPC_FORBIDDEN: u32 = 403;
    pub const RPC_NOT_FOUND: u32 = 404;
    pub const RPC_CONFLICT: u32 = 409;
    /// Over a rate limit (sends per user); `temporary`, so the SDK may retry later.
    pub const RPC_TOO_MANY_REQUESTS: u32 = 429;
    pub const RPC_UNAVAILABLE: u32 = 503;
}

/// Why the server closes a connection: the WebSocket close code and reason. Codes follow
/// Centrifugo: 3000–3499 tell the client to reconnect, 3500–3999 not to; the application's own
/// are 4000–4499 (reconnect) and 4500–4999 (do not: the credentials are dead). Every code is
/// listed once, with when it is sent, in `docs/realtime.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect {
    pub code: u16,
    pub reason: &'static str,
}

impl Disconnect {
    /// A frame above the size limit (WebSocket's own code; the socket is unusable after it).
    pub const MESSAGE_TOO_BIG: Self = Self { code: 1009, reason: "message too big" };
    pub const SHUTDOWN: Self = Self { code: 3001, reason: "shutdown" };
    pub const SERVER_ERROR: Self = Self { code: 3004, reason: "internal server error" };
    pub const EXPIRED: Self = Self { code: 3005, reason: "connection expired" };
    pub const SLOW: Self = Self { code: 3008, reason: "slow" };
    pub const WRITE_ERROR: Self = Self { code: 3009, reason: "write error" };
    /// The node may have missed what the other nodes told it (its NATS link dropped): the
    /// client reconnects, its access is read again, and it recovers what it missed.
    pub const INSUFFICIENT_STATE: Self = Self { code: 3010, reason: "insufficient state" };
    pub const NO_PONG: Self = Self { code: 3012, reason: "no pong" };
    pub const INVALID_TOKEN: Self = Self { code: 3500, reason: "invalid token" };
    pub const BAD_REQUEST: Self = Self { code: 3501, reason: "bad request" };
    pub const INAPPROPRIATE_PROTOCOL: Self = Self { code: 3506, reason: "inappropriate protocol" };
    pub const PERMISSION_DENIED: Self = Self { code: 3507, reason: "permission denied" };
    /// The rooms the user may read changed: reconnect and subscribe again to what is left.
    pub const ROOMS_CHANGED: Self = Self { code: 4000, reason: "rooms changed" };
    /// The session signed out (or signed out everywhere).
    pub const SIGNED_OUT: Self = Self { code: 4500, reason: "signed out" };
    /// The session was revoked from the user's list of sessions.
    pub const SESSION_REVOKED: Self = Self { code: 4501, reason: "session revoked" };
    /// The user changed their password; their other sessions end.
    pub const PASSWORD_CHANGED: Self = Self { code: 4502, reason: "password changed" };
    /// The user was removed from a workspace.
    pub const REMOVED_FROM_WORKSPACE: Self = Self { code: 4503, reason: "removed from workspace" };
    /// The API key the connection used was revoked.
    pub const KEY_REVOKED: Self = Self { code: 4504, reason: "key revoked" };
    /// The user's account was deactivated.
    pub const USER_DEACTIVATED: Self = Self { code: 4505, reason: "user deactivated" };
    /// A connect by session cookie from a page whose origin is not allowed.
    pub const ORIGIN_NOT_ALLOWED: Self = Self { code: 4506, reason: "origin not allowed" };
}

/// Why access ended for the connections a [`crate::realtime::hub::Target`] names: what the
/// cluster tells every node, and the close code each closed connection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessEnded {
    SignedOut,
    SessionRevoked,
    PasswordChanged,
    RemovedFromWorkspace,
    KeyRevoked,
    UserDeactivated,
    RoomsChanged,
}

impl AccessEnded {
    pub fn disconnect(self) -> Disconnect {
        match self {
            Self::SignedOut => Disconnect::SIGNED_OUT,
            Self::SessionRevoked => Disconnect::SESSION_REVOKED,
            Self::PasswordChanged => Disconnect::PASSWORD_CHANGED,
            Self::RemovedFromWorkspace => Disconnect::REMOVED_FROM_WORKSPACE,
            Self::KeyRevoked => Disconnect::KEY_REVOKED,
            Self::UserDeactivated => Disconnect::USER_DEACTIVATED,
            Self::RoomsChanged => Disconnect::ROOMS_CHANGED,
        }
    }
}

/// Who is behind a connection, as shown in presence and join/leave. Its parts are shared:
/// the hub keeps one in every conversation's presence the connection subscribed to, and a
/// clone is three reference counts, not three allocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientInfo {
    #[serde(with = "shared")]
    pub user: Arc<str>,
    #[serde(with = "shared")]
    pub client: Arc<str>,
    /// Kept as its JSON text (a parsed map would be some 640 bytes per connection).
    #[serde(serialize_with = "shared::serialize", deserialize_with = "raw_json")]
    pub conn_info: Arc<RawValue>,
}

impl ClientInfo {
    /// The info of a connection: the user, the client id, and what is told of it (`null`:
    /// nothing).
    pub fn new(user: Arc<str>, client: Arc<str>, conn_info: &serde_json::Value) -> Self {
        let conn_info = serde_json::value::to_raw_value(conn_info)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned());
        ClientInfo { user, client, conn_info: Arc::from(conn_info) }
    }
}

impl PartialEq for ClientInfo {
    fn eq(&self, other: &Self) -> bool {
        self.user == other.user
            && self.client == other.client
            && self.conn_info.get() == other.conn_info.get()
    }
}

impl Eq for ClientInfo {}

/// JSON text read as any JSON value and kept as its text. A `RawValue` cannot be read where
/// serde buffers the input first, as it does for an internally tagged enum such as the bus's
/// `BusMessage`: read directly, every join and leave that came from another node was refused.
fn raw_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<RawValue>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    serde_json::value::to_raw_value(&value).map(Arc::from).map_err(serde::de::Error::custom)
}

/// An `Arc` (de)serialized as what it holds (serde's own impls need its `rc` feature).
mod shared {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize + ?Sized>(value: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        (**value).serialize(s)
    }

    pub fn deserialize<'de, D, T>(d: D) -> Result<Arc<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: ?Sized,
        Box<T>: Deserialize<'de>,
    {
        Box::<T>::deserialize(d).map(Arc::from)
    }
}

/// The server's ping: an empty object (the client answers with one too).
pub const PING: &[u8] = b"{}";

/// A reply to command `id`: `{"id":…,"<kind>":<result>}`, or `{"id":…,"error":{…}}`.
#[derive(Debug, Serialize)]
pub struct Reply<'a> {
    pub id: u32,
    #[serde(flatten)]
    pub body: ReplyBody<'a>,
}

/// The result a [`Reply`] carries, named on the wire by the command it answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBody<'a> {
    Connect(ConnectResult<'a>),
    Subscribe(SubscribeResult<'a>),
    Unsubscribe {},
    Presence(PresenceResult<'a>),
    PresenceStats(PresenceStatsResult),
    History(HistoryResult<'a>),
    Ping {},
    /// `{"data":<what the method answers>}`.
    Rpc {
        data: RpcReply<'a>,
    },
    Refresh(RefreshResult<'a>),
    Error(Error),
}

impl<'a> Reply<'a> {
    pub fn new(id: u32, body: ReplyBody<'a>) -> Self {
        Self { id, body }
    }

    pub fn error(id: u32, error: Error) -> Self {
        Self { id, body: ReplyBody::Error(error) }
    }

    /// The reply as one line of JSON.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            // Unreachable in practice (every key is a string); the client still gets an answer.
            tracing::error!(error = %e, "cannot encode a realtime reply");
            let error = Reply::error(self.id, Error::temporary(codes::INTERNAL, "internal server error"));
            serde_json::to_string(&error).unwrap_or_default()
        })
    }
}

/// The connect reply. (Fields of the results are in the order the server has always written
/// them: alphabetical where they were once built as a JSON map.)
#[derive(Debug, Serialize)]
pub struct ConnectResult<'a> {
    pub client: &'a str,
    pub data: ConnectData<'a>,
    /// Whether the connection expires (a token connect) and must `refresh` before `ttl`.
    pub expires: bool,
    /// Seconds between server pings.
    pub ping: u64,
    /// The server wants pongs.
    pub pong: bool,
    pub ttl: i64,
    pub version: &'a str,
}

/// Who connected, for the app: the connect reply's `data`.
#[derive(Debug, Serialize)]
pub struct ConnectData<'a> {
    pub name: &'a str,
    pub user_id: UserId,
    pub workspaces: &'a [WorkspaceId],
}

#[derive(Debug, Serialize)]
pub struct SubscribeResult<'a> {
    pub recoverable: bool,
    pub positioned: bool,
    pub epoch: &'a str,
    /// The topic's offset now; the client's position once the publications below are read.
    pub offset: i64,
    pub recovered: bool,
    pub was_recovering: bool,
    /// What the client missed, when it asked to recover and could.
    pub publications: EventPublications<'a>,
}

#[derive(Debug, Serialize)]
pub struct PresenceResult<'a> {
    /// Client id → who.
    pub presence: &'a HashMap<Arc<str>, ClientInfo>,
}

#[derive(Debug, Serialize)]
pub struct PresenceStatsResult {
    pub num_clients: usize,
    pub num_users: usize,
}

#[derive(Debug, Serialize)]
pub struct HistoryResult<'a> {
    pub publications: EventPublications<'a>,
    pub epoch: &'a str,
    pub offset: i64,
}

/// What each RPC method answers, as its reply's `data`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RpcReply<'a> {
    /// `send_message`: the message, and whether this call created it (false: a retry).
    Sent { created: bool, message: &'a Message },
    /// `typing`: how long the receivers show it.
    Typing { expires_in_ms: u64 },
    /// `mark_read`: what is left unread in the conversation (100 for "99+").
    MarkedRead { unread_count: switchboard::message::UnreadCount },
}

#[derive(Debug, Serialize)]
pub struct RefreshResult<'a> {
    pub client: &'a str,
    pub expires: bool,
    pub ttl: i64,
    pub version: &'a str,
}

/// A publication as the protocol shows it: the event as published (`{id, type, payload}`,
/// see [`switchboard::event::Published`]) or an ephemeral `{type, payload}` as the data; for
/// log events, the event's offset in its topic.
#[derive(Debug, Serialize)]
pub struct Publication<D> {
    pub data: D,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

impl<'a> Publication<switchboard::event::Published<'a>> {
    pub fn event(event: &'a Event) -> Self {
        Self { data: event.published(), offset: Some(event.offset) }
    }
}

/// Log events as a list of publications (in a subscribe's recovery or a history page).
#[derive(Debug, Clone, Copy)]
pub struct EventPublications<'a>(pub &'a [Event]);

impl Serialize for EventPublications<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Publication::event))
    }
}

/// A push on a channel: `{"push":{"channel":…,"pub"|"join"|"leave":…}}`.
#[derive(Serialize)]
#[serde(bound(serialize = "C: fmt::Display, D: Serialize"))]
struct Push<'a, C: ?Sized, D> {
    push: PushOn<'a, C, D>,
}

#[derive(Serialize)]
#[serde(bound(serialize = "C: fmt::Display, D: Serialize"))]
struct PushOn<'a, C: ?Sized, D> {
    /// Written from its `Display` (a topic name, typed or not).
    #[serde(serialize_with = "display")]
    channel: &'a C,
    #[serde(flatten)]
    body: PushBody<'a, D>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum PushBody<'a, D> {
    Pub(Publication<D>),
    /// `{"info":…}`, as is `leave`.
    Join {
        info: &'a ClientInfo,
    },
    Leave {
        info: &'a ClientInfo,
    },
}

fn display<C: fmt::Display + ?Sized, S: Serializer>(value: &&C, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

impl<C: fmt::Display + ?Sized, D: Serialize> Push<'_, C, D> {
    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            // Unreachable in practice (every key is a string); the client then sees a ping.
            tracing::error!(error = %e, "cannot encode a realtime push");
            String::from_utf8_lossy(PING).into_owned()
        })
    }
}

/// A push of `body` on the topic.
fn push<D: Serialize>(channel: &(impl fmt::Display + ?Sized), body: PushBody<'_, D>) -> String {
    Push { push: PushOn { channel, body } }.encode()
}

/// A log event pushed on its topic, with its offset: the frame every subscriber shares.
pub fn event_push(event: &Event) -> String {
    push(&event.topic, PushBody::Pub(Publication::event(event)))
}

/// Something not stored (typing, online/offline) pushed on a topic, without an offset.
pub fn ephemeral_push(topic: &(impl fmt::Display + ?Sized), data: &impl Serialize) -> String {
    push(topic, PushBody::Pub(Publication { data, offset: None }))
}

/// A client joined the topic (to the subscribers that asked for join/leave).
pub fn join_push(topic: &(impl fmt::Display + ?Sized), info: &ClientInfo) -> String {
    push::<()>(topic, PushBody::Join { info })
}

/// A client left the topic.
pub fn leave_push(topic: &(impl fmt::Display + ?Sized), info: &ClientInfo) -> String {
    push::<()>(topic, PushBody::Leave { info })
}

#[cfg(test)]
mod tests;
