//! The realtime gateway: `/connection/websocket` speaking the Centrifugo client protocol v2
//! (JSON), topics authorized on every subscribe, recovery from the event log, presence,
//! typing, and the bus that carries events between nodes (in-process, or NATS).
//!
//! Events reach the gateway through the [`Bus`], which the store is built with as its
//! broker: every write that commits events hands them to it, so no write path can forget to
//! publish (see `serve.rs` for the wiring).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard::Store;

pub mod bus;
pub mod connection;
pub mod hub;
pub mod nats;
pub mod protocol;
pub mod queue;
pub mod topics;

pub use bus::Bus;
pub use hub::{BusMessage, Hub};
pub use nats::{NATS_SUBJECT, NatsOptions};

/// Settings of the gateway.
#[derive(Clone, Debug)]
pub struct RealtimeConfig {
    /// How often the server pings; a client that has not answered by the next ping is closed.
    pub ping_interval: Duration,
    /// Frames a connection may have waiting before it counts as slow and is disconnected.
    pub queue_capacity: usize,
    /// How many missed publications a subscribe may recover; further behind, the client is
    /// told to refetch (`recovered: false`).
    pub recovery_limit: u32,
    /// Lifetime of a token from `GET /api/v1/realtime/token`.
    pub token_ttl: Duration,
    /// How long a new socket may take to send `connect`.
    pub connect_timeout: Duration,
    /// Subscriptions per connection.
    pub max_subscriptions: usize,
    /// How long a connection waits for a publication that arrived out of order before reading
    /// the gap from the log.
    pub gap_wait: Duration,
    /// Largest incoming frame.
    pub max_frame_bytes: usize,
    /// Origins (`scheme://host[:port]`, normalized by [`origin_of`]) whose pages may connect
    /// with the session cookie: the public URL's and `--allowed-origins`. Token connects are
    /// open to every origin.
    pub allowed_origins: Vec<String>,
    /// Open WebSocket connections this node accepts; past it the upgrade is refused with 503.
    pub max_connections: usize,
}

impl RealtimeConfig {
    /// Whether a page of `origin` (an `Origin` header) may connect with the session cookie.
    pub fn allows_origin(&self, origin: &str) -> bool {
        origin_of(origin).is_some_and(|origin| self.allowed_origins.contains(&origin))
    }
}

/// The origin of a URL or `Origin` header in one spelling: lowercase scheme and host, no
/// default port, no path. `None` when it has no `scheme://host` (e.g. `null`).
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http" | "ws", Some((host, "80"))) | ("https" | "wss", Some((host, "443"))) => host.to_owned(),
        _ => authority,
    };
    (!scheme.is_empty() && !authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            queue_capacity: 1024,
            recovery_limit: 2000,
            token_ttl: Duration::from_secs(15 * 60),
            connect_timeout: Duration::from_secs(10),
            max_subscriptions: 512,
            gap_wait: Duration::from_millis(200),
            max_frame_bytes: 64 * 1024,
            allowed_origins: Vec::new(),
            max_connections: 20_000,
        }
    }
}

/// The gateway's shared state: the hub, the bus and the services commands call.
pub struct Realtime {
    pub hub: Arc<Hub>,
    pub config: RealtimeConfig,
    /// This process's id on the bus (its own messages come back from NATS and are skipped).
    pub node: String,
    bus: Arc<Bus>,
    store: Arc<dyn Store>,
    epoch: tokio::sync::OnceCell<String>,
    /// Open WebSocket connections (upgraded or upgrading), at most `config.max_connections`.
    open: Arc<AtomicUsize>,
}

/// One of the node's `max_connections` places, held by a WebSocket connection from its upgrade
/// until it ends; given back on drop, however the connection ends (a panic included: the
/// connection's task drops it while unwinding).
#[derive(Debug)]
pub struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime").field("node", &self.node).finish_non_exhaustive()
    }
}

impl Realtime {
    /// A gateway on `store`, delivering what `bus` carries (the bus `store` was built with).
    pub fn new(store: Arc<dyn Store>, bus: Arc<Bus>, config: RealtimeConfig) -> Arc<Self> {
        Arc::new(Self {
            hub: bus.hub().clone(),
            config,
            node: bus.node().to_owned(),
            bus,
            store,
            epoch: tokio::sync::OnceCell::new(),
            open: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The bus this gateway delivers from.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The log's epoch (read once).
    pub async fn epoch(&self) -> Result<String, switchboard::StoreError> {
        self.epoch.get_or_try_init(|| self.store.log_epoch()).await.cloned()
    }

    /// A place for one more WebSocket connection; `None` when `max_connections` are open.
    pub fn try_open(&self) -> Option<ConnectionSlot> {
        let before = self.open.fetch_add(1, Ordering::AcqRel);
        let slot = ConnectionSlot(self.open.clone());
        (before < self.config.max_connections).then_some(slot)
    }

    /// How many WebSocket connections are open (or being upgraded) on this node.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Tells every realtime client of this node that it shuts down: each connection is closed
    /// with 3001 `shutdown` (the SDKs reconnect, to another node behind the load balancer) and
    /// new ones are refused. Answers how many connected clients were told.
    pub fn shutdown(&self) -> usize {
        self.hub.shutdown()
    }

    /// Waits until every WebSocket connection of this node has ended (after
    /// [`Realtime::shutdown`], each has been sent its close frame by then).
    pub async fn closed(&self) {
        while self.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Delivers on this node at once and, with NATS, to every other node.
    pub fn publish(&self, message: BusMessage) {
        self.bus.send(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_in_one_spelling() {
        assert_eq!(
            origin_of("https://Chat.Example.com/inbox?x=1").as_deref(),
            Some("https://chat.example.com")
        );
        assert_eq!(origin_of("http://example.com:80").as_deref(), Some("http://example.com"));
        assert_eq!(origin_of("https://example.com:8443/").as_deref(), Some("https://example.com:8443"));
        assert_eq!(origin_of("null"), None);
        let config =
            RealtimeConfig { allowed_origins: vec!["https://chat.example.com".into()], ..Default::default() };
        assert!(config.allows_origin("https://chat.example.com"));
        assert!(config.allows_origin("https://chat.example.com:443"));
        assert!(!config.allows_origin("https://evil.example"));
        assert!(!config.allows_origin("http://chat.example.com"));
        assert!(!config.allows_origin("null"));
    }
}
