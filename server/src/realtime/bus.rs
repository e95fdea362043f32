//! The bus: how what happens reaches every subscriber, on this node and on the others.
//!
//! The [`Bus`] is built first (in `serve.rs`) and handed to the store as its
//! [`Broker`]: every write gives it the events it committed, and it delivers them to this
//! node's hub at once. With NATS (see [`super::nats`]) it also carries them, and the
//! messages that are not stored (typing, presence, access ended), to the other nodes.

use std::sync::{Arc, OnceLock};

use switchboard::Event;
use switchboard::store::Broker;

use super::hub::{BusMessage, Hub};
use super::nats::Link;

/// This node's end of the bus.
pub struct Bus {
    hub: Arc<Hub>,
    /// This process's id on the bus (its own messages come back from NATS and are skipped).
    node: String,
    nats: OnceLock<Arc<Link>>,
    /// Who hears of this node's own new inbound messages and notes (the automatic assignment,
    /// notifications).
    listeners: std::sync::Mutex<Vec<tokio::sync::mpsc::UnboundedSender<switchboard::Message>>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("node", &self.node).field("nats", &self.nats.get().is_some()).finish()
    }
}

impl Bus {
    /// A bus delivering on this node only (until [`super::nats::connect`] links it to the other nodes).
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            hub: Arc::new(Hub::new()),
            node: uuid::Uuid::now_v7().simple().to_string(),
            nats: OnceLock::new(),
            listeners: Default::default(),
        })
    }

    /// The hub this bus delivers to.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// This node's id on the bus.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The link to the other nodes, once connected.
    pub fn nats(&self) -> Option<&Arc<Link>> {
        self.nats.get()
    }

    pub(super) fn set_nats(&self, link: Arc<Link>) -> anyhow::Result<()> {
        self.nats.set(link).map_err(|_| anyhow::anyhow!("NATS is already connected"))
    }

    /// The messages this node stores (inbound, outbound and notes), from now on: each commit
    /// is told on the node that made it, once, to every listener.
    pub fn watch_messages(&self) -> tokio::sync::mpsc::UnboundedReceiver<switchboard::Message> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(tx);
        rx
    }

    /// Delivers on this node at once and, with NATS, to every other node.
    pub fn send(&self, message: BusMessage) {
        self.hub.apply(&message);
        if let Some(link) = self.nats.get() {
            link.forward(message);
        }
    }
}

impl Broker for Bus {
    fn publish(&self, events: &[Event]) {
        let mut listeners = self.listeners.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !listeners.is_empty() {
            for event in events {
                if let switchboard::EventBody::MessageCreated(m) = &event.body {
                    listeners.retain(|tell| tell.send(m.clone()).is_ok());
                }
            }
        }
        drop(listeners);
        for event in events {
            self.send(BusMessage::Event { event: event.clone() });
        }
    }
}
