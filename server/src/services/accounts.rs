//! Sign-in, sessions and tokens: the server's implementation of the `Accounts` port.
//!
//! A sign-in creates a `session` row and a JWT (HS256, key derived from the server secret)
//! naming it. The same token is the API's bearer token and the browser's HttpOnly cookie.
//! Every check reads the session row, so signing out revokes the token at once.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use switchboard::account::{ChangePassword, SessionInfo};
use switchboard::auth::{Accounts, AuthError, LoginOutcome, SESSION_COOKIE};
use switchboard::platform::ApiKeyScope;
use switchboard::store::StoreError;
use switchboard::validate::{self, Email, ValidationError};
use switchboard::{ApiKeyId, Me, Session, SessionId, Store, User, UserId};

use super::ratelimit::{KeyedLimiter, Quota};
use crate::realtime::hub::Target;
use crate::realtime::protocol::AccessEnded;
use crate::realtime::{BusMessage, Realtime};
use crate::secret::SecretKey;

/// Who may sign in how often, and how long a session lasts.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Lifetime of a session (token and cookie).
    pub session_ttl: Duration,
    /// Mark the cookie `Secure` (serve over HTTPS).
    pub secure_cookies: bool,
    /// Sign-in attempts per client address.
    pub per_client: Quota,
    /// Failed sign-in attempts per email.
    pub per_email: Quota,
    /// The address people reach the server at; invitation links start with it (relative
    /// links when empty).
    pub public_url: String,
    /// API requests per API key.
    pub per_api_key: Quota,
    /// API requests per app user (their user tokens).
    pub per_app_user: Quota,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            secure_cookies: false,
            per_client: Quota::new(20, Duration::from_secs(60)),
            per_email: Quota::new(10, Duration::from_secs(15 * 60)),
            public_url: String::new(),
            per_api_key: Quota::per_second(50, 250),
            per_app_user: Quota::per_second(10, 50),
        }
    }
}

/// The claims inside a session token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id.
    sub: String,
    /// The session id; the row decides whether the token still works.
    sid: String,
    aud: String,
    iat: i64,
    exp: i64,
}

const AUDIENCE: &str = "switchboard";
/// Realtime connection tokens are a different audience: a session token is never accepted
/// in their place, nor the other way round.
const REALTIME_AUDIENCE: &str = "switchboard-realtime";

/// Why a realtime token was refused: an expired one is worth refreshing, anything else not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Expired,
    Invalid,
    Internal,
}

/// A verified caller: the user and the session their token names.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub user: User,
    /// The session the token names; for an API key's secret or a user token, the key's id
    /// (so revoking the key ends them the way ending a session does).
    pub session_id: SessionId,
    /// When the session (or the user token) ends on its own.
    pub session_expires_at: chrono::DateTime<chrono::Utc>,
    /// How the caller proved it.
    pub via: Via,
}

/// How a caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A person's sign-in session (bearer token or cookie, or a realtime token of it).
    Session,
    /// An API key's secret: the key's own account, a workspace admin.
    ApiKey { key: ApiKeyId, scope: ApiKeyScope },
    /// A user token an API key signed, for one of the app's users (who belong to the key's
    /// workspace, and to no other).
    UserToken { key: ApiKeyId, workspace: switchboard::WorkspaceId },
}

impl Authenticated {
    /// Whether the caller may only read (a `read` API key).
    pub fn read_only(&self) -> bool {
        matches!(self.via, Via::ApiKey { scope: ApiKeyScope::Read, .. })
    }
}

/// Signs users in and out; verifies tokens.
pub struct AccountService {
    store: Arc<dyn Store>,
    /// Where ended access closes sockets (every node's, through the broker).
    realtime: Arc<Realtime>,
    config: AuthConfig,
    encoding: EncodingKey,
    decoding: DecodingKey,
    per_client: KeyedLimiter,
    per_email: KeyedLimiter,
    /// Verified against when the email is unknown, so both failures take the same time.
    dummy_hash: String,
    /// Derives API keys' secrets.
    pub(crate) keys: super::platform::KeyRing,
    /// API requests per key and per app user (people's sessions are not counted here).
    pub(crate) per_api_key: KeyedLimiter<uuid::Uuid>,
    pub(crate) per_app_user: KeyedLimiter<uuid::Uuid>,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService").field("config", &self.config).finish_non_exhaustive()
    }
}

impl AccountService {
    pub fn new(
        store: Arc<dyn Store>,
        realtime: Arc<Realtime>,
        secret: &SecretKey,
        config: AuthConfig,
    ) -> Self {
        let key = secret.derive("session-jwt");
        Self {
            store,
            realtime,
            per_client: KeyedLimiter::new(config.per_client),
            per_email: KeyedLimiter::new(config.per_email),
            per_api_key: KeyedLimiter::new(config.per_api_key),
            per_app_user: KeyedLimiter::new(config.per_app_user),
            config,
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            dummy_hash: hash_blocking("not a real password; equalizes timing"),
            keys: super::platform::KeyRing::new(secret),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Verifies a token and its session; `Unauthenticated` for anything wrong with it.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        if super::platform::is_key_secret(token) {
            return self.key_caller(token).await;
        }
        match self.decode(token, AUDIENCE) {
            Ok(claims) => self.session_of(&claims).await,
            Err(_) if super::platform::is_user_token(token) => self.user_token_caller(token).await,
            Err(_) => Err(AuthError::Unauthenticated),
        }
    }

    /// A short-lived token for the realtime endpoint, bound to the caller's session (signing
    /// out kills it) and never outliving it. Returns the token and its expiry (Unix seconds).
    pub fn issue_realtime_token(
        &self,
        who: &Authenticated,
        ttl: Duration,
    ) -> Result<(String, i64), AuthError> {
        let now = switchboard::time::now();
        let exp = (now.timestamp() + ttl.as_secs() as i64).min(who.session_expires_at.timestamp());
        let claims = Claims {
            sub: who.user.id.to_string(),
            sid: who.session_id.to_string(),
            aud: REALTIME_AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp,
        };
        let token = self.sign(&claims)?;
        Ok((token, exp))
    }

    /// Verifies a realtime token and its session; answers the caller and the token's expiry.
    pub async fn authenticate_realtime(&self, token: &str) -> Result<(Authenticated, i64), TokenRefusal> {
        if super::platform::is_user_token(token) {
            // The app's clients connect with their user token itself (the SDK's `getToken`).
            return match self.user_token_caller(token).await {
                Ok(who) => {
                    let exp = who.session_expires_at.timestamp();
                    Ok((who, exp))
                }
                Err(AuthError::TokenRefused(switchboard::auth::TokenProblem::Expired)) => {
                    Err(TokenRefusal::Expired)
                }
                Err(AuthError::Internal) => Err(TokenRefusal::Internal),
                Err(_) => Err(TokenRefusal::Invalid),
            };
        }
        let claims = self.decode(token, REALTIME_AUDIENCE).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenRefusal::Expired,
            _ => TokenRefusal::Invalid,
        })?;
        let who = self.session_of(&claims).await.map_err(|e| match e {
            AuthError::Internal => TokenRefusal::Internal,
            _ => TokenRefusal::Invalid,
        })?;
        Ok((who, claims.exp))
    }

    fn decode(&self, token: &str, audience: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[audience]);
        validation.leeway = 0;
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)?.claims)
    }

    fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a token");
            AuthError::Internal
        })
    }

    /// The live session and user a token's claims name.
    async fn session_of(&self, claims: &Claims) -> Result<Authenticated, AuthError> {
        let session_id: SessionId = claims.sid.parse().map_err(|_| AuthError::Unauthenticated)?;
        let session =
            self.store.session(session_id).await.map_err(internal)?.ok_or(AuthError::Unauthenticated)?;
        if !session.is_active(switchboard::time::now()) || session.user_id.to_string() != claims.sub {
            return Err(AuthError::Unauthenticated);
        }
        let user =
            self.store.user(session.user_id).await.map_err(internal)?.ok_or(AuthError::Unauthenticated)?;
        Ok(Authenticated { user, session_id, session_expires_at: session.expires_at, via: Via::Session })
    }

    /// The user, their workspaces and their default workspace.
    pub async fn me_of(&self, user: User) -> Result<Me, AuthError> {
        let workspaces = self.store.memberships(user.id).await.map_err(internal)?;
        let default_workspace_id = self.store.default_workspace(user.id).await.map_err(internal)?;
        Ok(Me { user, workspaces, default_workspace_id })
    }

    /// Starts a session for `user` (signed in, or just signed up): the token and who.
    pub(crate) async fn start_session(&self, user: User) -> Result<LoginOutcome, AuthError> {
        let now = switchboard::time::now();
        let ttl = chrono::Duration::from_std(self.config.session_ttl).map_err(|_| AuthError::Internal)?;
        let session = Session {
            id: SessionId::new(),
            user_id: user.id,
            created_at: now,
            expires_at: now + ttl,
            revoked_at: None,
        };
        let session = self.store.create_session(session).await.map_err(internal)?;
        let token = self.issue_token(&session)?;
        tracing::info!(user_id = %user.id, session_id = %session.id, "signed in");
        Ok(LoginOutcome { token, expires_in: self.config.session_ttl.as_secs(), me: self.me_of(user).await? })
    }

    /// Signs one session out: revokes it and closes its sockets.
    pub async fn revoke(&self, session_id: SessionId) -> Result<(), AuthError> {
        self.store.revoke_session(session_id, switchboard::time::now()).await.map_err(internal)?;
        self.end_access(Target::Session { session: session_id }, AccessEnded::SignedOut);
        Ok(())
    }

    /// Closes the sockets `target` names on every node, after the change that ended their
    /// access committed. The one way access ends for realtime connections.
    pub fn end_access(&self, target: Target, why: AccessEnded) {
        self.realtime.publish(BusMessage::Terminate { target, why });
    }

    /// The caller's active sessions, newest first, the current one marked.
    pub async fn sessions(&self, who: &Authenticated) -> Result<Vec<SessionInfo>, AuthError> {
        let sessions =
            self.store.active_sessions(who.user.id, switchboard::time::now()).await.map_err(internal)?;
        Ok(sessions
            .into_iter()
            .map(|s| SessionInfo {
                id: s.id,
                created_at: s.created_at,
                expires_at: s.expires_at,
                current: s.id == who.session_id,
            })
            .collect())
    }

    /// Revokes one of the caller's own sessions and closes its sockets. False when the caller
    /// has no such active session (someone else's is not theirs to know about).
    pub async fn revoke_own_session(&self, who: &Authenticated, id: SessionId) -> Result<bool, AuthError> {
        let owned = self
            .store
            .session(id)
            .await
            .map_err(internal)?
            .is_some_and(|s| s.user_id == who.user.id && s.is_active(switchboard::time::now()));
        if !owned {
            return Ok(false);
        }
        self.store.revoke_session(id, switchboard::time::now()).await.map_err(internal)?;
        self.end_access(Target::Session { session: id }, AccessEnded::SessionRevoked);
        tracing::info!(user_id = %who.user.id, session_id = %id, "session revoked");
        Ok(true)
    }

    /// Signs the user out everywhere: every session, this one included, and every socket.
    pub async fn sign_out_everywhere(&self, user: UserId) -> Result<u64, AuthError> {
        let revoked =
            self.store.revoke_user_sessions(user, None, switchboard::time::now()).await.map_err(internal)?;
        self.end_access(Target::User { user, keep: None }, AccessEnded::SignedOut);
        tracing::info!(user_id = %user, revoked, "signed out everywhere");
        Ok(revoked)
    }

    /// Changes the caller's password after checking the current one; every other session of
    /// theirs ends (and its sockets close), the caller's stays. Wrong current passwords count
    /// against the email's sign-in limit, so a stolen session cannot guess it freely.
    pub async fn change_password(&self, who: &Authenticated, req: ChangePassword) -> Result<u64, AuthError> {
        let email = who.user.email.to_string();
        validate::login_password(&req.current_password)
            .map_err(|e| ValidationError::new("current_password", e.message))?;
        validate::new_password(&req.new_password)
            .map_err(|e| ValidationError::new("new_password", e.message))?;
        self.per_email.peek(&email).map_err(rate_limited)?;
        let email_parsed = Email::parse(&email)?;
        let hash = self.store.user_credentials(&email_parsed).await.map_err(internal)?.map(|(_, hash)| hash);
        if !self.verify_password(&req.current_password, hash).await? {
            let _ = self.per_email.check(&email);
            return Err(ValidationError::new("current_password", "is not your current password").into());
        }
        let hash = hash_password(&req.new_password).await.map_err(|_| AuthError::Internal)?;
        let revoked = self
            .store
            .change_password(who.user.id, &hash, who.session_id, switchboard::time::now())
            .await
            .map_err(internal)?;
        self.end_access(
            Target::User { user: who.user.id, keep: Some(who.session_id) },
            AccessEnded::PasswordChanged,
        );
        tracing::info!(user_id = %who.user.id, revoked, "password changed");
        Ok(revoked)
    }

    fn issue_token(&self, session: &Session) -> Result<String, AuthError> {
        let claims = Claims {
            sub: session.user_id.to_string(),
            sid: session.id.to_string(),
            aud: AUDIENCE.to_owned(),
            iat: session.created_at.timestamp(),
            exp: session.expires_at.timestamp(),
        };
        self.sign(&claims)
    }

    async fn verify_password(&self, password: &str, hash: Option<String>) -> Result<bool, AuthError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|_| AuthError::Internal)?;
        Ok(ok && known)
    }
}

pub(crate) fn internal(err: StoreError) -> AuthError {
    tracing::error!(error = %err, "store error during authentication");
    AuthError::Internal
}

fn rate_limited(retry: Duration) -> AuthError {
    AuthError::RateLimited { retry_after_secs: retry.as_secs_f64().ceil().max(1.0) as u64 }
}

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any input").to_string()
}

/// Hashes a password with argon2id (default parameters) off the async runtime.
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    Ok(tokio::task::spawn_blocking(move || hash_blocking(&password)).await?)
}

#[async_trait]
impl Accounts for AccountService {
    async fn login(&self, email: &str, password: &str, client: &str) -> Result<LoginOutcome, AuthError> {
        self.per_client.check(client).map_err(rate_limited)?;
        let email = Email::parse(email)?;
        validate::login_password(password)?;
        self.per_email.peek(email.as_str()).map_err(rate_limited)?;

        let found = self.store.user_credentials(&email).await.map_err(internal)?;
        let (user, hash) = match found {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let verified = self.verify_password(password, hash).await?;
        let Some(user) = user.filter(|_| verified) else {
            // Count the failure against the email; a refusal here still reads as a wrong password.
            let _ = self.per_email.check(email.as_str());
            tracing::info!(client, "sign-in refused: invalid credentials");
            return Err(AuthError::InvalidCredentials);
        };

        self.start_session(user).await
    }

    async fn me(&self, token: &str) -> Result<Me, AuthError> {
        let who = self.authenticate(token).await?;
        self.me_of(who.user).await
    }

    async fn logout(&self, token: &str) -> Result<(), AuthError> {
        match self.authenticate(token).await {
            Ok(who) => self.revoke(who.session_id).await,
            Err(AuthError::Unauthenticated) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn sessions_for(&self, token: &str) -> Result<Vec<SessionInfo>, AuthError> {
        let who = self.authenticate(token).await?;
        self.sessions(&who).await
    }

    async fn revoke_session_for(&self, token: &str, id: SessionId) -> Result<bool, AuthError> {
        let who = self.authenticate(token).await?;
        self.revoke_own_session(&who, id).await
    }

    async fn sign_out_everywhere_for(&self, token: &str) -> Result<(), AuthError> {
        let who = self.authenticate(token).await?;
        self.sign_out_everywhere(who.user.id).await.map(|_| ())
    }

    async fn change_password_for(&self, token: &str, req: ChangePassword) -> Result<(), AuthError> {
        let who = self.authenticate(token).await?;
        self.change_password(&who, req).await.map(|_| ())
    }

    fn session_cookie(&self, outcome: &LoginOutcome) -> String {
        let secure = if self.config.secure_cookies { "; Secure" } else { "" };
        format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            outcome.token, outcome.expires_in
        )
    }

    fn clear_session_cookie(&self) -> String {
        let secure = if self.config.secure_cookies { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }
}
