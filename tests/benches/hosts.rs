//! GD1 and glusterd2 side by side on real hosts with their defaults: three network-namespace
//! hosts each (their own hostname, `/etc/hosts` and `hosts: files` resolver), peers added by
//! name, a replica-3 volume with one brick per host named by hostname; create, start, stop and
//! delete through each one's own CLI run on a server (a whole CLI process per call, for both).
//!
//! Stop is measured as the call's time and as "until every process of the volume is gone"
//! (its bricks and, for glusterd2, the volume's self-heal daemons; GD1 runs one shared
//! self-heal daemon per node, which it keeps while other volumes need it): the pids are read
//! before the call and polled every 5 ms after it. Prints figures, asserts nothing about speed.
//!
//! Run: `scripts/bench.sh --bench hosts` (it builds the release binaries the bench starts).

use std::{
    path::PathBuf,
    process::Output,
    time::{Duration, Instant},
};

use gd_testkit::{
    hosts::{Gd1Hosts, Gd2Hosts},
    *,
};

const RUNS: usize = 5;
const HOSTS: [&str; 3] = ["server1", "server2", "server3"];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Times `call`, then how long until every pid in `pids` is gone (bounded by 30 s).
/// Returns (call, until gone, pids still alive when the call returned).
fn timed_stop(pids: &[i32], call: impl FnOnce() -> Output) -> (f64, f64, usize) {
    let t = Instant::now();
    let out = call();
    let returned = t.elapsed();
    assert!(
        out.status.success(),
        "stop: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let left = pids.iter().filter(|p| process_alive(**p)).count();
    while pids.iter().any(|p| process_alive(*p)) && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    (ms(returned), ms(t.elapsed()), left)
}

fn timed(what: &str, call: impl FnOnce() -> Output) -> f64 {
    let t = Instant::now();
    let out = call();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{what}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    ms(took)
}

#[derive(Default)]
struct Figures {
    create: Vec<f64>,
    start: Vec<f64>,
    stop_call: Vec<f64>,
    stop_gone: Vec<f64>,
    stop_left: usize,
    delete: Vec<f64>,
}

impl Figures {
    fn print(&self, who: &str) {
        println!("\n{who}: replica 3 on 3 hosts, {RUNS} runs (median, min..max, ms)");
        for (name, v) in [
            ("create", &self.create),
            ("start", &self.start),
            ("stop (call returns)", &self.stop_call),
            ("stop (every process gone)", &self.stop_gone),
            ("delete", &self.delete),
        ] {
            let (m, lo, hi) = median(v.clone());
            println!("  {name:<28} {m:>8.1}   {lo:.1}..{hi:.1}");
        }
        println!(
            "  processes still running when stop returned: {} (over {RUNS} runs)",
            self.stop_left
        );
    }
}

fn brick_specs(roots: &[PathBuf], run: usize) -> Vec<String> {
    HOSTS
        .iter()
        .zip(roots)
        .map(|(h, r)| format!("{h}:{}", r.join(format!("b{run}")).display()))
        .collect()
}

// ---- GD1 ----

fn bench_gd1() -> Figures {
    let g = Gd1Hosts::new("gd1b", "203.0.113", &HOSTS);
    let roots: Vec<PathBuf> = (0..3).map(|i| g.bricks(i)).collect();
    let mut f = Figures::default();
    for run in 0..RUNS {
        let specs = brick_specs(&roots, run);
        let mut args = vec!["volume", "create", "gdv", "replica", "3"];
        args.extend(specs.iter().map(String::as_str));
        args.push("force");
        f.create.push(timed("GD1 create", || g.cli(0, &args)));
        f.start
            .push(timed("GD1 start", || g.cli(0, &["volume", "start", "gdv"])));
        let pids: Vec<i32> = roots
            .iter()
            .flat_map(|r| processes_matching(&r.join(format!("b{run}")).display().to_string()))
            .map(|(pid, _)| pid)
            .collect();
        assert_eq!(pids.len(), 3, "GD1 bricks running");
        let (call, gone, left) = timed_stop(&pids, || g.cli(0, &["volume", "stop", "gdv"]));
        f.stop_call.push(call);
        f.stop_gone.push(gone);
        f.stop_left += left;
        f.delete.push(timed("GD1 delete", || {
            g.cli(0, &["volume", "delete", "gdv"])
        }));
    }
    f
}

// ---- glusterd2 ----

fn bench_gd2() -> Figures {
    let g = Gd2Hosts::new("gd2b", "198.18.7", &HOSTS);
    let roots: Vec<PathBuf> = (0..3).map(|i| g.bricks(i)).collect();
    let cli = |args: &[&str]| g.cli(0, args);
    let mut f = Figures::default();
    for run in 0..RUNS {
        let specs = brick_specs(&roots, run);
        let mut args = vec!["volume", "create", "gdv", "replica", "3"];
        args.extend(specs.iter().map(String::as_str));
        args.extend(["--create-brick-dir", "--allow-root-dir"]);
        f.create.push(timed("create", || cli(&args)));
        f.start
            .push(timed("start", || cli(&["volume", "start", "gdv"])));
        let mut pids: Vec<i32> = roots
            .iter()
            .flat_map(|r| processes_matching(&r.join(format!("b{run}")).display().to_string()))
            .map(|(pid, _)| pid)
            .collect();
        assert_eq!(pids.len(), 3, "glusterd2 bricks running");
        pids.extend(processes_matching("shd/gdv").into_iter().map(|(p, _)| p));
        let (call, gone, left) = timed_stop(&pids, || cli(&["volume", "stop", "gdv"]));
        f.stop_call.push(call);
        f.stop_gone.push(gone);
        f.stop_left += left;
        f.delete
            .push(timed("delete", || cli(&["volume", "delete", "gdv"])));
    }
    f
}

fn main() {
    // Each side has the machine to itself.
    let gd1 = bench_gd1();
    let gd2 = bench_gd2();
    gd1.print("GD1 (glusterd 10.3)");
    gd2.print("glusterd2");
    println!("\nratio GD1 / glusterd2 (medians; above 1: glusterd2 is faster)");
    for (name, a, b) in [
        ("create", &gd1.create, &gd2.create),
        ("start", &gd1.start, &gd2.start),
        ("stop (every process gone)", &gd1.stop_gone, &gd2.stop_gone),
        ("delete", &gd1.delete, &gd2.delete),
    ] {
        let (a, _, _) = median(a.clone());
        let (b, _, _) = median(b.clone());
        println!("  {name:<28} {:>6.2}  ({a:.0} / {b:.0} ms)", a / b);
    }
}
