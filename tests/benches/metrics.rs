//! Metrics and events benchmark: prints figures, asserts nothing about speed.
//!
//! 1. `/metrics` with 1,000 replica-3 volumes (3,000 bricks, each with its published status
//!    and file system): one node assembled in process as the daemon assembles it (every
//!    feature), over a real etcd, the records written as the nodes write them; median and
//!    slowest of 20 scrapes, and the size of the text. Target: under 50 ms.
//! 2. What counting costs a volume operation, on 3 real glusterd2 nodes with real bricks:
//!    create, start, set, stop and delete (median of 5 runs each), how many figures the three
//!    nodes counted for each (store requests, REST requests, steps, transactions: read from
//!    their scrapes before and after), and what one count costs (measured on the same
//!    `Metrics` type, 1,000,000 times); the overhead is their product over the operation's
//!    time; and what the operation's event adds (one store write, measured in part 1).
//!    Target: under 5 %.
//!
//! Run: `scripts/bench.sh --bench metrics`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use gd_api::{BrickKind, SubvolType};
use gd_daemon::{
    config::{Config, Flags, StoreMode},
    feature::Cluster,
    identity::Identity,
    node::Node,
    store::{Backend, SimulatedMembers, StoreState},
    sunrpc::SunRpcServer,
};
use gd_store::{Store, record};
use gd_testkit::*;
use gd_volume::{
    model::{BrickRecord, SubvolRecord, VolumeAuth, VolumeRecord, VolumeState, volume_key},
    processes::{BrickStatusRecord, detail::BrickDetail, status_key},
};
use serde_json::json;
use uuid::Uuid;

fn median_ms(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

fn main() {
    // `GD2_BENCH_PART=scrape` or `=cost` runs one part.
    let part = std::env::var("GD2_BENCH_PART").unwrap_or_default();
    let mut event_ms = None;
    if part != "cost" {
        event_ms = Some(scrape_of_a_thousand_volumes());
    }
    if part != "scrape" {
        cost_of_counting(event_ms);
    }
}

/// Prints the scrape's figures; returns what writing one event takes (ms, median).
fn scrape_of_a_thousand_volumes() -> f64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let etcd = TestEtcd::start("127.0.0.1").await.unwrap();
        let raw = etcd.store().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let flags = Flags {
            localstatedir: Some(dir.path().join("state")),
            rundir: Some(dir.path().join("run")),
            logdir: Some(dir.path().join("log")),
            clientaddress: Some("127.0.0.1:24007".into()),
            store: Some(StoreMode::Etcd),
            etcdendpoints: Some(etcd.client_url.clone()),
            ..Flags::default()
        };
        let config = Config::load(flags, |_| None).unwrap();
        std::fs::create_dir_all(&config.localstatedir).unwrap();
        let backend = Backend {
            state: StoreState {
                mode: StoreMode::Etcd,
                endpoints: vec![etcd.client_url.clone()],
                member: false,
                joined: true,
            },
            raw: raw.clone(),
            etcd: Some(raw),
            member: None,
        };
        let identity = Identity {
            peer_id: Uuid::new_v4(),
            cluster_id: Uuid::new_v4(),
        };
        let node = Node::assemble(
            config,
            identity,
            None,
            backend,
            Arc::new(SimulatedMembers::default()),
        )
        .unwrap();
        node.register().await.unwrap();
        let features = gd_daemon::features::all();
        let (cluster, _tasks) =
            Cluster::assemble(node.clone(), SunRpcServer::default(), &features).unwrap();
        let peers = [identity.peer_id, Uuid::new_v4(), Uuid::new_v4()];
        let t = Instant::now();
        for v in 0..1000 {
            let bricks: Vec<BrickRecord> = (0..3)
                .map(|b| BrickRecord {
                    id: Uuid::new_v4(),
                    peer_id: peers[b],
                    host: format!("server{b}.example.com"),
                    path: format!("/bricks/v{v:04}/b{b}"),
                    kind: BrickKind::Brick,
                    index: Some(b as u32),
                    reset: false,
                })
                .collect();
            for b in &bricks {
                let st = BrickStatusRecord {
                    online: true,
                    pid: 10_000 + v,
                    port: 49152,
                    error: String::new(),
                    detail: Some(BrickDetail {
                        fs_type: "xfs".into(),
                        device: format!("/dev/mapper/vg-v{v}"),
                        mount_options: "rw,noatime".into(),
                        block_size: 4096,
                        total: 100 << 30,
                        free: 60 << 30,
                        available: 60 << 30,
                        inodes_total: 50_000_000,
                        inodes_free: 49_000_000,
                        heal_pending: 0,
                    }),
                };
                node.store
                    .put(&status_key(b.peer_id, b.id), record::encode(&st), None)
                    .await
                    .unwrap();
            }
            let vol = VolumeRecord {
                id: Uuid::new_v4(),
                name: format!("v{v:04}"),
                transport: "tcp".into(),
                state: VolumeState::Started,
                subvols: vec![SubvolRecord {
                    kind: SubvolType::Replicate,
                    replica: 3,
                    arbiter: 0,
                    disperse: 0,
                    redundancy: 0,
                    bricks,
                    pending: false,
                    decommissioned: false,
                }],
                options: Default::default(),
                metadata: Default::default(),
                auth: VolumeAuth {
                    username: Uuid::new_v4(),
                    password: Uuid::new_v4(),
                },
            };
            node.store
                .put(&volume_key(&vol.name), record::encode(&vol), None)
                .await
                .unwrap();
        }
        println!(
            "\n1,000 replica-3 volumes and 3,000 brick statuses written in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        // Where the time goes: the store's two ranges, decoded; then the figures read and
        // built; then the whole scrape.
        let mut ranges = vec![];
        for _ in 0..20 {
            let t = Instant::now();
            let (v, s) = tokio::join!(
                gd_volume::model::list_volumes(node.store.as_ref()),
                node.store.range(gd_core::keys::BRICK_STATUS, 0)
            );
            assert_eq!(v.unwrap().len(), 1000);
            assert_eq!(s.unwrap().kvs.len(), 3000);
            ranges.push(t.elapsed());
        }
        let (r, _) = median_ms(ranges);
        println!("/metrics' two ranges of the store (volumes decoded): median {r:.1} ms");
        let mut read = vec![];
        for _ in 0..20 {
            let t = Instant::now();
            let mut g = gd_core::metrics::Gauges::default();
            for f in cluster.figures.iter() {
                f.collect(&mut g).await.unwrap();
            }
            read.push(t.elapsed());
        }
        let mut took = vec![];
        let mut text = String::new();
        for _ in 0..20 {
            let t = Instant::now();
            text = gd_metrics::scrape::scrape(&cluster).await;
            took.push(t.elapsed());
        }
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert!(text.contains("gluster_volume_total_count{"));
        assert!(text.contains("} 1000\n"), "1,000 volumes counted");
        let (r, _) = median_ms(read);
        let (m, worst) = median_ms(took);
        println!("/metrics' reads of the store and figures alone: median {r:.1} ms");
        println!(
            "/metrics with 1,000 volumes, 3,000 bricks, 20 scrapes: median {m:.1} ms, slowest \
             {worst:.1} ms ({samples} samples, {} KiB)",
            text.len() / 1024
        );
        // What an operation's event adds to it: one write to the store.
        let mut writes = vec![];
        for i in 0..100 {
            let e =
                gd_core::events::EventRecord::new(identity.peer_id, "volume.option-set", "bench")
                    .field("volume", format!("v{i:04}"));
            let t = Instant::now();
            e.write(node.store.as_ref()).await.unwrap();
            writes.push(t.elapsed());
        }
        let (w, _) = median_ms(writes);
        println!("an event's write to the store (etcd), 100 writes: median {w:.2} ms");
        w
    })
}

/// The sum of the samples of `metric` (with any labels) in a scrape's text.
fn total(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// What the three nodes have counted so far: store requests, REST requests, steps and
/// transactions (each one count of the node's metrics).
fn counted(t: &Three) -> f64 {
    (0..3)
        .map(|i| {
            let text = reqwest::blocking::get(format!("{}/metrics", t.daemons[i].url()))
                .unwrap()
                .text()
                .unwrap();
            total(&text, "gd2_store_request_duration_seconds_count")
                + total(&text, "gd2_http_requests_total")
                + total(&text, "gd2_step_duration_seconds_count")
                + total(&text, "gd2_transactions_total")
        })
        .sum()
}

fn cost_of_counting(event_ms: Option<f64>) {
    // One count: what a store request, a REST request or a step adds (a family lookup, an
    // atomic add, a histogram's bucket).
    let m = gd_core::metrics::Metrics::default();
    const N: u32 = 1_000_000;
    let t = Instant::now();
    for i in 0..N {
        gd_store::StoreObserver::observe(
            &m,
            "get",
            Duration::from_micros(u64::from(i % 5000)),
            true,
        );
    }
    let store_ns = t.elapsed().as_nanos() as f64 / f64::from(N);
    let t = Instant::now();
    for i in 0..N {
        m.request(
            "/v1/volumes/{volname}",
            "POST",
            200,
            Duration::from_micros(u64::from(i % 5000)),
        );
    }
    let request_ns = t.elapsed().as_nanos() as f64 / f64::from(N);
    let per_count_ns = store_ns.max(request_ns);
    println!(
        "\none count: store request {store_ns:.0} ns, REST request {request_ns:.0} ns (the \
         overhead below takes {per_count_ns:.0} ns per count)"
    );

    let t = three(33);
    let brick_root = node_root(&t.dirs[0]).join("bench-metrics");
    let mut ops: Vec<(&str, Vec<Duration>, Vec<f64>)> =
        ["create", "start", "set", "stop", "delete"]
            .into_iter()
            .map(|n| (n, vec![], vec![]))
            .collect();
    for run in 0..5 {
        let bricks: Vec<_> = t
            .ips
            .iter()
            .enumerate()
            .map(|(i, ip)| json!({"host": ip, "path": brick_root.join(format!("r{run}-b{i}"))}))
            .collect();
        let body = json!({"name": "bm", "subvols": [{"type": "replicate", "replica": 3, "bricks": bricks}],
                          "flags": {"create-brick-dir": true, "allow-root-dir": true}});
        let option =
            json!({"options": {"performance.write-behind-window-size": format!("{}MB", run + 2)}});
        let calls: [(&str, &str, Option<serde_json::Value>, u16); 5] = [
            ("POST", "/v1/volumes", Some(body), 201),
            ("POST", "/v1/volumes/bm/start", None, 200),
            ("POST", "/v1/volumes/bm/options", Some(option), 200),
            ("POST", "/v1/volumes/bm/stop", None, 200),
            ("DELETE", "/v1/volumes/bm", None, 204),
        ];
        for (k, (method, path, body, want)) in calls.into_iter().enumerate() {
            // Settle, so what is counted is the operation's (and the reconcilers' passes it
            // causes), not what came before.
            std::thread::sleep(Duration::from_millis(500));
            let before = counted(&t);
            let started = Instant::now();
            let (s, b) = t.api(0, method, path, body);
            let took = started.elapsed();
            assert_eq!(s, want, "{method} {path}: {b}");
            std::thread::sleep(Duration::from_millis(500));
            // The scrapes themselves are counted too (3 requests): left out.
            let n = counted(&t) - before - 3.0;
            ops[k].1.push(took);
            ops[k].2.push(n);
        }
    }
    println!(
        "\nreplica 3 on 3 nodes, 5 runs (median ms; counts on the 3 nodes; their cost; the \
         operation's event's write, which its answer waits for):"
    );
    for (name, took, counts) in ops {
        let (m, _) = median_ms(took);
        let mut counts = counts;
        counts.sort_by(f64::total_cmp);
        let c = counts[counts.len() / 2];
        let cost_ms = c * per_count_ns / 1e6;
        let event = event_ms.map_or(String::new(), |e| {
            format!("   event {e:.2} ms = {:.1} %", e / m * 100.0)
        });
        println!(
            "  {name:<8} {m:>8.1} ms   {c:>6.0} counts   {cost_ms:.3} ms = {:.3} %{event}",
            cost_ms / m * 100.0
        );
    }
}
