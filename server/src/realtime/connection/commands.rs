//! The reading half of a connection: each line parsed once into a [`Request`] and answered in
//! order. Subscribe (with recovery from the log), unsubscribe, presence, history, refresh and
//! ping live here; `rpc` goes on to [`super::rpc`]. Replies go through the connection's queue,
//! so a subscribe's reply and the topic's publications reach the client in order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use switchboard::{ConversationId, Event, Topic, WorkspaceId};
use tokio::time::Instant;

use super::super::hub::{Activation, BusMessage, ConnHandle, Out};
use super::super::protocol::{
    ClientInfo, Command, Disconnect, Error, EventPublications, HistoryRequest, HistoryResult, PresenceResult,
    PresenceStatsResult, RefreshResult, Reply, ReplyBody, Request, SubscribeRequest, SubscribeResult, codes,
};
use super::super::topics;
use super::{Gateway, VERSION, handshake};
use crate::services::Actor;
use crate::services::accounts::{Authenticated, TokenRefusal};

/// Largest history page.
const MAX_HISTORY: u32 = 1000;

/// The reading half: commands, answered in order.
pub(super) struct Conn {
    pub gateway: Gateway,
    pub who: Authenticated,
    pub workspaces: Vec<WorkspaceId>,
    pub handle: ConnHandle,
    pub info: ClientInfo,
    pub subs: HashSet<Arc<str>>,
    pub pong: Arc<AtomicBool>,
    pub expires_at: Arc<AtomicI64>,
    /// When this connection last relayed "typing" per conversation (at most once a second).
    pub typing: HashMap<ConversationId, Instant>,
    /// Who this connection acts as in the conversations it wrote to. Access ends with
    /// membership, and removing a member closes their connections (4503 "removed from
    /// workspace"), so an entry never outlives the right it records.
    pub actors: HashMap<ConversationId, Actor>,
}

/// What a command handler decided.
enum Outcome {
    Reply(String),
    Close(Disconnect),
    Nothing,
}

impl Outcome {
    fn reply(id: u32, result: Result<ReplyBody<'_>, Error>) -> Self {
        let body = result.unwrap_or_else(ReplyBody::Error);
        Self::Reply(Reply::new(id, body).encode())
    }
}

impl Conn {
    pub async fn read(&mut self, mut stream: SplitStream<WebSocket>, first: Vec<String>) {
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
                    if handshake::too_big(e) {
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
        let Ok(command) = serde_json::from_str::<Command>(line) else {
            self.handle.kill.fire(Disconnect::BAD_REQUEST);
            return false;
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
        let (id, request) = command.into_request();
        match request {
            Request::Pong => {
                self.pong.store(true, Ordering::Release);
                Outcome::Nothing
            }
            // Asynchronous messages to the server are not used; ignored like Centrifugo does
            // without a handler.
            Request::Send => Outcome::Nothing,
            // Once is enough; and every other request needs an id to be answered by.
            Request::Connect(_) => Outcome::Close(Disconnect::BAD_REQUEST),
            _ if id == 0 => Outcome::Close(Disconnect::BAD_REQUEST),
            // The reply goes through the queue itself, in order with the topic's publications.
            Request::Subscribe(req) => match self.subscribe(id, req).await {
                Ok(()) => Outcome::Nothing,
                Err(error) => Outcome::reply(id, Err(error)),
            },
            Request::Unsubscribe(req) => {
                self.unsubscribe(&req.channel);
                Outcome::reply(id, Ok(ReplyBody::Unsubscribe {}))
            }
            // The server is the only publisher into its topics.
            Request::Publish(_) => {
                Outcome::reply(id, Err(Error::new(codes::PERMISSION_DENIED, "permission denied")))
            }
            Request::Presence(req) => self.presence(id, &req.channel, false).await,
            Request::PresenceStats(req) => self.presence(id, &req.channel, true).await,
            Request::History(req) => self.history(id, req).await,
            Request::Ping => Outcome::reply(id, Ok(ReplyBody::Ping {})),
            Request::Rpc(req) => Outcome::Reply(self.rpc(id, &req).await),
            Request::Refresh(req) => self.refresh(id, &req.token).await,
            Request::SubRefresh => Outcome::reply(id, Err(Error::new(codes::NOT_AVAILABLE, "not available"))),
            Request::Unknown => {
                Outcome::reply(id, Err(Error::new(codes::METHOD_NOT_FOUND, "method not found")))
            }
        }
    }

    async fn subscribe(&mut self, id: u32, req: SubscribeRequest) -> Result<(), Error> {
        if self.subs.contains(req.channel.as_str()) {
            return Err(Error::new(codes::ALREADY_SUBSCRIBED, "already subscribed"));
        }
        if self.subs.len() >= self.gateway.config().max_subscriptions {
            return Err(Error::new(codes::LIMIT_EXCEEDED, "limit exceeded"));
        }
        let topic_kind = topics::named(&req.channel)?;
        let topic: Arc<str> = req.channel.as_str().into();
        // Held from here on, so nothing committed after the position is read can be missed.
        // Access is decided with the position, in one read: until it is granted the topic's
        // publications wait in the writer, which drops them if it is refused.
        self.handle.tx.send(Out::Pending(topic.clone())).await.map_err(|_| gone())?;
        let realtime = self.gateway.realtime();
        realtime.hub.subscribe(&topic, self.handle.clone(), req.join_leave);
        let position = match self.position(topic_kind, &req).await {
            Ok(position) => position,
            Err(e) => {
                realtime.hub.unsubscribe(&topic, &self.handle.client);
                let _ = self.handle.tx.send(Out::Deactivate(topic)).await;
                return Err(e);
            }
        };
        let reply = Reply::new(
            id,
            ReplyBody::Subscribe(SubscribeResult {
                recoverable: true,
                positioned: true,
                epoch: &position.epoch,
                offset: position.top,
                recovered: position.recovered,
                was_recovering: req.recover,
                publications: EventPublications(&position.missed),
            }),
        );
        let reply = Bytes::from(reply.encode());
        let activation = Activation { topic: topic.clone(), last: position.top, reply };
        self.handle.tx.send(Out::Activate(Box::new(activation))).await.map_err(|_| gone())?;
        self.subs.insert(topic.clone());
        if announces_presence(topic_kind) {
            realtime.publish(BusMessage::Join { topic: topic.to_string(), info: self.info.clone() });
        }
        Ok(())
    }

    /// The topic's position and, when the client asks to recover and can, what it missed.
    async fn position(&self, topic: Topic, req: &SubscribeRequest) -> Result<Position, Error> {
        let top = self.gateway.authorize_at(self.who.user.id, topic).await?;
        let epoch = self.gateway.epoch().await.map_err(store_error)?;
        let mut position = Position { top, epoch, recovered: false, missed: Vec::new() };
        if !req.recover {
            return Ok(position);
        }
        let from = i64::try_from(req.offset).unwrap_or(i64::MAX);
        let behind = top - from;
        let limit = i64::from(self.gateway.config().recovery_limit);
        if req.epoch != position.epoch || behind < 0 || behind > limit {
            return Ok(position);
        }
        let missed = self.gateway.events_after(topic, from, behind as u32).await.map_err(store_error)?;
        if missed.len() as i64 == behind {
            position.recovered = true;
            position.missed = missed;
        }
        Ok(position)
    }

    pub fn unsubscribe(&mut self, channel: &str) {
        let Some(topic) = self.subs.take(channel) else { return };
        let realtime = self.gateway.realtime();
        realtime.hub.unsubscribe(&topic, &self.handle.client);
        let _ = self.handle.tx.try_send(Out::Deactivate(topic.clone()));
        if topic.parse().is_ok_and(announces_presence) {
            realtime.publish(BusMessage::Leave { topic: topic.to_string(), info: self.info.clone() });
        }
    }

    async fn presence(&self, id: u32, channel: &str, stats: bool) -> Outcome {
        let hub = &self.gateway.realtime().hub;
        let presence = match self.gateway.authorize(self.who.user.id, channel).await {
            Ok(Topic::Inbox(ws)) => hub.online_in(ws),
            Ok(_) => hub.presence(channel),
            Err(e) => return Outcome::reply(id, Err(e)),
        };
        let body = if stats {
            let users: HashSet<&str> = presence.values().map(|i| &*i.user).collect();
            ReplyBody::PresenceStats(PresenceStatsResult {
                num_clients: presence.len(),
                num_users: users.len(),
            })
        } else {
            ReplyBody::Presence(PresenceResult { presence: &presence })
        };
        Outcome::reply(id, Ok(body))
    }

    async fn history(&self, id: u32, req: HistoryRequest) -> Outcome {
        match self.history_page(&req).await {
            Ok((events, epoch, top)) => Outcome::reply(
                id,
                Ok(ReplyBody::History(HistoryResult {
                    publications: EventPublications(&events),
                    epoch: &epoch,
                    offset: top,
                })),
            ),
            Err(e) => Outcome::reply(id, Err(e)),
        }
    }

    /// The page of the log a history request asks for, the epoch and the topic's offset.
    async fn history_page(&self, req: &HistoryRequest) -> Result<(Vec<Event>, String, i64), Error> {
        let topic = topics::named(&req.channel)?;
        let top = self.gateway.authorize_at(self.who.user.id, topic).await?;
        let epoch = self.gateway.epoch().await.map_err(store_error)?;
        let limit = if req.limit < 0 { MAX_HISTORY } else { (req.limit as u32).min(MAX_HISTORY) };
        if limit == 0 {
            return Ok((Vec::new(), epoch, top));
        }
        let since = match &req.since {
            Some(since) if since.epoch != epoch => {
                return Err(Error::new(codes::UNRECOVERABLE_POSITION, "unrecoverable position"));
            }
            Some(since) => Some(i64::try_from(since.offset).unwrap_or(i64::MAX)),
            None => None,
        };
        let events = if req.reverse {
            // Newest first, before `since` when given.
            let below = since.unwrap_or(top + 1);
            let after = (below - 1 - i64::from(limit)).max(0);
            let mut page = self.gateway.events_after(topic, after, limit).await.map_err(store_error)?;
            page.retain(|e| e.offset < below);
            page.reverse();
            page
        } else {
            self.gateway.events_after(topic, since.unwrap_or(0), limit).await.map_err(store_error)?
        };
        Ok((events, epoch, top))
    }

    async fn refresh(&mut self, id: u32, token: &str) -> Outcome {
        match self.gateway.authenticate_token(token).await {
            Ok((who, exp)) if who.user.id == self.who.user.id => {
                self.expires_at.store(exp, Ordering::Release);
                let ttl = (exp - switchboard::time::now().timestamp()).max(1);
                let client = &*self.handle.client;
                let result = RefreshResult { client, expires: true, ttl, version: VERSION };
                Outcome::reply(id, Ok(ReplyBody::Refresh(result)))
            }
            Ok(_) | Err(TokenRefusal::Invalid) => Outcome::Close(Disconnect::INVALID_TOKEN),
            Err(TokenRefusal::Expired) => {
                Outcome::reply(id, Err(Error::new(codes::TOKEN_EXPIRED, "token expired")))
            }
            Err(TokenRefusal::Internal) => {
                Outcome::reply(id, Err(Error::temporary(codes::INTERNAL, "internal server error")))
            }
        }
    }

    /// Leaves every topic and tells the cluster the connection is gone.
    pub fn cleanup(&mut self) {
        let topics: Vec<Arc<str>> = self.subs.iter().cloned().collect();
        for topic in topics {
            self.unsubscribe(&topic);
        }
        self.gateway.realtime().publish(BusMessage::Offline {
            workspaces: self.workspaces.clone(),
            user: self.who.user.id,
            client: self.handle.client.to_string(),
        });
    }
}

/// Where a topic stands for a subscribe.
struct Position {
    /// The topic's latest offset.
    top: i64,
    epoch: String,
    /// The client asked to recover, and everything it missed is in `missed`.
    recovered: bool,
    missed: Vec<Event>,
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

/// A store failure as the protocol's error: the one refusal mapping, as for any RPC.
pub(super) fn store_error(e: switchboard::StoreError) -> Error {
    super::rpc::rpc_error(crate::services::ServiceError::Store(e))
}
