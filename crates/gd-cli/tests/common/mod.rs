//! A fake glusterd2 for the CLI's tests: `/version`, `/v1/peers` (list, add) and
//! `/v1/peers/{id}` (edit, remove), `/v1/volumes` (list, create), `/v1/volumes/{name}` (info,
//! delete) with `.../start`, `.../stop`, `.../bricks` and `.../options` (set, list, get one,
//! reset), `/v1/volumes/options-group` (list, create, delete), `/v1/cluster/options` (get,
//! set), GD2's token check, and a few ways to misbehave. It runs on its own thread (the tests themselves block on the CLI process) and
//! stops when dropped.
//!
//! It records every request it receives ([`FakeServer::requests`]) so tests can assert exactly
//! what the CLI sent, and it keeps its peers, volumes, option groups and cluster options in
//! memory, so an edit, a creation or a
//! removal shows in the next command against the same server. Its rules follow GD2's
//! (gd2.md §3.3-3.5, §5) only as far as the CLI's tests need answers to print: it lays a
//! created volume out as the request says and does not validate the layout (that is the CLI's
//! and the daemon's job).
//!
//! The helpers that run the CLI against it ([`cli`], [`cli_for`], [`stdout_of`]) live here too,
//! for every test file.

#![allow(dead_code)] // each test file uses a part

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, Query, Request, State},
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{AUTHORIZATION, LOCATION, WARNING},
    },
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use gd_api::{
    ApiError, BrickInfo, BrickKind, BrickStatus, ClusterOptionGetResp, ClusterOptionReq, ErrorCode,
    ErrorResp, GroupOption, METADATA_BYTES_MAX, OptionGroup, OptionGroupReq, Peer, PeerAddReq,
    PeerEditReq, SubvolInfo, SubvolType, VersionResp, VolCreateReq, VolOptionReq,
    VolOptionResetReq, VolumeInfo, VolumeOptionGetResp,
};
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The id the fake daemon gives the peer `POST /v1/peers` adds.
pub const NEW_PEER_ID: &str = "3e0d9a8b-7c6f-4e5d-9a1b-2c3d4e5f6a7b";

/// The id the fake daemon gives every volume `POST /v1/volumes` creates.
pub const NEW_VOLUME_ID: &str = "5e1f0000-0000-4000-8000-0000000000ff";

/// The id of the fixture volume `gv0`.
pub const GV0_ID: &str = "5e1f0000-0000-4000-8000-000000000001";

/// The id of the fixture volume `dist`.
pub const DIST_ID: &str = "5e1f0000-0000-4000-8000-000000000002";

/// The host `peer add` cannot reach (the fake daemon answers GD2's connect error).
pub const UNREACHABLE_HOST: &str = "unreachable.invalid";

/// A request the fake daemon received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The raw body (empty when none).
    pub body: String,
}

impl Recorded {
    /// The body as JSON (panics if it is not JSON: the CLI only sends JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON request body")
    }
}

/// The secret the fake daemon accepts by default.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// How `/v1/peers` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// The peers.
    Normal,
    /// 500 with a two-error `ErrorResp`.
    ApiError,
    /// 502 with a plain-text body (a proxy in front of the daemon).
    PlainError,
    /// 200 with a body that is not a peer list.
    Garbage,
    /// Never answers in time.
    Slow,
}

/// The fake daemon's setup.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `None`: auth off.
    pub secret: Option<String>,
    pub behaviour: Behaviour,
    /// Serve https with the fixture certificate.
    pub tls: bool,
    /// The peers at start.
    pub peers: Vec<Peer>,
    /// The volumes at start.
    pub volumes: Vec<VolumeInfo>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            secret: Some(SECRET.to_owned()),
            behaviour: Behaviour::Normal,
            tls: false,
            peers: peers(),
            volumes: volumes(),
        }
    }
}

/// What the handlers share.
struct AppState {
    setup: Setup,
    peers: Mutex<Vec<Peer>>,
    volumes: Mutex<Vec<VolumeInfo>>,
    groups: Mutex<Vec<OptionGroup>>,
    cluster_options: Mutex<Vec<ClusterOptionGetResp>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

/// A running fake daemon.
pub struct FakeServer {
    pub addr: SocketAddr,
    pub tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FakeServer {
    /// A fake daemon with auth on and normal answers.
    pub fn start() -> Self {
        Self::with(Setup::default())
    }

    pub fn with(setup: Setup) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let tls = setup.tls;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(AppState {
            peers: Mutex::new(setup.peers.clone()),
            volumes: Mutex::new(setup.volumes.clone()),
            groups: Mutex::new(option_groups()),
            cluster_options: Mutex::new(cluster_options()),
            setup: setup.clone(),
            requests: requests.clone(),
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let app = router(state);
                if setup.tls {
                    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(
                        fixture("server.pem"),
                        fixture("server.key"),
                    )
                    .await
                    .expect("tls config");
                    let server =
                        axum_server::from_tcp_rustls(listener, config).expect("tls server");
                    ready_tx.send(()).expect("ready");
                    tokio::select! {
                        r = server.serve(app.into_make_service()) => r.expect("serve"),
                        _ = stop_rx => {}
                    }
                } else {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    ready_tx.send(()).expect("ready");
                    tokio::select! {
                        r = axum::serve(listener, app) => r.expect("serve"),
                        _ = stop_rx => {}
                    }
                }
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("fake server did not start");
        Self {
            addr,
            tls,
            requests,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The endpoint to pass to `--endpoints`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests received with `method` (e.g. "POST"), oldest first.
    pub fn requests_with(&self, method: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A test fixture's path.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The peers the fake daemon serves.
pub fn peers() -> Vec<Peer> {
    vec![
        Peer {
            id: "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01".parse().unwrap(),
            name: "node1".into(),
            peer_addresses: vec!["node1:24008".into()],
            client_addresses: vec!["10.0.0.1:24007".into()],
            online: true,
            pid: Some(1234),
            metadata: [("_zone".to_owned(), "z1".to_owned())].into(),
        },
        Peer {
            id: "0b7a3c1e-2f4d-4e5b-8c6d-7e8f9a0b1c2d".parse().unwrap(),
            name: "node2".into(),
            peer_addresses: vec!["node2:24008".into()],
            client_addresses: vec!["10.0.0.2:24007".into(), "[fd00::2]:24007".into()],
            online: false,
            pid: None,
            metadata: Default::default(),
        },
    ]
}

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

/// The volume a create request describes, laid out as the request says (no validation):
/// a distribute subvolume becomes one subvolume per brick, as the daemon stores them. Bricks
/// named by peer id get the peer's host; an unknown peer id is an error.
pub fn build_volume(req: &VolCreateReq, id: Uuid, peers: &[Peer]) -> Result<VolumeInfo, String> {
    let mut subvols = Vec::new();
    let mut index = 0u128;
    for s in &req.subvols {
        let mut bricks = Vec::new();
        for b in &s.bricks {
            index += 1;
            let (peer_id, host) = match (&b.peerid, &b.host) {
                (Some(pid), _) => {
                    let p = peers
                        .iter()
                        .find(|p| p.id == *pid)
                        .ok_or_else(|| format!("brick {}: no such peer ({pid})", b.path))?;
                    let host = p
                        .peer_addresses
                        .first()
                        .map_or(p.name.as_str(), |a| host_of(a));
                    (p.id, host.to_owned())
                }
                (None, Some(h)) => {
                    let peer = peers.iter().find(|p| {
                        p.name == *h
                            || p.peer_addresses
                                .iter()
                                .chain(&p.client_addresses)
                                .any(|a| host_of(a) == h)
                    });
                    (peer.map_or(Uuid::nil(), |p| p.id), h.clone())
                }
                (None, None) => return Err(format!("brick {}: no peer or host", b.path)),
            };
            bricks.push(BrickInfo {
                id: Uuid::from_u128(id.as_u128() ^ (index << 64)),
                path: b.path.clone(),
                volume_id: id,
                volume_name: req.name.clone(),
                peer_id,
                host,
                kind: match b.kind {
                    BrickKind::Brick => "Brick",
                    BrickKind::Arbiter => "Arbiter",
                }
                .to_owned(),
            });
        }
        let subvol = |kind: &str, bricks: Vec<BrickInfo>| SubvolInfo {
            name: String::new(),
            kind: kind.to_owned(),
            replica_count: s.replica.max(1),
            arbiter_count: s.arbiter,
            disperse_count: s.disperse_count,
            bricks,
        };
        match s.kind {
            SubvolType::Distribute => {
                subvols.extend(bricks.into_iter().map(|b| subvol("Distribute", vec![b])))
            }
            SubvolType::Replicate => subvols.push(subvol("Replicate", bricks)),
            SubvolType::Disperse => subvols.push(subvol("Disperse", bricks)),
        }
    }
    for (i, s) in subvols.iter_mut().enumerate() {
        s.name = format!("{}-{}-{i}", req.name, s.kind.to_ascii_lowercase());
    }
    let first = req.subvols.first();
    let many = subvols.len() > 1;
    let kind = match (first.map(|s| s.kind), many) {
        (Some(SubvolType::Replicate), false) => "Replicate",
        (Some(SubvolType::Replicate), true) => "Distributed-Replicate",
        (Some(SubvolType::Disperse), false) => "Disperse",
        (Some(SubvolType::Disperse), true) => "Distributed-Disperse",
        _ => "Distribute",
    };
    let disperse_count = first.map_or(0, |s| {
        if s.kind == SubvolType::Disperse && s.disperse_count == 0 {
            s.bricks.len() as u32
        } else {
            s.disperse_count
        }
    });
    let redundancy = first.map_or(0, |s| match (s.disperse_redundancy, s.disperse_data) {
        (r, _) if r > 0 => r,
        (0, d) if d > 0 => disperse_count.saturating_sub(d),
        _ if s.kind == SubvolType::Disperse => 1,
        _ => 0,
    });
    Ok(VolumeInfo {
        id,
        name: req.name.clone(),
        kind: kind.to_owned(),
        transport: req.transport.clone().unwrap_or_else(|| "tcp".to_owned()),
        distribute_count: subvols.len() as u32,
        replica_count: first.map_or(1, |s| s.replica.max(1)),
        arbiter_count: first.map_or(0, |s| s.arbiter),
        disperse_count,
        disperse_redundancy_count: redundancy,
        options: req.options.clone(),
        state: "Created".to_owned(),
        metadata: req.metadata.clone(),
        subvols,
    })
}

/// The fake daemon's version.
pub fn version() -> VersionResp {
    VersionResp {
        glusterd_version: "9.9.9-fake".into(),
        api_version: 1,
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/version", get(|| async { Json(version()) }))
        .route("/v1/peers", get(list_peers).post(add_peer))
        .route("/v1/peers/{id}", post(edit_peer).delete(remove_peer))
        .route("/v1/volumes", get(list_volumes).post(create_volume))
        .route("/v1/volumes/{name}", get(get_volume).delete(delete_volume))
        .route("/v1/volumes/{name}/start", post(start_volume))
        .route("/v1/volumes/{name}/stop", post(stop_volume))
        .route("/v1/volumes/{name}/bricks", get(volume_bricks))
        .route(
            "/v1/volumes/{name}/options",
            get(list_options).post(set_options).delete(reset_options),
        )
        .route("/v1/volumes/{name}/options/{*key}", get(get_option))
        .route(
            "/v1/volumes/options-group",
            get(list_groups).post(create_group),
        )
        .route(
            "/v1/volumes/options-group/{name}",
            axum::routing::delete(delete_group),
        )
        .route(
            "/v1/cluster/options",
            get(get_cluster_options).post(set_cluster_options),
        )
        .layer(middleware::from_fn_with_state(state.clone(), check_token))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// An error answer with GD2's body.
struct Refusal(StatusCode, ErrorCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorResp::new(self.1, self.2))).into_response()
    }
}

fn error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal(status, code, message.into())
}

/// A JSON body of type `T`, or a 400 with the decoder's message (axum's own rejection is
/// plain text, not GD2's error body).
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("invalid request body: {e}"),
        )
    })
}

/// GD2's metadata rules: no `_` keys from users, at most 4 KiB of user keys and values.
fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), Refusal> {
    if metadata.keys().any(|k| k.starts_with('_')) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "key names starting with '_' are restricted in metadata field",
        ));
    }
    let size: usize = metadata
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if size > METADATA_BYTES_MAX {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "metadata size exceeds max allowed size of 4KB",
        ));
    }
    Ok(())
}

/// The host part of `host[:port]` (IPv6 in brackets).
fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split_once(']').map_or(addr, |(h, _)| h);
    }
    match addr.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h,
        _ => addr,
    }
}

async fn list_peers(State(state): State<Arc<AppState>>) -> Response {
    // `?key=&value=` are ignored on purpose: the CLI filters again, and the tests check that.
    match state.setup.behaviour {
        Behaviour::Normal => Json(state.peers.lock().unwrap().clone()).into_response(),
        Behaviour::ApiError => {
            let body = ErrorResp {
                errors: vec![
                    ApiError {
                        code: ErrorCode::TxnStepFailed.as_u32(),
                        message: "a txn step failed".into(),
                        fields: [("step".to_owned(), "peer.list".to_owned())].into(),
                    },
                    ApiError {
                        code: 1,
                        message: "store is sad".into(),
                        fields: Default::default(),
                    },
                ],
            };
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
        Behaviour::PlainError => (StatusCode::BAD_GATEWAY, "upstream down").into_response(),
        Behaviour::Garbage => Json(serde_json::json!({"peers": "none"})).into_response(),
        Behaviour::Slow => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(peers()).into_response()
        }
    }
}

/// `POST /v1/peers`: 201 + Location + the new peer, named after the host it was added at.
async fn add_peer(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Response, Refusal> {
    let req: PeerAddReq = parse_body(&body)?;
    let Some(addr) = req.addresses.first() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            "no addresses given",
        ));
    };
    check_metadata(&req.metadata)?;
    let host = host_of(addr).to_owned();
    if host == UNREACHABLE_HOST {
        return Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Generic,
            "could not connect to host. Make sure host address is valid, network connection is \
             active and gd2 is up and running",
        ));
    }
    let mut peers = state.peers.lock().unwrap();
    if let Some(p) = peers.iter().find(|p| {
        p.name == host
            || p.peer_addresses
                .iter()
                .chain(&p.client_addresses)
                .any(|a| host_of(a) == host)
    }) {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("Peer exists with given addresses (ID: {})", p.id),
        ));
    }
    let id: Uuid = NEW_PEER_ID.parse().unwrap();
    let mut metadata = req.metadata;
    metadata.insert("_zone".into(), req.zone.unwrap_or_else(|| id.to_string()));
    let peer = Peer {
        id,
        name: host.clone(),
        peer_addresses: vec![format!("{host}:24008")],
        client_addresses: vec![format!("{host}:24007")],
        online: true,
        pid: Some(4321),
        metadata,
    };
    peers.push(peer.clone());
    Ok((
        StatusCode::CREATED,
        [(LOCATION, format!("/v1/peers/{id}"))],
        Json(peer),
    )
        .into_response())
}

/// The index of the peer `id` names, or the 4xx to answer.
fn find_peer(peers: &[Peer], id: &str) -> Result<usize, Refusal> {
    let id: Uuid = id.parse().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            format!("invalid peer id: {id}"),
        )
    })?;
    peers
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, ErrorCode::NotFound, "peer not found"))
}

/// `POST /v1/peers/{id}`: merge the metadata, set `_zone`, answer the edited peer.
async fn edit_peer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Peer>, Refusal> {
    let mut peers = state.peers.lock().unwrap();
    let i = find_peer(&peers, &id)?;
    let req: PeerEditReq = parse_body(&body)?;
    check_metadata(&req.metadata)?;
    let mut metadata = peers[i].metadata.clone();
    metadata.extend(req.metadata);
    for k in &req.delete_metadata {
        metadata.remove(k);
    }
    let user: BTreeMap<String, String> = metadata
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_metadata(&user)?;
    if let Some(zone) = req.zone {
        metadata.insert("_zone".into(), zone);
    }
    peers[i].metadata = metadata;
    Ok(Json(peers[i].clone()))
}

/// `DELETE /v1/peers/{id}`: 204; an offline peer only with `?force=true`.
async fn remove_peer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<StatusCode, Refusal> {
    let mut peers = state.peers.lock().unwrap();
    let i = find_peer(&peers, &id)?;
    let force = query.get("force").is_some_and(|v| v == "true");
    if !peers[i].online && !force {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            "peer is not alive",
        ));
    }
    peers.remove(i);
    Ok(StatusCode::NO_CONTENT)
}

/// Records the request (method, path, query, body) and passes it on.
async fn record(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    state.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// glusterd2's auth middleware: a bearer JWT signed with the secret, for this method, path
/// and query.
async fn check_token(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(secret) = &state.setup.secret {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let target = req
            .uri()
            .path_and_query()
            .map_or(req.uri().path(), |pq| pq.as_str());
        let checked = gd_auth::bearer_token(header).and_then(|token| {
            gd_auth::verify_token(
                token,
                |user| (user == gd_auth::CLI_USER).then(|| secret.clone()),
                req.method().as_str(),
                target,
                gd_auth::DEFAULT_MAX_LIFETIME,
            )
        });
        if let Err(e) = checked {
            return (
                StatusCode::UNAUTHORIZED,
                Json(ErrorResp::new(ErrorCode::Unauthorized, e.to_string())),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// `GET /v1/volumes`: every volume, in name order, as the daemon lists them. `?key=&value=`
/// are ignored on purpose: the CLI filters again, and the tests check that.
async fn list_volumes(State(state): State<Arc<AppState>>) -> Json<Vec<VolumeInfo>> {
    let mut vols = state.volumes.lock().unwrap().clone();
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    Json(vols)
}

/// `POST /v1/volumes`: 201 + Location + the new volume (id [`NEW_VOLUME_ID`], state Created).
async fn create_volume(
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
fn find_volume(vols: &[VolumeInfo], name: &str) -> Result<usize, Refusal> {
    vols.iter().position(|v| v.name == name).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("volume {name} not found"),
        )
    })
}

/// `GET /v1/volumes/{name}`.
async fn get_volume(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<VolumeInfo>, Refusal> {
    let vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    Ok(Json(vols[i].clone()))
}

/// `DELETE /v1/volumes/{name}`: 204; a started volume is refused.
async fn delete_volume(
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
async fn start_volume(
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
async fn stop_volume(
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
async fn volume_bricks(
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

/// `glustercli` with a clean environment (no GD2_* variables from the developer's shell).
pub fn cli() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_glustercli"));
    c.env_remove("GD2_ENDPOINTS")
        .env_remove("GD2_AUTH_SECRET")
        .env_remove("GD2_STATE_DIR");
    c
}

/// `glustercli --endpoints <server> --secret <SECRET>`.
pub fn cli_for(server: &FakeServer) -> assert_cmd::Command {
    let mut c = cli();
    c.args(["--endpoints", &server.endpoint(), "--secret", SECRET]);
    c
}

/// Runs the CLI, asserts that it succeeded and returns its stdout.
pub fn stdout_of(c: &mut assert_cmd::Command) -> String {
    let out = c.output().expect("run glustercli");
    assert!(
        out.status.success(),
        "glustercli failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

// ---- options ----

/// The volume options the fake daemon knows, as a full listing shows them (`<category>/<xlator>.
/// <option>`, name order, default values, not modified). A key also resolves by
/// `<xlator>.<option>` and GD1's `<category>.<option>` ([`resolve_option`]).
pub fn option_table() -> Vec<VolumeOptionGetResp> {
    [
        ("cluster/replicate.eager-lock", "on", "advanced", "bool"),
        ("cluster/replicate.self-heal-daemon", "on", "basic", "bool"),
        (
            "features/shard.shard-block-size",
            "64MB",
            "advanced",
            "sizet",
        ),
        ("performance/io-cache.cache-size", "32MB", "basic", "sizet"),
        ("performance/read-ahead.read-ahead", "on", "basic", "bool"),
    ]
    .map(|(key, default, level, kind)| VolumeOptionGetResp {
        key: key.to_owned(),
        value: default.to_owned(),
        modified: false,
        default_value: default.to_owned(),
        option_level: level.to_owned(),
        kind: kind.to_owned(),
        description: String::new(),
    })
    .into()
}

/// The full name of the option `key` names, if the fake daemon knows it.
pub fn resolve_option(key: &str) -> Option<String> {
    option_table().into_iter().map(|o| o.key).find(|full| {
        let (category, rest) = full.split_once('/').expect("category/xlator.option");
        let option = rest.split_once('.').expect("xlator.option").1;
        key == full || key == rest || key == format!("{category}.{option}")
    })
}

/// The option groups at start: the built-in `virt`.
pub fn option_groups() -> Vec<OptionGroup> {
    vec![OptionGroup {
        name: "virt".into(),
        options: vec![
            GroupOption {
                name: "performance.read-ahead".into(),
                on_value: "off".into(),
            },
            GroupOption {
                name: "cluster/replicate.eager-lock".into(),
                on_value: "enable".into(),
            },
        ],
        description: "For hosting virtual machine images".into(),
        built_in: true,
    }]
}

/// The cluster options at start: none modified.
pub fn cluster_options() -> Vec<ClusterOptionGetResp> {
    [
        ("cluster.brick-multiplex", "off"),
        ("cluster.max-bricks-per-process", "250"),
        ("cluster.server-quorum-ratio", "51"),
    ]
    .map(|(key, default)| ClusterOptionGetResp {
        key: key.to_owned(),
        value: default.to_owned(),
        default: default.to_owned(),
        modified: false,
        description: String::new(),
    })
    .into()
}

fn bad_request(message: impl Into<String>) -> Refusal {
    error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
}

/// The full name of `key`, or the daemon's 400.
fn known_option(key: &str) -> Result<String, Refusal> {
    resolve_option(key).ok_or_else(|| bad_request(format!("option {key} does not exist")))
}

/// The group `name`, or the daemon's 400.
fn known_group(groups: &[OptionGroup], name: &str) -> Result<OptionGroup, Refusal> {
    groups
        .iter()
        .find(|g| g.name == name)
        .cloned()
        .ok_or_else(|| bad_request(format!("option group {name} does not exist")))
}

/// The full names and values a group sets.
fn group_values(group: &OptionGroup) -> Result<Vec<(String, String)>, Refusal> {
    group
        .options
        .iter()
        .map(|o| Ok((known_option(&o.name)?, o.on_value.clone())))
        .collect()
}

/// `POST /v1/volumes/{name}/options`: all the keys or none; options are stored under their
/// full names, `user.*` keys as given.
async fn set_options(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<VolumeInfo>, Refusal> {
    let req: VolOptionReq = parse_body(&body)?;
    let mut vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    if req.options.is_empty() {
        return Err(bad_request("no options given"));
    }
    let groups = state.groups.lock().unwrap().clone();
    let mut options = vols[i].options.clone();
    for (k, v) in &req.options {
        if k == "group" {
            options.extend(group_values(&known_group(&groups, v)?)?);
        } else if let Some(g) = groups.iter().find(|g| g.name == *k) {
            let values = group_values(g)?;
            match v.as_str() {
                "on" => options.extend(values),
                "off" => values.iter().for_each(|(full, _)| {
                    options.remove(full);
                }),
                _ => {
                    return Err(bad_request(format!(
                        "the value of group {k} must be on or off"
                    )));
                }
            }
        } else if k.starts_with("user.") {
            options.insert(k.clone(), v.clone());
        } else {
            options.insert(known_option(k)?, v.clone());
        }
    }
    vols[i].options = options;
    Ok(Json(vols[i].clone()))
}

/// `DELETE /v1/volumes/{name}/options`: the keys (options, groups, `user.*` keys), or all.
async fn reset_options(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<VolumeInfo>, Refusal> {
    let req: VolOptionResetReq = parse_body(&body)?;
    let mut vols = state.volumes.lock().unwrap();
    let i = find_volume(&vols, &name)?;
    if req.all {
        vols[i].options.clear();
        return Ok(Json(vols[i].clone()));
    }
    if req.options.is_empty() {
        return Err(bad_request("no options given"));
    }
    let groups = state.groups.lock().unwrap().clone();
    let mut options = vols[i].options.clone();
    for k in &req.options {
        if let Some(g) = groups.iter().find(|g| g.name == *k) {
            for (full, _) in group_values(g)? {
                options.remove(&full);
            }
        } else if k.starts_with("user.") {
            options.remove(k);
        } else {
            options.remove(&known_option(k)?);
        }
    }
    vols[i].options = options;
    Ok(Json(vols[i].clone()))
}

/// A volume's value of an option, under the name `key`.
fn option_of(vol: &VolumeInfo, mut opt: VolumeOptionGetResp, key: &str) -> VolumeOptionGetResp {
    if let Some(v) = vol.options.get(&opt.key) {
        opt.value = v.clone();
        opt.modified = true;
    }
    opt.key = key.to_owned();
    opt
}

/// `GET /v1/volumes/{name}/options`: every known option, with the volume's values.
async fn list_options(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<VolumeOptionGetResp>>, Refusal> {
    let vols = state.volumes.lock().unwrap();
    let vol = &vols[find_volume(&vols, &name)?];
    Ok(Json(
        option_table()
            .into_iter()
            .map(|o| {
                let key = o.key.clone();
                option_of(vol, o, &key)
            })
            .collect(),
    ))
}

/// `GET /v1/volumes/{name}/options/{*key}`: one option, named as asked.
async fn get_option(
    State(state): State<Arc<AppState>>,
    Path((name, key)): Path<(String, String)>,
) -> Result<Json<VolumeOptionGetResp>, Refusal> {
    let vols = state.volumes.lock().unwrap();
    let vol = &vols[find_volume(&vols, &name)?];
    let full = resolve_option(&key).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("option {key} not found"),
        )
    })?;
    let opt = option_table()
        .into_iter()
        .find(|o| o.key == full)
        .expect("resolved");
    Ok(Json(option_of(vol, opt, &key)))
}

/// `GET /v1/volumes/options-group`.
async fn list_groups(State(state): State<Arc<AppState>>) -> Json<Vec<OptionGroup>> {
    Json(state.groups.lock().unwrap().clone())
}

/// `POST /v1/volumes/options-group`: 201 + the new group (not built-in).
async fn create_group(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let req: OptionGroupReq = parse_body(&body)?;
    let mut groups = state.groups.lock().unwrap();
    if groups.iter().any(|g| g.name == req.name) {
        return Err(error(
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
            format!("option group {} already exists", req.name),
        ));
    }
    if req.options.is_empty() {
        return Err(bad_request("an option group needs options"));
    }
    for o in &req.options {
        known_option(&o.name)?;
    }
    let group = OptionGroup {
        name: req.name,
        options: req.options,
        description: req.description,
        built_in: false,
    };
    groups.push(group.clone());
    Ok((StatusCode::CREATED, Json(group)).into_response())
}

/// `DELETE /v1/volumes/options-group/{name}`: 204; built-in groups are refused.
async fn delete_group(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, Refusal> {
    let mut groups = state.groups.lock().unwrap();
    let Some(i) = groups.iter().position(|g| g.name == name) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("option group {name} not found"),
        ));
    };
    if groups[i].built_in {
        return Err(bad_request(format!(
            "option group {name} is built in and cannot be deleted"
        )));
    }
    groups.remove(i);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/cluster/options`.
async fn get_cluster_options(
    State(state): State<Arc<AppState>>,
) -> Json<Vec<ClusterOptionGetResp>> {
    Json(state.cluster_options.lock().unwrap().clone())
}

/// `POST /v1/cluster/options`: all the keys or none; answers every cluster option.
async fn set_cluster_options(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Vec<ClusterOptionGetResp>>, Refusal> {
    let req: ClusterOptionReq = parse_body(&body)?;
    let mut opts = state.cluster_options.lock().unwrap();
    let mut new = opts.clone();
    for (k, v) in &req.options {
        let o = new
            .iter_mut()
            .find(|o| o.key == *k)
            .ok_or_else(|| bad_request(format!("{k} is not a cluster option")))?;
        o.value = v.clone();
        o.modified = *v != o.default;
    }
    *opts = new;
    Ok(Json(opts.clone()))
}
