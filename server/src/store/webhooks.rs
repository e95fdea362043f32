//! Outgoing webhooks: endpoints, and the deliveries the event log writes for them (see
//! `event_log::DELIVERIES_OF`), claimed, attempted and finished like the outbox's rows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::store::{AttemptOutcome, DueDelivery, NewWebhook, StoreError, WebhookRepo};
use switchboard::webhook::{DeliveryStatus, WebhookDelivery, WebhookEndpoint};
use switchboard::{EventId, WebhookId, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::{map_err, rows};

const ENDPOINT_COLUMNS: &str = "endpoint_id, url, events, description, active, created_by, created_at";

#[derive(sqlx::FromRow)]
struct EndpointRow {
    endpoint_id: Uuid,
    url: String,
    events: String,
    description: String,
    active: bool,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(r: EndpointRow) -> Self {
        WebhookEndpoint {
            id: r.endpoint_id.into(),
            url: r.url,
            events: events_of(&r.events),
            description: r.description,
            active: r.active,
            created_by: r.created_by.map(Into::into),
            created_at: r.created_at,
        }
    }
}

/// How the event types are kept: `*`, or each between commas, so one `like` matches a type.
fn events_column(events: &[String]) -> String {
    if events.iter().any(|e| e == "*") { "*".to_owned() } else { format!(",{},", events.join(",")) }
}

fn events_of(column: &str) -> Vec<String> {
    column.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect()
}

const DELIVERY_COLUMNS: &str = "event_id, event_type, status, attempts, next_attempt_at, created_at, \
                                last_attempt_at, last_status, last_error, delivered_at";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    event_id: Uuid,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let status: DeliveryStatus = r.status.parse().map_err(StoreError::Internal)?;
        Ok(WebhookDelivery {
            event_id: r.event_id.into(),
            event_type: r.event_type,
            status,
            attempts: r.attempts.max(0) as u32,
            created_at: r.created_at,
            next_attempt_at: (status == DeliveryStatus::Pending).then_some(r.next_attempt_at),
            last_attempt_at: r.last_attempt_at,
            last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: r.last_error,
            delivered_at: r.delivered_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DueRow {
    endpoint_id: Uuid,
    url: String,
    attempts: i32,
    delivery_created_at: DateTime<Utc>,
    #[sqlx(flatten)]
    event: rows::EventRow,
}

#[async_trait]
impl<D: Backend> WebhookRepo for SqlStore<D>
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
    Option<DateTime<Utc>>: Bind<D>,
{
    async fn create_webhook(&self, new: NewWebhook) -> Result<WebhookEndpoint, StoreError> {
        sqlx::query(
            "insert into webhook_endpoint (endpoint_id, workspace_id, url, events, description, active, created_by, created_at)
             values ($1, $2, $3, $4, $5, true, $6, $7)",
        )
        .bind(new.id.as_uuid())
        .bind(new.workspace_id.as_uuid())
        .bind(&new.url)
        .bind(events_column(&new.events))
        .bind(&new.description)
        .bind(new.created_by.map(|u| u.as_uuid()))
        .bind(new.created_at)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(WebhookEndpoint {
            id: new.id,
            url: new.url,
            events: new.events,
            description: new.description,
            active: true,
            created_by: new.created_by,
            created_at: new.created_at,
        })
    }

    async fn webhooks(&self, workspace_id: WorkspaceId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "select {ENDPOINT_COLUMNS} from webhook_endpoint where workspace_id = $1 order by endpoint_id desc"
        );
        let rows: Vec<EndpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn delete_webhook(&self, workspace_id: WorkspaceId, id: WebhookId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("delete from webhook_endpoint where workspace_id = $1 and endpoint_id = $2")
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // SQLite enforces no cascade unless foreign keys are on; say it in SQL either way.
        sqlx::query("delete from webhook_delivery where endpoint_id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn webhook_deliveries(
        &self,
        workspace_id: WorkspaceId,
        id: WebhookId,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let owned: Option<(Uuid,)> = sqlx::query_as(
            "select endpoint_id from webhook_endpoint where workspace_id = $1 and endpoint_id = $2",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        owned.ok_or(StoreError::NotFound)?;
        let sql = format!(
            "select {DELIVERY_COLUMNS} from webhook_delivery where endpoint_id = $1
             order by created_at desc, event_id desc limit $2"
        );
        let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.as_uuid())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "select o.endpoint_id, w.url, o.attempts, o.created_at as delivery_created_at,
                    e.event_id, e.topic, e.topic_offset, e.type, e.schema_version, e.occurred_at, e.trace_id, e.payload
             from webhook_delivery o
             join webhook_endpoint w on w.endpoint_id = o.endpoint_id
             join event e on e.event_id = o.event_id
             where o.status = 'pending' and o.next_attempt_at <= $1
             order by o.next_attempt_at limit $2{}",
            D::CLAIM_LOCK
        );
        let rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            sqlx::query(
                "update webhook_delivery set next_attempt_at = $3 where endpoint_id = $1 and event_id = $2",
            )
            .bind(row.endpoint_id)
            .bind(row.event.event_id)
            .bind(lease_until)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            due.push(DueDelivery {
                endpoint_id: row.endpoint_id.into(),
                url: row.url,
                attempts: row.attempts.max(0) as u32,
                created_at: row.delivery_created_at,
                event: row.event.try_into()?,
            });
        }
        tx.commit().await.map_err(map_err)?;
        Ok(due)
    }

    async fn finish_delivery(
        &self,
        endpoint_id: WebhookId,
        event_id: EventId,
        outcome: &AttemptOutcome,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (status, code, error, next, delivered) = match outcome {
            AttemptOutcome::Delivered { status } => ("delivered", Some(*status), None, at, Some(at)),
            AttemptOutcome::Retry { status, error, next } => {
                ("pending", *status, Some(error.clone()), *next, None)
            }
            AttemptOutcome::Dead { status, error } => ("dead", *status, Some(error.clone()), at, None),
        };
        sqlx::query(
            "update webhook_delivery set status = $3, attempts = attempts + 1, last_attempt_at = $4,
                    last_status = $5, last_error = $6, next_attempt_at = $7, delivered_at = $8
             where endpoint_id = $1 and event_id = $2",
        )
        .bind(endpoint_id.as_uuid())
        .bind(event_id.as_uuid())
        .bind(status)
        .bind(at)
        .bind(code.map(i64::from))
        .bind(error)
        .bind(next)
        .bind(delivered)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn redeliver(
        &self,
        workspace_id: WorkspaceId,
        id: WebhookId,
        event_id: EventId,
        at: DateTime<Utc>,
    ) -> Result<WebhookDelivery, StoreError> {
        let sql = format!(
            "update webhook_delivery set status = 'pending', next_attempt_at = $4, created_at = $4
             where workspace_id = $1 and endpoint_id = $2 and event_id = $3
             returning {DELIVERY_COLUMNS}"
        );
        let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .bind(event_id.as_uuid())
            .bind(at)
            .fetch_optional(&self.writer)
            .await
            .map_err(map_err)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_through_their_column() {
        let named = vec!["message.created".to_owned(), "reaction.added".to_owned()];
        assert_eq!(events_column(&named), ",message.created,reaction.added,");
        assert_eq!(events_of(&events_column(&named)), named);
        assert_eq!(events_column(&["*".to_owned()]), "*");
        assert_eq!(events_of("*"), ["*"]);
    }
}
