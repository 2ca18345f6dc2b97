//! Membership benchmark: prints figures, asserts nothing about speed.
//!
//! 1. The time to add the k-th peer, k = 2…8, with real glusterd2 daemons on loopback, in
//!    managed-etcd mode and with one external etcd.
//! 2. Store writes per second at rest with those 8 nodes (the etcd revision over a window:
//!    lease keep-alives are not writes).
//! 3. Store writes per second at rest with N in-process agents (`Node::assemble`) on one real
//!    etcd, N = 100 and 500.
//!
//! Run: `scripts/bench.sh --bench membership` (it builds the release binaries the bench starts).
//! `GD2_BENCH_REST_S` sets the at-rest window (default 30 s).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use gd_store::{EtcdStore, Namespaced, Store};
use gd_testkit::*;

#[path = "common/agents.rs"]
mod agents;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn rest_window() -> Duration {
    Duration::from_secs(
        std::env::var("GD2_BENCH_REST_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    )
}

/// Adds nodes 1..8 to node 0 one at a time; returns the duration of each add.
fn add_peers(ips: &[String], dirs: &[NodeDirs], args: &[&str]) -> (Vec<Daemon>, Vec<Duration>) {
    let daemons: Vec<Daemon> = ips
        .iter()
        .zip(dirs)
        .map(|(ip, d)| start_daemon(d, ip, args).expect("start"))
        .collect();
    let mut times = vec![];
    for (i, ip) in ips.iter().enumerate().skip(1) {
        let token = join_token(&dirs[i], &daemons[i]);
        let t = Instant::now();
        let (status, body) = api(
            &dirs[0],
            &daemons[0],
            "POST",
            "/v1/peers",
            Some(json!({"addresses": [ip], "token": token})),
        );
        times.push(t.elapsed());
        assert_eq!(status, 201, "{body}");
    }
    (daemons, times)
}

fn print_adds(label: &str, times: &[Duration]) {
    println!("\npeer add, {label}:");
    println!("  {:>3}  {:>10}", "k", "ms");
    for (i, t) in times.iter().enumerate() {
        println!("  {:>3}  {:>10.1}", i + 2, t.as_secs_f64() * 1e3);
    }
}

async fn writes_at_rest(store: &dyn Store, window: Duration) -> f64 {
    let before = store.revision().await.expect("revision");
    tokio::time::sleep(window).await;
    let after = store.revision().await.expect("revision");
    (after - before) as f64 / window.as_secs_f64()
}

async fn agents_at_rest(n: usize, window: Duration) -> (f64, Duration) {
    let etcd = TestEtcd::start("127.0.31.1").await.expect("etcd");
    let raw = etcd.store().await.expect("etcd client");
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster_id = Uuid::new_v4();
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let mut nodes = vec![];
    for i in 0..n {
        let node = agents::assemble(dir.path(), i, 2, &etcd.client_url, &raw, cluster_id);
        tokio::spawn(node.clone().register_until_done(cancel.child_token()));
        tokio::spawn(node.liveness.clone().run(cancel.child_token()));
        nodes.push(node);
    }
    let view = Namespaced::new(
        raw.clone() as Arc<dyn Store>,
        gd_store::cluster_namespace(&cluster_id.to_string()),
    );
    loop {
        let alive = view
            .range("alive/", 0)
            .await
            .map(|r| r.kvs.len())
            .unwrap_or(0);
        if alive == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let up = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rate = writes_at_rest(raw.as_ref(), window).await;
    cancel.cancel();
    (rate, up)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let window = rest_window();

    // 1 and 2: real daemons, managed etcd.
    let ips: Vec<String> = (1..=8).map(|i| format!("127.0.30.{i}")).collect();
    let dirs: Vec<NodeDirs> = ips.iter().map(|_| NodeDirs::new()).collect();
    let (daemons, times) = add_peers(&ips, &dirs, &[]);
    print_adds("managed etcd (elastic voters)", &times);
    // Let the voters settle (3 of 8), then watch the store at rest.
    std::thread::sleep(Duration::from_secs(20));
    let rate = rt.block_on(async {
        let mut voter = None;
        for ip in &ips {
            let url = format!("http://{ip}:24379");
            if etcd_members(&url).await.is_some() {
                voter = Some(url);
                break;
            }
        }
        let store = EtcdStore::connect(&[voter.expect("a voter")], Default::default())
            .await
            .expect("etcd");
        writes_at_rest(store.as_ref(), window).await
    });
    println!(
        "\nstore writes at rest, 8 daemons (managed etcd), {} s window: {rate:.2}/s",
        window.as_secs()
    );
    drop(daemons);

    // 1 again with one external etcd.
    let etcd = rt.block_on(TestEtcd::start("127.0.30.100")).expect("etcd");
    let ips: Vec<String> = (1..=8).map(|i| format!("127.0.30.{}", 10 + i)).collect();
    let dirs: Vec<NodeDirs> = ips.iter().map(|_| NodeDirs::new()).collect();
    let (daemons, times) = add_peers(
        &ips,
        &dirs,
        &["--store", "etcd", "--etcdendpoints", &etcd.client_url],
    );
    print_adds("external etcd", &times);
    let rate = rt.block_on(async {
        let store = etcd.store().await.expect("etcd");
        tokio::time::sleep(Duration::from_secs(5)).await;
        writes_at_rest(store.as_ref(), window).await
    });
    println!(
        "\nstore writes at rest, 8 daemons (external etcd), {} s window: {rate:.2}/s",
        window.as_secs()
    );
    drop(daemons);

    // 3: in-process agents on one etcd.
    for n in [100, 500] {
        let (rate, up) = rt.block_on(agents_at_rest(n, window));
        println!(
            "\n{n} in-process agents on one etcd: all live after {:.1} s; store writes at rest: {rate:.2}/s",
            up.as_secs_f64()
        );
    }
}
