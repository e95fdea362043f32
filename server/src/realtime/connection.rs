//! One WebSocket connection: the connect handshake, then a reader (commands in, in order) and
//! a writer (the outgoing queue out, batched into frames, kept in offset order per topic)
//! running side by side until either side ends.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use switchboard::access::Right;
use switchboard::message::SendMessage;
use switchboard::{ConversationId, MessageId, Topic, WorkspaceId};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::hub::{Activation, BusMessage, ConnHandle, Kill, Out};
use super::protocol::{self, ClientInfo, Command, Disconnect, Error, codes};
use super::topics;
use super::{Realtime, RealtimeConfig};
use crate::http::AppState;
use crate::services::accounts::{Authenticated, TokenRefusal};
use crate::services::{Actor, ServiceError};

/// The server's name and version, as told in the connect reply.
const VERSION: &str = concat!("switchboard ", env!("CARGO_PKG_VERSION"));
/// Largest history page.
const MAX_HISTORY: u32 = 1000;
/// How long a "typing…" lasts at the receivers unless renewed.
const TYPING_TTL_MS: u64 = 6000;

/// `GET /connection/websocket`.
pub async fn endpoint(ws: WebSocketUpgrade, State(state): State<AppState>, headers: HeaderMap) -> Response {
    let cookie = crate::http::extract::cookie_token(&headers);
    let origin = headers.get(axum::http::header::ORIGIN).map(|v| v.to_str().unwrap_or("invalid").to_owned());
    let cookie = Credentials { cookie, origin };
    let config = &state.realtime.config;
    let Some(slot) = state.realtime.try_open().filter(|_| !state.realtime.hub.is_closing()) else {
        return too_many_connections(&state.realtime);
    };
    ws.max_message_size(config.max_frame_bytes)
        .max_frame_size(config.max_frame_bytes)
        // Small: an idle connection keeps its read buffer; bigger frames still arrive whole.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            // Held until the connection ends, however it ends.
            let _slot = slot;
            run(socket, state, cookie).await;
        })
}

/// The refusal of an upgrade past `--max-connections` (or while the node shuts down): 503 in
/// the API's error shape, with `Retry-After`. The SDKs treat it as a failed connect and retry
/// with backoff, which a load balancer may send to another node.
fn too_many_connections(realtime: &Realtime) -> Response {
    use axum::response::IntoResponse;
    let (code, message) = if realtime.hub.is_closing() {
        ("unavailable", "This node is shutting down; connect again (to another node).".to_owned())
    } else {
        let max = realtime.config.max_connections;
        (
            "too_many_connections",
            format!("This node has reached its limit of {max} open realtime connections; try again shortly."),
        )
    };
    tracing::warn!(open = realtime.open_connections(), "realtime upgrade refused: {message}");
    let mut error =
        crate::http::error::ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, code, message);
    error.retry_after = Some(5);
    error.into_response()
}

/// What the upgrade request brought besides the socket: the session cookie and the page's
/// origin (checked when the cookie is what authenticates).
struct Credentials {
    cookie: Option<String>,
    origin: Option<String>,
}

async fn run(mut socket: WebSocket, state: AppState, cookie: Credentials) {
    let Some((who, expires, first_id, rest)) = Box::pin(handshake(&mut socket, &state, &cookie)).await else {
        return;
    };
    let realtime = state.realtime.clone();
    let config = realtime.config.clone();
    let workspaces: Vec<WorkspaceId> = match state.store.memberships(who.user.id).await {
        Ok(m) => m.into_iter().map(|m| m.workspace.id).collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot load memberships for a realtime connection");
            close(&mut socket, Disconnect::SERVER_ERROR).await;
            return;
        }
    };
    let client: Arc<str> = uuid::Uuid::now_v7().to_string().into();
    let (tx, rx) = mpsc::channel(config.queue_capacity.max(16));
    let kill = Arc::new(Kill::default());
    let info = ClientInfo {
        user: who.user.id.to_string(),
        client: client.to_string(),
        conn_info: serde_json::json!({ "name": who.user.name }),
    };
    let expires_at = Arc::new(AtomicI64::new(expires.unwrap_or(who.session_expires_at.timestamp())));
    let ttl = expires.map(|exp| (exp - switchboard::time::now().timestamp()).max(1));
    let connected = serde_json::json!({
        "client": &*client,
        "version": VERSION,
        "ping": config.ping_interval.as_secs().max(1),
        "pong": true,
        "expires": ttl.is_some(),
        "ttl": ttl.unwrap_or(0),
        "data": { "user_id": who.user.id, "name": who.user.name, "workspaces": workspaces },
    });
    // Registered before the reply, so access that ends from now on reaches this socket; and
    // the session is read again after, so a sign-out between the handshake's check and here
    // is not missed either.
    realtime.hub.register(&client, who.user.id, who.session_id, kill.clone());
    let _registered = Deregister { realtime: realtime.clone(), client: client.clone() };
    match state.store.session(who.session_id).await {
        Ok(Some(session)) if session.is_active(switchboard::time::now()) => {}
        Ok(_) => {
            close(&mut socket, Disconnect::SIGNED_OUT).await;
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the session of a realtime connection");
            close(&mut socket, Disconnect::SERVER_ERROR).await;
            return;
        }
    }
    if kill.is_fired() {
        let reason = kill.fired().await;
        close(&mut socket, reason).await;
        return;
    }
    if socket.send(text(protocol::reply(first_id, "connect", &connected))).await.is_err() {
        return;
    }
    realtime.publish(BusMessage::Online {
        workspaces: workspaces.clone(),
        user: who.user.id,
        client: client.to_string(),
    });

    let (sink, stream) = socket.split();
    let pong = Arc::new(AtomicBool::new(true));
    let mut conn = Conn {
        state,
        realtime: realtime.clone(),
        who,
        workspaces,
        handle: ConnHandle { client: client.clone(), tx, kill: kill.clone() },
        info,
        subs: HashSet::new(),
        pong: pong.clone(),
        expires_at: expires_at.clone(),
        typing: HashMap::new(),
        actors: HashMap::new(),
    };
    let writer = Writer {
        sink,
        rx,
        kill: kill.clone(),
        realtime: realtime.clone(),
        config,
        pong,
        expires_at,
        subs: HashMap::new(),
        buf: Vec::new(),
    };
    let writer = writer.run();
    tokio::pin!(writer);
    tokio::select! {
        () = &mut writer => {}
        () = conn.read(stream, rest) => {
            if kill.is_fired() {
                // Let the writer say why before the socket goes.
                let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
            }
        }
    }
    conn.cleanup();
}

/// Takes a connection out of the hub's registry when it ends, however it ends.
struct Deregister {
    realtime: Arc<Realtime>,
    client: Arc<str>,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.realtime.hub.deregister(&self.client);
    }
}

/// Waits for `connect` and authenticates it. Answers the caller, the token's expiry (none for
/// a cookie), the connect command's id and any commands that came after it in the same frame.
async fn handshake(
    socket: &mut WebSocket,
    state: &AppState,
    credentials: &Credentials,
) -> Option<(Authenticated, Option<i64>, u32, Vec<String>)> {
    let deadline = Instant::now() + state.realtime.config.connect_timeout;
    loop {
        let received = tokio::select! {
            received = tokio::time::timeout_at(deadline, socket.recv()) => received,
            () = state.realtime.hub.closing() => {
                close(socket, Disconnect::SHUTDOWN).await;
                return None;
            }
        };
        let message = match received {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(e))) => {
                if too_big(e) {
                    close(socket, Disconnect::MESSAGE_TOO_BIG).await;
                }
                return None;
            }
            Ok(None) => return None,
            Err(_) => {
                close(socket, Disconnect::BAD_REQUEST).await;
                return None;
            }
        };
        let body = match message {
            Message::Text(body) => body,
            Message::Binary(_) => {
                close(socket, Disconnect::INAPPROPRIATE_PROTOCOL).await;
                return None;
            }
            Message::Close(_) => return None,
            _ => continue,
        };
        let mut lines = body.split('\n').filter(|l| !l.trim().is_empty()).map(str::to_owned);
        let Some(first) = lines.next() else { continue };
        let command: Command = match serde_json::from_str(&first) {
            Ok(command) => command,
            Err(_) => {
                close(socket, Disconnect::BAD_REQUEST).await;
                return None;
            }
        };
        let Some(connect) = command.connect else {
            close(socket, Disconnect::BAD_REQUEST).await;
            return None;
        };
        let outcome = if connect.token.is_empty() {
            // The cookie rides along with any page's socket: only pages of our own origins may
            // use it (a foreign page would act as the signed-in user). A request without
            // `Origin` is not a browser's (browsers always send it on WebSocket), so it is not a
            // cross-site forgery and is let through.
            if credentials.cookie.is_some()
                && let Some(origin) = &credentials.origin
                && !state.realtime.config.allows_origin(origin)
            {
                tracing::info!(origin, "cookie connect refused: origin not allowed");
                close(socket, Disconnect::ORIGIN_NOT_ALLOWED).await;
                return None;
            }
            match credentials.cookie.as_deref() {
                Some(token) => {
                    state.accounts.authenticate(token).await.map(|who| (who, None)).map_err(|e| match e {
                        switchboard::auth::AuthError::Internal => TokenRefusal::Internal,
                        _ => TokenRefusal::Invalid,
                    })
                }
                None => Err(TokenRefusal::Invalid),
            }
        } else {
            state.accounts.authenticate_realtime(&connect.token).await.map(|(who, exp)| (who, Some(exp)))
        };
        match outcome {
            Ok((who, exp)) => return Some((who, exp, command.id, lines.collect())),
            Err(TokenRefusal::Expired) => {
                // The SDKs fetch a fresh token and connect again.
                let reply =
                    protocol::error_reply(command.id, &Error::new(codes::TOKEN_EXPIRED, "token expired"));
                if socket.send(text(reply)).await.is_err() {
                    return None;
                }
            }
            Err(TokenRefusal::Invalid) => {
                close(socket, Disconnect::INVALID_TOKEN).await;
                return None;
            }
            Err(TokenRefusal::Internal) => {
                let error = Error::temporary(codes::INTERNAL, "internal server error");
                let _ = socket.send(text(protocol::error_reply(command.id, &error))).await;
                close(socket, Disconnect::SERVER_ERROR).await;
                return None;
            }
        }
    }
}

/// Whether a read failed because the peer's message was over the size limit (then the peer
/// gets close code 1009 rather than a dropped TCP connection).
fn too_big(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    error.into_inner().downcast_ref::<WsError>().is_some_and(|e| matches!(e, WsError::Capacity(_)))
}

fn text(body: String) -> Message {
    Message::Text(body.into())
}

async fn close(socket: &mut WebSocket, reason: Disconnect) {
    let frame = CloseFrame { code: reason.code, reason: reason.reason.into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// The reading half: commands, answered in order.
struct Conn {
    state: AppState,
    realtime: Arc<Realtime>,
    who: Authenticated,
    workspaces: Vec<WorkspaceId>,
    handle: ConnHandle,
    info: ClientInfo,
    subs: HashSet<Arc<str>>,
    pong: Arc<AtomicBool>,
    expires_at: Arc<AtomicI64>,
    /// When this connection last relayed "typing" per conversation (at most once a second).
    typing: HashMap<ConversationId, Instant>,
    /// Who this connection acts as in the conversations it wrote to. Access ends with
    /// membership, and removing a member closes their connections (4503 "removed from
    /// workspace"), so an entry never outlives the right it records.
    actors: HashMap<ConversationId, Actor>,
}

/// What a command handler decided.
enum Outcome {
    Reply(String),
    Close(Disconnect),
    Nothing,
}

impl Conn {
    async fn read(&mut self, mut stream: SplitStream<WebSocket>, first: Vec<String>) {
        for line in first {
            if !self.line(&line).await {
                return;
            }
        }
        while let Some(message) = stream.next().await {
            let message = match message {
                Ok(message) => message,
                Err(e) => {
                    // Say why before the socket goes (the writer sends the close frame).
                    if too_big(e) {
                        self.handle.kill.fire(Disconnect::MESSAGE_TOO_BIG);
                    }
                    return;
                }
            };
            match message {
                Message::Text(body) => {
                    for line in body.split('\n').filter(|l| !l.trim().is_empty()) {
                        if !self.line(line).await {
                            return;
                        }
                    }
                }
                Message::Binary(_) => {
                    self.handle.kill.fire(Disconnect::BAD_REQUEST);
                    return;
                }
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    /// Handles one command line; false once the connection is to close.
    async fn line(&mut self, line: &str) -> bool {
        let command: Command = match serde_json::from_str(line) {
            Ok(command) => command,
            Err(_) => {
                self.handle.kill.fire(Disconnect::BAD_REQUEST);
                return false;
            }
        };
        // Boxed: the command futures are large, and only one runs at a time; an idle
        // connection should not carry their state in its task.
        match Box::pin(self.command(command)).await {
            Outcome::Reply(reply) => self.handle.tx.send(Out::Frame(reply.into_boxed_str())).await.is_ok(),
            Outcome::Nothing => true,
            Outcome::Close(reason) => {
                self.handle.kill.fire(reason);
                false
            }
        }
    }

    async fn command(&mut self, command: Command) -> Outcome {
        if command.is_pong() {
            self.pong.store(true, Ordering::Release);
            return Outcome::Nothing;
        }
        if command.send.is_some() {
            // Asynchronous messages to the server are not used; ignored like Centrifugo does
            // without a handler.
            return Outcome::Nothing;
        }
        let id = command.id;
        if id == 0 || command.connect.is_some() {
            return Outcome::Close(Disconnect::BAD_REQUEST);
        }
        if let Some(req) = command.subscribe {
            // The reply goes through the queue itself, in order with the topic's publications.
            return match self.subscribe(id, req).await {
                Ok(()) => Outcome::Nothing,
                Err(error) => Outcome::Reply(protocol::error_reply(id, &error)),
            };
        }
        let result = if let Some(req) = command.unsubscribe {
            self.unsubscribe(&req.channel);
            Ok(protocol::reply(id, "unsubscribe", &serde_json::json!({})))
        } else if command.publish.is_some() {
            // The server is the only publisher into its topics.
            Err(Error::new(codes::PERMISSION_DENIED, "permission denied"))
        } else if let Some(req) = command.presence {
            self.presence(id, &req.channel, false).await
        } else if let Some(req) = command.presence_stats {
            self.presence(id, &req.channel, true).await
        } else if let Some(req) = command.history {
            self.history(id, req).await
        } else if command.ping.is_some() {
            Ok(protocol::reply(id, "ping", &serde_json::json!({})))
        } else if let Some(req) = command.rpc {
            self.rpc(id, req).await
        } else if let Some(req) = command.refresh {
            return self.refresh(id, &req.token).await;
        } else if command.sub_refresh.is_some() {
            Err(Error::new(codes::NOT_AVAILABLE, "not available"))
        } else {
            Err(Error::new(codes::METHOD_NOT_FOUND, "method not found"))
        };
        Outcome::Reply(result.unwrap_or_else(|error| protocol::error_reply(id, &error)))
    }

    async fn subscribe(&mut self, id: u32, req: protocol::SubscribeRequest) -> Result<(), Error> {
        if self.subs.contains(req.channel.as_str()) {
            return Err(Error::new(codes::ALREADY_SUBSCRIBED, "already subscribed"));
        }
        if self.subs.len() >= self.realtime.config.max_subscriptions {
            return Err(Error::new(codes::LIMIT_EXCEEDED, "limit exceeded"));
        }
        let topic_kind = topics::authorize(self.state.store.as_ref(), self.who.user.id, &req.channel).await?;
        let topic: Arc<str> = req.channel.as_str().into();
        // Held from here on, so nothing committed after the position is read can be missed.
        self.handle.tx.send(Out::Pending(topic.clone())).await.map_err(|_| gone())?;
        self.realtime.hub.subscribe(&topic, self.handle.clone(), req.join_leave);
        let positioned = self.position(&topic, &req).await;
        let (top, epoch, recovered, publications) = match positioned {
            Ok(p) => p,
            Err(e) => {
                self.realtime.hub.unsubscribe(&topic, &self.handle.client);
                let _ = self.handle.tx.send(Out::Deactivate(topic)).await;
                return Err(e);
            }
        };
        let body = format!(
            "{{\"recoverable\":true,\"positioned\":true,\"epoch\":{},\"offset\":{top},\"recovered\":{recovered},\"was_recovering\":{},\"publications\":[{}]}}",
            serde_json::to_string(&epoch).unwrap_or_default(),
            req.recover,
            publications.join(","),
        );
        let reply = Bytes::from(format!("{{\"id\":{id},\"subscribe\":{body}}}"));
        self.handle
            .tx
            .send(Out::Activate(Box::new(Activation { topic: topic.clone(), last: top, reply })))
            .await
            .map_err(|_| gone())?;
        self.subs.insert(topic.clone());
        if announces_presence(topic_kind) {
            self.realtime.publish(BusMessage::Join { topic: topic.to_string(), info: self.info.clone() });
        }
        Ok(())
    }

    /// The topic's position and, when the client asks to recover and can, what it missed.
    async fn position(
        &self,
        topic: &str,
        req: &protocol::SubscribeRequest,
    ) -> Result<(i64, String, bool, Vec<String>), Error> {
        let store = self.state.store.as_ref();
        let epoch = self.realtime.epoch().await.map_err(store_error)?;
        let top = store.topic_position(topic).await.map_err(store_error)?;
        if !req.recover {
            return Ok((top, epoch, false, Vec::new()));
        }
        let from = i64::try_from(req.offset).unwrap_or(i64::MAX);
        let behind = top - from;
        if req.epoch != epoch || behind < 0 || behind > i64::from(self.realtime.config.recovery_limit) {
            return Ok((top, epoch, false, Vec::new()));
        }
        let missed = store.events_after(topic, from, behind as u32).await.map_err(store_error)?;
        let recovered = missed.len() as i64 == behind;
        let pubs =
            if recovered { missed.iter().map(protocol::event_publication).collect() } else { Vec::new() };
        Ok((top, epoch, recovered, pubs))
    }

    fn unsubscribe(&mut self, channel: &str) {
        let Some(topic) = self.subs.take(channel) else { return };
        self.realtime.hub.unsubscribe(&topic, &self.handle.client);
        let _ = self.handle.tx.try_send(Out::Deactivate(topic.clone()));
        if topic.parse().is_ok_and(announces_presence) {
            self.realtime.publish(BusMessage::Leave { topic: topic.to_string(), info: self.info.clone() });
        }
    }

    async fn presence(&self, id: u32, channel: &str, stats: bool) -> Result<String, Error> {
        let presence = match topics::authorize(self.state.store.as_ref(), self.who.user.id, channel).await? {
            Topic::Inbox(ws) => self.realtime.hub.online_in(ws),
            _ => self.realtime.hub.presence(channel),
        };
        if stats {
            let users: HashSet<&str> = presence.values().map(|i| i.user.as_str()).collect();
            let result = serde_json::json!({ "num_clients": presence.len(), "num_users": users.len() });
            Ok(protocol::reply(id, "presence_stats", &result))
        } else {
            Ok(protocol::reply(id, "presence", &serde_json::json!({ "presence": presence })))
        }
    }

    async fn history(&self, id: u32, req: protocol::HistoryRequest) -> Result<String, Error> {
        topics::authorize(self.state.store.as_ref(), self.who.user.id, &req.channel).await?;
        let store = self.state.store.as_ref();
        let epoch = self.realtime.epoch().await.map_err(store_error)?;
        let top = store.topic_position(&req.channel).await.map_err(store_error)?;
        let limit = if req.limit < 0 { MAX_HISTORY } else { (req.limit as u32).min(MAX_HISTORY) };
        let mut events = Vec::new();
        if limit > 0 {
            let since = match &req.since {
                Some(since) if since.epoch != epoch => {
                    return Err(Error::new(codes::UNRECOVERABLE_POSITION, "unrecoverable position"));
                }
                Some(since) => Some(i64::try_from(since.offset).unwrap_or(i64::MAX)),
                None => None,
            };
            events = if req.reverse {
                // Newest first, before `since` when given.
                let below = since.unwrap_or(top + 1);
                let after = (below - 1 - i64::from(limit)).max(0);
                let mut page = store.events_after(&req.channel, after, limit).await.map_err(store_error)?;
                page.retain(|e| e.offset < below);
                page.reverse();
                page
            } else {
                store.events_after(&req.channel, since.unwrap_or(0), limit).await.map_err(store_error)?
            };
        }
        let pubs: Vec<String> = events.iter().map(protocol::event_publication).collect();
        let body = format!(
            "{{\"publications\":[{}],\"epoch\":{},\"offset\":{top}}}",
            pubs.join(","),
            serde_json::to_string(&epoch).unwrap_or_default()
        );
        Ok(format!("{{\"id\":{id},\"history\":{body}}}"))
    }

    async fn rpc(&mut self, id: u32, req: protocol::RpcRequest) -> Result<String, Error> {
        let data = req.data.as_ref().map_or("{}", |d| d.get());
        let result = match req.method.as_str() {
            "send_message" => self.send_message(data).await?,
            "typing" => self.typing(data).await?,
            "mark_read" => self.mark_read(data).await?,
            _ => return Err(Error::new(codes::METHOD_NOT_FOUND, "method not found")),
        };
        Ok(protocol::reply(id, "rpc", &serde_json::json!({ "data": result })))
    }

    /// The caller as a member of the conversation's workspace, looked up once per conversation.
    async fn actor(&mut self, conversation_id: ConversationId) -> Result<Actor, Error> {
        if let Some(actor) = self.actors.get(&conversation_id) {
            return Ok(*actor);
        }
        let actor =
            topics::conversation_actor(self.state.store.as_ref(), self.who.user.id, conversation_id).await?;
        if self.actors.len() >= MAX_ACTORS {
            self.actors.clear();
        }
        self.actors.insert(conversation_id, actor);
        Ok(actor)
    }

    async fn send_message(&mut self, data: &str) -> Result<serde_json::Value, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            conversation_id: ConversationId,
            text: String,
            client_message_id: Option<String>,
            reply_to: Option<MessageId>,
        }
        let args: Args = rpc_args(data)?;
        let actor = self.actor(args.conversation_id).await?;
        let req = SendMessage {
            text: args.text,
            client_message_id: args.client_message_id,
            reply_to: args.reply_to,
        };
        let trace = Some(uuid::Uuid::now_v7().to_string());
        let sent = self
            .state
            .messages
            .send(actor, args.conversation_id, req, None, trace)
            .await
            .map_err(rpc_error)?;
        Ok(serde_json::json!({ "message": sent.message, "created": sent.created }))
    }

    async fn typing(&mut self, data: &str) -> Result<serde_json::Value, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            conversation_id: ConversationId,
        }
        let args: Args = rpc_args(data)?;
        let actor = self.actor(args.conversation_id).await?;
        let now = Instant::now();
        let recent =
            self.typing.get(&args.conversation_id).is_some_and(|t| now - *t < Duration::from_secs(1));
        if !recent {
            // Typing is saying one is about to post: for those who may (checked when it is
            // relayed; a refusal is never remembered as recent).
            crate::access::conversation(self.state.store.as_ref(), actor, args.conversation_id, Right::Post)
                .await
                .map_err(rpc_error)?;
            self.typing.insert(args.conversation_id, now);
            let payload = serde_json::json!({
                "type": switchboard::EventKind::Typing,
                "payload": {
                    "conversation_id": args.conversation_id,
                    "user_id": self.who.user.id,
                    "name": self.who.user.name,
                    "expires_in_ms": TYPING_TTL_MS,
                },
            });
            self.realtime.publish(BusMessage::Ephemeral {
                topic: Topic::Conversation(args.conversation_id).to_string(),
                data: payload,
                except: Some(self.handle.client.to_string()),
            });
        }
        Ok(serde_json::json!({ "expires_in_ms": TYPING_TTL_MS }))
    }

    async fn mark_read(&mut self, data: &str) -> Result<serde_json::Value, Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Args {
            conversation_id: ConversationId,
            up_to: MessageId,
        }
        let args: Args = rpc_args(data)?;
        let actor = self.actor(args.conversation_id).await?;
        let unread = self
            .state
            .messages
            .mark_read(actor, args.conversation_id, args.up_to)
            .await
            .map_err(rpc_error)?;
        Ok(serde_json::json!({ "unread_count": unread }))
    }

    async fn refresh(&mut self, id: u32, token: &str) -> Outcome {
        match self.state.accounts.authenticate_realtime(token).await {
            Ok((who, exp)) if who.user.id == self.who.user.id => {
                self.expires_at.store(exp, Ordering::Release);
                let ttl = (exp - switchboard::time::now().timestamp()).max(1);
                let result = serde_json::json!({ "client": &*self.handle.client, "version": VERSION, "expires": true, "ttl": ttl });
                Outcome::Reply(protocol::reply(id, "refresh", &result))
            }
            Ok(_) | Err(TokenRefusal::Invalid) => Outcome::Close(Disconnect::INVALID_TOKEN),
            Err(TokenRefusal::Expired) => {
                Outcome::Reply(protocol::error_reply(id, &Error::new(codes::TOKEN_EXPIRED, "token expired")))
            }
            Err(TokenRefusal::Internal) => Outcome::Reply(protocol::error_reply(
                id,
                &Error::temporary(codes::INTERNAL, "internal server error"),
            )),
        }
    }

    /// Leaves every topic and tells the cluster the connection is gone.
    fn cleanup(&mut self) {
        let topics: Vec<Arc<str>> = self.subs.iter().cloned().collect();
        for topic in topics {
            self.unsubscribe(&topic);
        }
        self.realtime.publish(BusMessage::Offline {
            workspaces: self.workspaces.clone(),
            user: self.who.user.id,
            client: self.handle.client.to_string(),
        });
    }
}

/// Topics whose subscribers are tracked in presence with join/leave pushes: conversations.
/// (Inboxes have every member of a workspace on them; a join per connection to every other
/// would cost O(n²) for nothing: online/offline says who is there.)
fn announces_presence(topic: Topic) -> bool {
    matches!(topic, Topic::Conversation(_))
}

fn gone() -> Error {
    Error::new(codes::INTERNAL, "connection closing")
}

fn store_error(e: switchboard::StoreError) -> Error {
    rpc_error(ServiceError::Store(e))
}

fn rpc_args<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, Error> {
    serde_json::from_str(data).map_err(|e| Error::new(codes::RPC_INVALID, format!("invalid data: {e}")))
}

/// The same refusal the REST call gives ([`ServiceError::refusal`], the one mapping), as a
/// protocol error: the HTTP status is the code, the sentence the message. 429 and 503 are
/// `temporary` (the SDK may retry); any other server-side failure is the protocol's 100.
pub(crate) fn rpc_error(err: ServiceError) -> Error {
    let refusal = err.refusal();
    match refusal.status {
        429 | 503 => Error::temporary(u32::from(refusal.status), refusal.message),
        500..=599 => Error::temporary(codes::INTERNAL, "internal server error"),
        status => Error::new(u32::from(status), refusal.message),
    }
}

/// Where a subscription stands in its topic, on the writer's side.
struct SubState {
    /// The last offset written; `None` while the subscribe is under way.
    last: Option<i64>,
    /// Publications that came early (out of order, or before the subscribe reply).
    ahead: BTreeMap<i64, Bytes>,
    /// Since when a gap has been open.
    gap_since: Option<Instant>,
}

/// Most conversations a connection remembers its access to (then it looks them up again).
const MAX_ACTORS: usize = 256;

/// Most publications a subscription may hold while waiting for a gap to close.
const MAX_AHEAD: usize = 4096;

/// The writing half.
struct Writer {
    sink: SplitSink<WebSocket, Message>,
    rx: mpsc::Receiver<Out>,
    kill: Arc<Kill>,
    realtime: Arc<Realtime>,
    config: RealtimeConfig,
    pong: Arc<AtomicBool>,
    expires_at: Arc<AtomicI64>,
    subs: HashMap<Arc<str>, SubState>,
    buf: Vec<u8>,
}

/// How long one write may wait for the peer to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest batch of frames written as one WebSocket message.
const BATCH_BYTES: usize = 64 * 1024;

impl Writer {
    async fn run(mut self) {
        let mut ping =
            tokio::time::interval_at(Instant::now() + self.config.ping_interval, self.config.ping_interval);
        let kill = self.kill.clone();
        loop {
            let gap_deadline = self.gap_deadline();
            tokio::select! {
                biased;
                reason = kill.fired() => {
                    self.flush().await;
                    let frame = CloseFrame { code: reason.code, reason: reason.reason.into() };
                    let _ = self.sink.send(Message::Close(Some(frame))).await;
                    return;
                }
                item = self.rx.recv() => {
                    let Some(item) = item else { return };
                    self.handle(item);
                    while self.buf.len() < BATCH_BYTES {
                        match self.rx.try_recv() {
                            Ok(item) => self.handle(item),
                            Err(_) => break,
                        }
                    }
                    if !self.flush().await {
                        return;
                    }
                }
                _ = ping.tick() => {
                    if switchboard::time::now().timestamp() >= self.expires_at.load(Ordering::Acquire) {
                        self.kill.fire(Disconnect::EXPIRED);
                        continue;
                    }
                    if !self.pong.swap(false, Ordering::AcqRel) {
                        self.kill.fire(Disconnect::NO_PONG);
                        continue;
                    }
                    self.push(b"{}");
                    if !self.flush().await {
                        return;
                    }
                }
                () = sleep_until(gap_deadline) => {
                    if let Err(e) = self.fill_gaps().await {
                        tracing::warn!(error = %e, "cannot read a publication gap from the log");
                        self.kill.fire(Disconnect::SERVER_ERROR);
                    } else if !self.flush().await {
                        return;
                    }
                }
            }
        }
    }

    fn handle(&mut self, item: Out) {
        match item {
            Out::Frame(frame) => self.push(frame.as_bytes()),
            Out::Pending(topic) => {
                self.subs.insert(topic, SubState { last: None, ahead: BTreeMap::new(), gap_since: None });
            }
            Out::Activate(activation) => {
                let Activation { topic, last, reply } = *activation;
                self.push(&reply);
                if let Some(mut sub) = self.subs.remove(&topic) {
                    sub.last = Some(last);
                    self.drain(&mut sub);
                    self.subs.insert(topic, sub);
                }
            }
            Out::Deactivate(topic) => {
                self.subs.remove(&topic);
            }
            Out::Pub(publication) => {
                // Borrowed in place: this runs once per delivery.
                let Some(sub) = self.subs.get_mut(&publication.topic) else { return };
                let buf = &mut self.buf;
                match (publication.offset, sub.last) {
                    (None, Some(_)) => push(buf, &publication.frame),
                    (None, None) => {}
                    (Some(offset), Some(last)) if offset == last + 1 && sub.ahead.is_empty() => {
                        push(buf, &publication.frame);
                        sub.last = Some(offset);
                    }
                    (Some(offset), last) => {
                        if last.is_some_and(|last| offset <= last) {
                            // Already written (recovered, or a duplicate).
                        } else if sub.ahead.len() >= MAX_AHEAD {
                            self.kill.fire(Disconnect::SLOW);
                        } else {
                            sub.ahead.insert(offset, publication.frame.clone());
                            if last.is_some() {
                                drain(buf, sub);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Writes the publications that now follow on, and notes whether a gap is left.
    fn drain(&mut self, sub: &mut SubState) {
        drain(&mut self.buf, sub);
    }

    fn push(&mut self, frame: &[u8]) {
        push(&mut self.buf, frame);
    }

    fn gap_deadline(&self) -> Option<Instant> {
        self.subs.values().filter_map(|s| s.gap_since).min().map(|since| since + self.config.gap_wait)
    }

    /// Reads the publications a gap is missing from the log (they were committed, since a
    /// later one was, but their publish was lost or is late).
    async fn fill_gaps(&mut self) -> Result<(), switchboard::StoreError> {
        let now = Instant::now();
        let due: Vec<Arc<str>> = self
            .subs
            .iter()
            .filter(|(_, s)| s.gap_since.is_some_and(|since| since + self.config.gap_wait <= now))
            .map(|(t, _)| t.clone())
            .collect();
        for topic in due {
            let Some(mut sub) = self.subs.remove(&topic) else { continue };
            if let (Some(last), Some((&next, _))) = (sub.last, sub.ahead.first_key_value()) {
                let missing = (next - last - 1).max(0) as u32;
                let events = self.realtime.store().events_after(&topic, last, missing).await?;
                for event in &events {
                    let frame = protocol::pub_push(&topic, &protocol::event_publication(event));
                    sub.ahead.insert(event.offset, Bytes::from(frame));
                }
                sub.gap_since = None;
                self.drain(&mut sub);
            }
            self.subs.insert(topic, sub);
        }
        Ok(())
    }

    /// Sends what is buffered as one message; false if the socket is gone.
    async fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let body = std::mem::take(&mut self.buf);
        let body = match String::from_utf8(body) {
            Ok(body) => body,
            Err(_) => {
                tracing::error!("a realtime frame was not UTF-8");
                return false;
            }
        };
        // A peer that stops reading for this long is gone (its queue filled long ago).
        let sent = tokio::time::timeout(WRITE_TIMEOUT, self.sink.send(Message::Text(body.into()))).await;
        if !matches!(sent, Ok(Ok(()))) {
            self.kill.fire(Disconnect::WRITE_ERROR);
            return false;
        }
        true
    }
}

/// Appends a frame to a batch (frames are newline-separated).
fn push(buf: &mut Vec<u8>, frame: &[u8]) {
    if !buf.is_empty() {
        buf.push(b'\n');
    }
    buf.extend_from_slice(frame);
}

/// Writes the publications that now follow on, and notes whether a gap is left.
fn drain(buf: &mut Vec<u8>, sub: &mut SubState) {
    let Some(mut last) = sub.last else { return };
    while let Some(entry) = sub.ahead.first_entry() {
        let offset = *entry.key();
        if offset <= last {
            entry.remove();
        } else if offset == last + 1 {
            let frame = entry.remove();
            push(buf, &frame);
            last = offset;
        } else {
            break;
        }
    }
    sub.last = Some(last);
    sub.gap_since = if sub.ahead.is_empty() { None } else { sub.gap_since.or(Some(Instant::now())) };
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
