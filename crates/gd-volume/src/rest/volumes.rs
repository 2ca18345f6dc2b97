//! `/v1/volumes`: create, list, inspect and delete volumes.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header::WARNING},
};
use gd_api::{ErrorResp, VolCreateReq, VolExpandReq, VolumeInfo};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use gd_feature::{
    Cluster,
    http::{self, ApiResult, JsonBody, QueryArgs, RawBody},
};
use gd_node::node::Node;

use crate::{model, processes, volumes};

pub(super) fn routes() -> OpenApiRouter<Cluster> {
    OpenApiRouter::new()
        .routes(routes!(list_volumes, create_volume))
        .routes(routes!(get_volume, delete_volume))
        .routes(routes!(start_volume))
        .routes(routes!(stop_volume))
        .routes(routes!(expand_volume))
        .routes(routes!(replace_brick))
        .routes(routes!(reset_brick_start))
        .routes(routes!(reset_brick_commit))
        .routes(routes!(volume_bricks))
        .routes(routes!(volume_status))
}

/// A volume with its bricks' status and, when started, its space (measured through a
/// temporary read-only client mount on this node).
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/status", tag = "volumes", operation_id = "VolumeStatus",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "The volume's status", body = gd_api::VolumeStatus),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn volume_status(
    State(node): State<Arc<Node>>,
    Path(volname): Path<String>,
) -> ApiResult<Json<gd_api::VolumeStatus>> {
    model::check_name(&volname)?;
    let vol = model::get_volume(node.store.as_ref(), &volname)
        .await?
        .ok_or_else(|| model::not_found(&volname))?;
    let bricks = processes::brick_statuses(node.store.as_ref(), &vol).await?;
    let size = volumes::volume_size_of(&vol, &bricks);
    Ok(Json(gd_api::VolumeStatus {
        online: bricks.iter().all(|b| b.online),
        info: vol.to_api(),
        size,
        bricks,
    }))
}

/// `POST /v1/volumes/{volname}/start` body (optional).
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VolumeStartReq {
    /// Start the bricks that are not running even when the volume is already started.
    #[serde(default, rename = "force-start-bricks")]
    force_start_bricks: bool,
}

/// Start a volume: every brick node starts its bricks; answers once every brick has signed
/// in, or undoes the start.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/start", tag = "volumes", operation_id = "VolumeStart",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body(content = Option<VolumeStartReq>, description = "Optional"),
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The started volume", body = VolumeInfo),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "Already started, or busy", body = ErrorResp),
        (status = 500, description = "A brick did not start (code 2); the start was undone", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn start_volume(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<VolumeInfo>> {
    // No body, or `null`, asks for nothing special.
    let req: VolumeStartReq = http::optional_body(&body)?;
    let force = req.force_start_bricks;
    Ok(Json(volumes::start_volume(&cx, &volname, force).await?))
}

/// Stop a volume: every brick node stops its bricks and self-heal daemon, and the answer
/// comes once their processes are gone.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/stop", tag = "volumes", operation_id = "VolumeStop",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The stopped volume: none of its processes runs any more", body = VolumeInfo,
         headers(("Warning" = String, description = "One per process that ignored SIGTERM and was killed: `299 glusterd2 \"on <node address>: ...\"`"))),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "Not started, busy, or a brick node is offline", body = ErrorResp),
        (status = 500, description = "A node could not stop the volume's processes (the volume stays started)", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn stop_volume(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
) -> ApiResult<(HeaderMap, Json<VolumeInfo>)> {
    let (vol, notes) = volumes::stop_volume(&cx, &volname).await?;
    Ok((warnings(&notes), Json(vol)))
}

/// Add bricks to a volume (GD1's add-brick): new sets of the volume's shape, checked and marked
/// on their nodes as at create and appended to the volume; on a started volume the answer
/// comes once the new bricks run, and every client is told to fetch the new graph.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/expand", tag = "volumes", operation_id = "VolumeExpand",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = VolExpandReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The volume with its new bricks (running, if it is started)", body = VolumeInfo),
        (status = 400, description = "Invalid request: bricks that do not make whole sets, a replica count that is not the volume's, a brick already in it", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "A peer is offline, or the volume is busy", body = ErrorResp),
        (status = 500, description = "A step failed on a node (code 2, fields step, peer-id, error); nothing was changed", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn expand_volume(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<VolExpandReq>,
) -> ApiResult<Json<VolumeInfo>> {
    Ok(Json(volumes::expand_volume(&cx, &volname, req).await?))
}

/// Replace a brick (GD1's `replace-brick <v> <old> <new> commit force`): the new brick takes
/// the old one's place and client number, also when the old brick's node is down; on a
/// started volume the answer comes once it runs, and the self-heal daemons fill it.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/replacebrick", tag = "volumes", operation_id = "ReplaceBrick",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = gd_api::ReplaceBrickReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The volume with its new brick (running, if it is started)", body = VolumeInfo),
        (status = 400, description = "Invalid request: an old brick not in the volume, a new brick already in it or failing the brick checks", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The new brick's node is offline, a replicated volume is not started, or the volume is busy", body = ErrorResp),
        (status = 500, description = "A step failed on a node (code 2, fields step, peer-id, error); nothing was changed", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn replace_brick(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<gd_api::ReplaceBrickReq>,
) -> ApiResult<Json<VolumeInfo>> {
    Ok(Json(volumes::replace_brick(&cx, &volname, req).await?))
}

/// Take a brick out of service where it stands (GD1's `reset-brick <v> <brick> start`): it
/// stops and stays stopped until the commit, while its disk is replaced.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/reset-brick/start", tag = "volumes", operation_id = "ResetBrickStart",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = gd_api::ResetBrickReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The volume, the brick marked reset and stopped", body = VolumeInfo),
        (status = 400, description = "Invalid request: a brick not in the volume", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, the brick's node is offline, the brick is being reset already, or the volume is busy", body = ErrorResp),
        (status = 500, description = "A step failed on a node (code 2, fields step, peer-id, error); nothing was changed", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn reset_brick_start(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<gd_api::ResetBrickReq>,
) -> ApiResult<Json<VolumeInfo>> {
    Ok(Json(volumes::reset_brick_start(&cx, &volname, req).await?))
}

/// Bring a reset brick back at its path (GD1's `reset-brick <v> <brick> <brick> commit
/// [force]`): on the new disk (or, with `force`, the old one's data), marked for heal; the
/// answer comes once it runs, and the self-heal daemons fill it.
#[utoipa::path(
    post, path = "/v1/volumes/{volname}/reset-brick/commit", tag = "volumes", operation_id = "ResetBrickCommit",
    params(("volname" = String, Path, description = "The volume's name")),
    request_body = gd_api::ResetBrickReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 200, description = "The volume with the brick back and running", body = VolumeInfo),
        (status = 400, description = "Invalid request: a brick not in the volume", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is not started, the brick's node is offline, the brick is not being reset, or the volume is busy", body = ErrorResp),
        (status = 500, description = "A step failed on a node: the directory holds the volume's data without force, or another volume's (code 2, fields step, peer-id, error); nothing was changed", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn reset_brick_commit(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
    JsonBody(req): JsonBody<gd_api::ResetBrickReq>,
) -> ApiResult<Json<VolumeInfo>> {
    Ok(Json(volumes::reset_brick_commit(&cx, &volname, req).await?))
}

/// `Warning: 299 glusterd2 "<note>"` headers (HTTP's persistent miscellaneous warning), one
/// per note: what the nodes had to force to complete an operation. The note is made a quoted
/// string of visible ASCII (`"` and `\` escaped, anything else replaced by `?`).
fn warnings(notes: &[String]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for n in notes {
        let mut text = String::with_capacity(n.len());
        for c in n.chars() {
            match c {
                '"' | '\\' => {
                    text.push('\\');
                    text.push(c);
                }
                ' ' => text.push(c),
                c if c.is_ascii_graphic() => text.push(c),
                _ => text.push('?'),
            }
        }
        if let Ok(v) = HeaderValue::from_str(&format!("299 glusterd2 \"{text}\"")) {
            h.append(WARNING, v);
        }
    }
    h
}

/// The status of a volume's bricks, as their nodes published it (no node is asked).
#[utoipa::path(
    get, path = "/v1/volumes/{volname}/bricks", tag = "volumes", operation_id = "VolumeBricksStatus",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "Per brick: online, pid, port", body = Vec<gd_api::BrickStatus>),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn volume_bricks(
    State(node): State<Arc<Node>>,
    Path(volname): Path<String>,
) -> ApiResult<Json<Vec<gd_api::BrickStatus>>> {
    model::check_name(&volname)?;
    let vol = model::get_volume(node.store.as_ref(), &volname)
        .await?
        .ok_or_else(|| model::not_found(&volname))?;
    Ok(Json(
        processes::brick_statuses(node.store.as_ref(), &vol).await?,
    ))
}

/// Metadata filters of `GET /v1/volumes` (as for peers), and its pages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct VolumeFilter {
    key: Option<String>,
    value: Option<String>,
    /// At most this many volumes (1 to 1000) in name order; the answer's
    /// `X-Gluster-Continue` header, when present, is the token of the next page. Without it,
    /// every volume.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// The token of the page to read (the previous answer's `X-Gluster-Continue`).
    #[serde(rename = "continue")]
    cont: Option<String>,
}

/// The header that carries the token of the next page of a paged list.
pub const CONTINUE_HEADER: &str = "x-gluster-continue";
/// The most items one page of a list holds.
pub const PAGE_MAX: usize = 1000;

/// List the volumes (every one, or a page of them: `limit` and `continue`).
///
/// A page holds at most `limit` volumes in name order; when more follow, the answer carries
/// `X-Gluster-Continue` (the token to pass as `continue`) and a `Link` to the next page. With
/// a metadata filter, a page holds the matching volumes among the `limit` it read, so it may
/// hold fewer: follow the token until it is absent.
#[utoipa::path(
    get, path = "/v1/volumes", tag = "volumes", operation_id = "VolumeList",
    params(VolumeFilter),
    responses(
        (status = 200, description = "The volumes (a page, when `limit` is given)", body = Vec<VolumeInfo>,
            headers(("X-Gluster-Continue" = String, description = "The token of the next page, when more follow"))),
        (status = 400, description = "A bad limit or continue token", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn list_volumes(
    State(node): State<Arc<Node>>,
    QueryArgs(f): QueryArgs<VolumeFilter>,
) -> ApiResult<(HeaderMap, Json<Vec<VolumeInfo>>)> {
    let mut headers = HeaderMap::new();
    let records = match f.limit {
        None if f.cont.is_some() => {
            return Err(model::invalid("continue needs the limit it was given with")
                .field("continue", f.cont.unwrap_or_default())
                .into());
        }
        None => model::list_volumes(node.store.as_ref()).await?,
        Some(limit) => {
            if !(1..=PAGE_MAX).contains(&limit) {
                return Err(
                    model::invalid(format!("limit must be from 1 to {PAGE_MAX}"))
                        .field("limit", limit.to_string())
                        .into(),
                );
            }
            // The token is the name of the last volume of the previous page.
            if let Some(c) = &f.cont
                && gd_api::check_volume_name(c).is_err()
            {
                return Err(model::invalid("continue is not a token this list gave")
                    .field("continue", c.as_str())
                    .into());
            }
            let (page, more) =
                model::list_volumes_page(node.store.as_ref(), f.cont.as_deref(), limit).await?;
            if more && let Some(last) = page.last() {
                // Volume names need no escaping in a header or a query.
                let mut next = format!("/v1/volumes?limit={limit}&continue={}", last.name);
                for (k, v) in [("key", &f.key), ("value", &f.value)] {
                    if let Some(v) = v {
                        next.push_str(&format!("&{k}={}", http::query_escape(v)));
                    }
                }
                if let (Ok(token), Ok(link)) = (
                    HeaderValue::from_str(&last.name),
                    HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")),
                ) {
                    headers.insert(CONTINUE_HEADER, token);
                    headers.insert(axum::http::header::LINK, link);
                }
            }
            page
        }
    };
    let mut list: Vec<VolumeInfo> = records.iter().map(|v| v.to_api()).collect();
    list.retain(|v| http::metadata_matches(&v.metadata, f.key.as_deref(), f.value.as_deref()));
    Ok((headers, Json(list)))
}

/// Create a volume: validate the request and every brick on its node, then mark the bricks
/// and record the volume, as one transaction (undone on any failure).
#[utoipa::path(
    post, path = "/v1/volumes", tag = "volumes", operation_id = "VolumeCreate",
    request_body = VolCreateReq,
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 201, description = "The new volume", body = VolumeInfo, headers(("Location" = String, description = "/v1/volumes/<name>"))),
        (status = 400, description = "Invalid request", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 409, description = "The volume exists, a peer is offline, or the volume is busy", body = ErrorResp),
        (status = 500, description = "A step failed on a node (code 2, fields step, peer-id, error); nothing was changed", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn create_volume(
    State(cx): State<Cluster>,
    JsonBody(req): JsonBody<VolCreateReq>,
) -> ApiResult<(StatusCode, HeaderMap, Json<VolumeInfo>)> {
    let vol = volumes::create_volume(&cx, req).await?;
    Ok(http::created(&format!("/v1/volumes/{}", vol.name), vol))
}

/// One volume.
#[utoipa::path(
    get, path = "/v1/volumes/{volname}", tag = "volumes", operation_id = "VolumeInfo",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 200, description = "The volume", body = VolumeInfo),
        (status = 400, description = "Invalid name", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn get_volume(
    State(node): State<Arc<Node>>,
    Path(volname): Path<String>,
) -> ApiResult<Json<VolumeInfo>> {
    model::check_name(&volname)?;
    match model::get_volume(node.store.as_ref(), &volname).await? {
        Some(v) => Ok(Json(v.to_api())),
        None => Err(model::not_found(&volname).into()),
    }
}

/// Delete a volume that is not started. Every brick node first confirms that no process of
/// the volume runs there (stopping any it finds). Its bricks keep their data and marks.
#[utoipa::path(
    delete, path = "/v1/volumes/{volname}", tag = "volumes", operation_id = "VolumeDelete",
    params(("volname" = String, Path, description = "The volume's name")),
    responses(
        (status = 202, description = "Still running after 20 s: it goes on; follow the transaction at its Location", body = gd_api::Transaction,
         headers(("Location" = String, description = "/v1/transactions/<id>"))),
        (status = 204, description = "Deleted; none of its processes runs",
         headers(("Warning" = String, description = "One per process that ignored SIGTERM and was killed: `299 glusterd2 \"on <node address>: ...\"`"))),
        (status = 400, description = "Invalid name", body = ErrorResp),
        (status = 401, description = "Not authenticated", body = ErrorResp),
        (status = 404, description = "No such volume", body = ErrorResp),
        (status = 409, description = "The volume is started or busy, or a brick node is offline", body = ErrorResp),
        (status = 500, description = "A node could not stop a process of the volume (nothing was deleted)", body = ErrorResp),
        (status = 503, description = "The store cannot answer", body = ErrorResp),
    ),
    security(("bearer" = [])),
)]
async fn delete_volume(
    State(cx): State<Cluster>,
    Path(volname): Path<String>,
) -> ApiResult<(StatusCode, HeaderMap)> {
    let notes = volumes::delete_volume(&cx, &volname).await?;
    Ok((StatusCode::NO_CONTENT, warnings(&notes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_quoted_visible_ascii() {
        let h = warnings(&[
            "on 127.0.0.2:24007: brick /b \"x\" (pid 7) was killed".to_owned(),
            "on n:24007: brick /données\\é".to_owned(),
        ]);
        let values: Vec<&str> = h
            .get_all(WARNING)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            values,
            [
                r#"299 glusterd2 "on 127.0.0.2:24007: brick /b \"x\" (pid 7) was killed""#,
                r#"299 glusterd2 "on n:24007: brick /donn?es\\?""#,
            ]
        );
        assert!(warnings(&[]).is_empty());
    }
}
