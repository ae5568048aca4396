//! The handlers of `/api/v1/`: the same shapes as the command line's
//! `--json`, each checked against the caller's role, each change recorded in
//! the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use host_engine::accounts::{self, AuditView};
use host_engine::actions::ActionInfo;
use host_engine::connectors::{self, ConnectorView};
use host_engine::execute::{self, ExecuteRequest};
use host_engine::inventory::View;
use host_engine::processes::{ProcessView, process_view, repository_names};
use host_engine::schedules::{self, ScheduleRequest, ScheduleView};
use host_engine::secrets::{Secret, SecretSource};
use repo_store::{CancelOutcome, ProcessFilter, ProcessStatus, Role, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::ApiState;
use crate::auth::Authed;
use crate::body::{JsonBody, PathParam, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};

type S = State<Arc<ApiState>>;

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Account name.
    pub user: String,
    /// viewer, operator or admin.
    pub role: String,
    /// For a browser session: what every change must carry in `X-CSRF-Token`.
    pub csrf_token: Option<String>,
}

/// Who the token stands for.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(who: Authed) -> Json<Me> {
    Json(Me {
        csrf_token: who.session.as_ref().map(|s| s.csrf_token.clone()),
        user: who.caller.user,
        role: who.caller.role.to_string(),
    })
}

/// A repository with its raw row count.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepositoryView {
    /// Name.
    pub name: String,
    /// `inventory`.
    #[serde(rename = "type")]
    pub repository_type: String,
    /// Raw rows in all.
    pub rows: u64,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// The repositories, as `invhost repository list --json`.
#[utoipa::path(get, path = "/api/v1/repositories", tag = "repositories",
    responses((status = 200, body = Vec<RepositoryView>), (status = 401, body = ErrorBody)))]
pub async fn repositories(State(state): S, _who: Authed) -> ApiResult<Json<Vec<RepositoryView>>> {
    let listed = host_engine::repositories::list(&state.store).await?;
    Ok(Json(
        listed
            .into_iter()
            .map(|(r, rows)| RepositoryView {
                name: r.name,
                repository_type: r.repository_type.to_string(),
                rows,
                created_at: r.created_at.to_rfc3339(),
            })
            .collect(),
    ))
}

/// A repository to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRepository {
    /// Unique name.
    pub name: String,
}

/// Adds a repository (admin).
#[utoipa::path(post, path = "/api/v1/repositories", tag = "repositories", request_body = NewRepository,
    responses((status = 201, body = RepositoryView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_repository(
    State(state): S,
    who: Authed,
    JsonBody(body): JsonBody<NewRepository>,
) -> ApiResult<(StatusCode, Json<RepositoryView>)> {
    who.require(Role::Admin, "repository.add", &body.name)
        .await?;
    let row = host_engine::repositories::add(&state.store, body.name.trim()).await?;
    who.audit("repository.add", &row.name, "ok").await;
    Ok((
        StatusCode::CREATED,
        Json(RepositoryView {
            name: row.name,
            repository_type: row.repository_type.to_string(),
            rows: 0,
            created_at: row.created_at.to_rfc3339(),
        }),
    ))
}

/// Rows removed by a clear.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cleared {
    /// The repository.
    pub repository: String,
    /// Raw rows removed.
    pub removed: u64,
}

/// Removes every row of a repository (admin).
#[utoipa::path(post, path = "/api/v1/repositories/{name}/clear", tag = "repositories",
    params(("name" = String, Path, description = "Repository name")),
    responses((status = 200, body = Cleared), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn clear_repository(
    State(state): S,
    who: Authed,
    PathParam(name): PathParam<String>,
) -> ApiResult<Json<Cleared>> {
    who.require(Role::Admin, "repository.clear", &name).await?;
    let removed = host_engine::repositories::clear(&state.store, &name).await?;
    who.audit("repository.clear", &name, &format!("ok: {removed} rows"))
        .await;
    Ok(Json(Cleared {
        repository: name,
        removed,
    }))
}

/// The connector types the host has loaded, with their parameter schemas
/// and actions (`invhost plugin list/show`).
#[utoipa::path(get, path = "/api/v1/connector-types", tag = "connectors",
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn connector_types(State(state): S, _who: Authed) -> ApiResult<Json<Vec<Value>>> {
    let types = state
        .host
        .registry()
        .connectors()
        .map(|handle| serde_json::to_value(handle.info()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(types))
}

/// One connector type: its parameter schema and actions (`invhost plugin show`).
#[utoipa::path(get, path = "/api/v1/connector-types/{type_id}", tag = "connectors",
    params(("type_id" = String, Path, description = "Connector type id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub async fn connector_type(
    State(state): S,
    _who: Authed,
    PathParam(type_id): PathParam<String>,
) -> ApiResult<Json<Value>> {
    let handle = state
        .host
        .registry()
        .require(&type_id)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok(Json(
        serde_json::to_value(handle.info()).map_err(|e| ApiError::internal(&e))?,
    ))
}

/// The loaded connector types with their version, ABI and source, and the
/// plugin files refused with their reason (`invhost plugin list`).
#[utoipa::path(get, path = "/api/v1/plugins", tag = "connectors",
    responses((status = 200, body = host_engine::plugins::Listing), (status = 401, body = ErrorBody)))]
pub async fn plugins(State(state): S, _who: Authed) -> Json<host_engine::plugins::Listing> {
    Json(host_engine::plugins::listing(state.host.registry()))
}

/// The connectors; secrets only as set or not set.
#[utoipa::path(get, path = "/api/v1/connectors", tag = "connectors",
    responses((status = 200, body = Vec<ConnectorView>), (status = 401, body = ErrorBody)))]
pub async fn connectors_list(State(state): S, _who: Authed) -> ApiResult<Json<Vec<ConnectorView>>> {
    let key = state.host.key().ok();
    let mut views = Vec::new();
    for row in state.store.connectors().await? {
        views.push(connectors::view(&state.host, &row, key.as_ref())?);
    }
    Ok(Json(views))
}

/// One connector.
#[utoipa::path(get, path = "/api/v1/connectors/{name}", tag = "connectors",
    params(("name" = String, Path, description = "Connector name")),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody)))]
pub async fn connector_show(
    State(state): S,
    _who: Authed,
    PathParam(name): PathParam<String>,
) -> ApiResult<Json<ConnectorView>> {
    let row = state.store.connector(&name).await?;
    Ok(Json(connectors::view(
        &state.host,
        &row,
        state.host.key().ok().as_ref(),
    )?))
}

/// A connector to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnectorBody {
    /// Unique name; its action is `Sync Data - NAME`.
    pub name: String,
    /// Connector type id (see /api/v1/connector-types).
    #[serde(rename = "type")]
    pub connector_type: String,
    /// Plain parameters by key (strings, numbers or booleans).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, Value>,
    /// Secret parameters by key; write-only, never returned.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub secrets: std::collections::BTreeMap<String, Secret>,
    /// Queue consolidation after each sync.
    #[serde(default)]
    pub run_consolidation: bool,
}

/// What to change in a connector; what is not given stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorChange {
    /// Plain parameters to set.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, Value>,
    /// Secret parameters to set; write-only.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub secrets: std::collections::BTreeMap<String, Secret>,
    /// Parameters to remove.
    #[serde(default)]
    pub unset: Vec<String>,
    /// Queue consolidation after each sync.
    pub run_consolidation: Option<bool>,
}

fn parameter_input(
    parameters: serde_json::Map<String, Value>,
    secrets: std::collections::BTreeMap<String, Secret>,
    unset: Vec<String>,
) -> connectors::ParameterInput {
    connectors::ParameterInput {
        params: parameters
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
        secrets: secrets
            .into_iter()
            .map(|(k, v)| (k, SecretSource::Given(v)))
            .collect(),
        unset,
        params_file: None,
        prompt: None,
    }
}

/// Adds a connector (admin); secrets are stored encrypted and never returned.
#[utoipa::path(post, path = "/api/v1/connectors", tag = "connectors", request_body = NewConnectorBody,
    responses((status = 201, body = ConnectorView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn connector_add(
    State(state): S,
    who: Authed,
    JsonBody(body): JsonBody<NewConnectorBody>,
) -> ApiResult<(StatusCode, Json<ConnectorView>)> {
    who.require(Role::Admin, "connector.add", &body.name)
        .await?;
    let input = parameter_input(body.parameters, body.secrets, Vec::new());
    let row = connectors::add(
        &state.host,
        &state.store,
        &body.connector_type,
        &body.name,
        &input,
        body.run_consolidation,
    )
    .await?;
    who.audit("connector.add", &row.name, "ok").await;
    Ok((
        StatusCode::CREATED,
        Json(connectors::view(
            &state.host,
            &row,
            state.host.key().ok().as_ref(),
        )?),
    ))
}

/// Changes a connector (admin), validated as a whole.
#[utoipa::path(patch, path = "/api/v1/connectors/{name}", tag = "connectors",
    params(("name" = String, Path, description = "Connector name")), request_body = ConnectorChange,
    responses((status = 200, body = ConnectorView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn connector_edit(
    State(state): S,
    who: Authed,
    PathParam(name): PathParam<String>,
    JsonBody(body): JsonBody<ConnectorChange>,
) -> ApiResult<Json<ConnectorView>> {
    who.require(Role::Admin, "connector.edit", &name).await?;
    let input = parameter_input(body.parameters, body.secrets, body.unset);
    let row = connectors::edit(
        &state.host,
        &state.store,
        &name,
        &input,
        body.run_consolidation,
    )
    .await?;
    who.audit("connector.edit", &name, "ok").await;
    Ok(Json(connectors::view(
        &state.host,
        &row,
        state.host.key().ok().as_ref(),
    )?))
}

/// Which data to remove with a connector.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// Also remove the rows it wrote, in every repository.
    #[serde(default)]
    pub purge_data: bool,
}

/// Removes a connector (admin).
#[utoipa::path(delete, path = "/api/v1/connectors/{name}", tag = "connectors",
    params(("name" = String, Path, description = "Connector name"), RemoveQuery),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn connector_remove(
    State(state): S,
    who: Authed,
    PathParam(name): PathParam<String>,
    QueryParams(query): QueryParams<RemoveQuery>,
) -> ApiResult<StatusCode> {
    who.require(Role::Admin, "connector.remove", &name).await?;
    connectors::remove(&state.host, &state.store, &name, query.purge_data).await?;
    who.audit("connector.remove", &name, "ok").await;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs a connector's Test (operator) and records it.
#[utoipa::path(post, path = "/api/v1/connectors/{name}/test", tag = "connectors",
    params(("name" = String, Path, description = "Connector name")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn connector_test(
    State(state): S,
    who: Authed,
    PathParam(name): PathParam<String>,
) -> ApiResult<Json<Value>> {
    who.require(Role::Operator, "connector.test", &name).await?;
    let (_, report) = connectors::test(&state.host, &state.store, &name).await?;
    who.audit("connector.test", &name, &report.status().to_string())
        .await;
    Ok(Json(
        serde_json::to_value(&report).map_err(|e| ApiError::internal(&e))?,
    ))
}

/// Which repository's actions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActionsQuery {
    /// Only the actions that run on this repository.
    pub repository: Option<String>,
}

/// The actions that can be executed, or those of one repository.
#[utoipa::path(get, path = "/api/v1/actions", tag = "processes", params(ActionsQuery),
    responses((status = 200, body = Vec<ActionInfo>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn actions(
    State(state): S,
    _who: Authed,
    QueryParams(query): QueryParams<ActionsQuery>,
) -> ApiResult<Json<Vec<ActionInfo>>> {
    let mut actions = host_engine::actions::list(&state.host, &state.store).await?;
    if let Some(name) = &query.repository {
        let repository = state.store.repository(name).await?;
        actions.retain(|a| {
            a.repository.is_none() || a.repository.as_deref() == Some(repository.name.as_str())
        });
    }
    Ok(Json(actions))
}

/// An action to queue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteBody {
    /// Repository name.
    pub repository: String,
    /// Action name (`Sync Data - NAME`, `Generate Report - Basic Inventory Consolidation`).
    pub action: String,
    /// Clean sync.
    #[serde(default)]
    pub clean: bool,
}

/// Queues an action (operator); `invhost serve` runs it. The process's
/// trigger is `user NAME`.
#[utoipa::path(post, path = "/api/v1/execute", tag = "processes", request_body = ExecuteBody,
    responses((status = 202, body = ProcessView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn execute(
    State(state): S,
    who: Authed,
    JsonBody(body): JsonBody<ExecuteBody>,
) -> ApiResult<(StatusCode, Json<ProcessView>)> {
    who.require(Role::Operator, "execute", &body.action).await?;
    let request = ExecuteRequest {
        repository: body.repository,
        action: body.action,
        clean: body.clean,
    };
    let process = execute::enqueue(
        &state.host,
        &state.store,
        &request,
        Trigger::User(who.caller.user.clone()),
    )
    .await?;
    who.audit(
        "execute",
        &format!("{} (process {})", request.action, process.id),
        "ok",
    )
    .await;
    let names = repository_names(&state.store).await?;
    Ok((StatusCode::ACCEPTED, Json(process_view(&process, &names))))
}

/// Which processes to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProcessQuery {
    /// Only this repository.
    pub repository: Option<String>,
    /// Only this connector's processes (its syncs and tests).
    pub connector: Option<String>,
    /// Only this status: queued, running, succeeded, failed, cancelled.
    pub status: Option<String>,
    /// Only this trigger: operator, after sync, schedule NAME, user NAME.
    pub trigger: Option<String>,
    /// Newest first, at most this many (default 100, at most 1000).
    pub limit: Option<u64>,
    /// Event streams only: ids (comma-separated, at most 100) of processes
    /// the client already shows. Each is followed from the first look, so
    /// one that leaves the filter (ends) before the stream starts still
    /// gets its last state.
    pub follow: Option<String>,
}

/// The store's filter for a query; an empty value means no filter, so a
/// form's "any" option can send it.
async fn process_filter(state: &ApiState, query: &ProcessQuery) -> ApiResult<ProcessFilter> {
    let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let repository_id = match given(&query.repository) {
        Some(name) => Some(state.store.repository(&name).await?.id),
        None => None,
    };
    let connector_id = match given(&query.connector) {
        Some(name) => Some(state.store.connector(&name).await?.id),
        None => None,
    };
    Ok(ProcessFilter {
        repository_id,
        connector_id,
        status: given(&query.status)
            .as_deref()
            .map(str::parse::<ProcessStatus>)
            .transpose()
            .map_err(ApiError::bad_request)?,
        trigger: given(&query.trigger)
            .as_deref()
            .map(str::parse::<Trigger>)
            .transpose()
            .map_err(ApiError::bad_request)?,
        limit: Some(query.limit.unwrap_or(100).clamp(1, 1000)),
        ..Default::default()
    })
}

/// The process log, newest first.
#[utoipa::path(get, path = "/api/v1/processes", tag = "processes", params(ProcessQuery),
    responses((status = 200, body = Vec<ProcessView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn processes(
    State(state): S,
    _who: Authed,
    QueryParams(query): QueryParams<ProcessQuery>,
) -> ApiResult<Json<Vec<ProcessView>>> {
    let filter = process_filter(&state, &query).await?;
    let names = repository_names(&state.store).await?;
    Ok(Json(
        state
            .store
            .processes(&filter)
            .await?
            .iter()
            .map(|p| process_view(p, &names))
            .collect(),
    ))
}

/// One process.
#[utoipa::path(get, path = "/api/v1/processes/{id}", tag = "processes",
    params(("id" = i64, Path, description = "Process id")),
    responses((status = 200, body = ProcessView), (status = 404, body = ErrorBody)))]
pub async fn process(
    State(state): S,
    _who: Authed,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<ProcessView>> {
    let process = state.store.process(id).await?;
    let names = repository_names(&state.store).await?;
    Ok(Json(process_view(&process, &names)))
}

/// What a cancel did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cancelled {
    /// Process id.
    pub id: i64,
    /// `cancelled` (it was queued), `requested` (its host stops it) or
    /// `already_ended`.
    pub outcome: &'static str,
    /// Its status now.
    pub status: String,
}

/// Cancels a queued or running process, whichever host runs it (operator).
#[utoipa::path(post, path = "/api/v1/processes/{id}/cancel", tag = "processes",
    params(("id" = i64, Path, description = "Process id")),
    responses((status = 200, body = Cancelled), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): S,
    who: Authed,
    PathParam(id): PathParam<i64>,
) -> ApiResult<Json<Cancelled>> {
    who.require(Role::Operator, "process.cancel", &id.to_string())
        .await?;
    state.store.process(id).await?;
    let reason = format!("cancelled by {} through the HTTP API", who.caller.user);
    let outcome = state.store.request_cancel(id, &reason).await?;
    let status = state.store.process(id).await?.status.to_string();
    let outcome = match outcome {
        CancelOutcome::Cancelled => "cancelled",
        CancelOutcome::Requested => "requested",
        CancelOutcome::AlreadyEnded(_) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("process {id} has already ended ({status}); nothing to cancel"),
            ));
        }
    };
    who.audit("process.cancel", &id.to_string(), outcome).await;
    Ok(Json(Cancelled {
        id,
        outcome,
        status,
    }))
}

/// The schedules.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules",
    responses((status = 200, body = Vec<ScheduleView>), (status = 401, body = ErrorBody)))]
pub async fn schedules_list(State(state): S, _who: Authed) -> ApiResult<Json<Vec<ScheduleView>>> {
    let names = repository_names(&state.store).await?;
    Ok(Json(
        state
            .store
            .schedules()
            .await?
            .iter()
            .map(|row| schedules::view(row, &names))
            .collect(),
    ))
}

/// One schedule, with its next five due times.
#[utoipa::path(get, path = "/api/v1/schedules/{name}", tag = "schedules",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, body = ScheduleView), (status = 404, body = ErrorBody)))]
pub async fn schedule_show(
    State(state): S,
    _who: Authed,
    PathParam(name): PathParam<String>,
) -> ApiResult<Json<ScheduleView>> {
    let row = state.store.schedule(&name).await?;
    let names = repository_names(&state.store).await?;
    Ok(Json(schedules::view(&row, &names)))
}

/// A schedule to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScheduleBody {
    /// Unique name.
    pub name: String,
    /// Cron expression, UTC: five fields, or six with seconds first.
    pub cron: String,
    /// Repository name.
    pub repository: String,
    /// Actions, run in this order.
    pub actions: Vec<String>,
    /// A failed step does not stop the rest.
    #[serde(default)]
    pub continue_on_failure: bool,
    /// Fires when due (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Adds a schedule (admin).
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules", request_body = NewScheduleBody,
    responses((status = 201, body = ScheduleView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn schedule_add(
    State(state): S,
    who: Authed,
    JsonBody(body): JsonBody<NewScheduleBody>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    who.require(Role::Admin, "schedule.add", &body.name).await?;
    let row = schedules::add(
        &state.host,
        &state.store,
        ScheduleRequest {
            name: body.name,
            cron: body.cron,
            repository: body.repository,
            actions: body.actions,
            continue_on_failure: body.continue_on_failure,
            enabled: body.enabled,
        },
    )
    .await?;
    who.audit("schedule.add", &row.name, "ok").await;
    let names = repository_names(&state.store).await?;
    Ok((StatusCode::CREATED, Json(schedules::view(&row, &names))))
}

/// What to change in a schedule; what is not given stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleChangeBody {
    /// New cron expression; the next due time counts from now.
    pub cron: Option<String>,
    /// New repository.
    pub repository: Option<String>,
    /// New actions, replacing the list.
    pub actions: Option<Vec<String>>,
    /// Whether a failed step lets the rest run.
    pub continue_on_failure: Option<bool>,
    /// Fire when due.
    pub enabled: Option<bool>,
}

/// Changes a schedule (admin).
#[utoipa::path(patch, path = "/api/v1/schedules/{name}", tag = "schedules",
    params(("name" = String, Path, description = "Schedule name")), request_body = ScheduleChangeBody,
    responses((status = 200, body = ScheduleView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn schedule_edit(
    State(state): S,
    who: Authed,
    PathParam(name): PathParam<String>,
    JsonBody(body): JsonBody<ScheduleChangeBody>,
) -> ApiResult<Json<ScheduleView>> {
    who.require(Role::Admin, "schedule.edit", &name).await?;
    let row = schedules::edit(
        &state.host,
        &state.store,
        &name,
        schedules::ScheduleEdit {
            cron: body.cron,
            repository: body.repository,
            actions: body.actions,
            continue_on_failure: body.continue_on_failure,
            enabled: body.enabled,
        },
    )
    .await?;
    who.audit("schedule.edit", &name, "ok").await;
    let names = repository_names(&state.store).await?;
    Ok(Json(schedules::view(&row, &names)))
}

/// A cron expression to check.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CronQuery {
    /// Cron expression, UTC: five fields, or six with seconds first.
    pub cron: String,
}

/// What a cron expression means: its next five due times.
#[derive(Debug, Serialize, ToSchema)]
pub struct CronPreview {
    /// The expression as given.
    pub cron: String,
    /// The next five due times from now (RFC 3339, UTC).
    pub upcoming: Vec<String>,
}

/// The next five due times of a cron expression, or what is wrong with it
/// (field and column), as a schedule form previews it.
#[utoipa::path(get, path = "/api/v1/cron/preview", tag = "schedules", params(CronQuery),
    responses((status = 200, body = CronPreview), (status = 400, body = ErrorBody)))]
pub async fn cron_preview(
    _who: Authed,
    QueryParams(query): QueryParams<CronQuery>,
) -> ApiResult<Json<CronPreview>> {
    let spec = schedules::CronSpec::parse(&query.cron)
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    Ok(Json(CronPreview {
        upcoming: spec
            .upcoming(chrono::Utc::now(), 5)
            .iter()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .collect(),
        cron: query.cron,
    }))
}

/// Removes a schedule (admin); what it queued stays.
#[utoipa::path(delete, path = "/api/v1/schedules/{name}", tag = "schedules",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn schedule_remove(
    State(state): S,
    who: Authed,
    PathParam(name): PathParam<String>,
) -> ApiResult<StatusCode> {
    who.require(Role::Admin, "schedule.remove", &name).await?;
    schedules::remove(&state.store, &name).await?;
    who.audit("schedule.remove", &name, "ok").await;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a schedule's chain now (operator); `invhost serve` runs it.
#[utoipa::path(post, path = "/api/v1/schedules/{name}/run", tag = "schedules",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 202, body = Vec<ProcessView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn schedule_run(
    State(state): S,
    who: Authed,
    PathParam(name): PathParam<String>,
) -> ApiResult<(StatusCode, Json<Vec<ProcessView>>)> {
    who.require(Role::Operator, "schedule.run", &name).await?;
    let queued = schedules::queue_now(&state.host, &state.store, &name).await?;
    let ids: Vec<String> = queued.iter().map(|p| p.id.to_string()).collect();
    who.audit(
        "schedule.run",
        &name,
        &format!("ok: processes {}", ids.join(",")),
    )
    .await;
    let names = repository_names(&state.store).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(queued.iter().map(|p| process_view(p, &names)).collect()),
    ))
}

/// Which rows of a view, in which order, in which format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    /// Repository name (default `Default Inventory`).
    pub repository: Option<String>,
    /// Rows with this text in any text field (case-insensitive).
    pub q: Option<String>,
    /// A field to order by; `-field` for descending.
    pub sort: Option<String>,
    /// Rows at most (default 100, at most 10,000; CSV: all rows).
    pub limit: Option<u64>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// `json` (default) or `csv` (a download of every matching row).
    pub format: Option<String>,
}

/// A page of a view.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryPage {
    /// The view.
    pub view: String,
    /// Rows matching the search, in all.
    pub total: u64,
    /// The rows, as `invhost inventory VIEW --json` gives them.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Value>,
}

/// Rows of a CSV download read from the database at a time.
const CSV_PAGE: u64 = 5_000;

/// A page of an inventory view, searched and sorted on the server:
/// devices, users, applications, installations, usage, skus, assignments,
/// activations, product-usage, licences, reclaim; `format=csv` downloads
/// every matching row.
#[utoipa::path(get, path = "/api/v1/inventory/{view}", tag = "inventory",
    params(("view" = String, Path, description = "The view"), InventoryQuery),
    responses((status = 200, body = InventoryPage), (status = 200, description = "format=csv", content_type = "text/csv"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn inventory_view(
    State(state): S,
    _who: Authed,
    PathParam(view): PathParam<String>,
    QueryParams(query): QueryParams<InventoryQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let parsed: View = view.parse().map_err(|e: String| ApiError::not_found(e))?;
    let repository = state
        .store
        .repository(
            query
                .repository
                .as_deref()
                .unwrap_or(repo_store::DEFAULT_REPOSITORY),
        )
        .await?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format '{other}': json or csv"
            )));
        }
    };
    let sort = query.sort.as_deref().map(|s| match s.strip_prefix('-') {
        Some(field) => (field.to_owned(), true),
        None => (s.to_owned(), false),
    });
    let offset = query.offset.unwrap_or(0);
    if let Some(kind) = parsed.kind() {
        let raw = repo_store::RawQuery {
            search: query.q.clone(),
            sort,
            ..Default::default()
        };
        if csv {
            let name = format!("{}-{}.csv", repository.name, parsed.name());
            return Ok(csv_response(
                &name,
                raw_csv(state, repository.id, kind, raw, offset),
            ));
        }
        let limit = query.limit.unwrap_or(100).min(10_000);
        let total = state.store.raw_count(repository.id, kind, &raw).await?;
        let rows = state
            .store
            .raw_rows_where(
                repository.id,
                kind,
                repo_store::Page { limit, offset },
                &raw,
            )
            .await?;
        return Ok(Json(InventoryPage {
            view: parsed.name().to_owned(),
            total,
            rows: rows.into_iter().map(Value::Object).collect(),
        })
        .into_response());
    }
    if !matches!(parsed, View::ProductUsage | View::Licences | View::Reclaim) {
        return Err(ApiError::not_found(format!(
            "'{view}' is not a list view; explain a device or product with invhost inventory explain"
        )));
    }
    let mut rows: Vec<Value> = consolidated_rows(&state, repository.id, parsed)
        .await?
        .to_vec();
    if let Some(text) = query
        .q
        .as_deref()
        .map(str::to_lowercase)
        .filter(|t| !t.is_empty())
    {
        rows.retain(|row| {
            row.as_object().is_some_and(|o| {
                o.values()
                    .any(|v| v.as_str().is_some_and(|s| s.to_lowercase().contains(&text)))
            })
        });
    }
    if let Some((field, descending)) = &sort {
        let known = rows
            .first()
            .and_then(Value::as_object)
            .is_none_or(|o| o.contains_key(field));
        if !known {
            return Err(ApiError::bad_request(format!(
                "cannot sort {} by '{field}'",
                parsed.name()
            )));
        }
        rows.sort_by(|a, b| {
            let order = compare(&a[field.as_str()], &b[field.as_str()]);
            if *descending { order.reverse() } else { order }
        });
    }
    let total = rows.len() as u64;
    let limit = if csv {
        usize::MAX
    } else {
        query.limit.unwrap_or(100).min(10_000) as usize
    };
    let rows: Vec<Value> = rows.into_iter().skip(offset as usize).take(limit).collect();
    if csv {
        let name = format!("{}-{}.csv", repository.name, parsed.name());
        let text = to_csv(&rows, true)?;
        return Ok(csv_response(
            &name,
            futures_util::stream::iter([Ok::<_, std::io::Error>(text)]),
        ));
    }
    Ok(Json(InventoryPage {
        view: parsed.name().to_owned(),
        total,
        rows,
    })
    .into_response())
}

/// Which repository to explain in.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    /// Repository name (default `Default Inventory`).
    pub repository: Option<String>,
}

/// The raw rows and the rule behind a consolidated device (id or name) or
/// product (id), as `invhost inventory explain` gives them.
#[utoipa::path(get, path = "/api/v1/explain/{subject}/{id}", tag = "inventory",
    params(("subject" = String, Path, description = "device or product"), ("id" = String, Path, description = "Its id (a device also by name)"), ExplainQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn explain(
    State(state): S,
    _who: Authed,
    PathParam((subject, id)): PathParam<(String, String)>,
    QueryParams(query): QueryParams<ExplainQuery>,
) -> ApiResult<Json<Value>> {
    let repository = state
        .store
        .repository(
            query
                .repository
                .as_deref()
                .unwrap_or(repo_store::DEFAULT_REPOSITORY),
        )
        .await?;
    let (subject, id) = host_engine::inventory::subject(&[subject, id])?;
    let value = match subject {
        host_engine::inventory::Subject::Device => {
            serde_json::to_value(state.store.explain_device(repository.id, &id).await?)
        }
        host_engine::inventory::Subject::Product => {
            let id: i64 = id.parse().map_err(|_| {
                ApiError::bad_request(format!("'{id}' is not a product id (see product-usage)"))
            })?;
            serde_json::to_value(state.store.explain_product(repository.id, id).await?)
        }
    };
    Ok(Json(value.map_err(|e| ApiError::internal(&e))?))
}

/// Which consolidation a repository's consolidated data comes from.
async fn run_key(state: &ApiState, repository_id: i64) -> ApiResult<String> {
    Ok(match state.store.consolidation_run(repository_id).await? {
        Some(run) => format!("{:?}@{}", run.process_id, run.consolidated_at),
        None => String::new(),
    })
}

/// A consolidated view's rows, computed once per consolidation: they change
/// only when a consolidation commits. Rows computed while one committed are
/// not kept. The work runs in a task of its own, so a client that leaves
/// does not waste it.
pub(crate) async fn consolidated_rows(
    state: &Arc<ApiState>,
    repository_id: i64,
    view: View,
) -> ApiResult<Arc<Vec<Value>>> {
    let slot = {
        let mut slots = state
            .consolidated
            .lock()
            .map_err(|_| ApiError::internal(&"the view cache is poisoned"))?;
        Arc::clone(slots.entry((repository_id, view.name())).or_default())
    };
    let state = Arc::clone(state);
    let filled = tokio::spawn(async move {
        let mut cached = slot.lock().await;
        let before = run_key(&state, repository_id).await?;
        if let Some((key, rows)) = cached.as_ref()
            && *key == before
        {
            return Ok(Arc::clone(rows));
        }
        let rows = Arc::new(match view {
            View::ProductUsage => values(&state.store.product_usage(repository_id).await?)?,
            View::Licences => values(&state.store.licence_summary(repository_id).await?)?,
            _ => values(&state.store.reclaim_list(repository_id).await?)?,
        });
        if run_key(&state, repository_id).await? == before {
            *cached = Some((before, Arc::clone(&rows)));
        }
        Ok(rows)
    });
    filled.await.map_err(|e| ApiError::internal(&e))?
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Greater,
        (_, Value::Null) => std::cmp::Ordering::Less,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Rows as CSV: the first row's fields make the header; nested values are
/// written as JSON.
fn to_csv(rows: &[Value], header: bool) -> ApiResult<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fields: Vec<String> = rows
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    if header && !fields.is_empty() {
        out.write_record(&fields)
            .map_err(|e| ApiError::internal(&e))?;
    }
    for row in rows {
        let record: Vec<String> = fields
            .iter()
            .map(|f| match &row[f.as_str()] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        out.write_record(&record)
            .map_err(|e| ApiError::internal(&e))?;
    }
    let bytes = out.into_inner().map_err(|e| ApiError::internal(&e))?;
    String::from_utf8(bytes).map_err(|e| ApiError::internal(&e))
}

/// Every matching raw row as CSV, read [`CSV_PAGE`] rows at a time, so a
/// download of a million rows holds one page in memory. In the default
/// order each page starts after the last row of the one before (a deep page
/// costs what the first does); a sorted download pages by offset.
fn raw_csv(
    state: Arc<ApiState>,
    repository_id: i64,
    kind: connector_core::RecordKind,
    query: repo_store::RawQuery,
    offset: u64,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> {
    let keyed = query.sort.is_none();
    futures_util::stream::unfold(Some((offset, None::<(i64, String)>)), move |next| {
        let (state, mut query) = (Arc::clone(&state), query.clone());
        async move {
            let (at, after) = next?;
            let first = at == offset;
            let page = repo_store::Page {
                limit: CSV_PAGE,
                offset: if keyed && !first { 0 } else { at },
            };
            query.after = after;
            let (rows, last) = match state
                .store
                .raw_rows_keyed(repository_id, kind, page, &query)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "A CSV download failed.");
                    return Some((Err(std::io::Error::other("the download failed")), None));
                }
            };
            let full = rows.len() as u64 == CSV_PAGE;
            let rows: Vec<Value> = rows.into_iter().map(Value::Object).collect();
            let text = match to_csv(&rows, first) {
                Ok(text) => text,
                Err(_) => {
                    return Some((Err(std::io::Error::other("the download failed")), None));
                }
            };
            let next = (at + CSV_PAGE, if keyed { last } else { None });
            Some((Ok(text), full.then_some(next)))
        }
    })
}

fn csv_response(
    name: &str,
    body: impl futures_util::Stream<Item = Result<String, std::io::Error>> + Send + 'static,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.',
            "_"
        )
    );
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

fn values<T: Serialize>(rows: &[T]) -> ApiResult<Vec<Value>> {
    rows.iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::internal(&e))
}

/// How much of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Newest first, at most this many (default 100, at most 1000).
    pub limit: Option<u64>,
}

/// The audit log, newest first (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditQuery),
    responses((status = 200, body = Vec<AuditView>), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): S,
    who: Authed,
    QueryParams(query): QueryParams<AuditQuery>,
) -> ApiResult<Json<Vec<AuditView>>> {
    who.require(Role::Admin, "audit.read", "audit log").await?;
    let rows = state
        .store
        .audit_log(query.limit.unwrap_or(100).min(1000))
        .await?;
    Ok(Json(rows.iter().map(accounts::audit_view).collect()))
}

/// Monitoring in the Prometheus text format (any role): processes by
/// status and action, queue depth, durations, rows written.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, body = String, content_type = "text/plain"), (status = 401, body = ErrorBody)))]
pub async fn metrics(
    State(state): S,
    _who: Authed,
) -> ApiResult<impl axum::response::IntoResponse> {
    let stats = state.store.process_stats().await?;
    let mut out = String::new();
    let label = |text: &str| {
        text.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    out.push_str("# HELP invhost_processes Processes in the log, by status and action.\n");
    out.push_str("# TYPE invhost_processes gauge\n");
    let mut queued = 0;
    let mut running = 0;
    for (status, action, n) in &stats.by_status_and_action {
        out.push_str(&format!(
            "invhost_processes{{status=\"{}\",action=\"{}\"}} {n}\n",
            label(status),
            label(action)
        ));
        match status.as_str() {
            "queued" => queued += n,
            "running" => running += n,
            _ => {}
        }
    }
    out.push_str(
        "# HELP invhost_queue_depth Processes waiting to run.\n# TYPE invhost_queue_depth gauge\n",
    );
    out.push_str(&format!("invhost_queue_depth {queued}\n"));
    out.push_str("# HELP invhost_processes_running Processes running on any host.\n# TYPE invhost_processes_running gauge\n");
    out.push_str(&format!("invhost_processes_running {running}\n"));
    out.push_str("# HELP invhost_process_duration_seconds Time from start to end of ended processes, by action.\n");
    out.push_str("# TYPE invhost_process_duration_seconds summary\n");
    for (action, n, secs) in &stats.durations {
        let action = label(action);
        out.push_str(&format!(
            "invhost_process_duration_seconds_sum{{action=\"{action}\"}} {secs:.3}\n\
             invhost_process_duration_seconds_count{{action=\"{action}\"}} {n}\n"
        ));
    }
    out.push_str("# HELP invhost_records_written_total Rows published by succeeded processes, by record kind.\n");
    out.push_str("# TYPE invhost_records_written_total counter\n");
    for (kind, n) in &stats.records {
        out.push_str(&format!(
            "invhost_records_written_total{{kind=\"{}\"}} {n}\n",
            label(kind)
        ));
    }
    out.push_str(
        "# HELP invhost_connector_counter_total Counters connectors report, added up over succeeded syncs (graph_requests, graph_throttled, ...).\n",
    );
    out.push_str("# TYPE invhost_connector_counter_total counter\n");
    for (name, n) in &stats.counters {
        out.push_str(&format!(
            "invhost_connector_counter_total{{counter=\"{}\"}} {n}\n",
            label(name)
        ));
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    ))
}

/// How often the event streams look at the process log.
const EVENTS_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Every how many looks an event stream checks the caller's credentials
/// again (10 s): a revoked token or an ended session ends the stream.
const CREDENTIALS_EVERY: u32 = 20;

/// A process's life as Server-Sent Events: an `process` event (the process
/// as `GET /api/v1/processes/{id}` gives it) at once and whenever its
/// status or progress changes, on whichever host it runs; the stream ends
/// after the event of its end.
#[utoipa::path(get, path = "/api/v1/processes/{id}/events", tag = "processes",
    params(("id" = i64, Path, description = "Process id")),
    responses((status = 200, description = "text/event-stream of `process` events", content_type = "text/event-stream"), (status = 404, body = ErrorBody)))]
pub async fn process_events(
    State(state): S,
    who: Authed,
    PathParam(id): PathParam<i64>,
) -> ApiResult<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    state.store.process(id).await?;
    // A process keeps its repository: its name is looked up once.
    let names = Arc::new(repository_names(&state.store).await?);
    let stream = futures_util::stream::unfold(
        (state, None::<String>, false, who),
        move |(state, last, done, who)| {
            let names = Arc::clone(&names);
            async move {
                if done {
                    return None;
                }
                let mut polls = 0u32;
                loop {
                    polls += 1;
                    if polls.is_multiple_of(CREDENTIALS_EVERY) && !who.still_valid().await {
                        return None;
                    }
                    let Ok(process) = state.store.process(id).await else {
                        return None;
                    };
                    let view = process_view(&process, &names);
                    let text = serde_json::to_string(&view).unwrap_or_default();
                    if last.as_deref() != Some(text.as_str()) {
                        let ended = process.status.is_ended();
                        let event = axum::response::sse::Event::default()
                            .event("process")
                            .data(text.clone());
                        return Some((Ok(event), (state, Some(text), ended, who)));
                    }
                    tokio::time::sleep(EVENTS_POLL).await;
                }
            }
        },
    );
    Ok(axum::response::sse::Sse::new(stream).keep_alive(axum::response::sse::KeepAlive::default()))
}

/// The process log as Server-Sent Events: a `process` event for each of
/// the newest processes matching the filter (100 unless `limit` says) at
/// once, then one whenever a process is queued or changes (status,
/// progress), on any host. A process that leaves the filter (a running one
/// that succeeds, under `status=running`) gets one last event with its
/// new state.
#[utoipa::path(get, path = "/api/v1/processes/events", tag = "processes", params(ProcessQuery),
    responses((status = 200, description = "text/event-stream of `process` events", content_type = "text/event-stream"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn log_events(
    State(state): S,
    who: Authed,
    QueryParams(query): QueryParams<ProcessQuery>,
) -> ApiResult<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    type Seen = std::collections::HashMap<i64, String>;
    let filter = Arc::new(process_filter(&state, &query).await?);
    let mut followed = Seen::new();
    for id in query
        .follow
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .take(100)
    {
        if let Ok(id) = id.trim().parse::<i64>() {
            followed.insert(id, String::new());
        }
    }
    let stream = futures_util::stream::unfold(
        (
            state,
            followed,
            std::collections::VecDeque::<String>::new(),
            who,
            0u32,
        ),
        move |(state, mut seen, mut ready, who, mut polls)| {
            let filter = Arc::clone(&filter);
            async move {
                loop {
                    if let Some(text) = ready.pop_front() {
                        let event = axum::response::sse::Event::default()
                            .event("process")
                            .data(text);
                        return Some((Ok(event), (state, seen, ready, who, polls)));
                    }
                    tokio::time::sleep(EVENTS_POLL).await;
                    polls += 1;
                    if polls.is_multiple_of(CREDENTIALS_EVERY) && !who.still_valid().await {
                        return None;
                    }
                    let Ok(processes) = state.store.processes(&filter).await else {
                        continue;
                    };
                    let names = repository_names(&state.store).await.unwrap_or_default();
                    // A process that left the list: its last change is sent once
                    // (it may have left the filter by changing), then it is
                    // forgotten, so memory stays flat.
                    let gone: Vec<i64> = seen
                        .keys()
                        .filter(|id| !processes.iter().any(|p| p.id == **id))
                        .copied()
                        .collect();
                    // Followed until it ends (a queued one that leaves
                    // `status=queued` still runs and ends), at most 100 of them.
                    for (n, id) in gone.into_iter().enumerate() {
                        let sent = seen.remove(&id);
                        if let Ok(process) = state.store.process(id).await {
                            let text = serde_json::to_string(&process_view(&process, &names))
                                .unwrap_or_default();
                            if sent.as_ref() != Some(&text) {
                                ready.push_back(text.clone());
                            }
                            if !process.status.is_ended() && n < 100 {
                                seen.insert(id, text);
                            }
                        }
                    }
                    for process in processes.iter().rev() {
                        let text = serde_json::to_string(&process_view(process, &names))
                            .unwrap_or_default();
                        if seen.get(&process.id) != Some(&text) {
                            seen.insert(process.id, text.clone());
                            ready.push_back(text);
                        }
                    }
                }
            }
        },
    );
    Ok(axum::response::sse::Sse::new(stream).keep_alive(axum::response::sse::KeepAlive::default()))
}
