//! The Mock network: a simulated messaging network with QR, one-time-code, pairing-code and
//! token sign-in, deterministic contacts and history, so the demo and every test run with no
//! outside service.
//!
//! Knobs (the channel's `config`, all optional):
//! - `qr_ttl_secs` (default 60, 1–3600): a QR prompt's lifetime; an expired QR is renewed.
//! - `code_ttl_secs` (default 120, 1–3600): an OTP or pairing code's lifetime.
//! - `auth_confirm_after_ms` (default none): the network confirms a pending OTP or pairing code
//!   by itself after this delay, as a phone would.
//! - `contacts` (default 3, at most 50): how many contacts the account has.
//! - `connect_failures` (default 0): the first N connection attempts fail, to exercise the
//!   runtime's restart with backoff.
//! - `delivered_after_ms` (500), `read_after_ms` (1500): receipts for each outbound message.
//! - `reply_after_ms` (2000; `null` for silence), `reply_text` (`{text}` = the message): the
//!   contact's answer. A message tagged `#photo`, `#voice`, `#pdf`, `#location` or `#contact`
//!   is answered with that media instead (see `media.rs`); sends may carry files, which the
//!   network keeps a record of ([`MockNetwork::received_media`]).
//! - Faults: `failure_rate` (0.0–1.0, retryable), `rate_limit_next` (the next N sends get 429
//!   with `rate_limit_retry_after_secs`, default 30), `outage_until` (RFC 3339 time; sends fail
//!   until then), `reject_contacts` (external ids that refuse every message, permanently).
//! - Buttons: the network shows up to three quick-reply buttons of twenty characters under a
//!   message (WhatsApp's reply buttons' limits; more or longer are refused, permanently);
//!   `press_button` (1–3) makes the contact answer such a message by pressing that button,
//!   its label being the answer. Sends' buttons are on record ([`MockNetwork::received_buttons`]).
//! - History: `history_on_connect` (off by default) delivers each contact's ten earlier messages
//!   on connect, recorded as history (read, in order), as a linked phone's are.
//!
//! Bounds (refused with 422 naming `config.<key>`): delays at most an hour (3,600,000 ms),
//! `rate_limit_retry_after_secs` at most a day, `rate_limit_next` and `connect_failures` at
//! most 10,000, `contacts` at most 50, `reject_contacts` at most 1,000 ids, `webhook_secret`
//! 16 to 256 bytes. Time arithmetic on them is checked as well, so a config stored before these
//! bounds cannot overflow either.
//!
//! Tokens look like `mock_` followed by at least 24 letters or digits.
//! Pairing: the QR's value is `{public_url}/mock/pair/{token}` (opening it is "the phone
//! scanning"); codes can be typed at `{public_url}/mock/pair`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

mod auth;
mod config;
pub mod media;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use switchboard::provider::{
    AuthHint, AuthMethod, AuthProgress, AuthPrompt, AuthSubmission, Capabilities, ChannelEvent, Contact,
    DeliveryStatus, Direction, EventSink, OutboundMessage, Provider, ProviderError, ProviderMessage,
};
use switchboard::validate::ValidationError;
use switchboard::{Channel, ChannelId, ProviderKind};

use auth::{Flow, FlowState, normalize_code, token_is_valid};
pub use config::*;

/// The simulated network. One per server; keyed by channel id inside.
pub struct MockNetwork {
    public_url: String,
    flows: Mutex<HashMap<ChannelId, Flow>>,
    connected: Mutex<HashSet<ChannelId>>,
    /// Where each connected channel's events go.
    sinks: Mutex<HashMap<ChannelId, Arc<dyn EventSink>>>,
    /// Connection attempts per channel, for `connect_failures`.
    attempts: Mutex<HashMap<ChannelId, u32>>,
    /// Per channel: sends refused with 429 so far, and the idempotency keys already sent.
    sends: Mutex<HashMap<ChannelId, SendLog>>,
    /// Media downloads served, in all.
    fetches: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct SendLog {
    rate_limited: u32,
    sent: HashSet<String>,
    /// Idempotency keys in the order the network accepted them.
    order: Vec<String>,
    /// The files the channel's sends carried.
    media: Vec<ReceivedMedia>,
    /// The quick-reply buttons of each send that had some: its idempotency key, the labels.
    buttons: Vec<(String, Vec<String>)>,
}

/// A file a send delivered to the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMedia {
    /// The send's idempotency key.
    pub key: String,
    pub file_name: String,
    pub mime_type: String,
    pub bytes: usize,
}

const NAMES: [&str; 10] = [
    "Maria Lopez",
    "Tom Becker",
    "Aiko Tanaka",
    "Samuel Okafor",
    "Lena Novak",
    "Ravi Patel",
    "Chloe Martin",
    "Jonas Berg",
    "Fatima Haddad",
    "Diego Rossi",
];

fn random_hex(bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

impl MockNetwork {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            flows: Mutex::new(HashMap::new()),
            connected: Mutex::new(HashSet::new()),
            sinks: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
            sends: Mutex::new(HashMap::new()),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many media downloads the network has served.
    pub fn media_fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The idempotency keys of the channel's accepted sends, in the order the network took them.
    pub fn accepted(&self, channel_id: ChannelId) -> Vec<String> {
        self.sends.lock().expect("mock lock").get(&channel_id).map(|l| l.order.clone()).unwrap_or_default()
    }

    /// The files the channel's sends delivered, in order.
    pub fn received_media(&self, channel_id: ChannelId) -> Vec<ReceivedMedia> {
        self.sends.lock().expect("mock lock").get(&channel_id).map(|l| l.media.clone()).unwrap_or_default()
    }

    /// The quick-reply buttons the channel's sends showed, in order: each send's idempotency
    /// key and labels.
    pub fn received_buttons(&self, channel_id: ChannelId) -> Vec<(String, Vec<String>)> {
        self.sends.lock().expect("mock lock").get(&channel_id).map(|l| l.buttons.clone()).unwrap_or_default()
    }

    /// Whether the channel holds a live connection to the network.
    pub fn is_connected(&self, channel_id: ChannelId) -> bool {
        self.sinks.lock().expect("mock lock").contains_key(&channel_id)
    }

    /// Simulates the network dropping the channel's connection.
    pub fn sever(&self, channel_id: ChannelId) {
        self.connected.lock().expect("mock lock").remove(&channel_id);
        let sink = self.sinks.lock().expect("mock lock").remove(&channel_id);
        if let Some(sink) = sink {
            sink.emit(ChannelEvent::Disconnected { reason: "the network dropped the connection".into() });
        }
    }
}

impl MockNetwork {
    /// The contact's phone: receipts, then an answer, each after its configured delay.
    fn simulate_recipient(
        &self,
        config: &MockConfig,
        sink: Arc<dyn EventSink>,
        external_id: &str,
        contact: &Contact,
        text: &str,
        pressed: Option<&str>,
    ) {
        let ms = std::time::Duration::from_millis;
        let media = media::requested(text);
        let mut plan = vec![
            (
                ms(config.delivered_after_ms),
                ChannelEvent::MessageStatus {
                    external_id: external_id.to_owned(),
                    status: DeliveryStatus::Delivered,
                    error: None,
                },
            ),
            (
                ms(config.read_after_ms.max(config.delivered_after_ms)),
                ChannelEvent::MessageStatus {
                    external_id: external_id.to_owned(),
                    status: DeliveryStatus::Read,
                    error: None,
                },
            ),
        ];
        if let Some(after) = config.reply_after_ms {
            let reply = ProviderMessage {
                external_id: format!("{external_id}-reply"),
                contact_id: contact.external_id.clone(),
                direction: Direction::Inbound,
                text: match (pressed, media.is_empty()) {
                    (Some(label), _) => label.to_owned(),
                    (None, true) => config.reply_text.replace("{text}", text),
                    (None, false) => String::new(),
                },
                sent_at: switchboard::time::after_millis(switchboard::time::now(), after),
                media: media.clone(),
                reply_to: None,
                sender_name: None,
            };
            plan.push((ms(after), ChannelEvent::MessageReceived { message: reply }));
        }
        plan.sort_by_key(|(delay, _)| *delay);
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            for (delay, event) in plan {
                tokio::time::sleep_until(start + delay).await;
                sink.emit(event);
            }
        });
    }
}

fn contact(index: u32) -> Contact {
    let name = NAMES[index as usize % NAMES.len()];
    let name = if index as usize >= NAMES.len() {
        format!("{name} {}", index as usize / NAMES.len() + 1)
    } else {
        name.to_owned()
    };
    Contact { external_id: format!("+1555{:07}", index + 1), name }
}

fn config_of(channel: &Channel) -> Result<MockConfig, ProviderError> {
    Ok(MockConfig::parse(&channel.config)?)
}

#[async_trait]
impl Provider for MockNetwork {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Mock
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            auth_methods: vec![AuthMethod::Qr, AuthMethod::Otp, AuthMethod::PairingCode, AuthMethod::Token],
            presence: true,
            history: true,
            webhook_driven: false,
            pairing_needs_phone: true,
            reply_window_secs: None,
            templates: false,
            read_receipts: false,
            reactions: false,
            edits: false,
            delivery_receipts: true,
            linking_methods: Vec::new(),
            buttons: Some(BUTTONS),
        }
    }

    fn secret_config_keys(&self) -> &'static [&'static str] {
        &["webhook_secret"]
    }

    /// The Mock network's phone is a page of this server: say where to go on it.
    fn auth_hint(&self, prompt: &AuthPrompt) -> Option<AuthHint> {
        Some(auth::hint(prompt))
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), ValidationError> {
        MockConfig::parse(config).map(|_| ())
    }

    async fn start_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        method: AuthMethod,
        phone: Option<&str>,
    ) -> Result<AuthPrompt, ProviderError> {
        let config = config_of(channel)?;
        if method == AuthMethod::PairingCode {
            let digits = phone.unwrap_or_default().chars().filter(char::is_ascii_digit).count();
            if !(7..=15).contains(&digits) {
                return Err(ValidationError::new(
                    "phone",
                    "a pairing code needs the account's phone number (7 to 15 digits)",
                )
                .into());
            }
        }
        let flow = self.new_flow(channel, method, &config);
        let prompt = self.prompt_of(&flow);
        self.flows.lock().expect("mock lock").insert(channel.id, flow);
        Ok(prompt)
    }

    async fn submit_auth(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        submission: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError> {
        let now = switchboard::time::now();
        let mut flows = self.flows.lock().expect("mock lock");
        let Some(flow) = flows.get_mut(&channel.id) else {
            return Err(ValidationError::new("auth", "No sign-in is under way: start one first").into());
        };
        let answer = match (&submission, flow.method) {
            (AuthSubmission::Token { .. }, AuthMethod::Token) => {
                let token = submission.token_field("token", true)?;
                if !token_is_valid(&token) {
                    return Err(ValidationError::new(
                        "token",
                        format!("Mock tokens look like mock_ followed by at least {TOKEN_MIN_LEN} letters or digits"),
                    )
                    .into());
                }
                flow.state = FlowState::Authenticated(serde_json::json!({ "token": token }));
                let credentials = serde_json::json!({ "token": token });
                return Ok(AuthProgress::Authenticated { credentials, identity: None });
            }
            (AuthSubmission::Otp { value }, AuthMethod::Otp)
            | (AuthSubmission::PairingCode { value }, AuthMethod::PairingCode) => value,
            _ => {
                return Err(
                    ValidationError::new("kind", "This answer does not match the sign-in under way").into()
                );
            }
        };
        if now >= flow.expires_at {
            flow.state = FlowState::Expired;
            return Ok(AuthProgress::Expired);
        }
        if normalize_code(answer) != normalize_code(&flow.secret) {
            return Err(ValidationError::new("value", "The code is not right").into());
        }
        let credentials = serde_json::json!({ "session": random_hex(24) });
        flow.state = FlowState::Authenticated(credentials.clone());
        Ok(AuthProgress::Authenticated { credentials, identity: None })
    }

    async fn auth_progress(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> AuthProgress {
        let Ok(config) = config_of(channel) else {
            return AuthProgress::Failed("the channel's config is invalid".into());
        };
        let now = switchboard::time::now();
        let mut flows = self.flows.lock().expect("mock lock");
        let Some(flow) = flows.get_mut(&channel.id) else { return AuthProgress::Idle };
        if flow.state == FlowState::Pending {
            let confirm_at =
                config.auth_confirm_after_ms.map(|ms| switchboard::time::after_millis(flow.started_at, ms));
            let auto = matches!(flow.method, AuthMethod::Otp | AuthMethod::PairingCode);
            if auto && confirm_at.is_some_and(|at| now >= at) && now < flow.expires_at {
                flow.state = FlowState::Authenticated(serde_json::json!({ "session": random_hex(24) }));
            } else if now >= flow.expires_at {
                if flow.method == AuthMethod::Qr {
                    // A QR is renewed, like a phone app shows a fresh one.
                    let renewed = self.new_flow(channel, AuthMethod::Qr, &config);
                    *flow = renewed;
                } else {
                    flow.state = FlowState::Expired;
                }
            }
        }
        match &flow.state {
            FlowState::Pending => AuthProgress::Pending(self.prompt_of(flow)),
            FlowState::Authenticated(credentials) => {
                AuthProgress::Authenticated { credentials: credentials.clone(), identity: None }
            }
            FlowState::Expired => AuthProgress::Expired,
        }
    }

    async fn logout(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> Result<(), ProviderError> {
        self.flows.lock().expect("mock lock").remove(&channel.id);
        self.connected.lock().expect("mock lock").remove(&channel.id);
        Ok(())
    }

    async fn connect(
        &self,
        channel: &Channel,
        _credentials: &serde_json::Value,
        _cursor: Option<&str>,
        sink: Arc<dyn EventSink>,
    ) -> Result<(), ProviderError> {
        let config = config_of(channel)?;
        let attempt = {
            let mut attempts = self.attempts.lock().expect("mock lock");
            let n = attempts.entry(channel.id).or_default();
            *n += 1;
            *n
        };
        if attempt <= config.connect_failures {
            return Err(ProviderError::Retryable {
                message: format!("simulated failure {attempt} of {}", config.connect_failures),
                after_secs: None,
            });
        }
        self.flows.lock().expect("mock lock").remove(&channel.id);
        self.connected.lock().expect("mock lock").insert(channel.id);
        self.sinks.lock().expect("mock lock").insert(channel.id, sink.clone());
        sink.emit(ChannelEvent::Connected);
        let contacts: Vec<Contact> = (0..config.contacts).map(contact).collect();
        sink.emit(ChannelEvent::ContactsUpdated { contacts: contacts.clone() });
        // Every other contact is online; each contact's recent history follows.
        for (n, c) in contacts.iter().enumerate() {
            sink.emit(ChannelEvent::Presence { contact_id: c.external_id.clone(), online: n % 2 == 0 });
        }
        if config.history_on_connect {
            for c in &contacts {
                let messages = self.load_history(channel, None, &c.external_id, None, 10).await?;
                sink.emit(ChannelEvent::History { contact_id: c.external_id.clone(), messages });
            }
        }
        Ok(())
    }

    async fn disconnect(&self, channel: &Channel) {
        self.connected.lock().expect("mock lock").remove(&channel.id);
        self.sinks.lock().expect("mock lock").remove(&channel.id);
    }

    async fn list_contacts(&self, channel: &Channel) -> Result<Vec<Contact>, ProviderError> {
        Ok((0..config_of(channel)?.contacts).map(contact).collect())
    }

    async fn load_history(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        contact_id: &str,
        before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<ProviderMessage>, ProviderError> {
        let contacts = self.list_contacts(channel).await?;
        let Some(index) = contacts.iter().position(|c| c.external_id == contact_id) else {
            return Err(ProviderError::Permanent { message: format!("unknown contact {contact_id}") });
        };
        // Ten messages per contact, an hour apart, ending a day before the channel was created.
        let end = channel.created_at - Duration::days(1);
        let all = (0..10u32).map(|n| ProviderMessage {
            external_id: format!("mock-hist-{index}-{n}"),
            contact_id: contact_id.to_owned(),
            direction: if n % 2 == 0 { Direction::Inbound } else { Direction::Outbound },
            text: format!("Earlier message {} with {}", 10 - n, contacts[index].name),
            sent_at: end - Duration::hours(n as i64),
            media: Vec::new(),
            reply_to: None,
            sender_name: None,
        });
        Ok(all.filter(|m| before.is_none_or(|b| m.sent_at < b)).take(limit).collect())
    }

    async fn fetch_media(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        source: &str,
    ) -> Result<Vec<u8>, ProviderError> {
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        media::fetch(source)
    }

    fn verify_webhook(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), ProviderError> {
        use hmac::{Hmac, Mac};
        let refuse = |why: &str| ProviderError::Permanent { message: why.to_owned() };
        let secret = config_of(channel)?
            .webhook_secret
            .ok_or_else(|| refuse("webhooks are not enabled for this channel"))?;
        let given = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-mock-signature"))
            .and_then(|(_, v)| v.strip_prefix("sha256="))
            .and_then(|hex_sig| hex::decode(hex_sig).ok())
            .ok_or_else(|| refuse("missing or malformed signature"))?;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&given).map_err(|_| refuse("bad signature"))
    }

    fn parse_webhook(&self, _channel: &Channel, body: &[u8]) -> Result<Vec<ChannelEvent>, ProviderError> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
        enum Hook {
            Message {
                id: String,
                from: String,
                name: Option<String>,
                #[serde(default)]
                text: String,
                #[serde(default)]
                media: Vec<HookMedia>,
            },
            Status {
                id: String,
                status: DeliveryStatus,
            },
            Edit {
                id: String,
                text: String,
            },
            Revoke {
                id: String,
            },
            Chat {
                id: String,
                title: String,
            },
            ChannelStatus {
                status: switchboard::ChannelStatus,
                error: Option<String>,
            },
            Presence {
                id: String,
                online: bool,
            },
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct HookMedia {
            kind: switchboard::media::AttachmentKind,
            #[serde(default)]
            source: String,
            file_name: Option<String>,
            duration_ms: Option<u64>,
            location: Option<switchboard::media::GeoPoint>,
            contact: Option<switchboard::media::ContactCard>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            events: Vec<Hook>,
        }
        let body: Body =
            serde_json::from_slice(body).map_err(|e| ValidationError::new("body", e.to_string()))?;
        let mut out = Vec::new();
        for hook in body.events {
            match hook {
                Hook::Message { id, from, name, text, media } => {
                    if let Some(name) = name {
                        out.push(ChannelEvent::ContactsUpdated {
                            contacts: vec![Contact { external_id: from.clone(), name }],
                        });
                    }
                    let message = ProviderMessage {
                        external_id: id,
                        contact_id: from,
                        direction: Direction::Inbound,
                        text,
                        sent_at: switchboard::time::now(),
                        media: media
                            .into_iter()
                            .map(|m| switchboard::provider::InboundMedia {
                                kind: m.kind,
                                source: m.source,
                                file_name: m.file_name,
                                duration_ms: m.duration_ms,
                                location: m.location,
                                contact: m.contact,
                            })
                            .collect(),
                        reply_to: None,
                        sender_name: None,
                    };
                    out.push(ChannelEvent::MessageReceived { message });
                }
                Hook::Status { id, status } => {
                    out.push(ChannelEvent::MessageStatus { external_id: id, status, error: None })
                }
                Hook::Edit { id, text } => out.push(ChannelEvent::MessageEdited { external_id: id, text }),
                Hook::Revoke { id } => out.push(ChannelEvent::MessageRevoked { external_id: id }),
                Hook::Chat { id, title } => out.push(ChannelEvent::ChatUpdated { chat_id: id, title }),
                Hook::ChannelStatus { status, error } => {
                    out.push(ChannelEvent::StatusChanged { status, last_error: error })
                }
                Hook::Presence { id, online } => out.push(ChannelEvent::Presence { contact_id: id, online }),
            }
        }
        Ok(out)
    }

    async fn send(
        &self,
        channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        let config = config_of(channel)?;
        let Some(sink) = self.sinks.lock().expect("mock lock").get(&channel.id).cloned() else {
            return Err(ProviderError::Retryable {
                message: "the channel is not connected".into(),
                after_secs: None,
            });
        };
        let contacts = self.list_contacts(channel).await?;
        let Some(contact) = contacts.into_iter().find(|c| c.external_id == message.contact_id) else {
            return Err(ProviderError::Permanent {
                message: format!("unknown contact {}", message.contact_id),
            });
        };
        if !BUTTONS.fit(&message.buttons) {
            return Err(ProviderError::Permanent {
                message: format!(
                    "the network shows at most {} buttons of {} characters",
                    BUTTONS.max, BUTTONS.max_label
                ),
            });
        }
        if config.reject_contacts.contains(&contact.external_id) {
            return Err(ProviderError::Permanent {
                message: format!("{} does not accept messages", contact.name),
            });
        }
        // The idempotency key makes the network's id stable: a retried send is the same message.
        let external_id = format!("mock-{}", message.idempotency_key);
        {
            let mut sends = self.sends.lock().expect("mock lock");
            let log = sends.entry(channel.id).or_default();
            if log.sent.contains(&message.idempotency_key) {
                return Ok(external_id);
            }
            if config.outage_until.is_some_and(|until| switchboard::time::now() < until) {
                return Err(ProviderError::Retryable {
                    message: "the network is down".into(),
                    after_secs: None,
                });
            }
            if log.rate_limited < config.rate_limit_next {
                log.rate_limited += 1;
                return Err(ProviderError::RateLimited {
                    scope: switchboard::provider::RateLimitScope::Channel,
                    retry_after_secs: config.rate_limit_retry_after_secs,
                });
            }
            if config.failure_rate > 0.0 && rand::random::<f64>() < config.failure_rate {
                return Err(ProviderError::Retryable {
                    message: "simulated send failure".into(),
                    after_secs: None,
                });
            }
            log.sent.insert(message.idempotency_key.clone());
            log.order.push(message.idempotency_key.clone());
            if !message.buttons.is_empty() {
                log.buttons.push((message.idempotency_key.clone(), message.buttons.clone()));
            }
            log.media.extend(message.media.iter().map(|m| ReceivedMedia {
                key: message.idempotency_key.clone(),
                file_name: m.attachment.file_name.clone(),
                mime_type: m.attachment.mime_type.clone(),
                bytes: m.bytes.len(),
            }));
        }
        let said = match (message.text.is_empty(), message.media.first()) {
            (true, Some(first)) => first.attachment.label(),
            _ => message.text.clone(),
        };
        // A contact who presses a button answers with its label.
        let pressed = config
            .press_button
            .and_then(|n| message.buttons.get(usize::from(n).saturating_sub(1)))
            .map(String::as_str);
        self.simulate_recipient(&config, sink, &external_id, &contact, &said, pressed);
        Ok(external_id)
    }
}

#[cfg(test)]
mod tests;
