//! A local stand-in for the Whapi.Cloud gateway, written from its public API documentation:
//! `GET /health`, `GET /users/login` (a QR that expires and renews), `GET /users/login/{phone}`
//! (a pairing code), `POST /users/logout`, `PATCH /settings` (the webhook), the
//! `POST /messages/{type}` sends (an `edit` field edits), `PUT`/`DELETE /messages/{id}` (read,
//! delete) and `/messages/{id}/reaction`, `GET /media/{id}`, `GET /chats` and
//! `GET /messages/list/{chat}`. It records every call (the token stays out of the record),
//! injects faults on demand (429 with `Retry-After`, 5xx, a revoked token, a refused recipient),
//! and delivers webhooks the way the gateway does: to the registered URL with its headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde_json::{Value, json};

/// One call the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// `POST /messages/text`, `PATCH /settings`, …
    pub route: String,
    pub body: Value,
}

/// A fault the next send answers with.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 429 with `Retry-After`.
    TooManyRequests { retry_after: u64 },
    /// 500.
    ServerError,
    /// 400: the recipient is not on WhatsApp.
    InvalidRecipient,
}

struct Inner {
    tokens: Vec<String>,
    calls: Vec<Call>,
    /// The session's health text: `QR` until the phone links, then `AUTH`.
    state: String,
    qr_serial: u32,
    /// Seconds each QR lives.
    qr_expire: u64,
    next_message: u64,
    faults: Vec<Fault>,
    media: HashMap<String, (String, Vec<u8>)>,
    /// The registered webhook: URL and headers.
    webhook: Option<(String, Vec<(String, String)>)>,
    chats: Vec<Value>,
    history: HashMap<String, Vec<Value>>,
}

/// The fake gateway's state (shared; clone freely).
#[derive(Clone)]
pub struct FakeWhapi {
    /// The linked account's number and name.
    pub number: String,
    pub name: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeWhapi {
    /// A gateway channel whose API token is `token`, waiting for its phone.
    pub fn new(token: &str) -> Self {
        let inner = Inner {
            tokens: vec![token.to_owned()],
            calls: Vec::new(),
            state: "QR".into(),
            qr_serial: 0,
            qr_expire: 20,
            next_message: 1,
            faults: Vec::new(),
            media: HashMap::new(),
            webhook: None,
            chats: Vec::new(),
            history: HashMap::new(),
        };
        Self { number: "15550001111".into(), name: "Corner Shop".into(), inner: Arc::new(Mutex::new(inner)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake lock")
    }

    /// Serves the fake on `addr` (port 0: any free one); returns its base URL.
    pub async fn serve(&self, addr: &str) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/health", get(health))
            .route("/users/login", get(login_qr))
            .route("/users/login/{phone}", get(login_code))
            .route("/users/logout", post(logout))
            .route("/settings", patch(settings))
            .route("/messages/{kind}", post(send).put(on_message).delete(on_message))
            .route("/messages/{id}/reaction", put(on_message).delete(on_message))
            .route("/messages/list/{chat}", get(list_messages))
            .route("/chats", get(list_chats))
            .route("/media/{id}", get(media))
            .with_state(self.clone())
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The bodies of the calls to one route (`POST /messages/text`).
    pub fn calls_to(&self, route: &str) -> Vec<Value> {
        self.calls().into_iter().filter(|c| c.route == route).map(|c| c.body).collect()
    }

    /// The webhook the adapter registered (URL and headers), if any.
    pub fn webhook(&self) -> Option<(String, Vec<(String, String)>)> {
        self.lock().webhook.clone()
    }

    /// Each QR lives this long.
    pub fn set_qr_expire(&self, secs: u64) {
        self.lock().qr_expire = secs;
    }

    /// How many QRs the gateway made.
    pub fn qrs_made(&self) -> u32 {
        self.lock().qr_serial
    }

    /// The phone scanned the QR (or typed the pairing code): the session is linked.
    pub fn link(&self) {
        self.lock().state = "AUTH".into();
    }

    /// The session's state as the health call reports it (`QR`: unlinked, `STOP`, `SYNC_ERROR`).
    pub fn set_state(&self, state: &str) {
        self.lock().state = state.to_owned();
    }

    /// Refuses every token from now on.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn accept_token(&self, token: &str) {
        self.lock().tokens.push(token.to_owned());
    }

    /// The next send answers with `fault`.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Keeps a file for `GET /media/{id}`.
    pub fn put_media(&self, id: &str, mime: &str, bytes: Vec<u8>) {
        self.lock().media.insert(id.to_owned(), (mime.to_owned(), bytes));
    }

    /// A chat the phone has, with its messages (message objects, any order).
    pub fn put_chat(&self, chat: Value, messages: Vec<Value>) {
        let mut inner = self.lock();
        let id = chat["id"].as_str().unwrap_or_default().to_owned();
        inner.chats.push(chat);
        inner.history.insert(id, messages);
    }

    /// Delivers a payload to the registered webhook as the gateway would (its URL, its
    /// headers); returns the HTTP status, or `None` when no webhook is registered.
    pub async fn deliver(&self, payload: &Value) -> Option<u16> {
        let (url, headers) = self.webhook()?;
        let mut request = crate::providers::http::client().post(url).json(payload);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        Some(request.send().await.ok()?.status().as_u16())
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        self.lock().tokens.iter().any(|t| t == given)
    }

    fn record(&self, route: String, body: Value) {
        self.lock().calls.push(Call { route, body });
    }
}

/// A message object as the gateway sends it in webhooks and lists.
pub fn message(id: &str, chat_id: &str, from_me: bool, timestamp: i64, content: Value) -> Value {
    let mut message = json!({
        "id": id, "chat_id": chat_id, "from_me": from_me, "timestamp": timestamp,
        "from": chat_id.split('@').next().unwrap_or_default(), "source": "mobile",
    });
    if let (Some(object), Some(content)) = (message.as_object_mut(), content.as_object()) {
        object.extend(content.clone());
    }
    message
}

/// The webhook body of `messages` (`messages.post`).
pub fn messages_payload(messages: Vec<Value>) -> Value {
    json!({ "messages": messages, "event": { "type": "messages", "event": "post" }, "channel_id": "FAKE-CHANNEL" })
}

/// The webhook body of one status (`statuses.post`).
pub fn status_payload(id: &str, status: &str, chat_id: &str) -> Value {
    json!({
        "statuses": [{ "id": id, "code": 3, "status": status, "recipient_id": chat_id, "timestamp": "1712995290" }],
        "event": { "type": "statuses", "event": "post" }, "channel_id": "FAKE-CHANNEL",
    })
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": { "code": status.as_u16(), "message": message } }))).into_response()
}

fn refused() -> Response {
    error(StatusCode::UNAUTHORIZED, "Invalid token")
}

async fn health(State(fake): State<FakeWhapi>, headers: HeaderMap) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    fake.record("GET /health".into(), Value::Null);
    let state = fake.lock().state.clone();
    let code = match state.as_str() {
        "INIT" => 1,
        "LAUNCH" => 2,
        "QR" => 3,
        "AUTH" => 4,
        _ => 5,
    };
    let mut body = json!({ "start_at": 1_713_774_883, "uptime": 78, "version": "fake", "status": { "code": code, "text": state } });
    if state == "AUTH" || state == "SYNC_ERROR" {
        body["user"] = json!({ "id": fake.number, "name": fake.name });
    }
    axum::Json(body).into_response()
}

async fn login_qr(State(fake): State<FakeWhapi>, headers: HeaderMap) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    let mut inner = fake.lock();
    if inner.state == "AUTH" {
        return error(StatusCode::CONFLICT, "Channel already authenticated");
    }
    inner.qr_serial += 1;
    let serial = inner.qr_serial;
    let expire = inner.qr_expire;
    inner.calls.push(Call { route: "GET /users/login".into(), body: Value::Null });
    axum::Json(json!({ "status": "OK", "base64": "iVBORw0KGgo=", "rowdata": format!("2@fake-whapi-qr-{serial}"), "expire": expire }))
        .into_response()
}

async fn login_code(
    State(fake): State<FakeWhapi>,
    headers: HeaderMap,
    Path(phone): Path<String>,
) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    if phone.len() < 7 || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return error(StatusCode::BAD_REQUEST, "Invalid phone number");
    }
    if fake.lock().state == "AUTH" {
        return error(StatusCode::CONFLICT, "Channel already authenticated");
    }
    fake.record(format!("GET /users/login/{phone}"), Value::Null);
    axum::Json(json!({ "code": "ABCD-1234" })).into_response()
}

async fn logout(State(fake): State<FakeWhapi>, headers: HeaderMap) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    fake.record("POST /users/logout".into(), Value::Null);
    let mut inner = fake.lock();
    if inner.state != "AUTH" {
        return error(StatusCode::CONFLICT, "Channel already logged out");
    }
    inner.state = "QR".into();
    axum::Json(json!({ "success": true })).into_response()
}

async fn settings(State(fake): State<FakeWhapi>, headers: HeaderMap, body: Bytes) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Wrong settings format");
    };
    let hook = body.pointer("/webhooks/0").cloned().unwrap_or(Value::Null);
    if let Some(url) = hook.get("url").and_then(Value::as_str) {
        let headers = hook
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default();
        fake.lock().webhook = Some((url.to_owned(), headers));
    }
    fake.record("PATCH /settings".into(), body.clone());
    axum::Json(json!({ "before_update": {}, "after_update": body, "changes": ["webhooks"] })).into_response()
}

async fn send(
    State(fake): State<FakeWhapi>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    body: Bytes,
) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Wrong request parameters");
    };
    let fault = {
        let mut inner = fake.lock();
        if inner.faults.is_empty() { None } else { Some(inner.faults.remove(0)) }
    };
    match fault {
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            response.headers_mut().insert("retry-after", retry_after.into());
            return response;
        }
        Some(Fault::ServerError) => return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error"),
        Some(Fault::InvalidRecipient) => {
            return error(StatusCode::BAD_REQUEST, "Recipient is not a WhatsApp user");
        }
        None => {}
    }
    if fake.lock().state != "AUTH" {
        return error(StatusCode::UNAUTHORIZED, "Need channel authorization for send message");
    }
    if body.get("to").and_then(Value::as_str).is_none_or(str::is_empty) {
        return error(StatusCode::BAD_REQUEST, "Wrong request parameters");
    }
    fake.record(format!("POST /messages/{kind}"), body.clone());
    let id = match body.get("edit").and_then(Value::as_str) {
        Some(edited) => edited.to_owned(),
        None => {
            let mut inner = fake.lock();
            inner.next_message += 1;
            format!("FakeMsg{:08}-{}", inner.next_message, kind)
        }
    };
    let message = json!({ "id": id, "type": kind, "chat_id": body["to"], "from_me": true, "status": "sent" });
    (StatusCode::CREATED, axum::Json(json!({ "sent": true, "message": message }))).into_response()
}

async fn on_message(
    State(fake): State<FakeWhapi>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    let body = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    fake.record(format!("{method} {}", uri.path()), body);
    axum::Json(json!({ "success": true })).into_response()
}

async fn list_chats(
    State(fake): State<FakeWhapi>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    let count: usize = query.get("count").and_then(|c| c.parse().ok()).unwrap_or(100);
    fake.record("GET /chats".into(), json!({ "count": count }));
    let chats: Vec<Value> = fake.lock().chats.iter().take(count).cloned().collect();
    let total = fake.lock().chats.len();
    axum::Json(json!({ "chats": chats, "count": chats.len(), "total": total, "offset": 0 })).into_response()
}

async fn list_messages(
    State(fake): State<FakeWhapi>,
    headers: HeaderMap,
    Path(chat): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    let count: usize = query.get("count").and_then(|c| c.parse().ok()).unwrap_or(100);
    fake.record(format!("GET /messages/list/{chat}"), json!({ "count": count }));
    let Some(mut messages) = fake.lock().history.get(&chat).cloned() else {
        return error(StatusCode::NOT_FOUND, "Specified chat not found");
    };
    if let Some(until) = query.get("time_to").and_then(|t| t.parse::<i64>().ok()) {
        messages.retain(|m| m["timestamp"].as_i64().is_some_and(|t| t <= until));
    }
    // Newest first, as the gateway lists them.
    messages.sort_by_key(|m| std::cmp::Reverse(m["timestamp"].as_i64().unwrap_or_default()));
    messages.truncate(count);
    axum::Json(json!({ "messages": messages, "count": messages.len(), "offset": 0 })).into_response()
}

async fn media(State(fake): State<FakeWhapi>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !fake.authorized(&headers) {
        return refused();
    }
    match fake.lock().media.get(&id).cloned() {
        Some((mime, bytes)) => ([(axum::http::header::CONTENT_TYPE, mime)], bytes).into_response(),
        None => error(StatusCode::NOT_FOUND, "Media with specified id not found"),
    }
}
