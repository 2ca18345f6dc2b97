//! `/v1/volumes/{volname}/rebalance`: start, stop, status (GD2's paths and bodies), and
//! `/v1/volumes/{volname}/remove-brick` (GD2 had none: GD1's verbs as paths). Thin: each
//! handler decodes the request and answers with what the operation returned.

use axum::{
    Json,
    extract::{Path, State},
};
use gd_api::{ErrorResp, RebalanceStartReq, RebalanceStatus, RemoveBrickReq, VolumeInfo};
use utoipa_axum::{router::OpenApiRouter, routes};

use gd_feature::{
    Cluster,
    http::{self, ApiResult, JsonBody, RawBody},
};

use crate::{ops, remove};

/// Every route of the rebalance feature.
pub fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(start_rebalance))
        .routes(routes!(stop_rebalance))
        .routes(routes!(rebalance_status))
        .routes(routes!(remove_brick_start))
        .routes(routes!(remove_brick_stop))
        .routes(routes!(remove_brick_commit))
        .routes(routes!(remove_brick_status))
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

/// Start removing bricks (GD1's `remove-brick <v> <bricks…> start`): their sets are
/// decommissioned (no new file goes there) and a rebalance process on each of their nodes
/// moves their files to the other sets. The answer comes once every process runs.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/remove-brick/start", tag = "rebalance", operation_id = "RemoveBrickStart",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = RemoveBrickReq,
    responses(
        (status = 200, description = "The migration, with every node's part", body = RebalanceStatus),
        (status = 400, description = "Bricks that are not in the volume or not whole sets, every set, or a replica change", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, a node or brick is down, or files move already", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn remove_brick_start(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<RemoveBrickReq>,
) -> ApiResult<Json<RebalanceStatus>> {
    Ok(Json(remove::start(&cx, &volname, req).await?))
}

/// Stop a remove-brick: its migration stops (files moved stay moved) and the bricks stay in
/// the volume, getting new files again.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/remove-brick/stop", tag = "rebalance", operation_id = "RemoveBrickStop",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body(content = Option<RemoveBrickReq>, description = "Optional: the bricks of the started remove-brick"),
    responses(
        (status = 200, description = "The stopped migration", body = RebalanceStatus),
        (status = 400, description = "Bricks other than the started remove-brick's", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "No remove-brick of the volume has started", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn remove_brick_stop(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<RebalanceStatus>> {
    let req: RemoveBrickReq = http::optional_body(&body)?;
    Ok(Json(remove::stop(&cx, &volname, req).await?))
}

/// Commit a remove-brick (GD1's `commit`), or remove bricks without moving their files
/// (`force`, GD1's `force`; also how the replica count is lowered): the bricks leave the
/// volume and their processes stop. Their directories keep what they hold.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/remove-brick/commit", tag = "rebalance", operation_id = "RemoveBrickCommit",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = RemoveBrickReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The volume without the bricks", body = VolumeInfo),
        (status = 400, description = "Bricks that are not in the volume, not whole sets, other than the started remove-brick's, or not emptied without force", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The migration runs, failed, was stopped or left files, without force", body = ErrorResp),
        (status = 500, description = "A step failed on a node (code 2, fields step, peer-id, error); nothing was changed", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn remove_brick_commit(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<RemoveBrickReq>,
) -> ApiResult<Json<VolumeInfo>> {
    Ok(Json(remove::commit(&cx, &volname, req).await?))
}

/// The last remove-brick's migration: its state, leader, the leaving bricks and every node's
/// counters, from the store.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/remove-brick", tag = "rebalance", operation_id = "RemoveBrickStatus",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "The last remove-brick's migration", body = RebalanceStatus),
        (status = 404, description = "No such volume, or no remove-brick since its last rebalance", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn remove_brick_status(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
) -> ApiResult<Json<RebalanceStatus>> {
    Ok(Json(remove::status(&cx, &volname).await?))
}
