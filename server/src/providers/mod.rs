//! Network adapters behind the `Provider` contract, and the registry that picks one per kind.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard::ProviderKind;
use switchboard::provider::Provider;

pub mod inapp;
pub mod mock;

/// The adapters this server runs, by kind.
#[derive(Clone, Default)]
pub struct Providers {
    by_kind: HashMap<ProviderKind, Arc<dyn Provider>>,
}

impl Providers {
    /// The adapters of this build: the Mock network, reachable at `public_url` for pairing.
    pub fn new(public_url: &str) -> (Self, Arc<mock::MockNetwork>) {
        let mock = Arc::new(mock::MockNetwork::new(public_url));
        let mut providers = Self::default();
        providers.by_kind.insert(ProviderKind::Mock, mock.clone());
        providers.by_kind.insert(ProviderKind::Inapp, Arc::new(inapp::InApp));
        (providers, mock)
    }

    /// The same registry with `provider` serving its kind (an adapter in front of another, in
    /// tests: a network that answers what the real one can, such as an absurd `Retry-After`).
    pub fn with(mut self, provider: Arc<dyn Provider>) -> Self {
        self.by_kind.insert(provider.kind(), provider);
        self
    }

    pub fn get(&self, kind: ProviderKind) -> Option<&Arc<dyn Provider>> {
        self.by_kind.get(&kind)
    }
}
