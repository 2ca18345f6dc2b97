//! The running fake daemon: its setup, the state its handlers share, the thread that serves it
//! (http or https) until it is dropped, and the table of its routes.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use axum::{
    Json, Router, middleware,
    routing::{get, post},
};
use gd_api::{ClusterOptionGetResp, OptionGroup, Peer, VersionResp, VolumeInfo};
use tokio::sync::oneshot;

use super::{
    cluster_options, fixture,
    layers::{check_token, record},
    option_groups,
    options::{
        create_group, delete_group, get_cluster_options, get_option, list_groups, list_options,
        reset_options, set_cluster_options, set_options,
    },
    peers,
    peers::{add_peer, edit_peer, list_peers, remove_peer},
    volumes,
    volumes::{
        create_volume, delete_volume, get_volume, list_volumes, start_volume, stop_volume,
        volume_bricks,
    },
};

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
pub(super) struct AppState {
    pub(super) setup: Setup,
    pub(super) peers: Mutex<Vec<Peer>>,
    pub(super) volumes: Mutex<Vec<VolumeInfo>>,
    pub(super) groups: Mutex<Vec<OptionGroup>>,
    pub(super) cluster_options: Mutex<Vec<ClusterOptionGetResp>>,
    pub(super) requests: Arc<Mutex<Vec<Recorded>>>,
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
