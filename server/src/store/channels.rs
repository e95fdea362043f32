//! Channels: the workspace's connected accounts, their status and sealed credentials.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::store::{ChannelRepo, StoreError};
use switchboard::{Channel, ChannelId, ChannelStatus, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::map_err;
use super::rows::{self, channel_columns};

#[async_trait]
impl<D: Backend> ChannelRepo for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'a> &'a str: ColumnIndex<D::Row> + Encode<'a, D>,
    str: Type<D>,
    usize: ColumnIndex<D::Row>,
    Uuid: Column<D>,
    String: Column<D>,
    i64: Column<D>,
    i32: Column<D>,
    DateTime<Utc>: Column<D>,
    Json<Value>: Column<D>,
    Option<Vec<u8>>: Column<D>,
    Option<String>: Bind<D>,
    for<'a> Option<&'a str>: Encode<'a, D>,
    Option<Json<Value>>: Bind<D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn create_channel(&self, channel: Channel) -> Result<Channel, StoreError> {
        sqlx::query(
            "insert into channel (channel_id, workspace_id, provider, name, status, config, last_error, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(channel.id.as_uuid())
        .bind(channel.workspace_id.as_uuid())
        .bind(channel.provider.as_str())
        .bind(&channel.name)
        .bind(channel.status.as_str())
        .bind(Json(&channel.config))
        .bind(&channel.last_error)
        .bind(channel.created_at)
        .bind(channel.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(channel)
    }

    async fn channel(&self, workspace_id: WorkspaceId, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        let row: Option<rows::ChannelRow> = sqlx::query_as(concat!(
            "select ",
            channel_columns!(),
            "
             from channel where workspace_id = $1 and channel_id = $2"
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn channels(&self, workspace_id: WorkspaceId) -> Result<Vec<Channel>, StoreError> {
        let rows: Vec<rows::ChannelRow> = sqlx::query_as(concat!(
            "select ",
            channel_columns!(),
            "
             from channel where workspace_id = $1 order by channel_id"
        ))
        .bind(workspace_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_channel(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        name: Option<String>,
        config: Option<Value>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Channel, StoreError> {
        let row: Option<rows::ChannelRow> = sqlx::query_as(concat!(
            "update channel set name = coalesce($3, name), config = coalesce($4, config), updated_at = $5
             where workspace_id = $1 and channel_id = $2
             returning ",
            channel_columns!()
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(name)
        .bind(config.map(Json))
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    async fn delete_channel(&self, workspace_id: WorkspaceId, id: ChannelId) -> Result<bool, StoreError> {
        let done = sqlx::query("delete from channel where workspace_id = $1 and channel_id = $2")
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_channel_status(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        status: ChannelStatus,
        last_error: Option<String>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Channel, StoreError> {
        let mut tx = self.begin_write().await?;
        // Not a change: no write and no event (runtimes re-assert their status freely).
        let current: Option<rows::ChannelRow> = sqlx::query_as(concat!(
            "select ",
            channel_columns!(),
            " from channel where workspace_id = $1 and channel_id = $2"
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let current: Channel = current.ok_or(StoreError::NotFound)?.try_into()?;
        if current.status == status && current.last_error == last_error {
            tx.rollback().await.map_err(map_err)?;
            return Ok(current);
        }
        let row: Option<rows::ChannelRow> = sqlx::query_as(concat!(
            "update channel set status = $3, last_error = $4, updated_at = $5
             where workspace_id = $1 and channel_id = $2
             returning ",
            channel_columns!()
        ))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(status.as_str())
        .bind(last_error)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let channel: Channel = row.ok_or(StoreError::NotFound)?.try_into()?;
        // The change is an event on the workspace's inbox topic, in the same transaction.
        let body = switchboard::EventBody::ChannelStatus(switchboard::event::ChannelStatusChanged {
            channel_id: channel.id,
            status: channel.status,
            last_error: channel.last_error.clone(),
        });
        let topic = switchboard::Topic::Inbox(workspace_id);
        let event = Self::append_event(&mut tx, workspace_id, topic, body, None, at).await?;
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(std::slice::from_ref(&event));
        Ok(channel)
    }

    async fn set_channel_credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
        sealed: Option<Vec<u8>>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            // New credentials may be another account's: where reading stopped no longer applies.
            "update channel set credentials = $3, poll_cursor = null, updated_at = $4
             where workspace_id = $1 and channel_id = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(sealed)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn channel_credentials(
        &self,
        workspace_id: WorkspaceId,
        id: ChannelId,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Option<Vec<u8>>,)> =
            sqlx::query_as("select credentials from channel where workspace_id = $1 and channel_id = $2")
                .bind(workspace_id.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(|(c,)| c).ok_or(StoreError::NotFound)
    }

    async fn channel_for_webhook(&self, id: ChannelId) -> Result<Option<Channel>, StoreError> {
        let row: Option<rows::ChannelRow> =
            sqlx::query_as(concat!("select ", channel_columns!(), " from channel where channel_id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn channels_with_status(&self, statuses: &[ChannelStatus]) -> Result<Vec<Channel>, StoreError> {
        let mut out = Vec::new();
        for status in statuses {
            let rows: Vec<rows::ChannelRow> = sqlx::query_as(concat!(
                "select ",
                channel_columns!(),
                "
                 from channel where status = $1"
            ))
            .bind(status.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
            for row in rows {
                out.push(row.try_into()?);
            }
        }
        out.sort_by_key(|c: &Channel| c.id);
        Ok(out)
    }

    async fn channel_cursor(&self, id: ChannelId) -> Result<Option<String>, StoreError> {
        let found: Option<(Option<String>,)> =
            sqlx::query_as("select poll_cursor from channel where channel_id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(found.and_then(|(c,)| c))
    }

    async fn set_channel_cursor(&self, id: ChannelId, cursor: &str) -> Result<(), StoreError> {
        sqlx::query("update channel set poll_cursor = $2 where channel_id = $1")
            .bind(id.as_uuid())
            .bind(cursor)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn set_history_import(
        &self,
        id: ChannelId,
        progress: &switchboard::channel::HistoryImport,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(progress).map_err(|e| StoreError::Internal(e.to_string()))?;
        sqlx::query("update channel set history_import = $2 where channel_id = $1")
            .bind(id.as_uuid())
            .bind(json)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
