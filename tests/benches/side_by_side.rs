//! GD1 and glusterd2 side by side at N = 3, 8 and 16 hosts, operation by operation.
//!
//! Each side runs on N network-namespace hosts of its own with its defaults (its own hostname,
//! `/etc/hosts` and a `hosts: files` resolver, as a real server has; GD1 as GlusterFS's
//! `tests/cluster.rc` runs several glusterd on one machine, each with its own directories;
//! glusterd2 started as the README says). Both clusters run at the same time, and every
//! operation is run on GD1 and then at once on glusterd2, so that what the machine does
//! meanwhile (page cache, another process's burst, thermal drift) weighs on both alike.
//!
//! The volume is a distribute volume of one brick per host (N bricks: every node takes part in
//! every operation). Per N, the rows are:
//! - peers → full mesh: the first host adds the others by name; until every host sees every
//!   other connected (once per N);
//! - create; start → every brick runs (the call, then every brick process found);
//! - mount, write and read 1 MiB: a FUSE mount on the first host through its server, a file
//!   written and read back (compared), unmounted;
//! - set (`performance.io-thread-count`), info, status, peer list (`pool list` / `peer list`):
//!   each a whole CLI process run on the first host, as an administrator runs it;
//! - stop → every brick gone (the call, then every brick process gone); delete;
//! - daemon RSS at rest after the runs (median of the N daemons), and glusterd2's etcd members'
//!   (reported apart: GD1 has no such process).
//!
//! It prints one table per N with both medians and the ratio glusterd2 / GD1 (below 1:
//! glusterd2 is faster or smaller). Prints figures, asserts nothing about speed.
//!
//! Run: `scripts/bench.sh --bench side_by_side` (it builds the release binaries the bench
//! starts); `GD2_BENCH_HOSTS=3,8` picks the sizes, `GD2_BENCH_RUNS` the runs per size (3, at most 9).

use std::{
    path::{Path, PathBuf},
    process::Output,
    time::{Duration, Instant},
};

use gd_testkit::{
    hosts::{Gd1Hosts, Gd2Hosts},
    netns::ClientMount,
    *,
};

const VOLUME: &str = "sbs";

fn sizes() -> Vec<usize> {
    std::env::var("GD2_BENCH_HOSTS")
        .unwrap_or_else(|_| "3,8,16".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|n| (1..=60).contains(n))
        .collect()
}

fn runs() -> usize {
    std::env::var("GD2_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| (1..=9).contains(n))
        .unwrap_or(3)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        stdout(out),
        stderr(out)
    );
}

/// A process's resident memory, in MiB.
fn rss_mib(pid: i32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The brick processes of run `run` (fewer than 10 runs: `b1` is no prefix of another).
fn brick_pids(roots: &[PathBuf], run: usize) -> Vec<i32> {
    roots
        .iter()
        .flat_map(|r| processes_matching(&brick_dir(r, run).display().to_string()))
        .filter(|(pid, cmd)| cmd.contains("glusterfsd") && process_alive(*pid))
        .map(|(pid, _)| pid)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn brick_dir(root: &Path, run: usize) -> PathBuf {
    root.join(format!("b{run}"))
}

/// Waits (≤ 60 s) until `cond` holds, polling every 5 ms.
fn until(what: &str, cond: impl Fn() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(60), "{what} within 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What both sides answer to; `i` is a host index.
trait Side {
    fn cli(&self, args: &[&str]) -> Output;
    fn net(&self) -> &netns::Net;
    fn bricks(&self, i: usize) -> PathBuf;
    fn create_args(&self) -> Vec<&'static str>;
    fn peer_list(&self) -> Vec<&'static str>;
    fn daemon_pids(&self) -> Vec<i32>;
    fn etcd_pids(&self) -> Vec<i32>;
}

struct Gd1(Gd1Hosts);
struct Gd2(Gd2Hosts);

impl Side for Gd1 {
    fn cli(&self, args: &[&str]) -> Output {
        self.0.cli(0, args)
    }
    fn net(&self) -> &netns::Net {
        &self.0.net
    }
    fn bricks(&self, i: usize) -> PathBuf {
        self.0.bricks(i)
    }
    fn create_args(&self) -> Vec<&'static str> {
        vec!["force"]
    }
    fn peer_list(&self) -> Vec<&'static str> {
        vec!["pool", "list"]
    }
    fn daemon_pids(&self) -> Vec<i32> {
        (0..self.0.net.hosts.len())
            .filter_map(|i| self.0.pid(i))
            .collect()
    }
    fn etcd_pids(&self) -> Vec<i32> {
        vec![]
    }
}

impl Side for Gd2 {
    fn cli(&self, args: &[&str]) -> Output {
        self.0.cli(0, args)
    }
    fn net(&self) -> &netns::Net {
        &self.0.net
    }
    fn bricks(&self, i: usize) -> PathBuf {
        self.0.bricks(i)
    }
    fn create_args(&self) -> Vec<&'static str> {
        vec!["--create-brick-dir", "--allow-root-dir"]
    }
    fn peer_list(&self) -> Vec<&'static str> {
        vec!["peer", "list"]
    }
    fn daemon_pids(&self) -> Vec<i32> {
        self.0.daemons.iter().map(|d| d.pid() as i32).collect()
    }
    fn etcd_pids(&self) -> Vec<i32> {
        self.0
            .dirs
            .iter()
            .flat_map(|d| processes_matching(&node_root(d).display().to_string()))
            .filter(|(_, cmd)| {
                cmd.split(' ')
                    .next()
                    .is_some_and(|program| program.ends_with("etcd"))
            })
            .map(|(pid, _)| pid)
            .collect()
    }
}

/// The figures of one side at one N, in ms (RSS in MiB).
#[derive(Default)]
struct Figures {
    peers: Vec<f64>,
    create: Vec<f64>,
    start: Vec<f64>,
    io: Vec<f64>,
    set: Vec<f64>,
    info: Vec<f64>,
    status: Vec<f64>,
    peer_list: Vec<f64>,
    stop: Vec<f64>,
    delete: Vec<f64>,
    rss: Vec<f64>,
    etcd_rss: Vec<f64>,
}

fn timed(what: &str, call: impl FnOnce() -> Output) -> f64 {
    let t = Instant::now();
    let out = call();
    let took = t.elapsed();
    ok(what, &out);
    ms(took)
}

/// One operation of one run on one side.
fn operate(side: &dyn Side, n: usize, run: usize, op: usize, f: &mut Figures) {
    let roots: Vec<PathBuf> = (0..n).map(|i| side.bricks(i)).collect();
    let names: Vec<String> = side.net().hosts.iter().map(|h| h.name.clone()).collect();
    match op {
        0 => {
            let specs: Vec<String> = names
                .iter()
                .zip(&roots)
                .map(|(h, r)| format!("{h}:{}", brick_dir(r, run).display()))
                .collect();
            let mut args = vec!["volume", "create", VOLUME];
            args.extend(specs.iter().map(String::as_str));
            args.extend(side.create_args());
            f.create.push(timed("create", || side.cli(&args)));
        }
        1 => {
            let t = Instant::now();
            ok("start", &side.cli(&["volume", "start", VOLUME]));
            until("every brick runs", || brick_pids(&roots, run).len() == n);
            f.start.push(ms(t.elapsed()));
        }
        2 => {
            let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
            let t = Instant::now();
            let m = ClientMount::new(side.net(), &names[0], &names[0], VOLUME).unwrap();
            m.write("one-mib", &data).unwrap();
            assert_eq!(
                m.read("one-mib").unwrap(),
                data,
                "read back what was written"
            );
            drop(m);
            f.io.push(ms(t.elapsed()));
        }
        3 => f.set.push(timed("set", || {
            side.cli(&[
                "volume",
                "set",
                VOLUME,
                "performance.io-thread-count",
                &format!("{}", 16 + run),
            ])
        })),
        4 => f
            .info
            .push(timed("info", || side.cli(&["volume", "info", VOLUME]))),
        5 => f
            .status
            .push(timed("status", || side.cli(&["volume", "status", VOLUME]))),
        6 => f
            .peer_list
            .push(timed("peer list", || side.cli(&side.peer_list()))),
        7 => {
            let pids = brick_pids(&roots, run);
            assert_eq!(pids.len(), n, "every brick running before stop");
            let t = Instant::now();
            ok("stop", &side.cli(&["volume", "stop", VOLUME]));
            until("every brick gone", || {
                !pids.iter().any(|p| process_alive(*p))
            });
            f.stop.push(ms(t.elapsed()));
        }
        _ => f
            .delete
            .push(timed("delete", || side.cli(&["volume", "delete", VOLUME]))),
    }
}

const OPS: usize = 9;

fn bench(n: usize, runs: usize) -> (Figures, Figures) {
    let names: Vec<String> = (1..=n).map(|i| format!("server{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (mut f1, mut f2) = (Figures::default(), Figures::default());
    let gd1 = Gd1Hosts::started("sbs1", "203.0.113", &names);
    let gd2 = Gd2Hosts::started("sbs2", "198.18.7", &names);
    let t = Instant::now();
    gd1.join();
    f1.peers.push(ms(t.elapsed()));
    let t = Instant::now();
    gd2.join();
    f2.peers.push(ms(t.elapsed()));
    // The store settles (its voters) before the operations, untimed.
    gd2.wait_voters();
    let (gd1, gd2) = (Gd1(gd1), Gd2(gd2));
    for run in 0..runs {
        for op in 0..OPS {
            operate(&gd1, n, run, op, &mut f1);
            operate(&gd2, n, run, op, &mut f2);
        }
    }
    // At rest, with the volumes gone.
    std::thread::sleep(Duration::from_secs(2));
    f1.rss = gd1.daemon_pids().into_iter().filter_map(rss_mib).collect();
    f2.rss = gd2.daemon_pids().into_iter().filter_map(rss_mib).collect();
    f2.etcd_rss = gd2.etcd_pids().into_iter().filter_map(rss_mib).collect();
    (f1, f2)
}

fn print(n: usize, runs: usize, gd1: &Figures, gd2: &Figures) {
    println!(
        "\nN = {n} hosts: a distribute volume of {n} bricks (one per host); {runs} runs, \
         each operation on GD1 then at once on glusterd2; medians"
    );
    println!(
        "  {:<36} {:>10} {:>10} {:>16}",
        "", "GD1", "glusterd2", "glusterd2 / GD1"
    );
    let rows: [(&str, &Vec<f64>, &Vec<f64>); 12] = [
        ("peers → full mesh (ms)", &gd1.peers, &gd2.peers),
        ("volume create (ms)", &gd1.create, &gd2.create),
        ("volume start → bricks run (ms)", &gd1.start, &gd2.start),
        ("mount + 1 MiB write/read (ms)", &gd1.io, &gd2.io),
        ("volume set (ms)", &gd1.set, &gd2.set),
        ("volume info, CLI (ms)", &gd1.info, &gd2.info),
        ("volume status, CLI (ms)", &gd1.status, &gd2.status),
        ("peer list, CLI (ms)", &gd1.peer_list, &gd2.peer_list),
        ("volume stop → bricks gone (ms)", &gd1.stop, &gd2.stop),
        ("volume delete (ms)", &gd1.delete, &gd2.delete),
        ("daemon RSS, median of N (MiB)", &gd1.rss, &gd2.rss),
        (
            "etcd member RSS, median (MiB)",
            &gd1.etcd_rss,
            &gd2.etcd_rss,
        ),
    ];
    for (name, a, b) in rows {
        let (a, b) = (median(a), median(b));
        let ratio = if a.is_finite() && b.is_finite() {
            format!("{:.2}", b / a)
        } else {
            "-".into()
        };
        let show = |v: f64| {
            if v.is_finite() {
                format!("{v:.1}")
            } else {
                "-".into()
            }
        };
        println!("  {name:<36} {:>10} {:>10} {ratio:>16}", show(a), show(b));
    }
}

fn main() {
    let runs = runs();
    let mut all = vec![];
    for n in sizes() {
        let (gd1, gd2) = bench(n, runs);
        print(n, runs, &gd1, &gd2);
        all.push((n, gd1, gd2));
    }
    println!("\n(all sizes again, for one table)");
    for (n, gd1, gd2) in &all {
        print(*n, runs, gd1, gd2);
    }
}
