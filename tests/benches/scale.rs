//! Scale benchmark (issue 14): prints figures, asserts nothing about speed.
//!
//! N node agents in one process (`Node::assemble`, as the daemon builds them: registration,
//! liveness, the removal watch, the etcd member agent and controller campaign (idle: the
//! store is external), the store view with its replica, and every feature assembled and
//! started as the daemon does (`Cluster::assemble`: the transaction engine's participant and
//! cleanup campaign, the volume reconciler, the task runner, the features' leaders); the REST
//! router is not built here (`volumes_scale` calls it), on a real etcd cluster of 3 members
//! (`GD2_BENCH_ETCD_MEMBERS`), for N = 10, 100, 1,000 (`GD2_BENCH_SCALE_N`, comma
//! separated). For each N:
//! - how long until every agent is alive, and the process's memory per agent (RSS growth / N);
//! - store writes per second at rest (the etcd revision over `GD2_BENCH_REST_S`, default 10 s);
//! - 60 transactions of three steps on three agents, one after the other, from agent 0: their
//!   latency (median, slowest), and the watch events they cost — delivered to the agents'
//!   own watches (the transaction inboxes, membership...) and to their store replicas,
//!   counted by each agent's metrics (`gd2_store_watch_events_total`), and what etcd says it
//!   sent (`etcd_debugging_mvcc_events_total` on its members' metrics endpoints): per transaction, all
//!   agents together;
//! - one agent killed (its liveness task ended without revoking its lease, as a kill -9
//!   leaves it): how long until agent 0 reads it offline;
//! - the largest value in the store at the end (no value may grow with the cluster).
//!
//! Run: `scripts/bench.sh --bench scale`. `docs/scale.md` says what the figures mean.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use gd_core::txn::{DuplicateStep, Engine, Registry, Step, StepError, Transaction};
use gd_daemon::{
    feature::{Cluster, Feature, Parts, Task},
    membership,
};
use gd_store::{Namespaced, Store};
use gd_testkit::etcd_cluster::TestEtcdCluster;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[path = "common/agents.rs"]
mod agents;

/// How many transactions each N runs.
const TXNS: usize = 60;

/// A step that does nothing but be run: what the engine itself costs.
struct Noop;

/// The benchmark's own feature: its one step.
struct BenchSteps;

impl Feature for BenchSteps {
    fn name(&self) -> &'static str {
        "bench"
    }
    fn assemble(&self, _: &Parts, registry: &mut Registry) -> Result<Vec<Task>, DuplicateStep> {
        registry.add(Noop)?;
        Ok(vec![])
    }
    fn routes(&self) -> utoipa_axum::router::OpenApiRouter<Cluster> {
        utoipa_axum::router::OpenApiRouter::new()
    }
    fn keys(&self) -> &'static [&'static str] {
        &[]
    }
}

#[async_trait]
impl Step for Noop {
    const NAME: &'static str = "bench.noop";
    type Args = ();

    async fn run(&self, _: &()) -> Result<(), StepError> {
        Ok(())
    }
    async fn undo(&self, _: &()) -> Result<(), StepError> {
        Ok(())
    }
}

fn sizes() -> Vec<usize> {
    std::env::var("GD2_BENCH_SCALE_N")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// A counter of etcd's metrics endpoints, summed over the members at `client_urls`
/// (`etcd_debugging_mvcc_events_total`: events sent to watchers; `..._range_total`,
/// `..._txn_total`: reads and transactions served).
async fn etcd_counter(client_urls: &[String], name: &str) -> Option<f64> {
    let mut sum = 0.0;
    for url in client_urls {
        let text = reqwest::get(format!("{url}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        sum += text
            .lines()
            .find(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with(' ')))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())?;
    }
    Some(sum)
}

/// Reads (ranges) and transactions the members served so far.
async fn etcd_requests(client_urls: &[String]) -> Option<f64> {
    let ranges = etcd_counter(client_urls, "etcd_debugging_mvcc_range_total").await?;
    let txns = etcd_counter(client_urls, "etcd_debugging_mvcc_txn_total").await?;
    Some(ranges + txns)
}

struct Agent {
    node: Arc<gd_daemon::node::Node>,
    engine: Arc<Engine>,
}

/// The watch events every agent's watches received so far: (own watches, replicas).
fn watch_events(agents: &[Agent]) -> (u64, u64) {
    let count = |watcher: &'static str| -> u64 {
        agents
            .iter()
            .map(|a| a.node.metrics.watch_events_of(watcher))
            .sum()
    };
    (count("node"), count("replica"))
}

struct Figures {
    n: usize,
    up: Duration,
    rss_per_agent: f64,
    writes_at_rest: f64,
    requests_at_rest: Option<f64>,
    txn_median_ms: f64,
    txn_max_ms: f64,
    node_events: f64,
    replica_events: f64,
    etcd_events: Option<f64>,
    offline: Duration,
    /// What was written at rest, by prefix.
    writes_by_prefix: std::collections::BTreeMap<String, usize>,
    /// The largest value in the store at the end, and its key's prefix.
    largest: (usize, String),
}

async fn run(n: usize, block: u8) -> Figures {
    let members: usize = agents::env_or("GD2_BENCH_ETCD_MEMBERS", 3);
    let ips: Vec<String> = (1..=members)
        .map(|m| format!("127.0.{block}.{m}"))
        .collect();
    let etcd = TestEtcdCluster::start(&ips).await.expect("etcd");
    let raw = etcd.store().await.expect("etcd client");
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster_id = Uuid::new_v4();
    let cancel = CancellationToken::new();
    let rss_before = agents::rss();
    let started = Instant::now();
    let mut agents = vec![];
    let mut last_liveness = None;
    for i in 0..n {
        let node = agents::assemble(dir.path(), i, 3, &etcd.endpoints(), &raw, cluster_id);
        tokio::spawn(node.clone().register_until_done(cancel.child_token()));
        last_liveness = Some(tokio::spawn(
            node.liveness.clone().run(cancel.child_token()),
        ));
        tokio::spawn(node.clone().watch_removal(cancel.child_token()));
        tokio::spawn(membership::run_member_agent(
            node.clone(),
            cancel.child_token(),
        ));
        tokio::spawn(membership::run_controller(
            node.clone(),
            membership::ElasticConfig {
                five_voters_from: 5,
                voter_grace: Duration::from_secs(30),
            },
            cancel.child_token(),
        ));
        let (cluster, _) = agents::start_features(
            &node,
            vec![Box::new(BenchSteps)],
            false,
            &cancel.child_token(),
        );
        if i == 0 && std::env::var_os("RUST_LOG").is_some() {
            gd_daemon::logging::init(&node.config).expect("logging");
        }
        agents.push(Agent {
            node,
            engine: cluster.engine,
        });
    }
    let view = Namespaced::new(
        raw.clone() as Arc<dyn Store>,
        gd_store::cluster_namespace(&cluster_id.to_string()),
    );
    agents::wait_alive(&view, n).await;
    let up = started.elapsed();
    // Let the replicas load and the campaigns settle before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_per_agent = agents::rss().saturating_sub(rss_before) as f64 / n as f64;

    // At rest once start-up's writes are over (the events keeper records every node's
    // arrival): no write for 2 s, or at most a minute.
    let settling = Instant::now();
    loop {
        let rev = raw.revision().await.expect("revision");
        tokio::time::sleep(Duration::from_secs(2)).await;
        if raw.revision().await.expect("revision") == rev
            || settling.elapsed() > Duration::from_secs(60)
        {
            break;
        }
    }
    let window = Duration::from_secs(agents::env_or("GD2_BENCH_REST_S", 10));
    let before = raw.revision().await.expect("revision");
    let requests_before = etcd_requests(&etcd.client_urls).await;
    // What is written at rest, by the part of the key space it is under.
    let mut written = view.watch("", None).await.expect("a watch of everything");
    let mut writes_by_prefix = std::collections::BTreeMap::<String, usize>::new();
    let _ = tokio::time::timeout(window, async {
        while let Some(Ok(ev)) = written.next().await {
            *writes_by_prefix
                .entry(gd_core::keys::top_prefix(&ev.key).to_owned())
                .or_default() += 1;
        }
    })
    .await;
    // Its events must not count in the transactions' below.
    drop(written);
    let after = raw.revision().await.expect("revision");
    let requests_after = etcd_requests(&etcd.client_urls).await;
    let writes_at_rest = (after - before) as f64 / window.as_secs_f64();
    let requests_at_rest = requests_before
        .zip(requests_after)
        .map(|(a, b)| (b - a) / window.as_secs_f64());

    let initiator = &agents[0];
    let lease = initiator.node.liveness.lease().expect("agent 0's lease");
    let (node0, replica0) = watch_events(&agents);
    let etcd0 = etcd_counter(&etcd.client_urls, "etcd_debugging_mvcc_events_total").await;
    let mut times = vec![];
    for t in 0..TXNS {
        // Three agents, a different set each time (never all the same ones).
        let nodes: Vec<Uuid> = (0..3)
            .map(|k| agents[(1 + t * 3 + k) % n].node.identity().peer_id)
            .collect();
        let txn = Transaction {
            operation: format!("bench {t}"),
            locks: vec![format!("bench/{t}")],
            steps: vec![
                Noop::call(nodes.clone(), &()),
                Noop::call(nodes.clone(), &()),
                Noop::call(nodes, &()),
            ],
            ..Default::default()
        };
        let t0 = Instant::now();
        initiator
            .engine
            .execute(txn, lease)
            .await
            .expect("transaction");
        times.push(t0.elapsed());
    }
    // Let the last events arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (node1, replica1) = watch_events(&agents);
    let etcd1 = etcd_counter(&etcd.client_urls, "etcd_debugging_mvcc_events_total").await;

    // The last agent killed: its liveness task ends without a word (no revoke, as a kill -9
    // leaves it); how long until agent 0 reads it offline (its liveness key gone).
    let dead = agents[n - 1].node.identity().peer_id;
    let alive_key = format!("{}{dead}", gd_core::keys::ALIVE);
    last_liveness.expect("an agent").abort();
    let killed = Instant::now();
    while agents[0]
        .node
        .store
        .get(&alive_key)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "never seen offline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let offline = killed.elapsed();
    // No stored value may grow with the cluster (DESIGN §3.4): the largest one now.
    let everything = view.range("", 0).await.expect("the whole namespace");
    let largest = everything
        .kvs
        .iter()
        .max_by_key(|kv| kv.value.len())
        .map(|kv| {
            (
                kv.value.len(),
                gd_core::keys::top_prefix(&kv.key).to_owned(),
            )
        })
        .unwrap_or_default();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    cancel.cancel();
    Figures {
        n,
        up,
        rss_per_agent,
        writes_at_rest,
        requests_at_rest,
        txn_median_ms: ms(times[times.len() / 2]),
        txn_max_ms: ms(times[times.len() - 1]),
        node_events: (node1 - node0) as f64 / TXNS as f64,
        replica_events: (replica1 - replica0) as f64 / TXNS as f64,
        etcd_events: etcd0.zip(etcd1).map(|(a, b)| (b - a) / TXNS as f64),
        offline,
        writes_by_prefix,
        largest,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = vec![];
    for (i, n) in sizes().into_iter().enumerate() {
        let f = rt.block_on(run(n, 120 + i as u8));
        eprintln!("N = {n} done");
        rows.push(f);
        // The agents' tasks end with their cancel token; give them a moment.
        std::thread::sleep(Duration::from_secs(2));
    }
    println!(
        "\n{:>6} {:>9} {:>11} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12} {:>10}",
        "N",
        "up (s)",
        "RSS/agent",
        "writes/s",
        "reqs/s",
        "txn p50",
        "txn max",
        "events/txn",
        "replica/txn",
        "etcd sent/txn",
        "offline"
    );
    println!(
        "{:>6} {:>9} {:>11} {:>10} {:>10} {:>10} {:>10} {:>12} {:>12} {:>12} {:>10}",
        "", "", "(MiB)", "at rest", "at rest", "(ms)", "(ms)", "(own)", "", "", "(s)"
    );
    let or_na = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |e| format!("{e:.1}"));
    let rows_largest: Vec<(usize, (usize, String))> =
        rows.iter().map(|f| (f.n, f.largest.clone())).collect();
    let rows_writes: Vec<(usize, String)> = rows
        .iter()
        .map(|f| {
            let by: Vec<String> = f
                .writes_by_prefix
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect();
            (f.n, by.join(", "))
        })
        .collect();
    for f in rows {
        println!(
            "{:>6} {:>9.1} {:>11.2} {:>10.2} {:>10} {:>10.1} {:>10.1} {:>12.1} {:>12.1} {:>12} {:>10.1}",
            f.n,
            f.up.as_secs_f64(),
            f.rss_per_agent / (1024.0 * 1024.0),
            f.writes_at_rest,
            or_na(f.requests_at_rest),
            f.txn_median_ms,
            f.txn_max_ms,
            f.node_events,
            f.replica_events,
            or_na(f.etcd_events),
            f.offline.as_secs_f64(),
        );
    }
    println!("\nwhat was written at rest (changes, by prefix):");
    for (n, by) in &rows_writes {
        println!("{n:>6} {}", if by.is_empty() { "nothing" } else { by });
    }
    println!("\nthe largest value stored at the end of each run (bytes, under):");
    for f in &rows_largest {
        println!("{:>6} {:>9} {}", f.0, f.1.0, f.1.1);
    }
}
