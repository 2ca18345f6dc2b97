//! add-brick, rebalance and remove-brick, GD1 (glusterd 10.3) and glusterd2 side by side, each
//! on three network-namespace hosts of its own with its defaults: a replica 3 volume holding
//! 1,000 files of 4 KiB written through a FUSE mount on the first host; add-brick of a second
//! set (the call, and until every new brick is online by the CLI's status); a rebalance (start
//! to completed by its status: files moved, files per second); remove-brick of the first set
//! (start to completed, files per second) and its commit. Every file is compared with its
//! source through the mount after each phase. The same data, the same commands (each side's
//! own CLI, one process per call, run on a server), the status polled every 100 ms.
//!
//! Prints figures; asserts nothing about speed. Run: `scripts/bench.sh --bench bricks`.

use std::{
    path::{Path, PathBuf},
    process::Output,
    time::{Duration, Instant},
};

use gd_api::{BrickStatus, RebalanceStatus};
use gd_testkit::{
    hosts::{Gd1Hosts, Gd2Hosts},
    netns::{ClientMount, Net},
    *,
};

const FILES: usize = 1000;
const HOSTS: [&str; 3] = ["server1", "server2", "server3"];
const POLL: Duration = Duration::from_millis(100);
const MIGRATION_BOUND: Duration = Duration::from_secs(600);

/// One side's figures (ms, and files).
#[derive(Debug, Default)]
struct Figures {
    add_call: f64,
    add_online: f64,
    rebalance_ms: f64,
    rebalance_files: u64,
    remove_ms: f64,
    remove_files: u64,
    commit: f64,
}

impl Figures {
    fn rebalance_rate(&self) -> f64 {
        self.rebalance_files as f64 / (self.rebalance_ms / 1e3)
    }

    fn remove_rate(&self) -> f64 {
        self.remove_files as f64 / (self.remove_ms / 1e3)
    }

    fn print(&self, who: &str) {
        println!("\n{who}: replica 3 on 3 hosts, {FILES} files of 4 KiB");
        println!(
            "  add-brick (call returns)        {:>9.1} ms",
            self.add_call
        );
        println!(
            "  add-brick (new bricks online)   {:>9.1} ms",
            self.add_online
        );
        println!(
            "  rebalance                       {:>9.1} ms, {} files moved, {:.1} files/s",
            self.rebalance_ms,
            self.rebalance_files,
            self.rebalance_rate()
        );
        println!(
            "  remove-brick start..completed   {:>9.1} ms, {} files moved, {:.1} files/s",
            self.remove_ms,
            self.remove_files,
            self.remove_rate()
        );
        println!("  remove-brick commit             {:>9.1} ms", self.commit);
    }
}

/// How a side is driven: its CLI's words where they differ, and how its status reads.
trait Side {
    fn cli(&self, args: &[&str]) -> Output;
    /// Where host `i`'s bricks go.
    fn bricks(&self, i: usize) -> PathBuf;
    /// The words after the bricks of a create or add-brick (skip the brick checks).
    fn brick_flags(&self) -> &'static [&'static str];
    /// Whether every brick in `paths` is online, by the CLI's volume status.
    fn online(&self, paths: &[String]) -> bool;
    /// From the CLI's status of a rebalance or remove-brick (`what`): whether it completed,
    /// and the files it moved so far.
    fn migration(&self, what: &[&str]) -> (bool, u64);
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The bricks `b<set>` on every host, as the CLI names them.
fn set_of(side: &dyn Side, set: usize) -> Vec<String> {
    HOSTS
        .iter()
        .enumerate()
        .map(|(i, h)| format!("{h}:{}", side.bricks(i).join(format!("b{set}")).display()))
        .collect()
}

/// Every file through the mount is its source's.
fn check(m: &ClientMount, src: &Path, phase: &str) {
    let out = m.run(
        &["diff", "-r", src.to_str().unwrap(), m.dir.to_str().unwrap()],
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "{phase}: the mount differs from the source: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Runs `start`, then polls `status` until it says completed; returns (ms, files moved).
fn migrate(side: &dyn Side, start: &[&str], status: &[&str]) -> (f64, u64) {
    let t = Instant::now();
    ok(side.cli(start), &start.join(" "));
    loop {
        let (done, files) = side.migration(status);
        if done {
            return (ms(t.elapsed()), files);
        }
        assert!(
            t.elapsed() < MIGRATION_BOUND,
            "{} did not complete",
            start.join(" ")
        );
        std::thread::sleep(POLL);
    }
}

fn run(side: &dyn Side, net: &Net) -> Figures {
    let mut create = vec!["volume", "create", "gdv", "replica", "3"];
    let first = set_of(side, 1);
    create.extend(first.iter().map(String::as_str));
    create.extend(side.brick_flags());
    ok(side.cli(&create), "create");
    ok(side.cli(&["volume", "start", "gdv"]), "start");
    let src = tempfile::Builder::new()
        .prefix("gd-bench-src-")
        .tempdir()
        .unwrap();
    for i in 0..FILES {
        let line = format!("file {i} of the bricks benchmark\n");
        let body = line.repeat(4096 / line.len() + 1);
        std::fs::write(
            src.path().join(format!("f{i:04}")),
            &body.as_bytes()[..4096],
        )
        .unwrap();
    }
    let m = ClientMount::new(net, HOSTS[0], HOSTS[0], "gdv").unwrap();
    let copy = m.run(
        &[
            "cp",
            "-r",
            &format!("{}/.", src.path().display()),
            m.dir.to_str().unwrap(),
        ],
        Duration::from_secs(300),
    );
    ok(copy, "writing the files");
    check(&m, src.path(), "written");

    let mut f = Figures::default();
    let second = set_of(side, 2);
    let mut add = vec!["volume", "add-brick", "gdv"];
    add.extend(second.iter().map(String::as_str));
    add.extend(side.brick_flags());
    let t = Instant::now();
    ok(side.cli(&add), "add-brick");
    f.add_call = ms(t.elapsed());
    let paths: Vec<String> = second
        .iter()
        .map(|b| b.split_once(':').unwrap().1.to_owned())
        .collect();
    while !side.online(&paths) {
        assert!(t.elapsed() < Duration::from_secs(120), "new bricks online");
        std::thread::sleep(Duration::from_millis(20));
    }
    f.add_online = ms(t.elapsed());
    check(&m, src.path(), "after add-brick");

    (f.rebalance_ms, f.rebalance_files) = migrate(
        side,
        &["volume", "rebalance", "gdv", "start"],
        &["volume", "rebalance", "gdv", "status"],
    );
    check(&m, src.path(), "after the rebalance");

    let mut remove = vec!["volume", "remove-brick", "gdv"];
    remove.extend(first.iter().map(String::as_str));
    let words = |w: &'static str| {
        let mut v = remove.clone();
        v.push(w);
        v
    };
    (f.remove_ms, f.remove_files) = migrate(side, &words("start"), &words("status"));
    let t = Instant::now();
    ok(side.cli(&words("commit")), "remove-brick commit");
    f.commit = ms(t.elapsed());
    check(&m, src.path(), "after remove-brick");
    f
}

// ---- GD1 ----

struct Gd1(Gd1Hosts);

impl Side for Gd1 {
    fn cli(&self, args: &[&str]) -> Output {
        self.0.cli(0, args)
    }

    fn bricks(&self, i: usize) -> PathBuf {
        self.0.bricks(i)
    }

    fn brick_flags(&self) -> &'static [&'static str] {
        &["force"]
    }

    fn online(&self, paths: &[String]) -> bool {
        // The table wraps long brick names; the XML does not:
        // "<node><hostname>server2</hostname><path>/…/b2</path>…<status>1</status>…</node>".
        let out = stdout(&self.cli(&["volume", "status", "gdv", "--xml"]));
        paths.iter().all(|p| {
            out.split("<node>").any(|node| {
                node.contains(&format!("<path>{p}</path>")) && node.contains("<status>1</status>")
            })
        })
    }

    fn migration(&self, what: &[&str]) -> (bool, u64) {
        let out = stdout(&self.cli(what));
        // "server2    333    1.3MB    1000    0    0    completed    0:00:04"
        let mut nodes = 0;
        let mut done = 0;
        let mut files = 0;
        for line in out.lines() {
            let t: Vec<&str> = line.split_whitespace().collect();
            let Some(n) = t.get(1).and_then(|w| w.parse::<u64>().ok()) else {
                continue;
            };
            if t.len() < 7 {
                continue;
            }
            assert!(!line.contains("failed"), "GD1: {what:?} failed: {out}");
            nodes += 1;
            files += n;
            if line.contains("completed") {
                done += 1;
            }
        }
        (nodes > 0 && done == nodes, files)
    }
}

// ---- glusterd2 ----

struct Gd2(Gd2Hosts);

impl Side for Gd2 {
    fn cli(&self, args: &[&str]) -> Output {
        self.0.cli(0, args)
    }

    fn bricks(&self, i: usize) -> PathBuf {
        self.0.bricks(i)
    }

    fn brick_flags(&self) -> &'static [&'static str] {
        &["--create-brick-dir", "--allow-root-dir"]
    }

    fn online(&self, paths: &[String]) -> bool {
        let out = ok(
            self.cli(&["--json", "volume", "status", "gdv"]),
            "volume status",
        );
        let bricks: Vec<BrickStatus> = serde_json::from_slice(&out.stdout).unwrap();
        paths
            .iter()
            .all(|p| bricks.iter().any(|b| &b.info.path == p && b.online))
    }

    fn migration(&self, what: &[&str]) -> (bool, u64) {
        let mut args = vec!["--json"];
        args.extend(what);
        let out = ok(self.cli(&args), &what.join(" "));
        let s: RebalanceStatus = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !s.status.ended() || s.status.completed(),
            "glusterd2: {what:?} ended {}: {}",
            s.status.as_str(),
            s.message
        );
        (s.status.completed(), s.nodes.iter().map(|n| n.files).sum())
    }
}

fn main() {
    // Each side has the machine to itself.
    let gd1 = {
        let side = Gd1(Gd1Hosts::new("gd1k", "203.0.114", &HOSTS));
        run(&side, &side.0.net)
    };
    let gd2 = {
        let side = Gd2(Gd2Hosts::new("gd2k", "198.18.8", &HOSTS));
        run(&side, &side.0.net)
    };
    gd1.print("GD1 (glusterd 10.3)");
    gd2.print("glusterd2");
    println!("\nratio GD1 / glusterd2 (above 1: glusterd2 is faster)");
    for (name, a, b) in [
        (
            "add-brick (new bricks online)",
            gd1.add_online,
            gd2.add_online,
        ),
        ("rebalance (time)", gd1.rebalance_ms, gd2.rebalance_ms),
        ("remove-brick (time)", gd1.remove_ms, gd2.remove_ms),
        ("remove-brick commit", gd1.commit, gd2.commit),
    ] {
        println!("  {name:<30} {:>6.2}  ({a:.0} / {b:.0} ms)", a / b);
    }
    println!("ratio glusterd2 / GD1 in files per second (above 1: glusterd2 is faster)");
    for (name, a, b) in [
        ("rebalance", gd2.rebalance_rate(), gd1.rebalance_rate()),
        ("remove-brick", gd2.remove_rate(), gd1.remove_rate()),
    ] {
        println!("  {name:<30} {:>6.2}  ({a:.1} / {b:.1} files/s)", a / b);
    }
}
