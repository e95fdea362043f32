//! Liveness and readiness probes.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use switchboard::store::{Backend, StoreError};

use super::AppState;
use super::error::ApiError;
use super::extract::Json;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(get_health)).route("/readyz", get(get_ready))
}

/// The process is up and answering.
async fn get_health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and every migration this binary knows is applied.
async fn get_ready(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let database = match state.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    match state.store.readiness().await {
        Ok(()) => Ok(Json(json!({ "status": "ready", "database": database }))),
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            let message = match err {
                StoreError::NotMigrated(_) => "Database migrations are pending.",
                _ => "The database is unreachable.",
            };
            let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message);
            e.retry_after = Some(5);
            Err(e)
        }
    }
}
