//! The developer platform on the account service: API keys (their secrets derived, never
//! stored), the app's users, and the user tokens a key signs for them. The rules in words are
//! in `docs/embedding.md`.
//!
//! - A key's **secret** is `sb_sk_` + HMAC-SHA256(server key, key id), base64url: the server
//!   can always recompute it (so it verifies user tokens signed with it) and stores only its
//!   SHA-256 (so a bearer secret finds its key in one indexed read).
//! - A **user token** is an HS256 JWT signed with a key's secret (its UTF-8 bytes), with
//!   `sub` = the user's external id, `iss` = the key id and a required `exp`: exactly what a
//!   backend mints offline with any JWT library.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sha2::{Digest, Sha256};
use switchboard::auth::{AuthError, TokenProblem};
use switchboard::platform::{
    ApiKey, ApiKeyScope, AppUser, AppUserPage, CreateApiKey, CreatedApiKey, MintToken, MintedToken,
    PutAppUser, UserTokenClaims, validate_external_id,
};
use switchboard::store::{KeyGrant, NewApiKey, StoreError};
use switchboard::{ApiKeyId, SessionId, UserId};

use super::accounts::{AccountService, Authenticated, Via, internal};
use super::{Actor, ServiceError};
use crate::realtime::hub::Target;
use crate::realtime::protocol::AccessEnded;
use crate::secret::SecretKey;

/// A caller's request quota, as the standard `RateLimit-*` headers tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateState {
    pub limit: u32,
    pub remaining: u32,
    /// Until the quota is whole again.
    pub reset: Duration,
    /// Set when refused: how long to wait.
    pub retry_after: Option<Duration>,
}

/// What every key secret starts with (so a leaked one is recognisable, and told apart from a
/// session token at a glance).
pub const SECRET_PREFIX: &str = "sb_sk_";

/// How often a key's `last_used_at` is written at most.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// How long a key's own authentication counts as lasting (for a realtime token minted from it).
const KEY_SESSION: Duration = Duration::from_secs(24 * 3600);

/// Derives keys' secrets from the server's key.
pub struct KeyRing {
    root: [u8; 32],
}

impl KeyRing {
    pub fn new(secret: &SecretKey) -> Self {
        Self { root: secret.derive("api-key-secrets") }
    }

    /// The secret of key `id`.
    pub fn secret(&self, id: ApiKeyId) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.root).expect("HMAC accepts any key length");
        mac.update(id.as_uuid().as_bytes());
        format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

/// SHA-256 of a secret, hex: what the store keeps.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether a bearer credential is a key's secret.
pub fn is_key_secret(token: &str) -> bool {
    token.starts_with(SECRET_PREFIX)
}

/// The claims of a JWT, unverified: only to find which key verifies it.
fn peek_claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Whether a bearer credential is a user token (a JWT naming its key in `iss`; the server's
/// own session tokens have no `iss`).
pub fn is_user_token(token: &str) -> bool {
    peek_claims(token).is_some_and(|c| c.get("iss").is_some() && c.get("sid").is_none())
}

fn refused(problem: TokenProblem) -> AuthError {
    AuthError::TokenRefused(problem)
}

impl AccountService {
    /// The caller behind a key's secret: the key's account, as a member of its workspace.
    pub(crate) async fn key_caller(&self, secret: &str) -> Result<Authenticated, AuthError> {
        let grant = self
            .store()
            .api_key_by_secret(&secret_hash(secret))
            .await
            .map_err(internal)?
            .ok_or(refused(TokenProblem::Invalid))?;
        if grant.key.revoked_at.is_some() {
            return Err(refused(TokenProblem::KeyRevoked));
        }
        let now = switchboard::time::now();
        if grant.key.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY) {
            self.store().touch_api_key(grant.key.id, now).await.map_err(internal)?;
        }
        let user = self
            .store()
            .user(grant.key.user_id)
            .await
            .map_err(internal)?
            .ok_or(AuthError::Unauthenticated)?;
        Ok(Authenticated {
            user,
            session_id: SessionId(grant.key.id.as_uuid()),
            session_expires_at: now + KEY_SESSION,
            via: Via::ApiKey { key: grant.key.id, scope: grant.key.scope },
        })
    }

    /// The app user behind a user token, after its key's signature, its expiry, the key and
    /// the user are checked (in that order, so a forger learns nothing about keys or users).
    /// The key and the user are read together, in one query, before any check.
    pub(crate) async fn user_token_caller(&self, token: &str) -> Result<Authenticated, AuthError> {
        let claims = peek_claims(token).ok_or(refused(TokenProblem::Invalid))?;
        let key_id: ApiKeyId = claims
            .get("iss")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse().ok())
            .ok_or(refused(TokenProblem::Invalid))?;
        let subject = claims.get("sub").and_then(|v| v.as_str()).ok_or(refused(TokenProblem::Invalid))?;
        let (KeyGrant { key, workspace_id }, account) = self
            .store()
            .user_token_grant(key_id, subject)
            .await
            .map_err(internal)?
            .ok_or(refused(TokenProblem::Invalid))?;
        let secret = self.keys.secret(key.id);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        let claims = jsonwebtoken::decode::<UserTokenClaims>(
            token,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        )
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => refused(TokenProblem::Expired),
            _ => refused(TokenProblem::Invalid),
        })?
        .claims;
        if key.revoked_at.is_some() {
            return Err(refused(TokenProblem::KeyRevoked));
        }
        // The signed subject is the one the read looked up (the same payload, now verified).
        let (app_user, user) =
            account.filter(|_| claims.sub == subject).ok_or(refused(TokenProblem::Invalid))?;
        if app_user.deactivated_at.is_some() {
            return Err(refused(TokenProblem::UserDeactivated));
        }
        let expires_at =
            chrono::DateTime::from_timestamp(claims.exp, 0).ok_or(refused(TokenProblem::Invalid))?;
        Ok(Authenticated {
            user,
            session_id: SessionId(key.id.as_uuid()),
            session_expires_at: expires_at,
            via: Via::UserToken { key: key.id, workspace: workspace_id },
        })
    }

    /// Counts an API request of a key or an app user against their quota: `None` for people
    /// (their sessions are limited at sign-in and per send), else the quota's state for the
    /// standard headers, or how long to wait.
    pub fn count_request(&self, who: &Authenticated) -> Option<Result<RateState, RateState>> {
        let (limiter, key) = match who.via {
            Via::Session => return None,
            Via::ApiKey { key, .. } => (&self.per_api_key, key.as_uuid()),
            Via::UserToken { .. } => (&self.per_app_user, who.user.id.as_uuid()),
        };
        let limit = limiter.quota().burst;
        Some(match limiter.check_remaining(&key) {
            Ok((remaining, reset)) => Ok(RateState { limit, remaining, reset, retry_after: None }),
            Err(wait) => Err(RateState { limit, remaining: 0, reset: wait, retry_after: Some(wait) }),
        })
    }

    /// Whether what authenticated a realtime connection still holds (checked once more after
    /// it registered, so access that ended during the handshake is not missed).
    pub async fn still_valid(&self, who: &Authenticated) -> Result<bool, StoreError> {
        let now = switchboard::time::now();
        Ok(match who.via {
            Via::Session => self.store().session(who.session_id).await?.is_some_and(|s| s.is_active(now)),
            Via::ApiKey { key, .. } => {
                self.store().api_key(key).await?.is_some_and(|g| g.key.revoked_at.is_none())
            }
            Via::UserToken { key, .. } => {
                let key_ok = self.store().api_key(key).await?.is_some_and(|g| g.key.revoked_at.is_none());
                let user_ok = self
                    .store()
                    .app_user_by_id(who.user.id)
                    .await?
                    .is_some_and(|(_, u)| u.deactivated_at.is_none());
                key_ok && user_ok
            }
        })
    }

    /// Creates an API key; the answer is the only one that carries its secret. Owners and
    /// admins, signed in as themselves (a key does not make keys).
    pub async fn create_api_key(
        &self,
        who: &Authenticated,
        actor: Actor,
        req: CreateApiKey,
    ) -> Result<CreatedApiKey, ServiceError> {
        require_person_admin(who, actor)?;
        let name = req.validated_name()?;
        let id = ApiKeyId::new();
        let secret = self.keys.secret(id);
        let key = self
            .store()
            .create_api_key(NewApiKey {
                id,
                workspace_id: actor.workspace_id,
                user_id: UserId::new(),
                name,
                scope: req.scope,
                secret_hash: secret_hash(&secret),
                created_by: Some(actor.user_id),
                created_at: switchboard::time::now(),
            })
            .await?;
        tracing::info!(workspace_id = %actor.workspace_id, key_id = %key.id, scope = key.scope.as_str(), "API key created");
        Ok(CreatedApiKey { key, secret })
    }

    /// The workspace's keys, revoked ones too, newest first. Owners and admins.
    pub async fn api_keys(&self, who: &Authenticated, actor: Actor) -> Result<Vec<ApiKey>, ServiceError> {
        require_person_admin(who, actor)?;
        Ok(self.store().api_keys(actor.workspace_id).await?)
    }

    /// Revokes a key: its calls and every token it signed fail from now on, and their sockets
    /// close. Owners and admins.
    pub async fn revoke_api_key(
        &self,
        who: &Authenticated,
        actor: Actor,
        id: ApiKeyId,
    ) -> Result<ApiKey, ServiceError> {
        require_person_admin(who, actor)?;
        let key = self
            .store()
            .revoke_api_key(actor.workspace_id, id, switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("API key"))?;
        self.end_access(Target::Session { session: SessionId(id.as_uuid()) }, AccessEnded::KeyRevoked);
        tracing::info!(workspace_id = %actor.workspace_id, key_id = %id, "API key revoked");
        Ok(key)
    }

    /// Creates or updates an app user. Owners, admins and server keys.
    pub async fn put_app_user(
        &self,
        actor: Actor,
        external_id: &str,
        req: PutAppUser,
    ) -> Result<(AppUser, bool), ServiceError> {
        require_admin(actor)?;
        validate_external_id(external_id)?;
        let fields = req.validated()?;
        let at = switchboard::time::now();
        Ok(self.store().put_app_user(actor.workspace_id, external_id, UserId::new(), &fields, at).await?)
    }

    /// One app user. Owners, admins and keys.
    pub async fn app_user(&self, actor: Actor, external_id: &str) -> Result<AppUser, ServiceError> {
        require_admin(actor)?;
        self.store().app_user(actor.workspace_id, external_id).await?.ok_or(ServiceError::NotFound("user"))
    }

    /// A page of app users by external id.
    pub async fn app_users(
        &self,
        actor: Actor,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<AppUserPage, ServiceError> {
        require_admin(actor)?;
        let limit = limit.unwrap_or(50).clamp(1, 200);
        let mut users = self.store().app_users(actor.workspace_id, after, limit + 1).await?;
        let more = users.len() > limit as usize;
        users.truncate(limit as usize);
        let next = more.then(|| users.last().map(|u| u.external_id.clone())).flatten();
        Ok(AppUserPage { users, next })
    }

    /// Deactivates (their tokens are refused, their sockets close) or reactivates an app user.
    pub async fn set_app_user_active(
        &self,
        actor: Actor,
        external_id: &str,
        active: bool,
    ) -> Result<AppUser, ServiceError> {
        require_admin(actor)?;
        let now = switchboard::time::now();
        let user = self
            .store()
            .set_app_user_deactivated(actor.workspace_id, external_id, (!active).then_some(now), now)
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("user"))?;
        if !active {
            self.end_access(Target::User { user: user.user_id, keep: None }, AccessEnded::UserDeactivated);
        }
        Ok(user)
    }

    /// Deletes an app user: the external id is free again, they leave their rooms, and their
    /// messages stay, from "Deleted user".
    pub async fn delete_app_user(&self, actor: Actor, external_id: &str) -> Result<(), ServiceError> {
        require_admin(actor)?;
        let user = self
            .store()
            .delete_app_user(actor.workspace_id, external_id, switchboard::time::now())
            .await
            .map_err(|e| ServiceError::from(e).not_found_as("user"))?;
        self.end_access(Target::User { user, keep: None }, AccessEnded::UserDeactivated);
        Ok(())
    }

    /// Mints a user token with the calling key's secret: only a `server` key does this.
    pub async fn mint_user_token(
        &self,
        who: &Authenticated,
        actor: Actor,
        external_id: &str,
        req: MintToken,
    ) -> Result<MintedToken, ServiceError> {
        let Via::ApiKey { key, scope: ApiKeyScope::Server } = who.via else {
            return Err(ServiceError::Refused(
                403,
                "server_key_required",
                "User tokens are minted with a server API key (Authorization: Bearer <key secret>).",
            ));
        };
        let ttl = req.ttl()?;
        let user = self.app_user(actor, external_id).await?;
        if user.deactivated_at.is_some() {
            return Err(ServiceError::Refused(409, "user_deactivated", "This user is deactivated."));
        }
        let now = switchboard::time::now().timestamp();
        let claims = UserTokenClaims {
            sub: user.external_id,
            iss: key.to_string(),
            exp: now + ttl as i64,
            iat: Some(now),
        };
        let secret = self.keys.secret(key);
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(MintedToken { token, expires_at: claims.exp })
    }
}

/// Owners and admins (and server keys, which act as admins).
fn require_admin(actor: Actor) -> Result<(), ServiceError> {
    if actor.role.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("Only owners, admins and the workspace's API keys manage its app users."))
    }
}

/// Owners and admins signed in as themselves.
fn require_person_admin(who: &Authenticated, actor: Actor) -> Result<(), ServiceError> {
    if who.via != Via::Session || !actor.role.is_admin() {
        return Err(ServiceError::Forbidden(
            "Only owners and admins, signed in as themselves, manage API keys.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_derived_per_key_and_recognised() {
        let ring = KeyRing::new(&SecretKey::generate());
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        assert_eq!(ring.secret(a), ring.secret(a), "a key's secret can be recomputed");
        assert_ne!(ring.secret(a), ring.secret(b));
        assert_ne!(
            ring.secret(a),
            KeyRing::new(&SecretKey::generate()).secret(a),
            "another server, another secret"
        );
        assert!(is_key_secret(&ring.secret(a)) && ring.secret(a).len() == SECRET_PREFIX.len() + 43);
        assert_eq!(secret_hash("x").len(), 64);
    }

    #[test]
    fn user_tokens_are_told_from_session_tokens_by_their_claims() {
        let encode = |claims: serde_json::Value| {
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"k"))
                .unwrap()
        };
        assert!(is_user_token(&encode(serde_json::json!({"sub": "u", "iss": "k", "exp": 1}))));
        assert!(!is_user_token(&encode(
            serde_json::json!({"sub": "u", "sid": "s", "aud": "switchboard", "exp": 1})
        )));
        assert!(!is_user_token("not.a.jwt") && !is_user_token("a.b") && !is_user_token(""));
    }
}
