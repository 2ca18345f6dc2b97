//! Volume options, option groups and cluster options.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use gd_api::{
    ClusterOptionGetResp, ClusterOptionReq, ErrorResp, OptionGroup, OptionGroupReq, VolOptionReq,
    VolOptionResetReq, VolumeInfo, VolumeOptionGetResp,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use gd_feature::{
    Cluster,
    http::{ApiResult, JsonBody},
};
use gd_node::node::Node;

use crate::{cluster_options, option_groups, volume_options};

pub(super) fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(list_options, set_options, reset_options))
        .routes(routes!(get_option))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(delete_group))
        .routes(routes!(get_cluster_options, set_cluster_options))
}

/// Set options of a volume, all at once or none. A started volume's clients and bricks are
/// told to fetch their new volfiles and reconfigure in place.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/options", tag = "options", operation_id = "VolumeSet",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = VolOptionReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The volume with its new options", body = VolumeInfo),
        (status = 400, description = "An unknown key or an invalid value (fields name the key); nothing was changed", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is busy", body = ErrorResp),
        (status = 500, description = "A node failed to apply the change (code 2); it was undone", body = ErrorResp),
        (status = 503, description = "No xlator option tables (GlusterFS not installed), or no store", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn set_options(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<VolOptionReq>,
) -> ApiResult<Json<VolumeInfo>> {
    Ok(Json(volume_options::set(&cx, &volname, req).await?))
}

/// Reset options of a volume (some, or all back to what a new volume has).
#[utoipa::path(
    delete, path = "/v1/volumes/{volname}/options", tag = "options", operation_id = "VolumeReset",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = VolOptionResetReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The volume with its remaining options", body = VolumeInfo),
        (status = 400, description = "An unknown key; nothing was changed", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is busy", body = ErrorResp),
        (status = 500, description = "A node failed to apply the change (code 2); it was undone", body = ErrorResp),
        (status = 503, description = "No xlator option tables (GlusterFS not installed), or no store", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn reset_options(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<VolOptionResetReq>,
) -> ApiResult<Json<VolumeInfo>> {
    Ok(Json(volume_options::reset(&cx, &volname, req).await?))
}

/// Every option of every installed xlator, with this volume's value.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/options", tag = "options", operation_id = "VolumeGetAll",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "The options", body = Vec<VolumeOptionGetResp>),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 503, description = "No xlator option tables (GlusterFS not installed), or no store", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_options(
    State(node): State<Arc<Node>>,
    Path(volname): Path<String>,
) -> ApiResult<Json<Vec<VolumeOptionGetResp>>> {
    Ok(Json(volume_options::list(&node, &volname).await?))
}

/// One option of a volume. The key may contain `/` (`cluster/replicate.eager-lock`).
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/options/{*key}", tag = "options", operation_id = "VolumeGet",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("key" = String, Path, description = "The option key, in any accepted spelling"),
    ),
    responses(
        (status = 200, description = "The option", body = VolumeOptionGetResp),
        (status = 400, description = "Invalid volume name, or unknown key", body = ErrorResp),
        (status = 404, description = "No such volume, or a `user.` key the volume does not set", body = ErrorResp),
        (status = 503, description = "No xlator option tables (GlusterFS not installed), or no store", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn get_option(
    State(node): State<Arc<Node>>,
    Path((volname, key)): Path<(String, String)>,
) -> ApiResult<Json<VolumeOptionGetResp>> {
    Ok(Json(volume_options::get(&node, &volname, &key).await?))
}

/// The option groups: the shipped ones (GD1's) and the cluster's own.
#[utoipa::path(
    get, path = "/v1/volumes/options-group", tag = "options", operation_id = "OptionGroupList",
    responses(
        (status = 200, description = "The groups", body = Vec<OptionGroup>),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_groups(State(node): State<Arc<Node>>) -> ApiResult<Json<Vec<OptionGroup>>> {
    Ok(Json(option_groups::list_groups(node.store.as_ref()).await?))
}

/// Add an option group (its options are checked like a set).
#[utoipa::path(
    post, path = "/v1/volumes/options-group", tag = "options", operation_id = "OptionGroupCreate",
    request_body = OptionGroupReq,
    responses(
        (status = 201, description = "The new group", body = OptionGroup),
        (status = 400, description = "A bad name, key or value", body = ErrorResp),
        (status = 409, description = "The group exists, is built in, or the cluster has the most groups it keeps", body = ErrorResp),
        (status = 503, description = "No xlator option tables (GlusterFS not installed), or no store", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn create_group(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<OptionGroupReq>,
) -> ApiResult<(StatusCode, Json<OptionGroup>)> {
    Ok((
        StatusCode::CREATED,
        Json(option_groups::create_group(&node, req).await?),
    ))
}

/// Delete an option group of the cluster's (the shipped ones stay).
#[utoipa::path(
    delete, path = "/v1/volumes/options-group/{groupname}", tag = "options", operation_id = "OptionGroupDelete",
    params(("groupname" = String, Path, description = "The group's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The name breaks the naming rule", body = ErrorResp),
        (status = 404, description = "No such group", body = ErrorResp),
        (status = 409, description = "A built-in group", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn delete_group(
    State(node): State<Arc<Node>>,
    Path(groupname): Path<String>,
) -> ApiResult<StatusCode> {
    option_groups::delete_group(&node, &groupname).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The cluster options.
#[utoipa::path(
    get, path = "/v1/cluster/options", tag = "options", operation_id = "ClusterOptionGet",
    responses(
        (status = 200, description = "The cluster options", body = Vec<ClusterOptionGetResp>),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn get_cluster_options(
    State(node): State<Arc<Node>>,
) -> ApiResult<Json<Vec<ClusterOptionGetResp>>> {
    Ok(Json(cluster_options::get_cluster_options(&node).await?))
}

/// Set cluster options, all or none.
#[utoipa::path(
    post, path = "/v1/cluster/options", tag = "options", operation_id = "ClusterOptionSet",
    request_body = ClusterOptionReq,
    responses(
        (status = 200, description = "The cluster options", body = Vec<ClusterOptionGetResp>),
        (status = 400, description = "An unknown key or a bad value; nothing was changed", body = ErrorResp),
        (status = 409, description = "The cluster options kept changing concurrently", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn set_cluster_options(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<ClusterOptionReq>,
) -> ApiResult<Json<Vec<ClusterOptionGetResp>>> {
    Ok(Json(
        cluster_options::set_cluster_options(&node, req).await?,
    ))
}
