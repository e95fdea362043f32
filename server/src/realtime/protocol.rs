//! The Centrifugo client protocol v2, JSON format: the subset of its commands, replies and
//! pushes this server speaks. Field names and numbers follow the protocol's schema
//! (`client.proto` of centrifugal/protocol), so the official SDKs work unmodified.
//!
//! A WebSocket text frame carries one or more JSON objects separated by `\n`, in both
//! directions. An empty object is a ping (from the server) or a pong (from the client).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A client command. Exactly one of the request fields is set; none at all is a pong.
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

impl Command {
    /// No request at all: the client's pong.
    pub fn is_pong(&self) -> bool {
        self.id == 0
            && self.connect.is_none()
            && self.subscribe.is_none()
            && self.unsubscribe.is_none()
            && self.publish.is_none()
            && self.presence.is_none()
            && self.presence_stats.is_none()
            && self.history.is_none()
            && self.ping.is_none()
            && self.send.is_none()
            && self.rpc.is_none()
            && self.refresh.is_none()
            && self.sub_refresh.is_none()
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

/// Who is behind a connection, as shown in presence and join/leave.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientInfo {
    pub user: String,
    pub client: String,
    pub conn_info: serde_json::Value,
}

/// A reply to command `id`: `{"id":…,"<kind>":<result>}`.
pub fn reply(id: u32, kind: &str, result: &impl Serialize) -> String {
    let body = serde_json::to_string(result).unwrap_or_else(|_| "{}".to_owned());
    format!("{{\"id\":{id},\"{kind}\":{body}}}")
}

/// An error reply to command `id`.
pub fn error_reply(id: u32, error: &Error) -> String {
    let body = serde_json::to_string(error).unwrap_or_else(|_| "{}".to_owned());
    format!("{{\"id\":{id},\"error\":{body}}}")
}

/// A publication as the protocol shows it: the data is our event envelope (or an ephemeral
/// payload), the offset the event's offset in its topic.
pub fn publication(data: &str, offset: Option<i64>) -> String {
    match offset {
        Some(offset) => format!("{{\"data\":{data},\"offset\":{offset}}}"),
        None => format!("{{\"data\":{data}}}"),
    }
}

/// A log event as a publication (its envelope as the data, its offset in the topic).
pub fn event_publication(event: &switchboard::Event) -> String {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "null".to_owned());
    publication(&data, Some(event.offset))
}

/// A publication pushed on a channel.
pub fn pub_push(channel: &str, publication: &str) -> String {
    let channel = serde_json::to_string(channel).unwrap_or_default();
    format!("{{\"push\":{{\"channel\":{channel},\"pub\":{publication}}}}}")
}

/// A join or leave pushed on a channel.
pub fn presence_push(channel: &str, kind: &str, info: &ClientInfo) -> String {
    let channel = serde_json::to_string(channel).unwrap_or_default();
    let info = serde_json::to_string(info).unwrap_or_default();
    format!("{{\"push\":{{\"channel\":{channel},\"{kind}\":{{\"info\":{info}}}}}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_as_the_sdks_send_them() {
        let c: Command = serde_json::from_str(r#"{"id":1,"connect":{"token":"t","name":"js"}}"#).unwrap();
        assert_eq!(c.connect.unwrap().token, "t");
        let c: Command = serde_json::from_str(
            r#"{"id":2,"subscribe":{"channel":"a","recover":true,"offset":5,"epoch":"e"}}"#,
        )
        .unwrap();
        let s = c.subscribe.unwrap();
        assert!(s.recover);
        assert_eq!((s.offset, s.epoch.as_str()), (5, "e"));
        let pong: Command = serde_json::from_str("{}").unwrap();
        assert!(pong.is_pong());
        let rpc: Command = serde_json::from_str(r#"{"id":3,"rpc":{"method":"m","data":{"x":1}}}"#).unwrap();
        assert!(!rpc.is_pong());
        assert_eq!(rpc.rpc.unwrap().data.unwrap().get(), r#"{"x":1}"#);
    }

    #[test]
    fn frames_are_the_protocols_json() {
        let pub_ = publication(r#"{"k":1}"#, Some(7));
        let push: serde_json::Value = serde_json::from_str(&pub_push("conversation:x", &pub_)).unwrap();
        assert_eq!(push["push"]["channel"], "conversation:x");
        assert_eq!(push["push"]["pub"]["offset"], 7);
        assert_eq!(push["push"]["pub"]["data"]["k"], 1);
        let err: serde_json::Value =
            serde_json::from_str(&error_reply(4, &Error::new(codes::PERMISSION_DENIED, "permission denied")))
                .unwrap();
        assert_eq!(err["error"]["code"], 103);
        assert!(err["error"].get("temporary").is_none());
    }

    #[test]
    fn ended_access_never_asks_the_sdk_to_reconnect_with_dead_credentials() {
        use AccessEnded::*;
        for ended in
            [SignedOut, SessionRevoked, PasswordChanged, RemovedFromWorkspace, KeyRevoked, UserDeactivated]
        {
            assert!((4500..5000).contains(&ended.disconnect().code), "{ended:?}");
        }
        assert!((4000..4500).contains(&RoomsChanged.disconnect().code));
    }
}
