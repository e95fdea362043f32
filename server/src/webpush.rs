//! Web Push, the server's half: the VAPID key pair that identifies this server to push services
//! (RFC 8292), kept in the data directory; the `Authorization: vapid …` header each push carries;
//! and the payload encryption every push service requires (RFC 8291: `aes128gcm`, one record),
//! with its inverse, which is what a browser does (and what the tests do to read a push).

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hkdf::Hkdf;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// The record size written in the header (one record holds the whole payload).
const RECORD_SIZE: u32 = 4096;
/// Largest payload a push carries (push services accept 4096 bytes of body; the header and the
/// tag take 103).
pub const MAX_PAYLOAD: usize = 3993;

/// Why a push could not be made or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PushError {
    #[error("the subscription's key is not a P-256 public key")]
    BadKey,
    #[error("the auth secret is not 16 bytes")]
    BadAuth,
    #[error("the payload is longer than {MAX_PAYLOAD} bytes")]
    TooLarge,
    #[error("the body does not decrypt")]
    Undecryptable,
}

/// This server's VAPID key pair.
pub struct VapidKeys {
    secret: SecretKey,
}

impl std::fmt::Debug for VapidKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKeys").field("public", &self.public_key()).finish_non_exhaustive()
    }
}

impl VapidKeys {
    /// A new random key pair.
    pub fn generate() -> Self {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                return Self { secret };
            }
        }
    }

    /// The key pair kept in `path` (the private scalar, base64url), made and written there
    /// (readable by the owner only) on first use, so every restart signs with the same key and
    /// browsers' subscriptions stay valid.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let bytes = B64
                .decode(text.trim())
                .map_err(|_| anyhow::anyhow!("{} is not a VAPID key", path.display()))?;
            let secret = SecretKey::from_slice(&bytes)
                .map_err(|_| anyhow::anyhow!("{} is not a VAPID key", path.display()))?;
            return Ok(Self { secret });
        }
        let keys = Self::generate();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(path)?, B64.encode(keys.secret.to_bytes()).as_bytes())?;
        Ok(keys)
    }

    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url.
    pub fn public_key(&self) -> String {
        B64.encode(self.secret.public_key().to_encoded_point(false).as_bytes())
    }

    /// The `Authorization` header of a push to `endpoint`: a JWT (ES256) for the endpoint's
    /// origin, valid for 12 hours from `now` (unix seconds), naming `subject` (a `mailto:` or
    /// `https:` contact), with this server's public key.
    pub fn authorization(&self, endpoint: &reqwest::Url, subject: &str, now: i64) -> String {
        let audience = endpoint.origin().ascii_serialization();
        let header = B64.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({"aud": audience, "exp": now + 12 * 3600, "sub": subject});
        let claims = B64.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let key = p256::ecdsa::SigningKey::from(&self.secret);
        let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
        format!("vapid t={signing_input}.{}, k={}", B64.encode(signature.to_bytes()), self.public_key())
    }
}

/// The keys HKDF derives for one message: the content key and the nonce.
fn derive(ecdh: &[u8], auth: &[u8], ua_public: &[u8], as_public: &[u8], salt: &[u8]) -> ([u8; 16], [u8; 12]) {
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(ua_public);
    info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), ecdh).expand(&info, &mut ikm).expect("32 bytes is a valid length");
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let (mut key, mut nonce) = ([0u8; 16], [0u8; 12]);
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut key).expect("16 bytes is a valid length");
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).expect("12 bytes is a valid length");
    (key, nonce)
}

/// Encrypts `payload` for a subscription (`p256dh` and `auth` as the browser gave them, raw
/// bytes), with the sender's one-time key `sender` and `salt` (random for each push; fixed
/// only in tests). The body to POST with `Content-Encoding: aes128gcm`.
pub fn encrypt_with(
    payload: &[u8],
    p256dh: &[u8],
    auth: &[u8],
    sender: &SecretKey,
    salt: [u8; 16],
) -> Result<Vec<u8>, PushError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(PushError::TooLarge);
    }
    if auth.len() != 16 {
        return Err(PushError::BadAuth);
    }
    let ua = PublicKey::from_sec1_bytes(p256dh).map_err(|_| PushError::BadKey)?;
    let ua_public = ua.to_encoded_point(false);
    let as_public = sender.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(sender.to_nonzero_scalar(), ua.as_affine());
    let (key, nonce) =
        derive(shared.raw_secret_bytes(), auth, ua_public.as_bytes(), as_public.as_bytes(), &salt);
    // One record: the payload, then the last-record delimiter, no padding.
    let mut plain = payload.to_vec();
    plain.push(2);
    let sealed = Aes128Gcm::new(&key.into())
        .encrypt(&Nonce::from(nonce), plain.as_slice())
        .map_err(|_| PushError::TooLarge)?;
    let mut body = Vec::with_capacity(21 + 65 + sealed.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.as_bytes().len() as u8);
    body.extend_from_slice(as_public.as_bytes());
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// [`encrypt_with`] a fresh sender key and salt: what every push does.
pub fn encrypt(payload: &[u8], p256dh: &[u8], auth: &[u8]) -> Result<Vec<u8>, PushError> {
    encrypt_with(payload, p256dh, auth, &VapidKeys::generate().secret, rand::random())
}

/// What the browser does with a push body: `receiver` is the subscription's private key.
pub fn decrypt(body: &[u8], receiver: &SecretKey, auth: &[u8]) -> Result<Vec<u8>, PushError> {
    let bad = || PushError::Undecryptable;
    let salt = body.get(..16).ok_or_else(bad)?;
    let id_len = *body.get(20).ok_or_else(bad)? as usize;
    let as_public = body.get(21..21 + id_len).ok_or_else(bad)?;
    let sealed = body.get(21 + id_len..).ok_or_else(bad)?;
    let sender = PublicKey::from_sec1_bytes(as_public).map_err(|_| bad())?;
    let ua_public = receiver.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(receiver.to_nonzero_scalar(), sender.as_affine());
    let (key, nonce) = derive(shared.raw_secret_bytes(), auth, ua_public.as_bytes(), as_public, salt);
    let mut plain = Aes128Gcm::new(&key.into()).decrypt(&Nonce::from(nonce), sealed).map_err(|_| bad())?;
    // Strip the padding back to the delimiter.
    while plain.last() == Some(&0) {
        plain.pop();
    }
    match plain.pop() {
        Some(2) => Ok(plain),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        B64.decode(s).unwrap()
    }

    // RFC 8291, Appendix A: the published example, byte for byte.
    const PLAINTEXT: &[u8] = b"When I grow up, I want to be a watermelon";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    #[test]
    fn encryption_matches_rfc_8291_appendix_a() {
        let sender = SecretKey::from_slice(&b64(AS_PRIVATE)).unwrap();
        let salt: [u8; 16] = b64(SALT).try_into().unwrap();
        let body = encrypt_with(PLAINTEXT, &b64(UA_PUBLIC), &b64(AUTH), &sender, salt).unwrap();
        assert_eq!(B64.encode(&body), BODY);
        let receiver = SecretKey::from_slice(&b64(UA_PRIVATE)).unwrap();
        assert_eq!(decrypt(&b64(BODY), &receiver, &b64(AUTH)).unwrap(), PLAINTEXT);
    }

    #[test]
    fn a_push_opens_with_its_keys_only() {
        let receiver = VapidKeys::generate().secret;
        let p256dh = receiver.public_key().to_encoded_point(false).as_bytes().to_vec();
        let auth: [u8; 16] = rand::random();
        let body = encrypt(b"{\"title\":\"3 new messages\"}", &p256dh, &auth).unwrap();
        assert_eq!(decrypt(&body, &receiver, &auth).unwrap(), b"{\"title\":\"3 new messages\"}");
        let other: [u8; 16] = rand::random();
        assert_eq!(decrypt(&body, &receiver, &other), Err(PushError::Undecryptable));
        let mut tampered = body.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(decrypt(&tampered, &receiver, &auth), Err(PushError::Undecryptable));
        assert_eq!(encrypt(&[0; MAX_PAYLOAD + 1], &p256dh, &auth), Err(PushError::TooLarge));
        assert_eq!(encrypt(b"x", b"not a key", &auth), Err(PushError::BadKey));
        assert_eq!(encrypt(b"x", &p256dh, b"short"), Err(PushError::BadAuth));
    }

    #[test]
    fn the_vapid_header_verifies_with_the_public_key_it_names() {
        use p256::ecdsa::signature::Verifier;
        let keys = VapidKeys::generate();
        let endpoint = reqwest::Url::parse("https://push.example.net:8443/send/abc?x=1").unwrap();
        let header = keys.authorization(&endpoint, "mailto:ops@example.com", 1_800_000_000);
        let (t, k) = header.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
        assert_eq!(k, keys.public_key());
        let (signed, signature) = t.rsplit_once('.').unwrap();
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&b64(k)).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(&b64(signature)).unwrap();
        key.verify(signed.as_bytes(), &signature).expect("signed by the key it names");
        let claims: serde_json::Value =
            serde_json::from_slice(&b64(signed.split_once('.').unwrap().1)).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["exp"], 1_800_000_000 + 12 * 3600);
        assert_eq!(claims["sub"], "mailto:ops@example.com");
    }

    #[test]
    fn the_key_pair_is_kept_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vapid.key");
        let first = VapidKeys::load_or_create(&path).unwrap();
        let again = VapidKeys::load_or_create(&path).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "garbage").unwrap();
        assert!(VapidKeys::load_or_create(&path).is_err(), "a broken key is an error, never replaced");
    }
}
