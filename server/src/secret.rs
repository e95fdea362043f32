//! The server's secret key: signs session tokens and (with the channels work) encrypts stored
//! credentials. From `SWITCHBOARD_SECRET_KEY` (64 hex characters), or else a key file created
//! with mode 0600 in the data dir on first start. Purpose-specific keys are derived from it
//! with HMAC-SHA256, so one leaked derived key does not expose the others.

use std::fmt;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the generated key file inside the data dir.
pub const KEY_FILE: &str = "secret.key";

/// 32 secret bytes. `Debug` never prints them.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Why the key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("SWITCHBOARD_SECRET_KEY must be 64 hexadecimal characters (32 bytes)")]
    BadFormat,
    #[error("cannot read or create the key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl SecretKey {
    /// Parses 64 hex characters.
    pub fn from_hex(hex_key: &str) -> Result<Self, SecretError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| SecretError::BadFormat)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadFormat)?;
        Ok(Self(bytes))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// The configured key if given, else the data dir's key file (created if missing).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, SecretError> {
        if let Some(hex_key) = configured.filter(|k| !k.trim().is_empty()) {
            return Self::from_hex(hex_key);
        }
        let path = data_dir.join(KEY_FILE);
        let io = |source| SecretError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let key = Self::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(&path) {
                    Ok(mut file) => {
                        file.write_all(hex::encode(key.0).as_bytes()).map_err(io)?;
                        file.sync_all().map_err(io)?;
                        tracing::info!(path = %path.display(), "generated a new server secret key");
                        Ok(key)
                    }
                    // Another process won the race: use its key.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::from_hex(&std::fs::read_to_string(&path).map_err(io)?)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A key for one purpose (`"session-jwt"`, `"credentials"`, …).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(b"switchboard/v1/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::load(None, dir.path()).unwrap();
        let second = SecretKey::load(None, dir.path()).unwrap();
        assert_eq!(first.derive("x"), second.derive("x"), "the key file must be reused");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn configured_key_wins_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let hex_key = "11".repeat(32);
        let key = SecretKey::load(Some(&hex_key), dir.path()).unwrap();
        assert!(!dir.path().join(KEY_FILE).exists());
        assert_ne!(key.derive("a"), key.derive("b"), "purposes derive different keys");
        assert!(matches!(SecretKey::from_hex("abc"), Err(SecretError::BadFormat)));
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
    }
}
