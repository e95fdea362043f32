//! Meta's WhatsApp Business Cloud API (`whatsapp_cloud`): a WhatsApp Business number signed in
//! by token, its customers' messages by signed webhook, answers through the Graph API.
//!
//! Config: `phone_number_id` (required), `waba_id` (for templates), `api_version`
//! ([`DEFAULT_API_VERSION`]), `api_base_url` (`https://graph.facebook.com`, or a test fake),
//! `rate_limit_retry_secs` (the pause after a limit that names no time, 30 s). Credentials
//! (sealed, never shown): `access_token`, `app_secret` (which signs the webhooks).

mod api;
#[cfg(test)]
mod tests;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::media::AttachmentKind;
use switchboard::provider::{
    AuthHint, AuthMethod, AuthProgress, AuthPrompt, AuthSubmission, ButtonLimits, Capabilities,
    OutboundMedia, OutboundMessage, Provider, ProviderError, TokenField,
};
use switchboard::validate::ValidationError;
use switchboard::{Channel, ChannelId, ProviderKind};

pub use api::{TOKEN_REFUSED, map_error};

/// The Graph API version used when the channel names none.
pub const DEFAULT_API_VERSION: &str = "v24.0";
/// Meta's API host.
pub const DEFAULT_API_BASE_URL: &str = "https://graph.facebook.com";
/// The pause after a rate limit that names no time, unless the channel says otherwise.
pub const DEFAULT_RATE_LIMIT_RETRY_SECS: u64 = 30;

/// A channel's settings.
#[derive(Clone, Debug, Deserialize)]
pub struct CloudConfig {
    pub phone_number_id: String,
    #[serde(default)]
    pub waba_id: Option<String>,
    #[serde(default = "default_version")]
    pub api_version: String,
    #[serde(default = "default_base")]
    pub api_base_url: String,
    #[serde(default = "default_retry")]
    pub rate_limit_retry_secs: u64,
}

fn default_version() -> String {
    DEFAULT_API_VERSION.into()
}
fn default_base() -> String {
    DEFAULT_API_BASE_URL.into()
}
fn default_retry() -> u64 {
    DEFAULT_RATE_LIMIT_RETRY_SECS
}

/// The sealed credentials.
#[derive(Deserialize)]
struct Credentials {
    access_token: String,
    app_secret: String,
}

fn is_graph_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

impl CloudConfig {
    pub fn of(config: &Value) -> Result<Self, ValidationError> {
        let config: CloudConfig = serde_json::from_value(config.clone())
            .map_err(|e| ValidationError::new("config", format!("WhatsApp settings: {e}")))?;
        if !is_graph_id(&config.phone_number_id) {
            return Err(ValidationError::new(
                "config.phone_number_id",
                "is the number's id from Meta (digits)",
            ));
        }
        if config.waba_id.as_deref().is_some_and(|w| !is_graph_id(w)) {
            return Err(ValidationError::new(
                "config.waba_id",
                "is the business account's id from Meta (digits)",
            ));
        }
        let version = config.api_version.strip_prefix('v').unwrap_or_default();
        let valid_version = version.split_once('.').is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && (major.to_owned() + minor).bytes().all(|b| b.is_ascii_digit())
        });
        if !valid_version {
            return Err(ValidationError::new("config.api_version", "looks like v24.0"));
        }
        let base = config.api_base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if parsed.is_none() || base.contains('?') || base.contains('#') {
            return Err(ValidationError::new("config.api_base_url", "is an http(s) URL"));
        }
        if !(1..=86_400).contains(&config.rate_limit_retry_secs) {
            return Err(ValidationError::new("config.rate_limit_retry_secs", "is 1 to 86400 seconds"));
        }
        Ok(config)
    }
}

/// The adapter. It keeps only the token prompts under way; everything else comes with each call.
#[derive(Default)]
pub struct WhatsAppCloud {
    prompts: Mutex<HashMap<ChannelId, AuthPrompt>>,
}

impl WhatsAppCloud {
    pub fn new() -> Self {
        Self::default()
    }

    fn prompt() -> AuthPrompt {
        AuthPrompt::Token {
            fields: vec![
                TokenField::secret("access_token", "Access token", "EAAG…"),
                TokenField::secret("app_secret", "App secret", "32 hexadecimal characters"),
            ],
        }
    }
}

fn config_of(channel: &Channel) -> Result<CloudConfig, ProviderError> {
    Ok(CloudConfig::of(&channel.config)?)
}

fn credentials_of(credentials: Option<&Value>) -> Result<Credentials, ProviderError> {
    credentials
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .ok_or_else(|| ProviderError::Unauthorized { message: TOKEN_REFUSED.into() })
}

/// The WhatsApp message type an attachment goes out as.
fn wire_type(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Video => "video",
        AttachmentKind::Audio | AttachmentKind::Voice => "audio",
        AttachmentKind::Sticker => "sticker",
        AttachmentKind::Document => "document",
        AttachmentKind::Location => "location",
        AttachmentKind::Contact => "contacts",
    }
}

/// The body of one message to `to`, with its reply context.
fn envelope(to: &str, reply_to: Option<&str>, kind: &str, content: Value) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    });
    body[kind] = content;
    if let Some(id) = reply_to {
        body["context"] = json!({ "message_id": id });
    }
    body
}

/// Longest reply button title and body of a reply buttons message; beyond either (or past three
/// buttons) the choices go as a list message, whose rows take 24 characters and body 4,096.
const REPLY_BUTTON_TITLE: usize = 20;
const REPLY_BUTTONS_BODY: usize = 1024;
const REPLY_BUTTONS: usize = 3;
/// The button that opens a list message's rows.
const LIST_BUTTON: &str = "Choose";

/// The `interactive` object of a text with quick-reply buttons: reply buttons when they fit,
/// else a list message of one section. The contact's press comes back as a `button_reply` or
/// `list_reply` with the label as its title (the webhook reads it as the text).
fn interactive(text: &str, labels: &[String]) -> Value {
    let short = labels.iter().all(|l| l.chars().count() <= REPLY_BUTTON_TITLE);
    if labels.len() <= REPLY_BUTTONS && short && text.chars().count() <= REPLY_BUTTONS_BODY {
        let buttons: Vec<Value> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| json!({ "type": "reply", "reply": { "id": format!("choice-{}", i + 1), "title": l } }))
            .collect();
        return json!({ "type": "button", "body": { "text": text }, "action": { "buttons": buttons } });
    }
    let rows: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| json!({ "id": format!("choice-{}", i + 1), "title": l }))
        .collect();
    json!({
        "type": "list",
        "body": { "text": text },
        "action": { "button": LIST_BUTTON, "sections": [{ "rows": rows }] },
    })
}

/// A text in WhatsApp's formatting (`*bold*`, `_italic_`, `~strike~`…) when it has any.
pub(crate) fn whatsapp_text(text: &str) -> String {
    if switchboard::markdown::is_formatted(text) {
        switchboard::markdown::to_whatsapp(text)
    } else {
        text.to_owned()
    }
}

impl WhatsAppCloud {
    /// Sends each attachment (uploaded first) as its own message, the text as the first
    /// caption that can carry it, or after them; returns the first message's id.
    async fn send_media(
        &self,
        api: &api::Api<'_>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        let mut caption = (!message.text.trim().is_empty()).then_some(message.text.clone());
        let mut first: Option<String> = None;
        let reply_to = message.reply_to.as_deref();
        // Captions carry at most 1,024 characters: a longer text follows as a message of its own.
        if caption.as_ref().is_some_and(|c| c.chars().count() > 1024) {
            let text = caption.take().unwrap_or_default();
            let body = envelope(&message.contact_id, reply_to, "text", json!({ "body": text }));
            first.get_or_insert(api.send_message(&body).await?);
        }
        for OutboundMedia { attachment, bytes } in message.media {
            let kind = wire_type(attachment.kind);
            let content = match attachment.kind {
                AttachmentKind::Location => {
                    let place = attachment.location.clone().ok_or_else(|| ProviderError::Permanent {
                        message: "a place without coordinates".into(),
                    })?;
                    json!({ "latitude": place.latitude, "longitude": place.longitude, "name": place.name })
                }
                AttachmentKind::Contact => {
                    let card =
                        attachment.contact.clone().unwrap_or_else(|| switchboard::media::ContactCard {
                            name: attachment.file_name.clone(),
                            phones: Vec::new(),
                        });
                    let phones: Vec<Value> = card.phones.iter().map(|p| json!({ "phone": p })).collect();
                    json!([{ "name": { "formatted_name": card.name, "first_name": card.name }, "phones": phones }])
                }
                _ => {
                    let id = api.upload(bytes, &attachment.mime_type, &attachment.file_name).await?;
                    let mut content = json!({ "id": id });
                    let captioned = matches!(
                        attachment.kind,
                        AttachmentKind::Image | AttachmentKind::Video | AttachmentKind::Document
                    );
                    if captioned && let Some(text) = caption.take() {
                        content["caption"] = json!(text);
                    }
                    if attachment.kind == AttachmentKind::Document {
                        content["filename"] = json!(attachment.file_name);
                    }
                    content
                }
            };
            let id = api.send_message(&envelope(&message.contact_id, reply_to, kind, content)).await?;
            first.get_or_insert(id);
        }
        if let Some(text) = caption {
            let id = api
                .send_message(&envelope(&message.contact_id, reply_to, "text", json!({ "body": text })))
                .await?;
            first.get_or_insert(id);
        }
        first.ok_or_else(|| ProviderError::Permanent { message: "nothing to send".into() })
    }
}

#[async_trait]
impl Provider for WhatsAppCloud {
    fn kind(&self) -> ProviderKind {
        ProviderKind::WhatsappCloud
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            auth_methods: vec![AuthMethod::Token],
            presence: false,
            history: false,
            webhook_driven: true,
            pairing_needs_phone: false,
            reply_window_secs: ProviderKind::WhatsappCloud.reply_window_secs(),
            templates: true,
            read_receipts: true,
            reactions: true,
            edits: false,
            delivery_receipts: true,
            linking_methods: Vec::new(),
            buttons: Some(ButtonLimits { max: 10, max_label: 24 }),
        }
    }

    fn validate_config(&self, config: &Value) -> Result<(), ValidationError> {
        CloudConfig::of(config).map(drop)
    }

    fn webhook_handshake(&self) -> bool {
        true
    }

    fn config_fields(&self) -> Vec<switchboard::provider::ConfigField> {
        let field =
            |name: &str, label: &str, placeholder: &str, required: bool| switchboard::provider::ConfigField {
                name: name.into(),
                label: label.into(),
                placeholder: placeholder.into(),
                required,
            };
        vec![
            field("phone_number_id", "Phone number ID", "106540352242922", true),
            field("waba_id", "WhatsApp Business Account ID (for templates)", "102290129340398", false),
            field("api_base_url", "API base URL", DEFAULT_API_BASE_URL, false),
            field("api_version", "Graph API version", DEFAULT_API_VERSION, false),
        ]
    }

    fn auth_hint(&self, _prompt: &AuthPrompt) -> Option<AuthHint> {
        Some(AuthHint {
            text: "Both are in Meta's App Dashboard: a system user's permanent access token (WhatsApp \
                   › API Setup) and the app secret (App settings › Basic). Then paste the callback URL \
                   and verify token shown on the channel page into WhatsApp › Configuration."
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
            return Err(
                ValidationError::new("method", "WhatsApp Cloud API channels sign in with a token").into()
            );
        }
        config_of(channel)?;
        let prompt = Self::prompt();
        self.prompts.lock().expect("prompt lock").insert(channel.id, prompt.clone());
        Ok(prompt)
    }

    async fn submit_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        submission: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError> {
        let config = config_of(channel)?;
        let access_token = submission.token_field("access_token", false)?;
        let app_secret = submission.token_field("app_secret", false)?;
        let api = api::Api { config: &config, token: &access_token };
        let number = match api.phone_number().await {
            Ok(number) => number,
            Err(ProviderError::Unauthorized { .. }) => {
                return Ok(AuthProgress::Failed(
                    "WhatsApp refused the access token: it is invalid or has expired. Create a new one and try again."
                        .into(),
                ));
            }
            Err(ProviderError::Permanent { message }) => {
                return Ok(AuthProgress::Failed(format!(
                    "WhatsApp did not accept these details for phone number id {}: {message}",
                    config.phone_number_id
                )));
            }
            Err(other) => return Err(other),
        };
        self.prompts.lock().expect("prompt lock").remove(&channel.id);
        let identity = switchboard::channel::ChannelIdentity {
            number: number.display_phone_number,
            name: number.verified_name,
        };
        let credentials = json!({ "access_token": access_token, "app_secret": app_secret });
        Ok(AuthProgress::Authenticated { credentials, identity: Some(identity) })
    }

    async fn auth_progress(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> AuthProgress {
        match self.prompts.lock().expect("prompt lock").get(&channel.id) {
            Some(prompt) => AuthProgress::Pending(prompt.clone()),
            None => AuthProgress::Idle,
        }
    }

    async fn logout(&self, channel: &Channel, _credentials: Option<&Value>) -> Result<(), ProviderError> {
        // A Cloud API number has no session to end: forgetting the token is signing out.
        self.prompts.lock().expect("prompt lock").remove(&channel.id);
        Ok(())
    }

    async fn send(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        mut message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        let api = api::Api { config: &config, token: &credentials.access_token };
        message.text = whatsapp_text(&message.text);
        if !message.media.is_empty() && message.template.is_none() {
            return self.send_media(&api, message).await;
        }
        let reply_to = message.reply_to.as_deref();
        if let Some(template) = &message.template {
            let mut content = json!({ "name": template.name, "language": { "code": template.language } });
            if !template.parameters.is_empty() {
                let parameters: Vec<Value> =
                    template.parameters.iter().map(|p| json!({ "type": "text", "text": p })).collect();
                content["components"] = json!([{ "type": "body", "parameters": parameters }]);
            }
            return api.send_message(&envelope(&message.contact_id, reply_to, "template", content)).await;
        }
        if !message.buttons.is_empty() {
            let content = interactive(&message.text, &message.buttons);
            return api.send_message(&envelope(&message.contact_id, reply_to, "interactive", content)).await;
        }
        let content = json!({ "preview_url": false, "body": message.text });
        api.send_message(&envelope(&message.contact_id, reply_to, "text", content)).await
    }

    async fn mark_read(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        external_id: &str,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        api::Api { config: &config, token: &credentials.access_token }.mark_read(external_id).await
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
        let api = api::Api { config: &config, token: &credentials.access_token };
        let content = json!({ "message_id": external_id, "emoji": emoji });
        api.send_message(&envelope(contact_id, None, "reaction", content)).await.map(drop)
    }

    async fn templates(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
    ) -> Result<Vec<switchboard::message::Template>, ProviderError> {
        let config = config_of(channel)?;
        let Some(waba_id) = config.waba_id.clone() else {
            return Err(ValidationError::new("config.waba_id", "is needed to list the templates").into());
        };
        let credentials = credentials_of(credentials)?;
        api::Api { config: &config, token: &credentials.access_token }.templates(&waba_id).await
    }

    async fn fetch_media(
        &self,
        channel: &Channel,
        credentials: Option<&Value>,
        source: &str,
    ) -> Result<Vec<u8>, ProviderError> {
        let config = config_of(channel)?;
        let credentials = credentials_of(credentials)?;
        api::Api { config: &config, token: &credentials.access_token }.download(source).await
    }

    fn verify_webhook(
        &self,
        _channel: &Channel,
        credentials: Option<&Value>,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), ProviderError> {
        let credentials = credentials_of(credentials)
            .map_err(|_| ProviderError::Permanent { message: "the channel is not signed in".into() })?;
        webhook::verify_signature(&credentials.app_secret, headers, body)
    }

    fn parse_webhook(
        &self,
        channel: &Channel,
        body: &[u8],
    ) -> Result<Vec<switchboard::provider::ChannelEvent>, ProviderError> {
        let config = config_of(channel)?;
        webhook::parse(&config.phone_number_id, body)
    }
}
