//! The provider contract: what every network adapter (Mock, WhatsApp, Telegram, in-app) offers,
//! so services and the UI never know a provider's internals. Provider-specific payloads stay
//! inside the adapter; what comes out are the canonical types here.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::{Channel, ProviderKind};
use crate::validate::ValidationError;

/// How a user proves to the network that the channel is theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Scan a QR code with the phone.
    Qr,
    /// Type a one-time code the network sends.
    Otp,
    /// Type a code shown here into the phone (needs the phone number first).
    PairingCode,
    /// Paste a token (a bot token, an API key).
    Token,
}

/// What a provider can do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capabilities {
    pub auth_methods: Vec<AuthMethod>,
    /// Reports contacts' online state.
    pub presence: bool,
    /// Can load older messages.
    pub history: bool,
    /// Inbound traffic arrives by webhook (else over a connection the runtime keeps).
    pub webhook_driven: bool,
    /// The pairing-code method needs the account's phone number first.
    pub pairing_needs_phone: bool,
    /// How long after the contact's last message a free-form reply may still be sent (WhatsApp's
    /// 24-hour customer service window); `None`: always.
    #[serde(default)]
    pub reply_window_secs: Option<u64>,
    /// Sends pre-approved template messages (the only way to write first or after the window).
    #[serde(default)]
    pub templates: bool,
    /// Shows the contact when their message was read.
    #[serde(default)]
    pub read_receipts: bool,
    /// Carries reactions both ways (the contact's arrive; the team's go out).
    #[serde(default)]
    pub reactions: bool,
    /// Edits and deletes of sent messages reach the contact.
    #[serde(default)]
    pub edits: bool,
    /// Reports delivery and reading of what is sent (ticks past "sent"); without it, messages
    /// stop at `sent` and the inbox says no more.
    #[serde(default)]
    pub delivery_receipts: bool,
    /// Methods of a second sign-in step, offered once the first (a token in `auth_methods`)
    /// is accepted: a gateway takes its API token, then links the phone by QR or pairing code.
    #[serde(default)]
    pub linking_methods: Vec<AuthMethod>,
    /// Shows quick-reply buttons under a message (a chatbot's choices), and how many and how
    /// long; a message with more or longer ones goes out with them as numbered lines instead.
    #[serde(default)]
    pub buttons: Option<ButtonLimits>,
}

/// How many quick-reply buttons a network shows under one message, and their longest label
/// (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ButtonLimits {
    pub max: u8,
    pub max_label: u16,
}

impl ButtonLimits {
    /// Whether these labels show as the network's buttons.
    pub fn fit(&self, labels: &[String]) -> bool {
        labels.len() <= usize::from(self.max)
            && labels.iter().all(|l| l.chars().count() <= usize::from(self.max_label))
    }
}

/// A setting a channel of this provider is created with (the admin page asks for it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfigField {
    /// The key in the channel's `config`.
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub placeholder: String,
    pub required: bool,
}

/// A provider this server runs, as the admin page offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderInfo {
    pub kind: ProviderKind,
    pub capabilities: Capabilities,
    pub config_fields: Vec<ConfigField>,
}

/// What the one auth page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthPrompt {
    /// Encode `value` as a QR code; renew it at `expires_at`.
    Qr { value: String, expires_at: DateTime<Utc> },
    /// A code the network sent, to confirm before `expires_at`.
    Otp { code: String, expires_at: DateTime<Utc> },
    /// A code to type into the phone before `expires_at`.
    PairingCode { code: String, expires_at: DateTime<Utc> },
    /// Ask for one or more named secrets (a bot token; an access token and an app secret).
    Token { fields: Vec<TokenField> },
}

/// A secret shown once, at the end of a sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShownOnce {
    pub label: String,
    pub value: String,
}

/// One input of a token prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenField {
    /// The key the answer carries it under (`fields.{name}`).
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub placeholder: String,
    /// Hide what is typed (every credential is).
    pub masked: bool,
}

impl TokenField {
    /// A masked field.
    pub fn secret(name: &str, label: &str, placeholder: &str) -> Self {
        Self { name: name.into(), label: label.into(), placeholder: placeholder.into(), masked: true }
    }
}

/// What the provider tells the person at a prompt about its own network: where to scan, type or
/// find the code (the auth page shows it under the prompt, for whichever provider it is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthHint {
    pub text: String,
    /// A page to open for the next step (the Mock network's phone), if any.
    pub link: Option<AuthLink>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthLink {
    pub label: String,
    pub url: String,
}

/// The user's answer to a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSubmission {
    Otp {
        value: String,
    },
    /// The answers to a token prompt, by field name. A prompt of one field also takes its
    /// answer as `value` (`{"kind":"token","value":"…"}`).
    Token {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        fields: std::collections::BTreeMap<String, String>,
    },
    PairingCode {
        value: String,
    },
}

impl AuthSubmission {
    /// A token answer of one field.
    pub fn token(value: impl Into<String>) -> Self {
        AuthSubmission::Token { value: Some(value.into()), fields: Default::default() }
    }

    /// The token answer's field `name` (trimmed), with `value` standing for `only`, the field of
    /// a one-field prompt; a validation error naming the field when it is missing or blank.
    pub fn token_field(&self, name: &str, only: bool) -> Result<String, ValidationError> {
        let AuthSubmission::Token { value, fields } = self else {
            return Err(ValidationError::new("kind", "this prompt takes a token"));
        };
        let given = fields.get(name).or(if only { value.as_ref() } else { None });
        match given.map(|v| v.trim()) {
            Some(v) if !v.is_empty() => Ok(v.to_owned()),
            _ => Err(ValidationError::new(name, "is required")),
        }
    }
}

/// Where an auth flow stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthStatus {
    Idle,
    Pending,
    Authenticated,
    Expired,
    Failed,
}

/// The state of a channel's auth flow as the provider sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthProgress {
    /// Nothing under way.
    Idle,
    /// Waiting for the user (or the phone); the current prompt.
    Pending(AuthPrompt),
    /// Done: the credentials to keep (sealed by the server, never shown), and who the account
    /// is on the network when it says (kept in the channel's config as `identity`).
    Authenticated { credentials: serde_json::Value, identity: Option<crate::channel::ChannelIdentity> },
    /// A first step is done (a gateway accepted its token): keep `credentials` (sealed) and
    /// offer `methods` for the next step (linking the account by QR or pairing code).
    NextStep { credentials: serde_json::Value, methods: Vec<AuthMethod> },
    /// The prompt expired before it was answered.
    Expired,
    /// The network refused; why, in words.
    Failed(String),
}

impl AuthProgress {
    pub fn status(&self) -> AuthStatus {
        match self {
            AuthProgress::Idle => AuthStatus::Idle,
            AuthProgress::Pending(_) | AuthProgress::NextStep { .. } => AuthStatus::Pending,
            AuthProgress::Authenticated { .. } => AuthStatus::Authenticated,
            AuthProgress::Expired => AuthStatus::Expired,
            AuthProgress::Failed(_) => AuthStatus::Failed,
        }
    }
}

/// Why a provider call failed, and whether and when to try again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// A transient failure: try again (after `after_secs` when the network said so).
    #[error("temporary failure: {message}")]
    Retryable { message: String, after_secs: Option<u64> },
    /// The network asked us to slow down: pause what `scope` names (the channel's outbox, or
    /// only this conversation's) until `retry_after_secs` pass.
    #[error("rate limited; retry after {retry_after_secs} s")]
    RateLimited { scope: RateLimitScope, retry_after_secs: u64 },
    /// Retrying will not help (bad recipient, content refused, …).
    #[error("{message}")]
    Permanent { message: String },
    /// The channel's credentials were refused (revoked, expired): the channel must sign in
    /// again, and its queued messages wait for that rather than burn their retries.
    #[error("{message}")]
    Unauthorized { message: String },
    /// The user's input (config, token, code, method) is not acceptable; safe to show.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// What a network's rate limit covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateLimitScope {
    /// The whole account: every conversation of the channel waits.
    Channel,
    /// One recipient (WhatsApp's per-user pair rate, a Telegram per-chat limit): only this
    /// conversation waits; the channel's other conversations keep sending.
    Conversation,
}

/// A party on the other side of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    /// The network's id (a WhatsApp `wa_id`, a Telegram chat id, …).
    pub external_id: String,
    pub name: String,
}

/// Whether a message went out from us or came in from the contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A message as a provider reports it (history, inbound).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderMessage {
    pub external_id: String,
    pub contact_id: String,
    pub direction: Direction,
    pub text: String,
    pub sent_at: DateTime<Utc>,
    /// Media the message carries, as handles the runtime fetches before recording it.
    #[serde(default)]
    pub media: Vec<InboundMedia>,
    /// The network's id of the message this one answers (a quoted reply).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Who wrote it, in a group chat (the conversation is the group's).
    #[serde(default)]
    pub sender_name: Option<String>,
}

/// Media on a network's message, before its bytes are fetched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboundMedia {
    pub kind: crate::media::AttachmentKind,
    /// The network's handle for the bytes (a media id, a file id), for
    /// [`Provider::fetch_media`]; empty for places and contact cards.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub location: Option<crate::media::GeoPoint>,
    #[serde(default)]
    pub contact: Option<crate::media::ContactCard>,
}

/// An attachment to send, with its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundMedia {
    pub attachment: crate::media::Attachment,
    pub bytes: Vec<u8>,
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboundMessage {
    /// Stable across retries, so a network that deduplicates never delivers twice.
    pub idempotency_key: String,
    pub contact_id: String,
    pub text: String,
    /// Files to send with the text (the text is then their caption).
    #[serde(skip)]
    pub media: Vec<OutboundMedia>,
    /// The network's id of the message this one answers, when the network knows it.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// A pre-approved template to send instead of free text (the text is then its rendering).
    #[serde(default)]
    pub template: Option<crate::message::TemplateSend>,
    /// Quick-reply buttons to show under the text, within the network's
    /// [`Capabilities::buttons`] (the send path folds any others into the text); pressing one
    /// answers with its label.
    #[serde(default)]
    pub buttons: Vec<String>,
}

/// Delivery progress of an outbound message, as the network reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

/// A canonical event from a channel's runtime. Each channel has its own stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelEvent {
    Connected,
    Disconnected {
        reason: String,
    },
    Error {
        message: String,
    },
    ContactsUpdated {
        contacts: Vec<Contact>,
    },
    History {
        contact_id: String,
        messages: Vec<ProviderMessage>,
    },
    MessageReceived {
        message: ProviderMessage,
    },
    MessageStatus {
        external_id: String,
        status: DeliveryStatus,
        /// Why the network failed it, in its words (for `failed`).
        #[serde(default)]
        error: Option<String>,
    },
    /// A chat took a new id (a Telegram group became a supergroup): its conversation follows.
    ChatMoved {
        from: String,
        to: String,
    },
    /// The contact blocked the account (`Some(why)`), or unblocked it (`None`).
    ContactBlocked {
        contact_id: String,
        reason: Option<String>,
    },
    /// How a history import stands: `chats_done` of `chats_total` imported (each chat's
    /// [`History`](Self::History) emitted before it); `finished` when it ended, with `error`
    /// when it stopped short.
    HistoryProgress {
        chats_done: u32,
        chats_total: u32,
        finished: bool,
        #[serde(default)]
        error: Option<String>,
    },
    /// Everything before this point of a polled network's stream is recorded: where to resume.
    Cursor {
        value: String,
    },
    /// The contact reacted to a message (an empty emoji takes their reaction back).
    Reaction {
        external_id: String,
        contact_id: String,
        emoji: String,
    },
    /// The sender changed a message's text on the network.
    MessageEdited {
        external_id: String,
        text: String,
    },
    /// The sender deleted ("revoked") a message for everyone.
    MessageRevoked {
        external_id: String,
    },
    /// A chat's details changed on the network (a group's subject, a contact's name).
    ChatUpdated {
        chat_id: String,
        title: String,
    },
    Presence {
        contact_id: String,
        online: bool,
    },
    AuthStatus {
        status: AuthStatus,
    },
    AuthPrompt {
        prompt: AuthPrompt,
    },
    AuthError {
        message: String,
    },
    AuthCompleted,
    Logout,
    /// The channel's persisted status changed.
    StatusChanged {
        status: crate::channel::ChannelStatus,
        last_error: Option<String>,
    },
}

/// Where a connected provider delivers its events (the channel's runtime).
pub trait EventSink: Send + Sync {
    fn emit(&self, event: ChannelEvent);
    /// Resolves once every event emitted before it is handled: true when all of them were
    /// recorded, false when one could not be (or no one listens any more). A polled network
    /// confirms what it read only after a true, so nothing read is lost to a crash or a failed
    /// write: it reads the same updates again instead.
    fn settled(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> {
        Box::pin(std::future::ready(true))
    }
    /// Whether no one listens any more (the channel's runtime stopped): a poller then ends.
    fn is_closed(&self) -> bool {
        false
    }
}

/// One network adapter. Stateless per call: the channel (id, config) and, once authenticated,
/// its credentials are passed in; anything the adapter keeps between calls is keyed by the
/// channel id.
#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn capabilities(&self) -> Capabilities;
    /// Checks the provider-specific part of a channel's config.
    fn validate_config(&self, config: &serde_json::Value) -> Result<(), ValidationError>;
    /// The settings a channel is created with, for the admin page's form (none by default).
    fn config_fields(&self) -> Vec<ConfigField> {
        Vec::new()
    }
    /// The config keys that hold secrets (a webhook signing secret, an app secret): write-only
    /// for every role, masked on every read (see [`crate::channel::Channel::redacted`]).
    fn secret_config_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// The provider's own words for a prompt (where to scan or type it); none by default.
    fn auth_hint(&self, _prompt: &AuthPrompt) -> Option<AuthHint> {
        None
    }

    /// Begins an auth flow and returns the first prompt. `credentials` are what an earlier
    /// step kept (a gateway's token before the account is linked), if any.
    async fn start_auth(
        &self,
        channel: &Channel,
        credentials: Option<&serde_json::Value>,
        method: AuthMethod,
        phone: Option<&str>,
    ) -> Result<AuthPrompt, ProviderError>;
    /// Answers the current prompt.
    async fn submit_auth(
        &self,
        channel: &Channel,
        credentials: Option<&serde_json::Value>,
        submission: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError>;
    /// Where the flow stands now (renewing an expired QR when the method renews).
    async fn auth_progress(&self, channel: &Channel, credentials: Option<&serde_json::Value>)
    -> AuthProgress;
    /// Ends the session with the network and forgets any flow under way.
    async fn logout(
        &self,
        channel: &Channel,
        credentials: Option<&serde_json::Value>,
    ) -> Result<(), ProviderError>;

    /// Starts delivering the channel's events to `sink` until [`disconnect`](Self::disconnect),
    /// resuming after `cursor` (the last [`ChannelEvent::Cursor`] recorded) on polled networks.
    /// Networks that call us by webhook keep no connection: nothing to do by default.
    async fn connect(
        &self,
        _channel: &Channel,
        _credentials: &serde_json::Value,
        _cursor: Option<&str>,
        _sink: std::sync::Arc<dyn EventSink>,
    ) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn disconnect(&self, _channel: &Channel) {}

    /// The network's contacts; none for networks that list none.
    async fn list_contacts(&self, _channel: &Channel) -> Result<Vec<Contact>, ProviderError> {
        Ok(Vec::new())
    }
    /// Up to `limit` messages with the contact older than `before` (newest first); none for
    /// networks that keep no history to read back (the Cloud API, bots).
    async fn load_history(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _contact_id: &str,
        _before: Option<DateTime<Utc>>,
        _limit: usize,
    ) -> Result<Vec<ProviderMessage>, ProviderError> {
        Ok(Vec::new())
    }
    /// Sends a message; returns the network's message id.
    async fn send(
        &self,
        channel: &Channel,
        credentials: Option<&serde_json::Value>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError>;

    /// Tells the network the contact's message `external_id` was read (blue ticks on their
    /// phone). Networks without read receipts need not implement it.
    async fn mark_read(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _external_id: &str,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Puts the business's reaction on the contact's chat message `external_id` (an empty
    /// emoji takes it back), for networks with [`Capabilities::reactions`].
    async fn react(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _contact_id: &str,
        _external_id: &str,
        _emoji: &str,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Changes the text of a message sent as `external_id` to `contact_id`'s chat, for networks
    /// with [`Capabilities::edits`]. A refusal (too old) is `Permanent` in the network's words.
    async fn edit(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _contact_id: &str,
        _external_id: &str,
        _text: &str,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Deletes a sent message for everyone, for networks with [`Capabilities::edits`].
    async fn delete(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _contact_id: &str,
        _external_id: &str,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    /// The channel's approved templates, for networks with [`Capabilities::templates`].
    async fn templates(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> Result<Vec<crate::message::Template>, ProviderError> {
        Ok(Vec::new())
    }

    /// A secret the sign-in made that the admin must copy now (an API channel's signing
    /// secret): shown in the answer of the submit that finished the sign-in, never again.
    fn reveal_once(&self, _credentials: &serde_json::Value) -> Option<ShownOnce> {
        None
    }
    /// Whether the network checks the webhook URL with a verify-token handshake before it
    /// delivers there (Meta's `hub.verify_token`): admins are then shown the token to paste.
    fn webhook_handshake(&self) -> bool {
        false
    }

    /// Fetches the bytes behind an [`InboundMedia::source`] with the network's own download
    /// call. Networks that deliver no media need not implement it.
    async fn fetch_media(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _source: &str,
    ) -> Result<Vec<u8>, ProviderError> {
        Err(ProviderError::Permanent { message: "this network delivers no media".into() })
    }

    /// For webhook networks: checks the request's signature or secret (some networks sign with
    /// a secret that came with the credentials).
    fn verify_webhook(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _headers: &[(String, String)],
        _body: &[u8],
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Permanent { message: "this provider does not receive webhooks".into() })
    }
    /// For webhook networks: turns a verified request into canonical events.
    fn parse_webhook(&self, _channel: &Channel, _body: &[u8]) -> Result<Vec<ChannelEvent>, ProviderError> {
        Err(ProviderError::Permanent { message: "this provider does not receive webhooks".into() })
    }
}
