//! The one mapping from a service error to what a client is told: an HTTP status, a stable
//! machine-readable code, a sentence and (for validation) the field. REST renders it as
//! `{"error":{"code","message","field"}}` with the status, the realtime gateway's RPC as a
//! protocol error whose code is the status (and the same sentence), the pages' server
//! functions as their status and sentence. Internals (SQL, constraint and table names, causes)
//! are logged here, once, and never leave: a 5xx always says the same generic sentence.

use switchboard::StoreError;
use switchboard::auth::AuthError;

use super::ServiceError;

/// What a client is told about a failed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (and the code of an RPC error).
    pub status: u16,
    /// Stable, machine-readable: `not_found`, `forbidden`, `validation_failed`, …
    pub code: &'static str,
    /// Words fit to show a person.
    pub message: String,
    /// The offending field, for validation errors.
    pub field: Option<String>,
    /// Seconds to wait before trying again (429, 503).
    pub retry_after: Option<u64>,
}

impl Refusal {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    /// A server-side failure: the cause is logged, the client reads a generic sentence.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(500, "internal", "Something went wrong on our side.")
    }

    /// Whether trying again later may succeed (429, 503 and other 5xx).
    pub fn is_temporary(&self) -> bool {
        self.status == 429 || self.status >= 500
    }

    fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

/// "conversation" → "Conversation not found."
fn not_found(what: &str) -> Refusal {
    let mut what = what.to_owned();
    if let Some(first) = what.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Refusal::new(404, "not_found", format!("{what} not found."))
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Refusal::new(404, "not_found", "There is nothing at this address."),
            StoreError::Conflict { constraint } => {
                // The constraint's name is for the log; the client reads a field and a sentence.
                tracing::info!(%constraint, "conflict");
                let (field, sentence) = switchboard::store::conflict_reason(&constraint);
                let refusal = Refusal::new(409, "conflict", sentence);
                match field {
                    Some(field) => refusal.with_field(field),
                    None => refusal,
                }
            }
            StoreError::Unavailable(cause) => {
                tracing::error!(error = %cause, "database unavailable");
                Refusal::new(503, "unavailable", "The database is unavailable; try again shortly.")
                    .retry_after(5)
            }
            other => Refusal::internal(other),
        }
    }
}

impl From<AuthError> for Refusal {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => {
                Refusal::new(401, "invalid_credentials", "Invalid email or password.")
            }
            AuthError::RateLimited { retry_after_secs } => Refusal::new(
                429,
                "rate_limited",
                format!("Too many sign-in attempts. Try again in {retry_after_secs} seconds."),
            )
            .retry_after(retry_after_secs),
            AuthError::Invalid(v) => ServiceError::Invalid(v).refusal(),
            AuthError::Unauthenticated => Refusal::new(
                401,
                "unauthenticated",
                "Sign in first: the token is missing, expired or revoked.",
            ),
            AuthError::TokenRefused(problem) => Refusal::new(401, problem.code(), problem.message()),
            AuthError::Internal => Refusal::new(500, "internal", "Something went wrong on our side."),
        }
    }
}

impl ServiceError {
    /// What the client is told: the one mapping every door renders.
    pub fn refusal(self) -> Refusal {
        match self {
            ServiceError::Invalid(v) => {
                let message = v.to_string();
                Refusal::new(422, "validation_failed", message).with_field(v.field)
            }
            ServiceError::Auth(e) => e.into(),
            ServiceError::Unprocessable(code, message) => Refusal::new(422, code, message),
            ServiceError::Forbidden(message) => Refusal::new(403, "forbidden", message),
            ServiceError::Conflict(message) => Refusal::new(409, "conflict", message),
            ServiceError::Unavailable(message) => {
                Refusal::new(503, "provider_unavailable", message).retry_after(5)
            }
            ServiceError::NotFound(what) => not_found(what),
            ServiceError::Refused(status, code, message) => {
                let status = if (400..600).contains(&status) { status } else { 400 };
                Refusal::new(status, code, message)
            }
            ServiceError::RateLimited(wait) => {
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                Refusal::new(
                    429,
                    "rate_limited",
                    format!("Too many messages at once. Try again in {secs} seconds."),
                )
                .retry_after(secs)
            }
            ServiceError::SlowMode(wait) => {
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                Refusal::new(
                    429,
                    "slow_mode",
                    format!("This room is in slow mode: you can post again in {secs} seconds."),
                )
                .retry_after(secs)
            }
            ServiceError::Store(e) => e.into(),
            ServiceError::Internal(cause) => Refusal::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_constraint_or_table_name_reaches_a_client() {
        for constraint in
            ["room_member", "conversation_member_pkey", "message_conversation_id_client_message_id_key"]
        {
            let r = ServiceError::Store(StoreError::Conflict { constraint: constraint.into() }).refusal();
            assert_eq!((r.status, r.code), (409, "conflict"));
            assert!(!r.message.contains(constraint), "{}", r.message);
            assert!(!r.message.contains('_'), "{}", r.message);
        }
        let r = ServiceError::Store(StoreError::Internal("relation \"conversation\" does not exist".into()))
            .refusal();
        assert_eq!((r.status, r.code), (500, "internal"));
        assert!(!r.message.contains("conversation"), "{}", r.message);
    }

    #[test]
    fn each_kind_of_refusal_has_its_status_and_code() {
        let cases = [
            (ServiceError::NotFound("conversation").refusal(), 404, "not_found"),
            (ServiceError::Forbidden("no").refusal(), 403, "forbidden"),
            (ServiceError::Conflict("no").refusal(), 409, "conflict"),
            (ServiceError::Unprocessable("not_a_room", "no".into()).refusal(), 422, "not_a_room"),
            (
                ServiceError::RateLimited(std::time::Duration::from_millis(1500)).refusal(),
                429,
                "rate_limited",
            ),
            (ServiceError::Auth(AuthError::Unauthenticated).refusal(), 401, "unauthenticated"),
            (ServiceError::Refused(999, "odd", "no").refusal(), 400, "odd"),
        ];
        for (refusal, status, code) in cases {
            assert_eq!((refusal.status, refusal.code), (status, code), "{refusal:?}");
        }
        let limited = ServiceError::RateLimited(std::time::Duration::from_millis(1500)).refusal();
        assert_eq!(limited.retry_after, Some(2));
        assert!(limited.is_temporary());
        assert_eq!(ServiceError::NotFound("conversation").refusal().message, "Conversation not found.");
    }
}
