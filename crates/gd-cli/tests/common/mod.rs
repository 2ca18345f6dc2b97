//! A fake glusterd2 for the CLI's tests: `/version`, `/v1/peers` (list, add) and
//! `/v1/peers/{id}` (edit, remove), GD2's token check, and a few ways to misbehave. It runs on
//! its own thread (the tests themselves block on the CLI process) and stops when dropped.
//!
//! It records every request it receives ([`FakeServer::requests`]) so tests can assert exactly
//! what the CLI sent, and it keeps its peers in memory, so an edit or a removal shows in the
//! next command against the same server. Its rules for add/edit/remove follow GD2's
//! (gd2.md §3.3-3.5) only as far as the CLI's tests need answers to print.

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
        StatusCode,
        header::{AUTHORIZATION, LOCATION},
    },
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use gd_api::{
    ApiError, ErrorCode, ErrorResp, METADATA_BYTES_MAX, Peer, PeerAddReq, PeerEditReq, VersionResp,
};
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The id the fake daemon gives the peer `POST /v1/peers` adds.
pub const NEW_PEER_ID: &str = "3e0d9a8b-7c6f-4e5d-9a1b-2c3d4e5f6a7b";

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
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            secret: Some(SECRET.to_owned()),
            behaviour: Behaviour::Normal,
            tls: false,
            peers: peers(),
        }
    }
}

/// What the handlers share.
struct AppState {
    setup: Setup,
    peers: Mutex<Vec<Peer>>,
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

/// GD2's auth middleware: a bearer JWT signed with the secret, for this method and path.
async fn check_token(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(secret) = &state.setup.secret {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let checked = gd_auth::bearer_token(header).and_then(|token| {
            gd_auth::verify_token(
                token,
                |user| (user == gd_auth::CLI_USER).then(|| secret.clone()),
                req.method().as_str(),
                req.uri().path(),
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
