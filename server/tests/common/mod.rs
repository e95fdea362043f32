//! Test helpers: stores on both backends, an app state with fast settings, request helpers.
#![allow(dead_code, unused_macros)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, header};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use switchboard::Store;
use switchboard_server::http::{AppState, HttpConfig};
use switchboard_server::realtime::Bus;
use switchboard_server::secret::SecretKey;
use switchboard_server::services::ratelimit::Quota;
use switchboard_server::services::{AccountService, AuthConfig, ChannelService};
use switchboard_server::store::{PgStore, SqliteStore, StoreOptions};
use tower::ServiceExt;

pub mod process;
pub mod receiver;
pub mod ws;

/// The PostgreSQL server the suite runs against. Never skipped: if it cannot be reached, the
/// test fails (scripts/test.sh starts it).
pub fn postgres_base_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A SQLite store in a fresh temporary file (kept alive by the returned dir), not migrated,
/// publishing nowhere.
pub async fn sqlite_unmigrated() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = SqliteStore::connect(&StoreOptions::new(url)).await.expect("open SQLite");
    (store, dir)
}

/// A migrated SQLite store in a fresh temporary file, publishing nowhere.
pub async fn sqlite() -> (SqliteStore, tempfile::TempDir) {
    sqlite_with(Arc::new(switchboard::store::NoBroker)).await
}

/// A migrated SQLite store in a fresh temporary file, publishing to `broker`.
pub async fn sqlite_with(broker: Arc<dyn switchboard::store::Broker>) -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = SqliteStore::connect(&StoreOptions::new(url).with_broker(broker)).await.expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    (store, dir)
}

/// A fresh, empty PostgreSQL database (named `sb_test_…`; scripts/test.sh drops old ones).
pub async fn postgres_url() -> String {
    let base = postgres_base_url();
    let admin = sqlx::PgPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {base} for this test: {e}"));
    let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

/// A PostgreSQL store on a fresh database, not migrated.
pub async fn postgres_unmigrated() -> PgStore {
    let mut options = StoreOptions::new(postgres_url().await);
    options.max_connections = 5;
    PgStore::connect(&options).await.expect("connect PostgreSQL")
}

/// A migrated PostgreSQL store on a fresh database, publishing nowhere.
pub async fn postgres() -> PgStore {
    let store = postgres_unmigrated().await;
    store.migrate().await.expect("migrate PostgreSQL");
    store
}

/// A migrated PostgreSQL store on a fresh database, publishing on `bus`.
pub async fn postgres_on(bus: Arc<Bus>) -> PgStore {
    postgres_at(&postgres_url().await, bus).await
}

/// A migrated PostgreSQL store on the database at `url`, publishing on `bus` (two of them on
/// one database are two nodes of a cluster).
pub async fn postgres_at(url: &str, bus: Arc<Bus>) -> PgStore {
    let mut options = StoreOptions::new(url).with_broker(bus);
    options.max_connections = 5;
    let store = PgStore::connect(&options).await.expect("connect PostgreSQL");
    store.migrate().await.expect("migrate PostgreSQL");
    store
}

/// The public URL router tests pretend to be served at.
pub const PUBLIC_URL: &str = "http://switchboard.test";

/// Runtimes that retry within milliseconds.
pub fn fast_runtimes() -> switchboard_server::runtime::RuntimeConfig {
    switchboard_server::runtime::RuntimeConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        stream_capacity: 256,
    }
}

/// Settings for router tests: small, known rate limits.
pub fn test_auth_config() -> AuthConfig {
    AuthConfig {
        session_ttl: Duration::from_secs(3600),
        secure_cookies: false,
        per_client: Quota::new(50, Duration::from_secs(60)),
        per_email: Quota::new(5, Duration::from_secs(900)),
        public_url: PUBLIC_URL.to_owned(),
        ..AuthConfig::default()
    }
}

/// The realtime settings of test apps: the defaults, with [`PUBLIC_URL`]'s origin allowed.
pub fn test_realtime_config() -> switchboard_server::realtime::RealtimeConfig {
    switchboard_server::realtime::RealtimeConfig {
        allowed_origins: vec![PUBLIC_URL.to_owned()],
        ..Default::default()
    }
}

/// An app state on `store`, trusting `X-Forwarded-For` so tests can vary the client address.
/// Its gateway delivers what `bus` carries: pass the bus the store was built with (see
/// [`sqlite_with`]), or a fresh one for an app whose events no client watches.
pub fn state_with(store: Arc<dyn Store>, bus: Arc<Bus>, auth: AuthConfig) -> AppState {
    state_with_realtime(store, bus, auth, test_realtime_config())
}

/// [`state_with`], with these realtime settings.
pub fn state_with_realtime(
    store: Arc<dyn Store>,
    bus: Arc<Bus>,
    auth: AuthConfig,
    config: switchboard_server::realtime::RealtimeConfig,
) -> AppState {
    let secret = SecretKey::from_hex(&"ab".repeat(32)).unwrap();
    let (providers, mock) = switchboard_server::providers::Providers::new(PUBLIC_URL);
    let providers = providers.with(Arc::new(switchboard_server::providers::api::ApiChannel::new(true)));
    let links = switchboard_server::media::MediaLinks::new(&secret, Duration::from_secs(3600));
    bus.hub().set_media_links(links.clone());
    let realtime = switchboard_server::realtime::Realtime::new(store.clone(), bus, config);
    let media = Arc::new(switchboard_server::media::MediaService::new(
        store.clone(),
        Arc::new(TempBlobs::new()),
        links.clone(),
        switchboard_server::media::MediaConfig { max_upload_bytes: TEST_MAX_UPLOAD_BYTES },
    ));
    let channels = Arc::new(ChannelService::new(store.clone(), &secret, providers, fast_runtimes()));
    channels.runtimes().set_media(media.clone());
    let messages = Arc::new(
        switchboard_server::services::MessageService::new(store.clone())
            .with_media_links(links)
            .with_channels(channels.clone()),
    );
    let webhooks = Arc::new(switchboard_server::services::webhooks::WebhookService::new(
        store.clone(),
        media.clone(),
        &secret,
        test_webhook_config(),
    ));
    let bots = Arc::new(switchboard_server::services::bots::BotService::new(
        store.clone(),
        messages.clone(),
        realtime.hub.clone(),
        true,
    ));
    AppState {
        bots,
        webhooks,
        media,
        accounts: Arc::new(AccountService::new(store.clone(), realtime.clone(), &secret, auth)),
        channels,
        messages,
        realtime,
        mock,
        store,
        leptos: LeptosOptions::builder().output_name("switchboard").site_root("target/site").build(),
        site: Arc::new(switchboard_server::http::site::Site::disk("target/site", "switchboard")),
        http: Arc::new(HttpConfig { trust_proxy: true, metrics_token: None }),
    }
}

/// Webhooks of test apps: local receivers allowed, retries in milliseconds.
pub fn test_webhook_config() -> switchboard_server::services::webhooks::WebhookConfig {
    switchboard_server::services::webhooks::WebhookConfig {
        allow_private: true,
        timeout: Duration::from_secs(2),
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        retry_for: Duration::from_secs(5),
        poll: Duration::from_millis(20),
        batch: 16,
    }
}

/// The upload limit of test apps: small, so the limit is cheap to cross.
pub const TEST_MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024;

/// Local blobs in a temporary directory that goes with them.
pub struct TempBlobs {
    dir: tempfile::TempDir,
    blobs: switchboard_server::media::LocalBlobs,
}

impl Default for TempBlobs {
    fn default() -> Self {
        Self::new()
    }
}

impl TempBlobs {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let blobs = switchboard_server::media::LocalBlobs::open_dir(dir.path()).unwrap();
        Self { dir, blobs }
    }

    pub fn root(&self) -> &std::path::Path {
        self.dir.path()
    }
}

#[async_trait::async_trait]
impl switchboard_server::media::BlobStore for TempBlobs {
    fn staging_dir(&self) -> &std::path::Path {
        self.blobs.staging_dir()
    }
    async fn put_file(&self, key: &str, staged: &std::path::Path) -> std::io::Result<()> {
        self.blobs.put_file(key, staged).await
    }
    async fn size(&self, key: &str) -> std::io::Result<u64> {
        self.blobs.size(key).await
    }
    async fn open(
        &self,
        key: &str,
        start: u64,
        len: Option<u64>,
    ) -> std::io::Result<switchboard_server::media::BlobRead> {
        self.blobs.open(key, start, len).await
    }
    async fn delete_if_idle(&self, key: &str, idle_since: std::time::SystemTime) -> std::io::Result<bool> {
        self.blobs.delete_if_idle(key, idle_since).await
    }
}

/// A SQLite-backed app with the demo workspace seeded.
pub async fn demo_app() -> (AppState, tempfile::TempDir) {
    let bus = Bus::new();
    let (store, dir) = sqlite_with(bus.clone()).await;
    (demo_state(Arc::new(store), bus).await, dir)
}

/// A PostgreSQL-backed app (fresh database) with the demo workspace seeded.
pub async fn demo_app_postgres() -> AppState {
    let bus = Bus::new();
    demo_state(Arc::new(postgres_on(bus.clone()).await), bus).await
}

/// An app on `store` (built with `bus`) with the demo workspace seeded.
pub async fn demo_state(store: Arc<dyn Store>, bus: Arc<Bus>) -> AppState {
    switchboard_server::services::provision::seed_demo(store.as_ref()).await.unwrap();
    state_with(store, bus, test_auth_config())
}

/// Runs each named `async fn(AppState, Backend)` test against SQLite and PostgreSQL.
macro_rules! app_test {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let bus = switchboard_server::realtime::Bus::new();
                let (store, _dir) = crate::common::sqlite_with(bus.clone()).await;
                let raw = crate::common::Raw::Sqlite(store.pool().clone());
                let app = crate::common::demo_state(std::sync::Arc::new(store), bus).await;
                crate::$name(app, raw).await;
            }

            #[tokio::test]
            async fn postgres() {
                let bus = switchboard_server::realtime::Bus::new();
                let store = crate::common::postgres_on(bus.clone()).await;
                let raw = crate::common::Raw::Postgres(store.pool().clone());
                let app = crate::common::demo_state(std::sync::Arc::new(store), bus).await;
                crate::$name(app, raw).await;
            }
        }
    )*};
}

/// Direct access to the database under a test, to check what is really stored.
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// How many rows of `table` hold a NUL in the text of `column`: as a raw byte, or escaped
    /// as `\u0000` inside stored JSON. (Not `table_bytes`: SQLite stores ids as blobs, and
    /// their bytes may be 0.)
    pub async fn rows_with_nul(&self, table: &str, column: &str) -> i64 {
        match self {
            Raw::Sqlite(pool) => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "select count(*) from {table} where instr(cast({column} as blob), x'00') > 0 or instr({column}, '\\u0000') > 0"
                ));
                sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
            }
            Raw::Postgres(pool) => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "select count(*) from {table} where position('\\x00'::bytea in convert_to({column}::text, 'UTF8')) > 0 or strpos({column}::text, '\\u0000') > 0"
                ));
                sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
            }
        }
    }

    /// When the message's outbox row is next due.
    pub async fn outbox_next_attempt(
        &self,
        message: switchboard::MessageId,
    ) -> chrono::DateTime<chrono::Utc> {
        let sql = "select next_attempt_at from outbox where message_id = $1";
        match self {
            Raw::Sqlite(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
            Raw::Postgres(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
        }
    }

    /// How many attempts the message's outbox row has used.
    pub async fn outbox_attempts(&self, message: switchboard::MessageId) -> i64 {
        let sql = "select attempts from outbox where message_id = $1";
        let n: i32 = match self {
            Raw::Sqlite(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
            Raw::Postgres(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
        };
        i64::from(n)
    }

    /// How many outbox rows the message has (0: it goes to no network).
    pub async fn outbox_rows(&self, message: switchboard::MessageId) -> i64 {
        let sql = "select count(*) from outbox where message_id = $1";
        match self {
            Raw::Sqlite(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
            Raw::Postgres(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
        }
    }

    /// How many attempts the message's outbox row is allowed.
    pub async fn outbox_max_attempts(&self, message: switchboard::MessageId) -> i64 {
        let sql = "select max_attempts from outbox where message_id = $1";
        let n: i32 = match self {
            Raw::Sqlite(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
            Raw::Postgres(pool) => {
                sqlx::query_scalar(sql).bind(message.as_uuid()).fetch_one(pool).await.unwrap()
            }
        };
        i64::from(n)
    }
    /// Writes an event row by hand, as an older (or newer) build may have left it in the log.
    pub async fn insert_event(
        &self,
        workspace: switchboard::WorkspaceId,
        topic: &str,
        offset: i64,
        kind: &str,
        payload: &str,
    ) -> switchboard::EventId {
        let id = switchboard::EventId::new();
        let sql = "insert into event (event_id, workspace_id, topic, topic_offset, type, schema_version, occurred_at, trace_id, payload, workspace_offset)
             values ($1, $2, $3, $4, $5, 1, $6, null, $7, $8)";
        let at = switchboard::time::now();
        match self {
            Raw::Sqlite(pool) => {
                let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
                sqlx::query(sql)
                    .bind(id.as_uuid())
                    .bind(workspace.as_uuid())
                    .bind(topic)
                    .bind(offset)
                    .bind(kind)
                    .bind(at)
                    .bind(sqlx::types::Json(payload))
                    .bind(1_000_000_000 + offset)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            Raw::Postgres(pool) => {
                let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
                sqlx::query(sql)
                    .bind(id.as_uuid())
                    .bind(workspace.as_uuid())
                    .bind(topic)
                    .bind(offset)
                    .bind(kind)
                    .bind(at)
                    .bind(sqlx::types::Json(payload))
                    .bind(1_000_000_000 + offset)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        id
    }

    /// Every byte of every column of the table's rows, concatenated (text and blobs alike).
    pub async fn table_bytes(&self, table: &str) -> Vec<u8> {
        let sql = sqlx::AssertSqlSafe(format!("select * from {table}"));
        let mut out = Vec::new();
        match self {
            Raw::Sqlite(pool) => {
                use sqlx::{Row, ValueRef};
                for row in sqlx::query(sql).fetch_all(pool).await.unwrap() {
                    for i in 0..row.columns().len() {
                        let value = row.try_get_raw(i).unwrap();
                        if value.is_null() {
                            continue;
                        }
                        if let Ok(bytes) = row.try_get::<Vec<u8>, _>(i) {
                            out.extend(bytes);
                        } else if let Ok(text) = row.try_get::<String, _>(i) {
                            out.extend(text.into_bytes());
                        }
                    }
                }
            }
            Raw::Postgres(pool) => {
                // Cast every column to text: bytea shows as hex, so also fetch bytea raw.
                use sqlx::Row;
                let sql = sqlx::AssertSqlSafe(format!("select row_to_json(t)::text from {table} t"));
                for row in sqlx::query(sql).fetch_all(pool).await.unwrap() {
                    out.extend(row.get::<String, _>(0).into_bytes());
                }
                let cols = sqlx::AssertSqlSafe(format!(
                    "select column_name::text from information_schema.columns where table_name = '{table}' and data_type = 'bytea'"
                ));
                for col in sqlx::query_scalar::<_, String>(cols).fetch_all(pool).await.unwrap() {
                    let q = sqlx::AssertSqlSafe(format!("select {col} from {table} where {col} is not null"));
                    for bytes in sqlx::query_scalar::<_, Vec<u8>>(q).fetch_all(pool).await.unwrap() {
                        out.extend(bytes);
                    }
                }
            }
        }
        out
    }
}

/// A request with a bearer token, a method and an optional JSON body.
pub fn authed(method: &str, uri: &str, token: &str, body: Option<serde_json::Value>) -> Request<Body> {
    let builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json");
    builder.body(body.map(|b| Body::from(b.to_string())).unwrap_or_default()).unwrap()
}

/// Sends one request through the whole router.
pub async fn send(state: &AppState, request: Request<Body>) -> Response<Body> {
    // No request takes a minute: one that does is a hang, told by its request line.
    let line = format!("{} {}", request.method(), request.uri());
    let answer = switchboard_server::http::router(state.clone()).oneshot(request);
    match tokio::time::timeout(std::time::Duration::from_secs(60), answer).await {
        Ok(response) => response.unwrap(),
        Err(_) => panic!("{line} got no answer within 60 s"),
    }
}

/// A JSON POST from `client`.
pub fn post_json(uri: &str, client: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", client)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// A GET with an optional bearer token.
pub fn get(uri: &str, bearer: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(token) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

/// A call to the API as `token`: its status and its JSON answer (`null` when it has none).
pub async fn call(
    app: &AppState,
    token: &str,
    method: &str,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (axum::http::StatusCode, serde_json::Value) {
    let response = send(app, authed(method, uri, token, body)).await;
    let status = response.status();
    let text = body_text(response).await;
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn body_json(response: Response<Body>) -> serde_json::Value {
    let text = body_text(response).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts the API's error shape and returns the code.
#[track_caller]
pub fn error_code(json: &serde_json::Value) -> String {
    let error = json.get("error").unwrap_or_else(|| panic!("no `error` object in {json}"));
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "error without a message: {json}");
    error["code"].as_str().unwrap_or_else(|| panic!("error without a code: {json}")).to_owned()
}

/// Signs in through the API and returns the token.
pub async fn login(state: &AppState, email: &str, password: &str) -> String {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let response = send(state, post_json("/api/v1/auth/login", "10.0.0.1", &body)).await;
    assert_eq!(response.status(), 200, "sign-in of {email} failed");
    body_json(response).await["token"].as_str().unwrap().to_owned()
}

/// Creates a channel through the API (asserting 201) and returns its JSON.
pub async fn create_channel(app: &AppState, token: &str, body: serde_json::Value) -> serde_json::Value {
    let response = send(app, authed("POST", "/api/v1/channels", token, Some(body))).await;
    assert_eq!(response.status(), 201, "creating a channel");
    body_json(response).await
}

/// The token every Mock sign-in in the tests uses.
pub const MOCK_TOKEN: &str = "mock_abcdefghijklmnopqrstuvwxyz0123";

/// `contact` (shown as `name`) writes `text` on the channel's network, through the inbound
/// path every provider's traffic takes; each call is a new message. Answers what was recorded.
pub async fn contact_writes(
    app: &AppState,
    channel: &switchboard::Channel,
    contact: &str,
    name: &str,
    text: &str,
) -> switchboard::store::Ingested {
    let message = switchboard::provider::ProviderMessage {
        external_id: format!("in-{contact}-{}", uuid::Uuid::now_v7()),
        contact_id: contact.into(),
        direction: switchboard::provider::Direction::Inbound,
        text: text.into(),
        sent_at: switchboard::time::now(),
        media: Vec::new(),
        reply_to: None,
        sender_name: None,
    };
    let who = switchboard::provider::Contact { external_id: contact.into(), name: name.into() };
    switchboard_server::services::inbound::ingest(app.store.as_ref(), channel, who, message)
        .await
        .expect("ingest")
        .expect("a new message")
}

/// Signs a Mock channel in by token through the API (asserting success).
pub async fn sign_in_by_token(app: &AppState, token: &str, channel_id: &str) {
    let start = send(
        app,
        authed(
            "POST",
            &format!("/api/v1/channels/{channel_id}/auth/start"),
            token,
            Some(serde_json::json!({"method": "token"})),
        ),
    )
    .await;
    assert_eq!(start.status(), 200);
    let body = serde_json::json!({"kind": "token", "value": MOCK_TOKEN});
    let done =
        send(app, authed("POST", &format!("/api/v1/channels/{channel_id}/auth/submit"), token, Some(body)))
            .await;
    assert_eq!(done.status(), 200);
}

/// Serves the app on a free loopback port (for tests that need a real socket).
pub async fn serve_app(app: &AppState) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = switchboard_server::http::router(app.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A Mock webhook for the channel, signed with `secret` as the network would sign it.
pub fn signed_mock_webhook(channel_id: &str, body: &str, secret: &str) -> Request<Body> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    Request::builder()
        .method("POST")
        .uri(format!("/webhooks/mock/{channel_id}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-mock-signature", signature)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// Runs the app's outbox worker (fast pacing, with its media and channels) until the handle is
/// aborted: for tests that send through a real network adapter.
pub fn spawn_outbox(app: &AppState) -> tokio::task::JoinHandle<()> {
    let worker = switchboard_server::services::outbox::OutboxWorker::new(
        app.store.clone(),
        app.channels.providers().clone(),
        switchboard_server::services::outbox::OutboxConfig {
            poll: Duration::from_millis(10),
            lease: Duration::from_secs(5),
            backoff_base: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(40),
            batch: 32,
        },
    )
    .with_media(app.media.clone())
    .with_channels(app.channels.clone());
    tokio::spawn(worker.run())
}
