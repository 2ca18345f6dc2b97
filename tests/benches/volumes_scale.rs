//! Volumes at scale (issue 14): prints figures; asserts only that every operation succeeds.
//!
//! `GD2_BENCH_VOLUME_NODES` node agents (default 100) in one process, built and started as the
//! daemon builds them (`Node::assemble`, every feature assembled and started: the transaction
//! engine, the volume reconciler, the leaders), on a real etcd cluster of 3 members
//! (`GD2_BENCH_ETCD_MEMBERS`), and `GD2_BENCH_VOLUMES`
//! replica-3 volumes (default 10,000: 30,000 bricks, their directories made for real) created
//! through the REST router of three of them, called in-process. The first 1,000 volumes have
//! a brick on agent 0, the others spread over the rest. Every agent serves SunRPC on its
//! address, as the daemon does, and `glusterfsd` and `glusterfs` on the bench's `PATH` are a
//! stand-in (`gd2-fake-glusterfsd`: GD1's command lines and launcher contract, a volfile
//! fetched, a brick's sign-in to the port map, no I/O served), so that starting a volume (its
//! bricks and a self-heal daemon per volume and node) runs all of glusterd2's own work for
//! real. Figures:
//! - create latency (p50, p99, slowest): the first fifth one after the other, the rest 8 at
//!   a time;
//! - start latency, each returning once every brick is online, of the first
//!   `GD2_BENCH_STARTED` volumes (default 1,000: 3,000 brick processes, 1,000 of them on
//!   agent 0), the first fifth one after the other, the rest 8 at a time;
//! - with every volume in and those started: an option set, info, brick status, a page of
//!   100 volumes, every page;
//! - the first reconcile pass of a fresh reconciler on agent 0 (its 1,000 local bricks, all
//!   running: what a restarted glusterd2 finds and adopts);
//! - stop latency (100 volumes, one after the other, each returning once its bricks are gone);
//! - store reads and writes per second at rest, and the bench process's CPU then; etcd's
//!   database size; the process's memory per agent; the largest value in the store.
//!
//! Run: `scripts/bench.sh --bench volumes_scale`. `docs/scale.md` has the figures.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, body::Body, http::Request};
use gd_store::{Namespaced, Store};
use gd_testkit::etcd_cluster::TestEtcdCluster;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use uuid::Uuid;

#[path = "common/agents.rs"]
mod agents;

/// A metric of etcd's metrics endpoints, summed over the members at `client_urls`.
async fn etcd_metric(client_urls: &[String], name: &str) -> f64 {
    let mut sum = 0.0;
    for url in client_urls {
        let text = reqwest::get(format!("{url}/metrics"))
            .await
            .expect("etcd metrics")
            .text()
            .await
            .expect("etcd metrics");
        sum += text
            .lines()
            .find(|l| l.strip_prefix(name).is_some_and(|r| r.starts_with(' ')))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("etcd has no metric {name}"));
    }
    sum
}

/// One REST call to `app`, in-process: status, body, the next page's token.
async fn call(
    app: &Router,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("answer");
    let status = resp.status().as_u16();
    let next = resp
        .headers()
        .get("x-gluster-continue")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .expect("body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value, next)
}

/// Times a call answered `want`: its latency. A request still running after the daemon's
/// answer bound (202, its transaction to follow) is followed to its end, as `glustercli`
/// follows it, and timed to there.
async fn timed(app: &Router, method: &str, path: &str, body: Option<Value>, want: u16) -> Duration {
    let t = Instant::now();
    let (mut s, mut b, _) = call(app, method, path, body).await;
    if s == 202 && want != 202 {
        let follow = format!("/v1/transactions/{}", b["id"].as_str().unwrap_or_default());
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (fs, fb, _) = call(app, "GET", &follow, None).await;
            assert_eq!(fs, 200, "GET {follow}: {fb}");
            match fb["state"].as_str() {
                Some("running" | "undoing") => continue,
                Some("succeeded") => s = want,
                _ => b = fb,
            }
            break;
        }
        eprintln!(
            "{method} {path}: still running after the answer bound, done after {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let took = t.elapsed();
    assert_eq!(s, want, "{method} {path}: {b}");
    took
}

/// p50, p99 and the slowest, in ms.
fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(v[((v.len() as f64 * q) as usize).min(v.len() - 1)]);
    format!(
        "p50 {:>7.1}  p99 {:>7.1}  max {:>7.1} ms  ({} calls)",
        at(0.5),
        at(0.99),
        ms(v[v.len() - 1]),
        v.len()
    )
}

/// The CPU time this process has used (user and system), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let ticks: u64 = stat
        .rsplit_once(") ")
        .map(|(_, rest)| {
            rest.split(' ')
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// Calls `path(v)` (method `method`, body `body(v)`) for every `v` in `range` — the first
/// fifth one after the other, the rest 8 at a time, over `apps` — each answered `want`:
/// the latencies one after the other, those 8 at a time, and the wall time of the latter.
async fn one_then_eight(
    apps: &[Router],
    range: std::ops::Range<usize>,
    method: &'static str,
    path: Arc<dyn Fn(usize) -> String + Send + Sync>,
    body: Arc<dyn Fn(usize) -> Option<Value> + Send + Sync>,
    want: u16,
) -> (Vec<Duration>, Vec<Duration>, Duration) {
    let split = range.start + range.len() / 5;
    let mut one = vec![];
    for v in range.start..split {
        one.push(timed(&apps[v % apps.len()], method, &path(v), body(v), want).await);
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(split));
    let began = Instant::now();
    let mut workers = vec![];
    for w in 0..8 {
        let (app, next, path, body) = (
            apps[w % apps.len()].clone(),
            next.clone(),
            path.clone(),
            body.clone(),
        );
        let end = range.end;
        workers.push(tokio::spawn(async move {
            let mut times = vec![];
            loop {
                let v = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if v >= end {
                    return times;
                }
                times.push(timed(&app, method, &path(v), body(v), want).await);
            }
        }));
    }
    let mut eight = vec![];
    for w in workers {
        eight.extend(w.await.expect("worker"));
    }
    (one, eight, began.elapsed())
}

fn main() {
    // The bricks and self-heal daemons this bench starts are stand-ins: `glusterfsd` and
    // `glusterfs` first on the `PATH` where glusterd2 looks for them.
    let bin = tempfile::tempdir().expect("tempdir");
    for name in ["glusterfsd", "glusterfs"] {
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_gd2-fake-glusterfsd"),
            bin.path().join(name),
        )
        .expect("the stand-in daemon");
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("PATH", path) };
    // Every brick's management connection is a descriptor of this process.
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("open files limit");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("open files limit");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let n: usize = agents::env_or("GD2_BENCH_VOLUME_NODES", 100);
    let volumes: usize = agents::env_or("GD2_BENCH_VOLUMES", 10_000);
    let started: usize = agents::env_or("GD2_BENCH_STARTED", 1_000.min(volumes));
    assert!(n >= 4, "at least 4 agents");
    assert!(started <= volumes, "no more volumes started than created");
    let members: usize = agents::env_or("GD2_BENCH_ETCD_MEMBERS", 3);
    let etcd_ips: Vec<String> = (1..=members).map(|m| format!("127.0.123.{m}")).collect();
    let etcd = TestEtcdCluster::start(&etcd_ips).await.expect("etcd");
    let raw = etcd.store().await.expect("etcd client");
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster_id = Uuid::new_v4();
    let cancel = CancellationToken::new();
    let rss_before = agents::rss();
    let mut nodes = vec![];
    let mut apps = vec![];
    for i in 0..n {
        let node = agents::assemble(dir.path(), i, 4, &etcd.endpoints(), &raw, cluster_id);
        tokio::spawn(node.clone().register_until_done(cancel.child_token()));
        tokio::spawn(node.liveness.clone().run(cancel.child_token()));
        tokio::spawn(node.clone().watch_removal(cancel.child_token()));
        let (cluster, features) =
            agents::start_features(&node, vec![], true, &cancel.child_token());
        if i < 3 {
            apps.push(gd_daemon::rest::router(cluster, &features));
        }
        nodes.push(node);
    }
    let view = Namespaced::new(
        raw.clone() as Arc<dyn Store>,
        gd_store::cluster_namespace(&cluster_id.to_string()),
    );
    if std::env::var_os("RUST_LOG").is_some() {
        gd_daemon::logging::init(&nodes[0].config).expect("logging");
    }
    agents::wait_alive(&view, n).await;
    // Every peer online as the cluster says it (bricks go only to online peers).
    let began = Instant::now();
    loop {
        let (_, peers, _) = call(&apps[0], "GET", "/v1/peers", None).await;
        let online = peers.as_array().map_or(0, |p| {
            p.iter().filter(|p| p["online"] == json!(true)).count()
        });
        if online >= n {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(300),
            "only {online} of {n} peers online after 5 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_agents = agents::rss().saturating_sub(rss_before) as f64 / n as f64;
    eprintln!("{n} agents up");

    let ips: Vec<String> = nodes
        .iter()
        .map(|node| node.config.client_addr.ip().to_string())
        .collect();
    let bricks_dir = dir.path().join("bricks");
    let body = Arc::new(move |v: usize| {
        let on: [usize; 3] = if v < 1000 {
            [0, 1 + (2 * v) % (n - 1), 1 + (2 * v + 1) % (n - 1)]
        } else {
            [0, 1, 2].map(|k| 1 + (3 * v + k) % (n - 1))
        };
        let bricks: Vec<Value> = on
            .iter()
            .map(|i| json!({"host": ips[*i], "path": bricks_dir.join(format!("n{i}/v{v}"))}))
            .collect();
        json!({"name": format!("v{v:05}"), "subvols": [{"type": "replicate", "replica": 3, "bricks": bricks}],
               "flags": {"create-brick-dir": true, "allow-root-dir": true}})
    });

    // Create, then start the first `started`: the first fifth one after the other, the rest
    // 8 at a time.
    let name = Arc::new(|v: usize| format!("v{v:05}"));
    let (seq_times, par_times, par_wall) = one_then_eight(
        &apps,
        0..volumes,
        "POST",
        Arc::new(|_| "/v1/volumes".to_owned()),
        Arc::new(move |v| Some(body(v))),
        201,
    )
    .await;
    let sequential = seq_times.len();
    eprintln!("{volumes} volumes in");
    let rss_volumes = agents::rss().saturating_sub(rss_before) as f64 / n as f64;
    let (start_one, start_eight, start_wall) = one_then_eight(
        &apps,
        0..started,
        "POST",
        Arc::new(move |v| format!("/v1/volumes/{}/start", name(v))),
        Arc::new(|_| None),
        200,
    )
    .await;
    eprintln!("{started} volumes started");
    let rss_started = agents::rss().saturating_sub(rss_before) as f64 / n as f64;

    // At rest, with every volume in.
    let window = Duration::from_secs(agents::env_or("GD2_BENCH_REST_S", 10));
    let reads = |urls: Vec<String>| async move {
        etcd_metric(&urls, "etcd_debugging_mvcc_range_total").await
            + etcd_metric(&urls, "etcd_debugging_mvcc_txn_total").await
    };
    let (rev0, req0, cpu0) = (
        raw.revision().await.expect("rev"),
        reads(etcd.client_urls.clone()).await,
        cpu_time(),
    );
    tokio::time::sleep(window).await;
    let (rev1, req1, cpu1) = (
        raw.revision().await.expect("rev"),
        reads(etcd.client_urls.clone()).await,
        cpu_time(),
    );
    let secs = window.as_secs_f64();

    // Reads and an option set, on volumes spread over the whole name range.
    let sample: Vec<String> = (0..100)
        .map(|k| format!("v{:05}", k * volumes / 100))
        .collect();
    let (mut set, mut info, mut status) = (vec![], vec![], vec![]);
    for (k, name) in sample.iter().enumerate() {
        let app = &apps[k % 3];
        let option = json!({"options": {"performance.write-behind-window-size": format!("{}MB", k % 7 + 2)}});
        set.push(
            timed(
                app,
                "POST",
                &format!("/v1/volumes/{name}/options"),
                Some(option),
                200,
            )
            .await,
        );
        info.push(timed(app, "GET", &format!("/v1/volumes/{name}"), None, 200).await);
        status.push(timed(app, "GET", &format!("/v1/volumes/{name}/bricks"), None, 200).await);
    }
    let mut first_page = vec![];
    for _ in 0..20 {
        first_page.push(timed(&apps[1], "GET", "/v1/volumes?limit=100", None, 200).await);
    }
    // Every page, one after the other, as the CLI pages through them.
    let (mut pages, mut seen, mut token) = (vec![], 0, None::<String>);
    loop {
        let path = match &token {
            Some(t) => format!("/v1/volumes?limit=100&continue={t}"),
            None => "/v1/volumes?limit=100".to_owned(),
        };
        let t = Instant::now();
        let (s, b, next) = call(&apps[2], "GET", &path, None).await;
        pages.push(t.elapsed());
        assert_eq!(s, 200, "{b}");
        seen += b.as_array().map_or(0, Vec::len);
        token = next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, volumes, "every volume listed once");
    let all_pages: Duration = pages.iter().sum();

    // A fresh reconciler's first pass on agent 0, which has a brick of the first 1,000 (running
    // when they were started): what a restarted glusterd2 does first.
    let local = view
        .range(
            &format!("{}{}/", gd_core::keys::BRICKS, nodes[0].identity().peer_id),
            0,
        )
        .await
        .map_or(0, |r| r.kvs.len());
    let fresh =
        gd_volume::processes::processes(&nodes[0], &gd_daemon::sunrpc::SunRpcServer::default());
    let t = Instant::now();
    let pass = fresh.converge(None).await.expect("first pass");
    let first_pass = t.elapsed();
    assert!(pass.problems.is_empty(), "{:?}", pass.problems);
    let running_local = started.min(1000);

    // Stop: the last 100 started, one after the other.
    let mut stop_times = vec![];
    for v in started.saturating_sub(100)..started {
        let path = format!("/v1/volumes/v{v:05}/stop");
        stop_times.push(timed(&apps[v % 3], "POST", &path, None, 200).await);
    }

    // One member's database (each member holds all of it).
    let member0 = &etcd.client_urls[..1];
    let db = etcd_metric(member0, "etcd_mvcc_db_total_size_in_bytes").await;
    let db_used = etcd_metric(member0, "etcd_mvcc_db_total_size_in_use_in_bytes").await;
    // Every key, a page at a time (one answer of etcd holds at most 4 MiB).
    let (mut keys, mut largest, mut after) = (0, (0, String::new()), String::new());
    loop {
        let page = view
            .range_after("", &after, 1000)
            .await
            .expect("a page of the namespace");
        for kv in &page.kvs {
            if kv.value.len() > largest.0 {
                largest = (
                    kv.value.len(),
                    gd_core::keys::top_prefix(&kv.key).to_owned(),
                );
            }
        }
        keys += page.kvs.len();
        match page.kvs.last() {
            Some(kv) if page.more => after = kv.key.clone(),
            _ => break,
        }
    }
    cancel.cancel();

    let mib = |b: f64| b / (1024.0 * 1024.0);
    println!(
        "\n{volumes} replica-3 volumes over {n} agents (one process, etcd of {members} members)"
    );
    println!("  create, one after the other   {}", percentiles(seq_times));
    println!(
        "  create, 8 at a time           {}  ({:.0} volumes/s)",
        percentiles(par_times),
        (volumes - sequential) as f64 / par_wall.as_secs_f64()
    );
    if started > 0 {
        println!(
            "  start, one after the other    {}  (3 bricks each, online)",
            percentiles(start_one)
        );
        println!(
            "  start, 8 at a time            {}  ({:.0} volumes/s)",
            percentiles(start_eight),
            (started - started / 5) as f64 / start_wall.as_secs_f64()
        );
        println!(
            "  stop, one after the other     {}  (bricks gone)",
            percentiles(stop_times)
        );
    }
    println!("  option set                    {}", percentiles(set));
    println!("  info                          {}", percentiles(info));
    println!("  brick status                  {}", percentiles(status));
    println!(
        "  a page of 100 (the first)     {}",
        percentiles(first_page)
    );
    println!(
        "  every page of 100             {}  (all {} pages: {:.0} ms)",
        percentiles(pages.clone()),
        pages.len(),
        all_pages.as_secs_f64() * 1e3
    );
    println!(
        "  first reconcile pass, agent 0 with {local} local bricks ({running_local} running): {:.1} ms",
        first_pass.as_secs_f64() * 1e3
    );
    println!(
        "  at rest, {} bricks running: {:.2} writes/s, {:.1} reads+txns/s (all {n} agents); \
         the bench process's CPU {:.1}% of a core",
        3 * started,
        (rev1 - rev0) as f64 / secs,
        (req1 - req0) / secs,
        (cpu1 - cpu0).as_secs_f64() / secs * 100.0
    );
    println!(
        "  etcd database {:.1} MiB ({:.1} MiB in use); {} keys",
        mib(db),
        mib(db_used),
        keys
    );
    println!(
        "  memory per agent: {:.2} MiB with no volume, {:.2} MiB with every volume in, \
         {:.2} MiB with {started} started",
        mib(rss_agents),
        mib(rss_volumes),
        mib(rss_started)
    );
    println!(
        "  largest value stored: {} bytes, under {}",
        largest.0, largest.1
    );
}
