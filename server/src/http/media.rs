//! Media over HTTP: `POST /api/v1/uploads` (multipart field `file`, or the raw body with
//! `?filename=`), streamed into the blob store; and `GET /media/{id}` (and `/thumbnail`) by
//! signed link, with the headers that keep an uploaded file from ever running in our origin and
//! byte ranges for players.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use switchboard::AttachmentId;
use switchboard::media::{AttachmentKind, Upload};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{CurrentMember, Json, Query, path_id};
use super::openapi::ApiErrors;
use crate::media::{MediaError, UploadMeta, Variant};

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
    Ok(MediaSettings { max_upload_bytes: own.unwrap_or(server), custom: own.is_some(), server_max_upload_bytes: server })
}

/// The workspace's upload limit.
#[utoipa::path(get, path = "/workspace/media", tag = "media", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = MediaSettings), ApiErrors))]
async fn get_media_settings(State(state): State<AppState>, member: CurrentMember) -> Result<Json<MediaSettings>, ApiError> {
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

/// `GET /media/{id}` and `GET /media/{id}/thumbnail`: the bytes behind signed links.
pub fn media_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/media/{id}", get(serve_file))
        .route("/media/{id}/thumbnail", get(serve_thumbnail))
}

async fn serve_file(
    state: State<AppState>,
    id: Path<String>,
    link: Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(state, id, link, headers, Variant::File).await
}

async fn serve_thumbnail(
    state: State<AppState>,
    id: Path<String>,
    link: Query<LinkQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(state, id, link, headers, Variant::Thumbnail).await
}

impl From<MediaError> for ApiError {
    fn from(err: MediaError) -> Self {
        let (status, code) = match &err {
            MediaError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            MediaError::Unsupported { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type"),
            MediaError::Invalid(v) => {
                let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", v.to_string());
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

#[derive(Deserialize)]
struct LinkQuery {
    exp: Option<i64>,
    sig: Option<String>,
}

/// One range of bytes, from a `Range: bytes=…` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub len: u64,
}

/// Reads a `Range` header for a blob of `total` bytes: `Ok(None)` for the whole blob (no header,
/// or one we do not honour, such as several ranges), `Err(())` when it cannot be satisfied.
pub fn byte_range(header: Option<&str>, total: u64) -> Result<Option<ByteRange>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (first.is_empty(), last.is_empty()) {
        // The last N bytes.
        (true, false) => {
            let n: u64 = last.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (total.saturating_sub(n), total.saturating_sub(1))
        }
        (false, _) => {
            let start: u64 = first.parse().map_err(|_| ())?;
            let end = if last.is_empty() { total.saturating_sub(1) } else { last.parse().map_err(|_| ())? };
            (start, end.min(total.saturating_sub(1)))
        }
        (true, true) => return Err(()),
    };
    if total == 0 || start >= total || end < start {
        return Err(());
    }
    Ok(Some(ByteRange { start, len: end - start + 1 }))
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266), or `inline` with the same names.
fn disposition(inline: bool, name: &str) -> HeaderValue {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).filter(|c| *c != '\\').collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

async fn serve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LinkQuery>,
    headers: HeaderMap,
    variant: Variant,
) -> Result<Response, ApiError> {
    let id: AttachmentId = path_id(&id, "Attachment")?;
    let (Some(exp), Some(sig)) = (q.exp, q.sig) else {
        return Err(MediaError::BadSignature.into());
    };
    let media = state.media.resolve(id, variant, exp, &sig).await?;
    let (key, mime, inline) = match variant {
        Variant::File => (media.blob_key, media.attachment.mime_type.clone(), media.attachment.inline()),
        Variant::Thumbnail => (media.thumb_key, "image/jpeg".to_owned(), true),
    };
    let key = key.ok_or(MediaError::NotFound)?;
    // Ranges for players; the whole file for everything else.
    let total = match variant {
        Variant::File => media.attachment.size,
        Variant::Thumbnail => state.media.read(&key, 0, Some(0)).await?.total,
    };
    let range = match byte_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), total) {
        Ok(range) => range,
        Err(()) => {
            let mut refused: Response = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("The file has {total} bytes."),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                refused.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(refused);
        }
    };
    let (start, len) = range.map_or((0, total), |r| (r.start, r.len));
    let read = state.media.read(&key, start, Some(len)).await?;
    let mut response = Response::new(Body::from_stream(chunks(read.body)));
    *response.status_mut() = if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let h = response.headers_mut();
    let content_type = if mime.starts_with("text/") { format!("{mime}; charset=utf-8") } else { mime };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_DISPOSITION, disposition(inline, &media.attachment.file_name));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Even opened directly, a file is a sandboxed document that runs nothing.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{key}\"")) {
        h.insert(header::ETAG, tag);
    }
    if let Some(r) = range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{total}", r.start, r.start + r.len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response)
}

/// An `AsyncRead` as a stream of chunks for a response body (ends after an error).
fn chunks(
    body: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some((body, vec![0u8; 64 * 1024])), |state| async move {
        let (mut body, mut buf) = state?;
        match body.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => Some((Ok(bytes::Bytes::copy_from_slice(&buf[..n])), Some((body, buf)))),
            Err(e) => Some((Err(e), None)),
        }
    })
}
