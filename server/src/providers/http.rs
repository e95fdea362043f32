//! The one HTTP client every network adapter calls out with: rustls (the ring provider, as
//! everywhere in the process), a short connect timeout, a bounded request time, and a
//! `User-Agent` that names Switchboard and its version.

use std::sync::OnceLock;
use std::time::Duration;

/// How long connecting to a network may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole call (a media download included) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The shared client (connections are pooled across channels and adapters).
pub fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with a crypto provider installed")
    })
}

/// The seconds a `Retry-After` header asks for (its delta-seconds form; a date is ignored).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}
