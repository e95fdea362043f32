//! Chatbot flows, their versions, bot sessions and business hours (`/api/v1/flows`,
//! `/api/v1/bot-sessions`, `/api/v1/business-hours`). A session's every step is one
//! transaction with its events: `session.started` / `session.completed` on the workspace's
//! inbox, the run's messages, nodes and status on `session:{id}`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::{Json, Uuid};
use sqlx::{ColumnIndex, Encode, Executor, Type};
use switchboard::flow::events::{SessionCompleted, SessionMessage, SessionStatusChanged};
use switchboard::flow::{
    BotSession, BusinessHours, Completion, Flow, FlowDraft, FlowGraph, FlowVersion, SessionStatus, Triggers,
};
use switchboard::store::{FlowRepo, NewSession, SessionAdvance, SessionFilter, StoreError};
use switchboard::{BotSessionId, ConversationId, EventBody, FlowId, Topic, UserId, WorkspaceId};

use super::backend::{Backend, Bind, Column, RowsAffected, SqlStore};
use super::map_err;

#[derive(sqlx::FromRow)]
struct FlowRow {
    flow_id: Uuid,
    workspace_id: Uuid,
    name: String,
    triggers: Json<Value>,
    draft: Json<Value>,
    version: i32,
    enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
}

const FLOW_COLUMNS: &str =
    "flow_id, workspace_id, name, triggers, draft, version, enabled, created_at, updated_at, published_at";

/// JSON this server wrote that no longer reads: a broken row, told as such.
fn read<T: serde::de::DeserializeOwned>(what: &str, value: Value) -> Result<T, StoreError> {
    serde_json::from_value(value)
        .map_err(|e| StoreError::Internal(format!("a stored {what} does not read: {e}")))
}

fn json<T: serde::Serialize>(value: &T) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Internal(e.to_string()))
}

impl TryFrom<FlowRow> for Flow {
    type Error = StoreError;
    fn try_from(r: FlowRow) -> Result<Self, StoreError> {
        Ok(Flow {
            id: r.flow_id.into(),
            workspace_id: r.workspace_id.into(),
            name: r.name,
            triggers: read::<Triggers>("flow's triggers", r.triggers.0)?,
            draft: read::<FlowGraph>("flow", r.draft.0)?,
            version: r.version,
            enabled: r.enabled,
            created_at: r.created_at,
            updated_at: r.updated_at,
            published_at: r.published_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    bot_session_id: Uuid,
    workspace_id: Uuid,
    flow_id: Uuid,
    flow_version: i32,
    flow_name: String,
    conversation_id: Uuid,
    channel_id: Uuid,
    contact_id: Option<Uuid>,
    status: String,
    current_node: Option<String>,
    variables: Json<Value>,
    steps: i32,
    nodes_executed: i32,
    messages_sent: i32,
    messages_received: i32,
    wait_until: Option<DateTime<Utc>>,
    started_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    completion: Option<String>,
    started_by: Option<Uuid>,
}

const SESSION_COLUMNS: &str = "bot_session_id, workspace_id, flow_id, flow_version, flow_name, conversation_id, \
     channel_id, contact_id, status, current_node, variables, steps, nodes_executed, messages_sent, \
     messages_received, wait_until, started_at, updated_at, completed_at, completion, started_by";

impl TryFrom<SessionRow> for BotSession {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        let bad =
            |what: &str, v: &str| StoreError::Internal(format!("a bot session's {what} `{v}` does not read"));
        Ok(BotSession {
            id: r.bot_session_id.into(),
            workspace_id: r.workspace_id.into(),
            flow_id: r.flow_id.into(),
            flow_version: r.flow_version,
            flow_name: r.flow_name,
            conversation_id: r.conversation_id.into(),
            channel_id: r.channel_id.into(),
            contact_id: r.contact_id.map(Into::into),
            status: SessionStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            current_node: r.current_node,
            variables: read::<BTreeMap<String, String>>("bot session's variables", r.variables.0)?,
            steps: r.steps,
            nodes_executed: r.nodes_executed,
            messages_sent: r.messages_sent,
            messages_received: r.messages_received,
            wait_until: r.wait_until,
            started_at: r.started_at,
            updated_at: r.updated_at,
            completed_at: r.completed_at,
            completion: match r.completion {
                None => None,
                Some(c) => Some(Completion::parse(&c).ok_or_else(|| bad("completion", &c))?),
            },
            started_by: r.started_by.map(Into::into),
        })
    }
}

#[async_trait]
impl<D: Backend> FlowRepo for SqlStore<D>
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
    async fn create_flow(
        &self,
        workspace_id: WorkspaceId,
        draft: &FlowDraft,
        by: UserId,
    ) -> Result<Flow, StoreError> {
        let at = switchboard::time::now();
        let (triggers, graph) = (json(&draft.triggers)?, json(&draft.graph)?);
        let row: FlowRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "insert into flow (flow_id, workspace_id, name, triggers, draft, version, enabled, created_by, created_at, updated_at)
             values ($1, $2, $3, $4, $5, 0, false, $6, $7, $7) returning {FLOW_COLUMNS}"
        )))
        .bind(FlowId::new().as_uuid())
        .bind(workspace_id.as_uuid())
        .bind(draft.name.trim())
        .bind(Json(&triggers))
        .bind(Json(&graph))
        .bind(by.as_uuid())
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        row.try_into()
    }

    async fn update_flow(
        &self,
        workspace_id: WorkspaceId,
        id: FlowId,
        draft: &FlowDraft,
    ) -> Result<Flow, StoreError> {
        let (triggers, graph) = (json(&draft.triggers)?, json(&draft.graph)?);
        let row: Option<FlowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update flow set name = $3, triggers = $4, draft = $5, updated_at = $6
             where workspace_id = $1 and flow_id = $2 returning {FLOW_COLUMNS}"
        )))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(draft.name.trim())
        .bind(Json(&triggers))
        .bind(Json(&graph))
        .bind(switchboard::time::now())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    async fn set_flow_enabled(
        &self,
        workspace_id: WorkspaceId,
        id: FlowId,
        enabled: bool,
    ) -> Result<Flow, StoreError> {
        let row: Option<FlowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update flow set enabled = $3, updated_at = $4
             where workspace_id = $1 and flow_id = $2 returning {FLOW_COLUMNS}"
        )))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(enabled)
        .bind(switchboard::time::now())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    async fn delete_flow(&self, workspace_id: WorkspaceId, id: FlowId) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Sessions first: they refer to the versions, which go with the flow.
        sqlx::query("delete from bot_session where workspace_id = $1 and flow_id = $2")
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let done = sqlx::query("delete from flow where workspace_id = $1 and flow_id = $2")
            .bind(workspace_id.as_uuid())
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(map_err)
    }

    async fn flow(&self, workspace_id: WorkspaceId, id: FlowId) -> Result<Option<Flow>, StoreError> {
        let row: Option<FlowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {FLOW_COLUMNS} from flow where workspace_id = $1 and flow_id = $2"
        )))
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn flows(&self, workspace_id: WorkspaceId) -> Result<Vec<Flow>, StoreError> {
        let rows: Vec<FlowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {FLOW_COLUMNS} from flow where workspace_id = $1 order by created_at, flow_id"
        )))
        .bind(workspace_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn publish_flow(
        &self,
        workspace_id: WorkspaceId,
        id: FlowId,
        by: UserId,
    ) -> Result<FlowVersion, StoreError> {
        let at = switchboard::time::now();
        let mut tx = self.begin_write().await?;
        let row: Option<(Json<Value>, i32)> = sqlx::query_as(
            "update flow set version = version + 1, enabled = true, published_at = $3, updated_at = $3
             where workspace_id = $1 and flow_id = $2 returning draft, version",
        )
        .bind(workspace_id.as_uuid())
        .bind(id.as_uuid())
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let (graph, version) = row.ok_or(StoreError::NotFound)?;
        sqlx::query(
            "insert into flow_version (flow_id, version, graph, published_by, published_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_uuid())
        .bind(version)
        .bind(Json(&graph.0))
        .bind(by.as_uuid())
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(FlowVersion {
            flow_id: id,
            version,
            graph: read("flow", graph.0)?,
            published_by: Some(by),
            published_at: at,
        })
    }

    async fn flow_version(&self, flow_id: FlowId, version: i32) -> Result<Option<FlowVersion>, StoreError> {
        let row: Option<(Json<Value>, Option<Uuid>, DateTime<Utc>)> = sqlx::query_as(
            "select graph, published_by, published_at from flow_version where flow_id = $1 and version = $2",
        )
        .bind(flow_id.as_uuid())
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|(graph, by, at)| {
            Ok(FlowVersion {
                flow_id,
                version,
                graph: read("flow version", graph.0)?,
                published_by: by.map(Into::into),
                published_at: at,
            })
        })
        .transpose()
    }

    async fn start_session(&self, new: NewSession) -> Result<BotSession, StoreError> {
        let at = switchboard::time::now();
        let id = BotSessionId::new();
        let variables = json(&new.variables)?;
        let mut tx = self.begin_write().await?;
        let row: SessionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "insert into bot_session (bot_session_id, workspace_id, flow_id, flow_version, flow_name, conversation_id,
                                      channel_id, contact_id, status, current_node, variables, started_at, updated_at, started_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, 'running', $9, $10, $11, $11, $12) returning {SESSION_COLUMNS}"
        )))
        .bind(id.as_uuid())
        .bind(new.workspace_id.as_uuid())
        .bind(new.flow_id.as_uuid())
        .bind(new.flow_version)
        .bind(&new.flow_name)
        .bind(new.conversation_id.as_uuid())
        .bind(new.channel_id.as_uuid())
        .bind(new.contact_id.map(|c| c.as_uuid()))
        .bind(&new.start)
        .bind(Json(&variables))
        .bind(at)
        .bind(new.started_by.map(|u| u.as_uuid()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::Conflict { constraint: "bot_session_live".into() },
            other => other,
        })?;
        let session: BotSession = row.try_into()?;
        let ws = new.workspace_id;
        let mut events = vec![
            Self::append_event(
                &mut tx,
                ws,
                Topic::Inbox(ws),
                EventBody::SessionStarted(session.clone()),
                None,
                at,
            )
            .await?,
        ];
        let status = EventBody::SessionStatusChanged(SessionStatusChanged {
            session_id: id,
            status: session.status,
            current_node: session.current_node.clone(),
            wait_until: None,
        });
        events.push(Self::append_event(&mut tx, ws, Topic::Session(id), status, None, at).await?);
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(session)
    }

    async fn advance_session(&self, step: SessionAdvance) -> Result<BotSession, StoreError> {
        let at = switchboard::time::now();
        let ws = step.workspace_id;
        let variables = json(&step.variables)?;
        let sent = step.messages.iter().filter(|m| m.from_bot).count() as i32;
        let received = step.messages.len() as i32 - sent;
        let done = step.completion.is_some();
        let mut tx = self.begin_write().await?;
        let before: Option<(String, Option<String>)> = sqlx::query_as(
            "select status, current_node from bot_session where workspace_id = $1 and bot_session_id = $2",
        )
        .bind(ws.as_uuid())
        .bind(step.id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some((status_before, node_before)) = before else { return Err(StoreError::NotFound) };
        let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update bot_session set status = $4, current_node = $5, variables = $6, steps = steps + 1,
                 nodes_executed = nodes_executed + $7, messages_sent = messages_sent + $8,
                 messages_received = messages_received + $9,
                 wait_until = case when $10 then $11 else null end, updated_at = $11,
                 completed_at = case when $12 then $11 else null end, completion = $13
             where workspace_id = $1 and bot_session_id = $2 and steps = $3 returning {SESSION_COLUMNS}"
        )))
        .bind(ws.as_uuid())
        .bind(step.id.as_uuid())
        .bind(step.expected_steps)
        .bind(step.status.as_str())
        .bind(&step.current_node)
        .bind(Json(&variables))
        .bind(i32::from(step.executed.is_some()))
        .bind(sent)
        .bind(received)
        .bind(step.wait_until.is_some())
        .bind(step.wait_until.unwrap_or(at))
        .bind(done)
        .bind(step.completion.map(|c| c.as_str().to_owned()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::Conflict { constraint: "bot_session_moved".into() });
        };
        let session: BotSession = row.try_into()?;
        let topic = Topic::Session(step.id);
        let mut events = Vec::new();
        for message in step.messages {
            let body = EventBody::SessionMessage(SessionMessage {
                session_id: step.id,
                from_bot: message.from_bot,
                message,
            });
            events.push(Self::append_event(&mut tx, ws, topic, body, None, at).await?);
        }
        if let Some(mut executed) = step.executed {
            executed.step = session.steps;
            events.push(
                Self::append_event(&mut tx, ws, topic, EventBody::SessionNodeExecuted(executed), None, at)
                    .await?,
            );
        }
        if status_before != session.status.as_str()
            || node_before != session.current_node
            || step.wait_until.is_some()
        {
            let body = EventBody::SessionStatusChanged(SessionStatusChanged {
                session_id: step.id,
                status: session.status,
                current_node: session.current_node.clone(),
                wait_until: session.wait_until,
            });
            events.push(Self::append_event(&mut tx, ws, topic, body, None, at).await?);
        }
        if let Some(completed) = SessionCompleted::of(&session) {
            let body = EventBody::SessionCompleted(completed);
            events.push(Self::append_event(&mut tx, ws, topic, body.clone(), None, at).await?);
            events.push(Self::append_event(&mut tx, ws, Topic::Inbox(ws), body, None, at).await?);
        }
        tx.commit().await.map_err(map_err)?;
        self.listener.committed(&events);
        Ok(session)
    }

    async fn bot_session(&self, id: BotSessionId) -> Result<Option<BotSession>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {SESSION_COLUMNS} from bot_session where bot_session_id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn live_session(&self, conversation_id: ConversationId) -> Result<Option<BotSession>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {SESSION_COLUMNS} from bot_session
             where conversation_id = $1 and status in ('running', 'waiting_input')"
        )))
        .bind(conversation_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn conversations_with_live_sessions(
        &self,
        conversation_ids: &[ConversationId],
    ) -> Result<std::collections::HashSet<ConversationId>, StoreError> {
        let mut ids: Vec<Uuid> = conversation_ids.iter().map(|c| c.as_uuid()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found = std::collections::HashSet::new();
        // In chunks, well under both backends' bind-parameter limits.
        for chunk in ids.chunks(500) {
            let sql = super::hot::conversations_with_live_sessions(D::KIND, chunk.len());
            let mut query = sqlx::query_scalar::<_, Uuid>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            found.extend(
                query.fetch_all(&self.pool).await.map_err(map_err)?.into_iter().map(ConversationId::from),
            );
        }
        Ok(found)
    }

    async fn bot_sessions(
        &self,
        workspace_id: WorkspaceId,
        filter: &SessionFilter,
    ) -> Result<Vec<BotSession>, StoreError> {
        let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {SESSION_COLUMNS} from bot_session
             where workspace_id = $1 and ($2 is null or flow_id = $2) and ($3 is null or status = $3)
               and ($4 is null or channel_id = $4) and ($5 is null or conversation_id = $5)
               and ($6 is null or bot_session_id < $6)
             order by bot_session_id desc limit $7"
        )))
        .bind(workspace_id.as_uuid())
        .bind(filter.flow_id.map(|f| f.as_uuid()))
        .bind(filter.status.map(|s| s.as_str().to_owned()))
        .bind(filter.channel_id.map(|c| c.as_uuid()))
        .bind(filter.conversation_id.map(|c| c.as_uuid()))
        .bind(filter.before.map(|b| b.as_uuid()))
        .bind(i64::from(filter.limit.clamp(1, 200)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn due_sessions(
        &self,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BotSession>, StoreError> {
        let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {SESSION_COLUMNS} from bot_session
             where (status = 'waiting_input' and wait_until <= $1) or (status = 'running' and updated_at < $2)
             order by updated_at limit $3"
        )))
        .bind(now)
        .bind(stale_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn business_hours(&self, workspace_id: WorkspaceId) -> Result<Option<BusinessHours>, StoreError> {
        let row: Option<Json<Value>> =
            sqlx::query_scalar("select hours from business_hours where workspace_id = $1")
                .bind(workspace_id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(|j| read("workspace's business hours", j.0)).transpose()
    }

    async fn set_business_hours(
        &self,
        workspace_id: WorkspaceId,
        hours: Option<&BusinessHours>,
    ) -> Result<(), StoreError> {
        let Some(hours) = hours else {
            sqlx::query("delete from business_hours where workspace_id = $1")
                .bind(workspace_id.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            return Ok(());
        };
        let value = json(hours)?;
        sqlx::query(
            "insert into business_hours (workspace_id, hours, updated_at) values ($1, $2, $3)
             on conflict (workspace_id) do update set hours = excluded.hours, updated_at = excluded.updated_at",
        )
        .bind(workspace_id.as_uuid())
        .bind(Json(&value))
        .bind(switchboard::time::now())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
