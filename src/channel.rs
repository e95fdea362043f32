//! Channels: the messaging accounts a workspace connects (a WhatsApp number, a Telegram bot,
//! an in-app chat app, a Mock account), and the commands that create and change them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, WorkspaceId};
use crate::validate::{self, ValidationError};

/// The network adapter a channel speaks through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// The simulated network: the demo and every test run on it.
    Mock,
    WhatsappCloud,
    Whapi,
    Telegram,
    Inapp,
    /// A network Switchboard does not know, plugged in by its integrator: inbound messages are
    /// posted to the API (signed JWTs), outbound ones go to the integrator's callback URL.
    Api,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::Mock,
        ProviderKind::WhatsappCloud,
        ProviderKind::Whapi,
        ProviderKind::Telegram,
        ProviderKind::Inapp,
        ProviderKind::Api,
    ];

    /// How long after the contact's last message a free-form reply may go out: WhatsApp's
    /// Cloud API allows 24 hours (then only templates); the others have no window.
    pub fn reply_window_secs(&self) -> Option<u64> {
        match self {
            ProviderKind::WhatsappCloud => Some(24 * 3600),
            _ => None,
        }
    }

    /// Whether an agent may write to someone who has not written first (`POST
    /// /conversations/start`): a Telegram bot may not (the person starts it), in-app channels
    /// have rooms instead; WhatsApp's Cloud API may, with a template (its reply window is closed).
    pub fn starts_conversations(&self) -> bool {
        matches!(
            self,
            ProviderKind::Mock | ProviderKind::WhatsappCloud | ProviderKind::Whapi | ProviderKind::Api
        )
    }

    /// Whether a contact's id on this network is a phone number (digits, country code first).
    pub fn phone_ids(&self) -> bool {
        matches!(self, ProviderKind::WhatsappCloud | ProviderKind::Whapi)
    }

    /// The stable name used in the API and the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::Mock => "mock",
            ProviderKind::WhatsappCloud => "whatsapp_cloud",
            ProviderKind::Whapi => "whapi",
            ProviderKind::Telegram => "telegram",
            ProviderKind::Inapp => "inapp",
            ProviderKind::Api => "api",
        }
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProviderKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!(
                "unknown provider `{s}` (expected one of mock, whatsapp_cloud, whapi, telegram, inapp, api)"
            )
        })
    }
}

/// Where a channel stands with its network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    /// Created or logged out: no session with the network.
    Disconnected,
    /// An auth flow is under way (a QR shown, a code waiting).
    PendingAuth,
    /// Working.
    Connected,
    /// Working but limited (rate limited, retrying).
    Degraded,
    /// Not working; `last_error` says why.
    Failed,
}

impl ChannelStatus {
    pub const ALL: [ChannelStatus; 5] = [
        ChannelStatus::Disconnected,
        ChannelStatus::PendingAuth,
        ChannelStatus::Connected,
        ChannelStatus::Degraded,
        ChannelStatus::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelStatus::Disconnected => "disconnected",
            ChannelStatus::PendingAuth => "pending_auth",
            ChannelStatus::Connected => "connected",
            ChannelStatus::Degraded => "degraded",
            ChannelStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for ChannelStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown channel status `{s}`"))
    }
}

/// A connected (or connecting) messaging account. Credentials are never part of this type:
/// they stay encrypted in the store and inside the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub provider: ProviderKind,
    pub name: String,
    pub status: ChannelStatus,
    /// Provider settings that are not secret (the Mock's knobs, a phone number id, …).
    pub config: serde_json::Value,
    /// Why the channel last failed or degraded, in words.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What to paste into the network's console so its webhooks reach this channel (owners and
    /// admins, networks that deliver by webhook only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSetup>,
    /// How the import of the account's recent chats went (linked-device channels), if one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_import: Option<HistoryImport>,
}

/// Where a channel's history import stands: the recent chats a newly linked phone already had,
/// imported in the background so the inbox does not open empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryImport {
    pub state: HistoryImportState,
    /// Chats imported so far, of `chats_total` listed.
    pub chats_done: u32,
    pub chats_total: u32,
    /// Messages added (a repeated import adds none: it finds them all recorded).
    pub messages_added: u64,
    /// Why it stopped, in words (`failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HistoryImportState {
    Running,
    Done,
    Failed,
}

/// Who a channel is on its network, as the network said at sign-in (the admin page shows it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelIdentity {
    /// The account's number as the network shows it (`+1 555-0100`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Its name there (WhatsApp's verified business name, a bot's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A channel's webhook, as the network's console asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookSetup {
    /// The callback URL.
    pub url: String,
    /// The token the network echoes when it checks the URL (Meta's "verify token").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
}

/// A linked-device channel's `last_error` while its phone is unlinked from the gateway: the
/// inbox shows admins a banner to link it again when a `pending_auth` channel says this.
pub const PHONE_UNLINKED: &str = "The phone was unlinked from the gateway: link it again.";

/// What a secret config value reads as once set: secrets are write-only for every role.
/// Sending this value back in an update keeps the stored secret (so a form that round-trips
/// the config does not erase it).
pub const SECRET_MASK: &str = "********";

impl Channel {
    /// The channel as `role` may read it: owners and admins see the config with every key in
    /// `secret_keys` masked; agents see no config at all (name, provider, status and health are
    /// what the inbox needs).
    pub fn redacted(mut self, role: crate::MemberRole, secret_keys: &[&str]) -> Self {
        if !role.is_admin() {
            self.config = serde_json::Value::Object(Default::default());
            return self;
        }
        if let Some(map) = self.config.as_object_mut() {
            for key in secret_keys {
                if let Some(value) = map.get_mut(*key).filter(|v| !v.is_null()) {
                    *value = serde_json::Value::String(SECRET_MASK.to_owned());
                }
            }
        }
        self
    }
}

/// A config update with each masked secret (see [`SECRET_MASK`]) replaced by the value stored.
pub fn keep_masked_secrets(
    mut update: serde_json::Value,
    current: &serde_json::Value,
    secret_keys: &[&str],
) -> serde_json::Value {
    if let Some(map) = update.as_object_mut() {
        for key in secret_keys {
            if map.get(*key).and_then(|v| v.as_str()) == Some(SECRET_MASK) {
                match current.get(*key) {
                    Some(stored) => {
                        map.insert((*key).to_owned(), stored.clone());
                    }
                    None => {
                        map.remove(*key);
                    }
                }
            }
        }
    }
    update
}

/// Largest provider config accepted, serialized.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024;

/// `POST /api/v1/channels`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    pub provider: ProviderKind,
    pub name: String,
    #[serde(default = "empty_object")]
    pub config: serde_json::Value,
}

/// `PATCH /api/v1/channels/{id}`: fields left out stay as they are.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateChannel {
    pub name: Option<String>,
    pub config: Option<serde_json::Value>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// Checks a channel name.
pub fn channel_name(raw: &str) -> Result<String, ValidationError> {
    validate::name("name", raw)
}

/// Checks the shape shared by every provider's config: a JSON object of bounded size.
pub fn channel_config(config: &serde_json::Value) -> Result<(), ValidationError> {
    if !config.is_object() {
        return Err(ValidationError::new("config", "must be a JSON object"));
    }
    if serde_json::to_vec(config).map(|v| v.len()).unwrap_or(usize::MAX) > MAX_CONFIG_BYTES {
        return Err(ValidationError::new("config", format!("is larger than {MAX_CONFIG_BYTES} bytes")));
    }
    validate::json_without_nul("config", config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ProviderKind::ALL {
            assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for status in ChannelStatus::ALL {
            assert_eq!(status.as_str().parse::<ChannelStatus>().unwrap(), status);
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!("signal".parse::<ProviderKind>().is_err());
    }

    #[test]
    fn configs_must_be_bounded_objects() {
        assert!(channel_config(&serde_json::json!({"a": 1})).is_ok());
        assert_eq!(channel_config(&serde_json::json!([1])).unwrap_err().field, "config");
        let big = serde_json::json!({ "x": "y".repeat(MAX_CONFIG_BYTES) });
        assert!(channel_config(&big).is_err());
    }

    fn channel(config: serde_json::Value) -> Channel {
        let now = chrono::Utc::now();
        Channel {
            id: ChannelId::new(),
            workspace_id: WorkspaceId::new(),
            provider: ProviderKind::Mock,
            name: "Mock".into(),
            status: ChannelStatus::Connected,
            config,
            last_error: None,
            created_at: now,
            updated_at: now,
            webhook: None,
            history_import: None,
        }
    }

    #[test]
    fn secrets_are_masked_for_admins_and_config_hidden_from_agents() {
        use crate::MemberRole;
        let c = channel(serde_json::json!({"webhook_secret": "s3cr3t", "contacts": 3, "other": null}));
        let admin = c.clone().redacted(MemberRole::Admin, &["webhook_secret", "other"]);
        assert_eq!(
            admin.config,
            serde_json::json!({"webhook_secret": SECRET_MASK, "contacts": 3, "other": null})
        );
        let owner = c.clone().redacted(MemberRole::Owner, &["webhook_secret"]);
        assert!(!owner.config.to_string().contains("s3cr3t"));
        let agent = c.redacted(MemberRole::Agent, &[]);
        assert_eq!(agent.config, serde_json::json!({}));
    }

    #[test]
    fn a_masked_secret_sent_back_keeps_the_stored_one() {
        let current = serde_json::json!({"webhook_secret": "s3cr3t"});
        let keys = ["webhook_secret"];
        let kept =
            keep_masked_secrets(serde_json::json!({"webhook_secret": SECRET_MASK, "a": 1}), &current, &keys);
        assert_eq!(kept, serde_json::json!({"webhook_secret": "s3cr3t", "a": 1}));
        let changed = keep_masked_secrets(serde_json::json!({"webhook_secret": "new"}), &current, &keys);
        assert_eq!(changed["webhook_secret"], "new");
        let none = keep_masked_secrets(
            serde_json::json!({"webhook_secret": SECRET_MASK}),
            &serde_json::json!({}),
            &keys,
        );
        assert_eq!(none, serde_json::json!({}));
    }

    #[test]
    fn create_requests_default_to_an_empty_config() {
        let req: CreateChannel = serde_json::from_str(r#"{"provider":"mock","name":"Mock"}"#).unwrap();
        assert_eq!(req.config, serde_json::json!({}));
        assert!(
            serde_json::from_str::<CreateChannel>(r#"{"provider":"mock","name":"x","secret":1}"#).is_err()
        );
    }
}
