//! The Mock network: a simulated messaging network with QR, one-time-code, pairing-code and
//! token sign-in, deterministic contacts and history, so the demo and every test run with no
//! outside service.
//!
//! Knobs (the channel's `config`, all optional):
//! - `qr_ttl_secs` (default 60): a QR prompt's lifetime; an expired QR is renewed.
//! - `code_ttl_secs` (default 120): an OTP or pairing code's lifetime.
//! - `auth_confirm_after_ms` (default none): the network confirms a pending OTP or pairing code
//!   by itself after this delay, as a phone would.
//! - `contacts` (default 3, at most 50): how many contacts the account has.
//! - `connect_failures` (default 0): the first N connection attempts fail, to exercise the
//!   runtime's restart with backoff.
//!
//! Tokens look like `mock_` followed by at least 24 letters or digits.
//! Pairing: the QR's value is `{public_url}/mock/pair/{token}` (opening it is "the phone
//! scanning"); codes can be typed at `{public_url}/mock/pair`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use switchboard::provider::{
    AuthMethod, AuthProgress, AuthPrompt, AuthSubmission, Capabilities, ChannelEvent, Contact, Direction,
    EventSink, OutboundMessage, Provider, ProviderError, ProviderMessage,
};
use switchboard::validate::ValidationError;
use switchboard::{Channel, ChannelId, ProviderKind, WorkspaceId};

/// The Mock channel's knobs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MockConfig {
    pub qr_ttl_secs: u64,
    pub code_ttl_secs: u64,
    pub auth_confirm_after_ms: Option<u64>,
    pub contacts: u32,
    /// The first N connection attempts of the channel fail (a flaky network).
    pub connect_failures: u32,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            qr_ttl_secs: 60,
            code_ttl_secs: 120,
            auth_confirm_after_ms: None,
            contacts: 3,
            connect_failures: 0,
        }
    }
}

/// Most contacts a Mock account may have.
pub const MAX_CONTACTS: u32 = 50;
/// Shortest token body after `mock_`.
pub const TOKEN_MIN_LEN: usize = 24;

impl MockConfig {
    fn parse(config: &serde_json::Value) -> Result<Self, ValidationError> {
        let parsed: MockConfig = serde_json::from_value(config.clone())
            .map_err(|e| ValidationError::new("config", e.to_string()))?;
        if parsed.contacts > MAX_CONTACTS {
            return Err(ValidationError::new("config", format!("contacts must be at most {MAX_CONTACTS}")));
        }
        if parsed.qr_ttl_secs == 0 || parsed.code_ttl_secs == 0 {
            return Err(ValidationError::new("config", "ttl values must be at least 1 second"));
        }
        Ok(parsed)
    }
}

/// A flow under way for one channel.
#[derive(Clone, Debug)]
struct Flow {
    workspace_id: WorkspaceId,
    method: AuthMethod,
    started_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// The QR's pairing token, or the code to confirm.
    secret: String,
    state: FlowState,
}

#[derive(Clone, Debug, PartialEq)]
enum FlowState {
    Pending,
    Authenticated(serde_json::Value),
    Expired,
}

/// The simulated network. One per server; keyed by channel id inside.
pub struct MockNetwork {
    public_url: String,
    flows: Mutex<HashMap<ChannelId, Flow>>,
    connected: Mutex<HashSet<ChannelId>>,
    /// Where each connected channel's events go.
    sinks: Mutex<HashMap<ChannelId, Arc<dyn EventSink>>>,
    /// Connection attempts per channel, for `connect_failures`.
    attempts: Mutex<HashMap<ChannelId, u32>>,
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
        }
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

    fn new_flow(&self, channel: &Channel, method: AuthMethod, config: &MockConfig) -> (Flow, AuthPrompt) {
        let now = switchboard::time::now();
        let (secret, ttl) = match method {
            AuthMethod::Qr => (random_hex(16), config.qr_ttl_secs),
            AuthMethod::Otp => (format!("{:06}", rand::random::<u32>() % 1_000_000), config.code_ttl_secs),
            AuthMethod::PairingCode => {
                let raw = random_hex(4).to_uppercase();
                (format!("{}-{}", &raw[..4], &raw[4..]), config.code_ttl_secs)
            }
            AuthMethod::Token => (String::new(), u64::MAX / 4_000_000),
        };
        let expires_at = now + Duration::seconds(ttl as i64);
        let prompt = match method {
            AuthMethod::Qr => {
                AuthPrompt::Qr { value: format!("{}/mock/pair/{secret}", self.public_url), expires_at }
            }
            AuthMethod::Otp => AuthPrompt::Otp { code: secret.clone(), expires_at },
            AuthMethod::PairingCode => AuthPrompt::PairingCode { code: secret.clone(), expires_at },
            AuthMethod::Token => AuthPrompt::Token {
                label: "Mock API token".into(),
                placeholder: format!("mock_{}", "x".repeat(TOKEN_MIN_LEN)),
                masked: true,
            },
        };
        let flow = Flow {
            workspace_id: channel.workspace_id,
            method,
            started_at: now,
            expires_at,
            secret,
            state: FlowState::Pending,
        };
        (flow, prompt)
    }

    fn prompt_of(&self, flow: &Flow) -> AuthPrompt {
        match flow.method {
            AuthMethod::Qr => AuthPrompt::Qr {
                value: format!("{}/mock/pair/{}", self.public_url, flow.secret),
                expires_at: flow.expires_at,
            },
            AuthMethod::Otp => AuthPrompt::Otp { code: flow.secret.clone(), expires_at: flow.expires_at },
            AuthMethod::PairingCode => {
                AuthPrompt::PairingCode { code: flow.secret.clone(), expires_at: flow.expires_at }
            }
            AuthMethod::Token => AuthPrompt::Token {
                label: "Mock API token".into(),
                placeholder: format!("mock_{}", "x".repeat(TOKEN_MIN_LEN)),
                masked: true,
            },
        }
    }

    /// "The phone scans the QR": completes the flow whose QR carries `token`. Returns the
    /// channel (workspace, id) so the server can finish the auth, or `None` for an unknown or
    /// expired QR.
    pub fn scan(&self, token: &str) -> Option<(WorkspaceId, ChannelId)> {
        self.confirm(|flow| flow.method == AuthMethod::Qr && flow.secret == token)
    }

    /// "The user types the code into the phone": completes the OTP or pairing-code flow with
    /// this code (case and dashes ignored).
    pub fn enter_code(&self, code: &str) -> Option<(WorkspaceId, ChannelId)> {
        let wanted = normalize_code(code);
        if wanted.is_empty() {
            return None;
        }
        self.confirm(|flow| {
            matches!(flow.method, AuthMethod::Otp | AuthMethod::PairingCode)
                && normalize_code(&flow.secret) == wanted
        })
    }

    fn confirm(&self, matches: impl Fn(&Flow) -> bool) -> Option<(WorkspaceId, ChannelId)> {
        let now = switchboard::time::now();
        let mut flows = self.flows.lock().expect("mock lock");
        let (id, flow) = flows.iter_mut().find(|(_, f)| f.state == FlowState::Pending && matches(f))?;
        if now >= flow.expires_at {
            return None;
        }
        flow.state = FlowState::Authenticated(serde_json::json!({ "session": random_hex(24) }));
        Some((flow.workspace_id, *id))
    }
}

fn normalize_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

fn token_is_valid(token: &str) -> bool {
    token
        .strip_prefix("mock_")
        .is_some_and(|body| body.len() >= TOKEN_MIN_LEN && body.chars().all(|c| c.is_ascii_alphanumeric()))
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
        }
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), ValidationError> {
        MockConfig::parse(config).map(|_| ())
    }

    async fn start_auth(
        &self,
        channel: &Channel,
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
        let (flow, prompt) = self.new_flow(channel, method, &config);
        self.flows.lock().expect("mock lock").insert(channel.id, flow);
        Ok(prompt)
    }

    async fn submit_auth(
        &self,
        channel: &Channel,
        submission: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError> {
        let now = switchboard::time::now();
        let mut flows = self.flows.lock().expect("mock lock");
        let Some(flow) = flows.get_mut(&channel.id) else {
            return Err(ValidationError::new("auth", "no sign-in is under way: start one first").into());
        };
        let answer = match (&submission, flow.method) {
            (AuthSubmission::Token { value }, AuthMethod::Token) => {
                if !token_is_valid(value.trim()) {
                    return Err(ValidationError::new(
                        "value",
                        format!("Mock tokens look like mock_ followed by at least {TOKEN_MIN_LEN} letters or digits"),
                    )
                    .into());
                }
                flow.state = FlowState::Authenticated(serde_json::json!({ "token": value.trim() }));
                return Ok(AuthProgress::Authenticated {
                    credentials: serde_json::json!({ "token": value.trim() }),
                });
            }
            (AuthSubmission::Otp { value }, AuthMethod::Otp)
            | (AuthSubmission::PairingCode { value }, AuthMethod::PairingCode) => value,
            _ => {
                return Err(
                    ValidationError::new("kind", "this answer does not match the sign-in under way").into()
                );
            }
        };
        if now >= flow.expires_at {
            flow.state = FlowState::Expired;
            return Ok(AuthProgress::Expired);
        }
        if normalize_code(answer) != normalize_code(&flow.secret) {
            return Err(ValidationError::new("value", "the code is not right").into());
        }
        let credentials = serde_json::json!({ "session": random_hex(24) });
        flow.state = FlowState::Authenticated(credentials.clone());
        Ok(AuthProgress::Authenticated { credentials })
    }

    async fn auth_progress(&self, channel: &Channel) -> AuthProgress {
        let Ok(config) = config_of(channel) else {
            return AuthProgress::Failed("the channel's config is invalid".into());
        };
        let now = switchboard::time::now();
        let mut flows = self.flows.lock().expect("mock lock");
        let Some(flow) = flows.get_mut(&channel.id) else { return AuthProgress::Idle };
        if flow.state == FlowState::Pending {
            let confirm_at =
                config.auth_confirm_after_ms.map(|ms| flow.started_at + Duration::milliseconds(ms as i64));
            let auto = matches!(flow.method, AuthMethod::Otp | AuthMethod::PairingCode);
            if auto && confirm_at.is_some_and(|at| now >= at) && now < flow.expires_at {
                flow.state = FlowState::Authenticated(serde_json::json!({ "session": random_hex(24) }));
            } else if now >= flow.expires_at {
                if flow.method == AuthMethod::Qr {
                    // A QR is renewed, like a phone app shows a fresh one.
                    let (renewed, _) = self.new_flow(channel, AuthMethod::Qr, &config);
                    *flow = renewed;
                } else {
                    flow.state = FlowState::Expired;
                }
            }
        }
        match &flow.state {
            FlowState::Pending => AuthProgress::Pending(self.prompt_of(flow)),
            FlowState::Authenticated(credentials) => {
                AuthProgress::Authenticated { credentials: credentials.clone() }
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
        sink.emit(ChannelEvent::ContactsUpdated { contacts: (0..config.contacts).map(contact).collect() });
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
        });
        Ok(all.filter(|m| before.is_none_or(|b| m.sent_at < b)).take(limit).collect())
    }

    async fn send(&self, channel: &Channel, message: OutboundMessage) -> Result<String, ProviderError> {
        if !self.connected.lock().expect("mock lock").contains(&channel.id) {
            return Err(ProviderError::Retryable {
                message: "the channel is not connected".into(),
                after_secs: None,
            });
        }
        let contacts = self.list_contacts(channel).await?;
        if !contacts.iter().any(|c| c.external_id == message.contact_id) {
            return Err(ProviderError::Permanent {
                message: format!("unknown contact {}", message.contact_id),
            });
        }
        // The idempotency key makes the network's id stable: a retried send is the same message.
        Ok(format!("mock-{}", message.idempotency_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(config: serde_json::Value) -> Channel {
        let now = switchboard::time::now();
        Channel {
            id: ChannelId::new(),
            workspace_id: WorkspaceId::new(),
            provider: ProviderKind::Mock,
            name: "M".into(),
            status: switchboard::ChannelStatus::Connected,
            config,
            last_error: None,
            created_at: now,
            updated_at: now,
        }
    }

    struct Collect(Mutex<Vec<ChannelEvent>>);
    impl EventSink for Collect {
        fn emit(&self, event: ChannelEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    #[tokio::test]
    async fn contacts_and_history_are_deterministic() {
        let net = MockNetwork::new("http://x");
        let ch = channel(serde_json::json!({"contacts": 12}));
        let contacts = net.list_contacts(&ch).await.unwrap();
        assert_eq!(contacts.len(), 12);
        assert_eq!(contacts, net.list_contacts(&ch).await.unwrap());
        assert_eq!(contacts[0], Contact { external_id: "+15550000001".into(), name: "Maria Lopez".into() });
        assert_eq!(contacts[10].name, "Maria Lopez 2", "names stay unique past the list");

        let history = net.load_history(&ch, "+15550000002", None, 4).await.unwrap();
        assert_eq!(history.len(), 4);
        assert!(history.windows(2).all(|w| w[0].sent_at > w[1].sent_at), "newest first");
        let older = net.load_history(&ch, "+15550000002", Some(history[3].sent_at), 100).await.unwrap();
        assert_eq!(older.len(), 6, "paging by time continues where the first page ended");
        assert!(net.load_history(&ch, "+19999", None, 5).await.is_err());
    }

    #[tokio::test]
    async fn sends_need_a_connection_and_a_known_contact_and_are_idempotent() {
        let net = MockNetwork::new("http://x");
        let ch = channel(serde_json::json!({}));
        let msg = OutboundMessage {
            idempotency_key: "k1".into(),
            contact_id: "+15550000001".into(),
            text: "hi".into(),
        };
        assert!(matches!(net.send(&ch, msg.clone()).await, Err(ProviderError::Retryable { .. })));

        let sink = Arc::new(Collect(Mutex::new(Vec::new())));
        net.connect(&ch, &serde_json::json!({}), sink.clone()).await.unwrap();
        let events = sink.0.lock().unwrap().clone();
        assert_eq!(events[0], ChannelEvent::Connected);
        assert!(matches!(&events[1], ChannelEvent::ContactsUpdated { contacts } if contacts.len() == 3));

        let first = net.send(&ch, msg.clone()).await.unwrap();
        assert_eq!(
            net.send(&ch, msg.clone()).await.unwrap(),
            first,
            "the same key gives the same network id"
        );
        let stranger = OutboundMessage { contact_id: "+1999".into(), ..msg };
        assert!(matches!(net.send(&ch, stranger).await, Err(ProviderError::Permanent { .. })));
    }

    #[test]
    fn token_shape_is_documented_and_enforced() {
        assert!(token_is_valid("mock_abcdefghijklmnopqrstuvwx"));
        assert!(!token_is_valid("mock_short"));
        assert!(!token_is_valid("mock_abcdefghijklmnopqrstuvw!"));
        assert!(!token_is_valid("tok_abcdefghijklmnopqrstuvwxyz"));
    }
}
