//! `/v1/volumes/{volname}/rebalance`: start, stop, status (GD2's paths and bodies). Thin: each
//! handler decodes the request and answers with what the operation returned.

use axum::{
    Json,
    extract::{Path, State},
};
use gd_api::{ErrorResp, RebalanceStartReq, RebalanceStatus};
use utoipa_axum::{router::OpenApiRouter, routes};

use gd_feature::{
    Cluster,
    http::{self, ApiResult, RawBody},
};

use crate::ops;

/// Every route of the rebalance feature.
pub fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(start_rebalance))
        .routes(routes!(stop_rebalance))
        .routes(routes!(rebalance_status))
}

/// Start a rebalance (GD1's `volume rebalance <v> [fix-layout] start [force]`): one
/// GlusterFS rebalance process on every node with bricks of the volume, led as one task.
/// The answer comes once every node's process runs.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/rebalance/start", tag = "rebalance", operation_id = "RebalanceStart",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body(content = Option<RebalanceStartReq>, description = "Optional: what to do (\"\" by default)"),
    responses(
        (status = 200, description = "The rebalance, with every node's part", body = RebalanceStatus),
        (status = 400, description = "An unknown option, or a volume of one distribute set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, a node or brick is down, or a rebalance runs already", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn start_rebalance(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<RebalanceStatus>> {
    // No body, or `null`, asks for a plain rebalance.
    let req: RebalanceStartReq = http::optional_body(&body)?;
    Ok(Json(ops::start(&cx, &volname, req).await?))
}

/// Stop the running rebalance: every node's process stops where it is (files moved stay
/// moved). The answer comes once the rebalance has ended.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/rebalance/stop", tag = "rebalance", operation_id = "RebalanceStop",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "The stopped rebalance", body = RebalanceStatus),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "No rebalance of the volume is running", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn stop_rebalance(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
) -> ApiResult<Json<RebalanceStatus>> {
    Ok(Json(ops::stop(&cx, &volname).await?))
}

/// The volume's last rebalance: its state, leader and every node's counters, from the store.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/rebalance", tag = "rebalance", operation_id = "RebalanceStatus",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "The last rebalance", body = RebalanceStatus),
        (status = 404, description = "No such volume, or it was never rebalanced", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn rebalance_status(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
) -> ApiResult<Json<RebalanceStatus>> {
    Ok(Json(ops::status(&cx, &volname).await?))
}
