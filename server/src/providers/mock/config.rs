//! The Mock channel's knobs (its `config`), their defaults and their bounds.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use switchboard::validate::ValidationError;

/// The Mock channel's knobs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MockConfig {
    pub qr_ttl_secs: u64,
    pub code_ttl_secs: u64,
    pub auth_confirm_after_ms: Option<u64>,
    pub contacts: u32,
    /// The first N connection attempts of the channel fail (a flaky network).
    pub connect_failures: u32,
    /// A contact answers each outbound message after this delay (`null`: never answers).
    pub reply_after_ms: Option<u64>,
    /// The answer's text; `{text}` is replaced by the message answered.
    pub reply_text: String,
    /// An outbound message is reported delivered after this delay.
    pub delivered_after_ms: u64,
    /// …and read after this delay (counted from the send).
    pub read_after_ms: u64,
    /// Share of sends (0.0 to 1.0) that fail with a retryable error.
    pub failure_rate: f64,
    /// The next N sends are refused with 429 and `Retry-After: rate_limit_retry_after_secs`.
    pub rate_limit_next: u32,
    pub rate_limit_retry_after_secs: u64,
    /// Sends fail (retryably) until this time: a network outage.
    pub outage_until: Option<DateTime<Utc>>,
    /// Contacts that permanently refuse messages.
    pub reject_contacts: Vec<String>,
    /// Enables `POST /webhooks/mock/{channel_id}`: requests must carry
    /// `X-Mock-Signature: sha256=<hex HMAC-SHA256 of the body under this secret>`.
    pub webhook_secret: Option<String>,
    /// On connect, each contact's ten earlier messages arrive as history and are recorded (as a
    /// linked phone's would be: read, in order); off by default.
    pub history_on_connect: bool,
    /// The contact answers a message that has quick-reply buttons by pressing this one
    /// (1-based: the answer is its label) instead of writing `reply_text`; none by default.
    pub press_button: Option<u8>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            qr_ttl_secs: 60,
            code_ttl_secs: 120,
            auth_confirm_after_ms: None,
            contacts: 3,
            connect_failures: 0,
            reply_after_ms: Some(2000),
            reply_text: "Thanks, got it: \"{text}\"".into(),
            delivered_after_ms: 500,
            read_after_ms: 1500,
            failure_rate: 0.0,
            rate_limit_next: 0,
            rate_limit_retry_after_secs: 30,
            outage_until: None,
            reject_contacts: Vec::new(),
            webhook_secret: None,
            history_on_connect: false,
            press_button: None,
        }
    }
}

/// The quick-reply buttons the Mock network shows under a message: WhatsApp's reply buttons'
/// limits (three, of twenty characters), so both a button send and the numbered-lines fallback
/// can be seen on it.
pub const BUTTONS: switchboard::provider::ButtonLimits =
    switchboard::provider::ButtonLimits { max: 3, max_label: 20 };

/// Most contacts a Mock account may have.
pub const MAX_CONTACTS: u32 = 50;
/// Shortest token body after `mock_`.
pub const TOKEN_MIN_LEN: usize = 24;

/// Longest delay of any Mock knob in milliseconds (receipts, replies, auto-confirm): an hour.
pub const MAX_DELAY_MS: u64 = 3_600_000;
/// Longest prompt lifetime (`qr_ttl_secs`, `code_ttl_secs`): an hour.
pub const MAX_TTL_SECS: u64 = 3600;
/// Longest `rate_limit_retry_after_secs`: a day, the longest pause any network asks for.
pub const MAX_RETRY_AFTER_SECS: u64 = 86_400;
/// Most sends `rate_limit_next` and connection attempts `connect_failures` may refuse.
pub const MAX_FAULT_COUNT: u32 = 10_000;
/// Most entries of `reject_contacts`, and the longest of each.
pub const MAX_REJECTED: usize = 1000;
/// Webhook secrets: long enough to resist guessing, short enough to bound the HMAC key.
pub const WEBHOOK_SECRET_LEN: std::ops::RangeInclusive<usize> = 16..=256;

impl MockConfig {
    /// Parses and bounds the knobs; each refusal names its key (`config.qr_ttl_secs`), so the
    /// admin page can point at it. Every bound is in the module docs.
    pub(super) fn parse(config: &serde_json::Value) -> Result<Self, ValidationError> {
        let parsed: MockConfig = serde_json::from_value(config.clone())
            .map_err(|e| ValidationError::new("config", e.to_string()))?;
        let refuse = |key: &str, why: String| Err(ValidationError::new(&format!("config.{key}"), why));
        if parsed.contacts > MAX_CONTACTS {
            return refuse("contacts", format!("must be at most {MAX_CONTACTS}"));
        }
        if !(0.0..=1.0).contains(&parsed.failure_rate) {
            return refuse("failure_rate", "must be between 0 and 1".into());
        }
        if parsed.press_button.is_some_and(|n| n == 0 || n > BUTTONS.max) {
            return refuse("press_button", format!("must be 1 to {}", BUTTONS.max));
        }
        if parsed.reply_text.len() > 4096 {
            return refuse("reply_text", "is longer than 4096 bytes".into());
        }
        for (key, ttl) in [("qr_ttl_secs", parsed.qr_ttl_secs), ("code_ttl_secs", parsed.code_ttl_secs)] {
            if !(1..=MAX_TTL_SECS).contains(&ttl) {
                return refuse(key, format!("must be 1 to {MAX_TTL_SECS} seconds"));
            }
        }
        let delays = [
            ("auth_confirm_after_ms", parsed.auth_confirm_after_ms),
            ("reply_after_ms", parsed.reply_after_ms),
            ("delivered_after_ms", Some(parsed.delivered_after_ms)),
            ("read_after_ms", Some(parsed.read_after_ms)),
        ];
        for (key, delay) in delays {
            if delay.is_some_and(|ms| ms > MAX_DELAY_MS) {
                return refuse(key, format!("must be at most {MAX_DELAY_MS} ms"));
            }
        }
        if parsed.rate_limit_retry_after_secs > MAX_RETRY_AFTER_SECS {
            return refuse(
                "rate_limit_retry_after_secs",
                format!("must be at most {MAX_RETRY_AFTER_SECS} seconds"),
            );
        }
        for (key, count) in
            [("rate_limit_next", parsed.rate_limit_next), ("connect_failures", parsed.connect_failures)]
        {
            if count > MAX_FAULT_COUNT {
                return refuse(key, format!("must be at most {MAX_FAULT_COUNT}"));
            }
        }
        if parsed.reject_contacts.len() > MAX_REJECTED || parsed.reject_contacts.iter().any(|c| c.len() > 256)
        {
            return refuse(
                "reject_contacts",
                format!("holds at most {MAX_REJECTED} ids of at most 256 bytes"),
            );
        }
        if let Some(secret) = &parsed.webhook_secret
            && !WEBHOOK_SECRET_LEN.contains(&secret.len())
        {
            return refuse(
                "webhook_secret",
                format!("must be {} to {} bytes", WEBHOOK_SECRET_LEN.start(), WEBHOOK_SECRET_LEN.end()),
            );
        }
        Ok(parsed)
    }
}
