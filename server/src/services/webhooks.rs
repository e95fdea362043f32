//! Outgoing webhooks: endpoints (owners, admins and server keys), and the worker that delivers
//! the rows the event log writes for them.
//!
//! - **Signed**: `POST` of the event's envelope (the `/sync` shape, media links minted at
//!   delivery) with `Switchboard-Id` (the event id, stable across attempts),
//!   `Switchboard-Timestamp` (Unix seconds) and `Switchboard-Signature: v1=<hex>`, the
//!   HMAC-SHA256 of `"{timestamp}.{body}"` under the endpoint's secret. The secret is derived
//!   from the server's key and the endpoint id, so it is shown once and never stored.
//! - **Never lost**: rows are written in each event's transaction; an attempt leases its row,
//!   so a crash only delays it. Retries back off from 30 s, doubling to an hour, for a day from
//!   the first attempt; then the row is dead until someone sends it again.
//! - **SSRF guard**: http(s) only; a host must resolve to public addresses only (loopback,
//!   private, link-local, CGNAT, multicast and reserved ranges are refused) unless the operator
//!   allows private targets; the request then goes to the very address that was checked.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use switchboard::store::{AttemptOutcome, DueDelivery, NewWebhook};
use switchboard::webhook::{CreateWebhook, CreatedWebhook, WebhookDelivery, WebhookEndpoint};
use switchboard::{EventId, Store, WebhookId};

use super::{Actor, ServiceError};
use crate::secret::SecretKey;

/// How deliveries are attempted.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Deliver to loopback and private addresses (tests, or endpoints on the operator's own
    /// network). Off by default.
    pub allow_private: bool,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The wait after the first failure; doubles after each, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a delivery is retried before it goes to the dead-letter list.
    pub retry_for: Duration,
    /// How often the worker looks for due deliveries when it found none.
    pub poll: Duration,
    /// Deliveries attempted at once.
    pub batch: u32,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(10),
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            retry_for: Duration::from_secs(24 * 3600),
            poll: Duration::from_secs(1),
            batch: 16,
        }
    }
}

/// What every endpoint secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

pub struct WebhookService {
    store: Arc<dyn Store>,
    media: Arc<crate::media::MediaService>,
    config: WebhookConfig,
    root: [u8; 32],
}

impl WebhookService {
    /// Whether outgoing requests may reach private addresses (the same rule serves push).
    pub fn allows_private(&self) -> bool {
        self.config.allow_private
    }

    pub fn new(
        store: Arc<dyn Store>,
        media: Arc<crate::media::MediaService>,
        secret: &SecretKey,
        config: WebhookConfig,
    ) -> Self {
        Self { store, media, config, root: secret.derive("webhook-secrets") }
    }

    /// The signing secret of endpoint `id`.
    pub fn secret(&self, id: WebhookId) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.root).expect("HMAC accepts any key length");
        mac.update(id.as_uuid().as_bytes());
        format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// Registers an endpoint; the answer is the only one with its secret.
    pub async fn create(&self, actor: Actor, req: CreateWebhook) -> Result<CreatedWebhook, ServiceError> {
        require_admin(actor)?;
        let (url, events) = req.validated()?;
        check_url(&url, self.config.allow_private).map_err(|e| {
            let why = match e {
                TargetError::Invalid(why) => why,
                _ => PRIVATE,
            };
            switchboard::validate::ValidationError::new("url", why)
        })?;
        let id = WebhookId::new();
        let endpoint = self
            .store
            .create_webhook(NewWebhook {
                id,
                workspace_id: actor.workspace_id,
                url,
                events,
                description: req.description.trim().to_owned(),
                created_by: Some(actor.user_id),
                created_at: switchboard::time::now(),
            })
            .await?;
        tracing::info!(workspace_id = %actor.workspace_id, webhook_id = %id, "webhook endpoint registered");
        Ok(CreatedWebhook { secret: self.secret(id), endpoint })
    }

    pub async fn list(&self, actor: Actor) -> Result<Vec<WebhookEndpoint>, ServiceError> {
        require_admin(actor)?;
        Ok(self.store.webhooks(actor.workspace_id).await?)
    }

    pub async fn delete(&self, actor: Actor, id: WebhookId) -> Result<(), ServiceError> {
        require_admin(actor)?;
        self.store
            .delete_webhook(actor.workspace_id, id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("webhook endpoint"))
    }

    /// An endpoint's recent deliveries, newest first.
    pub async fn deliveries(
        &self,
        actor: Actor,
        id: WebhookId,
        limit: Option<u32>,
    ) -> Result<Vec<WebhookDelivery>, ServiceError> {
        require_admin(actor)?;
        let limit = limit.unwrap_or(50).clamp(1, 200);
        self.store
            .webhook_deliveries(actor.workspace_id, id, limit)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("webhook endpoint"))
    }

    /// Sends a delivery again now (a dead one gets another day of retries).
    pub async fn redeliver(
        &self,
        actor: Actor,
        id: WebhookId,
        event: EventId,
    ) -> Result<WebhookDelivery, ServiceError> {
        require_admin(actor)?;
        self.store
            .redeliver(actor.workspace_id, id, event, switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("delivery"))
    }

    /// Delivers due rows until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        loop {
            let delivered = match self.deliver_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries could not be claimed");
                    0
                }
            };
            if delivered == 0 {
                tokio::time::sleep(self.config.poll).await;
            }
        }
    }

    /// One round: claims due deliveries and attempts them side by side. Answers how many.
    pub async fn deliver_due(&self) -> Result<usize, ServiceError> {
        let now = switchboard::time::now();
        let lease = now
            + chrono::TimeDelta::from_std(self.config.timeout * 3).unwrap_or(chrono::TimeDelta::minutes(1));
        let due = self.store.claim_deliveries(now, lease, self.config.batch).await?;
        let count = due.len();
        futures_util::stream::iter(due)
            .for_each_concurrent(None, |delivery| async move {
                let (endpoint, event) = (delivery.endpoint_id, delivery.event.id);
                let outcome = self.attempt(delivery).await;
                let name = match outcome {
                    AttemptOutcome::Delivered { .. } => "delivered",
                    AttemptOutcome::Retry { .. } => "retry",
                    AttemptOutcome::Dead { .. } => "dead",
                };
                crate::metrics::metrics()
                    .webhook_deliveries
                    .get_or_create(&crate::metrics::OutcomeLabels { outcome: name })
                    .inc();
                if let Err(e) = self.store.finish_delivery(endpoint, event, &outcome, switchboard::time::now()).await {
                    tracing::warn!(error = %e, webhook_id = %endpoint, "a delivery's outcome could not be recorded");
                }
            })
            .await;
        Ok(count)
    }

    async fn attempt(&self, delivery: DueDelivery) -> AttemptOutcome {
        let DueDelivery { endpoint_id, url, attempts, created_at, mut event } = delivery;
        let client = match client_for(&url, self.config.allow_private, self.config.timeout).await {
            Ok(client) => client,
            Err(TargetError::Lookup(e)) => {
                return self.retry(attempts, created_at, None, format!("lookup failed: {e}"));
            }
            Err(refused) => return AttemptOutcome::Dead { status: None, error: refused.to_string() },
        };
        self.media.links().sign_event(&mut event);
        let body = match serde_json::to_vec(&event) {
            Ok(body) => body,
            Err(e) => {
                return AttemptOutcome::Dead {
                    status: None,
                    error: format!("the event could not be written: {e}"),
                };
            }
        };
        let timestamp = switchboard::time::now().timestamp();
        let signature = sign(&self.secret(endpoint_id), timestamp, &body);
        let sent = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("switchboard-id", event.id.to_string())
            .header("switchboard-timestamp", timestamp.to_string())
            .header("switchboard-signature", format!("v1={signature}"))
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                AttemptOutcome::Delivered { status: response.status().as_u16() }
            }
            Ok(response) => {
                let status = response.status().as_u16();
                self.retry(attempts, created_at, Some(status), format!("the endpoint answered {status}"))
            }
            Err(e) if e.is_timeout() => self.retry(attempts, created_at, None, "timed out".to_owned()),
            Err(e) => {
                self.retry(attempts, created_at, None, format!("could not connect: {}", without_url(&e)))
            }
        }
    }

    /// Another attempt after the backoff, or the dead-letter list once a day has passed.
    fn retry(
        &self,
        attempts: u32,
        created_at: chrono::DateTime<chrono::Utc>,
        status: Option<u16>,
        error: String,
    ) -> AttemptOutcome {
        let wait = backoff(&self.config, attempts + 1);
        let next = switchboard::time::now()
            + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::hours(1));
        let give_up = created_at
            + chrono::TimeDelta::from_std(self.config.retry_for).unwrap_or(chrono::TimeDelta::days(1));
        if next > give_up {
            AttemptOutcome::Dead { status, error }
        } else {
            AttemptOutcome::Retry { status, error, next }
        }
    }
}

const PRIVATE: &str = "points to a private, loopback or reserved address";

/// The wait after the `failures`-th failed attempt: `first_backoff` doubling, capped.
pub fn backoff(config: &WebhookConfig, failures: u32) -> Duration {
    let doubled = config.first_backoff.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    doubled.min(config.max_backoff)
}

/// `hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`: what `Switchboard-Signature` carries
/// after `v1=`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A reqwest error's words without the URL (it may carry a secret in its query).
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = String::from("connection failed");
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

fn require_admin(actor: Actor) -> Result<(), ServiceError> {
    if actor.role.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("Only owners, admins and the workspace's API keys manage webhooks."))
    }
}

/// Why an outgoing request (a webhook, an API channel's callback) may not go where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// Not an http(s) URL with a host.
    Invalid(&'static str),
    /// It points to a private, loopback or reserved address, and those are not allowed.
    Private,
    /// The host did not resolve (try again later).
    Lookup(String),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::Invalid(why) => write!(f, "the URL {why}"),
            TargetError::Private => write!(f, "the URL {PRIVATE}"),
            TargetError::Lookup(e) => write!(f, "lookup failed: {e}"),
        }
    }
}

/// Checks a URL without resolving it: http(s), a host, and no literal private address unless
/// allowed. For registration; [`client_for`] checks again, resolved, before each request.
pub fn check_url(url: &str, allow_private: bool) -> Result<(), TargetError> {
    let target = Target::parse(url).map_err(TargetError::Invalid)?;
    if !allow_private && target.literal_ip().is_some_and(|ip| !is_public(ip)) {
        return Err(TargetError::Private);
    }
    Ok(())
}

/// A client that reaches `url`'s host only at the address checked here (so a name that
/// resolves elsewhere between the check and the request cannot slip through), follows no
/// redirect, and gives up after `timeout`.
pub async fn client_for(
    url: &str,
    allow_private: bool,
    timeout: Duration,
) -> Result<reqwest::Client, TargetError> {
    let target = Target::parse(url).map_err(TargetError::Invalid)?;
    let addr = match target.resolve(allow_private).await {
        Ok(addr) => addr,
        Err(Unreachable::Refused) => return Err(TargetError::Private),
        Err(Unreachable::Lookup(e)) => return Err(TargetError::Lookup(e)),
    };
    // The process's one crypto provider (as for the networks' client), before any client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .resolve(&target.host, addr)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TargetError::Lookup(e.to_string()))
}

/// Where a delivery goes: the URL's host and port.
struct Target {
    host: String,
    port: u16,
}

enum Unreachable {
    Refused,
    Lookup(String),
}

impl Target {
    fn parse(url: &str) -> Result<Target, &'static str> {
        let parsed = reqwest::Url::parse(url).map_err(|_| "is not a valid URL")?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("must be an http(s) URL");
        }
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or("has no host")?;
        let port = parsed.port_or_known_default().ok_or("has no port")?;
        Ok(Target { host: host.trim_start_matches('[').trim_end_matches(']').to_owned(), port })
    }

    fn literal_ip(&self) -> Option<IpAddr> {
        if self.host.eq_ignore_ascii_case("localhost") {
            return Some(IpAddr::from([127, 0, 0, 1]));
        }
        self.host.parse().ok()
    }

    /// The address to connect to: the first the host resolves to, once every one of them is
    /// public (or private targets are allowed).
    async fn resolve(&self, allow_private: bool) -> Result<SocketAddr, Unreachable> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| Unreachable::Lookup(e.to_string()))?
            .collect();
        if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(Unreachable::Refused);
        }
        addrs.first().copied().ok_or_else(|| Unreachable::Lookup("no address".to_owned()))
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// multicast, documentation, benchmarking or otherwise reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && (c == 0 || c == 2))
                || (a == 198 && (b == 18 || b == 19))
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_targets() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "240.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]
        {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn retries_back_off_doubling_to_the_cap() {
        let config = WebhookConfig::default();
        let waits: Vec<u64> = (1..=9).map(|n| backoff(&config, n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(&config, 500), Duration::from_secs(3600));
    }

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        let a = sign("whsec_k", 1_700_000_000, b"{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, sign("whsec_k", 1_700_000_001, b"{}"));
        assert_ne!(a, sign("whsec_k", 1_700_000_000, b"{ }"));
        assert_ne!(a, sign("whsec_j", 1_700_000_000, b"{}"));
    }

    #[test]
    fn targets_are_http_urls_with_a_host() {
        assert!(Target::parse("ftp://example.com").is_err());
        assert!(Target::parse("https://").is_err());
        let t = Target::parse("https://[::1]:8443/x").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert_eq!(
            Target::parse("http://localhost/x").unwrap().literal_ip(),
            Some(IpAddr::from([127, 0, 0, 1]))
        );
    }
}
