//! `GET /v1/hooks`, and the node-to-node call that queues a node's post-hooks.

use axum::{Json, extract::State, routing::post};
use gd_api::{ErrorResp, NodeHooks};
use gd_core::txn::HookCall;
use gd_feature::{
    Cluster,
    http::{ApiResult, JsonBody},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::inventory;

/// Where a node is told to run its post-hooks for an operation that committed.
pub const POST_PATH: &str = "/v1/internal/hooks/post";

/// The routes of the hooks feature.
pub fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(list_hooks))
        // Node to node: not in the OpenAPI document; signed with the cluster secret.
        .route(POST_PATH, post(post_here))
}

/// The hook scripts of every online node, as each publishes them (it looks at its hooks
/// directory every 2 s): by `<op>/<pre|post>`, the scripts that run, in order.
#[utoipa::path(
    get, path = "/v1/hooks", tag = "hooks", operation_id = "HookList",
    responses(
        (status = 200, description = "Each online node with scripts", body = Vec<NodeHooks>),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_hooks(State(cx): State<Cluster>) -> ApiResult<Json<Vec<NodeHooks>>> {
    let all = inventory::all(cx.node.store.as_ref())
        .await
        .map_err(gd_core::OpError::from)?;
    Ok(Json(
        all.into_iter()
            .map(|(peer_id, r)| NodeHooks {
                peer_id,
                scripts: r.scripts,
            })
            .collect(),
    ))
}

/// Queues this node's post-hooks for an operation that committed (from its initiator).
async fn post_here(
    State(cx): State<Cluster>,
    JsonBody(call): JsonBody<HookCall>,
) -> ApiResult<Json<()>> {
    crate::scripts::check(&call)
        .map_err(|m| gd_core::OpError::new(gd_api::ErrorCode::InvalidRequest, m))?;
    crate::queue_post(&cx.node, call);
    Ok(Json(()))
}
