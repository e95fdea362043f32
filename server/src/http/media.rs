//! Media in the API: `POST /api/v1/uploads` (multipart field `file`, or the raw body with
//! `?filename=`), streamed into the blob store, and the workspace's upload limit. The bytes go
//! out through signed links (`files.rs`).

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard::media::{AttachmentKind, Upload};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, Query};
use super::openapi::ApiErrors;
use crate::media::{MediaError, UploadMeta};

/// `POST /api/v1/uploads`, under the API router.
pub fn router() -> OpenApiRouter<AppState> {
    // The body is streamed and its size checked against the workspace's limit as it arrives,
    // not by the API's JSON body limit.
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::disable())
        .merge(OpenApiRouter::new().routes(routes!(get_media_settings, put_media_settings)))
}

/// The workspace's media settings.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct MediaSettings {
    /// The largest file a member may upload, in bytes.
    max_upload_bytes: u64,
    /// Whether that is the workspace's own limit (else the server's).
    custom: bool,
    /// The server's limit (`--max-upload-bytes`).
    server_max_upload_bytes: u64,
}

/// `PUT /api/v1/workspace/media`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SetMediaSettings {
    /// 1 KiB to 2 GiB; `null` returns to the server's limit.
    max_upload_bytes: Option<u64>,
}

async fn settings(state: &AppState, workspace: switchboard::WorkspaceId) -> Result<MediaSettings, ApiError> {
    let own = state.store.upload_limit(workspace).await?;
    let server = state.media.default_limit();
    Ok(MediaSettings {
        max_upload_bytes: own.unwrap_or(server),
        custom: own.is_some(),
        server_max_upload_bytes: server,
    })
}

/// The workspace's upload limit.
#[utoipa::path(get, path = "/workspace/media", tag = "media", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = MediaSettings), ApiErrors))]
async fn get_media_settings(
    State(state): State<AppState>,
    member: CurrentMember,
) -> Result<Json<MediaSettings>, ApiError> {
    Ok(Json(settings(&state, member.actor.workspace_id).await?))
}

/// Sets the workspace's own upload limit (owners and admins).
#[utoipa::path(put, path = "/workspace/media", tag = "media", security(("bearer" = []), ("cookie" = [])), request_body = SetMediaSettings, responses((status = 200, body = MediaSettings), ApiErrors))]
async fn put_media_settings(
    State(state): State<AppState>,
    member: CurrentMember,
    Json(req): Json<SetMediaSettings>,
) -> Result<Json<MediaSettings>, ApiError> {
    state.media.set_limit(member.actor, req.max_upload_bytes).await?;
    Ok(Json(settings(&state, member.actor.workspace_id).await?))
}

impl From<MediaError> for ApiError {
    fn from(err: MediaError) -> Self {
        let (status, code) = match &err {
            MediaError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            MediaError::Unsupported { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type"),
            MediaError::Invalid(v) => {
                let mut e =
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", v.to_string());
                e.field = Some(v.field.clone());
                return e;
            }
            MediaError::Interrupted(_) => (StatusCode::BAD_REQUEST, "upload_interrupted"),
            MediaError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            MediaError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            MediaError::Expired => (StatusCode::FORBIDDEN, "link_expired"),
            MediaError::BadSignature => (StatusCode::FORBIDDEN, "bad_signature"),
            MediaError::Store(e) => return e.clone().into(),
            MediaError::Io(e) => return ApiError::internal(e),
        };
        ApiError::new(status, code, err.to_string())
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// The file's name (raw bodies; a multipart part carries its own).
    filename: Option<String>,
    /// Show it as this kind: `voice` for a recorded note, `sticker`, `document` (else the
    /// type decides).
    kind: Option<String>,
    /// The length a recorder measured, for audio and video.
    duration_ms: Option<u64>,
}

/// Stores a file for a later send. The type is told from the bytes; the answer's `id` goes
/// into `attachments` of `POST /conversations/{id}/messages` (or the `send_message` RPC).
#[utoipa::path(post, path = "/uploads", tag = "media", security(("bearer" = []), ("cookie" = [])),
    params(UploadQuery, ("X-Workspace-Id" = Option<String>, Header, description = "The workspace to act in; defaults to the caller's default workspace")),
    request_body(content = Vec<u8>, description = "The file: a `multipart/form-data` part named `file`, or the raw bytes", content_type = "application/octet-stream"),
    responses((status = 201, body = Upload, description = "Stored"),
        (status = 413, description = "Larger than the workspace's limit", body = super::openapi::ErrorBody),
        (status = 415, description = "A type not accepted", body = super::openapi::ErrorBody),
        ApiErrors))]
async fn upload(
    State(state): State<AppState>,
    member: CurrentMember,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let kind = q
        .kind
        .as_deref()
        .map(str::parse::<AttachmentKind>)
        .transpose()
        .map_err(|why| switchboard::validate::ValidationError::new("kind", why))?;
    let mut meta = UploadMeta { file_name: q.filename, kind, duration_ms: q.duration_ms };
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let upload = if multipart {
        let mut form = Multipart::from_request(req, &state).await.map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("The form does not read: {e}"))
        })?;
        loop {
            let field = form.next_field().await.map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("The form does not read: {e}"))
            })?;
            let Some(field) = field else {
                let mut e = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "File: the form has no part named `file`.",
                );
                e.field = Some("file".into());
                return Err(e);
            };
            if field.name() == Some("file") {
                if meta.file_name.is_none() {
                    meta.file_name = field.file_name().map(str::to_owned);
                }
                break state.media.upload(member.actor, field, meta).await?;
            }
        }
    } else {
        state.media.upload(member.actor, req.into_body().into_data_stream(), meta).await?
    };
    Ok((StatusCode::CREATED, Json(upload)).into_response())
}
