//! Channel runtimes: each connected channel runs as its own supervised task with its own event
//! stream. A runtime connects through its provider, follows the connection, and when it drops
//! (or the task panics) marks the channel `failed` and reconnects with exponential backoff.
//! Events of one channel never reach another's stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard::provider::{ChannelEvent, EventSink, Provider};
use switchboard::{Channel, ChannelId, ChannelStatus, Store};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::providers::Providers;

/// How runtimes retry.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeConfig {
    /// First wait after a failure; doubles each time.
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// Events buffered per subscriber before it lags.
    pub stream_capacity: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            stream_capacity: 1024,
        }
    }
}

/// One event of one channel's stream.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeEvent {
    pub channel_id: ChannelId,
    pub event: ChannelEvent,
}

struct Handle {
    events: broadcast::Sender<RuntimeEvent>,
    task: JoinHandle<()>,
}

/// The registry of running channels.
pub struct Runtimes {
    store: Arc<dyn Store>,
    providers: Providers,
    config: RuntimeConfig,
    running: Mutex<HashMap<ChannelId, Handle>>,
}

/// Feeds a provider's events into the runtime: to subscribers, and to the supervisor, which
/// watches for a dropped connection.
struct Sink {
    channel_id: ChannelId,
    events: broadcast::Sender<RuntimeEvent>,
    supervisor: mpsc::UnboundedSender<ChannelEvent>,
}

impl EventSink for Sink {
    fn emit(&self, event: ChannelEvent) {
        let _ = self.supervisor.send(event.clone());
        // No subscriber is not an error: the event is simply not watched.
        let _ = self.events.send(RuntimeEvent { channel_id: self.channel_id, event });
    }
}

impl Runtimes {
    pub fn new(store: Arc<dyn Store>, providers: Providers, config: RuntimeConfig) -> Self {
        Self { store, providers, config, running: Mutex::new(HashMap::new()) }
    }

    /// Starts (or restarts) the channel's runtime with these credentials.
    pub fn start(&self, channel: Channel, credentials: serde_json::Value) {
        let Some(provider) = self.providers.get(channel.provider).cloned() else {
            tracing::warn!(channel_id = %channel.id, "no provider for this channel; not started");
            return;
        };
        let mut running = self.running.lock().expect("runtime registry lock");
        let events = match running.remove(&channel.id) {
            Some(old) => {
                old.task.abort();
                old.events
            }
            None => broadcast::channel(self.config.stream_capacity).0,
        };
        let supervisor = Supervisor {
            store: self.store.clone(),
            provider,
            channel,
            credentials,
            events: events.clone(),
            config: self.config,
        };
        let id = supervisor.channel.id;
        let task = tokio::spawn(supervisor.run());
        running.insert(id, Handle { events, task });
    }

    /// Stops the channel's runtime (logout, delete). Does nothing if it is not running.
    pub async fn stop(&self, channel: &Channel) {
        let handle = self.running.lock().expect("runtime registry lock").remove(&channel.id);
        if let Some(handle) = handle {
            handle.task.abort();
            if let Some(provider) = self.providers.get(channel.provider) {
                provider.disconnect(channel).await;
            }
            let _ = handle.events.send(RuntimeEvent {
                channel_id: channel.id,
                event: ChannelEvent::Disconnected { reason: "stopped".into() },
            });
        }
    }

    /// The channel's event stream; `None` if it is not running.
    pub fn subscribe(&self, id: ChannelId) -> Option<broadcast::Receiver<RuntimeEvent>> {
        self.running.lock().expect("runtime registry lock").get(&id).map(|h| h.events.subscribe())
    }

    pub fn is_running(&self, id: ChannelId) -> bool {
        self.running.lock().expect("runtime registry lock").contains_key(&id)
    }

    /// Stops every runtime (shutdown).
    pub fn stop_all(&self) {
        for (_, handle) in self.running.lock().expect("runtime registry lock").drain() {
            handle.task.abort();
        }
    }
}

struct Supervisor {
    store: Arc<dyn Store>,
    provider: Arc<dyn Provider>,
    channel: Channel,
    credentials: serde_json::Value,
    events: broadcast::Sender<RuntimeEvent>,
    config: RuntimeConfig,
}

impl Supervisor {
    /// Connect, follow, and on failure mark `failed`, back off and try again, forever (until
    /// aborted by `stop`).
    async fn run(self) {
        let mut backoff = self.config.initial_backoff;
        loop {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let sink =
                Arc::new(Sink { channel_id: self.channel.id, events: self.events.clone(), supervisor: tx });
            let attempt = {
                let provider = self.provider.clone();
                let channel = self.channel.clone();
                let credentials = self.credentials.clone();
                // Its own task, so a panicking adapter is a failure here, not a dead runtime.
                tokio::spawn(async move { provider.connect(&channel, &credentials, sink).await }).await
            };
            let reason = match attempt {
                Ok(Ok(())) => {
                    self.set_status(ChannelStatus::Connected, None).await;
                    backoff = self.config.initial_backoff;
                    // Follow the connection until the provider reports it gone.
                    loop {
                        match rx.recv().await {
                            Some(ChannelEvent::Disconnected { reason }) => {
                                break format!("connection lost: {reason}");
                            }
                            Some(_) => continue,
                            None => break "connection closed".to_owned(),
                        }
                    }
                }
                Ok(Err(e)) => format!("cannot connect: {e}"),
                Err(join) if join.is_panic() => "the channel's adapter crashed".to_owned(),
                Err(_) => return,
            };
            tracing::warn!(channel_id = %self.channel.id, %reason, retry_in_ms = backoff.as_millis() as u64, "channel runtime failed");
            let _ = self.events.send(RuntimeEvent {
                channel_id: self.channel.id,
                event: ChannelEvent::Error { message: reason.clone() },
            });
            self.set_status(ChannelStatus::Failed, Some(reason)).await;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    async fn set_status(&self, status: ChannelStatus, error: Option<String>) {
        let at = switchboard::time::now();
        if let Err(e) =
            self.store.set_channel_status(self.channel.workspace_id, self.channel.id, status, error, at).await
        {
            tracing::error!(channel_id = %self.channel.id, error = %e, "cannot record the channel status");
        }
    }
}
