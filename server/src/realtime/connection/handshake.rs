//! Opening a connection: the upgrade (one of the node's connection slots, or a 503 past the
//! cap or while the node shuts down), then the `connect` command within the connect timeout,
//! authenticated by a realtime token (any origin) or by the session cookie (our own origins
//! only).

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use tokio::time::Instant;

use super::super::Realtime;
use super::super::protocol::{Command, Disconnect, Error, Reply, Request, codes};
use super::Gateway;
use crate::services::accounts::{Authenticated, TokenRefusal};

/// `GET /connection/websocket`.
pub async fn endpoint(ws: WebSocketUpgrade, State(gateway): State<Gateway>, headers: HeaderMap) -> Response {
    let cookie = crate::http::extract::cookie_token(&headers);
    let origin = headers.get(axum::http::header::ORIGIN).map(|v| v.to_str().unwrap_or("invalid").to_owned());
    let credentials = Credentials { cookie, origin };
    let realtime = gateway.realtime();
    let Some(slot) = realtime.try_open().filter(|_| !realtime.hub.is_closing()) else {
        return too_many_connections(realtime);
    };
    let max_frame_bytes = gateway.config().max_frame_bytes;
    ws.max_message_size(max_frame_bytes)
        .max_frame_size(max_frame_bytes)
        // Small: an idle connection keeps its read buffer; bigger frames still arrive whole.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            // The slot is held until the connection ends, however it ends. No `async` block
            // here: it would keep a second copy of the socket for the connection's life.
            use futures_util::FutureExt;
            super::run(socket, gateway, credentials).map(move |()| drop(slot))
        })
}

/// The refusal of an upgrade past `--max-connections` (or while the node shuts down): 503 in
/// the API's error shape, with `Retry-After`. The SDKs treat it as a failed connect and retry
/// with backoff, which a load balancer may send to another node.
fn too_many_connections(realtime: &Realtime) -> Response {
    use axum::response::IntoResponse;
    let (code, message) = if realtime.hub.is_closing() {
        ("unavailable", "This node is shutting down; connect again (to another node).".to_owned())
    } else {
        let max = realtime.config.max_connections;
        (
            "too_many_connections",
            format!("This node has reached its limit of {max} open realtime connections; try again shortly."),
        )
    };
    tracing::warn!(open = realtime.open_connections(), "realtime upgrade refused: {message}");
    let mut error =
        crate::http::error::ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, code, message);
    error.retry_after = Some(5);
    error.into_response()
}

/// What the upgrade request brought besides the socket: the session cookie and the page's
/// origin (checked when the cookie is what authenticates).
pub(super) struct Credentials {
    cookie: Option<String>,
    origin: Option<String>,
}

/// An authenticated `connect`.
pub(super) struct Connected {
    pub who: Authenticated,
    /// The token's expiry (Unix seconds); none for a cookie connect.
    pub expires: Option<i64>,
    /// The connect command's id, for its reply.
    pub id: u32,
    /// Commands that came after `connect` in the same frame.
    pub rest: Vec<String>,
}

/// Waits for `connect` and authenticates it; `None` once the socket is closed (with a code
/// that says why, where there is one to say).
pub(super) async fn handshake(
    socket: &mut WebSocket,
    gateway: &Gateway,
    credentials: &Credentials,
) -> Option<Connected> {
    let hub = &gateway.realtime().hub;
    let deadline = Instant::now() + gateway.config().connect_timeout;
    loop {
        let received = tokio::select! {
            received = tokio::time::timeout_at(deadline, socket.recv()) => received,
            () = hub.closing() => {
                close(socket, Disconnect::SHUTDOWN).await;
                return None;
            }
        };
        let message = match received {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(e))) => {
                if too_big(e) {
                    close(socket, Disconnect::MESSAGE_TOO_BIG).await;
                }
                return None;
            }
            Ok(None) => return None,
            Err(_) => {
                close(socket, Disconnect::BAD_REQUEST).await;
                return None;
            }
        };
        let body = match message {
            Message::Text(body) => body,
            Message::Binary(_) => {
                close(socket, Disconnect::INAPPROPRIATE_PROTOCOL).await;
                return None;
            }
            Message::Close(_) => return None,
            _ => continue,
        };
        let mut lines = body.split('\n').filter(|l| !l.trim().is_empty()).map(str::to_owned);
        let Some(first) = lines.next() else { continue };
        let Ok(command) = serde_json::from_str::<Command>(&first) else {
            close(socket, Disconnect::BAD_REQUEST).await;
            return None;
        };
        let (id, Request::Connect(connect)) = command.into_request() else {
            close(socket, Disconnect::BAD_REQUEST).await;
            return None;
        };
        let outcome = if connect.token.is_empty() {
            // The cookie rides along with any page's socket: only pages of our own origins may
            // use it (a foreign page would act as the signed-in user). A request without
            // `Origin` is not a browser's (browsers always send it on WebSocket), so it is not a
            // cross-site forgery and is let through.
            if credentials.cookie.is_some()
                && let Some(origin) = &credentials.origin
                && !gateway.config().allows_origin(origin)
            {
                tracing::info!(origin, "cookie connect refused: origin not allowed");
                close(socket, Disconnect::ORIGIN_NOT_ALLOWED).await;
                return None;
            }
            match credentials.cookie.as_deref() {
                Some(token) => gateway.authenticate_cookie(token).await.map(|who| (who, None)),
                None => Err(TokenRefusal::Invalid),
            }
        } else {
            gateway.authenticate_token(&connect.token).await.map(|(who, exp)| (who, Some(exp)))
        };
        match outcome {
            Ok((who, expires)) => return Some(Connected { who, expires, id, rest: lines.collect() }),
            Err(TokenRefusal::Expired) => {
                // The SDKs fetch a fresh token and connect again.
                let reply = Reply::error(id, Error::new(codes::TOKEN_EXPIRED, "token expired"));
                if socket.send(text(reply.encode())).await.is_err() {
                    return None;
                }
            }
            Err(TokenRefusal::Invalid) => {
                close(socket, Disconnect::INVALID_TOKEN).await;
                return None;
            }
            Err(TokenRefusal::Internal) => {
                let reply = Reply::error(id, Error::temporary(codes::INTERNAL, "internal server error"));
                let _ = socket.send(text(reply.encode())).await;
                close(socket, Disconnect::SERVER_ERROR).await;
                return None;
            }
        }
    }
}

/// Whether a read failed because the peer's message was over the size limit (then the peer
/// gets close code 1009 rather than a dropped TCP connection).
pub(super) fn too_big(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    error.into_inner().downcast_ref::<WsError>().is_some_and(|e| matches!(e, WsError::Capacity(_)))
}

pub(super) fn text(body: String) -> Message {
    Message::Text(body.into())
}

pub(super) fn close_frame(reason: Disconnect) -> Message {
    Message::Close(Some(CloseFrame { code: reason.code, reason: reason.reason.into() }))
}

pub(super) async fn close(socket: &mut WebSocket, reason: Disconnect) {
    let _ = socket.send(close_frame(reason)).await;
}
