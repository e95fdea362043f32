//! Network adapters behind the `Provider` contract, and the registry that picks one per kind.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard::ProviderKind;
use switchboard::provider::Provider;

pub mod api;
pub mod http;
pub mod inapp;
pub mod linked;
pub mod mock;
pub mod telegram;
pub mod whapi;
pub mod whatsapp_cloud;

/// The adapters this server runs, by kind.
#[derive(Clone, Default)]
pub struct Providers {
    by_kind: HashMap<ProviderKind, Arc<dyn Provider>>,
    /// Where this server is reached (webhook URLs are built on it).
    public_url: String,
}

impl Providers {
    /// The adapters of this build: the Mock network, reachable at `public_url` for pairing.
    pub fn new(public_url: &str) -> (Self, Arc<mock::MockNetwork>) {
        let mock = Arc::new(mock::MockNetwork::new(public_url));
        let mut providers =
            Self { public_url: public_url.trim_end_matches('/').to_owned(), ..Self::default() };
        providers.by_kind.insert(ProviderKind::Mock, mock.clone());
        providers.by_kind.insert(ProviderKind::Inapp, Arc::new(inapp::InApp));
        providers.by_kind.insert(ProviderKind::WhatsappCloud, Arc::new(whatsapp_cloud::WhatsAppCloud::new()));
        providers.by_kind.insert(ProviderKind::Telegram, Arc::new(telegram::Telegram::new(public_url)));
        providers.by_kind.insert(ProviderKind::Whapi, Arc::new(whapi::Whapi::new(public_url)));
        // Callbacks to private addresses only when the operator allows them (`with` replaces it).
        providers.by_kind.insert(ProviderKind::Api, Arc::new(api::ApiChannel::new(false)));
        (providers, mock)
    }

    /// Where this server is reached from outside.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The same registry with `provider` serving its kind (an adapter in front of another, in
    /// tests: a network that answers what the real one can, such as an absurd `Retry-After`).
    pub fn with(mut self, provider: Arc<dyn Provider>) -> Self {
        self.by_kind.insert(provider.kind(), provider);
        self
    }

    /// Every adapter of this build, in [`ProviderKind::ALL`]'s order, as the admin page offers them.
    pub fn infos(&self) -> Vec<switchboard::provider::ProviderInfo> {
        ProviderKind::ALL
            .into_iter()
            .filter_map(|kind| self.by_kind.get(&kind))
            .map(|p| switchboard::provider::ProviderInfo {
                kind: p.kind(),
                capabilities: p.capabilities(),
                config_fields: p.config_fields(),
            })
            .collect()
    }

    pub fn get(&self, kind: ProviderKind) -> Option<&Arc<dyn Provider>> {
        self.by_kind.get(&kind)
    }
}
