//! The hub: which local connection listens to which topic, and the cluster's presence.
//!
//! Everything that reaches subscribers arrives as a [`BusMessage`] (from this node or, with
//! NATS, from another). The hub serializes each publication **once** into the frame every
//! subscriber gets, and hands it to the per-connection queues without waiting: a full queue
//! means a slow consumer, which is disconnected with the protocol's "slow" code so it
//! reconnects and recovers. Nothing is skipped silently.
//!
//! The hub also keeps a registry of every live local connection by user and by session (not
//! only those subscribed to something), so that ending someone's access — signing out, a
//! password change, a revoked session, removal from a workspace — closes their sockets at once
//! on every node: the service publishes [`BusMessage::Terminate`], and each hub closes its
//! matching connections with the code of [`AccessEnded`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use switchboard::event::UserPresence;
use switchboard::{Event, EventBody, SessionId, UserId, WorkspaceId};
use tokio::sync::Notify;

use super::protocol::{self, AccessEnded, ClientInfo, Disconnect};
use super::queue;

/// What travels between the places events are made and the hubs of every node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BusMessage {
    /// A committed event of the log.
    Event {
        event: Event,
    },
    /// Something not stored (typing, online/offline): delivered to the topic's current
    /// subscribers, except the connection it came from.
    Ephemeral {
        topic: String,
        body: EventBody,
        except: Option<String>,
    },
    /// A connection subscribed to / left a topic.
    Join {
        topic: String,
        info: ClientInfo,
    },
    Leave {
        topic: String,
        info: ClientInfo,
    },
    /// A connection of a user opened / closed (in each of the user's workspaces).
    Online {
        workspaces: Vec<WorkspaceId>,
        user: UserId,
        client: String,
    },
    Offline {
        workspaces: Vec<WorkspaceId>,
        user: UserId,
        client: String,
    },
    /// Access ended: every node closes its connections the target names, with the code of
    /// `why`.
    Terminate {
        target: Target,
        why: AccessEnded,
    },
}

/// Which live connections a [`BusMessage::Terminate`] closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Every connection opened with this session (its cookie or a realtime token minted from it).
    Session { session: SessionId },
    /// Every connection of the user, except those of the session `keep` (the caller's own, when a
    /// password change ends the others).
    User { user: UserId, keep: Option<SessionId> },
}

/// An item on a connection's outgoing queue.
#[derive(Debug)]
pub enum Out {
    /// A reply to a command (two words wide, like every other item).
    Frame(Box<str>),
    /// A publication, shared by every subscriber's queue.
    Pub(Arc<Publication>),
    /// A subscribe is under way: hold this topic's publications until it is active.
    Pending(Arc<str>),
    /// The subscribe reply (already holding what was recovered); `last` is the offset the
    /// client has after it.
    Activate(Box<Activation>),
    /// The topic was left.
    Deactivate(Arc<str>),
}

/// A subscribe's reply and where the topic stands after it (boxed in [`Out`], which every
/// connection's queue holds by the block: the common items stay small).
#[derive(Debug)]
pub struct Activation {
    pub topic: Arc<str>,
    pub last: i64,
    pub reply: Bytes,
}

/// One publication as every local subscriber gets it: serialized once.
#[derive(Debug)]
pub struct Publication {
    pub topic: Arc<str>,
    /// Set for log events, which each connection keeps in order and without duplicates.
    pub offset: Option<i64>,
    pub frame: Bytes,
}

/// Closes a connection from anywhere (the hub, the writer), once.
#[derive(Debug, Default)]
pub struct Kill {
    fired: AtomicBool,
    reason: Mutex<Option<Disconnect>>,
    notify: Notify,
}

impl Kill {
    pub fn fire(&self, reason: Disconnect) {
        if !self.fired.swap(true, Ordering::AcqRel) {
            if reason == Disconnect::SLOW {
                crate::metrics::metrics().slow_disconnects.inc();
            }
            *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
            self.notify.notify_one();
        }
    }

    pub fn is_fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    /// Why it was fired, if it was.
    pub fn reason(&self) -> Option<Disconnect> {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until fired; answers why.
    pub async fn fired(&self) -> Disconnect {
        loop {
            if let Some(reason) = *self.reason.lock().unwrap_or_else(|e| e.into_inner()) {
                return reason;
            }
            self.notify.notified().await;
        }
    }
}

/// A local connection as the hub sees it.
#[derive(Clone, Debug)]
pub struct ConnHandle {
    pub client: Arc<str>,
    pub tx: queue::Sender<Out>,
    pub kill: Arc<Kill>,
}

impl ConnHandle {
    /// Queues without waiting; a full queue disconnects the consumer as slow.
    fn offer(&self, item: Out) {
        match self.tx.try_send(item) {
            Ok(()) => {
                crate::metrics::metrics().deliveries.inc();
            }
            Err(queue::TrySendError::Full(_)) => self.kill.fire(Disconnect::SLOW),
            Err(queue::TrySendError::Closed(_)) => {}
        }
    }
}

/// A local subscription.
struct Sub {
    conn: ConnHandle,
    /// The client asked for join/leave pushes (`join_leave` in its subscribe).
    join_leave: bool,
}

// Every queued item is one of these: keep them small.
const _: () = assert!(std::mem::size_of::<Out>() <= 24);

/// A live local connection in the registry.
struct Live {
    user: UserId,
    session: SessionId,
    kill: Arc<Kill>,
}

#[derive(Default)]
struct State {
    /// Every live local connection (subscribed or not) by client id…
    conns: HashMap<Arc<str>, Live>,
    /// …by user…
    by_user: HashMap<UserId, HashSet<Arc<str>>>,
    /// …and by session.
    by_session: HashMap<SessionId, HashSet<Arc<str>>>,
    /// topic → local subscribers by client id.
    topics: HashMap<Arc<str>, HashMap<Arc<str>, Sub>>,
    /// topic → every subscriber in the cluster (client id → info).
    presence: HashMap<String, HashMap<Arc<str>, ClientInfo>>,
    /// (workspace, user) → the user's open connections in the cluster.
    online: HashMap<(WorkspaceId, UserId), HashSet<String>>,
    /// The terminations applied lately, oldest first (see [`Hub::register`]).
    ended: VecDeque<(Instant, Target, AccessEnded)>,
    /// When the newest termination dropped from `ended` early (past [`MAX_ENDED`]) was applied.
    forgotten: Option<Instant>,
}

/// How long a termination is remembered for the connections still between reading their
/// credentials and registering (a handshake takes at most its connect timeout, 10 s by default).
pub const ENDED_KEPT: Duration = Duration::from_secs(300);
/// At most this many remembered terminations; past it the oldest are forgotten early.
const MAX_ENDED: usize = 10_000;

impl Target {
    /// Whether the target names a connection of this user and session.
    fn names(&self, user: UserId, session: SessionId) -> bool {
        match *self {
            Target::Session { session: s } => s == session,
            Target::User { user: u, keep } => u == user && keep != Some(session),
        }
    }
}

/// The node's hub.
#[derive(Default)]
pub struct Hub {
    state: RwLock<State>,
    /// Set once the node shuts down: every connection, present or registering later, is closed
    /// with [`Disconnect::SHUTDOWN`].
    closing: AtomicBool,
    /// Wakes connections still in their handshake when the node shuts down.
    closing_notify: Notify,
    /// Mints the media links of the messages pushed (each push is signed once, for all).
    links: std::sync::OnceLock<crate::media::MediaLinks>,
}

impl State {
    /// Calls `f` on every live connection the target names.
    fn matching(&self, target: &Target, mut f: impl FnMut(&Live)) {
        let clients = match target {
            Target::Session { session } => self.by_session.get(session),
            Target::User { user, .. } => self.by_user.get(user),
        };
        let keep = match target {
            Target::User { keep, .. } => *keep,
            Target::Session { .. } => None,
        };
        for client in clients.into_iter().flatten() {
            if let Some(live) = self.conns.get(client)
                && Some(live.session) != keep
            {
                f(live);
            }
        }
    }
}

impl Hub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives pushed messages' attachments their links from now on (set once, at start).
    pub fn set_media_links(&self, links: crate::media::MediaLinks) {
        let _ = self.links.set(links);
    }

    /// The event as it leaves the server: with fresh media links when it carries attachments.
    pub fn outgoing<'e>(&self, event: &'e switchboard::Event) -> std::borrow::Cow<'e, switchboard::Event> {
        match self.links.get() {
            Some(links) if crate::media::MediaLinks::needs_signing(event) => {
                let mut signed = event.clone();
                links.sign_event(&mut signed);
                std::borrow::Cow::Owned(signed)
            }
            _ => std::borrow::Cow::Borrowed(event),
        }
    }

    /// Registers a live local connection, so [`BusMessage::Terminate`] can reach it. Pair with
    /// [`Hub::deregister`] when it closes.
    ///
    /// `since` is a moment before the connection's credentials were read. A termination that
    /// names it and was applied since then fires its `kill` here: its access ended between that
    /// read and now, and the `Terminate` (published after the change committed, so after the
    /// read) came before the connection could hear it. False when the hub cannot vouch for all
    /// of that time (`since` is older than what it remembers): the caller reads the credentials
    /// again instead.
    pub fn register(
        &self,
        client: &Arc<str>,
        user: UserId,
        session: SessionId,
        kill: Arc<Kill>,
        since: Instant,
    ) -> bool {
        let mut state = self.write();
        state.by_user.entry(user).or_default().insert(client.clone());
        state.by_session.entry(session).or_default().insert(client.clone());
        state.conns.insert(client.clone(), Live { user, session, kill: kill.clone() });
        let vouched = since.elapsed() < ENDED_KEPT && state.forgotten.is_none_or(|f| f < since);
        let ended = state
            .ended
            .iter()
            .rev()
            .take_while(|(at, ..)| *at >= since)
            .find(|(_, t, _)| t.names(user, session));
        if let Some((_, _, why)) = ended {
            kill.fire(why.disconnect());
        }
        drop(state);
        // After the insert: either `shutdown` saw this connection, or this sees its flag.
        if self.closing.load(Ordering::SeqCst) {
            kill.fire(Disconnect::SHUTDOWN);
        }
        vouched
    }

    /// The node is shutting down: closes every live local connection with Centrifugo's
    /// shutdown disconnect (3001, the SDK reconnects, to another node behind the load
    /// balancer), and every connection that registers from now on. Answers how many were open.
    pub fn shutdown(&self) -> usize {
        self.closing.store(true, Ordering::SeqCst);
        self.closing_notify.notify_waiters();
        let state = self.read();
        for live in state.conns.values() {
            live.kill.fire(Disconnect::SHUTDOWN);
        }
        state.conns.len()
    }

    /// This node may have missed bus messages of the other nodes (its NATS link dropped, or its
    /// subscription fell behind and NATS dropped some), a termination among them. Closes every
    /// local connection with "insufficient state" (the client reconnects, its credentials are
    /// read again, and it recovers what it missed), and a connection whose credentials were read
    /// before now reads them again when it registers (see [`Hub::register`]). Call it once
    /// messages reach this node again. Answers how many connections were closed.
    pub fn lost_track(&self) -> usize {
        let mut state = self.write();
        state.forgotten = Some(Instant::now());
        for live in state.conns.values() {
            live.kill.fire(Disconnect::INSUFFICIENT_STATE);
        }
        state.conns.len()
    }

    /// Whether [`Hub::shutdown`] was called.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Resolves once the node shuts down (at once if it already has).
    pub async fn closing(&self) {
        let notified = self.closing_notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_closing() {
            return;
        }
        notified.await;
    }

    /// How many local connections are registered (connected, not yet closed).
    pub fn live(&self) -> usize {
        self.read().conns.len()
    }

    /// Forgets a closed connection.
    pub fn deregister(&self, client: &str) {
        let mut state = self.write();
        let Some(live) = state.conns.remove(client) else { return };
        if let Some(set) = state.by_user.get_mut(&live.user) {
            set.remove(client);
            if set.is_empty() {
                state.by_user.remove(&live.user);
            }
        }
        if let Some(set) = state.by_session.get_mut(&live.session) {
            set.remove(client);
            if set.is_empty() {
                state.by_session.remove(&live.session);
            }
        }
    }

    /// How many live local connections the target names.
    pub fn count(&self, target: &Target) -> usize {
        let state = self.read();
        let mut n = 0;
        state.matching(target, |_| n += 1);
        n
    }

    /// Closes this node's connections the target names; answers how many.
    fn terminate(&self, target: &Target, why: AccessEnded) -> usize {
        let reason = why.disconnect();
        let mut state = self.write();
        // Remembered for the connections registering next (see `register`), under the same
        // lock as the registry: a connection is either found here or finds this.
        let now = Instant::now();
        while state.ended.front().is_some_and(|(at, ..)| now.duration_since(*at) >= ENDED_KEPT) {
            state.ended.pop_front();
        }
        if state.ended.len() >= MAX_ENDED {
            state.forgotten = state.ended.pop_front().map(|(at, ..)| at);
        }
        state.ended.push_back((now, *target, why));
        let mut n = 0;
        state.matching(target, |live| {
            live.kill.fire(reason);
            n += 1;
        });
        n
    }

    /// Adds a local subscriber. False if that client already listens to the topic.
    pub fn subscribe(&self, topic: &Arc<str>, conn: ConnHandle, join_leave: bool) -> bool {
        let mut state = self.write();
        let subs = state.topics.entry(topic.clone()).or_default();
        if subs.contains_key(&conn.client) {
            return false;
        }
        subs.insert(conn.client.clone(), Sub { conn, join_leave });
        true
    }

    pub fn unsubscribe(&self, topic: &str, client: &str) {
        let mut state = self.write();
        if let Some(subs) = state.topics.get_mut(topic) {
            subs.remove(client);
            if subs.is_empty() {
                state.topics.remove(topic);
            }
        }
    }

    /// How many subscriptions this node's connections hold, over every topic.
    pub fn subscription_count(&self) -> usize {
        self.read().topics.values().map(HashMap::len).sum()
    }

    /// How many local connections listen to the topic.
    pub fn local_subscribers(&self, topic: &str) -> usize {
        self.read().topics.get(topic).map_or(0, HashMap::len)
    }

    /// Everyone subscribed to the topic across the cluster.
    pub fn presence(&self, topic: &str) -> HashMap<Arc<str>, ClientInfo> {
        self.read().presence.get(topic).cloned().unwrap_or_default()
    }

    /// Who is connected in the workspace across the cluster: client id → info (the inbox
    /// topic's presence).
    pub fn online_in(&self, workspace: WorkspaceId) -> HashMap<Arc<str>, ClientInfo> {
        let state = self.read();
        let mut out = HashMap::new();
        for ((ws, user), clients) in &state.online {
            if *ws != workspace {
                continue;
            }
            let user: Arc<str> = user.to_string().into();
            for client in clients {
                let client: Arc<str> = client.as_str().into();
                let info = ClientInfo::new(user.clone(), client.clone(), &serde_json::Value::Null);
                out.insert(client, info);
            }
        }
        out
    }

    /// Whether the user has a connection open anywhere in the cluster.
    pub fn is_online(&self, workspace: WorkspaceId, user: UserId) -> bool {
        self.read().online.get(&(workspace, user)).is_some_and(|c| !c.is_empty())
    }

    /// Applies a bus message: delivers it to local subscribers and updates presence.
    pub fn apply(&self, message: &BusMessage) {
        match message {
            BusMessage::Event { event } => {
                let frame = protocol::event_push(&self.outgoing(event));
                let delivered =
                    self.deliver(&event.topic.to_string(), Some(event.offset), frame, None, false);
                if delivered > 0 && event.kind() == switchboard::EventKind::MessageCreated {
                    let since = switchboard::time::now() - event.occurred_at;
                    let seconds = since.to_std().map_or(0.0, |d| d.as_secs_f64());
                    crate::metrics::metrics().send_delivery.observe(seconds);
                }
            }
            BusMessage::Terminate { target, why } => {
                let closed = self.terminate(target, *why);
                if closed > 0 {
                    tracing::info!(?target, ?why, closed, "closed connections whose access ended");
                }
            }
            BusMessage::Ephemeral { topic, body, except } => {
                let frame = protocol::ephemeral_push(topic, body);
                self.deliver(topic, None, frame, except.as_deref(), false);
            }
            BusMessage::Join { topic, info } => {
                let first = {
                    let mut state = self.write();
                    state.presence.entry(topic.clone()).or_default().insert(info.client.clone(), info.clone())
                };
                if first.is_none() {
                    self.deliver(topic, None, protocol::join_push(topic, info), Some(&info.client), true);
                }
            }
            BusMessage::Leave { topic, info } => {
                let was = {
                    let mut state = self.write();
                    let removed = state.presence.get_mut(topic.as_str()).and_then(|p| p.remove(&info.client));
                    if state.presence.get(topic.as_str()).is_some_and(HashMap::is_empty) {
                        state.presence.remove(topic.as_str());
                    }
                    removed
                };
                if was.is_some() {
                    self.deliver(topic, None, protocol::leave_push(topic, info), Some(&info.client), true);
                }
            }
            BusMessage::Online { workspaces, user, client } => {
                for ws in workspaces {
                    let first = {
                        let mut state = self.write();
                        let set = state.online.entry((*ws, *user)).or_default();
                        set.insert(client.clone()) && set.len() == 1
                    };
                    if first {
                        self.announce(*ws, *user, true, client);
                    }
                }
            }
            BusMessage::Offline { workspaces, user, client } => {
                for ws in workspaces {
                    let last = {
                        let mut state = self.write();
                        let set = state.online.entry((*ws, *user)).or_default();
                        let removed = set.remove(client);
                        let empty = set.is_empty();
                        if empty {
                            state.online.remove(&(*ws, *user));
                        }
                        removed && empty
                    };
                    if last {
                        self.announce(*ws, *user, false, client);
                    }
                }
            }
        }
    }

    /// The user's first connection opened or last one closed: told on the workspace's inbox.
    fn announce(&self, ws: WorkspaceId, user: UserId, online: bool, client: &str) {
        let topic = switchboard::Topic::Inbox(ws).to_string();
        let presence = UserPresence { user_id: user };
        let body =
            if online { EventBody::PresenceOnline(presence) } else { EventBody::PresenceOffline(presence) };
        let frame = protocol::ephemeral_push(&topic, &body);
        self.deliver(&topic, None, frame, Some(client), false);
    }

    /// Hands one pre-serialized frame to every local subscriber of the topic (only those who
    /// asked for join/leave, for those pushes); answers how many it was offered to.
    fn deliver(
        &self,
        topic: &str,
        offset: Option<i64>,
        frame: String,
        except: Option<&str>,
        join_leave: bool,
    ) -> usize {
        let state = self.read();
        let Some((topic, subs)) = state.topics.get_key_value(topic) else {
            return 0;
        };
        let publication = Arc::new(Publication { topic: topic.clone(), offset, frame: Bytes::from(frame) });
        let mut offered = 0;
        for (client, sub) in subs {
            if except == Some(&**client) || (join_leave && !sub.join_leave) {
                continue;
            }
            sub.conn.offer(Out::Pub(publication.clone()));
            offered += 1;
        }
        offered
    }

    /// Panics if the registry's indexes disagree (for tests).
    pub fn check_invariants(&self) {
        let state = self.read();
        for (client, live) in &state.conns {
            assert!(
                state.by_user.get(&live.user).is_some_and(|s| s.contains(client)),
                "{client} not by user"
            );
            assert!(
                state.by_session.get(&live.session).is_some_and(|s| s.contains(client)),
                "{client} not by session"
            );
        }
        for (user, clients) in &state.by_user {
            assert!(!clients.is_empty(), "empty set for user {user}");
            for client in clients {
                assert!(state.conns.get(client).is_some_and(|l| l.user == *user), "stale {client} of {user}");
            }
        }
        for (session, clients) in &state.by_session {
            assert!(!clients.is_empty(), "empty set for session {session}");
            for client in clients {
                assert!(state.conns.get(client).is_some_and(|l| l.session == *session), "stale {client}");
            }
        }
        for subs in state.topics.values() {
            assert!(!subs.is_empty(), "an empty topic is kept");
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests;
