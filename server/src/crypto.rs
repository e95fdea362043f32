//! Sealing secrets at rest: AES-256-GCM under a key derived from the server secret, with a
//! fresh random nonce per seal and the owner's id as associated data, so a sealed value moved
//! to another row (or another channel) fails to open.
//!
//! Format: `version (1 byte) || nonce (12 bytes) || ciphertext+tag`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::secret::SecretKey;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why a sealed value could not be opened.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not authenticate (wrong key, wrong owner, or tampered)")]
    Unauthentic,
}

/// Seals and opens secrets for one purpose.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    /// A sealer for `purpose` (e.g. `"channel-credentials"`).
    pub fn new(secret: &SecretKey, purpose: &str) -> Self {
        let key = secret.derive(purpose);
        Self { cipher: Aes256Gcm::new_from_slice(&key).expect("a derived key is 32 bytes") }
    }

    /// Encrypts `plaintext`, bound to `owner` (e.g. the channel id's bytes).
    pub fn seal(&self, owner: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ciphertext = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: owner })
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts what [`seal`](Self::seal) produced for the same `owner`.
    pub fn open(&self, owner: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: owner })
            .map_err(|_| OpenError::Unauthentic)
    }
}

/// Whether two byte strings are equal, taking the same time wherever they differ (for tokens
/// a caller could otherwise guess byte by byte). Lengths are not secret.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: &str) -> Sealer {
        Sealer::new(&SecretKey::from_hex(&byte.repeat(32)).unwrap(), "channel-credentials")
    }

    #[test]
    fn round_trips_and_never_contains_the_plaintext() {
        let s = sealer("01");
        let sealed = s.seal(b"owner-1", b"tok_live_secret");
        assert!(!sealed.windows(b"tok_live_secret".len()).any(|w| w == b"tok_live_secret"));
        assert_eq!(s.open(b"owner-1", &sealed).unwrap(), b"tok_live_secret");
        assert_ne!(s.seal(b"owner-1", b"x"), s.seal(b"owner-1", b"x"), "fresh nonce each time");
    }

    #[test]
    fn refuses_other_owners_other_keys_and_tampering() {
        let s = sealer("01");
        let mut sealed = s.seal(b"owner-1", b"secret");
        assert_eq!(s.open(b"owner-2", &sealed), Err(OpenError::Unauthentic));
        assert_eq!(sealer("02").open(b"owner-1", &sealed), Err(OpenError::Unauthentic));
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(s.open(b"owner-1", &sealed), Err(OpenError::Unauthentic));
        assert_eq!(s.open(b"owner-1", b"short"), Err(OpenError::Malformed));
    }
}
