//! `/v1/tasks`: the work that runs once per object under an elected leader (a volume's
//! rebalance), whichever feature brought it (see `gd_core::task`).

use axum::{Json, extract::State};
use gd_api::{ErrorResp, TaskInfo};
use gd_core::task::{self, TaskRecord, TaskState};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiResult, SharedState};
use gd_feature::Cluster;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(list_tasks))
}

fn info(t: TaskRecord) -> TaskInfo {
    TaskInfo {
        state: match t.state {
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Stopped => "stopped",
            TaskState::Failed => "failed",
        }
        .to_owned(),
        kind: t.kind,
        object: t.object,
        leader: t.leader,
        message: t.message,
        progress: t.progress,
    }
}

/// Every task, running or ended (the last of each kind and object), with its leader.
#[utoipa::path(
    get, path = "/v1/tasks", tag = "tasks", operation_id = "TaskList",
    responses(
        (status = 200, description = "Every task, by kind then object", body = Vec<TaskInfo>),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_tasks(State(cx): State<Cluster>) -> ApiResult<Json<Vec<TaskInfo>>> {
    let tasks = task::list(cx.node.store.as_ref())
        .await
        .map_err(gd_core::OpError::from)?;
    Ok(Json(tasks.into_iter().map(info).collect()))
}
