//! Chatbot flows and bot sessions over REST (`tag: bots`): flows and their publishing for
//! owners and admins, sessions for every agent, business hours.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use switchboard::flow::{BotSession, BusinessHours, Flow, FlowDraft, FlowVersion, SessionStatus};
use switchboard::store::SessionFilter;
use switchboard::validate::ValidationError;
use switchboard::{BotSessionId, ConversationId, FlowId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::{AnyMember, Json, path_id};
use super::openapi::ApiErrors;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_flows, create_flow))
        .routes(routes!(get_flow, update_flow, delete_flow))
        .routes(routes!(publish_flow))
        .routes(routes!(enable_flow))
        .routes(routes!(list_bot_sessions))
        .routes(routes!(get_bot_session))
        .routes(routes!(stop_bot_session))
        .routes(routes!(bot_session_events))
        .routes(routes!(conversation_bot, start_bot))
        .routes(routes!(get_business_hours, put_business_hours))
}

/// The workspace's flows, oldest first (every agent may read them).
#[utoipa::path(get, path = "/flows", tag = "bots", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<Flow>), ApiErrors))]
async fn list_flows(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
) -> Result<Json<Vec<Flow>>, ApiError> {
    Ok(Json(state.bots.flows(member.actor).await?))
}

/// A new flow, as a draft (owners and admins); it runs once published. 201.
#[utoipa::path(post, path = "/flows", tag = "bots", security(("bearer" = []), ("cookie" = [])), request_body = FlowDraft, responses((status = 201, body = Flow), ApiErrors))]
async fn create_flow(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<FlowDraft>,
) -> Result<(StatusCode, Json<Flow>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.bots.create_flow(member.actor, req).await?)))
}

/// One flow: its draft, triggers and latest version.
#[utoipa::path(get, path = "/flows/{id}", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Flow id")), responses((status = 200, body = Flow), ApiErrors))]
async fn get_flow(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Flow>, ApiError> {
    let id: FlowId = path_id(&id, "Flow")?;
    Ok(Json(state.bots.flow(member.actor, id).await?))
}

/// Replaces the flow's name, triggers and draft (owners and admins); published versions stay.
#[utoipa::path(put, path = "/flows/{id}", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Flow id")), request_body = FlowDraft, responses((status = 200, body = Flow), ApiErrors))]
async fn update_flow(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<FlowDraft>,
) -> Result<Json<Flow>, ApiError> {
    let id: FlowId = path_id(&id, "Flow")?;
    Ok(Json(state.bots.update_flow(member.actor, id, req).await?))
}

/// Deletes the flow, its versions and its sessions; 204.
#[utoipa::path(delete, path = "/flows/{id}", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Flow id")), responses((status = 204, description = "Deleted"), ApiErrors))]
async fn delete_flow(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: FlowId = path_id(&id, "Flow")?;
    state.bots.delete_flow(member.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Validates the draft (no branch to nowhere, no unreachable node, no loop that never waits,
/// labels and agents of the workspace) and freezes it as the next version; 422 names the node.
#[utoipa::path(post, path = "/flows/{id}/publish", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Flow id")), responses((status = 200, body = FlowVersion), ApiErrors))]
async fn publish_flow(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<FlowVersion>, ApiError> {
    let id: FlowId = path_id(&id, "Flow")?;
    Ok(Json(state.bots.publish(member.actor, id).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Enabled {
    enabled: bool,
}

/// Turns a published flow's triggers on or off.
#[utoipa::path(put, path = "/flows/{id}/enabled", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Flow id")), request_body = Enabled, responses((status = 200, body = Flow), ApiErrors))]
async fn enable_flow(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<Enabled>,
) -> Result<Json<Flow>, ApiError> {
    let id: FlowId = path_id(&id, "Flow")?;
    Ok(Json(state.bots.set_enabled(member.actor, id, req.enabled).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SessionQuery {
    flow_id: Option<String>,
    /// running, waiting_input, completed, expired or stopped.
    status: Option<String>,
    channel_id: Option<String>,
    conversation_id: Option<String>,
    /// Sessions older than this one (the last id of the previous page).
    before: Option<String>,
    /// 1–200 (50).
    limit: Option<u32>,
}

/// Bot sessions, the newest first.
#[utoipa::path(get, path = "/bot-sessions", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(SessionQuery), responses((status = 200, body = Vec<BotSession>), ApiErrors))]
async fn list_bot_sessions(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    super::extract::Query(q): super::extract::Query<SessionQuery>,
) -> Result<Json<Vec<BotSession>>, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(SessionStatus::parse(s).ok_or_else(|| {
            ValidationError::new("status", "is running, waiting_input, completed, expired or stopped")
        })?),
    };
    let filter = SessionFilter {
        flow_id: super::conversations::query_id(q.flow_id.as_deref(), "flow_id")?,
        status,
        channel_id: super::conversations::query_id(q.channel_id.as_deref(), "channel_id")?,
        conversation_id: super::conversations::query_id(q.conversation_id.as_deref(), "conversation_id")?,
        before: super::conversations::query_id(q.before.as_deref(), "before")?,
        limit: q.limit.unwrap_or(50),
    };
    Ok(Json(state.bots.sessions(member.actor, filter).await?))
}

/// One session; its run live on the realtime topic `session:{id}`.
#[utoipa::path(get, path = "/bot-sessions/{id}", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Bot session id")), responses((status = 200, body = BotSession), ApiErrors))]
async fn get_bot_session(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<BotSession>, ApiError> {
    let id: BotSessionId = path_id(&id, "Bot session")?;
    Ok(Json(state.bots.session(member.actor, id).await?))
}

/// The session's run so far, oldest first: the events of `session:{id}` (messages, nodes,
/// status changes, its completion), each with its `offset` to subscribe from for the rest.
#[utoipa::path(get, path = "/bot-sessions/{id}/events", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Bot session id")), responses((status = 200, body = Vec<switchboard::event::EventSchema>), ApiErrors))]
async fn bot_session_events(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Vec<switchboard::Event>>, ApiError> {
    let id: BotSessionId = path_id(&id, "Bot session")?;
    Ok(Json(state.bots.events(member.actor, id).await?))
}

/// Stops a running or waiting session ("stop bot"); 409 once it has ended.
#[utoipa::path(post, path = "/bot-sessions/{id}/stop", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Bot session id")), responses((status = 200, body = BotSession), ApiErrors))]
async fn stop_bot_session(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<BotSession>, ApiError> {
    let id: BotSessionId = path_id(&id, "Bot session")?;
    Ok(Json(state.bots.stop_by_hand(member.actor, id).await?))
}

/// The conversation's running or waiting session (`null` when no bot runs there).
#[utoipa::path(get, path = "/conversations/{id}/bot", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id")), responses((status = 200, body = Option<BotSession>), ApiErrors))]
async fn conversation_bot(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
) -> Result<Json<Option<BotSession>>, ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    Ok(Json(state.bots.live(member.actor, id).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StartBot {
    flow_id: FlowId,
}

/// Starts a published flow in a conversation with a contact (409 when a bot already runs
/// there); answers the session after its first steps. 201.
#[utoipa::path(post, path = "/conversations/{id}/bot", tag = "bots", security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "Conversation id")), request_body = StartBot, responses((status = 201, body = BotSession), ApiErrors))]
async fn start_bot(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Path(id): Path<String>,
    Json(req): Json<StartBot>,
) -> Result<(StatusCode, Json<BotSession>), ApiError> {
    let id: ConversationId = path_id(&id, "Conversation")?;
    Ok((StatusCode::CREATED, Json(state.bots.start_by_hand(member.actor, id, req.flow_id).await?)))
}

/// The workspace's business hours (`null`: none set, always open).
#[utoipa::path(get, path = "/business-hours", tag = "bots", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Option<BusinessHours>), ApiErrors))]
async fn get_business_hours(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
) -> Result<Json<Option<BusinessHours>>, ApiError> {
    Ok(Json(state.bots.business_hours(member.actor).await?))
}

/// Sets (or, with `null`, removes) the business hours flows' conditions ask about.
#[utoipa::path(put, path = "/business-hours", tag = "bots", security(("bearer" = []), ("cookie" = [])), request_body = Option<BusinessHours>, responses((status = 200, body = Option<BusinessHours>), ApiErrors))]
async fn put_business_hours(
    State(state): State<AppState>,
    AnyMember(member): AnyMember,
    Json(req): Json<Option<BusinessHours>>,
) -> Result<Json<Option<BusinessHours>>, ApiError> {
    state.bots.set_business_hours(member.actor, req.clone()).await?;
    Ok(Json(req))
}
