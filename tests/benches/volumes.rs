//! Volume benchmark: prints figures, asserts nothing about speed.
//!
//! 1. Create, start (returns once every brick signed in), stop (returns once every brick and
//!    self-heal daemon of the volume is gone: checked through /proc the moment it returns) and
//!    delete of a replica-3 volume over 3 glusterd2 nodes with real glusterfsd bricks: median
//!    and range of 10 runs.
//! 2. `GET /v1/volumes` latency with 100 volumes: median of 20.
//!
//! GD1's figures on this kind of machine are in shared/fixtures/gd1-baseline.md.
//! Run: `scripts/bench.sh --bench volumes` (it builds the release binaries the bench starts).

use std::time::{Duration, Instant};

use gd_testkit::*;
use serde_json::json;

fn median(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[0]), ms(v[v.len() - 1]))
}

fn main() {
    let Three {
        dirs,
        daemons,
        ips,
        reaper: _reaper,
    } = three(32);
    let brick_root = node_root(&dirs[0]).join("bench-bricks");

    let (mut create, mut start, mut set, mut stop, mut delete) =
        (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..10 {
        let bricks: Vec<_> = ips
            .iter()
            .enumerate()
            .map(|(i, ip)| json!({"host": ip, "path": brick_root.join(format!("r{run}-b{i}"))}))
            .collect();
        let body = json!({"name": "bench", "subvols": [{"type": "replicate", "replica": 3, "bricks": bricks}],
                          "flags": {"create-brick-dir": true, "allow-root-dir": true}});
        let timed = |method: &str, path: &str, body: Option<serde_json::Value>, want: u16| {
            let t = Instant::now();
            let (s, b) = api(&dirs[0], &daemons[0], method, path, body);
            let took = t.elapsed();
            assert_eq!(s, want, "{method} {path}: {b}");
            took
        };
        create.push(timed("POST", "/v1/volumes", Some(body), 201));
        start.push(timed("POST", "/v1/volumes/bench/start", None, 200));
        // The volume's processes, as status shows them (bricks) and the pid files (self-heal
        // daemons), once they all run.
        let procs = wait_for(
            "every brick and self-heal daemon",
            Duration::from_secs(30),
            || {
                let (s, b) = api(
                    &dirs[0],
                    &daemons[0],
                    "GET",
                    "/v1/volumes/bench/bricks",
                    None,
                );
                let bricks: Vec<gd_api::BrickStatus> = serde_json::from_value(b).ok()?;
                if s != 200 || bricks.len() != 3 || !bricks.iter().all(|b| b.pid > 0) {
                    return None;
                }
                let mut pids: Vec<u32> = bricks.iter().map(|b| b.pid).collect();
                for d in &dirs {
                    let pidfile = d.run.join("shd/bench/bench-shd.pid");
                    pids.push(read(&pidfile).trim().parse().ok()?);
                }
                Some(pids)
            },
        )
        .unwrap();
        let option =
            json!({"options": {"performance.write-behind-window-size": format!("{}MB", run + 2)}});
        set.push(timed(
            "POST",
            "/v1/volumes/bench/options",
            Some(option),
            200,
        ));
        stop.push(timed("POST", "/v1/volumes/bench/stop", None, 200));
        let left: Vec<&u32> = procs
            .iter()
            .filter(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
            .collect();
        assert!(left.is_empty(), "still there when stop returned: {left:?}");
        delete.push(timed("DELETE", "/v1/volumes/bench", None, 204));
    }
    println!("\nreplica 3 on 3 nodes, 10 runs (median, min..max, ms):");
    for (name, v) in [
        ("create", create),
        ("start (all bricks online)", start),
        ("set an option (started)", set),
        ("stop (until every process of the volume is gone)", stop),
        ("delete", delete),
    ] {
        let (m, lo, hi) = median(v);
        println!("  {name:<48} {m:>8.1}   {lo:.1}..{hi:.1}");
    }

    for i in 0..100 {
        let body = json!({"name": format!("v{i:03}"), "subvols": [{"type": "distribute",
            "bricks": [{"host": ips[i % 3], "path": brick_root.join(format!("d{i}"))}]}],
            "flags": {"create-brick-dir": true, "allow-root-dir": true}});
        let (s, b) = api(&dirs[0], &daemons[0], "POST", "/v1/volumes", Some(body));
        assert_eq!(s, 201, "{b}");
    }
    let mut list = vec![];
    for _ in 0..20 {
        let t = Instant::now();
        let (s, b) = api(&dirs[1], &daemons[1], "GET", "/v1/volumes", None);
        list.push(t.elapsed());
        assert_eq!(s, 200);
        assert_eq!(b.as_array().map(Vec::len), Some(100));
    }
    let (m, lo, hi) = median(list);
    println!("\nGET /v1/volumes with 100 volumes, 20 runs: median {m:.1} ms ({lo:.1}..{hi:.1})");
    let mut get_all = vec![];
    for _ in 0..20 {
        let t = Instant::now();
        let (s, b) = api(
            &dirs[1],
            &daemons[1],
            "GET",
            "/v1/volumes/v000/options",
            None,
        );
        get_all.push(t.elapsed());
        assert_eq!(s, 200, "{b}");
    }
    let (m, lo, hi) = median(get_all);
    println!(
        "GET /v1/volumes/v000/options (every installed option), 20 runs: median {m:.1} ms ({lo:.1}..{hi:.1})"
    );
}
