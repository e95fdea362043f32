//! Uploads and attachments: recording an upload, reading one back, finding an attachment's
//! bytes for the media route, and the garbage collector's sweep. Sends attach uploads in their
//! own write (`sends.rs`); inbound media is recorded with its message (`ingest.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Transaction, Type};
use switchboard::media::{Attachment, Upload};
use switchboard::store::{MediaRepo, NewUpload, StoreError, StoredMedia};
use switchboard::{AttachmentId, MessageId, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, Params, SqlStore};
use super::map_err;

/// The columns of an attachment row, in [`AttachmentRow`]'s order.
macro_rules! attachment_columns {
    () => {
        "attachment_id, workspace_id, uploaded_by, message_id, kind, mime_type, size_bytes, file_name, \
         width, height, duration_ms, blob_key, thumb_key, state, created_at, deleted_at"
    };
}

#[derive(sqlx::FromRow)]
pub(crate) struct AttachmentRow {
    pub attachment_id: Uuid,
    pub workspace_id: Uuid,
    pub uploaded_by: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub kind: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub file_name: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub blob_key: Option<String>,
    pub thumb_key: Option<String>,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl AttachmentRow {
    pub(crate) fn attachment(&self) -> Result<Attachment, StoreError> {
        let dim = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        Ok(Attachment {
            id: self.attachment_id.into(),
            kind: self.kind.parse().map_err(StoreError::Internal)?,
            mime_type: self.mime_type.clone(),
            size: u64::try_from(self.size_bytes).unwrap_or_default(),
            file_name: self.file_name.clone(),
            width: dim(self.width),
            height: dim(self.height),
            duration_ms: self.duration_ms.and_then(|v| u64::try_from(v).ok()),
            has_thumbnail: self.thumb_key.is_some(),
            state: self.state.parse().map_err(StoreError::Internal)?,
            location: None,
            contact: None,
            url: None,
            thumbnail_url: None,
        })
    }

    fn upload(&self) -> Result<Upload, StoreError> {
        Ok(Upload {
            attachment: self.attachment()?,
            workspace_id: self.workspace_id.into(),
            message_id: self.message_id.map(Into::into),
            created_at: self.created_at,
        })
    }

    /// Whether a send by `sender` in `workspace` may take it: theirs, unused, not deleted.
    pub(crate) fn free_for(&self, workspace: WorkspaceId, sender: UserId) -> bool {
        self.workspace_id == workspace.as_uuid()
            && self.uploaded_by == Some(sender.as_uuid())
            && self.message_id.is_none()
            && self.deleted_at.is_none()
    }
}

/// The metadata a message row keeps of its attachments (JSON; null for none).
pub(crate) fn attachments_json(attachments: &[Attachment]) -> Option<String> {
    if attachments.is_empty() {
        return None;
    }
    let stored: Vec<Attachment> =
        attachments.iter().map(|a| Attachment { url: None, thumbnail_url: None, ..a.clone() }).collect();
    Some(serde_json::to_string(&stored).expect("attachments serialize"))
}

impl<D: Backend> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    bool: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    Option<i64>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    /// The attachment rows with these ids, inside `tx`.
    pub(crate) async fn attachment_rows(
        tx: &mut Transaction<'static, D>,
        ids: &[AttachmentId],
    ) -> Result<Vec<AttachmentRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            concat!("select ", attachment_columns!(), " from attachment where attachment_id in ({})"),
            Params::new(D::KIND).list(ids.len())
        );
        let mut query = sqlx::query_as::<_, AttachmentRow>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id.as_uuid());
        }
        query.fetch_all(&mut **tx).await.map_err(map_err)
    }

    /// Gives each upload its message, inside `tx` (one statement for a whole group).
    pub(crate) async fn attach(
        tx: &mut Transaction<'static, D>,
        taken: &[(AttachmentId, MessageId)],
    ) -> Result<(), StoreError> {
        if taken.is_empty() {
            return Ok(());
        }
        let mut p = Params::new(D::KIND);
        let cases: Vec<String> =
            taken.iter().map(|_| format!("when {} then {}", p.next(), p.next())).collect();
        let sql = format!(
            "update attachment set message_id = case attachment_id {} end
             where message_id is null and attachment_id in ({})",
            cases.join(" "),
            p.list(taken.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (attachment, message) in taken {
            query = query.bind(attachment.as_uuid()).bind(message.as_uuid());
        }
        for (attachment, _) in taken {
            query = query.bind(attachment.as_uuid());
        }
        let done = query.execute(&mut **tx).await.map_err(map_err)?;
        if super::backend::RowsAffected::rows_affected(&done) != taken.len() as u64 {
            return Err(StoreError::Conflict { constraint: "attachments".into() });
        }
        Ok(())
    }

    /// Records attachments that arrive with a message (inbound media), inside `tx`.
    pub(crate) async fn insert_attachments(
        tx: &mut Transaction<'static, D>,
        workspace_id: WorkspaceId,
        message_id: Option<MessageId>,
        uploaded_by: Option<UserId>,
        rows: &[(Attachment, Option<String>, Option<String>)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (attachment, blob_key, thumb_key) in rows {
            sqlx::query(
                "insert into attachment (attachment_id, workspace_id, uploaded_by, message_id, kind, mime_type,
                                         size_bytes, file_name, width, height, duration_ms, blob_key, thumb_key,
                                         state, created_at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(attachment.id.as_uuid())
            .bind(workspace_id.as_uuid())
            .bind(uploaded_by.map(|u| u.as_uuid()))
            .bind(message_id.map(|m| m.as_uuid()))
            .bind(attachment.kind.as_str())
            .bind(&attachment.mime_type)
            .bind(i64::try_from(attachment.size).unwrap_or(i64::MAX))
            .bind(&attachment.file_name)
            .bind(attachment.width.map(i64::from))
            .bind(attachment.height.map(i64::from))
            .bind(attachment.duration_ms.and_then(|d| i64::try_from(d).ok()))
            .bind(blob_key)
            .bind(thumb_key)
            .bind(attachment.state.as_str())
            .bind(at)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }
}

#[async_trait]
impl<D: Backend> MediaRepo for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    bool: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Uuid>: Bind<D>,
    Option<String>: Bind<D>,
    Option<i64>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn put_upload(&self, upload: NewUpload) -> Result<Upload, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let row = (upload.attachment.clone(), upload.blob_key.clone(), upload.thumb_key.clone());
        Self::insert_attachments(
            &mut tx,
            upload.workspace_id,
            None,
            Some(upload.uploaded_by),
            std::slice::from_ref(&row),
            at,
        )
        .await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Upload {
            attachment: upload.attachment,
            workspace_id: upload.workspace_id,
            message_id: None,
            created_at: at,
        })
    }

    async fn upload(
        &self,
        workspace_id: WorkspaceId,
        id: AttachmentId,
    ) -> Result<Option<Upload>, StoreError> {
        let row: Option<AttachmentRow> = sqlx::query_as(concat!(
            "select ",
            attachment_columns!(),
            " from attachment where attachment_id = $1 and workspace_id = $2 and deleted_at is null"
        ))
        .bind(id.as_uuid())
        .bind(workspace_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| r.upload()).transpose()
    }

    async fn media(&self, id: AttachmentId) -> Result<Option<StoredMedia>, StoreError> {
        let row: Option<AttachmentRow> = sqlx::query_as(concat!(
            "select ",
            attachment_columns!(),
            " from attachment where attachment_id = $1 and deleted_at is null"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(StoredMedia {
                attachment: r.attachment()?,
                workspace_id: r.workspace_id.into(),
                blob_key: r.blob_key,
                thumb_key: r.thumb_key,
            })
        })
        .transpose()
    }

    async fn upload_limit(&self, workspace_id: WorkspaceId) -> Result<Option<u64>, StoreError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("select max_upload_bytes from workspace where workspace_id = $1")
                .bind(workspace_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(row.and_then(|(limit,)| limit).and_then(|l| u64::try_from(l).ok()))
    }

    async fn set_upload_limit(
        &self,
        workspace_id: WorkspaceId,
        limit: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("update workspace set max_upload_bytes = $2 where workspace_id = $1")
            .bind(workspace_id.as_uuid())
            .bind(limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if super::backend::RowsAffected::rows_affected(&done) == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(map_err)
    }

    async fn collect_media(&self, unattached_before: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut tx = self.begin_write().await?;
        let dead: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
            "delete from attachment
             where deleted_at is not null or (message_id is null and created_at < $1)
             returning blob_key, thumb_key",
        )
        .bind(unattached_before)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let mut keys: Vec<String> = dead.into_iter().flat_map(|(b, t)| [b, t]).flatten().collect();
        keys.sort_unstable();
        keys.dedup();
        let mut unreferenced = Vec::with_capacity(keys.len());
        for key in keys {
            let (still,): (i64,) =
                sqlx::query_as("select count(*) from attachment where blob_key = $1 or thumb_key = $1")
                    .bind(&key)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
            if still == 0 {
                unreferenced.push(key);
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(unreferenced)
    }
}
