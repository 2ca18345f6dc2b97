//! `/v1/internal/`: node-to-node calls (see `crate::peer_client`). Not in the OpenAPI
//! document: only glusterd2 daemons call these.

use std::sync::Arc;

use axum::{Json, Router, extract::State, routing::post};
use gd_api::{
    Peer,
    internal::{JoinReq, LeaveReq},
};

use super::{ApiResult, SharedState, http::JsonBody};
use crate::node::Node;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/internal/join", post(join))
        .route("/v1/internal/leave", post(leave))
}

async fn join(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<JoinReq>,
) -> ApiResult<Json<Peer>> {
    Ok(Json(node.join(req).await?))
}

async fn leave(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<LeaveReq>,
) -> ApiResult<Json<serde_json::Value>> {
    node.leave(req).await?;
    Ok(Json(serde_json::json!({})))
}
