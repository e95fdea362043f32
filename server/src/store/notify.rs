//! Notification settings and push subscriptions (`/api/v1/me/notification-settings`,
//! `/api/v1/me/push-subscriptions`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::UserId;
use switchboard::notify::{NotificationSettings, PushKeys, PushSubscription};
use switchboard::store::{NotifyRepo, StoreError};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::map_err;

#[async_trait]
impl<D: Backend> NotifyRepo for SqlStore<D>
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
    for<'a> Option<&'a str>: Encode<'a, D>,
    for<'a> Json<&'a Value>: Encode<'a, D> + Type<D>,
{
    async fn notification_settings(&self, user_id: UserId) -> Result<NotificationSettings, StoreError> {
        let row: Option<Json<Value>> =
            sqlx::query_scalar("select settings from notification_settings where user_id = $1")
                .bind(user_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        // Written by this server only; what does not read is the defaults.
        Ok(row.and_then(|j| serde_json::from_value(j.0).ok()).unwrap_or_default())
    }

    async fn put_notification_settings(
        &self,
        user_id: UserId,
        settings: &NotificationSettings,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_value(settings).map_err(|e| StoreError::Internal(e.to_string()))?;
        sqlx::query(
            "insert into notification_settings (user_id, settings, updated_at) values ($1, $2, $3)
             on conflict (user_id) do update set settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(user_id.as_uuid())
        .bind(Json(&value))
        .bind(switchboard::time::now())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn add_push_subscription(&self, user_id: UserId, sub: &PushSubscription) -> Result<(), StoreError> {
        sqlx::query(
            "insert into push_subscription (endpoint, user_id, p256dh, auth, created_at) values ($1, $2, $3, $4, $5)
             on conflict (endpoint) do update
               set user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth",
        )
        .bind(&sub.endpoint)
        .bind(user_id.as_uuid())
        .bind(&sub.keys.p256dh)
        .bind(&sub.keys.auth)
        .bind(switchboard::time::now())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn remove_push_subscription(
        &self,
        user_id: Option<UserId>,
        endpoint: &str,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("delete from push_subscription where endpoint = $1 and ($2 is null or user_id = $2)")
                .bind(endpoint)
                .bind(user_id.map(|u| u.as_uuid()))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn push_subscriptions(&self, user_id: UserId) -> Result<Vec<PushSubscription>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "select endpoint, p256dh, auth from push_subscription where user_id = $1 order by created_at",
        )
        .bind(user_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows
            .into_iter()
            .map(|(endpoint, p256dh, auth)| PushSubscription { endpoint, keys: PushKeys { p256dh, auth } })
            .collect())
    }
}
