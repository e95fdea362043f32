//! Provider `api`: a channel for a network Switchboard does not know, plugged in by its
//! integrator (the seed's "JwtProvider"). In words: `docs/embedding.md`.
//!
//! - **Sign-in** ("token" on the auth page): the integrator's callback URL; the sign-in makes
//!   the channel's signing secret and shows it once.
//! - **Inbound**: the integrator posts messages and statuses to
//!   `POST /api/v1/channels/{id}/inbound` with a JWT (HS256 under the secret, `exp` at most five
//!   minutes ahead, a `jti` never used before) as the bearer token: see [`verify_inbound`].
//! - **Outbound**: agents' messages go through the outbox to the callback URL, signed like
//!   outgoing webhooks (`Switchboard-Signature: v1=hex(HMAC-SHA256(secret, "{ts}.{body}"))`);
//!   a 429 pauses the channel for its `Retry-After`, 5xx and timeouts are retried, other 4xx
//!   fail the message.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::provider::{
    AuthMethod, AuthProgress, AuthPrompt, AuthSubmission, ButtonLimits, Capabilities, ChannelEvent, Contact,
    DeliveryStatus, Direction, OutboundMessage, Provider, ProviderError, ProviderMessage, RateLimitScope,
    ShownOnce, TokenField,
};
use switchboard::validate::ValidationError;
use switchboard::{Channel, ProviderKind};

use crate::services::webhooks::{TargetError, check_url, client_for, sign};

/// What every channel secret starts with.
pub const SECRET_PREFIX: &str = "sbch_";
/// The longest life an inbound token may claim.
pub const MAX_TOKEN_LIFE_SECS: i64 = 300;
/// Most messages and statuses one inbound post may carry.
pub const MAX_ITEMS: usize = 100;
/// How long a callback may take.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(15);

/// The adapter. `allow_private`: callbacks may go to loopback and private addresses (the
/// operator's `--webhooks-allow-private`).
#[derive(Debug, Default)]
pub struct ApiChannel {
    allow_private: bool,
    /// The prompt each channel's sign-in shows until it is answered (the auth page reloads the
    /// state every second and must find it).
    prompts: std::sync::Mutex<std::collections::HashMap<switchboard::ChannelId, AuthPrompt>>,
}

impl ApiChannel {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private, prompts: Default::default() }
    }
}

/// A channel's kept credentials.
#[derive(Debug, Deserialize)]
struct Credentials {
    callback_url: String,
    secret: String,
}

fn credentials_of(credentials: Option<&Value>) -> Result<Credentials, ProviderError> {
    credentials.and_then(|c| serde_json::from_value(c.clone()).ok()).ok_or_else(|| {
        ProviderError::Unauthorized { message: "the channel has no callback yet: sign it in".into() }
    })
}

/// Why an inbound post's token was refused; each has its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundRefusal {
    /// Missing, malformed, or not signed with the channel's secret.
    Invalid,
    Expired,
    /// `exp` more than five minutes ahead.
    TooLong,
    /// No `jti`.
    NoJti,
}

impl InboundRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            InboundRefusal::Invalid => "invalid_token",
            InboundRefusal::Expired => "token_expired",
            InboundRefusal::TooLong => "token_lifetime",
            InboundRefusal::NoJti => "invalid_token",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            InboundRefusal::Invalid => {
                "The bearer token is missing, malformed or not signed with this channel's secret."
            }
            InboundRefusal::Expired => "The token has expired: sign a new one for each post.",
            InboundRefusal::TooLong => "The token's exp may be at most 300 seconds ahead.",
            InboundRefusal::NoJti => "The token needs a jti claim (a unique id per token).",
        }
    }
}

/// A verified inbound token: its id and expiry, for the replay check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundToken {
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct InboundClaims {
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
}

/// Verifies an inbound post's bearer token against the channel's kept credentials.
pub fn verify_inbound(
    credentials: Option<&Value>,
    bearer: Option<&str>,
) -> Result<InboundToken, InboundRefusal> {
    let secret = credentials_of(credentials).map_err(|_| InboundRefusal::Invalid)?.secret;
    let token = bearer.ok_or(InboundRefusal::Invalid)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let claims = jsonwebtoken::decode::<InboundClaims>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => InboundRefusal::Expired,
            _ => InboundRefusal::Invalid,
        })?
        .claims;
    let now = switchboard::time::now().timestamp();
    if claims.exp > now + MAX_TOKEN_LIFE_SECS {
        return Err(InboundRefusal::TooLong);
    }
    let jti = claims.jti.filter(|j| !j.is_empty() && j.len() <= 128).ok_or(InboundRefusal::NoJti)?;
    let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(InboundRefusal::Invalid)?;
    Ok(InboundToken { jti, expires_at })
}

/// An inbound post.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Inbound {
    #[serde(default)]
    messages: Vec<InboundMessage>,
    #[serde(default)]
    statuses: Vec<InboundStatus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundMessage {
    /// The integrator's id of the message (deduplicates retries).
    id: String,
    /// Who wrote it: the integrator's id of the contact.
    from: String,
    #[serde(default)]
    name: Option<String>,
    text: String,
    #[serde(default)]
    sent_at: Option<DateTime<Utc>>,
    #[serde(default)]
    reply_to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundStatus {
    /// The id the callback answered for the message (or its `id` field when it answered none).
    id: String,
    status: DeliveryStatus,
    #[serde(default)]
    error: Option<String>,
}

fn invalid(field: &str, why: &str) -> ProviderError {
    ProviderError::Invalid(ValidationError::new(field, why))
}

fn bounded(field: &str, value: &str, max: usize) -> Result<(), ProviderError> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(invalid(field, &format!("must be 1 to {max} characters")));
    }
    Ok(())
}

#[async_trait]
impl Provider for ApiChannel {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Api
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            auth_methods: vec![AuthMethod::Token],
            presence: false,
            history: false,
            webhook_driven: true,
            pairing_needs_phone: false,
            reply_window_secs: None,
            templates: false,
            read_receipts: false,
            reactions: false,
            edits: false,
            delivery_receipts: true,
            linking_methods: Vec::new(),
            buttons: Some(ButtonLimits { max: 10, max_label: 80 }),
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), ValidationError> {
        match config {
            Value::Null => Ok(()),
            Value::Object(map) if map.is_empty() => Ok(()),
            _ => Err(ValidationError::new("config", "API channels take their callback URL at sign-in")),
        }
    }

    fn reveal_once(&self, credentials: &Value) -> Option<ShownOnce> {
        let secret = credentials.get("secret")?.as_str()?;
        Some(ShownOnce {
            label: "Signing secret (inbound tokens and callback signatures)".into(),
            value: secret.into(),
        })
    }

    async fn start_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&Value>,
        method: AuthMethod,
        _phone: Option<&str>,
    ) -> Result<AuthPrompt, ProviderError> {
        if method != AuthMethod::Token {
            return Err(invalid("method", "API channels sign in with their callback URL"));
        }
        let field = TokenField {
            name: "callback_url".into(),
            label: "Callback URL (where agents' messages are posted)".into(),
            placeholder: "https://example.com/switchboard/outbound".into(),
            masked: false,
        };
        let prompt = AuthPrompt::Token { fields: vec![field] };
        self.prompts.lock().unwrap_or_else(|e| e.into_inner()).insert(channel.id, prompt.clone());
        Ok(prompt)
    }

    async fn submit_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&Value>,
        submission: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError> {
        let url = submission.token_field("callback_url", true)?;
        if url.len() > 2048 {
            return Err(invalid("callback_url", "must be at most 2048 characters"));
        }
        check_url(&url, self.allow_private).map_err(|e| invalid("callback_url", &e.to_string()))?;
        let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
        let credentials = json!({ "callback_url": url, "secret": secret });
        self.prompts.lock().unwrap_or_else(|e| e.into_inner()).remove(&channel.id);
        Ok(AuthProgress::Authenticated { credentials, identity: None })
    }

    async fn auth_progress(&self, channel: &Channel, _credentials: Option<&Value>) -> AuthProgress {
        match self.prompts.lock().unwrap_or_else(|e| e.into_inner()).get(&channel.id) {
            Some(prompt) => AuthProgress::Pending(prompt.clone()),
            None => AuthProgress::Idle,
        }
    }

    async fn logout(&self, channel: &Channel, _credentials: Option<&Value>) -> Result<(), ProviderError> {
        self.prompts.lock().unwrap_or_else(|e| e.into_inner()).remove(&channel.id);
        Ok(())
    }

    async fn send(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        let Credentials { callback_url, secret } = credentials_of(credentials)?;
        if !message.media.is_empty() {
            return Err(ProviderError::Permanent { message: "API channels carry text only".into() });
        }
        let body = serde_json::to_vec(&json!({
            "id": message.idempotency_key,
            "channel_id": channel.id,
            "to": message.contact_id,
            "text": message.text,
            "reply_to": message.reply_to,
            "buttons": message.buttons,
        }))
        .map_err(|e| ProviderError::Permanent { message: e.to_string() })?;
        let client = match client_for(&callback_url, self.allow_private, CALLBACK_TIMEOUT).await {
            Ok(client) => client,
            Err(TargetError::Lookup(e)) => {
                return Err(ProviderError::Retryable {
                    message: format!("lookup failed: {e}"),
                    after_secs: None,
                });
            }
            Err(refused) => return Err(ProviderError::Permanent { message: refused.to_string() }),
        };
        let timestamp = switchboard::time::now().timestamp();
        let response = client
            .post(&callback_url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("switchboard-id", &message.idempotency_key)
            .header("switchboard-timestamp", timestamp.to_string())
            .header("switchboard-signature", format!("v1={}", sign(&secret, timestamp, &body)))
            .body(body)
            .send()
            .await
            .map_err(|e| ProviderError::Retryable {
                message: if e.is_timeout() {
                    "the callback timed out".into()
                } else {
                    "the callback could not be reached".into()
                },
                after_secs: None,
            })?;
        let status = response.status();
        if status.as_u16() == 429 {
            let after = crate::providers::http::retry_after(response.headers()).unwrap_or(30);
            return Err(ProviderError::RateLimited {
                scope: RateLimitScope::Channel,
                retry_after_secs: after,
            });
        }
        if status.is_server_error() || status.as_u16() == 408 {
            return Err(ProviderError::Retryable {
                message: format!("the callback answered {status}"),
                after_secs: None,
            });
        }
        if !status.is_success() {
            return Err(ProviderError::Permanent {
                message: format!("the callback refused the message ({status})"),
            });
        }
        // The integrator's id for the message, if it answered one; else ours.
        let answered: Option<Value> = response.json().await.ok();
        let id = answered
            .as_ref()
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && id.len() <= 256)
            .map(str::to_owned);
        Ok(id.unwrap_or(message.idempotency_key))
    }

    fn verify_webhook(
        &self,
        _channel: &Channel,
        _credentials: Option<&Value>,
        _headers: &[(String, String)],
        _body: &[u8],
    ) -> Result<(), ProviderError> {
        // Inbound posts come to `/api/v1/channels/{id}/inbound`, verified by `verify_inbound`.
        Err(ProviderError::Permanent { message: "API channels post to /api/v1/channels/{id}/inbound".into() })
    }

    fn parse_webhook(&self, _channel: &Channel, body: &[u8]) -> Result<Vec<ChannelEvent>, ProviderError> {
        let inbound: Inbound = serde_json::from_slice(body)
            .map_err(|e| ProviderError::Invalid(ValidationError::new("body", e.to_string())))?;
        if inbound.messages.len() + inbound.statuses.len() > MAX_ITEMS {
            return Err(invalid("messages", "at most 100 messages and statuses per post"));
        }
        let mut events = Vec::new();
        let contacts: Vec<Contact> = inbound
            .messages
            .iter()
            .filter_map(|m| {
                m.name.as_ref().map(|name| Contact { external_id: m.from.clone(), name: name.clone() })
            })
            .collect();
        for contact in &contacts {
            bounded("name", &contact.name, 200)?;
        }
        if !contacts.is_empty() {
            events.push(ChannelEvent::ContactsUpdated { contacts });
        }
        for m in inbound.messages {
            bounded("id", &m.id, 256)?;
            bounded("from", &m.from, 128)?;
            if m.text.chars().count() > 4096 {
                return Err(invalid("text", "must be at most 4096 characters"));
            }
            events.push(ChannelEvent::MessageReceived {
                message: ProviderMessage {
                    external_id: m.id,
                    contact_id: m.from,
                    direction: Direction::Inbound,
                    text: m.text,
                    sent_at: m.sent_at.unwrap_or_else(switchboard::time::now),
                    media: Vec::new(),
                    reply_to: m.reply_to,
                    sender_name: None,
                },
            });
        }
        for s in inbound.statuses {
            bounded("id", &s.id, 256)?;
            events.push(ChannelEvent::MessageStatus { external_id: s.id, status: s.status, error: s.error });
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(secret: &str, claims: Value) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
    }

    #[test]
    fn inbound_tokens_are_short_lived_signed_and_carry_an_id() {
        let creds = json!({"callback_url": "https://x.example/cb", "secret": "sbch_s"});
        let now = switchboard::time::now().timestamp();
        let ok = token("sbch_s", json!({"exp": now + 60, "jti": "a1"}));
        assert_eq!(verify_inbound(Some(&creds), Some(&ok)).unwrap().jti, "a1");
        let cases = [
            (token("sbch_other", json!({"exp": now + 60, "jti": "a"})), InboundRefusal::Invalid),
            (token("sbch_s", json!({"exp": now - 1, "jti": "a"})), InboundRefusal::Expired),
            (token("sbch_s", json!({"exp": now + 301, "jti": "a"})), InboundRefusal::TooLong),
            (token("sbch_s", json!({"exp": now + 60})), InboundRefusal::NoJti),
            (token("sbch_s", json!({"jti": "a"})), InboundRefusal::Invalid),
        ];
        for (token, refusal) in cases {
            assert_eq!(verify_inbound(Some(&creds), Some(&token)).unwrap_err(), refusal);
        }
        assert_eq!(verify_inbound(None, Some(&ok)).unwrap_err(), InboundRefusal::Invalid);
        assert_eq!(verify_inbound(Some(&creds), None).unwrap_err(), InboundRefusal::Invalid);
    }

    #[test]
    fn inbound_posts_become_contacts_messages_and_statuses() {
        let channel_body = json!({
            "messages": [{"id": "m1", "from": "c9", "name": "Carla", "text": "hi"}],
            "statuses": [{"id": "o1", "status": "delivered"}]
        });
        let channel: Channel = serde_json::from_value(json!({
            "id": switchboard::ChannelId::new(), "workspace_id": switchboard::WorkspaceId::new(), "provider": "api",
            "name": "x", "status": "connected", "config": {}, "last_error": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let events =
            ApiChannel::default().parse_webhook(&channel, channel_body.to_string().as_bytes()).unwrap();
        assert_eq!(events.len(), 3);
        assert!(
            matches!(&events[0], ChannelEvent::ContactsUpdated { contacts } if contacts[0].name == "Carla")
        );
        assert!(matches!(&events[1], ChannelEvent::MessageReceived { message } if message.text == "hi"));
        assert!(matches!(&events[2], ChannelEvent::MessageStatus { status: DeliveryStatus::Delivered, .. }));
        let too_many = json!({"statuses": (0..101).map(|i| json!({"id": i.to_string(), "status": "read"})).collect::<Vec<_>>()});
        assert!(ApiChannel::default().parse_webhook(&channel, too_many.to_string().as_bytes()).is_err());
        assert!(ApiChannel::default().parse_webhook(&channel, br#"{"mesages": []}"#).is_err());
    }
}
