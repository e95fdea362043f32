//! Outgoing webhooks: endpoints a workspace registers to hear its events on its own backend,
//! and their deliveries. Signed and retried by the server; see `docs/embedding.md`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::EventKind;
use crate::ids::{EventId, UserId, WebhookId};
use crate::validate::ValidationError;

/// An endpoint as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    pub url: String,
    /// The event types it receives; `["*"]` for every type.
    pub events: Vec<String>,
    pub description: String,
    pub active: bool,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/webhook-endpoints`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateWebhook {
    /// `http(s)`, at most 2,048 characters. Addresses in private, loopback and link-local ranges
    /// are refused unless the operator allows them.
    pub url: String,
    /// Event types (`message.created`, …), or `["*"]` for all; at least one.
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// An endpoint just created: the only answer that carries its signing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The HMAC-SHA256 key of `Switchboard-Signature`. Shown once.
    pub secret: String,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up after retrying for a day (or refused outright); on the dead-letter list until
    /// sent again.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "dead" => Ok(DeliveryStatus::Dead),
            other => Err(format!("unknown delivery status `{other}`")),
        }
    }
}

/// One event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// The event's id: the `Switchboard-Id` header, stable across attempts.
    pub event_id: EventId,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed (a timeout, a refused address, …), if it did.
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The event types an endpoint may name: the logged ones (ephemeral typing and presence are
/// never logged, so never delivered), except a bot session's step-by-step stream (its start and
/// its end are delivered, from the workspace's inbox).
pub fn deliverable(kind: EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Typing
            | EventKind::PresenceOnline
            | EventKind::PresenceOffline
            | EventKind::SessionMessage
            | EventKind::SessionNodeExecuted
            | EventKind::SessionStatusChanged
            | EventKind::Mentioned
    )
}

impl CreateWebhook {
    /// The URL (trimmed) and the event types (deduplicated), checked. The address itself is
    /// checked by the server (it resolves names).
    pub fn validated(&self) -> Result<(String, Vec<String>), ValidationError> {
        let url = self.url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.len() > 2048 || url.chars().any(char::is_whitespace) {
            return Err(ValidationError::new("url", "must be an http(s) URL of at most 2048 characters"));
        }
        if self.description.chars().count() > 200 {
            return Err(ValidationError::new("description", "must be at most 200 characters"));
        }
        let mut events: Vec<String> = Vec::new();
        for name in &self.events {
            let known = name == "*" || name.parse::<EventKind>().is_ok_and(deliverable);
            if !known {
                return Err(ValidationError::new("events", format!("`{name}` is not an event type")));
            }
            if !events.contains(name) {
                events.push(name.clone());
            }
        }
        if events.is_empty() {
            return Err(ValidationError::new("events", "must name at least one event type, or \"*\""));
        }
        if events.iter().any(|e| e == "*") {
            events = vec!["*".to_owned()];
        }
        Ok((url.to_owned(), events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(url: &str, events: &[&str]) -> CreateWebhook {
        CreateWebhook {
            url: url.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            description: String::new(),
        }
    }

    #[test]
    fn endpoints_name_http_urls_and_known_logged_event_types() {
        let (url, events) = create(" https://hooks.example.com/sb ", &["message.created", "message.created"])
            .validated()
            .unwrap();
        assert_eq!(
            (url.as_str(), events),
            ("https://hooks.example.com/sb", vec!["message.created".to_owned()])
        );
        assert_eq!(create("http://x", &["message.created", "*"]).validated().unwrap().1, ["*"]);
        assert_eq!(create("ftp://x", &["*"]).validated().unwrap_err().field, "url");
        assert_eq!(create("https://x", &[]).validated().unwrap_err().field, "events");
        assert_eq!(create("https://x", &["typing"]).validated().unwrap_err().field, "events");
        assert_eq!(create("https://x", &["message.exploded"]).validated().unwrap_err().field, "events");
    }
}
