//! The sign-in port. The server implements it (argon2, JWT, sessions, rate limits); the UI's
//! server functions reach it through context during SSR, so the UI never touches the store.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::account::{ChangePassword, Me, SessionInfo};
use crate::ids::SessionId;
use crate::validate::ValidationError;

/// A successful sign-in: the bearer token (also set as the browser's session cookie) and who.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginOutcome {
    pub token: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    #[serde(flatten)]
    pub me: Me,
}

/// Why a sign-in was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Unknown email or wrong password: one error for both, so accounts cannot be enumerated.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many attempts from this address or for this email.
    #[error("too many sign-in attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// The request itself is malformed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Missing, expired, revoked or forged token.
    #[error("not signed in")]
    Unauthenticated,
    /// An API key's secret or a user token that names a key and is refused for a reason the
    /// integrator can act on (each has its own code).
    #[error("{}", .0.code())]
    TokenRefused(TokenProblem),
    /// Something on our side; details are logged, never shown.
    #[error("internal error")]
    Internal,
}

/// Why an API key's secret or a user token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    /// Past its `exp`: mint a new one.
    Expired,
    /// Not signed by the key it names, malformed, or naming no key or no user.
    Invalid,
    /// The key that signed it (or the key itself) was revoked.
    KeyRevoked,
    /// The app user it names is deactivated.
    UserDeactivated,
}

impl TokenProblem {
    /// The stable code the API answers with (documented in `docs/embedding.md`).
    pub fn code(&self) -> &'static str {
        match self {
            TokenProblem::Expired => "token_expired",
            TokenProblem::Invalid => "invalid_token",
            TokenProblem::KeyRevoked => "key_revoked",
            TokenProblem::UserDeactivated => "user_deactivated",
        }
    }

    /// What the API says, in words.
    pub fn message(&self) -> &'static str {
        match self {
            TokenProblem::Expired => "The token has expired: mint a new one.",
            TokenProblem::Invalid => {
                "The token is malformed, forged, or names no key or user of this server."
            }
            TokenProblem::KeyRevoked => "The API key behind this token was revoked.",
            TokenProblem::UserDeactivated => "This user is deactivated.",
        }
    }
}

/// Signs people in and out and says who a token belongs to.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Checks the credentials (rate limited per `client` address and per email).
    async fn login(&self, email: &str, password: &str, client: &str) -> Result<LoginOutcome, AuthError>;
    /// Who this token (bearer or cookie) belongs to; `Unauthenticated` if nobody.
    async fn me(&self, token: &str) -> Result<Me, AuthError>;
    /// Revokes the session the token names. Unknown tokens are not an error.
    async fn logout(&self, token: &str) -> Result<(), AuthError>;
    /// The token's user's active sessions, newest first, the token's own marked `current`.
    async fn sessions_for(&self, token: &str) -> Result<Vec<SessionInfo>, AuthError>;
    /// Revokes one of the token's user's sessions (its realtime sockets close); false when
    /// they have no such active session.
    async fn revoke_session_for(&self, token: &str, id: SessionId) -> Result<bool, AuthError>;
    /// Signs the token's user out of every session, this one included.
    async fn sign_out_everywhere_for(&self, token: &str) -> Result<(), AuthError>;
    /// Changes the token's user's password; their other sessions end, this one stays.
    async fn change_password_for(&self, token: &str, req: ChangePassword) -> Result<(), AuthError>;
    /// The `Set-Cookie` value that stores this sign-in in the browser (HttpOnly, SameSite=Lax,
    /// Secure when the server is configured for HTTPS).
    fn session_cookie(&self, outcome: &LoginOutcome) -> String;
    /// The `Set-Cookie` value that removes the session cookie.
    fn clear_session_cookie(&self) -> String;
}

/// The name of the browser's session cookie.
pub const SESSION_COOKIE: &str = "sb_session";

/// The caller's network address as the server decided it (the socket peer, or the proxy's
/// forwarded address when the operator trusts the proxy). Inserted as a request extension by
/// the server; sign-in rate limits key on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub String);

/// Finds the session token in a `Cookie` request header.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').map(str::trim).find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        assert_eq!(token_from_cookie_header("a=1; sb_session=tok.en; b=2"), Some("tok.en"));
        assert_eq!(token_from_cookie_header("sb_session=x"), Some("x"));
        assert_eq!(token_from_cookie_header("sb_session="), None);
        assert_eq!(token_from_cookie_header("other=1"), None);
        assert_eq!(token_from_cookie_header("xsb_session=1"), None);
    }
}
