//! `/v1/volumes/{volname}/heal-info`, `…/{opts}/heal-info` and `…/split-brain/{policy}`
//! (GD2's paths and bodies). Thin: each handler decodes the request and answers with what the
//! operation returned.

use axum::{
    Json,
    extract::{Path, Query as UrlQuery, State},
    routing::post,
};
use gd_api::{
    BrickCrawls, BrickHealCount, BrickHealInfo, ErrorResp, HealLaunchResp, SplitBrainReq,
    SplitBrainResp, VolumeInfo,
};
use gd_core::OpError;
use utoipa_axum::{router::OpenApiRouter, routes};

use gd_feature::{
    Cluster,
    http::{ApiResult, JsonBody},
};

use crate::{
    glfsheal::Query,
    info,
    launch::{self, HealKind, NodeAnswer, NodePart},
    switch,
};

/// Every route of the heal feature.
pub fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(heal_info))
        .routes(routes!(heal_info_of))
        .routes(routes!(split_brain))
        .routes(routes!(heal))
        .routes(routes!(heal_switch))
        .routes(routes!(granular_entry_heal))
        // Node to node: not in the OpenAPI document; signed with the cluster secret.
        .route(launch::INTERNAL_PATH, post(heal_here))
        .route(crate::daemon::STATISTICS_PATH, post(crawls_here))
        .routes(routes!(heal_statistics))
        .route(crate::count::COUNT_PATH, post(count_here))
        .routes(routes!(heal_count))
}

/// `?type=` of a heal launch.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HealParams {
    /// index (the default: the entries the bricks' indices list) or full (the whole volume)
    #[serde(rename = "type", default)]
    kind: String,
}

/// Launch a heal (GD1's `volume heal <v> [full]`): the self-heal daemons crawl the bricks'
/// indices (index) or the whole volume from one brick of each set (full). The answer comes
/// once every daemon took it; `heal-info` shows how far it has come.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/heal", tag = "heal", operation_id = "HealStart",
    params(("volname" = String, Path, description = "The volume's name"), HealParams),
    responses(
        (status = 200, description = "What each brick's self-heal daemon said", body = HealLaunchResp),
        (status = 400, description = "An unknown type, or a volume with no replicated or dispersed set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, its self-heal daemon is disabled or not running, a node is offline, or a brick is down", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn heal(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    UrlQuery(params): UrlQuery<HealParams>,
) -> ApiResult<Json<HealLaunchResp>> {
    let kind = HealKind::from_word(&params.kind).ok_or_else(|| {
        OpError::invalid(format!(
            "unknown heal type {:?}: it is index or full",
            params.kind
        ))
        .field("type", params.kind.clone())
    })?;
    Ok(Json(launch::launch(&cx, &volname, kind).await?))
}

/// This node's part of a heal launch (from the initiator).
async fn heal_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(part): JsonBody<NodePart>,
) -> ApiResult<Json<NodeAnswer>> {
    let vol = info::healable(&cx, &volname, true).await?.serving();
    Ok(Json(launch::launch_here(&cx.node, &vol, &part).await?))
}

/// Heal info (GD1's `volume heal <v> info`): every brick's entries that need heal, read by
/// GlusterFS's `glfsheal` from the bricks' indices.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/heal-info", tag = "heal", operation_id = "HealInfo",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "Every brick: its entries needing heal, its status", body = Vec<BrickHealInfo>),
        (status = 400, description = "A volume with no replicated or dispersed set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn heal_info(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
) -> ApiResult<Json<Vec<BrickHealInfo>>> {
    Ok(Json(info::heal_info(&cx, &volname, Query::Info).await?))
}

/// Heal info of one kind (GD2's `{opts}`): `info-summary` (counts per brick: total, pending,
/// in split-brain, possibly healing) or `split-brain-info` (the entries in split-brain).
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/{opts}/heal-info", tag = "heal", operation_id = "HealInfoOf",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("opts" = String, Path, description = "info-summary, split-brain-info (or info)"),
    ),
    responses(
        (status = 200, description = "Every brick: its counts or its entries in split-brain", body = Vec<BrickHealInfo>),
        (status = 400, description = "An unknown kind, or a volume with no replicated (split-brain) or dispersed set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn heal_info_of(
    State(cx): State<Cluster>,
    Path((volname, opts)): Path<(String, String)>,
) -> ApiResult<Json<Vec<BrickHealInfo>>> {
    let query = Query::from_word(&opts).ok_or_else(|| {
        OpError::invalid(format!(
            "unknown heal info {opts:?}: it is info-summary or split-brain-info"
        ))
        .field("opts", opts.clone())
    })?;
    Ok(Json(info::heal_info(&cx, &volname, query).await?))
}

/// Resolve a split-brain (GD1's `volume heal <v> split-brain bigger-file <file> |
/// latest-mtime <file> | source-brick <host:brick> [<file>]`) with GlusterFS's `glfsheal`.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/split-brain/{policy}", tag = "heal", operation_id = "SplitBrainResolve",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("policy" = String, Path, description = "bigger-file, latest-mtime or source-brick"),
    ),
    request_body = SplitBrainReq,
    responses(
        (status = 200, description = "What glfsheal healed", body = SplitBrainResp),
        (status = 400, description = "An unknown policy, a missing or malformed file, a brick not in the volume, or a volume with no replicated set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, or glfsheal could not heal (the file is not in split-brain...)", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn split_brain(
    State(cx): State<Cluster>,
    Path((volname, policy)): Path<(String, String)>,
    JsonBody(req): JsonBody<SplitBrainReq>,
) -> ApiResult<Json<SplitBrainResp>> {
    Ok(Json(info::split_brain(&cx, &volname, &policy, req).await?))
}

fn on_off(action: &str) -> Result<bool, OpError> {
    match action {
        "enable" => Ok(true),
        "disable" => Ok(false),
        other => Err(OpError::invalid(format!(
            "unknown action {other:?}: it is enable or disable"
        ))),
    }
}

/// Turn the volume's self-heal daemon on or off (GD1's `volume heal <v> enable|disable`, GD2's
/// path): its `cluster.self-heal-daemon` option (`cluster.disperse-self-heal-daemon` for a
/// dispersed volume); the daemons start or stop with it.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/heal/{action}", tag = "heal", operation_id = "HealSwitch",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("action" = String, Path, description = "enable or disable"),
    ),
    responses(
        (status = 200, description = "The volume, with its option set", body = VolumeInfo),
        (status = 400, description = "An unknown action, or a volume with no replicated or dispersed set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn heal_switch(
    State(cx): State<Cluster>,
    Path((volname, action)): Path<(String, String)>,
) -> ApiResult<Json<VolumeInfo>> {
    let on = on_off(&action)?;
    Ok(Json(switch::self_heal_daemon(&cx, &volname, on).await?))
}

/// Turn granular entry heal on or off (GD1's `volume heal <v> granular-entry-heal
/// enable|disable`): turning it on a started volume is refused while an entry needs heal or a
/// brick is down (GlusterFS's `glfsheal` checks, as for GD1).
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/heal/granular-entry-heal/{action}", tag = "heal", operation_id = "GranularEntryHeal",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("action" = String, Path, description = "enable or disable"),
    ),
    responses(
        (status = 200, description = "The volume, with its option set", body = VolumeInfo),
        (status = 400, description = "An unknown action, or a volume with no replicated set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "Entries need heal, or a brick is down", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn granular_entry_heal(
    State(cx): State<Cluster>,
    Path((volname, action)): Path<(String, String)>,
) -> ApiResult<Json<VolumeInfo>> {
    let on = on_off(&action)?;
    Ok(Json(switch::granular_entry_heal(&cx, &volname, on).await?))
}

/// This node's bricks' crawls (from the initiator or a full heal's leader).
async fn crawls_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(part): JsonBody<NodePart>,
) -> ApiResult<Json<Vec<BrickCrawls>>> {
    let vol = info::healable(&cx, &volname, true).await?.serving();
    Ok(Json(
        crate::daemon::crawls_here(&cx.node, &vol, &part.sets).await?,
    ))
}

/// The self-heal daemons' crawls of each brick (GD1's `volume heal <v> statistics`): the last
/// finished ones (when, what kind, entries healed, in split-brain, failed) and those running.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/heal-statistics", tag = "heal", operation_id = "HealStatistics",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "Each brick's crawls", body = Vec<BrickCrawls>),
        (status = 400, description = "A volume with no replicated set", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, or a self-heal daemon does not run", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn heal_statistics(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
) -> ApiResult<Json<Vec<BrickCrawls>>> {
    Ok(Json(launch::statistics(&cx, &volname).await?))
}

/// `?replica=` of a heal count.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CountParams {
    /// A brick (`host:/path`): count only its replicated set
    #[serde(default)]
    replica: Option<String>,
}

/// The count of entries to be healed of each brick (GD1's `volume heal <v> statistics
/// heal-count [replica <brick>]`), read from its index by a self-heal daemon of its set.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/heal-count", tag = "heal", operation_id = "HealCount",
    params(("volname" = String, Path, description = "The volume's name"), CountParams),
    responses(
        (status = 200, description = "Each brick's count", body = Vec<BrickHealCount>),
        (status = 400, description = "A volume with no replicated set, or a brick not in one", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, a set has no node online, or a self-heal daemon does not run", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn heal_count(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    UrlQuery(params): UrlQuery<CountParams>,
) -> ApiResult<Json<Vec<BrickHealCount>>> {
    Ok(Json(
        crate::count::heal_count(&cx, &volname, params.replica.as_deref()).await?,
    ))
}

/// This node's daemon's counts (from the initiator).
async fn count_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(part): JsonBody<crate::count::CountPart>,
) -> ApiResult<Json<Vec<BrickHealCount>>> {
    let vol = info::healable(&cx, &volname, false).await?.serving();
    Ok(Json(crate::count::count_here(&cx.node, &vol, &part).await?))
}
