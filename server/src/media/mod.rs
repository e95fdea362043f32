//! Media: uploads streamed into the blob store, the attachments' signed links, serving their
//! bytes, thumbnails, and the garbage collector.
//!
//! An upload is streamed to a staging file while its size is counted (refused past the
//! limit, with nothing kept), its bytes hashed and its head kept for sniffing. Only when the
//! whole body arrived is its type told from the bytes, an image's size read from its header
//! and a thumbnail made; then the file moves into the blob store under its hash and the
//! upload is recorded. A send names uploads by id (`sends.rs` attaches them in its write).

pub mod blob;
pub mod links;
pub mod s3;
mod thumbnail;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use switchboard::media::{self as model, Attachment, AttachmentKind, MediaState, Upload};
use switchboard::store::{NewUpload, StoredMedia};
use switchboard::validate::ValidationError;
use switchboard::{AttachmentId, Store, StoreError};
use tokio::io::AsyncWriteExt;

pub use blob::{BlobRead, BlobStore, LocalBlobs};
pub use links::{LinkRefusal, MediaLinks, Variant};
pub use s3::{S3Blobs, S3Config};

use crate::services::Actor;

/// The smallest and largest per-workspace upload limits (1 KiB, 2 GiB).
pub const MIN_UPLOAD_LIMIT: u64 = 1024;
pub const MAX_UPLOAD_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// How long an upload may wait for a send before the collector takes it.
pub const UNATTACHED_TTL: Duration = Duration::from_secs(24 * 3600);

/// The media settings.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// Largest upload per file, unless the workspace has its own limit.
    pub max_upload_bytes: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self { max_upload_bytes: model::DEFAULT_MAX_UPLOAD_BYTES }
    }
}

/// Why a media request was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("The file is larger than this workspace's limit of {shown} ({limit} bytes).")]
    TooLarge { limit: u64, shown: String },
    #[error(
        "Files of this type are not accepted ({what}): send photos, audio, video, PDFs, office documents or text."
    )]
    Unsupported { what: String },
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("The upload was cut off: {0}")]
    Interrupted(String),
    #[error("attachment not found")]
    NotFound,
    #[error("Only owners and admins change the workspace's media settings.")]
    Forbidden,
    #[error("The link has expired; reload to get a fresh one.")]
    Expired,
    #[error("The link's signature does not match.")]
    BadSignature,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
}

/// What an upload says of itself besides its bytes.
#[derive(Clone, Debug, Default)]
pub struct UploadMeta {
    pub file_name: Option<String>,
    /// What the uploader wants it shown as (`voice` for a recorded note, …).
    pub kind: Option<AttachmentKind>,
    /// The length a recorder measured (audio and video), when the bytes do not tell.
    pub duration_ms: Option<u64>,
}

/// A file staged and described, not yet in the blob store.
struct Staged {
    path: PathBuf,
    key: String,
    attachment: Attachment,
}

/// Removes a staging file unless it was handed on.
struct StagingGuard(Option<PathBuf>);

impl Drop for StagingGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Uploads, links, serving and collection.
pub struct MediaService {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    links: MediaLinks,
    config: MediaConfig,
    /// Held (shared) from storing a blob until the row that refers to it is committed; the
    /// collector holds it alone for a sweep, so it never deletes a blob a row is about to name.
    /// (One node's writers; across nodes the blob store's modification times guard.)
    sweep: Arc<tokio::sync::RwLock<()>>,
}

/// A hold on the collector: while any is held, no sweep runs. Keep it until the rows that name
/// the blobs just stored are committed.
pub type SweepHold = tokio::sync::OwnedRwLockReadGuard<()>;

impl std::fmt::Debug for MediaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaService").field("config", &self.config).finish_non_exhaustive()
    }
}

impl MediaService {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        links: MediaLinks,
        config: MediaConfig,
    ) -> Self {
        Self { store, blobs, links, config, sweep: Arc::new(tokio::sync::RwLock::new(())) }
    }

    /// Keeps the collector away until dropped (see [`SweepHold`]).
    pub async fn hold(&self) -> SweepHold {
        self.sweep.clone().read_owned().await
    }

    pub fn links(&self) -> &MediaLinks {
        &self.links
    }

    /// The largest file the server takes (a workspace may set its own).
    pub fn default_limit(&self) -> u64 {
        self.config.max_upload_bytes
    }

    /// The largest file the workspace takes: its own limit, else the server's.
    pub async fn limit(&self, workspace_id: switchboard::WorkspaceId) -> Result<u64, MediaError> {
        Ok(self.store.upload_limit(workspace_id).await?.unwrap_or(self.config.max_upload_bytes))
    }

    /// Sets the workspace's own limit (owners and admins), or clears it with `None`.
    pub async fn set_limit(&self, actor: Actor, limit: Option<u64>) -> Result<u64, MediaError> {
        if !actor.role.is_admin() {
            return Err(MediaError::Forbidden);
        }
        if let Some(limit) = limit
            && !(MIN_UPLOAD_LIMIT..=MAX_UPLOAD_LIMIT).contains(&limit)
        {
            return Err(ValidationError::new(
                "max_upload_bytes",
                format!(
                    "must be {MIN_UPLOAD_LIMIT} to {MAX_UPLOAD_LIMIT} bytes, or null for the server's limit"
                ),
            )
            .into());
        }
        self.store.set_upload_limit(actor.workspace_id, limit).await?;
        self.limit(actor.workspace_id).await
    }

    /// Streams an upload into the blob store and records it for the caller.
    pub async fn upload<S, E>(&self, actor: Actor, body: S, meta: UploadMeta) -> Result<Upload, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let limit = self.limit(actor.workspace_id).await?;
        let _hold = self.hold().await;
        let staged = self.stage(body, &meta, limit).await?;
        let mut guard = StagingGuard(Some(staged.path.clone()));
        let mut attachment = staged.attachment;
        let thumb_key = match thumbnail::worth_one(&attachment) {
            true => self.store_thumbnail(&staged.path, &staged.key).await,
            false => None,
        };
        attachment.has_thumbnail = thumb_key.is_some();
        self.blobs.put_file(&staged.key, &staged.path).await?;
        guard.0 = None;
        let upload = self
            .store
            .put_upload(NewUpload {
                attachment,
                workspace_id: actor.workspace_id,
                uploaded_by: actor.user_id,
                blob_key: Some(staged.key),
                thumb_key,
            })
            .await?;
        tracing::info!(attachment_id = %upload.attachment.id, size = upload.attachment.size, mime = %upload.attachment.mime_type, "upload stored");
        let mut upload = upload;
        self.links.sign(std::slice::from_mut(&mut upload.attachment));
        Ok(upload)
    }

    /// Media a network delivered (bytes already fetched), stored like an upload; the
    /// attachment and its blob keys, for the inbound message that carries it. Call it under a
    /// [`hold`](Self::hold) kept until that message is recorded.
    pub async fn store_received(
        &self,
        workspace_id: switchboard::WorkspaceId,
        bytes: Bytes,
        meta: UploadMeta,
    ) -> Result<(Attachment, Option<String>, Option<String>), MediaError> {
        let body = futures_util::stream::iter([Ok::<Bytes, std::convert::Infallible>(bytes)]);
        let staged = self.stage(body, &meta, self.limit(workspace_id).await?).await?;
        let mut guard = StagingGuard(Some(staged.path.clone()));
        let mut attachment = staged.attachment;
        let thumb_key = match thumbnail::worth_one(&attachment) {
            true => self.store_thumbnail(&staged.path, &staged.key).await,
            false => None,
        };
        attachment.has_thumbnail = thumb_key.is_some();
        self.blobs.put_file(&staged.key, &staged.path).await?;
        guard.0 = None;
        Ok((attachment, Some(staged.key), thumb_key))
    }

    /// Writes the body to a staging file, counting, hashing and keeping its head.
    async fn stage<S, E>(&self, body: S, meta: &UploadMeta, limit: u64) -> Result<Staged, MediaError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let path = self.blobs.staging_dir().join(uuid::Uuid::now_v7().simple().to_string());
        let mut guard = StagingGuard(Some(path.clone()));
        let mut file = tokio::fs::File::create(&path).await?;
        let mut hasher = Sha256::new();
        let mut head: Vec<u8> = Vec::with_capacity(4096);
        let mut size: u64 = 0;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| MediaError::Interrupted(e.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(MediaError::TooLarge { limit, shown: model::human_size(limit) });
            }
            if head.len() < model::SNIFF_BYTES {
                let take = (model::SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        if size == 0 {
            return Err(ValidationError::new("file", "is empty").into());
        }
        file.sync_all().await?;
        drop(file);

        let given_name = meta.file_name.as_deref();
        let mime = model::sniff(&head, given_name.unwrap_or_default())
            .ok_or_else(|| MediaError::Unsupported { what: model::file_name(given_name, "this file") })?;
        // A recorder's voice note or audio clip in a video container is audio.
        let mime = match (mime, meta.kind) {
            ("video/webm", Some(AttachmentKind::Voice | AttachmentKind::Audio)) => "audio/webm",
            ("video/mp4", Some(AttachmentKind::Voice | AttachmentKind::Audio)) => "audio/mp4",
            (mime, _) => mime,
        };
        let kind = AttachmentKind::for_upload(mime, meta.kind)?;
        let (width, height) = match model::image_dimensions(mime, &head) {
            Some((w, h)) if matches!(kind, AttachmentKind::Image | AttachmentKind::Sticker) => {
                (Some(w), Some(h))
            }
            _ => (None, None),
        };
        let duration_ms = match (mime, kind) {
            ("audio/wav", _) => model::wav_duration_ms(&head, size),
            (_, AttachmentKind::Audio | AttachmentKind::Voice | AttachmentKind::Video) => {
                meta.duration_ms.filter(|&d| d <= model::MAX_DURATION_MS)
            }
            _ => None,
        };
        let attachment = Attachment {
            id: AttachmentId::new(),
            kind,
            mime_type: mime.to_owned(),
            size,
            file_name: model::file_name(given_name, &model::default_file_name(mime)),
            width,
            height,
            duration_ms,
            has_thumbnail: false,
            state: MediaState::Ready,
            location: None,
            contact: None,
            url: None,
            thumbnail_url: None,
        };
        guard.0 = None;
        Ok(Staged { path, key: hex::encode(hasher.finalize()), attachment })
    }

    /// Makes and stores an image's thumbnail; `None` (logged) when the image does not decode.
    async fn store_thumbnail(&self, staged: &std::path::Path, key: &str) -> Option<String> {
        let source = staged.to_owned();
        let made = tokio::task::spawn_blocking(move || thumbnail::make(&source)).await;
        let jpeg = match made {
            Ok(Ok(jpeg)) => jpeg,
            Ok(Err(why)) => {
                tracing::info!(%why, "no thumbnail: the image does not decode");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "thumbnail task failed");
                return None;
            }
        };
        let thumb_key = format!("{key}.thumb");
        let path = self.blobs.staging_dir().join(uuid::Uuid::now_v7().simple().to_string());
        let _guard = StagingGuard(Some(path.clone()));
        let stored = async {
            tokio::fs::write(&path, &jpeg).await?;
            self.blobs.put_file(&thumb_key, &path).await
        };
        match stored.await {
            Ok(()) => Some(thumb_key),
            Err(e) => {
                tracing::warn!(error = %e, "thumbnail not stored");
                None
            }
        }
    }

    /// The attachment a link names, once its signature and expiry hold.
    pub async fn resolve(
        &self,
        id: AttachmentId,
        variant: Variant,
        exp: i64,
        sig: &str,
    ) -> Result<StoredMedia, MediaError> {
        let now = chrono::Utc::now().timestamp();
        self.links.check(id, variant, exp, sig, now).map_err(|r| match r {
            LinkRefusal::Expired => MediaError::Expired,
            LinkRefusal::BadSignature => MediaError::BadSignature,
        })?;
        let media = self.store.media(id).await?.ok_or(MediaError::NotFound)?;
        let key = match variant {
            Variant::File => media.blob_key.as_ref(),
            Variant::Thumbnail => media.thumb_key.as_ref(),
        };
        if key.is_none() || media.attachment.state != MediaState::Ready {
            return Err(MediaError::NotFound);
        }
        Ok(media)
    }

    /// Reads a blob (a range of it).
    pub async fn read(&self, key: &str, start: u64, len: Option<u64>) -> Result<BlobRead, MediaError> {
        match self.blobs.open(key, start, len).await {
            Ok(read) => Ok(read),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(MediaError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// A blob's length in bytes.
    pub async fn size(&self, key: &str) -> Result<u64, MediaError> {
        match self.blobs.size(key).await {
            Ok(size) => Ok(size),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(MediaError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// A whole blob in memory (an outbound attachment for a network's upload call).
    pub async fn bytes(&self, key: &str) -> Result<Bytes, MediaError> {
        let mut read = self.read(key, 0, None).await?;
        let mut out = Vec::with_capacity(usize::try_from(read.total).unwrap_or(0));
        while let Some(chunk) = read.body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.into())
    }

    /// The attachments of an outbound message with their bytes, for the network's send.
    pub async fn outbound(
        &self,
        attachments: &[Attachment],
    ) -> Result<Vec<switchboard::provider::OutboundMedia>, MediaError> {
        let mut out = Vec::with_capacity(attachments.len());
        for attachment in attachments {
            let stored = self.store.media(attachment.id).await?.ok_or(MediaError::NotFound)?;
            let bytes = match &stored.blob_key {
                Some(key) => self.bytes(key).await?.to_vec(),
                None => Vec::new(),
            };
            out.push(switchboard::provider::OutboundMedia { attachment: attachment.clone(), bytes });
        }
        Ok(out)
    }

    /// One sweep of the garbage collector: forgets deleted messages' attachments and uploads
    /// no send took within [`UNATTACHED_TTL`], then deletes the blobs nothing refers to (a blob
    /// stored again since the sweep began is spared). Returns how many blobs were deleted.
    pub async fn collect_garbage(&self) -> Result<usize, MediaError> {
        let _sweep = self.sweep.write().await;
        let began = SystemTime::now();
        let cutoff = switchboard::time::now()
            - chrono::Duration::from_std(UNATTACHED_TTL).expect("the TTL fits a chrono duration");
        let keys = self.store.collect_media(cutoff).await?;
        let mut deleted = 0;
        for key in keys {
            match self.blobs.delete_if_idle(&key, began).await {
                Ok(true) => deleted += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "a blob could not be deleted; the next sweep tries again")
                }
            }
        }
        if deleted > 0 {
            tracing::info!(deleted, "media garbage collected");
        }
        Ok(deleted)
    }
}

/// Runs the collector every `every` until the process ends.
pub async fn collect_forever(media: Arc<MediaService>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = media.collect_garbage().await {
            tracing::warn!(error = %e, "media garbage collection failed; trying again later");
        }
    }
}
