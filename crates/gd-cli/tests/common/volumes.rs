//! The fake's volumes: the fixture volumes `gv0` and `dist`, `/v1/volumes` (list, create) and
//! `/v1/volumes/{name}` (info, delete) with `.../start`, `.../stop` and `.../bricks`.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{LOCATION, WARNING},
    },
    response::{IntoResponse, Response},
};
use gd_api::{BrickStatus, ErrorCode, SubvolType, VolCreateReq, VolumeInfo};

use super::{
    build_volume, peers,
    refusal::{Refusal, error, parse_body},
    server::AppState,
};

/// The id the fake daemon gives every volume `POST /v1/volumes` creates.
pub const NEW_VOLUME_ID: &str = "5e1f0000-0000-4000-8000-0000000000ff";

/// The id of the fixture volume `gv0`.
pub const GV0_ID: &str = "5e1f0000-0000-4000-8000-000000000001";

/// The id of the fixture volume `dist`.
pub const DIST_ID: &str = "5e1f0000-0000-4000-8000-000000000002";

/// The volumes the fake daemon serves: `gv0`, a started replica 3 volume with options and
/// metadata (one brick on an IPv6 host), and `dist`, a created distribute volume of two bricks.
pub fn volumes() -> Vec<VolumeInfo> {
    let brick = |host: &str, path: &str| gd_api::BrickReq {
        host: Some(host.to_owned()),
        path: path.to_owned(),
        ..gd_api::BrickReq::default()
    };
    let request = |name: &str, kind, replica, bricks| VolCreateReq {
        name: name.to_owned(),
        transport: None,
        subvols: vec![gd_api::SubvolReq {
            kind,
            bricks,
            replica,
            arbiter: 0,
            disperse_count: 0,
            disperse_data: 0,
            disperse_redundancy: 0,
        }],
        force: false,
        metadata: BTreeMap::new(),
        flags: Default::default(),
        options: BTreeMap::new(),
    };
    let mut gv0 = build_volume(
        &request(
            "gv0",
            SubvolType::Replicate,
            3,
            vec![
                brick("node1", "/bricks/gv0"),
                brick("node2", "/bricks/gv0"),
                brick("fd00::2", "/bricks/gv0-b3"),
            ],
        ),
        GV0_ID.parse().unwrap(),
        &peers(),
    )
    .expect("gv0");
    gv0.state = "Started".into();
    gv0.options = [
        ("cluster/replicate.self-heal-daemon", "on"),
        ("performance/read-ahead.read-ahead", "off"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    gv0.metadata = [("owner".to_owned(), "alice".to_owned())].into();
    let mut dist = build_volume(
        &request(
            "dist",
            SubvolType::Distribute,
            0,
            vec![brick("node1", "/bricks/d1"), brick("node1", "/bricks/d2")],
        ),
        DIST_ID.parse().unwrap(),
        &peers(),
    )
    .expect("dist");
    dist.metadata = [("owner", "bob"), ("tier", "cold")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
    vec![gv0, dist]
}

/// `GET /v1/volumes`: every volume, in name order, as the daemon lists them. `?key=&value=`
/// are ignored on purpose: the CLI filters again, and the tests check that.
pub(super) async fn list_volumes(State(state): State<Arc<AppState>>) -> Json<Vec<VolumeInfo>> {
    let mut vols = state.volumes.lock().unwrap().clone();
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    Json(vols)
}

/// `POST /v1/volumes`: 201 + Location + the new volume (id [`NEW_VOLUME_ID`], state Created).
pub(super) async fn create_volume(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let req: VolCreateReq = parse_body(&body)?;
    let mut vols = state.volumes.lock().unwrap();
    if vols.iter().any(|v| v.name == req.name) {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("volume {} already exists", req.name),
        ));
    }
    let peers = state.peers.lock().unwrap().clone();
    let vol = build_volume(&req, NEW_VOLUME_ID.parse().unwrap(), &peers)
        .map_err(|e| error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, e))?;
    vols.push(vol.clone());
    Ok((
        StatusCode::CREATED,
        [(LOCATION, format!("/v1/volumes/{}", vol.name))],
        Json(vol),
    )
        .into_response())
}

/// The index of the volume `name`, or the daemon's 404.
pub(super) fn find_volume(vols: &[VolumeInfo], name: &str) -> Result<usize, Refusal> {
    vols.iter().position(|v| v.name == name).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("volume {name} not found"),
        )
    })
}

/// `GET /v1/volumes/{name}`.
pub(super) async fn get_volume(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<VolumeInfo>, Refusal> {
    let vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    Ok(Json(vols[i].clone()))
}

/// `DELETE /v1/volumes/{name}`: 204; a started volume is refused.
pub(super) async fn delete_volume(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, Refusal> {
    let mut vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    if vols[i].state == "Started" {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("volume {name} is started: stop it first"),
        ));
    }
    vols.remove(i);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/volumes/{name}/start` with an optional `{"force-start-bricks": bool}`: an
/// already started volume only with force.
pub(super) async fn start_volume(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<VolumeInfo>, Refusal> {
    let force = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        let req: serde_json::Value = parse_body(&body)?;
        req.get("force-start-bricks")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    let mut vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    if vols[i].state == "Started" && !force {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("volume {name} is already started"),
        ));
    }
    vols[i].state = "Started".into();
    Ok(Json(vols[i].clone()))
}

/// `POST /v1/volumes/{name}/stop`: only a started volume.
/// The warning the daemon sends when stopping gv0, whose brick ignores SIGTERM.
const STOP_WARNING: &str = r#"299 glusterd2 "on 127.0.0.2:24007: brick /data/gv0 (pid 3000) did not exit within 10 s of SIGTERM and was killed (SIGKILL)""#;

/// `POST /v1/volumes/{name}/stop`: stopping gv0 needs a SIGKILL ([`STOP_WARNING`]).
pub(super) async fn stop_volume(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<(HeaderMap, Json<VolumeInfo>), Refusal> {
    let mut vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    if vols[i].state != "Started" {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("volume {name} is not started"),
        ));
    }
    vols[i].state = "Stopped".into();
    let mut headers = HeaderMap::new();
    if name == "gv0" {
        headers.insert(WARNING, HeaderValue::from_static(STOP_WARNING));
    }
    Ok((headers, Json(vols[i].clone())))
}

/// `GET /v1/volumes/{name}/bricks`: the bricks of a started volume are online, brick `i`
/// (from 0) on port 49152 + i with pid 3000 + i; the others are offline (no port, no pid).
pub(super) async fn volume_bricks(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<BrickStatus>>, Refusal> {
    let vols = state.volumes.lock().unwrap();
    let vol = &vols[find_volume(&vols, &name)?];
    let online = vol.state == "Started";
    Ok(Json(
        vol.subvols
            .iter()
            .flat_map(|s| &s.bricks)
            .enumerate()
            .map(|(i, b)| BrickStatus {
                info: b.clone(),
                online,
                pid: if online { 3000 + i as u32 } else { 0 },
                port: if online { 49152 + i as u16 } else { 0 },
            })
            .collect(),
    ))
}
