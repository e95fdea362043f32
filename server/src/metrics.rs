//! The process's metrics, exposed by `GET /metrics` in the Prometheus text format.
//!
//! Counters and histograms are recorded where things happen (the hub, the send queue, the
//! webhook worker, the HTTP layer, the supervisor); gauges that are cheaper to read than to
//! track (connections, subscriptions, the outbox's backlog) are read when scraped. One set per
//! process: every [`crate::http::AppState`] of a process shares them, so a test reads what
//! changed between two scrapes rather than absolute values.
//!
//! The endpoint is guarded: with `SWITCHBOARD_METRICS_TOKEN` set, a request must carry it as a
//! bearer token; without, only a direct loopback peer is answered (a request carrying a
//! forwarding header came through a proxy and is refused). The README's *Metrics* lists them.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::http::{ApiError, AppState};

/// A channel's outbox rows.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    pub workspace_id: String,
    pub channel_id: String,
}

/// How a webhook delivery attempt ended: `delivered`, `retry` or `dead`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

/// An HTTP request: the route pattern (never the raw path, which can carry ids and tokens),
/// the method and the status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

/// A supervised task, by name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabels {
    pub task: &'static str,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    pub connections: Gauge,
    pub subscriptions: Gauge,
    pub deliveries: Counter,
    pub slow_disconnects: Counter,
    /// Times this node may have missed the other nodes' messages and closed its connections.
    pub link_resyncs: Counter,
    /// A send queued for the write → its group committed.
    pub send_commit: Histogram,
    /// A message's event (stamped when its write began) → handed to this node's first
    /// subscriber.
    pub send_delivery: Histogram,
    pub write_group_size: Histogram,
    pub outbox_depth: Family<ChannelLabels, Gauge>,
    pub outbox_oldest_seconds: Family<ChannelLabels, Gauge<f64, AtomicU64>>,
    pub webhook_deliveries: Family<OutcomeLabels, Counter>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub task_restarts: Family<TaskLabels, Counter>,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Latency buckets: 0.5 ms to ~16 s, doubling.
fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0005, 2.0, 16)
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let connections = Gauge::default();
        registry.register("connections", "Open realtime connections on this node", connections.clone());
        let subscriptions = Gauge::default();
        registry.register(
            "subscriptions",
            "Topic subscriptions of this node's connections",
            subscriptions.clone(),
        );
        let deliveries = Counter::default();
        registry.register("deliveries", "Publications handed to a connection's queue", deliveries.clone());
        let slow_disconnects = Counter::default();
        registry.register(
            "slow_consumer_disconnects",
            "Connections closed because their queue was full",
            slow_disconnects.clone(),
        );
        let link_resyncs = Counter::default();
        registry.register(
            "nats_resyncs",
            "Times the NATS link dropped (or fell behind) and this node closed its connections to read their access again",
            link_resyncs.clone(),
        );
        let send_commit = Histogram::new(latency_buckets());
        registry.register(
            "send_commit_seconds",
            "From a send queued for the write to its group's commit",
            send_commit.clone(),
        );
        let send_delivery = Histogram::new(latency_buckets());
        registry.register(
            "send_delivery_seconds",
            "From a message's write to its first delivery on this node",
            send_delivery.clone(),
        );
        let write_group_size = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        registry.register("write_group_size", "Sends written per group commit", write_group_size.clone());
        let outbox_depth = Family::default();
        registry.register(
            "outbox_depth",
            "Outgoing messages not yet taken by the network, per channel",
            outbox_depth.clone(),
        );
        let outbox_oldest_seconds = Family::default();
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest outgoing message not yet taken by the network, per channel",
            outbox_oldest_seconds.clone(),
        );
        let webhook_deliveries = Family::default();
        registry.register(
            "webhook_deliveries",
            "Outgoing webhook attempts by outcome",
            webhook_deliveries.clone(),
        );
        let http_requests = Family::default();
        registry.register("http_requests", "HTTP requests by route and status", http_requests.clone());
        let task_restarts = Family::default();
        registry.register("task_restarts", "Supervised tasks restarted after a panic", task_restarts.clone());
        Metrics {
            registry,
            connections,
            subscriptions,
            deliveries,
            slow_disconnects,
            link_resyncs,
            send_commit,
            send_delivery,
            write_group_size,
            outbox_depth,
            outbox_oldest_seconds,
            webhook_deliveries,
            http_requests,
            task_restarts,
        }
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware: counts every request by its route pattern and status.
pub async fn count_requests(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let labels = HttpLabels { method, route, status: response.status().as_u16() };
    metrics().http_requests.get_or_create(&labels).inc();
    response
}

/// `GET /metrics`.
pub async fn get_metrics(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|ConnectInfo(addr)| *addr);
    allowed(&state, peer, request.headers())?;
    let m = metrics();
    m.connections.set(state.realtime.hub.live() as i64);
    m.subscriptions.set(state.realtime.hub.subscription_count() as i64);
    match state.store.outbox_backlog(switchboard::time::now()).await {
        Ok(backlog) => {
            m.outbox_depth.clear();
            m.outbox_oldest_seconds.clear();
            for row in backlog {
                let labels = ChannelLabels {
                    workspace_id: row.workspace_id.to_string(),
                    channel_id: row.channel_id.to_string(),
                };
                m.outbox_depth.get_or_create(&labels).set(row.depth as i64);
                m.outbox_oldest_seconds.get_or_create(&labels).set(row.oldest_age.as_secs_f64());
            }
        }
        // The rest is still worth answering; the backlog keeps its last reading.
        Err(e) => tracing::warn!(error = %e, "the outbox backlog could not be read for /metrics"),
    }
    let body = m.encode();
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
        .into_response())
}

/// The guard: the configured bearer token, else a direct loopback peer.
fn allowed(
    state: &AppState,
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let refused = |message: &str| ApiError::new(StatusCode::FORBIDDEN, "metrics_forbidden", message);
    if let Some(token) = state.http.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        return if crate::crypto::constant_time_eq(given.as_bytes(), token.as_bytes()) {
            Ok(())
        } else {
            Err(refused("The metrics need the metrics token as a bearer token."))
        };
    }
    let proxied = headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
    match peer {
        Some(addr) if addr.ip().is_loopback() && !proxied => Ok(()),
        _ => Err(refused(
            "The metrics answer loopback only; set SWITCHBOARD_METRICS_TOKEN to read them from elsewhere.",
        )),
    }
}
