//! The running daemon a test talks to: a small glusterd2 cluster in this process (see the
//! module documentation of `common`), its setup, the recorder of the requests the CLI sends,
//! and its end when the test drops it.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use gd_api::{Peer, VolumeInfo};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    Endpoint,
    daemon::{self, NodeSpec},
    fixture, peers, volumes,
};

/// A request the daemon received.
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

/// The REST secret of the daemon (auth on, the default).
pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The peer id of the node the CLI talks to.
pub const THIS_NODE: &str = "d2d2d2d2-0000-4000-8000-000000000001";

/// The peer id of the node waiting to be added ([`Setup::etcd`]).
pub const JOINER: &str = "3e0d9a8b-7c6f-4e5d-9a1b-2c3d4e5f6a7b";

/// The daemon's setup.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `None`: auth off.
    pub secret: Option<String>,
    /// Serve https with the fixture certificate.
    pub tls: bool,
    /// The other peers of the cluster: the online ones run in this process as nodes that take
    /// part in transactions, the offline ones are only their records.
    pub peers: Vec<Peer>,
    /// Create the fixture volumes (`volumes::create_fixtures`).
    pub volumes: bool,
    /// With the fixture volumes, this many more: records only (`many-0000`...), copies of
    /// `dist`'s, for the tests of paged lists.
    pub more_volumes: usize,
    /// Keep the cluster in an etcd of the test's own rather than the local store, and start a
    /// node alone, in a cluster of its own on that etcd, that anyone may add ([`Daemon::joiner`]):
    /// a peer can be added only so (the local store serves one node).
    pub etcd: bool,
}

impl Default for Setup {
    /// The peers of [`peers::peers`], no volume.
    fn default() -> Self {
        Self {
            secret: Some(SECRET.to_owned()),
            tls: false,
            peers: peers::peers(),
            volumes: false,
            more_volumes: 0,
            etcd: false,
        }
    }
}

impl Setup {
    /// The peers of [`peers::brick_peers`] and the fixture volumes on them.
    pub fn volumes() -> Self {
        Self {
            volumes: true,
            ..Self::brick_nodes()
        }
    }

    /// The peers of [`peers::brick_peers`], no volume.
    pub fn brick_nodes() -> Self {
        Self {
            peers: peers::brick_peers(),
            ..Self::default()
        }
    }
}

/// A running daemon; it stops, with every node and brick process of its cluster, when dropped.
pub struct Daemon {
    pub addr: SocketAddr,
    pub tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// The fixture volumes as the daemon answered them once set up.
    fixture_volumes: Vec<VolumeInfo>,
    /// Where the node waiting to be added serves.
    joiner: Option<SocketAddr>,
    etcd: Option<daemon::Etcd>,
    rundir: PathBuf,
    cancel: CancellationToken,
    runtime: Option<tokio::runtime::Runtime>,
    /// The nodes' directories and the bricks; removed last.
    root: tempfile::TempDir,
}

impl Daemon {
    /// The daemon with auth on and the peers of [`Setup::default`].
    pub fn start() -> Self {
        Self::with(Setup::default())
    }

    pub fn with(setup: Setup) -> Self {
        daemon::init_options();
        let root = tempfile::tempdir().expect("tempdir");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let cancel = CancellationToken::new();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let started = runtime.block_on(set_up(
            &setup,
            root.path(),
            listener,
            requests.clone(),
            &cancel,
        ));
        let started = match started {
            Ok(s) => s,
            Err(e) => panic!("the test daemon did not start: {e:#}"),
        };
        // What the set-up sent is not what the test's CLI sent.
        requests.lock().unwrap().clear();
        Self {
            addr,
            tls: setup.tls,
            requests,
            fixture_volumes: started.fixture_volumes,
            joiner: started.joiner,
            etcd: started.etcd,
            rundir: started.rundir,
            cancel,
            runtime: Some(runtime),
            root,
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

    /// The fixture volume `name` as the daemon answered it once set up.
    pub fn volume(&self, name: &str) -> VolumeInfo {
        self.fixture_volumes
            .iter()
            .find(|v| v.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no fixture volume {name}"))
    }

    /// `arg` with its `HOST:{bricks}` made `HOST:<the directory of HOST's bricks>`, a directory
    /// of the test's (the nodes of its cluster share this machine); the brick's own directory
    /// is made, as on a node prepared for it.
    pub fn bricks(&self, arg: &str) -> String {
        let Some((host, path)) = arg.split_once(":{bricks}") else {
            return arg.to_owned();
        };
        let dir = volumes::bricks_of(self.root.path(), host) + path;
        std::fs::create_dir_all(&dir).expect("a brick directory");
        format!("{host}:{dir}")
    }

    /// `text` (output, a request) with the directories of bricks written `{bricks}` again.
    pub fn unbricks(&self, text: &str) -> String {
        volumes::unbricks(self.root.path(), text)
    }

    /// The address of the node waiting to be added ([`Setup::etcd`]).
    pub fn joiner(&self) -> String {
        self.joiner.expect("a daemon set up with etcd").to_string()
    }

    /// The node the CLI talks to, as the daemon lists it: registered under this machine's host
    /// name at the address it serves, online, its zone its id.
    pub fn this_peer(&self) -> Peer {
        Peer {
            id: THIS_NODE.parse().unwrap(),
            name: daemon::hostname(),
            peer_addresses: vec![self.addr.to_string()],
            client_addresses: vec![self.addr.to_string()],
            online: true,
            pid: Some(std::process::id()),
            metadata: [("_zone".to_owned(), THIS_NODE.to_owned())].into(),
        }
    }
}

impl Endpoint for Daemon {
    fn endpoint(&self) -> String {
        Daemon::endpoint(self)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(rt) = self.runtime.take() {
            if let Some(etcd) = self.etcd.take() {
                rt.block_on(etcd.stop());
            }
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        // A daemon leaves its bricks running when it stops (they outlive restarts): the
        // bricks this test started go with it.
        volumes::kill_bricks(&self.rundir);
    }
}

/// What [`set_up`] started that the [`Daemon`] keeps.
struct Started {
    rundir: PathBuf,
    fixture_volumes: Vec<VolumeInfo>,
    joiner: Option<SocketAddr>,
    etcd: Option<daemon::Etcd>,
}

/// Starts the cluster `setup` describes, its nodes' directories under `root`: its store; the
/// node the CLI talks to, serving on `listener` behind the recorder of `requests`; the online
/// peers as nodes and every peer's record; the node waiting to be added (etcd only); then the
/// fixture volumes, through the API.
async fn set_up(
    setup: &Setup,
    root: &Path,
    listener: TcpListener,
    requests: Arc<Mutex<Vec<Recorded>>>,
    cancel: &CancellationToken,
) -> anyhow::Result<Started> {
    let (store, etcd) = if setup.etcd {
        let (store, etcd) = daemon::start_etcd(&root.join("etcd")).await?;
        (store, Some(etcd))
    } else {
        (daemon::open_store().await?, None)
    };
    let cluster_id = Uuid::new_v4();
    let spec = |id: Uuid, name: &str, address: String| NodeSpec {
        peer_id: id,
        cluster_id,
        dir: root.join("nodes").join(name),
        client_address: address,
        open_to_join: false,
    };
    let addr = listener.local_addr()?;
    let tls = setup
        .tls
        .then(|| (fixture("server.pem"), fixture("server.key")));
    let serving = daemon::start_serving_node(
        spec(THIS_NODE.parse()?, "this", addr.to_string()),
        &store,
        setup.secret.clone(),
        listener,
        tls,
        |app| app.layer(middleware::from_fn_with_state(requests, record)),
        cancel,
    )
    .await?;
    for p in &setup.peers {
        serving.write_peer_record(p).await?;
        if p.online {
            let address = p.client_addresses[0].clone();
            daemon::start_peer_node(spec(p.id, &p.name, address), &store, cancel).await?;
        }
    }
    let mut joiner = None;
    if etcd.is_some() {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let alone = NodeSpec {
            cluster_id: Uuid::new_v4(),
            open_to_join: true,
            ..spec(JOINER.parse()?, "joiner", address.to_string())
        };
        daemon::start_serving_node(alone, &store, None, listener, None, |app| app, cancel).await?;
        joiner = Some(address);
    }
    let mut fixture_volumes = vec![];
    if setup.volumes {
        let scheme = if setup.tls { "https" } else { "http" };
        let endpoint = format!("{scheme}://{addr}");
        let secret = setup.secret.as_deref();
        fixture_volumes = volumes::create_fixtures(&serving, &endpoint, secret, root).await?;
        serving
            .copy_volume("dist", "many-", setup.more_volumes)
            .await?;
    }
    Ok(Started {
        rundir: serving.rundir.clone(),
        fixture_volumes,
        joiner,
        etcd,
    })
}

/// Records the request (method, path, query, body) and passes it on.
async fn record(
    State(requests): State<Arc<Mutex<Vec<Recorded>>>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 4 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
