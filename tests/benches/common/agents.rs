//! What the benchmarks that run many node agents in one process share (`membership`,
//! `scale`): a node built as the daemon builds one, over a shared etcd client.

use std::{path::Path, sync::Arc};

use gd_daemon::{
    config::{Config, Flags, StoreMode},
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

/// Agent `i` of cluster `cluster_id`, on the external etcd at `endpoint` reached through
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
            endpoints: vec![endpoint.to_owned()],
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
