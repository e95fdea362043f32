//! The bytes behind media links: `GET /media/{id}?exp=&sig=` and `/media/{id}/thumbnail`, with
//! the headers that keep an uploaded file from ever running in our origin, and byte ranges for
//! players. The links are minted by `crate::media::MediaLinks`; uploads are in `media.rs`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use switchboard::AttachmentId;

use super::AppState;
use super::error::ApiError;
use super::extract::{Query, path_id};
use crate::media::{MediaError, Variant};

/// `GET /media/{id}` and `GET /media/{id}/thumbnail`: the bytes behind signed links.
pub fn router() -> axum::Router<AppState> {
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

/// A `Range` header no byte of the blob satisfies (answered 416).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsatisfiable;

/// Reads a `Range` header for a blob of `total` bytes: `Ok(None)` for the whole blob (no header,
/// or one we do not honour, such as several ranges), `Err(Unsatisfiable)` when no byte fits.
pub fn byte_range(header: Option<&str>, total: u64) -> Result<Option<ByteRange>, Unsatisfiable> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = match (first.is_empty(), last.is_empty()) {
        // The last N bytes.
        (true, false) => {
            let n: u64 = last.parse().map_err(|_| Unsatisfiable)?;
            if n == 0 {
                return Err(Unsatisfiable);
            }
            (total.saturating_sub(n), total.saturating_sub(1))
        }
        (false, _) => {
            let start: u64 = first.parse().map_err(|_| Unsatisfiable)?;
            if !last.is_empty() && last.parse::<u64>().is_ok_and(|end| end < start) {
                // Not a valid range (RFC 9110): ignored, the whole file is sent.
                return Ok(None);
            }
            let end = if last.is_empty() {
                total.saturating_sub(1)
            } else {
                last.parse().map_err(|_| Unsatisfiable)?
            };
            (start, end.min(total.saturating_sub(1)))
        }
        (true, true) => return Err(Unsatisfiable),
    };
    if total == 0 || start >= total || end < start {
        return Err(Unsatisfiable);
    }
    Ok(Some(ByteRange { start, len: end - start + 1 }))
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266), or `inline` with the same names.
fn disposition(inline: bool, name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
        .filter(|c| *c != '\\')
        .collect();
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
        Variant::Thumbnail => state.media.size(&key).await?,
    };
    let range = match byte_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), total) {
        Ok(range) => range,
        Err(Unsatisfiable) => {
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
    let mut response = Response::new(Body::from_stream(read.body));
    *response.status_mut() = if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let h = response.headers_mut();
    let content_type = if mime.starts_with("text/") { format!("{mime}; charset=utf-8") } else { mime };
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
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
