//! A local stand-in for Meta's Graph API, written from its public documentation: the calls the
//! `whatsapp_cloud` adapter makes (the number's endpoint, `/messages`, `/media`, media
//! downloads, `/message_templates`), with Meta's answers and error bodies. It records every
//! request for assertions and injects faults on demand (429 with `Retry-After`, 5xx, a revoked
//! token, a slow answer, a receipt that races the send's answer).
//!
//! Used by the server's tests in process, and by the end-to-end tests through the
//! `switchboard-fakes` binary (which adds `/_fake/*` routes to drive it).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// One request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub method: String,
    /// The path without the API version (`/106540352242922/messages`).
    pub path: String,
    /// The JSON body, or for an upload `{"type", "file_name", "size"}`.
    pub body: Value,
}

/// A fault the next matching call answers with.
#[derive(Clone, Debug)]
pub enum Fault {
    /// HTTP 429 with Meta's throughput error (130429) and this `Retry-After`.
    RateLimited { retry_after_secs: u64 },
    /// An HTTP 400 with this Graph error code and details.
    Graph { code: i64, details: String },
    /// HTTP 500.
    ServerError,
    /// Wait this long before answering normally.
    Slow(Duration),
}

/// Where a receipt that races the send's answer goes (the server's webhook, signed).
#[derive(Clone, Debug)]
pub struct RaceReceipt {
    pub webhook_url: String,
    pub app_secret: String,
    pub status: String,
}

#[derive(Default)]
struct Inner {
    tokens: Vec<String>,
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    race: Option<RaceReceipt>,
    media: HashMap<String, (Vec<u8>, String)>,
    next_id: u64,
    templates: Vec<Value>,
}

/// The fake API's state; clone it freely (it is shared).
#[derive(Clone)]
pub struct FakeWhatsApp {
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    /// Where it listens once served (`http://127.0.0.1:port`); set by [`FakeWhatsApp::serve`].
    base: Arc<Mutex<String>>,
    inner: Arc<Mutex<Inner>>,
}

impl Default for FakeWhatsApp {
    fn default() -> Self {
        Self::new("106540352242922", "102290129340398", "fake-access-token")
    }
}

impl FakeWhatsApp {
    /// A fake business number that accepts `token`, with two approved templates.
    pub fn new(phone_number_id: &str, waba_id: &str, token: &str) -> Self {
        let templates = vec![
            json!({ "name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                    "components": [{ "type": "BODY", "text": "Hello from our team! How can we help?" }], "id": "t1" }),
            json!({ "name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
                    "components": [{ "type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped." }], "id": "t2" }),
            json!({ "name": "spring_sale", "language": "en_US", "status": "REJECTED", "category": "MARKETING",
                    "components": [{ "type": "BODY", "text": "Sale!" }], "id": "t3" }),
        ];
        let inner = Inner { tokens: vec![token.to_owned()], templates, ..Inner::default() };
        Self {
            phone_number_id: phone_number_id.into(),
            waba_id: waba_id.into(),
            display_phone_number: "+1 555-078-3881".into(),
            verified_name: "Switchboard Test Shop".into(),
            base: Arc::new(Mutex::new(String::new())),
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake lock")
    }

    /// Serves the fake on `addr` (port 0: any free one); returns its base URL.
    pub async fn serve(&self, addr: &str) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base = format!("http://{}", listener.local_addr()?);
        *self.base.lock().expect("fake lock") = base.clone();
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    /// The fake's routes (its own `/_fake` routes not included).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/{version}/{id}", get(get_object))
            .route("/{version}/{id}/messages", post(post_message))
            .route("/{version}/{id}/media", post(post_media))
            .route("/{version}/{id}/message_templates", get(get_templates))
            .route("/download/{media_id}", get(download))
            .with_state(self.clone())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The message sends so far (not reads), in order.
    pub fn sent(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/messages") && r.body.get("status").is_none())
            .map(|r| r.body)
            .collect()
    }

    /// The read receipts sent so far (their message ids).
    pub fn reads(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.body.get("status").and_then(Value::as_str) == Some("read"))
            .filter_map(|r| r.body.get("message_id").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// Queues a fault for the next message send or upload.
    pub fn fail_next(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// Revokes every token: from now on each call answers 401 with Meta's code 190.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Accepts `token` (again).
    pub fn accept_token(&self, token: &str) {
        self.lock().tokens.push(token.to_owned());
    }

    /// Makes the next send deliver a `status` receipt for it to the server's webhook before it
    /// answers (the race a real network has).
    pub fn race_next_send(&self, race: RaceReceipt) {
        self.lock().race = Some(race);
    }

    /// Puts a file the contact sent on the fake's media server; returns its media id.
    pub fn put_media(&self, bytes: Vec<u8>, mime: &str) -> String {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = format!("{}", 9_000_000 + inner.next_id);
        inner.media.insert(id.clone(), (bytes, mime.to_owned()));
        id
    }

    /// The 401 Meta answers for a missing or unknown token; `None` when the token is good.
    fn refused(&self, headers: &HeaderMap) -> Option<Response> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if token.is_some_and(|t| self.lock().tokens.iter().any(|k| k == t)) {
            return None;
        }
        Some(graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
            None,
        ))
    }

    fn record(&self, method: &str, path: String, body: Value) {
        self.lock().requests.push(Recorded { method: method.into(), path, body });
    }

    /// The answer of the fault queued for this call; `None` to go on.
    async fn fault(&self) -> Option<Response> {
        let fault = self.lock().faults.pop_front();
        match fault {
            None => None,
            Some(Fault::Slow(wait)) => {
                tokio::time::sleep(wait).await;
                None
            }
            Some(Fault::RateLimited { retry_after_secs }) => {
                let mut response = graph_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    130429,
                    "(#130429) Rate limit hit",
                    Some("Cloud API message throughput has been reached."),
                );
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    retry_after_secs.to_string().parse().expect("a number is a header value"),
                );
                Some(response)
            }
            Some(Fault::Graph { code, details }) => {
                Some(graph_error(StatusCode::BAD_REQUEST, code, &format!("(#{code}) Error"), Some(&details)))
            }
            Some(Fault::ServerError) => Some(graph_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                131000,
                "(#131000) Something went wrong",
                None,
            )),
        }
    }

    fn next_wamid(&self) -> String {
        let mut inner = self.lock();
        inner.next_id += 1;
        format!("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI{:08}", inner.next_id)
    }
}

/// Meta's error envelope with this status.
fn graph_error(status: StatusCode, code: i64, message: &str, details: Option<&str>) -> Response {
    let mut error =
        json!({ "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGhIjK" });
    if let Some(details) = details {
        error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// `GET /{version}/{id}`: the phone number, or a media object's download URL.
async fn get_object(
    State(fake): State<FakeWhatsApp>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = fake.refused(&headers) {
        return refused;
    }
    fake.record("GET", format!("/{id}"), Value::Null);
    if id == fake.phone_number_id {
        return axum::Json(json!({
            "verified_name": fake.verified_name,
            "display_phone_number": fake.display_phone_number,
            "id": fake.phone_number_id,
            "quality_rating": "GREEN"
        }))
        .into_response();
    }
    let found = fake.lock().media.get(&id).map(|(bytes, mime)| (bytes.len(), mime.clone()));
    match found {
        Some((size, mime)) => {
            let base = fake.base.lock().expect("fake lock").clone();
            axum::Json(json!({
                "messaging_product": "whatsapp",
                "url": format!("{base}/download/{id}"),
                "mime_type": mime,
                "sha256": "",
                "file_size": size.to_string(),
                "id": id
            }))
            .into_response()
        }
        None => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported get request. Object with ID does not exist.",
            None,
        ),
    }
}

async fn download(State(fake): State<FakeWhatsApp>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = fake.refused(&headers) {
        return refused;
    }
    match fake.lock().media.get(&id).cloned() {
        Some((bytes, mime)) => ([(axum::http::header::CONTENT_TYPE, mime)], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `POST /{version}/{phone_number_id}/messages`: a send, or a read receipt.
async fn post_message(
    State(fake): State<FakeWhatsApp>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = fake.refused(&headers) {
        return refused;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Invalid parameter",
            Some("The body is not JSON"),
        );
    };
    if id != fake.phone_number_id || body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp")
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Invalid parameter",
            Some("Unknown phone number id or product"),
        );
    }
    fake.record("POST", format!("/{id}/messages"), body.clone());
    if body.get("status").and_then(Value::as_str) == Some("read") {
        return axum::Json(json!({ "success": true })).into_response();
    }
    if let Some(refused) = fake.fault().await {
        return refused;
    }
    let Some(to) = body.get("to").and_then(Value::as_str).map(str::to_owned) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131008,
            "(#131008) Required parameter is missing",
            Some("to"),
        );
    };
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("text");
    if body.get(kind).is_none() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131008,
            "(#131008) Required parameter is missing",
            Some(kind),
        );
    }
    if kind == "interactive"
        && let Some(why) = interactive_problem(&body["interactive"])
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131009,
            "(#131009) Parameter value is not valid",
            Some(why),
        );
    }
    let wamid = fake.next_wamid();
    let race = fake.lock().race.take();
    if let Some(race) = race {
        let payload =
            status_payload(&fake.phone_number_id, &fake.display_phone_number, &wamid, &race.status, &to);
        post_signed(&race.webhook_url, &race.app_secret, &payload).await;
    }
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": to }],
        "messages": [{ "id": wamid }]
    }))
    .into_response()
}

/// What the Cloud API refuses in a reply buttons or list message (its documented bounds), if
/// anything.
fn interactive_problem(interactive: &Value) -> Option<&'static str> {
    let chars = |v: &Value| v.as_str().map(|s| s.chars().count());
    let body = chars(&interactive["body"]["text"]).filter(|n| *n > 0);
    let titles_within = |items: &[Value], title: &str, max: usize| {
        items.iter().all(|i| i.pointer(title).and_then(&chars).is_some_and(|n| (1..=max).contains(&n)))
    };
    match interactive["type"].as_str() {
        Some("button") => {
            let buttons = interactive["action"]["buttons"].as_array().map(Vec::as_slice).unwrap_or_default();
            if body.is_none_or(|n| n > 1024) {
                Some("interactive.body.text: 1 to 1024 characters")
            } else if buttons.is_empty() || buttons.len() > 3 {
                Some("interactive.action.buttons: 1 to 3 buttons")
            } else if !titles_within(buttons, "/reply/title", 20)
                || buttons.iter().any(|b| b["type"] != "reply" || !b["reply"]["id"].is_string())
            {
                Some("interactive.action.buttons: each a reply with an id and a title of 1 to 20 characters")
            } else {
                None
            }
        }
        Some("list") => {
            let sections =
                interactive["action"]["sections"].as_array().map(Vec::as_slice).unwrap_or_default();
            let rows: Vec<Value> =
                sections.iter().flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default()).collect();
            if body.is_none_or(|n| n > 4096) {
                Some("interactive.body.text: 1 to 4096 characters")
            } else if !chars(&interactive["action"]["button"]).is_some_and(|n| (1..=20).contains(&n)) {
                Some("interactive.action.button: 1 to 20 characters")
            } else if sections.is_empty() || rows.is_empty() || rows.len() > 10 {
                Some("interactive.action.sections: 1 to 10 rows in all")
            } else if !titles_within(&rows, "/title", 24) || rows.iter().any(|r| !r["id"].is_string()) {
                Some("interactive.action.sections.rows: each an id and a title of 1 to 24 characters")
            } else {
                None
            }
        }
        _ => Some("interactive.type: button or list"),
    }
}

/// `POST /{version}/{phone_number_id}/media` (multipart: `messaging_product`, `type`, `file`).
async fn post_media(
    State(fake): State<FakeWhatsApp>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    if let Some(refused) = fake.refused(&headers) {
        return refused;
    }
    let (mut kind, mut file_name, mut bytes, mut product) =
        (String::new(), String::new(), Vec::new(), String::new());
    while let Ok(Some(field)) = form.next_field().await {
        match field.name().unwrap_or_default() {
            "messaging_product" => product = field.text().await.unwrap_or_default(),
            "type" => kind = field.text().await.unwrap_or_default(),
            "file" => {
                file_name = field.file_name().unwrap_or_default().to_owned();
                bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            }
            _ => {}
        }
    }
    if product != "whatsapp" || kind.is_empty() || bytes.is_empty() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Invalid parameter",
            Some("messaging_product, type and file are required"),
        );
    }
    fake.record(
        "POST",
        format!("/{id}/media"),
        json!({ "type": kind, "file_name": file_name, "size": bytes.len() }),
    );
    if let Some(refused) = fake.fault().await {
        return refused;
    }
    let media_id = fake.put_media(bytes, &kind);
    axum::Json(json!({ "id": media_id })).into_response()
}

/// `GET /{version}/{waba_id}/message_templates`: one page of every template (any status).
async fn get_templates(
    State(fake): State<FakeWhatsApp>,
    Path((_version, id)): Path<(String, String)>,
    Query(_query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = fake.refused(&headers) {
        return refused;
    }
    fake.record("GET", format!("/{id}/message_templates"), Value::Null);
    if id != fake.waba_id {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Unsupported get request.", None);
    }
    let data = fake.lock().templates.clone();
    axum::Json(json!({ "data": data, "paging": { "cursors": { "before": "b", "after": "a" } } }))
        .into_response()
}

/// A webhook payload of one status for `wamid`.
pub fn status_payload(phone_number_id: &str, display: &str, wamid: &str, status: &str, to: &str) -> Value {
    let mut entry = json!({ "id": wamid, "status": status, "timestamp": "1750263773", "recipient_id": to });
    if status == "failed" {
        entry["errors"] = json!([{ "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                                   "error_data": { "details": "Message Undeliverable." } }]);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": display, "phone_number_id": phone_number_id },
            "statuses": [entry]
        } }] }]
    })
}

/// A webhook payload of one inbound message (`message` holds `type` and its content).
pub fn message_payload(phone_number_id: &str, from: &str, name: &str, message: Value) -> Value {
    let mut message = message;
    message["from"] = json!(from);
    if message.get("timestamp").is_none() {
        message["timestamp"] = json!(chrono::Utc::now().timestamp().to_string());
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": phone_number_id },
            "contacts": [{ "profile": { "name": name }, "wa_id": from }],
            "messages": [message]
        } }] }]
    })
}

/// The `X-Hub-Signature-256` value Meta sends with `body`.
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers `payload` to a webhook URL as Meta does (signed); the answer's status.
pub async fn post_signed(url: &str, app_secret: &str, payload: &Value) -> u16 {
    let body = serde_json::to_vec(payload).expect("JSON serializes");
    let response = crate::providers::http::client()
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature(app_secret, &body))
        .body(body)
        .send()
        .await;
    match response {
        Ok(r) => r.status().as_u16(),
        Err(e) => {
            tracing::warn!(error = %e, "the fake could not deliver a webhook");
            0
        }
    }
}
