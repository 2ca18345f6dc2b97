//! What a change of a volume wakes: the nodes with bricks of it (their wake keys), not every
//! node of the cluster; a node that only serves a mount of the volume tells its client of a
//! new graph on its next tick.

use std::time::{Duration, Instant};

use gd_testkit::*;
use serde_json::json;

/// The watch events node `i` received under `prefix` (its own watches), from its `/metrics`.
fn watch_events(t: &Three, i: usize, prefix: &str) -> f64 {
    let text = reqwest::blocking::Client::new()
        .get(format!("{}/metrics", t.daemons[i].url()))
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let want = format!("prefix=\"{prefix}\"");
    text.lines()
        .filter(|l| {
            l.starts_with("gd2_store_watch_events_total{")
                && l.contains("watcher=\"node\"")
                && l.contains(&want)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// How many times node `i` told its processes that volume `vol`'s graph changed.
fn graph_changes(t: &Three, i: usize, vol: &str) -> usize {
    t.daemons[i]
        .log()
        .lines()
        .filter(|l| l.contains("volume graph changed") && l.contains(&format!("volume={vol}")))
        .count()
}

fn set_threads(t: &Three, i: usize, vol: &str, n: usize) {
    let (s, b) = t.api(
        i,
        "POST",
        &format!("/v1/volumes/{vol}/options"),
        Some(json!({ "options": { "performance.io-thread-count": n.to_string() } })),
    );
    assert_eq!(s, 200, "{b}");
}

fn wait_until(what: &str, within: Duration, cond: impl Fn() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_change_of_a_volume_wakes_its_nodes_only() {
    let t = three(48);
    let (s, b) = t.api(
        0,
        "POST",
        "/v1/volumes",
        Some(create_body(
            "one",
            "distribute",
            &[brick(&t, 0, "one")],
            json!({}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(2, "POST", "/v1/volumes/one/start", None);
    assert_eq!(s, 200, "{b}");
    let prefixes = ["volume-wake/", "volumes/", "bricks/"];
    let seen = |i: usize| -> f64 { prefixes.iter().map(|p| watch_events(&t, i, p)).sum() };
    let before: Vec<f64> = (0..3).map(seen).collect();
    let wakes = watch_events(&t, 0, "volume-wake/");
    let changes = graph_changes(&t, 0, "one");

    // Five option sets, each from node 1 (neither the volume's node nor node 2).
    for n in 0..5 {
        set_threads(&t, 1, "one", 20 + n);
    }
    // The volume's node is woken by each, and tells its brick of the new graph.
    wait_until("node 0 woken by every set", Duration::from_secs(10), || {
        watch_events(&t, 0, "volume-wake/") >= wakes + 5.0
    });
    wait_until("node 0 tells its brick", Duration::from_secs(10), || {
        graph_changes(&t, 0, "one") > changes
    });
    // The other nodes receive nothing of it under the volume prefixes (node 1's own
    // transaction inbox is another prefix).
    std::thread::sleep(Duration::from_millis(500));
    for (i, before) in before.iter().enumerate().skip(1) {
        assert_eq!(
            seen(i),
            *before,
            "node {i} was woken by a volume it has no brick of"
        );
    }
    eprintln!(
        "watch events of 5 sets under the volume prefixes: node 0 {}, node 1 {}, node 2 {}",
        seen(0) - before[0],
        seen(1) - before[1],
        seen(2) - before[2]
    );

    // A mount through node 2, which hosts nothing of the volume: node 2 follows the volume
    // while its client is connected, and tells it of a new graph within its tick (5 s).
    let m = Mount::new(&t.ips[2], "one").unwrap();
    std::fs::write(m.dir.join("f"), b"through node 2").unwrap();
    let changes2 = graph_changes(&t, 2, "one");
    set_threads(&t, 0, "one", 40);
    wait_until(
        "node 2 tells its client of the new graph",
        Duration::from_secs(15),
        || graph_changes(&t, 2, "one") > changes2,
    );
    assert_eq!(
        std::fs::read(m.dir.join("f")).unwrap(),
        b"through node 2",
        "the mount serves its data across the change"
    );
}
