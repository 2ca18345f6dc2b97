//! `GET /v1/state` and `POST /v1/volumes/{volname}/statedump`. Thin: each handler decodes the
//! request and answers with what the operation returned.

use axum::{
    Json,
    extract::{Path, State},
    routing::post,
};
use gd_api::{
    BrickProfile, BrickTop, ErrorResp, NodeState, ProcessStatus, StatedumpFile, StatedumpReq,
    StatedumpResp, VolumeInfo,
};
use gd_core::OpError;
use gd_feature::{
    Cluster,
    http::{self, ApiResult, JsonBody, RawBody},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    profile::{self, Look},
    state, statedump,
    status::{self, StatusReq},
    top::{self, TopReq},
};

/// Every route of the diagnostics feature.
pub fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(node_state))
        .routes(routes!(volume_statedump))
        .routes(routes!(profile_info, profile_switch))
        .routes(routes!(volume_top))
        .routes(routes!(volume_top_clear))
        .routes(routes!(process_status))
        // Node to node: not in the OpenAPI document; signed with the cluster secret.
        .route(statedump::INTERNAL_PATH, post(statedump_here))
        .route(
            crate::client_dump::INTERNAL_PATH,
            post(client_statedump_here),
        )
        .route(profile::INTERNAL_PATH, post(profile_here))
        .route(top::INTERNAL_PATH, post(top_here))
        .route(status::INTERNAL_PATH, post(status_here))
}

/// This node's view of the cluster (GD1's `get-state`): the node, its store and the store's
/// members, the peers, every volume with its bricks' status, the GlusterFS processes this node
/// runs, the tasks.
#[utoipa::path(
    get, path = "/v1/state", tag = "diagnostics", operation_id = "NodeState",
    responses(
        (status = 200, description = "The node's view", body = NodeState),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn node_state(State(cx): State<Cluster>) -> ApiResult<Json<NodeState>> {
    Ok(Json(state::state(&cx).await?))
}

/// Dump the state of the volume's bricks (or self-heal daemons) (GD1's `volume statedump`):
/// each process writes its file where the volume's `server.statedump-path` says (else
/// `/var/run/gluster`) on its node; the answer lists the files once they are all written.
/// With `client`, a client of the volume is told instead, by the nodes it is connected to.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/statedump", tag = "diagnostics", operation_id = "VolumeStatedump",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body(content = Option<StatedumpReq>, description = "Optional: the sections (every one by default)"),
    responses(
        (status = 200, description = "The files written, by node", body = StatedumpResp),
        (status = 400, description = "An unknown section, or a client not named host:pid", body = ErrorResp),
        (status = 404, description = "No such volume, or no such client connected", body = ErrorResp),
        (status = 409, description = "The volume is not started, or a process did not dump", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn volume_statedump(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<StatedumpResp>> {
    let req: StatedumpReq = http::optional_body(&body)?;
    Ok(Json(statedump::statedump(&cx, &volname, req).await?))
}

/// This node's part of a statedump (from the initiator).
async fn statedump_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<StatedumpReq>,
) -> ApiResult<Json<Vec<StatedumpFile>>> {
    let vol = crate::started(&cx, &volname).await?;
    Ok(Json(statedump::dump_here(&cx.node, &vol, &req).await?))
}

/// This node's part of a client's statedump (from the initiator).
async fn client_statedump_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(part): JsonBody<crate::client_dump::ClientPart>,
) -> ApiResult<Json<Vec<gd_api::ClientTold>>> {
    let vol = crate::started(&cx, &volname).await?;
    Ok(Json(crate::client_dump::tell_here(&cx, &vol.name, &part)))
}

/// A volume's profile (GD2's path; GD1's `volume profile <v> info [peek|incremental [peek]|
/// cumulative|clear]`): each brick's counters from its io-stats, cumulative and since the
/// previous look (`info`, `info-peek`, `info-incremental`, `info-incremental-peek`,
/// `info-cumulative`), or cleared (`info-clear`).
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/profile/{option}", tag = "diagnostics", operation_id = "VolumeProfile",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("option" = String, Path, description = "info, info-peek, info-incremental, info-incremental-peek, info-cumulative or info-clear"),
    ),
    responses(
        (status = 200, description = "Each brick's counters", body = Vec<BrickProfile>),
        (status = 400, description = "An unknown option", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, its profile is not, or a brick is down", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn profile_info(
    State(cx): State<Cluster>,
    Path((volname, option)): Path<(String, String)>,
) -> ApiResult<Json<Vec<BrickProfile>>> {
    let look = Look::from_word(&option).ok_or_else(|| {
        OpError::invalid(format!(
            "unknown profile option {option:?}: it is info, info-peek, info-incremental, \
             info-incremental-peek, info-cumulative or info-clear"
        ))
        .field("option", option.clone())
    })?;
    Ok(Json(profile::info(&cx, &volname, look).await?))
}

/// Start or stop profiling a volume (GD1's `volume profile <v> start|stop`): its bricks'
/// io-stats count calls and measure latencies while it is on.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/profile/{option}", tag = "diagnostics", operation_id = "VolumeProfileSwitch",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("option" = String, Path, description = "start or stop"),
    ),
    responses(
        (status = 200, description = "The volume, with its options", body = VolumeInfo),
        (status = 400, description = "Neither start nor stop", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "Its profile is started already (start) or not (stop)", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn profile_switch(
    State(cx): State<Cluster>,
    Path((volname, option)): Path<(String, String)>,
) -> ApiResult<Json<VolumeInfo>> {
    let on = match option.as_str() {
        "start" => true,
        "stop" => false,
        other => {
            return Err(OpError::invalid(format!(
                "unknown profile action {other:?}: it is start or stop"
            ))
            .into());
        }
    };
    Ok(Json(profile::switch(&cx, &volname, on).await?))
}

/// This node's bricks' profiles (from the initiator).
async fn profile_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(look): JsonBody<Look>,
) -> ApiResult<Json<Vec<BrickProfile>>> {
    let vol = crate::started(&cx, &volname).await?;
    Ok(Json(profile::info_here(&cx.node, &vol, look).await?))
}

/// `?` of a top look.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TopParams {
    /// Only this brick (`host:path`)
    brick: Option<String>,
    /// How many files per brick (0 to 100; 100 by default)
    #[serde(rename = "list-cnt")]
    list_cnt: Option<u32>,
    /// read-perf/write-perf: measure with `count` blocks of this size
    bs: Option<u32>,
    count: Option<u32>,
}

/// A volume's busiest files per brick (GD1's `volume top <v> open|read|write|opendir|readdir|
/// read-perf|write-perf [bs <n> count <n>] [brick <b>] [list-cnt <n>]`).
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/top/{metric}", tag = "diagnostics", operation_id = "VolumeTop",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("metric" = String, Path, description = "open, read, write, opendir, readdir, read-perf or write-perf"),
        TopParams,
    ),
    responses(
        (status = 200, description = "Each brick's list", body = Vec<BrickTop>),
        (status = 400, description = "An unknown metric, a brick not in the volume, or bounds passed", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, or a brick is down", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn volume_top(
    State(cx): State<Cluster>,
    Path((volname, metric)): Path<(String, String)>,
    http::QueryArgs(q): http::QueryArgs<TopParams>,
) -> ApiResult<Json<Vec<BrickTop>>> {
    if metric == "clear" {
        return Err(OpError::invalid("clear empties the lists: POST it").into());
    }
    let req = TopReq::new(&metric, q.list_cnt, q.bs, q.count, q.brick)?;
    Ok(Json(top::top(&cx, &volname, req).await?))
}

/// Empty every brick's top lists (GD1's `volume top <v> clear [brick <b>]`).
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/top/clear", tag = "diagnostics", operation_id = "VolumeTopClear",
    params(("volname" = String, Path, description = "The volume's name"), TopClearParams),
    responses(
        (status = 200, description = "Each brick: whether its lists were cleared", body = Vec<BrickTop>),
        (status = 400, description = "A brick not in the volume", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, or a brick is down", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn volume_top_clear(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    http::QueryArgs(q): http::QueryArgs<TopClearParams>,
) -> ApiResult<Json<Vec<BrickTop>>> {
    let req = TopReq::new("clear", None, None, None, q.brick)?;
    Ok(Json(top::top(&cx, &volname, req).await?))
}

/// `?` of a top clear.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TopClearParams {
    /// Only this brick (`host:path`)
    brick: Option<String>,
}

/// This node's bricks' top lists (from the initiator).
async fn top_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<TopReq>,
) -> ApiResult<Json<Vec<BrickTop>>> {
    let vol = crate::started(&cx, &volname).await?;
    Ok(Json(top::top_here(&cx.node, &vol, &req).await?))
}

/// `?` of a process status.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatusParams {
    /// Only this brick (`host:path`)
    brick: Option<String>,
    /// The self-heal daemons instead of the bricks (mem, inode, callpool)
    #[serde(default)]
    shd: bool,
}

/// What a volume's bricks (or self-heal daemons) report of themselves (GD1's `volume status
/// <v> [<brick>|shd] clients|mem|inode|fd|callpool`), each asked by its own node.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/status/{kind}", tag = "diagnostics", operation_id = "ProcessStatus",
    params(
        ("volname" = String, Path, description = "The volume's name"),
        ("kind" = String, Path, description = "clients, mem, inode, fd or callpool"),
        StatusParams,
    ),
    responses(
        (status = 200, description = "Each process's report", body = Vec<ProcessStatus>),
        (status = 400, description = "An unknown kind, a brick not in the volume, or a kind the self-heal daemon does not report", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, or a process did not answer", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn process_status(
    State(cx): State<Cluster>,
    Path((volname, kind)): Path<(String, String)>,
    http::QueryArgs(q): http::QueryArgs<StatusParams>,
) -> ApiResult<Json<Vec<ProcessStatus>>> {
    let req = StatusReq::new(&kind, q.shd, q.brick)?;
    Ok(Json(status::status(&cx, &volname, req).await?))
}

/// This node's processes' reports (from the initiator).
async fn status_here(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<StatusReq>,
) -> ApiResult<Json<Vec<ProcessStatus>>> {
    let vol = crate::started(&cx, &volname).await?;
    Ok(Json(status::status_here(&cx.node, &vol, &req).await?))
}
