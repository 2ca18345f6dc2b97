//! `/v1/peers`: the storage servers of the cluster.

use axum::{
    Json,
    extract::{Path, State},
};
use gd_api::{ErrorCode, ErrorResp, Peer};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{ApiErr, ApiResult, SharedState};
use crate::peers;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_peers))
        .routes(routes!(get_peer))
}

/// List the peers of the cluster, with their liveness.
#[utoipa::path(
    get, path = "/v1/peers", tag = "peers", operation_id = "PeerList",
    responses(
        (status = 200, description = "Every peer", body = Vec<Peer>),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_peers(State(state): State<SharedState>) -> ApiResult<Json<Vec<Peer>>> {
    Ok(Json(peers::list_peers(state.store.as_ref()).await?))
}

/// One peer.
#[utoipa::path(
    get, path = "/v1/peers/{peerid}", tag = "peers", operation_id = "PeerGet",
    params(("peerid" = String, Path, description = "The peer's id (a UUID)")),
    responses(
        (status = 200, description = "The peer", body = Peer),
        (status = 400, description = "The id is not a UUID", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 404, description = "No such peer", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn get_peer(
    State(state): State<SharedState>,
    Path(peerid): Path<String>,
) -> ApiResult<Json<Peer>> {
    let id = Uuid::parse_str(&peerid).map_err(|_| {
        ApiErr::new(
            ErrorCode::InvalidRequest,
            format!("invalid peer id {peerid:?}: not a UUID"),
        )
        .field("peer-id", &peerid)
    })?;
    match peers::get_peer(state.store.as_ref(), id).await? {
        Some(p) => Ok(Json(p)),
        None => Err(
            ApiErr::new(ErrorCode::NotFound, format!("peer {id} not found"))
                .field("peer-id", id.to_string()),
        ),
    }
}
