//! Heal info on a volume with 10,000 entries to heal, and status detail of a 30-brick volume,
//! GD1 (glusterd 10.3) and glusterd2 side by side, each on three network-namespace hosts of its
//! own with its defaults. A replica 3 volume has one brick taken out of service (reset-brick
//! start, the same words on both sides) while 10,000 empty files are made through a FUSE mount;
//! then `volume heal <v> info` and `info summary` are timed (each side's own CLI, one process
//! per call, on a server; the entries counted from the output), and `glfsheal` itself, which
//! both run, fetching its volfile from each side's glusterd (what the management plane adds
//! is the difference). A distributed volume of 30
//! bricks (10 per host) is started and `volume status <v> detail` is timed. Medians of 5 runs.
//!
//! Prints figures; asserts nothing about speed. Run: `scripts/bench.sh --bench heal`.

use std::{
    path::PathBuf,
    process::Output,
    time::{Duration, Instant},
};

use gd_testkit::{
    hosts::{Gd1Hosts, Gd2Hosts},
    netns::{ClientMount, Net},
    *,
};

const ENTRIES: usize = 10_000;
const DETAIL_BRICKS: usize = 30;
const RUNS: usize = 5;
const HOSTS: [&str; 3] = ["server1", "server2", "server3"];

/// One side's figures (ms; entries listed).
#[derive(Debug, Default)]
struct Figures {
    info: f64,
    listed: u64,
    summary: f64,
    /// `glfsheal` itself, run on the same host against the side's volfile server.
    raw_info: f64,
    raw_summary: f64,
    detail: f64,
}

/// GlusterFS's `glfsheal`, found as glusterd2 finds it.
fn glfsheal() -> PathBuf {
    gd_heal::info::glfsheal_bin().expect("glfsheal is installed (glusterfs-server)")
}

trait Side {
    fn cli(&self, args: &[&str]) -> Output;
    /// `glfsheal <args>` on the first host, fetching its volfile where the side's own heal
    /// commands make it fetch it.
    fn glfsheal(&self, args: &[&str]) -> Output;
    fn bricks(&self, i: usize) -> PathBuf;
    fn brick_flags(&self) -> &'static [&'static str];
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

/// The median time of `RUNS` runs of `args` (through the side's CLI, or `glfsheal` itself),
/// and the last run's output.
fn timed(side: &dyn Side, args: &[&str]) -> (f64, String) {
    timed_with(args, |a| side.cli(a))
}

fn timed_with(args: &[&str], run: impl Fn(&[&str]) -> Output) -> (f64, String) {
    let mut times = vec![];
    let mut last = String::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = ok(run(args), &args.join(" "));
        times.push(t.elapsed().as_secs_f64() * 1e3);
        last = stdout(&out);
    }
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], last)
}

/// The entries a heal info lists, from its `Number of entries: N` lines (GD1's words, both).
fn listed(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.strip_prefix("Number of entries: "))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .sum()
}

fn run(side: &dyn Side, net: &Net) -> Figures {
    let bricks: Vec<String> = (0..3)
        .map(|i| format!("{}:{}", HOSTS[i], side.bricks(i).join("h").display()))
        .collect();
    let mut create = vec!["volume", "create", "hv", "replica", "3"];
    create.extend(bricks.iter().map(String::as_str));
    create.extend(side.brick_flags());
    ok(side.cli(&create), "create");
    ok(side.cli(&["volume", "start", "hv"]), "start");
    ok(
        side.cli(&["volume", "reset-brick", "hv", &bricks[2], "start"]),
        "reset-brick start",
    );
    let m = ClientMount::new(net, HOSTS[0], HOSTS[0], "hv").unwrap();
    let made = m.run(
        &[
            "sh",
            "-c",
            &format!(
                "cd {} && seq -f f%.0f 1 {ENTRIES} | xargs touch",
                m.dir.display()
            ),
        ],
        Duration::from_secs(600),
    );
    ok(made, "making the files");

    let mut f = Figures::default();
    let (ms, text) = timed(side, &["volume", "heal", "hv", "info"]);
    f.info = ms;
    f.listed = listed(&text);
    assert!(
        f.listed >= 2 * ENTRIES as u64,
        "each live brick lists every file: {}",
        f.listed
    );
    (f.summary, _) = timed(side, &["volume", "heal", "hv", "info", "summary"]);
    let (ms, text) = timed_with(&["hv", "--xml"], |a| side.glfsheal(a));
    f.raw_info = ms;
    assert!(
        text.matches("<file gfid=").count() >= 2 * ENTRIES,
        "glfsheal lists every file on each live brick"
    );
    (f.raw_summary, _) = timed_with(&["hv", "info-summary", "--xml"], |a| side.glfsheal(a));

    let mut create = vec!["volume".to_owned(), "create".into(), "dv".into()];
    for j in 0..DETAIL_BRICKS / 3 {
        for (i, h) in HOSTS.iter().enumerate() {
            create.push(format!(
                "{h}:{}",
                side.bricks(i).join(format!("d{j}")).display()
            ));
        }
    }
    let mut args: Vec<&str> = create.iter().map(String::as_str).collect();
    args.extend(side.brick_flags());
    ok(side.cli(&args), "create of the 30-brick volume");
    ok(
        side.cli(&["volume", "start", "dv"]),
        "start of the 30-brick volume",
    );
    let (ms, text) = timed(side, &["volume", "status", "dv", "detail"]);
    f.detail = ms;
    assert_eq!(
        text.matches("Total Disk Space").count(),
        DETAIL_BRICKS,
        "every brick's detail: {text}"
    );
    f
}

struct Gd1(Gd1Hosts);

impl Side for Gd1 {
    fn cli(&self, args: &[&str]) -> Output {
        self.0.cli(0, args)
    }
    /// As GD1's CLI runs it: no socket named, GD1's default.
    fn glfsheal(&self, args: &[&str]) -> Output {
        let mut cmd = self.0.net.command(HOSTS[0], glfsheal());
        cmd.args(args);
        run_bounded(cmd, Duration::from_secs(300))
    }
    fn bricks(&self, i: usize) -> PathBuf {
        self.0.bricks(i)
    }
    fn brick_flags(&self) -> &'static [&'static str] {
        &["force"]
    }
}

struct Gd2(Gd2Hosts);

impl Side for Gd2 {
    fn cli(&self, args: &[&str]) -> Output {
        self.0.cli(0, args)
    }
    /// As glusterd2 runs it: its unix socket named last.
    fn glfsheal(&self, args: &[&str]) -> Output {
        let mut cmd = self.0.net.command(HOSTS[0], glfsheal());
        cmd.args(args)
            .arg("glusterd-sock")
            .arg(self.0.dirs[0].run.join("glusterd2.socket"));
        run_bounded(cmd, Duration::from_secs(300))
    }
    fn bricks(&self, i: usize) -> PathBuf {
        self.0.bricks(i)
    }
    fn brick_flags(&self) -> &'static [&'static str] {
        &["--create-brick-dir", "--allow-root-dir"]
    }
}

fn main() {
    // Each side has the machine to itself.
    let gd1 = {
        let side = Gd1(Gd1Hosts::new("gd1h", "203.0.114", &HOSTS));
        run(&side, &side.0.net)
    };
    let gd2 = {
        let side = Gd2(Gd2Hosts::new("gd2h", "198.18.8", &HOSTS));
        run(&side, &side.0.net)
    };
    for (who, f) in [("GD1 (glusterd 10.3)", &gd1), ("glusterd2", &gd2)] {
        println!("\n{who}: medians of {RUNS} runs");
        println!(
            "  heal info, {ENTRIES} files pending      {:>9.1} ms ({} entries listed)",
            f.info, f.listed
        );
        println!("  heal info summary                 {:>9.1} ms", f.summary);
        println!(
            "  glfsheal itself: info {:.1} ms, summary {:.1} ms",
            f.raw_info, f.raw_summary
        );
        println!(
            "  status detail, {DETAIL_BRICKS} bricks          {:>9.1} ms",
            f.detail
        );
    }
    println!("\nratio GD1 / glusterd2 (above 1: glusterd2 is faster)");
    for (name, a, b) in [
        ("heal info", gd1.info, gd2.info),
        ("heal info summary", gd1.summary, gd2.summary),
        ("glfsheal itself, info", gd1.raw_info, gd2.raw_info),
        ("glfsheal itself, summary", gd1.raw_summary, gd2.raw_summary),
        ("status detail", gd1.detail, gd2.detail),
    ] {
        println!("  {name:<30} {:>6.2}  ({a:.0} / {b:.0} ms)", a / b);
    }
}
