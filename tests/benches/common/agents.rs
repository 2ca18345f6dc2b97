//! What the benchmarks that run many node agents in one process share (`membership`,
//! `scale`, `volumes_scale`): a node built as the daemon builds one, over a shared etcd
//! client, and its features assembled and started as the daemon starts them.

use std::{path::Path, sync::Arc};

use gd_daemon::{
    config::{Config, Flags, StoreMode},
    feature::{Cluster, Feature},
    identity::Identity,
    node::Node,
    store::{Backend, SimulatedMembers, StoreState},
};
use uuid::Uuid;

/// Agent `i`'s configuration: its directories under `dir`, its address in `127.<block>.*`.
fn agent_config(dir: &Path, i: usize, block: u8, endpoint: &str) -> Config {
    let flags = Flags {
        localstatedir: Some(dir.join(format!("n{i}/state"))),
        rundir: Some(dir.join(format!("n{i}/run"))),
        logdir: Some(dir.join(format!("n{i}/log"))),
        clientaddress: Some(format!("127.{block}.{}.{}:24007", i / 250, i % 250 + 1)),
        store: Some(StoreMode::Etcd),
        etcdendpoints: Some(endpoint.to_owned()),
        ..Flags::default()
    };
    let c = Config::load(flags, |_| None).expect("config");
    std::fs::create_dir_all(&c.localstatedir).expect("state dir");
    c
}

/// Agent `i` of cluster `cluster_id`, on the external etcd at `endpoint` (comma-separated
/// client URLs) reached through
/// `raw` (with the store replica a node keeps), its etcd runner simulated.
pub fn assemble(
    dir: &Path,
    i: usize,
    block: u8,
    endpoint: &str,
    raw: &Arc<gd_store::EtcdStore>,
    cluster_id: Uuid,
) -> Arc<Node> {
    let backend = Backend {
        state: StoreState {
            mode: StoreMode::Etcd,
            endpoints: endpoint.split(',').map(str::to_owned).collect(),
            member: false,
            joined: true,
        },
        raw: raw.clone(),
        etcd: Some(raw.clone()),
        member: None,
    };
    let identity = Identity {
        peer_id: Uuid::new_v4(),
        cluster_id,
    };
    Node::assemble(
        agent_config(dir, i, block, endpoint),
        identity,
        None,
        backend,
        Arc::new(SimulatedMembers::default()),
    )
    .expect("node")
}

/// The node's features (every feature of the daemon, and `extra`), assembled and started as
/// the daemon starts them: the transaction engine's participant, recovery and cleanup
/// campaign, and every feature's background work (the volume reconciler, the task runner,
/// the leaders' campaigns). With `serve`, its SunRPC server serves the node's client address
/// and its run directory's socket, as the daemon's does (the bricks it starts fetch their
/// volfiles and sign in there); without, it serves no socket. Returns the cluster (the REST
/// state) and the features (for a REST router).
#[allow(dead_code)]
pub fn start_features(
    node: &Arc<Node>,
    extra: Vec<Box<dyn Feature>>,
    serve: bool,
    cancel: &tokio_util::sync::CancellationToken,
) -> (Cluster, Vec<Box<dyn Feature>>) {
    let mut features = gd_daemon::features::all();
    features.extend(extra);
    let rpc = gd_daemon::sunrpc::SunRpcServer::default();
    let (cluster, tasks) =
        Cluster::assemble(node.clone(), rpc.clone(), &features).expect("features");
    if serve {
        let tcp = std::net::TcpListener::bind(node.config.client_addr).expect("the client address");
        tcp.set_nonblocking(true).expect("non-blocking");
        std::fs::create_dir_all(&node.config.rundir).expect("run dir");
        let listeners = gd_daemon::sunrpc::listener::Listeners {
            tcp,
            app: axum::Router::new(),
            tls: None,
            unix_path: node.config.rundir.join(gd_daemon::sunrpc::UNIX_SOCKET_NAME),
        };
        gd_daemon::sunrpc::spawn_listeners(listeners, rpc, cancel.clone()).expect("SunRPC");
    }
    cluster.spawn(tasks, cancel);
    (cluster, features)
}

/// This process's resident memory, in bytes.
#[allow(dead_code)]
pub fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The variable `name` of the environment, parsed, or `default`.
#[allow(dead_code)]
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Waits until `n` agents have their liveness key in `view` (at most 5 minutes: a run whose
/// agents do not come up stops there, saying so).
#[allow(dead_code)]
pub async fn wait_alive(view: &dyn gd_store::Store, n: usize) {
    let began = std::time::Instant::now();
    loop {
        let alive = view
            .range(gd_core::keys::ALIVE, 0)
            .await
            .map_or(0, |r| r.kvs.len());
        if alive >= n {
            return;
        }
        assert!(
            began.elapsed() < std::time::Duration::from_secs(300),
            "only {alive} of {n} agents alive after 5 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
