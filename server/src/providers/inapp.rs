//! In-app chat: the network is Switchboard itself. An in-app channel is connected from the
//! moment it exists (nothing to sign in to); its conversations are rooms of workspace members,
//! and a message is "sent" as soon as it is stored, since the realtime gateway delivers it.

use async_trait::async_trait;
use switchboard::provider::{
    AuthMethod, AuthProgress, AuthPrompt, AuthSubmission, Capabilities, OutboundMessage, Provider,
    ProviderError,
};
use switchboard::validate::ValidationError;
use switchboard::{Channel, ProviderKind};

#[derive(Debug, Default)]
pub struct InApp;

fn nothing_to_sign_in() -> ProviderError {
    ProviderError::Invalid(ValidationError::new(
        "method",
        "in-app channels are connected from the start: there is nothing to sign in to",
    ))
}

#[async_trait]
impl Provider for InApp {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Inapp
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            auth_methods: Vec::new(),
            presence: false,
            history: false,
            // No connection to keep: nothing runs for the channel.
            webhook_driven: true,
            pairing_needs_phone: false,
            reply_window_secs: None,
            templates: false,
            read_receipts: false,
            reactions: false,
            edits: false,
            delivery_receipts: false,
            linking_methods: Vec::new(),
            buttons: None,
        }
    }

    fn validate_config(&self, config: &serde_json::Value) -> Result<(), ValidationError> {
        match config {
            serde_json::Value::Null => Ok(()),
            serde_json::Value::Object(map) if map.is_empty() => Ok(()),
            _ => Err(ValidationError::new("config", "in-app channels take no settings")),
        }
    }

    async fn start_auth(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _method: AuthMethod,
        _phone: Option<&str>,
    ) -> Result<AuthPrompt, ProviderError> {
        Err(nothing_to_sign_in())
    }

    async fn submit_auth(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        _answer: AuthSubmission,
    ) -> Result<AuthProgress, ProviderError> {
        Err(nothing_to_sign_in())
    }

    async fn auth_progress(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> AuthProgress {
        AuthProgress::Idle
    }

    async fn logout(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn send(
        &self,
        _channel: &Channel,
        _credentials: Option<&serde_json::Value>,
        message: OutboundMessage,
    ) -> Result<String, ProviderError> {
        // Stored is delivered: the id is ours.
        Ok(format!("inapp-{}", message.idempotency_key))
    }
}
