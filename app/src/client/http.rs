//! The REST API (`/api/v1`) from the browser. The session cookie authenticates every call and
//! `X-Workspace-Id` names the workspace the page shows (see [`act_in`]), so a user of several
//! workspaces acts in the one on screen; a refusal comes back as the API's
//! `{"error":{"code","message"}}` shape and is shown in words.

use std::cell::Cell;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A failed call: the HTTP status (0 when the server could not be reached) and words to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn url(path: &str) -> String {
    format!("/api/v1{path}")
}

thread_local! {
    static WORKSPACE: Cell<Option<switchboard::WorkspaceId>> = const { Cell::new(None) };
}

/// Every later call acts in this workspace (the page's).
pub fn act_in(workspace: Option<switchboard::WorkspaceId>) {
    WORKSPACE.with(|w| w.set(workspace));
}

/// The workspace the page acts in.
pub fn workspace() -> Option<switchboard::WorkspaceId> {
    WORKSPACE.with(Cell::get)
}

/// The request, naming the page's workspace.
fn scoped(builder: RequestBuilder) -> RequestBuilder {
    match WORKSPACE.with(Cell::get) {
        Some(ws) => builder.header("X-Workspace-Id", &ws.to_string()),
        None => builder,
    }
}

fn unreachable(_: gloo_net::Error) -> ApiError {
    ApiError { status: 0, message: "Could not reach the server. Check your connection and try again.".into() }
}

async fn refusal(response: Response) -> ApiError {
    refusal_of_field(response).await.0
}

/// The refusal, and the field it is about when the server named one (a validation error).
async fn refusal_of_field(response: Response) -> (ApiError, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: String,
        #[serde(default)]
        field: Option<String>,
    }
    let status = response.status();
    let (message, field) = match response.json::<Body>().await {
        Ok(body) => (body.error.message, body.error.field),
        Err(_) => (format!("The server answered {status}."), None),
    };
    (ApiError { status, message }, field)
}

async fn run<T: DeserializeOwned>(request: Result<Request, gloo_net::Error>) -> Result<T, ApiError> {
    let response = request.map_err(unreachable)?.send().await.map_err(unreachable)?;
    if !response.ok() {
        return Err(refusal(response).await);
    }
    if response.status() == 204 {
        // Callers of empty answers ask for `()`, which `null` deserializes into.
        return serde_json::from_str("null").map_err(|e| ApiError { status: 204, message: e.to_string() });
    }
    response.json::<T>().await.map_err(|e| ApiError { status: response.status(), message: e.to_string() })
}

fn with_body<B: Serialize>(builder: RequestBuilder, body: &B) -> Result<Request, gloo_net::Error> {
    builder.json(body)
}

/// `GET /api/v1{path}`.
pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    run(scoped(Request::get(&url(path))).build()).await
}

/// `POST /api/v1{path}` with a JSON body.
pub async fn post<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    run(with_body(scoped(Request::post(&url(path))), body)).await
}

/// `PATCH /api/v1{path}` with a JSON body.
pub async fn patch<T: DeserializeOwned, B: Serialize>(path: &str, body: &B) -> Result<T, ApiError> {
    run(with_body(scoped(Request::patch(&url(path))), body)).await
}

/// `PUT /api/v1{path}` with no body: the path names the whole change (a reaction, a star).
pub async fn put<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    run(scoped(Request::put(&url(path))).build()).await
}

/// `{method} /api/v1{path}` with a JSON body. The desk's calls go through this one: whatever
/// the method, the WASM holds one copy of it per answer type.
pub async fn send<T: DeserializeOwned>(
    method: gloo_net::http::Method,
    path: &str,
    body: &serde_json::Value,
) -> Result<T, ApiError> {
    run(with_body(scoped(RequestBuilder::new(&url(path)).method(method)), body)).await
}

/// `POST /api/v1{path}` with no body, for a form that shows a refusal beside the field it
/// names (the second half of the error).
pub async fn post_naming_field(path: &str) -> Result<(), (ApiError, Option<String>)> {
    let response = scoped(Request::post(&url(path))).send().await.map_err(|e| (unreachable(e), None))?;
    if response.ok() { Ok(()) } else { Err(refusal_of_field(response).await) }
}

/// `DELETE /api/v1{path}`.
pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    run(scoped(Request::delete(&url(path))).build()).await
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}
