//! One WebSocket connection, from upgrade to close, in four parts:
//!
//! - [`handshake`]: the upgrade (a connection slot, or 503), then `connect` and its
//!   authentication (token or cookie, with the origin check);
//! - [`commands`]: the reading half, each line parsed once into a
//!   [`Request`](super::protocol::Request) and answered in order (subscribe with recovery,
//!   unsubscribe, presence, history, refresh, ping);
//! - [`rpc`]: the `rpc` command's methods, parsed into [`Rpc`](super::protocol::Rpc) and
//!   dispatched by `match` to the services;
//! - [`writer`]: the writing half, the outgoing queue batched into frames, kept in offset order
//!   per topic (gaps read from the log), with pings, expiry and the slow-consumer disconnect.
//!
//! This module wires them: after the handshake it registers the connection with the hub,
//! sends the connect reply, and runs the reader and the writer side by side until either
//! ends. A connection reaches the rest of the server only through its [`Gateway`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::time::Duration;

use axum::extract::ws::WebSocket;
use futures_util::StreamExt;

use super::hub::{BusMessage, ConnHandle, Kill};
use super::protocol::{ClientInfo, ConnectData, ConnectResult, Disconnect, Reply, ReplyBody};
use super::{Realtime, queue};

mod commands;
mod gateway;
mod handshake;
mod rpc;
mod writer;

pub use gateway::Gateway;
pub use handshake::endpoint;
pub(crate) use rpc::rpc_error;

/// The server's name and version, as told in the connect and refresh replies.
const VERSION: &str = concat!("switchboard ", env!("CARGO_PKG_VERSION"));

/// A connection's whole life, from the upgraded socket. Every idle connection's task carries
/// this future's state, so it is built to hold only what the connection needs:
/// - the set-up (the handshake, the reads of memberships and session) is boxed: large, and done
///   with once connected (5.5 KB per task when it was not, see docs/performance.md);
/// - it is chained with combinators, not written as an `async fn`, and [`Ready::serve`] takes
///   its parts apart before its `async` block: an `async fn` keeps its arguments (the socket,
///   the gateway, the credentials; `self`) in its state for as long as it runs, even once they
///   have been moved on, and the task carried each of them twice.
fn run(
    socket: WebSocket,
    gateway: Gateway,
    credentials: handshake::Credentials,
) -> impl Future<Output = ()> + Send {
    use futures_util::FutureExt;
    use futures_util::future::Either;
    Box::pin(start(socket, gateway, credentials)).then(|ready| match ready {
        Some(ready) => Either::Left(ready.serve()),
        None => Either::Right(std::future::ready(())),
    })
}

/// A connection past its connect reply, ready to read commands and write pushes.
struct Ready {
    conn: commands::Conn,
    writer: writer::Writer,
    stream: futures_util::stream::SplitStream<WebSocket>,
    /// Commands that came in the connect's frame after it.
    rest: Vec<String>,
    kill: Arc<Kill>,
    _registered: Deregister,
}

impl Ready {
    /// Runs the reader and the writer side by side until either ends. Not an `async fn`: its
    /// block holds each part once (see [`run`]).
    fn serve(self) -> impl Future<Output = ()> + Send {
        let Ready { mut conn, writer, stream, rest, kill, _registered: registered } = self;
        // Both halves boxed where they are made: a future moved into `select!` takes a second
        // slot in this task's state, which every idle connection carries.
        let mut writer = Box::pin(writer.run());
        async move {
            let reading = Box::pin(conn.read(stream, rest));
            tokio::select! {
                () = &mut writer => {}
                () = reading => {
                    if kill.is_fired() {
                        // Let the writer say why before the socket goes.
                        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
                    }
                }
            }
            conn.cleanup();
            // Out of the hub's registry only now (named here, so the block holds it).
            drop(registered);
        }
    }
}

/// The handshake and the connect reply: the connection registered with the hub, or `None`
/// once it has been closed.
async fn start(
    mut socket: WebSocket,
    gateway: Gateway,
    credentials: handshake::Credentials,
) -> Option<Ready> {
    // Before the credentials are read: the hub vouches for what ended since (see below).
    let since = std::time::Instant::now();
    let connected = handshake::handshake(&mut socket, &gateway, &credentials).await?;
    let handshake::Connected { who, expires, id: connect_id, rest } = connected;
    let realtime = gateway.realtime().clone();
    let config = realtime.config.clone();
    let workspaces = match gateway.workspaces(&who).await {
        Ok(workspaces) => workspaces,
        Err(e) => {
            tracing::error!(error = %e, "cannot load memberships for a realtime connection");
            handshake::close(&mut socket, Disconnect::SERVER_ERROR).await;
            return None;
        }
    };
    let client: Arc<str> = uuid::Uuid::now_v7().to_string().into();
    let (tx, rx) = queue::channel(config.queue_capacity.max(16));
    let kill = Arc::new(Kill::default());
    let info = ClientInfo::new(
        who.user.id.to_string().into(),
        client.clone(),
        &serde_json::json!({ "name": who.user.name }),
    );
    let expires_at = Arc::new(AtomicI64::new(expires.unwrap_or(who.session_expires_at.timestamp())));
    let ttl = expires.map(|exp| (exp - switchboard::time::now().timestamp()).max(1));
    // Registered before the reply, so access that ends from now on reaches this socket; and
    // access that ended between the handshake's read and here is told by the hub, which
    // remembers the terminations it applied (each published after its change committed). Only
    // when the hub cannot vouch for that whole time is the session read again: the common
    // connect reads its credentials once (two reads fewer for a user token).
    let vouched = realtime.hub.register(&client, who.user.id, who.session_id, kill.clone(), since);
    let _registered = Deregister { realtime: realtime.clone(), client: client.clone() };
    if !vouched {
        match gateway.still_valid(&who).await {
            Ok(true) => {}
            Ok(false) => {
                handshake::close(&mut socket, Disconnect::SIGNED_OUT).await;
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the session of a realtime connection");
                handshake::close(&mut socket, Disconnect::SERVER_ERROR).await;
                return None;
            }
        }
    }
    if kill.is_fired() {
        let reason = kill.fired().await;
        handshake::close(&mut socket, reason).await;
        return None;
    }
    let reply = Reply::new(
        connect_id,
        ReplyBody::Connect(ConnectResult {
            client: &client,
            data: ConnectData { name: &who.user.name, user_id: who.user.id, workspaces: &workspaces },
            expires: ttl.is_some(),
            ping: config.ping_interval.as_secs().max(1),
            pong: true,
            ttl: ttl.unwrap_or(0),
            version: VERSION,
        }),
    );
    if socket.send(handshake::text(reply.encode())).await.is_err() {
        return None;
    }
    realtime.publish(BusMessage::Online {
        workspaces: workspaces.clone(),
        user: who.user.id,
        client: client.to_string(),
    });

    let (sink, stream) = socket.split();
    let pong = Arc::new(AtomicBool::new(true));
    let conn = commands::Conn {
        gateway: gateway.clone(),
        who,
        workspaces,
        handle: ConnHandle { client: client.clone(), tx, kill: kill.clone() },
        info,
        subs: Default::default(),
        pong: pong.clone(),
        expires_at: expires_at.clone(),
        typing: HashMap::new(),
        actors: HashMap::new(),
    };
    let writer = writer::Writer::new(sink, rx, kill.clone(), gateway, pong, expires_at);
    Some(Ready { conn, writer, stream, rest, kill, _registered })
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
