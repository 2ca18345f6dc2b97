//! `/v1/peers`: the storage servers of the cluster.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
};
use gd_api::{ErrorCode, ErrorResp, JoinToken, Peer, PeerAddReq, PeerEditReq};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    ApiErr, ApiResult, SharedState,
    http::{JsonBody, QueryArgs},
};
use crate::node::Node;
use crate::peers;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_peers, add_peer))
        .routes(routes!(get_peer, edit_peer, remove_peer))
        .routes(routes!(join_token))
}

/// This node's join token: what a cluster must show (`token` of `POST /v1/peers`) to make this
/// node join it while it is alone. A new one is made whenever the node leaves a cluster.
#[utoipa::path(
    get, path = "/v1/join-token", tag = "peers", operation_id = "JoinTokenGet",
    responses(
        (status = 200, description = "The join token", body = JoinToken),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 500, description = "The token file cannot be read or written", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn join_token(State(node): State<Arc<Node>>) -> ApiResult<Json<JoinToken>> {
    Ok(Json(JoinToken {
        token: node.join_token()?,
    }))
}

/// Filters of `GET /v1/peers` (GD2's): `key` only = has the metadata key; `value` only = some
/// metadata value equals it; both = the key has that value.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeerFilter {
    /// A metadata key.
    key: Option<String>,
    /// A metadata value.
    value: Option<String>,
}

/// List the peers of the cluster, with their liveness.
#[utoipa::path(
    get, path = "/v1/peers", tag = "peers", operation_id = "PeerList",
    params(PeerFilter),
    responses(
        (status = 200, description = "Every peer", body = Vec<Peer>),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_peers(
    State(node): State<Arc<Node>>,
    QueryArgs(f): QueryArgs<PeerFilter>,
) -> ApiResult<Json<Vec<Peer>>> {
    let mut list = peers::list_peers(node.store.as_ref()).await?;
    list.retain(|p| super::metadata_matches(&p.metadata, f.key.as_deref(), f.value.as_deref()));
    Ok(Json(list))
}

/// Add the node at one of `addresses` to the cluster. The node must be alone (no other peers,
/// no volumes); it adopts this cluster and its store.
#[utoipa::path(
    post, path = "/v1/peers", tag = "peers", operation_id = "PeerAdd",
    request_body = PeerAddReq,
    responses(
        (status = 201, description = "The new peer", body = Peer, headers(("Location" = String, description = "/v1/peers/<id>"))),
        (status = 400, description = "Invalid request, nothing answers at the address, or the node wants its join token", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 409, description = "The node is not alone, is already a peer, or another add of it is in progress", body = ErrorResp),
        (status = 500, description = "The new node failed the join, or this node has no cluster secret", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn add_peer(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<PeerAddReq>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Peer>)> {
    let peer = node.add_peer(req).await?;
    Ok(super::created(&format!("/v1/peers/{}", peer.id), peer))
}

fn parse_id(peerid: &str) -> Result<Uuid, ApiErr> {
    Uuid::parse_str(peerid).map_err(|_| {
        ApiErr::new(
            ErrorCode::InvalidRequest,
            format!("invalid peer id {peerid:?}: not a UUID"),
        )
        .field("peer-id", peerid)
    })
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
    State(node): State<Arc<Node>>,
    Path(peerid): Path<String>,
) -> ApiResult<Json<Peer>> {
    let id = parse_id(&peerid)?;
    match peers::get_peer(node.store.as_ref(), id).await? {
        Some(p) => Ok(Json(p)),
        None => Err(
            ApiErr::new(ErrorCode::NotFound, format!("peer {id} not found"))
                .field("peer-id", id.to_string()),
        ),
    }
}

/// Edit a peer's zone and metadata.
#[utoipa::path(
    post, path = "/v1/peers/{peerid}", tag = "peers", operation_id = "PeerEdit",
    params(("peerid" = String, Path, description = "The peer's id (a UUID)")),
    request_body = PeerEditReq,
    responses(
        (status = 200, description = "The edited peer", body = Peer),
        (status = 400, description = "Invalid id, zone or metadata", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 404, description = "No such peer", body = ErrorResp),
        (status = 409, description = "The peer is being changed concurrently", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn edit_peer(
    State(node): State<Arc<Node>>,
    Path(peerid): Path<String>,
    JsonBody(req): JsonBody<PeerEditReq>,
) -> ApiResult<Json<Peer>> {
    let id = parse_id(&peerid)?;
    Ok(Json(node.edit_peer(id, req).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RemoveParams {
    /// Remove the peer even when it cannot be told to leave (it is offline); it resets itself
    /// when it comes back.
    #[serde(default)]
    force: bool,
}

/// Remove a peer from the cluster; it goes back to a fresh single-node state.
#[utoipa::path(
    delete, path = "/v1/peers/{peerid}", tag = "peers", operation_id = "PeerRemove",
    params(("peerid" = String, Path, description = "The peer's id (a UUID)"), RemoveParams),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Invalid id, or this node itself", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 404, description = "No such peer", body = ErrorResp),
        (status = 409, description = "The peer hosts bricks or an etcd member, is offline (without force), or is busy", body = ErrorResp),
        (status = 500, description = "This node has no cluster secret to address the peer with", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn remove_peer(
    State(node): State<Arc<Node>>,
    Path(peerid): Path<String>,
    QueryArgs(p): QueryArgs<RemoveParams>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&peerid)?;
    node.remove_peer(id, p.force).await?;
    Ok(StatusCode::NO_CONTENT)
}
