//! Uploads and attachments in the store: what the media routes and the garbage collector need.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::ids::{UserId, WorkspaceId};

/// A stored upload to record: its bytes are in the blob store under `blob_key`.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub attachment: crate::media::Attachment,
    pub workspace_id: WorkspaceId,
    pub uploaded_by: UserId,
    pub blob_key: Option<String>,
    pub thumb_key: Option<String>,
}

/// Where an attachment's bytes are, for serving them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMedia {
    pub attachment: crate::media::Attachment,
    pub workspace_id: WorkspaceId,
    pub blob_key: Option<String>,
    pub thumb_key: Option<String>,
}

/// Uploads and attachments: what the media routes and the garbage collector need.
#[async_trait]
pub trait MediaRepo: Send + Sync {
    /// Records an upload (no message yet).
    async fn put_upload(&self, upload: NewUpload) -> Result<crate::media::Upload, StoreError>;
    /// An upload or attachment of the workspace.
    async fn upload(
        &self,
        workspace_id: WorkspaceId,
        id: crate::ids::AttachmentId,
    ) -> Result<Option<crate::media::Upload>, StoreError>;
    /// An attachment whose bytes may be served: not deleted with its message. The caller
    /// has proven the right to it (a signed link names the id).
    async fn media(&self, id: crate::ids::AttachmentId) -> Result<Option<StoredMedia>, StoreError>;
    /// Forgets attachments whose messages were deleted and uploads no message took before
    /// `unattached_before`; returns the blob keys no attachment refers to any more, for the
    /// caller to delete from the blob store.
    async fn collect_media(&self, unattached_before: DateTime<Utc>) -> Result<Vec<String>, StoreError>;
    /// The workspace's own upload limit in bytes, if it has one.
    async fn upload_limit(&self, workspace_id: WorkspaceId) -> Result<Option<u64>, StoreError>;
    /// Sets (or, with `None`, clears) the workspace's upload limit; `NotFound` for no workspace.
    async fn set_upload_limit(&self, workspace_id: WorkspaceId, limit: Option<u64>)
    -> Result<(), StoreError>;
}
