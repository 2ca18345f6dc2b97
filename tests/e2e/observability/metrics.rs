//! `GET /metrics` on each node of a real cluster: parsed as OpenMetrics by Python's
//! prometheus_client; the volume, its bricks and their file systems, the peers, the store;
//! the node's own counters moving with operations; entries to heal rising while the
//! self-heal daemon is off and falling once it heals; a killed brick counted as restarted;
//! the token a node may ask for.

use std::{
    collections::BTreeMap,
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

use gd_testkit::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

/// One sample: its metric name, labels and value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses OpenMetrics text with prometheus_client's parser (which refuses what is not
/// OpenMetrics: a missing `# EOF`, a bad name, a counter without `_total`...).
fn parse(text: &str) -> Vec<Sample> {
    const PARSER: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;
    // Debian's python, whose packages hold the parser (a python of its own earlier on PATH
    // would not see them).
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "/usr/bin/python3 (python3-prometheus-client, installed by scripts/setup.sh --tests)",
        );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the scrape is not OpenMetrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.iter()
        .map(|s| Sample {
            name: s["name"].as_str().unwrap().to_owned(),
            labels: s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect(),
            value: s["value"].as_f64().unwrap(),
        })
        .collect()
}

/// A scrape of node `i` (no token: `/metrics` is open by default), parsed.
fn scrape(t: &Three, i: usize) -> Vec<Sample> {
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/metrics", t.daemons[i].url()))
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    parse(&resp.text().unwrap())
}

/// The value of the sample `name` whose labels include `with`.
fn value(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// The sum of every sample `name` whose labels include `with` (0 when there is none).
fn sum(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

#[test]
fn every_node_serves_the_cluster_and_its_own_work_as_openmetrics() {
    let t = three(71);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "m")).collect();
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes",
        Some(create_body(
            "mv",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(0, "POST", "/v1/volumes/mv/start", None);
    assert_eq!(s, 200, "{b}");

    // Every node answers for the whole cluster: the volume, its three bricks up with their
    // file systems as statvfs measures them, the peers, the store.
    let paths: Vec<String> = bricks
        .iter()
        .map(|(_, p)| p.display().to_string())
        .collect();
    for i in 0..3 {
        let m = wait_for("the bricks' file systems in a scrape", WAIT, || {
            let m = scrape(&t, i);
            paths
                .iter()
                .all(|p| {
                    value(
                        &m,
                        "gluster_brick_capacity_bytes_total",
                        &[("brick_path", p)],
                    )
                    .is_some()
                })
                .then_some(m)
        })
        .unwrap();
        assert_eq!(value(&m, "gluster_volume_total_count", &[]), Some(1.0));
        assert_eq!(value(&m, "gluster_volume_started_count", &[]), Some(1.0));
        assert_eq!(
            value(&m, "gluster_volume_up", &[("volume", "mv")]),
            Some(1.0)
        );
        assert_eq!(
            value(&m, "gluster_volume_brick_count", &[("volume", "mv")]),
            Some(3.0)
        );
        assert_eq!(
            value(
                &m,
                "gd2_volumes",
                &[("type", "Replicate"), ("state", "Started")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&m, "gd2_volume_bricks_online", &[("volume", "mv")]),
            Some(3.0)
        );
        for (n, p) in paths.iter().enumerate() {
            assert_eq!(
                value(
                    &m,
                    "gluster_brick_up",
                    &[("brick_path", p), ("hostname", &t.ips[n])]
                ),
                Some(1.0),
                "{p}"
            );
            let st = nix::sys::statvfs::statvfs(p.as_str()).unwrap();
            let total = (st.blocks() * st.block_size()) as f64;
            assert_eq!(
                value(
                    &m,
                    "gluster_brick_capacity_bytes_total",
                    &[("brick_path", p), ("subvolume", "mv-replicate-0")]
                ),
                Some(total),
                "{p}"
            );
            assert_eq!(
                value(&m, "gluster_brick_inodes_total", &[("brick_path", p)]),
                Some(st.files() as f64)
            );
            let free = value(
                &m,
                "gluster_brick_capacity_free_bytes",
                &[("brick_path", p)],
            )
            .unwrap();
            let used = value(
                &m,
                "gluster_brick_capacity_used_bytes",
                &[("brick_path", p)],
            )
            .unwrap();
            assert_eq!(free + used, total, "{p}");
            assert_eq!(
                value(&m, "gluster_volume_heal_count", &[("brick_path", p)]),
                Some(0.0)
            );
        }
        assert!(
            value(
                &m,
                "gluster_subvol_capacity_total_bytes",
                &[("subvolume", "mv-replicate-0")]
            )
            .is_some()
        );
        assert_eq!(value(&m, "gluster_peer_count", &[]), Some(3.0));
        assert_eq!(sum(&m, "gluster_peer_connected", &[]), 3.0);
        assert_eq!(value(&m, "gd2_store_quorum", &[]), Some(1.0));
        assert!(value(&m, "gd2_store_revision", &[]).unwrap() > 0.0);
        assert_eq!(value(&m, "gd2_store_replica_synced", &[]), Some(1.0));
        // Asked at the scrape, the replica's watches confirm they have delivered everything.
        assert_eq!(value(&m, "gd2_store_watch_lag_revisions", &[]), Some(0.0));
        assert_eq!(value(&m, "gd2_scrape_sources_failed", &[]), Some(0.0));
        // Every node ran the create's steps and reads the store.
        assert!(
            sum(
                &m,
                "gd2_step_duration_seconds_count",
                &[("phase", "do"), ("ok", "true")]
            ) > 0.0
        );
        assert!(
            sum(
                &m,
                "gd2_store_request_duration_seconds_count",
                &[("request", "txn")]
            ) > 0.0
        );
        assert!(sum(&m, "gd2_process_starts_total", &[("kind", "brick")]) >= 1.0);
    }

    // The initiator's own counters move with an operation: its request by route, its
    // transaction by operation and outcome.
    let before = scrape(&t, 0);
    let route = [
        ("route", "/v1/volumes/{volname}/options"),
        ("method", "POST"),
    ];
    let requests = |m: &[Sample]| sum(m, "gd2_http_requests_total", &route);
    let committed = |m: &[Sample]| sum(m, "gd2_transactions_total", &[("outcome", "committed")]);
    let out = t.cli(
        0,
        &["volume", "set", "mv", "cluster.self-heal-daemon", "off"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let after = scrape(&t, 0);
    assert_eq!(requests(&after), requests(&before) + 1.0);
    assert_eq!(committed(&after), committed(&before) + 1.0);
    assert!(
        value(
            &after,
            "gd2_http_requests_total",
            &[route[0], route[1], ("status", "200")]
        )
        .is_some(),
        "{:?}",
        after
            .iter()
            .filter(|s| s.name == "gd2_http_requests_total")
            .collect::<Vec<_>>()
    );
    // A refused request is counted with its status, under its route (not the volume's name).
    let (s, _) = t.api(0, "GET", "/v1/volumes/nosuch", None);
    assert_eq!(s, 404);
    let m = scrape(&t, 0);
    assert_eq!(
        value(
            &m,
            "gd2_http_requests_total",
            &[
                ("route", "/v1/volumes/{volname}"),
                ("method", "GET"),
                ("status", "404")
            ]
        ),
        Some(1.0)
    );
    assert!(
        !m.iter()
            .any(|s| s.labels.values().any(|v| v.contains("nosuch")))
    );

    // Node 3's brick is killed while files are written: the live bricks' index marks them
    // (the self-heal daemon is off), the reconciler starts the brick again (a restart).
    let mount = Mount::new(&t.ips[0], "mv").unwrap();
    let victim = &paths[2];
    let pid = wait_for("the brick's pid", WAIT, || {
        value(
            &scrape(&t, 0),
            "gluster_brick_up",
            &[("brick_path", victim)],
        )
        .filter(|v| *v == 1.0)
        .and_then(|_| {
            scrape(&t, 0)
                .into_iter()
                .find(|s| s.name == "gluster_brick_up" && s.labels["brick_path"] == *victim)
                .map(|s| s.labels["pid"].parse::<i32>().unwrap())
        })
    })
    .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for i in 0..20 {
        std::fs::write(mount.dir.join(format!("f{i}")), format!("file {i}")).unwrap();
    }
    let live = &paths[0];
    let pending = wait_for("entries to heal in a scrape", WAIT, || {
        let v = value(
            &scrape(&t, 1),
            "gluster_volume_heal_count",
            &[("brick_path", live)],
        )?;
        (v >= 20.0).then_some(v)
    })
    .unwrap();
    assert!(pending >= 20.0);
    wait_for("the brick to be started again", WAIT, || {
        let m = scrape(&t, 2);
        (sum(&m, "gd2_process_restarts_total", &[("kind", "brick")]) >= 1.0
            && value(&m, "gluster_brick_up", &[("brick_path", victim)]) == Some(1.0))
        .then_some(())
    })
    .unwrap();

    // With the daemon back on and an index heal, every brick's count falls to 0.
    let out = t.cli(
        0,
        &["volume", "set", "mv", "cluster.self-heal-daemon", "on"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = t.cli(0, &["volume", "heal", "mv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for(
        "no entry to heal in a scrape",
        Duration::from_secs(120),
        || {
            let m = scrape(&t, 2);
            paths
                .iter()
                .all(|p| value(&m, "gluster_volume_heal_count", &[("brick_path", p)]) == Some(0.0))
                .then_some(())
        },
    )
    .unwrap();
    for i in 0..20 {
        assert_eq!(
            std::fs::read_to_string(mount.dir.join(format!("f{i}"))).unwrap(),
            format!("file {i}")
        );
    }

    // Stopped: its bricks are down, the volume no longer up.
    drop(mount);
    let (s, b) = t.api(1, "POST", "/v1/volumes/mv/stop", None);
    assert_eq!(s, 200, "{b}");
    let m = scrape(&t, 1);
    assert_eq!(
        value(&m, "gluster_volume_up", &[("volume", "mv")]),
        Some(0.0)
    );
    assert_eq!(sum(&m, "gluster_brick_up", &[("volume", "mv")]), 0.0);
    assert_eq!(value(&m, "gluster_volume_started_count", &[]), Some(0.0));
}

#[test]
fn a_node_with_a_metrics_token_asks_for_it() {
    let dirs = NodeDirs::new();
    std::fs::create_dir_all(&dirs.state).unwrap();
    let token = dirs.state.join("metrics-token");
    std::fs::write(&token, "s3cret-scraper\n").unwrap();
    let d = start_daemon(
        &dirs,
        "127.0.71.9",
        &[
            "--store",
            "local",
            "--metrics-token-file",
            token.to_str().unwrap(),
        ],
    )
    .unwrap();
    let url = format!("{}/metrics", d.url());
    let client = reqwest::blocking::Client::new();
    let get = |auth: Option<&str>| {
        let mut r = client.get(&url);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let resp = r.send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    };
    let (s, body) = get(None);
    assert_eq!(s, 401, "{body}");
    assert!(body.contains("metrics token"), "{body}");
    assert_eq!(get(Some("Bearer wrong")).0, 401);
    let (s, body) = get(Some("Bearer s3cret-scraper"));
    assert_eq!(s, 200, "{body}");
    let m = parse(&body);
    assert_eq!(value(&m, "gluster_peer_count", &[]), Some(1.0));
    assert_eq!(value(&m, "gluster_volume_total_count", &[]), Some(0.0));
    // The node's REST secret is no metrics token.
    let (s, _) = try_api(&dirs.secret_file(), &d.url(), "GET", "/metrics", None).unwrap();
    assert_eq!(s, 401);

    // A token file that cannot be read keeps the node from starting, naming the key.
    let other = NodeDirs::new();
    let (status, err) = spawn_daemon(
        &other,
        "127.0.71.10",
        24007,
        &[
            "--store",
            "local",
            "--metrics-token-file",
            "/nonexistent/token",
        ],
    )
    .unwrap()
    .wait_exit(Duration::from_secs(30))
    .unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("invalid metrics-token-file"), "{err}");
}
