//! Input validation shared by every entry point (REST, server functions, the CLI), so a rule
//! is written once and every door enforces it.

use serde::{Deserialize, Serialize};

/// Longest email we accept (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Shortest password accepted when creating an account.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted anywhere: bounds the work argon2 does per request.
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Longest display name of a user or a workspace.
pub const MAX_NAME_LEN: usize = 120;

/// A validation failure: which field and why, in words a person can act on.
///
/// `message` says what is wrong with the field ("is longer than 4096 characters"), or is a
/// sentence of its own when it starts with a capital ("The code is not right"). Shown, it
/// reads as one sentence: "Text is longer than 4096 characters." (the field stays
/// machine-readable in `field`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = self.message.trim_end_matches('.');
        if message.starts_with(|c: char| c.is_uppercase()) {
            return write!(f, "{message}.");
        }
        // `reply_to` → "Reply to".
        let mut words = self.field.split('_').filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            let mut chars = first.chars();
            if let Some(c) = chars.next() {
                write!(f, "{}{}", c.to_uppercase(), chars.as_str())?;
            }
            for word in words {
                write!(f, " {word}")?;
            }
            f.write_str(" ")?;
        }
        write!(f, "{message}.")
    }
}

/// A normalized email address (trimmed, lowercased, one `@` with text on both sides).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(ValidationError::new("email", "is required"));
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(ValidationError::new("email", format!("is longer than {MAX_EMAIL_LEN} characters")));
        }
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(ValidationError::new("email", "is not an email address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a password offered at sign-in: present and not absurdly long. (Sign-in does not
/// enforce the creation policy, so a policy change never locks anyone out.)
pub fn login_password(raw: &str) -> Result<(), ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::new("password", "is required"));
    }
    if raw.len() > MAX_PASSWORD_LEN {
        return Err(ValidationError::new("password", format!("is longer than {MAX_PASSWORD_LEN} bytes")));
    }
    Ok(())
}

/// Checks a new password against the creation policy.
pub fn new_password(raw: &str) -> Result<(), ValidationError> {
    login_password(raw)?;
    if raw.chars().count() < MIN_PASSWORD_LEN {
        return Err(ValidationError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// Trims a display name and checks it is present and not too long.
pub fn name(field: &str, raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::new(field, "is required"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(ValidationError::new(field, format!("is longer than {MAX_NAME_LEN} characters")));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(field, "contains control characters"));
    }
    Ok(name.to_owned())
}

/// The one rule for NUL (U+0000), which PostgreSQL's `text` and `jsonb` cannot hold and no
/// person types: text **from our own clients** (REST, realtime RPC, server functions, channel
/// config) that contains one is refused with 422 naming the field, so the caller learns at once;
/// text **from a network** (webhooks, connected runtimes) has it removed and is stored, because
/// refusing would make the network retry forever and lose the message. Both backends then store
/// the same thing.
pub fn no_nul(field: &str, raw: &str) -> Result<(), ValidationError> {
    if raw.contains('\0') {
        return Err(ValidationError::new(field, "contains a NUL character (U+0000)"));
    }
    Ok(())
}

/// Removes every NUL (U+0000) from text that came from a network (see [`no_nul`]).
pub fn strip_nul(raw: String) -> String {
    if raw.contains('\0') { raw.replace('\0', "") } else { raw }
}

/// Checks that no string in a JSON value, key or value, at any depth, holds a NUL.
pub fn json_without_nul(field: &str, value: &serde_json::Value) -> Result<(), ValidationError> {
    match value {
        serde_json::Value::String(s) => no_nul(field, s),
        serde_json::Value::Array(items) => items.iter().try_for_each(|v| json_without_nul(field, v)),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            no_nul(field, k)?;
            json_without_nul(field, v)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_reads_as_one_sentence() {
        let shown = |field: &str, message: &str| ValidationError::new(field, message).to_string();
        assert_eq!(shown("text", "is longer than 4096 characters"), "Text is longer than 4096 characters.");
        assert_eq!(
            shown("reply_to", "is not a message of this conversation"),
            "Reply to is not a message of this conversation."
        );
        assert_eq!(shown("value", "The code is not right"), "The code is not right.");
        assert_eq!(shown("email", "is required."), "Email is required.");
    }

    #[test]
    fn emails_are_normalized() {
        assert_eq!(Email::parse("  Alice@Example.COM ").unwrap().as_str(), "alice@example.com");
    }

    #[test]
    fn bad_emails_are_rejected_with_the_field_named() {
        for bad in ["", "   ", "alice", "@example.com", "alice@", "a@b@c", "a b@example.com"] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL_LEN));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(login_password("").is_err());
        assert!(login_password("x").is_ok());
        assert!(login_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
        assert!(new_password("short").is_err());
        assert!(new_password("long enough").is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  Acme  ").unwrap(), "Acme");
        assert!(name("name", " ").is_err());
        assert!(name("name", &"x".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(name("name", "a\u{0}b").is_err());
    }

    #[test]
    fn nul_is_refused_from_clients_and_stripped_from_networks() {
        assert_eq!(no_nul("text", "a\u{0}b").unwrap_err().field, "text");
        assert!(no_nul("text", "ab").is_ok());
        assert_eq!(strip_nul("a\u{0}b\u{0}".into()), "ab");
        let nested = serde_json::json!({"a": [{"b": "x\u{0}"}]});
        assert_eq!(json_without_nul("config", &nested).unwrap_err().field, "config");
        assert!(json_without_nul("config", &serde_json::json!({"k\u{0}": 1})).is_err());
        assert!(json_without_nul("config", &serde_json::json!({"a": [1, "b"]})).is_ok());
    }
}
