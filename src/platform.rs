//! The developer platform: a workspace's **API keys** (server-to-server calls as the
//! workspace), the **users of its app** (created by the app's backend, members of rooms, never
//! signing in themselves) and the **user tokens** a key mints for them (HS256 JWTs that the
//! app's backend can also mint offline with the key's secret). In words: `docs/embedding.md`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{ApiKeyId, UserId};
use crate::validate::ValidationError;

/// What an API key may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// The whole API as a workspace admin, and minting user tokens.
    #[default]
    Server,
    /// Reads only: every `GET`; anything else is refused with 403 `insufficient_scope`.
    Read,
}

impl ApiKeyScope {
    pub fn as_str(&self) -> &'static str {
        match self {
            ApiKeyScope::Server => "server",
            ApiKeyScope::Read => "read",
        }
    }
}

impl std::str::FromStr for ApiKeyScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "server" => Ok(ApiKeyScope::Server),
            "read" => Ok(ApiKeyScope::Read),
            other => Err(format!("unknown API key scope `{other}`")),
        }
    }
}

/// An API key as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    /// The public half: names the key in user tokens (`iss`) and in the admin page.
    pub id: ApiKeyId,
    pub name: String,
    pub scope: ApiKeyScope,
    /// The account the key acts as (its messages' sender).
    pub user_id: UserId,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// The last call it authenticated, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set once revoked: every call and every token of the key fails from then on.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/api-keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateApiKey {
    /// What the key is for, e.g. "Production backend" (1–80 characters).
    pub name: String,
    #[serde(default)]
    pub scope: ApiKeyScope,
}

impl CreateApiKey {
    /// The name, trimmed and checked.
    pub fn validated_name(&self) -> Result<String, ValidationError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(ValidationError::new("name", "must be 1 to 80 characters"));
        }
        Ok(name.to_owned())
    }
}

/// A key just created: the only answer that ever carries its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// `Authorization: Bearer <secret>` for server calls, and the HS256 key for user tokens.
    /// Shown once: store it now.
    pub secret: String,
}

/// The role every app user has (room roles are per room).
pub const APP_USER_ROLE: &str = "user";

/// A user of the workspace's app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppUser {
    /// The app's own id for the user (1–128 characters of `A-Z a-z 0-9 _ - . @ : |`).
    pub external_id: String,
    /// Switchboard's id for the user: the `sender_user_id` of their messages, the member id
    /// in rooms, the `user:{id}` realtime topic.
    pub user_id: UserId,
    pub name: String,
    pub image_url: Option<String>,
    /// The app's own data about the user (a JSON object, at most 4 KiB).
    pub custom: Value,
    /// Always `user`.
    pub role: String,
    /// Set while deactivated: their tokens are refused and their sockets closed.
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /api/v1/users/{external_id}`: creates the user or replaces these fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutAppUser {
    /// 1–100 characters.
    pub name: String,
    /// An `http(s)` URL, at most 2,048 characters.
    #[serde(default)]
    pub image_url: Option<String>,
    /// A JSON object, at most 4 KiB serialized.
    #[serde(default)]
    pub custom: Option<Value>,
}

/// Longest `custom` object, serialized.
pub const CUSTOM_LIMIT: usize = 4096;

impl PutAppUser {
    /// The fields, trimmed and checked.
    pub fn validated(&self) -> Result<PutAppUser, ValidationError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ValidationError::new("name", "must be 1 to 100 characters"));
        }
        let image_url = match self.image_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => {
                let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
                if !scheme_ok || url.len() > 2048 || url.chars().any(char::is_whitespace) {
                    return Err(ValidationError::new(
                        "image_url",
                        "must be an http(s) URL of at most 2048 characters",
                    ));
                }
                Some(url.to_owned())
            }
        };
        let custom = self.custom.clone().unwrap_or_else(|| Value::Object(Default::default()));
        if !custom.is_object() {
            return Err(ValidationError::new("custom", "must be a JSON object"));
        }
        if custom.to_string().len() > CUSTOM_LIMIT {
            return Err(ValidationError::new("custom", "must be at most 4096 bytes as JSON"));
        }
        Ok(PutAppUser { name: name.to_owned(), image_url, custom: Some(custom) })
    }
}

/// Checks an app user's external id: 1–128 characters of `A-Z a-z 0-9 _ - . @ : |`.
pub fn validate_external_id(id: &str) -> Result<(), ValidationError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.@:|".contains(c);
    if id.is_empty() || id.len() > 128 || !id.chars().all(allowed) {
        return Err(ValidationError::new(
            "external_id",
            "must be 1 to 128 characters of letters, digits and _ - . @ : |",
        ));
    }
    Ok(())
}

/// `POST /api/v1/users/{external_id}/token`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MintToken {
    /// Seconds the token lives: 60 to 2,592,000 (30 days); one hour when omitted.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// Default and bounds of a minted token's life, in seconds.
pub const TOKEN_TTL_DEFAULT: u64 = 3600;
pub const TOKEN_TTL_MIN: u64 = 60;
pub const TOKEN_TTL_MAX: u64 = 30 * 24 * 3600;

impl MintToken {
    /// The token's life in seconds, checked.
    pub fn ttl(&self) -> Result<u64, ValidationError> {
        match self.expires_in {
            None => Ok(TOKEN_TTL_DEFAULT),
            Some(s) if (TOKEN_TTL_MIN..=TOKEN_TTL_MAX).contains(&s) => Ok(s),
            Some(_) => Err(ValidationError::new("expires_in", "must be 60 to 2592000 seconds")),
        }
    }
}

/// A minted user token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MintedToken {
    /// `Authorization: Bearer <token>` for the REST API, and the realtime connection's token.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A user token's claims (HS256, signed with the key's secret). `exp` is required; `iat` and
/// `nbf` are honoured when present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTokenClaims {
    /// The app user's external id.
    pub sub: String,
    /// The id of the API key whose secret signed it.
    pub iss: String,
    /// Unix seconds.
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// Who has read a message: each member of its conversation whose read position is at or past
/// it (its sender left out), `GET /api/v1/messages/{id}/reads`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageReads {
    pub message_id: crate::ids::MessageId,
    /// Oldest read first.
    pub read_by: Vec<Reader>,
}

/// One reader of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reader {
    pub user_id: UserId,
    pub name: String,
    /// When their read position last moved (to this message or past it).
    pub read_at: DateTime<Utc>,
}

/// A page of app users, by external id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppUserPage {
    pub users: Vec<AppUser>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_checked() {
        for ok in ["u1", "alice@example.com", "tenant:42|user-7", &"x".repeat(128)] {
            assert!(validate_external_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "with space", "slash/y", "ü", &"x".repeat(129)] {
            assert!(validate_external_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_fields_are_trimmed_and_bounded() {
        let put = PutAppUser { name: "  Ann ".into(), image_url: Some(" ".into()), custom: None };
        let valid = put.validated().unwrap();
        assert_eq!(
            (valid.name.as_str(), valid.image_url, valid.custom),
            ("Ann", None, Some(serde_json::json!({})))
        );
        let bad_url =
            PutAppUser { name: "A".into(), image_url: Some("javascript:alert(1)".into()), custom: None };
        assert_eq!(bad_url.validated().unwrap_err().field, "image_url");
        let array = PutAppUser { name: "A".into(), image_url: None, custom: Some(serde_json::json!([1])) };
        assert_eq!(array.validated().unwrap_err().field, "custom");
        let big = PutAppUser {
            name: "A".into(),
            image_url: None,
            custom: Some(serde_json::json!({"x": "y".repeat(CUSTOM_LIMIT)})),
        };
        assert_eq!(big.validated().unwrap_err().field, "custom");
    }

    #[test]
    fn token_lives_are_bounded() {
        assert_eq!(MintToken::default().ttl().unwrap(), TOKEN_TTL_DEFAULT);
        assert_eq!(MintToken { expires_in: Some(60) }.ttl().unwrap(), 60);
        assert!(MintToken { expires_in: Some(59) }.ttl().is_err());
        assert!(MintToken { expires_in: Some(TOKEN_TTL_MAX + 1) }.ttl().is_err());
    }
}
