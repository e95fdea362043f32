//! Channel administration: create, list, read, update and delete a workspace's channels, and
//! keep their credentials sealed. Owners and admins only (every member may list them); every call
//! names the workspace.

use std::sync::Arc;

use switchboard::channel::{self, CreateChannel, UpdateChannel};
use switchboard::{Channel, ChannelId, ChannelStatus, MemberRole, ProviderKind, Store, UserId, WorkspaceId};

use serde::Serialize;
use switchboard::provider::{
    AuthHint, AuthMethod, AuthProgress, AuthPrompt, AuthStatus, AuthSubmission, Capabilities, ChannelEvent,
    Provider, ProviderError,
};

use super::ServiceError;
use crate::crypto::Sealer;
use crate::providers::Providers;
use crate::runtime::{RuntimeConfig, Runtimes};
use crate::secret::SecretKey;

/// Who is acting, in which workspace, with which role (from the HTTP extractor or a server fn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub role: MemberRole,
}

impl Actor {
    fn require_admin(&self) -> Result<(), ServiceError> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("Only owners and admins manage channels."))
        }
    }
}

/// Where a channel's sign-in stands: the answer of every auth endpoint.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuthState {
    pub status: AuthStatus,
    /// The prompt to show while pending.
    pub prompt: Option<AuthPrompt>,
    /// Why the last attempt failed, in words.
    pub error: Option<String>,
    /// For a QR prompt, the code drawn as a self-contained SVG (see [`crate::qr`]), so no client
    /// needs a QR library; `null` for every other prompt.
    pub qr_svg: Option<String>,
    /// How the channel's provider signs in (its methods; whether a pairing code needs the
    /// phone number first), so the auth page offers only what works.
    pub capabilities: Option<Capabilities>,
    /// The provider's words for the prompt: where on its network to scan or type it.
    pub hint: Option<AuthHint>,
    /// A first step is done and these methods take the next (a gateway's token was accepted:
    /// link the phone by QR or pairing code); `null` otherwise.
    pub next_methods: Option<Vec<AuthMethod>>,
    /// A secret the finished sign-in made (an API channel's signing secret): in this one
    /// answer, never again.
    pub shown_once: Option<switchboard::provider::ShownOnce>,
    pub channel: Channel,
}

impl AuthState {
    fn new(
        status: AuthStatus,
        prompt: Option<AuthPrompt>,
        error: Option<String>,
        channel: Channel,
        provider: Option<&dyn Provider>,
    ) -> Self {
        let qr_svg = match &prompt {
            Some(AuthPrompt::Qr { value, .. }) => crate::qr::svg(value),
            _ => None,
        };
        let hint = prompt.as_ref().zip(provider).and_then(|(prompt, p)| p.auth_hint(prompt));
        let capabilities = provider.map(|p| p.capabilities());
        // Auth states are for owners and admins only: secrets masked, the rest shown.
        let secret_keys = provider.map(|p| p.secret_config_keys()).unwrap_or(&[]);
        let channel = channel.redacted(MemberRole::Admin, secret_keys);
        Self {
            status,
            prompt,
            error,
            qr_svg,
            capabilities,
            hint,
            next_methods: None,
            shown_once: None,
            channel,
        }
    }
}

/// Channel administration and sealed credentials.
pub struct ChannelService {
    store: Arc<dyn Store>,
    sealer: Sealer,
    providers: Providers,
    runtimes: Arc<Runtimes>,
    /// The prompt last announced per channel, so a renewed QR is announced once.
    last_prompt: std::sync::Mutex<std::collections::HashMap<ChannelId, AuthPrompt>>,
    /// Derives each channel's webhook verify token (stable, never stored).
    webhook_key: [u8; 32],
    /// Each channel's templates as last fetched from its network, with when.
    pub(super) templates: super::channel_network::TemplateCache,
    /// The linking step followed per channel (a newer one ends the older's follower).
    following: std::sync::Mutex<std::collections::HashMap<ChannelId, u64>>,
}

/// How often a linking step is asked about while no one else asks.
const LINK_POLL: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a linking step is followed: long past any QR's or code's life.
const LINK_FOLLOW_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

impl ChannelService {
    pub fn new(
        store: Arc<dyn Store>,
        secret: &SecretKey,
        providers: Providers,
        runtime: RuntimeConfig,
    ) -> Self {
        let runtimes = Arc::new(Runtimes::new(store.clone(), providers.clone(), runtime));
        Self {
            store,
            sealer: Sealer::new(secret, "channel-credentials"),
            providers,
            runtimes,
            last_prompt: Default::default(),
            webhook_key: secret.derive("webhook-verify-token"),
            templates: Default::default(),
            following: Default::default(),
        }
    }

    pub(super) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The provider adapters.
    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// The running channels.
    pub fn runtimes(&self) -> &Arc<Runtimes> {
        &self.runtimes
    }

    /// Starts the runtime of every channel that was signed in when the server last stopped.
    pub async fn start_runtimes(&self) -> Result<usize, ServiceError> {
        let live = [ChannelStatus::Connected, ChannelStatus::Degraded, ChannelStatus::Failed];
        let mut started = 0;
        for channel in self.store.channels_with_status(&live).await? {
            // Networks that push by webhook (or are Switchboard itself) need no connection.
            if self.providers.get(channel.provider).is_some_and(|p| p.capabilities().webhook_driven) {
                continue;
            }
            match self.credentials(channel.workspace_id, channel.id).await {
                Ok(Some(credentials)) => {
                    self.runtimes.start(channel, credentials);
                    started += 1;
                }
                Ok(None) => {
                    tracing::warn!(channel_id = %channel.id, "signed-in channel without credentials; not started")
                }
                Err(e) => {
                    tracing::error!(channel_id = %channel.id, error = %e, "cannot open the channel's credentials")
                }
            }
        }
        Ok(started)
    }

    fn provider(&self, kind: ProviderKind) -> Result<&Arc<dyn Provider>, ServiceError> {
        self.providers.get(kind).ok_or_else(|| {
            ServiceError::Unprocessable(
                "provider_unavailable",
                format!("The {} provider is not available in this build yet.", kind.as_str()),
            )
        })
    }

    pub async fn create(&self, actor: Actor, req: CreateChannel) -> Result<Channel, ServiceError> {
        actor.require_admin()?;
        let name = channel::channel_name(&req.name)?;
        channel::channel_config(&req.config)?;
        let provider = self.provider(req.provider)?;
        provider.validate_config(&req.config)?;
        // A network with nothing to sign in to (in-app chat) is connected from the start.
        let status = if provider.capabilities().auth_methods.is_empty() {
            ChannelStatus::Connected
        } else {
            ChannelStatus::Disconnected
        };
        let now = switchboard::time::now();
        let channel = Channel {
            id: ChannelId::new(),
            workspace_id: actor.workspace_id,
            provider: req.provider,
            name,
            status,
            config: req.config,
            last_error: None,
            created_at: now,
            updated_at: now,
            webhook: None,
            history_import: None,
        };
        let created = self.store.create_channel(channel).await?;
        tracing::info!(channel_id = %created.id, provider = created.provider.as_str(), "channel created");
        Ok(self.view(actor, created))
    }

    /// Every member may list the channels (the inbox's rail shows them and their health); only
    /// owners and admins read one in detail or change anything. Credentials are never part of
    /// a `Channel`.
    pub async fn list(&self, actor: Actor) -> Result<Vec<Channel>, ServiceError> {
        let channels = self.store.channels(actor.workspace_id).await?;
        Ok(channels.into_iter().map(|c| self.view(actor, c)).collect())
    }

    pub async fn get(&self, actor: Actor, id: ChannelId) -> Result<Channel, ServiceError> {
        Ok(self.view(actor, self.load(actor, id).await?))
    }

    /// The whole channel, secrets included, for this service's own use (owners and admins).
    async fn load(&self, actor: Actor, id: ChannelId) -> Result<Channel, ServiceError> {
        actor.require_admin()?;
        self.store.channel(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound("channel"))
    }

    /// The channel as the actor may read it: every answer of this service goes through here
    /// (or [`AuthState::new`], which masks for admins), so no secret leaves the server.
    fn view(&self, actor: Actor, channel: Channel) -> Channel {
        let provider = self.providers.get(channel.provider);
        let keys = provider.map(|p| p.secret_config_keys()).unwrap_or(&[]);
        let mut channel = channel.redacted(actor.role, keys);
        if actor.role.is_admin() {
            channel.webhook = provider.and_then(|p| self.webhook_setup(p.as_ref(), channel.id));
        }
        channel
    }

    /// A channel's webhook URL and, for networks that check it first, its verify token.
    fn webhook_setup(
        &self,
        provider: &dyn Provider,
        id: ChannelId,
    ) -> Option<switchboard::channel::WebhookSetup> {
        if !provider.webhook_handshake() {
            return None;
        }
        let url = format!("{}/webhooks/{}/{}", self.providers.public_url(), provider.kind().as_str(), id);
        Some(switchboard::channel::WebhookSetup { url, verify_token: Some(self.webhook_verify_token(id)) })
    }

    /// The token a network must echo to prove it is asking about this channel's webhook:
    /// derived from the server secret and the channel id, so nothing is stored and it never
    /// changes while the secret does not.
    pub fn webhook_verify_token(&self, id: ChannelId) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.webhook_key).expect("HMAC takes any key");
        mac.update(id.as_uuid().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    pub async fn update(
        &self,
        actor: Actor,
        id: ChannelId,
        req: UpdateChannel,
    ) -> Result<Channel, ServiceError> {
        actor.require_admin()?;
        let name = req.name.as_deref().map(channel::channel_name).transpose()?;
        let config = match req.config {
            Some(config) => {
                channel::channel_config(&config)?;
                let current = self.load(actor, id).await?;
                let provider = self.provider(current.provider)?;
                let config =
                    channel::keep_masked_secrets(config, &current.config, provider.secret_config_keys());
                provider.validate_config(&config)?;
                Some(config)
            }
            None => None,
        };
        let reconfigured = config.is_some();
        // The credentials were given for one host: sent nowhere else. A channel pointed at
        // another API host signs out (its token stays with the host it was made for).
        let moved_host = match &config {
            Some(new) => {
                let current = self.load(actor, id).await?;
                current.config.get("api_base_url") != new.get("api_base_url")
                    && self.credentials(actor.workspace_id, id).await?.is_some()
            }
            None => false,
        };
        if moved_host {
            let current = self.load(actor, id).await?;
            self.runtimes.stop(&current).await;
            self.store
                .set_channel_credentials(actor.workspace_id, id, None, switchboard::time::now())
                .await?;
            self.set_status(
                &current,
                ChannelStatus::Disconnected,
                Some("the API host changed: sign in again".into()),
            )
            .await?;
            tracing::info!(channel_id = %id, "API host changed; channel signed out");
        }
        let updated = self
            .store
            .update_channel(actor.workspace_id, id, name, config, switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))?;
        if reconfigured && self.runtimes.is_running(id) {
            // The new settings take effect now (Telegram: switching mode sets or deletes the
            // webhook on reconnecting).
            if let Some(credentials) = self.credentials(actor.workspace_id, id).await? {
                self.runtimes.start(updated.clone(), credentials);
            }
        }
        Ok(self.view(actor, updated))
    }

    pub async fn delete(&self, actor: Actor, id: ChannelId) -> Result<(), ServiceError> {
        actor.require_admin()?;
        if let Some(channel) = self.store.channel(actor.workspace_id, id).await? {
            self.runtimes.stop(&channel).await;
        }
        if self.store.delete_channel(actor.workspace_id, id).await? {
            tracing::info!(channel_id = %id, "channel deleted");
            self.runtimes.forget(id);
            self.last_prompt.lock().expect("prompt lock").remove(&id);
            Ok(())
        } else {
            Err(ServiceError::NotFound("channel"))
        }
    }

    /// Seals and stores a channel's credentials (a provider's session, a bot token, …).
    pub async fn set_credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        credentials: &serde_json::Value,
    ) -> Result<(), ServiceError> {
        let plaintext = serde_json::to_vec(credentials).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let sealed = self.sealer.seal(id.as_uuid().as_bytes(), &plaintext);
        self.store
            .set_channel_credentials(workspace_id, id, Some(sealed), switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))
    }

    /// Opens a channel's credentials; `None` when it has none.
    pub async fn credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
    ) -> Result<Option<serde_json::Value>, ServiceError> {
        let Some(sealed) = self
            .store
            .channel_credentials(workspace_id, id)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("channel"))?
        else {
            return Ok(None);
        };
        let plaintext = self
            .sealer
            .open(id.as_uuid().as_bytes(), &sealed)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        serde_json::from_slice(&plaintext).map(Some).map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

impl ChannelService {
    /// Begins signing the channel in with `method`; the channel becomes `pending_auth`. A
    /// linking step (a gateway's QR or pairing code) is followed on the server until it ends,
    /// so a phone linked after the page was closed still connects the channel.
    pub async fn start_auth(
        self: &Arc<Self>,
        actor: Actor,
        id: ChannelId,
        method: AuthMethod,
        phone: Option<String>,
    ) -> Result<AuthState, ServiceError> {
        let channel = self.load(actor, id).await?;
        let provider = self.provider(channel.provider)?;
        let capabilities = provider.capabilities();
        let credentials = self.credentials(channel.workspace_id, channel.id).await?;
        if !capabilities.auth_methods.contains(&method) {
            if !capabilities.linking_methods.contains(&method) {
                return Err(switchboard::validate::ValidationError::new(
                    "method",
                    "this provider does not sign in that way",
                )
                .into());
            }
            if credentials.is_none() {
                return Err(switchboard::validate::ValidationError::new(
                    "method",
                    "give the channel's token first; linking the phone is the second step",
                )
                .into());
            }
        }
        let prompt = match provider.start_auth(&channel, credentials.as_ref(), method, phone.as_deref()).await
        {
            Ok(prompt) => prompt,
            Err(e) => return Err(self.auth_error(channel.id, e)),
        };
        self.announce_prompt(channel.id, &prompt);
        self.runtimes.publish(channel.id, ChannelEvent::AuthStatus { status: AuthStatus::Pending });
        let channel = self.set_status(&channel, ChannelStatus::PendingAuth, None).await?;
        if capabilities.linking_methods.contains(&method) {
            self.follow_linking(channel.workspace_id, channel.id);
        }
        Ok(AuthState::new(AuthStatus::Pending, Some(prompt), None, channel, Some(provider.as_ref())))
    }

    /// Answers the prompt under way.
    pub async fn submit_auth(
        &self,
        actor: Actor,
        id: ChannelId,
        submission: AuthSubmission,
    ) -> Result<AuthState, ServiceError> {
        let channel = self.load(actor, id).await?;
        let provider = self.provider(channel.provider)?;
        let credentials = self.credentials(channel.workspace_id, channel.id).await?;
        let progress = match provider.submit_auth(&channel, credentials.as_ref(), submission).await {
            Ok(progress) => progress,
            Err(e) => return Err(self.auth_error(channel.id, e)),
        };
        let revealed = match &progress {
            AuthProgress::Authenticated { credentials, .. } => provider.reveal_once(credentials),
            _ => None,
        };
        let mut state = self.settle(channel, progress).await?;
        state.shown_once = revealed;
        Ok(state)
    }

    /// Where the sign-in stands now (finishing it when the network has confirmed).
    pub async fn auth_state(&self, actor: Actor, id: ChannelId) -> Result<AuthState, ServiceError> {
        let channel = self.load(actor, id).await?;
        self.progress(channel).await
    }

    /// Called when the network confirms on its own (the Mock's pairing page): finishes the
    /// sign-in of a channel the caller did not name through an actor.
    pub async fn network_confirmed(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
    ) -> Result<AuthState, ServiceError> {
        let channel = self.store.channel(workspace_id, id).await?.ok_or(ServiceError::NotFound("channel"))?;
        self.progress(channel).await
    }

    /// Asks the provider where the channel's sign-in stands and applies it.
    async fn progress(&self, channel: Channel) -> Result<AuthState, ServiceError> {
        let credentials = self.credentials(channel.workspace_id, channel.id).await?;
        let progress = self.provider(channel.provider)?.auth_progress(&channel, credentials.as_ref()).await;
        self.settle(channel, progress).await
    }

    /// Asks the network every [`LINK_POLL`] where a linking step stands (renewing its QR,
    /// finishing the sign-in once the phone is linked) until it is no longer pending, another
    /// step starts, or [`LINK_FOLLOW_LIMIT`] passes.
    fn follow_linking(self: &Arc<Self>, workspace_id: WorkspaceId, id: ChannelId) {
        let generation = {
            let mut following = self.following.lock().expect("following lock");
            let n = following.entry(id).or_default();
            *n += 1;
            *n
        };
        let this = Arc::downgrade(self);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + LINK_FOLLOW_LIMIT;
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(LINK_POLL).await;
                let Some(this) = this.upgrade() else { return };
                if this.following.lock().expect("following lock").get(&id) != Some(&generation) {
                    return;
                }
                match this.network_confirmed(workspace_id, id).await {
                    Ok(state) if state.status == AuthStatus::Pending && state.prompt.is_some() => {}
                    _ => return,
                }
            }
        });
    }

    /// Signs the channel out of its network, forgets its credentials, marks it disconnected.
    pub async fn logout(&self, actor: Actor, id: ChannelId) -> Result<Channel, ServiceError> {
        let channel = self.load(actor, id).await?;
        let credentials = self.credentials(channel.workspace_id, channel.id).await?;
        self.runtimes.stop(&channel).await;
        self.provider(channel.provider)?
            .logout(&channel, credentials.as_ref())
            .await
            .map_err(provider_error)?;
        self.store
            .set_channel_credentials(channel.workspace_id, channel.id, None, switchboard::time::now())
            .await?;
        tracing::info!(channel_id = %channel.id, "channel logged out");
        self.runtimes.publish(channel.id, ChannelEvent::Logout);
        let channel = self.set_status(&channel, ChannelStatus::Disconnected, None).await?;
        Ok(self.view(actor, channel))
    }

    /// Applies what the provider reported: keep the credentials when authenticated.
    async fn settle(&self, channel: Channel, progress: AuthProgress) -> Result<AuthState, ServiceError> {
        let mut status = progress.status();
        if progress == AuthProgress::Idle
            && matches!(channel.status, ChannelStatus::Connected | ChannelStatus::Degraded)
        {
            // Nothing under way because the sign-in is done (and the runtime connected).
            status = AuthStatus::Authenticated;
        }
        let mut next_methods = None;
        let (channel, prompt, error) = match progress {
            AuthProgress::Authenticated { credentials, identity } => {
                // A runtime already running on these very credentials: the sign-in was settled
                // before (a network that keeps answering "authenticated"). New credentials on a
                // running channel (a token replaced after a revocation) restart it.
                let same = self.runtimes.is_running(channel.id)
                    && self.credentials(channel.workspace_id, channel.id).await?.as_ref()
                        == Some(&credentials);
                if same {
                    // Relinked on the same credentials (a gateway's phone scanned again): the
                    // runtime keeps running; the channel is connected again.
                    let channel = match identity {
                        Some(identity) => self.remember_identity(channel, identity).await?,
                        None => channel,
                    };
                    let working =
                        matches!(channel.status, ChannelStatus::Connected | ChannelStatus::Degraded);
                    let channel = if !working {
                        self.last_prompt.lock().expect("prompt lock").remove(&channel.id);
                        self.runtimes.publish(channel.id, ChannelEvent::AuthCompleted);
                        let channel = self.set_status(&channel, ChannelStatus::Connected, None).await?;
                        self.store.pause_outbox(channel.id, None, switchboard::time::now()).await?;
                        channel
                    } else {
                        channel
                    };
                    (channel, None, None)
                } else {
                    self.runtimes.stop(&channel).await;
                    self.set_credentials(channel.workspace_id, channel.id, &credentials).await?;
                    let channel = match identity {
                        Some(identity) => self.remember_identity(channel, identity).await?,
                        None => channel,
                    };
                    tracing::info!(channel_id = %channel.id, "channel signed in");
                    self.last_prompt.lock().expect("prompt lock").remove(&channel.id);
                    self.runtimes.publish(channel.id, ChannelEvent::AuthCompleted);
                    self.runtimes
                        .publish(channel.id, ChannelEvent::AuthStatus { status: AuthStatus::Authenticated });
                    let channel = self.set_status(&channel, ChannelStatus::Connected, None).await?;
                    // Messages held while the old credentials were refused go out now.
                    self.store.pause_outbox(channel.id, None, switchboard::time::now()).await?;
                    self.runtimes.start(channel.clone(), credentials);
                    (channel, None, None)
                }
            }
            AuthProgress::Pending(prompt) => {
                self.announce_prompt(channel.id, &prompt);
                (channel, Some(prompt), None)
            }
            AuthProgress::NextStep { credentials, methods } => {
                if self.credentials(channel.workspace_id, channel.id).await?.as_ref() != Some(&credentials) {
                    self.set_credentials(channel.workspace_id, channel.id, &credentials).await?;
                    tracing::info!(channel_id = %channel.id, "first sign-in step done");
                }
                next_methods = Some(methods);
                let channel = self.set_status(&channel, ChannelStatus::PendingAuth, None).await?;
                (channel, None, None)
            }
            AuthProgress::Idle => (channel, None, None),
            AuthProgress::Expired => {
                let message = "The sign-in expired before it was confirmed. Start again.".to_owned();
                self.runtimes.publish(channel.id, ChannelEvent::AuthStatus { status: AuthStatus::Expired });
                self.runtimes.publish(channel.id, ChannelEvent::AuthError { message: message.clone() });
                (self.set_status(&channel, ChannelStatus::Disconnected, None).await?, None, Some(message))
            }
            AuthProgress::Failed(message) => {
                self.runtimes.publish(channel.id, ChannelEvent::AuthStatus { status: AuthStatus::Failed });
                self.runtimes.publish(channel.id, ChannelEvent::AuthError { message: message.clone() });
                let channel = self.set_status(&channel, ChannelStatus::Failed, Some(message.clone())).await?;
                (channel, None, Some(message))
            }
        };
        let provider = self.providers.get(channel.provider);
        let webhook = provider.and_then(|p| self.webhook_setup(p.as_ref(), channel.id));
        let mut state = AuthState::new(status, prompt, error, channel, provider.map(|p| p.as_ref()));
        state.channel.webhook = webhook;
        state.next_methods = next_methods;
        Ok(state)
    }

    /// Keeps who the account is on its network in the channel's config (`identity`).
    async fn remember_identity(
        &self,
        channel: Channel,
        identity: switchboard::channel::ChannelIdentity,
    ) -> Result<Channel, ServiceError> {
        let mut config = channel.config.clone();
        let Some(map) = config.as_object_mut() else {
            return Ok(channel);
        };
        map.insert("identity".into(), serde_json::to_value(identity).unwrap_or_default());
        let at = switchboard::time::now();
        Ok(self.store.update_channel(channel.workspace_id, channel.id, None, Some(config), at).await?)
    }

    async fn set_status(
        &self,
        channel: &Channel,
        status: ChannelStatus,
        error: Option<String>,
    ) -> Result<Channel, ServiceError> {
        if channel.status == status && channel.last_error == error {
            return Ok(channel.clone());
        }
        let updated = self
            .store
            .set_channel_status(channel.workspace_id, channel.id, status, error, switchboard::time::now())
            .await?;
        tracing::info!(channel_id = %channel.id, from = channel.status.as_str(), to = status.as_str(), "channel status");
        self.runtimes.publish(
            channel.id,
            ChannelEvent::StatusChanged { status: updated.status, last_error: updated.last_error.clone() },
        );
        Ok(updated)
    }

    /// Publishes a prompt on the channel's stream when it is new (first shown, or renewed).
    fn announce_prompt(&self, id: ChannelId, prompt: &AuthPrompt) {
        let mut last = self.last_prompt.lock().expect("prompt lock");
        if last.get(&id) != Some(prompt) {
            last.insert(id, prompt.clone());
            self.runtimes.publish(id, ChannelEvent::AuthPrompt { prompt: prompt.clone() });
        }
    }

    /// Publishes a provider's refusal on the stream and maps it for the caller.
    fn auth_error(&self, id: ChannelId, err: ProviderError) -> ServiceError {
        self.runtimes.publish(id, ChannelEvent::AuthError { message: err.to_string() });
        provider_error(err)
    }
}

pub(super) fn provider_error(err: ProviderError) -> ServiceError {
    match err {
        ProviderError::Invalid(v) => v.into(),
        ProviderError::Permanent { message } | ProviderError::Unauthorized { message } => {
            ServiceError::Unprocessable("provider_refused", message)
        }
        ProviderError::RateLimited { retry_after_secs, .. } => ServiceError::Unprocessable(
            "provider_rate_limited",
            format!("The network asks us to wait {retry_after_secs} seconds."),
        ),
        ProviderError::Retryable { message, .. } => ServiceError::Unavailable(message),
    }
}
