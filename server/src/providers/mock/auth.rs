//! The Mock network's sign-in: flows by QR, one-time code, pairing code and token, what each
//! prompt shows, and how "the phone" confirms one.

use chrono::{DateTime, Utc};
use switchboard::provider::{AuthHint, AuthLink, AuthMethod, AuthPrompt, TokenField};
use switchboard::{Channel, ChannelId, WorkspaceId};

use super::{MockConfig, MockNetwork, TOKEN_MIN_LEN, random_hex};

/// A flow under way for one channel.
#[derive(Clone, Debug)]
pub(super) struct Flow {
    pub(super) workspace_id: WorkspaceId,
    pub(super) method: AuthMethod,
    pub(super) started_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
    /// The QR's pairing token, or the code to confirm.
    pub(super) secret: String,
    pub(super) state: FlowState,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum FlowState {
    Pending,
    Authenticated(serde_json::Value),
    Expired,
}

impl MockNetwork {
    /// A fresh flow for `method`: a new secret (QR token or code) and its expiry.
    pub(super) fn new_flow(&self, channel: &Channel, method: AuthMethod, config: &MockConfig) -> Flow {
        let now = switchboard::time::now();
        let (secret, ttl) = match method {
            AuthMethod::Qr => (random_hex(16), config.qr_ttl_secs),
            AuthMethod::Otp => (format!("{:06}", rand::random::<u32>() % 1_000_000), config.code_ttl_secs),
            AuthMethod::PairingCode => {
                let raw = random_hex(4).to_uppercase();
                (format!("{}-{}", &raw[..4], &raw[4..]), config.code_ttl_secs)
            }
            AuthMethod::Token => (String::new(), u64::MAX),
        };
        Flow {
            workspace_id: channel.workspace_id,
            method,
            started_at: now,
            expires_at: switchboard::time::after_secs(now, ttl),
            secret,
            state: FlowState::Pending,
        }
    }

    pub(super) fn prompt_of(&self, flow: &Flow) -> AuthPrompt {
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
                fields: vec![TokenField::secret(
                    "token",
                    "Mock API token",
                    &format!("mock_{}", "x".repeat(TOKEN_MIN_LEN)),
                )],
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

pub(super) fn normalize_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

pub(super) fn token_is_valid(token: &str) -> bool {
    token
        .strip_prefix("mock_")
        .is_some_and(|body| body.len() >= TOKEN_MIN_LEN && body.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The Mock's words under each prompt: where its phone page is, what its tokens look like.
pub(super) fn hint(prompt: &AuthPrompt) -> AuthHint {
    let link = |label: &str, url: &str| Some(AuthLink { label: label.into(), url: url.into() });
    match prompt {
        AuthPrompt::Qr { value, .. } => AuthHint {
            text: "Mock network: the phone is a web page; open the QR's pairing link on it.".into(),
            link: link("Open the pairing link", value),
        },
        AuthPrompt::PairingCode { .. } => AuthHint {
            text: "Mock network: type the code on the Mock phone's pairing page.".into(),
            link: link("Open the Mock phone's pairing page", "/mock/pair"),
        },
        AuthPrompt::Otp { code, .. } => {
            AuthHint { text: format!("Mock network: the code it sent is {code}."), link: None }
        }
        AuthPrompt::Token { .. } => AuthHint {
            text: format!(
                "Mock network: a token is mock_ followed by at least {TOKEN_MIN_LEN} letters or digits."
            ),
            link: None,
        },
    }
}
