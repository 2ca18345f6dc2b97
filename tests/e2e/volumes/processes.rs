//! Stop and delete answer only once every brick and self-heal daemon of the volume has exited.

use gd_testkit::*;
use serde_json::json;

use super::{WAIT, post_volume};

/// A process as it was when seen: its pid and its start time (field 22 of `/proc/<pid>/stat`),
/// so that a pid the kernel reuses for another process does not pass for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    pid: u32,
    start: u64,
}

/// The state letter and start time of `pid`, or `None` when there is no such process.
pub(crate) fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split(' ').collect();
    // `rest` starts at field 3 (state); the start time is field 22.
    Some((
        fields.first()?.chars().next()?,
        fields.get(19)?.parse().ok()?,
    ))
}

fn seen(pid: u32) -> Seen {
    let (state, start) = proc_stat(pid).unwrap_or_else(|| panic!("process {pid} is not running"));
    assert_ne!(state, 'Z', "process {pid} has exited already");
    Seen { pid, start }
}

/// Whether the process is gone: its pid is free, or another process has it.
fn is_gone(p: Seen) -> bool {
    proc_stat(p.pid).is_none_or(|(_, start)| start != p.start)
}

/// The live self-heal daemon of `volume` on a node, by its pid file.
fn shd_of(dirs: &NodeDirs, volume: &str) -> Option<Seen> {
    let pidfile = dirs
        .run
        .join("shd")
        .join(volume)
        .join(format!("{volume}-shd.pid"));
    let pid: u32 = read(&pidfile).trim().parse().ok()?;
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmd)
        .split('\0')
        .any(|a| a == format!("shd/{volume}"))
        .then(|| seen(pid))
}

/// Every brick and self-heal daemon of a started volume, as `volume status` and the pid
/// files show them once they all run.
fn processes_of(t: &Three, volume: &str) -> Vec<(String, Seen)> {
    wait_for("every brick online and 3 self-heal daemons", WAIT, || {
        // What `glustercli volume status` shows.
        let (s, b) = t.api(0, "GET", &format!("/v1/volumes/{volume}/bricks"), None);
        let bricks: Vec<gd_api::BrickStatus> = serde_json::from_value(b).ok()?;
        if s != 200 || bricks.len() != 3 || !bricks.iter().all(|b| b.online && b.pid > 0) {
            return None;
        }
        let mut procs: Vec<(String, Seen)> = bricks
            .iter()
            .map(|b| (format!("brick {}", b.info.path), seen(b.pid)))
            .collect();
        for (i, d) in t.dirs.iter().enumerate() {
            procs.push((format!("self-heal daemon on node {i}"), shd_of(d, volume)?));
        }
        Some(procs)
    })
    .unwrap()
}

#[test]
fn stop_and_delete_return_when_the_volume_processes_are_gone() {
    let t = three(49);
    let bricks: Vec<_> = (0..3).map(|i| brick(&t, i, "gone")).collect();
    let (s, b) = post_volume(
        &t,
        0,
        Some(create_body(
            "gone",
            "replicate",
            &bricks,
            json!({"replica": 3}),
        )),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = t.api(1, "POST", "/v1/volumes/gone/start", None);
    assert_eq!(s, 200, "{b}");
    let procs = processes_of(&t, "gone");
    assert_eq!(procs.len(), 6, "{procs:?}");

    // Stop through the CLI: when it returns, every process is gone, its pid free (glusterd2
    // reaped it), checked at once, without waiting.
    let started = std::time::Instant::now();
    let out = t.cli(2, &["volume", "stop", "gone"]);
    let took = started.elapsed();
    let left: Vec<_> = procs.iter().filter(|(_, p)| !is_gone(*p)).collect();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(left.is_empty(), "still there after stop: {left:?}");
    assert_eq!(stderr(&out), "", "nothing had to be killed");
    eprintln!("volume stop returned after {took:?} with every process gone");

    // Started and stopped again: the same holds for the new processes.
    let (s, b) = t.api(0, "POST", "/v1/volumes/gone/start", None);
    assert_eq!(s, 200, "{b}");
    let procs = processes_of(&t, "gone");
    let (s, b) = t.api(1, "POST", "/v1/volumes/gone/stop", None);
    let left: Vec<_> = procs.iter().filter(|(_, p)| !is_gone(*p)).collect();
    assert_eq!(s, 200, "{b}");
    assert!(left.is_empty(), "still there after stop: {left:?}");

    // A process of the stopped volume that still runs, and ignores SIGTERM (a stand-in that
    // names the brick, with the brick's pid file, as a brick an earlier glusterd2 left behind
    // would): the delete kills it, returns once it is gone and says so.
    let host = &t.ips[1];
    let path = bricks[1].1.to_str().unwrap();
    let exp = path.trim_start_matches('/').replace('/', "-");
    let pidfile = t.dirs[1]
        .run
        .join("vols")
        .join("gone")
        .join(format!("{host}-{exp}.pid"));
    std::fs::create_dir_all(pidfile.parent().unwrap()).unwrap();
    // Detached (its parent shell exits), as a daemonized brick is.
    let launcher = std::process::Command::new("sh")
        .args([
            "-c",
            "sh -c 'trap \"\" TERM; while :; do sleep 1; done' --brick-name \"$1\" </dev/null >/dev/null 2>&1 & echo $!",
            "sh",
            path,
        ])
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&launcher.stdout)
        .trim()
        .parse()
        .unwrap();
    std::fs::write(&pidfile, format!("{pid}\n")).unwrap();
    // Once its shell has run the trap: SIGTERM is ignored (bit 15 of SigIgn).
    let stray = wait_for("the stand-in to ignore SIGTERM", WAIT, || {
        let status = read(std::path::Path::new(&format!("/proc/{pid}/status")));
        let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
        let ignored = u64::from_str_radix(mask.trim(), 16).ok()?;
        (ignored & (1 << (15 - 1)) != 0).then(|| seen(pid))
    })
    .unwrap();
    let started = std::time::Instant::now();
    let out = t.cli(0, &["volume", "delete", "gone", "-y"]);
    let took = started.elapsed();
    // Its parent is init, not glusterd2: exited is what glusterd2 can confirm (init reaps it
    // when it gets to it).
    let exited = proc_stat(pid).is_none_or(|(state, start)| start != stray.start || state == 'Z');
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(exited, "the stand-in {pid} still runs after delete");
    assert!(procs.iter().all(|(_, p)| is_gone(*p)));
    assert_eq!(
        stderr(&out),
        format!(
            "Warning: on {host}:24007: brick {path} (pid {pid}) did not exit within 10 s of SIGTERM and was killed (SIGKILL)\n"
        )
    );
    eprintln!(
        "volume delete returned after {took:?}, having killed a process that ignored SIGTERM"
    );
    let (s, _) = t.api(2, "GET", "/v1/volumes/gone", None);
    assert_eq!(s, 404);
}
