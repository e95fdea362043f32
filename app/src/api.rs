//! Server functions: the UI's calls into the engine. Each takes the `Accounts` port from
//! context, calls it and maps the error to words for the page.

use leptos::prelude::*;
use switchboard::account::SessionInfo;
use switchboard::message::ConversationSummary;
use switchboard::{ConversationId, Me, Message, MessageId, SessionId, WorkspaceId};

/// Signs in with email and password; on success sets the session cookie and goes to the inbox.
#[server(prefix = "/_fn", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), ServerFnError> {
    use ssr::*;
    let accounts = accounts()?;
    let outcome = accounts.login(&email, &password, &client_addr()).await.map_err(to_server_error)?;
    set_cookie(&accounts.session_cookie(&outcome));
    leptos_axum::redirect("/inbox");
    Ok(())
}

/// Signs out: revokes the session, clears the cookie and goes to the sign-in page.
#[server(prefix = "/_fn", endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    use ssr::*;
    let accounts = accounts()?;
    if let Some(token) = session_token() {
        accounts.logout(&token).await.map_err(to_server_error)?;
    }
    set_cookie(&accounts.clear_session_cookie());
    leptos_axum::redirect("/login");
    Ok(())
}

/// The caller's active sessions, newest first (the account page's list).
#[server(prefix = "/_fn", endpoint = "sessions")]
pub async fn my_sessions() -> Result<Vec<SessionInfo>, ServerFnError> {
    use ssr::*;
    accounts()?.sessions_for(&signed_in()?).await.map_err(to_server_error)
}

/// Revokes one of the caller's sessions; its realtime connections close at once.
#[server(prefix = "/_fn", endpoint = "revoke_session")]
pub async fn revoke_session(id: SessionId) -> Result<(), ServerFnError> {
    use ssr::*;
    if accounts()?.revoke_session_for(&signed_in()?, id).await.map_err(to_server_error)? {
        Ok(())
    } else {
        Err(ServerFnError::ServerError("That session has already ended.".to_owned()))
    }
}

/// Signs out of every session, this one included, and goes to the sign-in page.
#[server(prefix = "/_fn", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), ServerFnError> {
    use ssr::*;
    let accounts = accounts()?;
    accounts.sign_out_everywhere_for(&signed_in()?).await.map_err(to_server_error)?;
    set_cookie(&accounts.clear_session_cookie());
    leptos_axum::redirect("/login");
    Ok(())
}

/// Changes the caller's password; their other sessions are signed out, this one stays.
#[server(prefix = "/_fn", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), ServerFnError> {
    use ssr::*;
    let req = switchboard::account::ChangePassword { current_password, new_password };
    accounts()?.change_password_for(&signed_in()?, req).await.map_err(to_server_error)
}

/// The signed-in user and their workspaces.
#[server(prefix = "/_fn", endpoint = "me")]
pub async fn current_user() -> Result<Me, ServerFnError> {
    use ssr::*;
    let token =
        session_token().ok_or_else(|| to_server_error(switchboard::auth::AuthError::Unauthenticated))?;
    accounts()?.me(&token).await.map_err(to_server_error)
}

/// What the inbox page renders on the server: the signed-in user and the conversation list of
/// the workspace they act in (so the list is in the HTML, clickable before the app hydrates).
#[server(prefix = "/_fn", endpoint = "inbox")]
pub async fn inbox_start() -> Result<(Me, Vec<ConversationSummary>), ServerFnError> {
    use ssr::*;
    let token =
        session_token().ok_or_else(|| to_server_error(switchboard::auth::AuthError::Unauthenticated))?;
    let me = accounts()?.me(&token).await.map_err(to_server_error)?;
    let list = match me.current_or_first() {
        Some(membership) => {
            desk()?.conversations(&token, membership.workspace.id).await.map_err(desk_error)?
        }
        None => Vec::new(),
    };
    Ok((me, list))
}

/// The caller's conversations in the page's workspace, most recent activity first (the
/// inbox's list). Like every desk call, it acts in the workspace the page names.
#[server(prefix = "/_fn", endpoint = "conversations")]
pub async fn list_conversations(workspace: WorkspaceId) -> Result<Vec<ConversationSummary>, ServerFnError> {
    use ssr::*;
    let token = signed_in()?;
    desk()?.conversations(&token, workspace).await.map_err(desk_error)
}

/// A page of a conversation's history, newest first, older than `before` when given.
#[server(prefix = "/_fn", endpoint = "history")]
pub async fn load_history(
    workspace: WorkspaceId,
    conversation: ConversationId,
    before: Option<MessageId>,
    limit: u32,
) -> Result<Vec<Message>, ServerFnError> {
    use ssr::*;
    let token = signed_in()?;
    desk()?.history(&token, workspace, conversation, before, limit).await.map_err(desk_error)
}

/// Sends a message; the same `client_message_id` again answers the first message.
#[server(prefix = "/_fn", endpoint = "send")]
pub async fn send_message(
    workspace: WorkspaceId,
    conversation: ConversationId,
    send: switchboard::message::SendMessage,
) -> Result<Message, ServerFnError> {
    use ssr::*;
    let token = signed_in()?;
    desk()?.send(&token, workspace, conversation, send).await.map_err(desk_error)
}

/// The message a server function error should show to a person.
pub fn error_text(err: &ServerFnError) -> String {
    match err {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "Could not reach the server. Check your connection and try again.".to_owned(),
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use leptos::prelude::*;
    use switchboard::auth::{Accounts, AuthError, ClientAddr, token_from_cookie_header};
    use switchboard::desk::{Desk, DeskError};

    pub fn accounts() -> Result<Arc<dyn Accounts>, ServerFnError> {
        use_context::<Arc<dyn Accounts>>()
            .ok_or_else(|| ServerFnError::new("the accounts service is not available"))
    }

    pub fn desk() -> Result<Arc<dyn Desk>, ServerFnError> {
        use_context::<Arc<dyn Desk>>().ok_or_else(|| ServerFnError::new("the inbox service is not available"))
    }

    /// The session token, or the refusal for a signed-out caller.
    pub fn signed_in() -> Result<String, ServerFnError> {
        session_token().ok_or_else(|| to_server_error(AuthError::Unauthenticated))
    }

    /// Maps the desk's refusal to its status and words.
    pub fn desk_error(err: DeskError) -> ServerFnError {
        if let (Some(response), Ok(status)) =
            (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(err.status))
        {
            response.set_status(status);
        }
        ServerFnError::ServerError(err.message)
    }

    pub fn client_addr() -> String {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<ClientAddr>().map(|a| a.0.clone()))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    pub fn session_token() -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| token_from_cookie_header(h).map(str::to_owned))
    }

    pub fn set_cookie(cookie: &str) {
        if let (Some(response), Ok(value)) =
            (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(cookie))
        {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }

    /// Capitalizes the first letter and ends with a full stop.
    fn sentence(text: &str) -> String {
        let mut chars = text.chars();
        let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
        out.push_str(chars.as_str());
        if !out.ends_with('.') {
            out.push('.');
        }
        out
    }

    /// Maps a refusal to words for the page and a 4xx status for the response (server
    /// function errors would otherwise answer 500).
    pub fn to_server_error(err: AuthError) -> ServerFnError {
        let status = match &err {
            AuthError::InvalidCredentials | AuthError::Unauthenticated | AuthError::TokenRefused(_) => {
                http::StatusCode::UNAUTHORIZED
            }
            AuthError::RateLimited { .. } => http::StatusCode::TOO_MANY_REQUESTS,
            AuthError::Invalid(_) => http::StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::Internal => http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
            if let AuthError::RateLimited { retry_after_secs } = &err {
                response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(*retry_after_secs));
            }
        }
        ServerFnError::ServerError(match err {
            AuthError::InvalidCredentials => "Invalid email or password.".to_owned(),
            AuthError::Unauthenticated => "You are not signed in.".to_owned(),
            AuthError::TokenRefused(problem) => problem.message().to_owned(),
            AuthError::Internal => "Something went wrong on our side. Please try again.".to_owned(),
            other => sentence(&other.to_string()),
        })
    }
}
