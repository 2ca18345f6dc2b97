//! Every path into the daemon's crates (`gd_daemon::…`, `gd_volume::…`, `gd_store::…`) that the CLI's tests
//! use, and nothing else: the daemon's types move between its crates, and whoever moves them
//! fixes the paths here, in one file, not across the tests.
//!
//! What it offers, in the daemon's own terms: a store several nodes share (the local store, or
//! an etcd of the test's own: [`open_store`], [`start_etcd`]), a node assembled and started as
//! `gd_daemon::run` starts one ([`start_serving_node`]: registered, live, its engine and
//! reconciler running, its REST router and SunRPC served by the daemon's own listener), a peer
//! node that only takes part in transactions ([`start_peer_node`]), and the two writes the
//! tests make straight into the store, for what no node in this process can do
//! ([`ServingNode::write_peer_record`], [`ServingNode::mark_started`]).

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::Router;
use gd_daemon::{
    config::{Config, Flags, PeerJoin, StoreMode},
    feature::Cluster,
    identity::{Identity, cluster_secret},
    node::Node,
    peers::{PeerRecord, peer_key},
    store::{Backend, SimulatedMembers, StoreState},
    sunrpc::{SunRpcServer, UNIX_SOCKET_NAME, listener::Listeners, spawn_listeners},
};
use gd_store::{
    EtcdStore, LocalStore, Store,
    managed::{EtcdMemberConfig, EtcdProcess},
    record,
};
use gd_volume::{
    model::{VolumeState, update_volume},
    processes::{BrickStatusRecord, status_key},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a node may take to publish its liveness.
const LIVE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the option tables of the installed xlators, once per process (`gd_daemon::run` does it
/// before it opens the store); volume option commands need them.
pub fn init_options() {
    gd_volume::options::init(None);
}

/// This machine's host name, as a node registers itself.
pub fn hostname() -> String {
    gd_daemon::node::hostname()
}

/// The backend the nodes of one test cluster share.
#[derive(Clone)]
pub struct SharedStore {
    raw: Arc<dyn Store>,
    /// The etcd it is, if it is one.
    etcd: Option<(Arc<EtcdStore>, String)>,
}

/// An in-memory local store (redb). It serves one cluster of nodes that share it, but no
/// node can be added to or join one (the daemon refuses that for the local store).
pub async fn open_store() -> anyhow::Result<SharedStore> {
    Ok(SharedStore {
        raw: LocalStore::open_in_memory().await?,
        etcd: None,
    })
}

/// An etcd of the test's own (its data under `dir`), on 127.0.0.1.
pub struct Etcd(EtcdProcess);

/// Starts an etcd and connects to it: what a cluster that adds peers needs (every node of
/// this process uses it as an external etcd, each cluster in its own namespace).
pub async fn start_etcd(dir: &Path) -> anyhow::Result<(SharedStore, Etcd)> {
    let url = |l: TcpListener| format!("http://{}", l.local_addr().expect("a local address"));
    let (client, peer) = (
        url(TcpListener::bind("127.0.0.1:0")?),
        url(TcpListener::bind("127.0.0.1:0")?),
    );
    let mut cfg = EtcdMemberConfig::new("cli-tests", dir.join("data"), client.clone(), peer);
    cfg.log_file = dir.join("etcd.log");
    let process = EtcdProcess::start(cfg).await?;
    let store = EtcdStore::connect(std::slice::from_ref(&client), Default::default()).await?;
    Ok((
        SharedStore {
            raw: store.clone(),
            etcd: Some((store, client)),
        },
        Etcd(process),
    ))
}

impl Etcd {
    pub async fn stop(self) {
        let _ = self.0.kill().await;
    }
}

/// A node of a test cluster: who it is and where its directories are.
pub struct NodeSpec {
    pub peer_id: Uuid,
    pub cluster_id: Uuid,
    /// Its state, run and log directories are made under it.
    pub dir: PathBuf,
    /// `host:port`: where it listens (the serving node) or says it does (peer nodes).
    pub client_address: String,
    /// Whether anyone may make it join a cluster (`peer-join = open`) rather than only a
    /// caller that shows its join token.
    pub open_to_join: bool,
}

/// A node over the shared store, as the daemon assembles one over a backend opened elsewhere;
/// `cluster_secret`: the secret of the cluster it belongs to, saved where the node reads it.
fn assemble(
    spec: &NodeSpec,
    store: &SharedStore,
    rest_secret: Option<String>,
    cluster_secret: Option<&str>,
) -> anyhow::Result<Arc<Node>> {
    let dirs = ["state", "run", "log"].map(|d| spec.dir.join(d));
    for d in &dirs {
        std::fs::create_dir_all(d)?;
    }
    if let Some(secret) = cluster_secret {
        cluster_secret::save(&dirs[0], secret)?;
    }
    let [localstatedir, rundir, logdir] = dirs.map(Some);
    let (mode, endpoints) = match &store.etcd {
        Some((_, url)) => (StoreMode::Etcd, vec![url.clone()]),
        None => (StoreMode::Local, vec![]),
    };
    let flags = Flags {
        localstatedir,
        rundir,
        logdir,
        clientaddress: Some(spec.client_address.clone()),
        store: Some(mode),
        etcdendpoints: (!endpoints.is_empty()).then(|| endpoints.join(",")),
        peer_join: spec.open_to_join.then_some(PeerJoin::Open),
        ..Flags::default()
    };
    let config = Config::load(flags, |_| None)?;
    let backend = Backend {
        state: StoreState {
            mode,
            endpoints,
            member: false,
            joined: false,
        },
        raw: store.raw.clone(),
        etcd: store.etcd.as_ref().map(|(e, _)| e.clone()),
        member: None,
    };
    let identity = Identity {
        peer_id: spec.peer_id,
        cluster_id: spec.cluster_id,
    };
    Node::assemble(
        config,
        identity,
        rest_secret,
        backend,
        Arc::new(SimulatedMembers::default()),
    )
}

/// The node the CLI talks to, serving.
pub struct ServingNode {
    node: Arc<Node>,
    /// Its run directory (brick pid files).
    pub rundir: PathBuf,
}

/// Starts a node on `listener` (the one the CLI talks to, or one waiting to be added to its
/// cluster), as `gd_daemon::run` does: registered in the store and live, its
/// transaction engine and volume reconciler running, its REST router — wrapped in `layer`
/// (the tests' recorder) — and SunRPC (GETSPEC and the port map, which bricks started here
/// need) served by the daemon's listener, over TLS when `tls` gives a certificate and key.
pub async fn start_serving_node(
    spec: NodeSpec,
    store: &SharedStore,
    rest_secret: Option<String>,
    listener: TcpListener,
    tls: Option<(PathBuf, PathBuf)>,
    layer: impl FnOnce(Router) -> Router,
    cancel: &CancellationToken,
) -> anyhow::Result<ServingNode> {
    // A node in a cluster of several has the cluster's secret; one alone, waiting to be
    // added, has none yet.
    let secret = (!spec.open_to_join).then(gd_auth::generate_secret);
    let node = assemble(&spec, store, rest_secret, secret.as_deref())?;
    node.register().await?;
    tokio::spawn(node.liveness.clone().run(cancel.clone()));
    anyhow::ensure!(
        node.liveness.wait_published(LIVE_WITHIN).await.is_some(),
        "the serving node did not go live"
    );
    let features = gd_daemon::features::all();
    let rpc = SunRpcServer::default();
    let (cluster, tasks) = Cluster::assemble(node.clone(), rpc.clone(), &features)?;
    let app = layer(gd_daemon::rest::router(cluster.clone(), &features));
    let tls = match tls {
        Some((cert, key)) => {
            Some(axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?)
        }
        None => None,
    };
    let rundir = node.config.rundir.clone();
    listener.set_nonblocking(true)?;
    let listeners = Listeners {
        tcp: listener,
        app,
        tls,
        unix_path: rundir.join(UNIX_SOCKET_NAME),
    };
    spawn_listeners(listeners, rpc, cancel.clone())?;
    cluster.spawn(tasks, cancel);
    Ok(ServingNode { node, rundir })
}

impl ServingNode {
    /// Writes `peer`'s record in the cluster's store, as a node registers itself: the name,
    /// addresses and metadata given (registration names a node after its host name, and every
    /// node of this process would have this machine's).
    pub async fn write_peer_record(&self, peer: &gd_api::Peer) -> anyhow::Result<()> {
        let rec = PeerRecord {
            id: peer.id,
            name: peer.name.clone(),
            peer_addresses: peer.peer_addresses.clone(),
            client_addresses: peer.client_addresses.clone(),
            metadata: peer.metadata.clone(),
        };
        self.node
            .store
            .put(&peer_key(peer.id), record::encode(&rec), None)
            .await?;
        Ok(())
    }

    /// Writes `n` copies of volume `name`'s record, named `<prefix>0000`... (records only:
    /// their bricks are `name`'s, and no node runs them).
    pub async fn copy_volume(&self, name: &str, prefix: &str, n: usize) -> anyhow::Result<()> {
        let store = self.node.store.as_ref();
        let Some(vol) = gd_volume::model::get_volume(store, name).await? else {
            anyhow::bail!("no volume {name} to copy");
        };
        for i in 0..n {
            let mut copy = vol.clone();
            copy.name = format!("{prefix}{i:04}");
            copy.id = Uuid::new_v4();
            store
                .put(
                    &gd_volume::model::volume_key(&copy.name),
                    record::encode(&copy),
                    None,
                )
                .await?;
        }
        Ok(())
    }

    /// Records volume `name` (of id `volume_id`) as started, with the status the nodes of its
    /// `bricks` — (node, brick id, pid, port) each — publish once they run them: what a start
    /// does on nodes whose brick processes this process does not run.
    pub async fn mark_started(
        &self,
        name: &str,
        volume_id: Uuid,
        bricks: &[(Uuid, Uuid, u32, u16)],
    ) -> anyhow::Result<()> {
        update_volume(self.node.store.as_ref(), name, volume_id, |v| {
            v.state = VolumeState::Started;
            Ok(())
        })
        .await
        .map_err(anyhow::Error::msg)?;
        for &(peer, brick, pid, port) in bricks {
            let status = BrickStatusRecord {
                online: true,
                pid,
                port,
                error: String::new(),
                detail: None,
            };
            self.node
                .store
                .put(&status_key(peer, brick), record::encode(&status), None)
                .await?;
        }
        Ok(())
    }
}

/// Starts a peer node over the shared store that is live and takes part in transactions (its
/// engine's participant runs the volume steps addressed to it: brick checks, marks, process
/// passes), but serves nothing and runs no reconciler: it starts no brick of its own.
pub async fn start_peer_node(
    spec: NodeSpec,
    store: &SharedStore,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let node = assemble(&spec, store, None, None)?;
    tokio::spawn(node.liveness.clone().run(cancel.clone()));
    anyhow::ensure!(
        node.liveness.wait_published(LIVE_WITHIN).await.is_some(),
        "peer node {} did not go live",
        spec.peer_id
    );
    let (cluster, _reconciler) =
        Cluster::assemble(node, SunRpcServer::default(), &gd_daemon::features::all())?;
    tokio::spawn(cluster.engine.clone().run_participant(cancel.clone()));
    Ok(())
}
