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
    /// Where this node's own inbound messages are told (the automatic assignment), once asked.
    inbound:
        OnceLock<tokio::sync::mpsc::UnboundedSender<(switchboard::WorkspaceId, switchboard::ConversationId)>>,
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
            inbound: OnceLock::new(),
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

    /// The conversations this node stores an inbound message in, from now on (for one
    /// listener: `None` once taken). Each commit is told on the node that made it, once.
    pub fn watch_inbound(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<(switchboard::WorkspaceId, switchboard::ConversationId)>>
    {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.inbound.set(tx).ok().map(|()| rx)
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
        if let Some(tell) = self.inbound.get() {
            for event in events {
                if let switchboard::EventBody::MessageCreated(m) = &event.body
                    && m.direction == switchboard::provider::Direction::Inbound
                {
                    let _ = tell.send((m.workspace_id, m.conversation_id));
                }
            }
        }
        for event in events {
            self.send(BusMessage::Event { event: event.clone() });
        }
    }
}
