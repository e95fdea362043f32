//! Attachments: what a message may carry besides text (images, voice notes, documents, …), how
//! an upload's type is told from its bytes (never from what the client claims), which types a
//! browser may show inline, and the few facts read from a file's header (an image's size, a WAV
//! file's length) so the inbox lays a message out before its bytes arrive.
//!
//! The bytes themselves live in the server's blob store; a message carries the metadata below
//! and, once it leaves the server, short-lived signed links to them (`url`, `thumbnail_url`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AttachmentId, MessageId, WorkspaceId};
use crate::validate::ValidationError;

/// Most attachments one message carries.
pub const MAX_ATTACHMENTS: usize = 10;
/// Default largest upload, per file (a workspace may have its own).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;
/// Longest file name kept, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// How many leading bytes the sniffer and the header readers look at.
pub const SNIFF_BYTES: usize = 64 * 1024;
/// Longest voice note or clip a client may claim, in milliseconds (a day).
pub const MAX_DURATION_MS: u64 = 24 * 3600 * 1000;

/// What an attachment is, as the inbox shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Image,
    Video,
    Audio,
    /// A recorded voice note (shown with a player and its length, never as a file).
    Voice,
    Document,
    Sticker,
    Location,
    Contact,
}

impl AttachmentKind {
    pub const ALL: [AttachmentKind; 8] = [
        AttachmentKind::Image,
        AttachmentKind::Video,
        AttachmentKind::Audio,
        AttachmentKind::Voice,
        AttachmentKind::Document,
        AttachmentKind::Sticker,
        AttachmentKind::Location,
        AttachmentKind::Contact,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Video => "video",
            AttachmentKind::Audio => "audio",
            AttachmentKind::Voice => "voice",
            AttachmentKind::Document => "document",
            AttachmentKind::Sticker => "sticker",
            AttachmentKind::Location => "location",
            AttachmentKind::Contact => "contact",
        }
    }

    /// Whether the kind has bytes in the blob store (a location or a contact card has none).
    pub fn has_blob(&self) -> bool {
        !matches!(self, AttachmentKind::Location | AttachmentKind::Contact)
    }

    /// The kind a sniffed type makes, given what the uploader asked for: a voice note must be
    /// audio, a sticker an image; otherwise the type decides.
    pub fn for_upload(mime: &str, asked: Option<AttachmentKind>) -> Result<AttachmentKind, ValidationError> {
        let natural = AttachmentKind::of_mime(mime);
        match asked {
            None => Ok(natural),
            Some(AttachmentKind::Voice) if natural == AttachmentKind::Audio => Ok(AttachmentKind::Voice),
            Some(AttachmentKind::Sticker) if natural == AttachmentKind::Image => Ok(AttachmentKind::Sticker),
            Some(AttachmentKind::Document) => Ok(AttachmentKind::Document),
            Some(kind) if kind == natural => Ok(kind),
            Some(kind) => Err(ValidationError::new(
                "kind",
                format!("`{}` does not fit a file of type {mime}", kind.as_str()),
            )),
        }
    }

    /// The kind a MIME type makes on its own.
    pub fn of_mime(mime: &str) -> AttachmentKind {
        match mime.split('/').next() {
            Some("image") => AttachmentKind::Image,
            Some("video") => AttachmentKind::Video,
            Some("audio") => AttachmentKind::Audio,
            _ => AttachmentKind::Document,
        }
    }
}

impl std::str::FromStr for AttachmentKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttachmentKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown attachment kind `{s}`"))
    }
}

/// Whether an attachment's bytes can be had.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    #[default]
    Ready,
    /// The network's media could not be fetched (after retries): the message arrived, its
    /// media did not.
    Unavailable,
}

impl MediaState {
    pub fn as_str(&self) -> &'static str {
        match self {
            MediaState::Ready => "ready",
            MediaState::Unavailable => "unavailable",
        }
    }
}

impl std::str::FromStr for MediaState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ready" => Ok(MediaState::Ready),
            "unavailable" => Ok(MediaState::Unavailable),
            other => Err(format!("unknown media state `{other}`")),
        }
    }
}

/// A shared place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
    /// The place's name or address, when the sender gave one.
    #[serde(default)]
    pub name: Option<String>,
}

impl Eq for GeoPoint {}

impl GeoPoint {
    /// A link that opens the place on a map (the server puts it in the attachment's `url`).
    pub fn map_url(&self) -> String {
        format!(
            "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=16/{lat:.6}/{lon:.6}",
            lat = self.latitude,
            lon = self.longitude
        )
    }
}

/// A shared contact card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactCard {
    pub name: String,
    #[serde(default)]
    pub phones: Vec<String>,
}

/// One attachment of a message, as every surface sees it.
///
/// The event log keeps it without links; `url` and `thumbnail_url` are minted (signed, short
/// lived) each time it leaves the server, so a replay always carries fresh ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: AttachmentId,
    pub kind: AttachmentKind,
    /// Told from the bytes when stored, not taken from the sender.
    pub mime_type: String,
    /// Bytes.
    pub size: u64,
    pub file_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Whether a small preview image exists (`thumbnail_url` then links to it).
    #[serde(default)]
    pub has_thumbnail: bool,
    #[serde(default)]
    pub state: MediaState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactCard>,
    /// Where to fetch the bytes: a signed link that expires (absent in the event log); for a
    /// place, a map link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

impl Attachment {
    /// The short label a conversation list shows for a message without text.
    pub fn label(&self) -> String {
        match self.kind {
            AttachmentKind::Image => "📷 Photo".into(),
            AttachmentKind::Video => "🎬 Video".into(),
            AttachmentKind::Audio => format!("🎵 {}", self.file_name),
            AttachmentKind::Voice => match self.duration_ms {
                Some(ms) => format!("🎤 Voice message ({})", clock(ms)),
                None => "🎤 Voice message".into(),
            },
            AttachmentKind::Document => format!("📄 {}", self.file_name),
            AttachmentKind::Sticker => "Sticker".into(),
            AttachmentKind::Location => "📍 Location".into(),
            AttachmentKind::Contact => {
                format!("👤 {}", self.contact.as_ref().map_or("Contact", |c| c.name.as_str()))
            }
        }
    }

    /// Whether a browser may show the bytes in the page (an `<img>`, `<audio>`, `<video>`);
    /// anything else is only ever downloaded.
    pub fn inline(&self) -> bool {
        inline_safe(&self.mime_type)
    }
}

/// `m:ss` (or `h:mm:ss`) for a length in milliseconds.
pub fn clock(ms: u64) -> String {
    let secs = ms.div_ceil(1000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// A file size as people read it: `812 B`, `14 KB`, `3.2 MB`. Integer arithmetic only: the
/// browser bundle carries no float formatting for it.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    // One decimal, rounded: tenths of the unit.
    let tenths = |unit: u64| (bytes * 10 + unit / 2) / unit;
    if bytes < KB {
        format!("{bytes} B")
    } else if bytes < KB * KB {
        format!("{} KB", (bytes + KB / 2) / KB)
    } else if bytes < KB * KB * KB {
        let t = tenths(KB * KB);
        format!("{}.{} MB", t / 10, t % 10)
    } else {
        let t = tenths(KB * KB * KB);
        format!("{}.{} GB", t / 10, t % 10)
    }
}

/// What an upload stored: the attachment, not yet part of any message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upload {
    #[serde(flatten)]
    pub attachment: Attachment,
    pub workspace_id: WorkspaceId,
    /// Set once a send used it; an upload goes into one message only.
    pub message_id: Option<MessageId>,
    pub created_at: DateTime<Utc>,
}

/// The MIME types a browser may render in the page. Everything else (HTML, SVG, scripts, PDFs,
/// archives) is served as a download, so an uploaded file can never run in our origin.
pub fn inline_safe(mime: &str) -> bool {
    matches!(
        mime,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "audio/ogg"
            | "audio/mpeg"
            | "audio/wav"
            | "audio/mp4"
            | "audio/webm"
            | "video/mp4"
            | "video/webm"
    )
}

/// What the first bytes of a file say it is. `None`: a type we do not take (an executable,
/// an unknown binary).
///
/// Text is accepted as `text/plain` whatever it holds: an uploaded HTML page or SVG drawing
/// is stored as plain text and only ever downloaded.
pub fn sniff(head: &[u8], file_name: &str) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if starts(b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some("image/gif");
    }
    if starts(b"RIFF") && at(8, b"WEBP") {
        return Some("image/webp");
    }
    if starts(b"RIFF") && at(8, b"WAVE") {
        return Some("audio/wav");
    }
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if starts(b"OggS") {
        return Some("audio/ogg");
    }
    if starts(b"ID3") || (head.len() > 1 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        return Some("audio/mpeg");
    }
    if at(4, b"ftyp") {
        let brand = head.get(8..12).unwrap_or_default();
        return Some(if brand == b"M4A " || brand == b"M4B " { "audio/mp4" } else { "video/mp4" });
    }
    if starts(b"\x1a\x45\xdf\xa3") {
        return Some(if ext == "weba" { "audio/webm" } else { "video/webm" });
    }
    if starts(b"PK\x03\x04") {
        return Some(match ext.as_str() {
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "odt" => "application/vnd.oasis.opendocument.text",
            "ods" => "application/vnd.oasis.opendocument.spreadsheet",
            _ => "application/zip",
        });
    }
    if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        return Some(match ext.as_str() {
            "xls" => "application/vnd.ms-excel",
            "ppt" => "application/vnd.ms-powerpoint",
            _ => "application/msword",
        });
    }
    if looks_like_text(head) {
        return Some(match ext.as_str() {
            "csv" => "text/csv",
            _ => "text/plain",
        });
    }
    None
}

/// UTF-8 (a character may be cut at the end of the head) with no control bytes besides
/// whitespace.
fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => head.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return false,
    };
    head[..valid].iter().all(|&b| b >= 0x20 || matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
}

/// An image's width and height, read from its header (PNG, JPEG, GIF, WebP).
pub fn image_dimensions(mime: &str, head: &[u8]) -> Option<(u32, u32)> {
    let be16 = |i: usize| head.get(i..i + 2).map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])));
    let le16 = |i: usize| head.get(i..i + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])));
    let le24 = |i: usize| head.get(i..i + 3).map(|b| u32::from_le_bytes([b[0], b[1], b[2], 0]));
    let be32 = |i: usize| head.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let dims = match mime {
        "image/png" if head.get(12..16) == Some(&b"IHDR"[..]) => (be32(16)?, be32(20)?),
        "image/gif" => (le16(6)?, le16(8)?),
        "image/webp" => match head.get(12..16)? {
            b"VP8 " => (le16(26)? & 0x3fff, le16(28)? & 0x3fff),
            b"VP8L" => {
                let b = head.get(21..25)?;
                let bits = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                ((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1)
            }
            b"VP8X" => (le24(24)? + 1, le24(27)? + 1),
            _ => return None,
        },
        "image/jpeg" => {
            // Walk the segments to the first start-of-frame marker.
            let mut i = 2;
            loop {
                if *head.get(i)? != 0xff {
                    return None;
                }
                let marker = *head.get(i + 1)?;
                if marker == 0xff {
                    i += 1;
                    continue;
                }
                let is_sof = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
                if is_sof {
                    break (be16(i + 7)?, be16(i + 5)?);
                }
                i += 2 + usize::try_from(be16(i + 2)?).ok()?;
            }
        }
        _ => return None,
    };
    (dims.0 > 0 && dims.1 > 0).then_some(dims)
}

/// A PCM WAV file's length in milliseconds, from its header and its size.
pub fn wav_duration_ms(head: &[u8], size: u64) -> Option<u64> {
    let le32 = |i: usize| head.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if head.get(12..16) != Some(&b"fmt "[..]) {
        return None;
    }
    let byte_rate = u64::from(le32(28)?);
    // The data chunk follows the format chunk (after any others, which we skip).
    let mut i = 20 + usize::try_from(le32(16)?).ok()?;
    loop {
        let id = head.get(i..i + 4)?;
        let len = u64::from(le32(i + 4)?);
        if id == b"data" {
            let data = len.min(size.saturating_sub(i as u64 + 8));
            return (byte_rate > 0).then(|| data * 1000 / byte_rate);
        }
        // Chunks are padded to an even length.
        i += 8 + usize::try_from(len + (len & 1)).ok()?;
    }
}

/// A file name safe to keep and to send back in a header: the last path segment, no control
/// characters or quotes, at most [`MAX_FILE_NAME_BYTES`]; `fallback` when nothing is left.
pub fn file_name(raw: Option<&str>, fallback: &str) -> String {
    let last = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        last.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '\u{202e}' | '\u{202d}')).collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() {
        return fallback.to_owned();
    }
    let mut end = trimmed.len().min(MAX_FILE_NAME_BYTES);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    trimmed[..end].to_owned()
}

/// The file name an upload gets when none was given: `image.png`, `file.pdf`, …
pub fn default_file_name(mime: &str) -> String {
    let ext = match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/wav" => "wav",
        "audio/mp4" => "m4a",
        "audio/webm" => "weba",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "text/csv" => "csv",
        "text/plain" => "txt",
        _ => "bin",
    };
    let stem = match AttachmentKind::of_mime(mime) {
        AttachmentKind::Image => "image",
        AttachmentKind::Video => "video",
        AttachmentKind::Audio => "audio",
        _ => "file",
    };
    format!("{stem}.{ext}")
}

/// Checks the attachments a send names: at most [`MAX_ATTACHMENTS`], each once.
pub fn attachment_ids(ids: &[AttachmentId]) -> Result<Vec<AttachmentId>, ValidationError> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(ValidationError::new(
            "attachments",
            format!("A message carries at most {MAX_ATTACHMENTS} attachments."),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(ValidationError::new("attachments", format!("names {twice} twice")));
    }
    Ok(ids.to_vec())
}

#[cfg(test)]
mod tests;
