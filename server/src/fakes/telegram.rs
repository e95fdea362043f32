//! A local stand-in for Telegram's Bot API, written from its documentation: `getMe`,
//! `setWebhook` / `deleteWebhook`, `getUpdates` (long polling with offsets confirming what was
//! read), the `send*` methods (JSON and multipart), `getFile` and file downloads. It records
//! every call (the token stays out of the record) and injects faults on demand (a 429 with
//! `retry_after`, a 5xx, a revoked token).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// One call the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub method: String,
    /// The JSON body, or a multipart form's text fields with `{field: {file_name, size}}` for files.
    pub body: Value,
}

/// A fault the next send answers with.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 429 with `parameters.retry_after`.
    TooManyRequests { retry_after: u64 },
    /// 403 "bot was blocked by the user".
    Blocked,
    /// 500.
    ServerError,
    /// 400 with this description (`Bad Request: message can't be edited`).
    BadRequest(String),
}

#[derive(Default)]
struct Inner {
    tokens: Vec<String>,
    calls: Vec<Call>,
    updates: Vec<Value>,
    next_update: i64,
    next_message: i64,
    faults: Vec<Fault>,
    files: HashMap<String, (String, Vec<u8>)>,
    webhook: Option<(String, String)>,
}

/// The fake Bot API's state (shared; clone freely).
#[derive(Clone)]
pub struct FakeTelegram {
    pub bot_id: i64,
    pub first_name: String,
    pub username: String,
    inner: Arc<Mutex<Inner>>,
    news: Arc<Notify>,
}

impl FakeTelegram {
    /// A bot whose token is `token`.
    pub fn new(token: &str) -> Self {
        let inner = Inner {
            tokens: vec![token.to_owned()],
            next_update: 1000,
            next_message: 500,
            ..Inner::default()
        };
        Self {
            bot_id: token.split(':').next().and_then(|id| id.parse().ok()).unwrap_or(123_456_789),
            first_name: "Shop Bot".into(),
            username: "switchboard_shop_bot".into(),
            inner: Arc::new(Mutex::new(inner)),
            news: Arc::new(Notify::new()),
        }
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
            .route("/{bot}/{method}", post(method).get(method))
            .route("/file/{bot}/{*path}", get(file))
            .with_state(self.clone())
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The calls of one method.
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls().into_iter().filter(|c| c.method == method).map(|c| c.body).collect()
    }

    /// The webhook set (URL and secret token), if any.
    pub fn webhook(&self) -> Option<(String, String)> {
        self.lock().webhook.clone()
    }

    /// Queues an update for `getUpdates` (its `update_id` assigned); returns the update.
    pub fn push_update(&self, mut update: Value) -> Value {
        let mut inner = self.lock();
        inner.next_update += 1;
        update["update_id"] = json!(inner.next_update);
        inner.updates.push(update.clone());
        drop(inner);
        self.news.notify_waiters();
        update
    }

    /// A file a user sent, downloadable through `getFile`; returns its `file_id`.
    pub fn put_file(&self, bytes: Vec<u8>, path: &str) -> String {
        let mut inner = self.lock();
        let id = format!("file-{}", inner.files.len() + 1);
        inner.files.insert(id.clone(), (path.to_owned(), bytes));
        id
    }

    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub fn accept_token(&self, token: &str) {
        self.lock().tokens.push(token.to_owned());
    }

    fn known(&self, bot: &str) -> bool {
        bot.strip_prefix("bot").is_some_and(|t| self.lock().tokens.iter().any(|k| k == t))
    }

    fn sent(&self, chat_id: &Value, extra: Value) -> Value {
        let mut inner = self.lock();
        inner.next_message += 1;
        let chat: i64 =
            chat_id.as_i64().or_else(|| chat_id.as_str().and_then(|s| s.parse().ok())).unwrap_or_default();
        let mut message = json!({ "message_id": inner.next_message, "date": chrono::Utc::now().timestamp(),
            "chat": { "id": chat, "type": if chat < 0 { "supergroup" } else { "private" } },
            "from": { "id": self.bot_id, "is_bot": true, "first_name": self.first_name } });
        if let (Some(m), Some(e)) = (message.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        message
    }

    /// Updates from `offset` on (those before it are confirmed and forgotten), waiting up to
    /// `timeout` seconds for one.
    async fn updates(&self, offset: Option<i64>, timeout: u64) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout.min(50));
        loop {
            let notified = self.news.notified();
            let ready: Vec<Value> = {
                let mut inner = self.lock();
                if let Some(offset) = offset {
                    inner.updates.retain(|u| u["update_id"].as_i64().unwrap_or_default() >= offset);
                }
                inner.updates.iter().take(100).cloned().collect()
            };
            if !ready.is_empty() || tokio::time::Instant::now() >= deadline {
                return ready;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}

fn ok(result: Value) -> Response {
    axum::Json(json!({ "ok": true, "result": result })).into_response()
}

fn error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (status, axum::Json(body)).into_response()
}

/// The request's fields: a JSON body, or a multipart form (text fields, files summarized).
async fn fields(request: Request) -> Value {
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let bytes = Bytes::from_request(request, &()).await.unwrap_or_default();
        return serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
    }
    let mut out = serde_json::Map::new();
    let Ok(mut form) = Multipart::from_request(request, &()).await else { return json!({}) };
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let size = field.bytes().await.map(|b| b.len()).unwrap_or_default();
                out.insert(name, json!({ "file_name": file_name, "size": size }));
            }
            None => {
                let text = field.text().await.unwrap_or_default();
                let value =
                    serde_json::from_str::<Value>(&text).ok().filter(Value::is_object).unwrap_or(json!(text));
                out.insert(name, value);
            }
        }
    }
    Value::Object(out)
}

async fn method(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    if !fake.known(&bot) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    let body = fields(request).await;
    fake.lock().calls.push(Call { method: method.clone(), body: body.clone() });
    if method.starts_with("send") || method == "editMessageText" || method == "deleteMessage" {
        let fault = {
            let mut inner = fake.lock();
            (!inner.faults.is_empty()).then(|| inner.faults.remove(0))
        };
        match fault {
            Some(Fault::TooManyRequests { retry_after }) => {
                let words = format!("Too Many Requests: retry after {retry_after}");
                return error(
                    StatusCode::TOO_MANY_REQUESTS,
                    &words,
                    Some(json!({ "retry_after": retry_after })),
                );
            }
            Some(Fault::Blocked) => {
                return error(StatusCode::FORBIDDEN, "Forbidden: bot was blocked by the user", None);
            }
            Some(Fault::ServerError) => {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None);
            }
            Some(Fault::BadRequest(words)) => return error(StatusCode::BAD_REQUEST, &words, None),
            None => {}
        }
    }
    let chat = body.get("chat_id").cloned().unwrap_or(Value::Null);
    match method.as_str() {
        "getMe" => ok(
            json!({ "id": fake.bot_id, "is_bot": true, "first_name": fake.first_name, "username": fake.username,
                              "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false }),
        ),
        "setWebhook" => {
            let url = body.get("url").and_then(Value::as_str).unwrap_or_default().to_owned();
            let secret = body.get("secret_token").and_then(Value::as_str).unwrap_or_default().to_owned();
            if !url.starts_with("https://") {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
                    None,
                );
            }
            fake.lock().webhook = Some((url, secret));
            axum::Json(json!({ "ok": true, "result": true, "description": "Webhook was set" }))
                .into_response()
        }
        "deleteWebhook" => {
            fake.lock().webhook = None;
            axum::Json(json!({ "ok": true, "result": true, "description": "Webhook was deleted" }))
                .into_response()
        }
        "getUpdates" => {
            if fake.lock().webhook.is_some() {
                return error(
                    StatusCode::CONFLICT,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                    None,
                );
            }
            let offset = body.get("offset").and_then(Value::as_i64);
            let timeout = body.get("timeout").and_then(Value::as_u64).unwrap_or(0);
            ok(json!(fake.updates(offset, timeout).await))
        }
        "sendMessage" => {
            if let Some(markup) = body.get("reply_markup")
                && !keyboard_reads(markup)
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: can't parse reply keyboard markup JSON object",
                    None,
                );
            }
            ok(fake.sent(&chat, json!({ "text": body.get("text").cloned().unwrap_or_default() })))
        }
        "sendPhoto" | "sendDocument" | "sendVoice" | "sendAudio" | "sendVideo" | "sendSticker"
        | "sendLocation" | "sendContact" => {
            ok(fake.sent(&chat, json!({ "caption": body.get("caption").cloned().unwrap_or_default() })))
        }
        "getFile" => {
            let id = body.get("file_id").and_then(Value::as_str).unwrap_or_default();
            match fake.lock().files.get(id) {
                Some((path, bytes)) => ok(
                    json!({ "file_id": id, "file_unique_id": id, "file_size": bytes.len(), "file_path": path }),
                ),
                None => error(StatusCode::BAD_REQUEST, "Bad Request: invalid file_id", None),
            }
        }
        "editMessageText" => {
            ok(fake.sent(&chat, json!({ "text": body.get("text").cloned().unwrap_or_default() })))
        }
        "deleteMessage" | "setMessageReaction" => ok(json!(true)),
        _ => error(StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

/// Whether a reply keyboard is rows of buttons, each with a non-empty text.
fn keyboard_reads(markup: &Value) -> bool {
    markup["keyboard"].as_array().is_some_and(|rows| {
        !rows.is_empty()
            && rows.iter().all(|row| {
                row.as_array().is_some_and(|buttons| {
                    !buttons.is_empty()
                        && buttons.iter().all(|b| b["text"].as_str().is_some_and(|t| !t.is_empty()))
                })
            })
    })
}

async fn file(State(fake): State<FakeTelegram>, Path((bot, path)): Path<(String, String)>) -> Response {
    if !fake.known(&bot) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let found = fake.lock().files.values().find(|(p, _)| *p == path).map(|(_, b)| b.clone());
    match found {
        Some(bytes) => bytes.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
