//! `/v1/tasks`: the work that runs once per object under an elected leader (a volume's
//! rebalance), whichever feature brought it (see `gd_core::task`).

use axum::{Json, extract::State};
use gd_api::{ErrorCode, ErrorResp, TaskInfo};
use gd_core::task::{self, TaskRecord};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiErr, ApiResult, SharedState, http::QueryArgs};
use gd_feature::Cluster;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(list_tasks))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// Only the tasks of this kind ("rebalance").
    #[param(pattern = "^[a-z0-9-]{1,64}$")]
    kind: Option<String>,
    /// Only the tasks on this object (a volume's name).
    object: Option<String>,
}

/// Every task, running or ended (the last of each kind and object), with its leader; `kind`
/// and `object` narrow the list (a volume's tasks: `?object=<volume>`).
#[utoipa::path(
    get, path = "/v1/tasks", tag = "tasks", operation_id = "TaskList",
    params(ListParams),
    responses(
        (status = 200, description = "Every task, by kind then object", body = Vec<TaskInfo>),
        (status = 400, description = "Invalid query", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_tasks(
    State(cx): State<Cluster>,
    QueryArgs(q): QueryArgs<ListParams>,
) -> ApiResult<Json<Vec<TaskInfo>>> {
    if let Some(kind) = &q.kind
        && (kind.is_empty()
            || kind.len() > 64
            || !kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(ApiErr::new(
            ErrorCode::InvalidRequest,
            "kind is a task kind: lower-case letters, digits and '-' (rebalance)",
        )
        .field("kind", kind.as_str()));
    }
    let store = cx.node.store.as_ref();
    let tasks = match &q.kind {
        Some(kind) => task::list_kind(store, kind).await,
        None => task::list(store).await,
    }
    .map_err(gd_core::OpError::from)?;
    Ok(Json(
        tasks
            .into_iter()
            .filter(|t| q.object.as_ref().is_none_or(|o| *o == t.object))
            .map(TaskRecord::to_api)
            .collect(),
    ))
}
