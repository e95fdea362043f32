//! WhatsApp on a linked device through the Whapi.Cloud gateway (`whapi`): an ordinary WhatsApp
//! or WhatsApp Business app number, linked like WhatsApp Web on the gateway. Signing in takes
//! two steps on the one auth page: the gateway channel's API token, then linking the phone by QR
//! or pairing code. Messages and statuses arrive by webhook (registered with the gateway on
//! connect, carrying a per-channel secret); the runtime follows the session's health and imports
//! the phone's recent chats. What any gateway of this kind shares is in [`super::linked`].
//!
//! Config: `api_base_url` ([`DEFAULT_API_BASE_URL`], or a test fake), `history_chats` and
//! `history_messages` (how far back the import reaches, 50 × 50), `health_interval_secs` (30),
//! `rate_limit_retry_secs` (the pause after a limit that names no time, 30). Credentials
//! (sealed, never shown): `token`, and `webhook_secret` (made here when the token is accepted).

pub mod api;
mod send;
#[cfg(test)]
mod tests;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::provider::{
    AuthHint, AuthMethod, AuthProgress, AuthPrompt, AuthSubmission, Capabilities, ChannelEvent, ConfigField,
    EventSink, OutboundMessage, Provider, ProviderError, ProviderMessage, TokenField,
};
use switchboard::validate::ValidationError;
use switchboard::{Channel, ChannelId, ChannelStatus, ProviderKind};

use super::linked::{self, Chat, Gateway, HistoryLimits, LinkState};
pub use api::{NOT_LINKED, TOKEN_REFUSED, map_error};

/// The gateway's public host.
pub const DEFAULT_API_BASE_URL: &str = "https://gate.whapi.cloud";
/// How long a pairing code is offered before the page asks for a new one.
pub const PAIRING_CODE_SECS: i64 = 180;
/// The largest file sent through the gateway (WhatsApp's documents: 100 MB).
pub const MAX_MEDIA_BYTES: usize = 100 * 1024 * 1024;

/// A channel's settings.
#[derive(Clone, Debug, Deserialize)]
pub struct WhapiConfig {
    #[serde(default = "default_base")]
    pub api_base_url: String,
    #[serde(default = "default_fifty")]
    pub history_chats: usize,
    #[serde(default = "default_fifty")]
    pub history_messages: usize,
    #[serde(default = "default_thirty")]
    pub health_interval_secs: u64,
    #[serde(default = "default_thirty")]
    pub rate_limit_retry_secs: u64,
}

fn default_base() -> String {
    DEFAULT_API_BASE_URL.into()
}
fn default_fifty() -> usize {
    50
}
fn default_thirty() -> u64 {
    30
}

impl WhapiConfig {
    pub fn of(config: &Value) -> Result<Self, ValidationError> {
        let config: WhapiConfig = serde_json::from_value(config.clone())
            .map_err(|e| ValidationError::new("config", format!("Whapi settings: {e}")))?;
        let base = config.api_base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if parsed.is_none() || base.contains('?') || base.contains('#') {
            return Err(ValidationError::new("config.api_base_url", "is an http(s) URL"));
        }
        if config.history_chats > 500 {
            return Err(ValidationError::new("config.history_chats", "is 0 to 500 chats"));
        }
        if config.history_messages > 500 {
            return Err(ValidationError::new("config.history_messages", "is 0 to 500 messages a chat"));
        }
        if !(1..=3_600).contains(&config.health_interval_secs) {
            return Err(ValidationError::new("config.health_interval_secs", "is 1 to 3600 seconds"));
        }
        if !(1..=86_400).contains(&config.rate_limit_retry_secs) {
            return Err(ValidationError::new("config.rate_limit_retry_secs", "is 1 to 86400 seconds"));
        }
        Ok(config)
    }

    fn limits(&self) -> HistoryLimits {
        HistoryLimits { chats: self.history_chats, messages: self.history_messages }
    }
}

/// The sealed credentials.
#[derive(Clone, Deserialize)]
struct Credentials {
    token: String,
    webhook_secret: String,
}

fn config_of(channel: &Channel) -> Result<WhapiConfig, ProviderError> {
    Ok(WhapiConfig::of(&channel.config)?)
}

fn credentials_of(credentials: Option<&Value>) -> Result<Credentials, ProviderError> {
    credentials
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .ok_or_else(|| ProviderError::Unauthorized { message: TOKEN_REFUSED.into() })
}

/// A sign-in under way, per channel.
#[derive(Clone, Debug)]
enum Flow {
    /// Step 1: waiting for the token.
    Token,
    /// Step 2 by QR: the one shown (renewed when it expires).
    Qr(AuthPrompt),
    /// Step 2 by pairing code.
    Code(AuthPrompt),
}

/// The adapter: the sign-ins under way; everything else comes with each call.
pub struct Whapi {
    flows: Mutex<HashMap<ChannelId, Flow>>,
    /// Where this server is reached (the webhook URL given to the gateway).
    public_url: String,
}

impl Whapi {
    pub fn new(public_url: &str) -> Self {
        Self { flows: Mutex::default(), public_url: public_url.trim_end_matches('/').to_owned() }
    }

    fn token_prompt() -> AuthPrompt {
        AuthPrompt::Token {
            fields: vec![TokenField::secret("token", "Channel API token", "from the Whapi.Cloud dashboard")],
        }
    }

    fn flow(&self, id: ChannelId) -> Option<Flow> {
        self.flows.lock().expect("whapi lock").get(&id).cloned()
    }

    fn set_flow(&self, id: ChannelId, flow: Option<Flow>) {
        let mut flows = self.flows.lock().expect("whapi lock");
        match flow {
            Some(flow) => flows.insert(id, flow),
            None => flows.remove(&id),
        };
    }

    /// The gateway's settings that deliver this channel's events here.
    pub fn webhook_settings(&self, channel_id: ChannelId, secret: &str) -> Value {
        let event = |kind: &str, method: &str| json!({ "type": kind, "method": method });
        json!({
            "webhooks": [{
                "url": format!("{}/webhooks/whapi/{channel_id}", self.public_url),
                "mode": "body",
                "events": [
                    event("messages", "post"), event("messages", "patch"), event("messages", "delete"),
                    event("statuses", "post"), event("statuses", "put"), event("channel", "post"),
                ],
                "headers": { webhook::SECRET_HEADER: secret },
            }],
            "callback_persist": true,
        })
    }

    /// A fresh QR prompt from the gateway (`None`: the phone is linked already).
    async fn qr_prompt(&self, api: &api::Api<'_>) -> Result<Option<AuthPrompt>, ProviderError> {
        let Some(qr) = api.login_qr().await? else { return Ok(None) };
        let value = qr.rowdata.filter(|v| !v.is_empty()).ok_or_else(|| ProviderError::Retryable {
            message: format!("the gateway has no QR yet ({})", qr.status),
            after_secs: Some(2),
        })?;
        let expires_at = switchboard::time::now()
            + chrono::Duration::seconds(qr.expire.unwrap_or(20).clamp(1, 300) as i64);
        Ok(Some(AuthPrompt::Qr { value, expires_at }))
    }
}

/// The gateway as [`linked`] sees it.
struct WhapiGateway {
    config: WhapiConfig,
    token: String,
}

impl WhapiGateway {
    fn api(&self) -> api::Api<'_> {
        api::Api { config: &self.config, token: &self.token }
    }
}

#[async_trait]
impl Gateway for WhapiGateway {
    async fn link_state(&self) -> Result<LinkState, ProviderError> {
        Ok(self.api().health().await?.link_state())
    }

    async fn chats(&self, limit: usize) -> Result<Vec<Chat>, ProviderError> {
        let chats = self.api().chats(limit).await?;
        Ok(chats
            .iter()
            .filter_map(|c| {
                let id = c.get("id")?.as_str()?.to_owned();
                // Broadcast lists, channels and statuses are not conversations.
                let kind = c.get("type").and_then(Value::as_str).unwrap_or("contact");
                if !matches!(kind, "contact" | "group") {
                    return None;
                }
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.trim().is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| id.split('@').next().unwrap_or(&id).to_owned());
                Some(Chat { id, name })
            })
            .take(limit)
            .collect())
    }

    async fn chat_messages(
        &self,
        chat_id: &str,
        limit: usize,
    ) -> Result<Vec<ProviderMessage>, ProviderError> {
        let raw = self.api().chat_messages(chat_id, limit, None).await?;
        Ok(raw.iter().filter_map(webhook::provider_message).take(limit).collect())
    }
}

fn expired(at: DateTime<Utc>) -> bool {
    at <= switchboard::time::now()
}

#[async_trait]
impl Provider for Whapi {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Whapi
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            auth_methods: vec![AuthMethod::Token],
            presence: false,
            history: true,
            // Messages arrive by webhook, but the runtime runs: it follows the session's
            // health and imports the history.
            webhook_driven: false,
            pairing_needs_phone: true,
            reply_window_secs: None,
            templates: false,
            read_receipts: true,
            reactions: true,
            edits: true,
            delivery_receipts: true,
            linking_methods: vec![AuthMethod::Qr, AuthMethod::PairingCode],
            buttons: None,
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), ValidationError> {
        WhapiConfig::of(config).map(drop)
    }

    fn config_fields(&self) -> Vec<ConfigField> {
        let field = |name: &str, label: &str, placeholder: &str| ConfigField {
            name: name.into(),
            label: label.into(),
            placeholder: placeholder.into(),
            required: false,
        };
        vec![
            field("api_base_url", "Gateway URL", DEFAULT_API_BASE_URL),
            field("history_chats", "Chats to import on linking", "50"),
            field("history_messages", "Messages to import per chat", "50"),
        ]
    }

    fn auth_hint(&self, prompt: &AuthPrompt) -> Option<AuthHint> {
        let text = match prompt {
            AuthPrompt::Token { .. } => {
                "Step 1 of 2: the channel's API token, from the Whapi.Cloud dashboard (Channels › your channel). \
                 Then link the phone by QR or pairing code."
            }
            AuthPrompt::Qr { .. } => {
                "Step 2 of 2: on the phone, open WhatsApp › Settings › Linked devices › Link a device, and scan this code."
            }
            AuthPrompt::PairingCode { .. } => {
                "Step 2 of 2: on the phone, open WhatsApp › Settings › Linked devices › Link a device › \
                 Link with phone number instead, and type this code."
            }
            AuthPrompt::Otp { .. } => return None,
        };
        Some(AuthHint { text: text.into(), link: None })
    }

    async fn start_auth(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        method: AuthMethod,
        phone: Option<&str>,
    ) -> Result<AuthPrompt, ProviderError> {
        let config = config_of(channel)?;
        if method == AuthMethod::Token {
            self.set_flow(channel.id, Some(Flow::Token));
            return Ok(Self::token_prompt());
        }
        let credentials = credentials_of(credentials)
            .map_err(|_| ValidationError::new("method", "give the channel's API token first"))?;
        let api = api::Api { config: &config, token: &credentials.token };
        let prompt = match method {
            AuthMethod::Qr => {
                let prompt = self.qr_prompt(&api).await?.ok_or_else(|| {
                    ValidationError::new("method", "the phone is already linked on this gateway channel")
                })?;
                self.set_flow(channel.id, Some(Flow::Qr(prompt.clone())));
                prompt
            }
            AuthMethod::PairingCode => {
                let digits: String = phone.unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
                if !(7..=15).contains(&digits.len()) {
                    return Err(
                        ValidationError::new("phone", "is the phone's number with its country code").into()
                    );
                }
                let code = api.login_code(&digits).await?;
                let expires_at = switchboard::time::now() + chrono::Duration::seconds(PAIRING_CODE_SECS);
                let prompt = AuthPrompt::PairingCode { code, expires_at };
                self.set_flow(channel.id, Some(Flow::Code(prompt.clone())));
                prompt
            }
            _ => {
                return Err(ValidationError::new("method", "this gateway links by QR or pairing code").into());
            }
        };
        Ok(prompt)
    }

    async fn submit_auth(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        submission: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError> {
        let config = config_of(channel)?;
        let token = submission.token_field("token", true)?;
        let api = api::Api { config: &config, token: &token };
        let health = match api.health().await {
            Ok(health) => health,
            Err(ProviderError::Unauthorized { .. } | ProviderError::Permanent { .. }) => {
                return Ok(AuthProgress::Failed(
                    "The gateway refused this token: copy the channel's API token from the Whapi.Cloud dashboard and try again."
                        .into(),
                ));
            }
            Err(other) => return Err(other),
        };
        // A new token keeps the webhook secret the channel already had.
        let secret = credentials_of(credentials)
            .map(|c| c.webhook_secret)
            .unwrap_or_else(|_| hex::encode(rand::random::<[u8; 24]>()));
        let credentials = json!({ "token": token, "webhook_secret": secret });
        match health.link_state() {
            LinkState::Authorized(identity) => {
                self.set_flow(channel.id, None);
                Ok(AuthProgress::Authenticated { credentials, identity: Some(identity) })
            }
            LinkState::Stopped(why) => Ok(AuthProgress::Failed(why)),
            _ => {
                self.set_flow(channel.id, None);
                Ok(AuthProgress::NextStep { credentials, methods: self.capabilities().linking_methods })
            }
        }
    }

    async fn auth_progress(&self, channel: &Channel, credentials: Option<&Value>) -> AuthProgress {
        let flow = self.flow(channel.id);
        let (Ok(config), Ok(creds)) = (config_of(channel), credentials_of(credentials)) else {
            return match flow {
                Some(Flow::Token) => AuthProgress::Pending(Self::token_prompt()),
                _ => AuthProgress::Idle,
            };
        };
        if matches!(flow, Some(Flow::Token)) {
            return AuthProgress::Pending(Self::token_prompt());
        }
        let api = api::Api { config: &config, token: &creds.token };
        let linking = || AuthProgress::NextStep {
            credentials: credentials.cloned().unwrap_or_default(),
            methods: self.capabilities().linking_methods,
        };
        let state = match api.health().await {
            Ok(health) => health.link_state(),
            Err(ProviderError::Unauthorized { message }) => return AuthProgress::Failed(message),
            Err(e) => {
                tracing::warn!(channel_id = %channel.id, error = %e, "the gateway's session state is unavailable");
                return match flow {
                    Some(Flow::Qr(prompt) | Flow::Code(prompt)) => AuthProgress::Pending(prompt),
                    _ => linking(),
                };
            }
        };
        match (state, flow) {
            (LinkState::Authorized(identity), _) => {
                self.set_flow(channel.id, None);
                AuthProgress::Authenticated {
                    credentials: credentials.cloned().unwrap_or_default(),
                    identity: Some(identity),
                }
            }
            (LinkState::Stopped(why), _) => {
                self.set_flow(channel.id, None);
                AuthProgress::Failed(why)
            }
            (_, Some(Flow::Qr(AuthPrompt::Qr { expires_at, .. }))) if expired(expires_at) => {
                // The QR expired unscanned: the gateway makes the next one.
                match self.qr_prompt(&api).await {
                    Ok(Some(prompt)) => {
                        self.set_flow(channel.id, Some(Flow::Qr(prompt.clone())));
                        AuthProgress::Pending(prompt)
                    }
                    Ok(None) => linking(),
                    Err(e) => {
                        tracing::warn!(channel_id = %channel.id, error = %e, "cannot renew the QR");
                        AuthProgress::Expired
                    }
                }
            }
            (_, Some(Flow::Code(AuthPrompt::PairingCode { expires_at, .. }))) if expired(expires_at) => {
                self.set_flow(channel.id, None);
                AuthProgress::Expired
            }
            (_, Some(Flow::Qr(prompt) | Flow::Code(prompt))) => AuthProgress::Pending(prompt),
            (_, _)
                if channel.status == ChannelStatus::PendingAuth
                    || channel.status == ChannelStatus::Disconnected =>
            {
                linking()
            }
            _ => AuthProgress::Idle,
        }
    }

    async fn logout(&self, channel: &Channel, credentials: Option<&Value>) -> Result<(), ProviderError> {
        self.set_flow(channel.id, None);
        let (Ok(config), Ok(credentials)) = (config_of(channel), credentials_of(credentials)) else {
            return Ok(());
        };
        // The session ends on the gateway too; a token it refuses has nothing left to end.
        match (api::Api { config: &config, token: &credentials.token }).logout().await {
            Ok(()) | Err(ProviderError::Unauthorized { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn connect(
        &self,
        channel: &Channel,
        credentials: &Value,
        cursor: Option<&str>,
        sink: Arc<dyn EventSink>,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let creds = credentials_of(Some(credentials))?;
        let api = api::Api { config: &config, token: &creds.token };
        api.set_webhook(&self.webhook_settings(channel.id, &creds.webhook_secret)).await?;
        tracing::info!(channel_id = %channel.id, "webhook registered with the gateway");
        let gateway: Arc<dyn Gateway> =
            Arc::new(WhapiGateway { config: config.clone(), token: creds.token.clone() });
        let interval = Duration::from_secs(config.health_interval_secs);
        let imported = cursor == Some(linked::HISTORY_IMPORTED);
        tokio::spawn(linked::watch(gateway, sink, interval, config.limits(), imported));
        Ok(())
    }

    async fn load_history(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        contact_id: &str,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ProviderMessage>, ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { config: &config, token: &credentials.token };
        // The gateway's `time_to` includes its second: a second earlier is strictly before.
        let time_to = before.map(|b| b.timestamp() - 1);
        let raw = api.chat_messages(contact_id, limit, time_to).await?;
        Ok(raw.iter().filter_map(webhook::provider_message).take(limit).collect())
    }

    async fn send(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { config: &config, token: &credentials.token };
        let mut message = message;
        message.text = crate::providers::whatsapp_cloud::whatsapp_text(&message.text);
        if !message.media.is_empty() {
            return self.send_media(&api, message).await;
        }
        let mut body = json!({ "to": message.contact_id, "body": message.text });
        if let Some(quoted) = &message.reply_to {
            body["quoted"] = json!(quoted);
        }
        api.send("text", &body).await
    }

    async fn mark_read(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        external_id: &str,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { config: &config, token: &credentials.token };
        api.on_message(reqwest::Method::PUT, external_id, "", None).await
    }

    async fn react(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        _contact_id: &str,
        external_id: &str,
        emoji: &str,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { config: &config, token: &credentials.token };
        if emoji.is_empty() {
            api.on_message(reqwest::Method::DELETE, external_id, "/reaction", None).await
        } else {
            api.on_message(reqwest::Method::PUT, external_id, "/reaction", Some(&json!({ "emoji": emoji })))
                .await
        }
    }

    async fn edit(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        contact_id: &str,
        external_id: &str,
        text: &str,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { config: &config, token: &credentials.token };
        api.send("text", &json!({ "to": contact_id, "body": crate::providers::whatsapp_cloud::whatsapp_text(text), "edit": external_id })).await.map(drop)
    }

    async fn delete(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        _contact_id: &str,
        external_id: &str,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { config: &config, token: &credentials.token };
        api.on_message(reqwest::Method::DELETE, external_id, "", None).await
    }

    async fn fetch_media(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        source: &str,
    ) -> Result<Vec<u8>, ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        api::Api { config: &config, token: &credentials.token }.download(source).await
    }

    fn verify_webhook(
        &self,
        _channel: &Channel,
        credentials: Option<&Value>,
        headers: &[(String, String)],
        _body: &[u8],
    ) -> Result<(), ProviderError> {
        let credentials = credentials_of(credentials)
            .map_err(|_| ProviderError::Permanent { message: "the channel is not signed in".into() })?;
        webhook::verify_secret(&credentials.webhook_secret, headers)
    }

    fn parse_webhook(&self, channel: &Channel, body: &[u8]) -> Result<Vec<ChannelEvent>, ProviderError> {
        let was_linked = matches!(channel.status, ChannelStatus::Connected | ChannelStatus::Degraded);
        webhook::parse(body, was_linked)
    }
}
