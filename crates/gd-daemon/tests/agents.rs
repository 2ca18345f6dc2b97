//! Many node agents in one process, on one store, with tokio's paused clock and a simulated
//! etcd runner (DESIGN §3.13): what the scale benchmarks build on. Checks that registration and
//! liveness work for every agent and that a cluster at rest writes nothing to the store.

use std::{sync::Arc, time::Duration};

use gd_core::keys::REMOVED;
use gd_daemon::{
    config::{Config, Flags, StoreMode},
    identity::Identity,
    node::Node,
    peers,
    store::{Backend, SimulatedMembers, StoreState},
};
use gd_store::{LocalStore, Store};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn config(dir: &std::path::Path, i: usize) -> Config {
    let flags = Flags {
        localstatedir: Some(dir.join(format!("n{i}/state"))),
        rundir: Some(dir.join(format!("n{i}/run"))),
        logdir: Some(dir.join(format!("n{i}/log"))),
        clientaddress: Some(format!("127.1.{}.{}:24007", i / 250, i % 250 + 1)),
        store: Some(StoreMode::Etcd),
        etcdendpoints: Some("http://127.0.0.1:1".into()),
        ..Flags::default()
    };
    let c = Config::load(flags, |_| None).expect("config");
    std::fs::create_dir_all(&c.localstatedir).unwrap();
    c
}

#[tokio::test(start_paused = true)]
async fn two_hundred_agents_register_go_live_and_write_nothing_at_rest() {
    const N: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let shared: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let cluster_id = Uuid::new_v4();
    let runner = Arc::new(SimulatedMembers::default());
    let cancel = CancellationToken::new();
    let mut nodes = vec![];
    for i in 0..N {
        let identity = Identity {
            peer_id: Uuid::new_v4(),
            cluster_id,
        };
        let backend = Backend {
            state: StoreState {
                mode: StoreMode::Etcd,
                endpoints: vec!["sim://".into()],
                member: false,
                joined: true,
            },
            raw: shared.clone(),
            etcd: None,
            member: None,
        };
        let node = Node::assemble(
            config(dir.path(), i),
            identity,
            None,
            backend,
            runner.clone(),
        )
        .unwrap();
        tokio::spawn(node.clone().register_until_done(cancel.child_token()));
        tokio::spawn(node.liveness.clone().run(cancel.child_token()));
        nodes.push(node);
    }
    // Virtual time: the keep-alive loops run every 3 s without anyone waiting for real.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let view = nodes[17].store.clone();
    let all = peers::list_peers(view.as_ref()).await.unwrap();
    assert_eq!(all.len(), N);
    assert!(all.iter().all(|p| p.online), "every agent is live");

    // At rest: a minute of keep-alives changes nothing in the store.
    let before = shared.revision().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let after = shared.revision().await.unwrap();
    assert_eq!(before, after, "no store writes at rest");

    // One agent stops: it shows offline everywhere at once (its lease is revoked).
    let gone = nodes[5].identity().peer_id;
    nodes[5].liveness.withdraw().await;
    let p = peers::get_peer(nodes[100].store.as_ref(), gone)
        .await
        .unwrap()
        .unwrap();
    assert!(!p.online);
    assert_eq!(
        runner.starts.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no etcd member was started"
    );
    cancel.cancel();
}

/// A node removed while offline resets itself when it registers. The reset replaces the
/// backend, and a member-agent step that read the old one must then change nothing: it may
/// neither start an etcd member for the old cluster nor stop the fresh one.
#[tokio::test]
async fn a_reset_fences_member_changes_decided_for_the_old_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let shared: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let runner = Arc::new(SimulatedMembers::default());
    let old_cluster = Uuid::new_v4();
    let identity = Identity {
        peer_id: Uuid::new_v4(),
        cluster_id: old_cluster,
    };
    // A fresh state of this node is the local store, so the reset needs no etcd.
    let mut config = config(dir.path(), 0);
    config.store = StoreMode::Local;
    let backend = Backend {
        state: StoreState {
            mode: StoreMode::Managed,
            endpoints: vec!["sim://".into()],
            member: true,
            joined: true,
        },
        raw: shared.clone(),
        etcd: None,
        member: None,
    };
    let node = Node::assemble(config, identity, None, backend, runner.clone()).unwrap();
    let (_, before) = node.store_state().await.unwrap();

    node.store
        .put(
            &format!("{}{}", REMOVED, identity.peer_id),
            b"tombstone".to_vec(),
            None,
        )
        .await
        .unwrap();
    node.register().await.unwrap();

    let (state, after) = node.store_state().await.unwrap();
    assert_ne!(node.identity().cluster_id, old_cluster, "a new cluster id");
    assert_eq!(state.mode, StoreMode::Local);
    assert_ne!(before, after, "the reset bumped the backend generation");
    assert!(
        !node.start_own_member(before, None, true).await.unwrap(),
        "a stale step starts nothing"
    );
    assert!(
        !node.drop_own_member(before).await,
        "a stale step stops nothing"
    );
    node.update_endpoints(before, vec!["http://127.0.0.9:24379".into()], true)
        .await;
    let (state, _) = node.store_state().await.unwrap();
    assert!(state.endpoints.is_empty(), "{:?}", state.endpoints);
    assert_eq!(runner.starts.load(std::sync::atomic::Ordering::SeqCst), 0);
    // The same calls with the current generation do act.
    assert!(node.start_own_member(after, None, true).await.unwrap());
    assert_eq!(runner.starts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(node.drop_own_member(after).await);
    node.close().await;
}

/// Every step the crash matrix is generated from has a handler, and every handler is listed.
#[tokio::test]
async fn every_listed_step_has_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let shared: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let runner = Arc::new(SimulatedMembers::default());
    let identity = Identity {
        peer_id: Uuid::new_v4(),
        cluster_id: Uuid::new_v4(),
    };
    let mut config = config(dir.path(), 0);
    config.store = StoreMode::Local;
    let backend = Backend {
        state: StoreState {
            mode: StoreMode::Local,
            endpoints: vec![],
            member: false,
            joined: false,
        },
        raw: shared,
        etcd: None,
        member: None,
    };
    let node = Node::assemble(config, identity, None, backend, runner).unwrap();
    let mut listed: Vec<&str> = gd_volume::STEPS
        .into_iter()
        .chain(gd_rebalance::STEPS)
        .chain(gd_hooks::STEPS)
        .collect();
    listed.sort_unstable();
    let (cluster, _) = gd_daemon::feature::Cluster::assemble(
        node,
        gd_daemon::sunrpc::SunRpcServer::default(),
        &gd_daemon::features::all(),
    )
    .unwrap();
    assert_eq!(cluster.engine.steps(), listed);
}
