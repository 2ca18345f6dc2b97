//! A stub in place of the daemon, for the answers the real one cannot be driven to give and
//! that only say how the CLI prints an answer: an error body with two errors, a proxy's plain
//! text error, a success whose body is not a peer list, no answer at all (to `GET /v1/peers`,
//! which every command that names a peer reads first), and a volume stop that had to kill a
//! brick (its `Warning` header, which the real daemon gives only after a brick ignored SIGTERM
//! for 10 s). It checks no token, and stops when dropped.

use std::{net::SocketAddr, thread, time::Duration};

use axum::{
    Json, Router,
    extract::Path,
    http::{StatusCode, header::WARNING},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use gd_api::{ApiError, ErrorCode, ErrorResp, VolumeInfo};
use tokio::sync::oneshot;

use super::Endpoint;

/// How the stub answers `GET /v1/peers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 500 with a two-error `ErrorResp`.
    ApiError,
    /// 502 with a plain-text body (a proxy in front of the daemon).
    PlainError,
    /// 200 with a body that is not a peer list.
    Garbage,
    /// Never answers in time.
    Slow,
    /// `POST /v1/volumes/{name}/stop`: 200, the stopped volume, and the `Warning` of a brick
    /// killed after the grace ([`KILLED`]).
    KilledAtStop,
}

/// What the daemon says of a brick that ignored SIGTERM, in its words (`299 glusterd2` and the
/// note of the node that killed it).
pub const KILLED: &str = "on 127.0.0.2:24007: brick /data/gv0 (pid 3000) did not exit within \
                          10 s of SIGTERM and was killed (SIGKILL)";

/// A running stub.
pub struct Stub {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Stub {
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel();
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let app = match behaviour {
                    Behaviour::KilledAtStop => {
                        Router::new().route("/v1/volumes/{name}/stop", post(stop_volume))
                    }
                    _ => Router::new().route("/v1/peers", get(move || answer(behaviour))),
                };
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    r = axum::serve(listener, app) => r.expect("serve"),
                    _ = stopped => {}
                }
            });
        });
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Stub {
    /// The endpoint to pass to `--endpoints`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Endpoint for Stub {
    fn endpoint(&self) -> String {
        Stub::endpoint(self)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn answer(behaviour: Behaviour) -> Response {
    match behaviour {
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
            StatusCode::OK.into_response()
        }
        Behaviour::KilledAtStop => unreachable!("served by `stop_volume`"),
    }
}

/// The stopped volume `name`, and the warning of [`Behaviour::KilledAtStop`].
async fn stop_volume(Path(name): Path<String>) -> Response {
    let vol = VolumeInfo {
        id: uuid::Uuid::nil(),
        name,
        kind: "Replicate".into(),
        transport: "tcp".into(),
        distribute_count: 1,
        replica_count: 3,
        arbiter_count: 0,
        disperse_count: 0,
        disperse_redundancy_count: 0,
        options: Default::default(),
        state: "Stopped".into(),
        metadata: Default::default(),
        subvols: vec![],
    };
    let warning = format!("299 glusterd2 \"{KILLED}\"");
    ([(WARNING, warning)], Json(vol)).into_response()
}
