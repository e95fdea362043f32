//! Telegram's Bot API (`telegram`): a bot signed in by its BotFather token, its chats (private
//! and groups) answered from the inbox. Updates arrive by webhook when this server has an
//! HTTPS public URL, else by long polling from the channel's runtime, resuming after the last
//! update recorded.
//!
//! Config: `api_base_url` (`https://api.telegram.org`, or a test fake), `mode` (`auto`,
//! `webhook`, `polling`), `poll_timeout_secs` (25). Credentials (sealed, never shown): `token`,
//! `webhook_secret` (what Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`).

mod api;
#[cfg(test)]
mod tests;
pub mod updates;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::media::AttachmentKind;
use switchboard::provider::{
    AuthHint, AuthMethod, AuthProgress, AuthPrompt, AuthSubmission, ButtonLimits, Capabilities, ChannelEvent,
    ConfigField, EventSink, OutboundMedia, OutboundMessage, Provider, ProviderError, TokenField,
};
use switchboard::validate::ValidationError;
use switchboard::{Channel, ChannelId, ProviderKind};

pub use api::{TOKEN_REVOKED, map_error};

/// Telegram's API host.
pub const DEFAULT_API_BASE_URL: &str = "https://api.telegram.org";
/// How long one `getUpdates` waits for news.
pub const DEFAULT_POLL_TIMEOUT_SECS: u64 = 25;
/// The update types the bot asks for.
const ALLOWED_UPDATES: [&str; 4] = ["message", "edited_message", "my_chat_member", "message_reaction"];

/// How updates reach the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A webhook when the public URL is HTTPS (Telegram calls only HTTPS), else polling.
    #[default]
    Auto,
    Webhook,
    Polling,
}

/// A channel's settings.
#[derive(Clone, Debug, Deserialize)]
pub struct BotConfig {
    #[serde(default = "default_base")]
    pub api_base_url: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default = "default_poll_timeout")]
    pub poll_timeout_secs: u64,
}

fn default_base() -> String {
    DEFAULT_API_BASE_URL.into()
}
fn default_poll_timeout() -> u64 {
    DEFAULT_POLL_TIMEOUT_SECS
}

impl BotConfig {
    pub fn of(config: &Value) -> Result<Self, ValidationError> {
        let config = if config.is_null() { json!({}) } else { config.clone() };
        let config: BotConfig = serde_json::from_value(config)
            .map_err(|e| ValidationError::new("config", format!("Telegram settings: {e}")))?;
        let base = config.api_base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if parsed.is_none() || base.contains('?') || base.contains('#') {
            return Err(ValidationError::new("config.api_base_url", "is an http(s) URL"));
        }
        if !(1..=50).contains(&config.poll_timeout_secs) {
            return Err(ValidationError::new("config.poll_timeout_secs", "is 1 to 50 seconds"));
        }
        Ok(config)
    }
}

/// The documented token shape: the bot's id, a colon, and its secret
/// (`123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw`).
pub fn token_shape_ok(token: &str) -> bool {
    let Some((id, secret)) = token.split_once(':') else { return false };
    (5..=16).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_digit())
        && (30..=64).contains(&secret.len())
        && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Deserialize)]
struct Credentials {
    token: String,
    #[serde(default)]
    webhook_secret: String,
}

fn credentials_of(credentials: Option<&Value>) -> Result<Credentials, ProviderError> {
    credentials
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .ok_or_else(|| ProviderError::Unauthorized { message: TOKEN_REVOKED.into() })
}

fn config_of(channel: &Channel) -> Result<BotConfig, ProviderError> {
    Ok(BotConfig::of(&channel.config)?)
}

/// The adapter: the token prompts under way, and what each connected channel runs.
pub struct Telegram {
    public_url: String,
    prompts: Mutex<HashMap<ChannelId, AuthPrompt>>,
    /// A connected channel's poller (polling) or held sink (webhook).
    running: Mutex<HashMap<ChannelId, Running>>,
}

enum Running {
    Polling(tokio::task::JoinHandle<()>),
    /// Telegram calls us; the sink is held so the runtime stays connected until stopped.
    Webhook {
        _sink: Arc<dyn EventSink>,
    },
}

impl Telegram {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            prompts: Mutex::default(),
            running: Mutex::default(),
        }
    }

    fn uses_webhook(&self, config: &BotConfig) -> bool {
        match config.mode {
            Mode::Webhook => true,
            Mode::Polling => false,
            Mode::Auto => self.public_url.starts_with("https://"),
        }
    }

    fn stop(&self, id: ChannelId) {
        if let Some(Running::Polling(task)) = self.running.lock().expect("telegram lock").remove(&id) {
            task.abort();
        }
    }
}

/// Reads updates with `getUpdates` until aborted: each batch's events, then where to resume.
/// Errors back off (1 s doubling to 60 s; a 429 waits what it says); a revoked token ends the
/// connection with the words to sign in again.
async fn poll(config: BotConfig, token: String, mut offset: Option<i64>, sink: Arc<dyn EventSink>) {
    let api = api::Api { base: &config.api_base_url, token: &token };
    let wait = Duration::from_secs(config.poll_timeout_secs);
    let mut backoff = Duration::from_secs(1);
    loop {
        if sink.is_closed() {
            return;
        }
        let mut body = json!({ "timeout": config.poll_timeout_secs, "allowed_updates": ALLOWED_UPDATES });
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        match api.call_waiting::<Vec<Value>>("getUpdates", &body, wait).await {
            Ok(batch) => {
                let mut last = None;
                for update in &batch {
                    for event in updates::events(update) {
                        sink.emit(event);
                    }
                    last = update.get("update_id").and_then(Value::as_i64).or(last);
                }
                let next = last.map(|last| last + 1);
                if let Some(next) = next {
                    sink.emit(ChannelEvent::Cursor { value: next.to_string() });
                }
                // The next call confirms this batch to Telegram: only once all of it is
                // recorded. Otherwise the same updates are read again (recording them twice
                // changes nothing).
                if sink.settled().await {
                    offset = next.or(offset);
                    backoff = Duration::from_secs(1);
                } else if !sink.is_closed() {
                    tracing::warn!(
                        retry_in_ms = backoff.as_millis() as u64,
                        "Telegram updates not recorded; reading them again"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
            Err(ProviderError::Unauthorized { message }) => {
                sink.emit(ChannelEvent::Disconnected { reason: message });
                return;
            }
            Err(ProviderError::RateLimited { retry_after_secs, .. }) => {
                tokio::time::sleep(Duration::from_secs(retry_after_secs.min(3600))).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "Telegram polling failed");
                sink.emit(ChannelEvent::Error { message: e.to_string() });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// The longest caption Telegram takes.
const MAX_CAPTION_CHARS: usize = 1024;

/// The Bot API method and field an attachment goes out by.
fn send_method(kind: AttachmentKind) -> (&'static str, &'static str) {
    match kind {
        AttachmentKind::Image => ("sendPhoto", "photo"),
        AttachmentKind::Video => ("sendVideo", "video"),
        AttachmentKind::Audio => ("sendAudio", "audio"),
        AttachmentKind::Voice => ("sendVoice", "voice"),
        AttachmentKind::Sticker => ("sendSticker", "sticker"),
        _ => ("sendDocument", "document"),
    }
}

/// A text message's body in Telegram's terms: the markdown subset becomes plain text and its
/// entities (never a `parse_mode`, so nothing in the text needs escaping).
fn text_body(chat_id: &str, text: &str) -> Value {
    let (plain, entities) = switchboard::markdown::to_telegram(text);
    let mut body = json!({ "chat_id": chat_id, "text": plain });
    if !entities.is_empty() {
        body["entities"] = json!(entities);
    }
    body
}

/// Quick-reply buttons as a reply keyboard: pressing one sends its label as the contact's own
/// message (seen in the chat, read like any answer), and the keyboard folds away after one
/// press. A few short labels share a row; others get a row each.
fn reply_keyboard(labels: &[String]) -> Value {
    let one_row = labels.len() <= 3 && labels.iter().all(|l| l.chars().count() <= 16);
    let button = |l: &String| json!({ "text": l });
    let rows: Vec<Vec<Value>> = match one_row {
        true => vec![labels.iter().map(button).collect()],
        false => labels.iter().map(|l| vec![button(l)]).collect(),
    };
    json!({ "keyboard": rows, "one_time_keyboard": true, "resize_keyboard": true })
}

/// A sent message's external id.
fn sent_id(sent: &Value) -> Result<String, ProviderError> {
    match (sent.pointer("/chat/id").and_then(Value::as_i64), sent.get("message_id").and_then(Value::as_i64)) {
        (Some(chat), Some(id)) => Ok(updates::external_id(chat, id)),
        // Accepted, but not named: sending again would deliver it twice.
        _ => Err(ProviderError::Permanent {
            message: "Telegram accepted the message without naming it".into(),
        }),
    }
}

async fn send_media(api: &api::Api<'_>, message: OutboundMessage) -> Result<String, ProviderError> {
    let reply = message.reply_to.as_deref().and_then(updates::message_id_of);
    let mut caption = (!message.text.trim().is_empty()).then_some(message.text.clone());
    let mut first = None;
    // Captions carry at most 1,024 characters: a longer text follows as a message of its own.
    if caption.as_ref().is_some_and(|c| c.chars().count() > MAX_CAPTION_CHARS) {
        let body = text_body(&message.contact_id, &caption.take().unwrap_or_default());
        let sent: Value = api.call("sendMessage", &body).await?;
        first.get_or_insert(sent_id(&sent)?);
    }
    for OutboundMedia { attachment, bytes } in message.media {
        let reply_parameters =
            reply.map(|id| json!({ "message_id": id, "allow_sending_without_reply": true }));
        let sent: Value = match attachment.kind {
            AttachmentKind::Location => {
                let place = attachment.location.clone().ok_or_else(|| ProviderError::Permanent {
                    message: "a place without coordinates".into(),
                })?;
                let body = json!({ "chat_id": message.contact_id, "latitude": place.latitude, "longitude": place.longitude,
                                   "reply_parameters": reply_parameters });
                api.call("sendLocation", &body).await?
            }
            AttachmentKind::Contact => {
                let card = attachment.contact.clone().unwrap_or_else(|| switchboard::media::ContactCard {
                    name: attachment.file_name.clone(),
                    phones: Vec::new(),
                });
                let phone = card.phones.first().cloned().unwrap_or_default();
                let body = json!({ "chat_id": message.contact_id, "phone_number": phone, "first_name": card.name,
                                   "reply_parameters": reply_parameters });
                api.call("sendContact", &body).await?
            }
            kind => {
                let (method, field) = send_method(kind);
                let part = reqwest::multipart::Part::bytes(bytes)
                    .file_name(attachment.file_name.clone())
                    .mime_str(&attachment.mime_type)
                    .map_err(|e| ProviderError::Permanent {
                        message: format!("unsendable file type: {e}"),
                    })?;
                let mut form = reqwest::multipart::Form::new()
                    .text("chat_id", message.contact_id.clone())
                    .part(field, part);
                if kind != AttachmentKind::Sticker
                    && let Some(text) = caption.take()
                {
                    let (plain, entities) = switchboard::markdown::to_telegram(&text);
                    form = form.text("caption", plain);
                    if !entities.is_empty() {
                        form = form.text("caption_entities", json!(entities).to_string());
                    }
                }
                if let Some(parameters) = reply_parameters {
                    form = form.text("reply_parameters", parameters.to_string());
                }
                api.call_form(method, form).await?
            }
        };
        first.get_or_insert(sent_id(&sent)?);
    }
    if let Some(text) = caption {
        let body = text_body(&message.contact_id, &text);
        let sent: Value = api.call("sendMessage", &body).await?;
        first.get_or_insert(sent_id(&sent)?);
    }
    first.ok_or_else(|| ProviderError::Permanent { message: "nothing to send".into() })
}

#[async_trait]
impl Provider for Telegram {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Telegram
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            auth_methods: vec![AuthMethod::Token],
            presence: false,
            history: false,
            // A runtime runs either way: it polls, or registers the webhook.
            webhook_driven: false,
            pairing_needs_phone: false,
            reply_window_secs: None,
            templates: false,
            read_receipts: false,
            // A bot reacts with one of Telegram's standard emoji (👍 ❤ 🔥 …); it sees reactions
            // in private chats, and in groups where it is an administrator.
            reactions: true,
            edits: true,
            delivery_receipts: false,
            linking_methods: Vec::new(),
            buttons: Some(ButtonLimits { max: 10, max_label: 80 }),
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), ValidationError> {
        BotConfig::of(config).map(drop)
    }

    fn config_fields(&self) -> Vec<ConfigField> {
        vec![
            ConfigField {
                name: "api_base_url".into(),
                label: "Bot API base URL".into(),
                placeholder: DEFAULT_API_BASE_URL.into(),
                required: false,
            },
            ConfigField {
                name: "mode".into(),
                label: "Receive by (auto, webhook or polling)".into(),
                placeholder: "auto".into(),
                required: false,
            },
        ]
    }

    fn auth_hint(&self, _prompt: &AuthPrompt) -> Option<AuthHint> {
        Some(AuthHint {
            text: "Ask @BotFather on Telegram: /newbot creates a bot and gives its token (/token shows it \
                   again). Updates arrive by webhook when this server has an HTTPS address, else by polling."
                .into(),
            link: None,
        })
    }

    async fn start_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        method: AuthMethod,
        _phone: Option<&str>,
    ) -> Result<AuthPrompt, ProviderError> {
        if method != AuthMethod::Token {
            return Err(ValidationError::new("method", "Telegram bots sign in with their token").into());
        }
        config_of(channel)?;
        let prompt = AuthPrompt::Token {
            fields: vec![TokenField::secret(
                "token",
                "Bot token",
                "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            )],
        };
        self.prompts.lock().expect("telegram lock").insert(channel.id, prompt.clone());
        Ok(prompt)
    }

    async fn submit_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        submission: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError> {
        let config = config_of(channel)?;
        let token = submission.token_field("token", true)?;
        if !token_shape_ok(&token) {
            return Err(ValidationError::new(
                "token",
                "A bot token looks like 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw (from @BotFather)",
            )
            .into());
        }
        let api = api::Api { base: &config.api_base_url, token: &token };
        let me: Value = match api.call("getMe", &json!({})).await {
            Ok(me) => me,
            Err(ProviderError::Unauthorized { .. }) => {
                return Ok(AuthProgress::Failed(
                    "Telegram does not know this token: it was revoked or mistyped. Ask @BotFather for it again.".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        self.prompts.lock().expect("telegram lock").remove(&channel.id);
        let identity = switchboard::channel::ChannelIdentity {
            number: me.get("username").and_then(Value::as_str).map(|u| format!("@{u}")),
            name: me.get("first_name").and_then(Value::as_str).map(str::to_owned),
        };
        let secret: String = (0..32).map(|_| format!("{:x}", rand::random::<u8>() % 16)).collect();
        let credentials = json!({ "token": token, "webhook_secret": secret });
        Ok(AuthProgress::Authenticated { credentials, identity: Some(identity) })
    }

    async fn auth_progress(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> AuthProgress {
        match self.prompts.lock().expect("telegram lock").get(&channel.id) {
            Some(prompt) => AuthProgress::Pending(prompt.clone()),
            None => AuthProgress::Idle,
        }
    }

    async fn logout(&self, channel: &Channel, credentials: Option<&Value>) -> Result<(), ProviderError> {
        self.prompts.lock().expect("telegram lock").remove(&channel.id);
        self.stop(channel.id);
        self.running.lock().expect("telegram lock").remove(&channel.id);
        let (Ok(config), Ok(credentials)) = (config_of(channel), credentials_of(credentials)) else {
            return Ok(());
        };
        let api = api::Api { base: &config.api_base_url, token: &credentials.token };
        match api.call::<Value>("deleteWebhook", &json!({})).await {
            // A revoked token has no webhook left to delete.
            Ok(_) | Err(ProviderError::Unauthorized { .. }) => Ok(()),
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
        let credentials = credentials_of(Some(credentials))?;
        let api = api::Api { base: &config.api_base_url, token: &credentials.token };
        self.stop(channel.id);
        if self.uses_webhook(&config) {
            let url = format!("{}/webhooks/telegram/{}", self.public_url, channel.id);
            let body = json!({ "url": url, "secret_token": credentials.webhook_secret, "allowed_updates": ALLOWED_UPDATES });
            api.call::<Value>("setWebhook", &body).await?;
            self.running.lock().expect("telegram lock").insert(channel.id, Running::Webhook { _sink: sink });
            return Ok(());
        }
        // Polling and a webhook exclude each other on Telegram's side.
        api.call::<Value>("deleteWebhook", &json!({})).await?;
        let offset = cursor.and_then(|c| c.parse::<i64>().ok());
        let task = tokio::spawn(poll(config, credentials.token, offset, sink));
        self.running.lock().expect("telegram lock").insert(channel.id, Running::Polling(task));
        Ok(())
    }

    async fn disconnect(&self, channel: &Channel) {
        self.stop(channel.id);
        self.running.lock().expect("telegram lock").remove(&channel.id);
    }

    async fn send(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { base: &config.api_base_url, token: &credentials.token };
        if !message.media.is_empty() {
            return send_media(&api, message).await;
        }
        let mut body = text_body(&message.contact_id, &message.text);
        if let Some(id) = message.reply_to.as_deref().and_then(updates::message_id_of) {
            body["reply_parameters"] = json!({ "message_id": id, "allow_sending_without_reply": true });
        }
        if !message.buttons.is_empty() {
            body["reply_markup"] = reply_keyboard(&message.buttons);
        }
        let sent: Value = api.call("sendMessage", &body).await?;
        sent_id(&sent)
    }

    async fn react(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        contact_id: &str,
        external_id: &str,
        emoji: &str,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let id = updates::message_id_of(external_id)
            .ok_or_else(|| ProviderError::Permanent { message: "not a Telegram message id".into() })?;
        // The bot has one reaction per message: the emoji, or none.
        let reaction: Vec<Value> =
            (!emoji.is_empty()).then(|| json!({ "type": "emoji", "emoji": emoji })).into_iter().collect();
        let body = json!({ "chat_id": contact_id, "message_id": id, "reaction": reaction });
        let api = api::Api { base: &config.api_base_url, token: &credentials.token };
        api.call::<Value>("setMessageReaction", &body).await.map(drop)
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
        let id = updates::message_id_of(external_id)
            .ok_or_else(|| ProviderError::Permanent { message: "not a Telegram message id".into() })?;
        let mut body = text_body(contact_id, text);
        body["message_id"] = json!(id);
        let api = api::Api { base: &config.api_base_url, token: &credentials.token };
        api.call::<Value>("editMessageText", &body).await.map(drop)
    }

    async fn delete(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        contact_id: &str,
        external_id: &str,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let id = updates::message_id_of(external_id)
            .ok_or_else(|| ProviderError::Permanent { message: "not a Telegram message id".into() })?;
        let body = json!({ "chat_id": contact_id, "message_id": id });
        let api = api::Api { base: &config.api_base_url, token: &credentials.token };
        api.call::<Value>("deleteMessage", &body).await.map(drop)
    }

    async fn fetch_media(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        source: &str,
    ) -> Result<Vec<u8>, ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        api::Api { base: &config.api_base_url, token: &credentials.token }.download(source).await
    }

    fn verify_webhook(
        &self,
        _channel: &Channel,
        credentials: Option<&Value>,
        headers: &[(String, String)],
        _body: &[u8],
    ) -> Result<(), ProviderError> {
        let refuse = |why: &str| ProviderError::Permanent { message: why.to_owned() };
        let credentials = credentials_of(credentials).map_err(|_| refuse("the channel is not signed in"))?;
        let given = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-telegram-bot-api-secret-token"))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| refuse("no secret token header"))?;
        let expected = credentials.webhook_secret.as_bytes();
        if expected.is_empty() || !crate::crypto::constant_time_eq(given.as_bytes(), expected) {
            return Err(refuse("wrong secret token"));
        }
        Ok(())
    }

    fn parse_webhook(&self, _channel: &Channel, body: &[u8]) -> Result<Vec<ChannelEvent>, ProviderError> {
        let update: Value = serde_json::from_slice(body).map_err(|e| {
            ProviderError::Invalid(ValidationError::new("body", format!("not a Telegram update: {e}")))
        })?;
        Ok(updates::events(&update))
    }
}
