//! A fake glusterd2 for the CLI's tests: `/version` and `/v1/peers`, GD2's token check, and a
//! few ways to misbehave. It runs on its own thread (the tests themselves block on the CLI
//! process) and stops when dropped.

#![allow(dead_code)] // each test file uses a part

use std::{net::SocketAddr, path::PathBuf, sync::Arc, thread, time::Duration};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{StatusCode, header::AUTHORIZATION},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use gd_api::{ApiError, ErrorCode, ErrorResp, Peer, VersionResp};
use tokio::sync::oneshot;

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
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            secret: Some(SECRET.to_owned()),
            behaviour: Behaviour::Normal,
            tls: false,
        }
    }
}

/// A running fake daemon.
pub struct FakeServer {
    pub addr: SocketAddr,
    pub tls: bool,
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
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let app = router(Arc::new(setup.clone()));
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
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The endpoint to pass to `--endpoints`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
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

fn router(setup: Arc<Setup>) -> Router {
    Router::new()
        .route("/version", get(|| async { Json(version()) }))
        .route("/v1/peers", get(list_peers))
        .layer(middleware::from_fn_with_state(setup.clone(), check_token))
        .with_state(setup)
}

async fn list_peers(State(setup): State<Arc<Setup>>) -> Response {
    match setup.behaviour {
        Behaviour::Normal => Json(peers()).into_response(),
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

/// GD2's auth middleware: a bearer JWT signed with the secret, for this method and path.
async fn check_token(State(setup): State<Arc<Setup>>, req: Request, next: Next) -> Response {
    if let Some(secret) = &setup.secret {
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
