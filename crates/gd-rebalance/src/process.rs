//! One node's rebalance process: GlusterFS's `glusterfs --process-name rebalance` with GD1
//! 10.3's command line, its files, and the two things glusterd asks it over its control socket
//! (XLATOR_DEFRAG to the volume's DHT xlator: status, stop).
//!
//! The process fetches `rebalance/<volume>` from this node's volfile server (served to local
//! clients only), crawls the volume, moves the files whose bricks are on this node
//! (`*dht.node-uuid`), pushes its counters to glusterd as it ends (EVENT_NOTIFY) and exits.
//! Its pid file names it, so a glusterd2 that restarts finds the process it left running and
//! never starts a second one for the volume.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use gd_api::RebalanceState;
use gd_node::{
    config::Config,
    process::{DaemonLaunch, KILL_WAIT, Proc, REAP_WAIT, launch_daemon, stop_within},
};
use gd_rpc_server::client::BrickCall;
use gd_sunrpc::{Dict, programs::brick};
use uuid::Uuid;

use crate::model::{Command, Counters};

/// How long the launcher of a rebalance process may take to hand over to the daemon.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a started daemon may take to write its pid file.
const PIDFILE_WAIT: Duration = Duration::from_secs(10);
/// GD1's `GF_DEFRAG_CMD_STOP` and `GF_DEFRAG_CMD_STATUS`.
const CMD_STOP: i32 = 2;
const CMD_STATUS: i32 = 3;

/// What a rebalance process is started with.
pub struct Launch {
    pub volume: String,
    pub command: Command,
    pub commit_hash: u32,
    pub node_id: Uuid,
    /// This node's volfile server (its SunRPC address).
    pub volfile_server: SocketAddr,
}

/// Where this node's rebalance processes' pid files are.
pub fn piddir(config: &Config) -> PathBuf {
    config.rundir.join("rebalance")
}

/// The pid file of `volume`'s rebalance process on this node.
pub fn pidfile(config: &Config, volume: &str) -> PathBuf {
    piddir(config).join(format!("{volume}.pid"))
}

/// The control socket of `volume`'s rebalance process: named by a hash of the volume's name
/// (unix socket paths are short), stable from one glusterd2 build to the next.
pub fn socket(config: &Config, volume: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(volume.as_bytes());
    config
        .rundir
        .join(format!("rebalance-{}.socket", hex::encode(&hash[..8])))
}

/// The log of `volume`'s rebalance process (GD1's `<vol>-rebalance.log`).
pub fn logfile(config: &Config, volume: &str) -> PathBuf {
    config.logdir.join(format!("{volume}-rebalance.log"))
}

/// The running rebalance process of `volume` on this node, if any: by its pid file, or by its
/// command line while it has not written one yet (it does once it has its volfile, from this
/// node's glusterd2: a glusterd2 killed in between finds the process it launched when it
/// restarts, and never launches a second).
pub fn running(config: &Config, volume: &str) -> Option<Proc> {
    by_pidfile(config, volume)
        .or_else(|| launched(&format!("rebalance/{volume}"), &socket(config, volume)))
}

/// The rebalance process of `volume` its pid file names.
fn by_pidfile(config: &Config, volume: &str) -> Option<Proc> {
    let want = format!("rebalance/{volume}");
    let pid: u32 = std::fs::read_to_string(pidfile(config, volume))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Proc::find(pid, |args| args.contains(&want.as_bytes()))
}

/// A process whose command line names `volfile_id` and this node's control socket `socket`
/// (found in `/proc`).
fn launched(volfile_id: &str, socket: &std::path::Path) -> Option<Proc> {
    let socket = socket.display().to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        Proc::find(pid, |args| {
            args.contains(&volfile_id.as_bytes()) && args.contains(&socket.as_bytes())
        })
    })
}

/// GD1 10.3's arguments for a rebalance process.
pub fn argv(config: &Config, l: &Launch) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "-s".into(),
        l.volfile_server.ip().to_string(),
        "--volfile-server-port".into(),
        l.volfile_server.port().to_string(),
        "--volfile-id".into(),
        format!("rebalance/{}", l.volume),
    ];
    for opt in [
        "*dht.use-readdirp=yes",
        "*dht.lookup-unhashed=yes",
        "*dht.assert-no-child-down=yes",
        "*dht.readdir-optimize=on",
    ] {
        args.push("--xlator-option".into());
        args.push(opt.into());
    }
    args.extend([
        "--process-name".into(),
        "rebalance".into(),
        "--xlator-option".into(),
        format!("*dht.rebalance-cmd={}", l.command.gd1()),
        "--xlator-option".into(),
        format!("*dht.node-uuid={}", l.node_id),
        "--xlator-option".into(),
        format!("*dht.commit-hash={}", l.commit_hash),
        "--socket-file".into(),
        socket(config, &l.volume).display().to_string(),
        "--pid-file".into(),
        pidfile(config, &l.volume).display().to_string(),
        "-l".into(),
        logfile(config, &l.volume).display().to_string(),
    ]);
    args
}

/// Starts `l.volume`'s rebalance process and waits (bounded) until it runs; a failed start
/// leaves no process behind.
pub async fn start(config: &Config, l: &Launch) -> Result<Proc, String> {
    let started = launch(config, l).await;
    if started.is_err() {
        if let Some(p) = running(config, &l.volume) {
            stop_within(&[p], Duration::ZERO, KILL_WAIT, REAP_WAIT).await;
        }
        let _ = std::fs::remove_file(pidfile(config, &l.volume));
    }
    started
}

async fn launch(config: &Config, l: &Launch) -> Result<Proc, String> {
    let bin = gd_volume::processes::bricks::find_executable("glusterfs")
        .ok_or("glusterfs is not installed (Debian: glusterfs-client)")?;
    let pidfile = pidfile(config, &l.volume);
    for dir in [pidfile.parent(), Some(config.logdir.as_path())]
        .into_iter()
        .flatten()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let _ = std::fs::remove_file(&pidfile);
    let label = format!("the rebalance process of {}", l.volume);
    let launch = DaemonLaunch {
        bin: &bin,
        args: &argv(config, l),
        label: &label,
        log: &logfile(config, &l.volume),
        launch_timeout: LAUNCH_TIMEOUT,
        pidfile_wait: PIDFILE_WAIT,
    };
    // Launched once it wrote its pid file (it has its volfile then).
    launch_daemon(&launch, || by_pidfile(config, &l.volume)).await
}

/// What a rebalance process answers or pushes: its state and counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub state: RebalanceState,
    pub counters: Counters,
}

/// Reads a rebalance process's status dict (`gf_defrag_status_get`: `status`, `files`,
/// `size`, `lookups`, `failures`, `skipped`, `run-time`, `time-left`). A dict without a
/// known status is refused, so a garbled answer never changes what the store says.
pub fn parse_report(d: &Dict) -> Result<Report, String> {
    let status = d
        .get_i32("status")
        .map_err(|e| format!("its status is unreadable: {e}"))?
        .ok_or("it gave no status")?;
    let state = RebalanceState::from_gd1(i64::from(status))
        .ok_or_else(|| format!("its status {status} is not one GlusterFS defines"))?;
    let n = |k: &str| d.get_u64(k).ok().flatten().unwrap_or(0);
    let run_time = d
        .get_str("run-time")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t >= 0.0)
        .unwrap_or(0.0);
    Ok(Report {
        state,
        counters: Counters {
            files: n("files"),
            size: n("size"),
            lookups: n("lookups"),
            failures: n("failures"),
            skipped: n("skipped"),
            run_time,
            time_left: n("time-left"),
        },
    })
}

/// How much of the end of a rebalance log [`logged_end`] reads.
const LOG_TAIL: u64 = 256 << 10;

/// The end of a rebalance process as it logged it (`Rebalance is completed. Time taken is 13
/// secs Files migrated: 47, size: 3239328, lookups: 441, failures: 0, skipped: 0`), if its last
/// such line was written at or after `since_ms` (milliseconds since the epoch; the log's
/// times are UTC). What a process that ended while glusterd2 was not there to take its final
/// push left behind. Otherwise why not, for an administrator.
pub fn logged_end(config: &Config, volume: &str, since_ms: u64) -> Result<Report, String> {
    use std::io::{Read, Seek, SeekFrom};
    let path = logfile(config, volume);
    let mut tail = Vec::new();
    let read = std::fs::File::open(&path).and_then(|mut f| {
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL)))?;
        f.take(LOG_TAIL).read_to_end(&mut tail)
    });
    if let Err(e) = read {
        return Err(format!("its log {} cannot be read: {e}", path.display()));
    }
    let text = String::from_utf8_lossy(&tail);
    let Some(line) = text.lines().rev().find(|l| l.contains(": Rebalance is ")) else {
        return Err(format!("its log {} has no end line", path.display()));
    };
    parse_end_line(line, since_ms).ok_or_else(|| {
        format!(
            "the last end line of its log {} is not this rebalance's: {line}",
            path.display()
        )
    })
}

/// Reads one `Rebalance is ...` log line written at or after `since_ms`.
pub fn parse_end_line(line: &str, since_ms: u64) -> Option<Report> {
    // "[2026-12-06 09:47:35.080537 +0000] I [...] 0-DHT: Rebalance is completed. ..."
    let stamp = line.strip_prefix('[')?.get(..26)?;
    let rfc3339 = format!("{}T{}Z", stamp.get(..10)?, stamp.get(11..)?);
    let at = humantime::parse_rfc3339_weak(&rfc3339).ok()?;
    let at_ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64;
    if at_ms < since_ms {
        return None;
    }
    let rest = &line[line.find("Rebalance is ")? + "Rebalance is ".len()..];
    let (word, rest) = rest.split_once(". Time taken is ")?;
    let state: RebalanceState = serde_json::from_value(serde_json::Value::from(word)).ok()?;
    let number = |key: &str| -> Option<u64> {
        let at = rest.find(key)? + key.len();
        rest[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some(Report {
        state,
        counters: Counters {
            files: number("Files migrated: ")?,
            size: number("size: ")?,
            lookups: number("lookups: ")?,
            failures: number("failures: ")?,
            skipped: number("skipped: ")?,
            run_time: rest.split(' ').next()?.parse().ok()?,
            time_left: 0,
        },
    })
}

/// Asks `volume`'s rebalance process for its status.
pub async fn status(config: &Config, volume: &str) -> Result<Report, String> {
    let out = defrag(config, volume, CMD_STATUS).await?;
    parse_report(&out).map_err(|e| format!("the rebalance process of {volume}: {e}"))
}

/// Tells `volume`'s rebalance process to stop (it reports stopped and exits).
pub async fn stop(config: &Config, volume: &str) -> Result<(), String> {
    defrag(config, volume, CMD_STOP).await.map(|_| ())
}

async fn defrag(config: &Config, volume: &str, cmd: i32) -> Result<Dict, String> {
    let mut input = Dict::new();
    input.set_str("volname", volume);
    input.set_i32("rebalance-command", cmd);
    let req =
        brick::BrickOpReq::new(format!("{volume}-dht"), 0, &input).map_err(|e| e.to_string())?;
    let rsp = BrickCall::to(socket(config, volume))
        .call(brick::XLATOR_DEFRAG, &req)
        .await
        .map_err(|e| e.to_string())?;
    if rsp.op_ret < 0 {
        return Err(format!(
            "the rebalance process of {volume} refused the request: {}",
            if rsp.op_errstr.is_empty() {
                "no reason given"
            } else {
                rsp.op_errstr.as_str()
            }
        ));
    }
    rsp.decode_output()
        .map_err(|e| format!("the rebalance process of {volume} answered garbage: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_dict_reads_as_gd1_writes_it() {
        let mut d = Dict::new();
        d.set_i32("status", 3);
        d.set_u64("files", 12);
        d.set_u64("size", 4096);
        d.set_u64("lookups", 300);
        d.set_u64("failures", 0);
        d.set_u64("skipped", 2);
        d.set_str("run-time", "7.250000");
        d.set_u64("time-left", 0);
        let r = parse_report(&d).unwrap();
        assert_eq!(r.state, RebalanceState::Completed);
        assert_eq!(
            r.counters,
            Counters {
                files: 12,
                size: 4096,
                lookups: 300,
                failures: 0,
                skipped: 2,
                run_time: 7.25,
                time_left: 0,
            }
        );
    }

    #[test]
    fn the_end_is_read_from_the_log_as_glusterfs_writes_it() {
        let line = "[2026-12-06 09:47:41.335262 +0000] I [MSGID: 109028] \
            [dht-rebalance.c:4663:gf_defrag_status_get] 0-DHT: Rebalance is stopped. Time taken \
            is 2 secs Files migrated: 5, size: 364800, lookups: 301, failures: 0, skipped: 1 ";
        let at_ms = 1_796_550_461_335;
        let r = parse_end_line(line, at_ms - 1000).unwrap();
        assert_eq!(r.state, RebalanceState::Stopped);
        assert_eq!(
            r.counters,
            Counters {
                files: 5,
                size: 364800,
                lookups: 301,
                failures: 0,
                skipped: 1,
                run_time: 2.0,
                time_left: 0,
            }
        );
        // An end older than the rebalance asked about is another rebalance's.
        assert_eq!(parse_end_line(line, at_ms + 1000), None);
        let fixed = line.replace("is stopped", "is fix-layout completed");
        assert_eq!(
            parse_end_line(&fixed, 0).unwrap().state,
            RebalanceState::FixLayoutCompleted
        );
        for garbled in [
            "",
            "[2026-13-06 09:47:41.335262 +0000] Rebalance is done.",
            "[2026-12-0\u{e9} 09:47:41.33526 +0000] Rebalance is completed. Time taken is 2 secs",
            &line[..120],
        ] {
            assert_eq!(parse_end_line(garbled, 0), None, "{garbled}");
        }
    }

    #[test]
    fn a_log_without_this_rebalance_s_end_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let flags = gd_node::config::Flags {
            logdir: Some(dir.path().to_owned()),
            ..Default::default()
        };
        let config = Config::load(flags, |_| None).unwrap();
        let err = logged_end(&config, "rb", 0).unwrap_err();
        assert!(err.contains("cannot be read"), "{err}");
        let log = logfile(&config, "rb");
        std::fs::write(
            &log,
            "[2026-12-06 09:47:30.000000 +0000] I [...] 0-rb-dht: crawling\n",
        )
        .unwrap();
        let err = logged_end(&config, "rb", 0).unwrap_err();
        assert!(err.ends_with("has no end line"), "{err}");
        let end = "[2026-12-06 09:47:41.335262 +0000] I [MSGID: 109028] \
            [dht-rebalance.c:4663:gf_defrag_status_get] 0-DHT: Rebalance is completed. Time \
            taken is 2 secs Files migrated: 5, size: 364800, lookups: 301, failures: 0, skipped: 1";
        std::fs::write(
            &log,
            format!("{end}\n[2026-12-06 09:47:42.0 +0000] I exiting\n"),
        )
        .unwrap();
        let at_ms = 1_796_550_461_335;
        assert_eq!(
            logged_end(&config, "rb", at_ms).unwrap().state,
            RebalanceState::Completed
        );
        let err = logged_end(&config, "rb", at_ms + 1).unwrap_err();
        assert!(err.contains("is not this rebalance's"), "{err}");
    }

    #[test]
    fn a_garbled_status_is_refused() {
        let mut d = Dict::new();
        assert_eq!(parse_report(&d).unwrap_err(), "it gave no status");
        d.set_i32("status", 42);
        assert_eq!(
            parse_report(&d).unwrap_err(),
            "its status 42 is not one GlusterFS defines"
        );
        d.set_str("status", "x");
        assert!(
            parse_report(&d)
                .unwrap_err()
                .starts_with("its status is unreadable")
        );
        // Counters that do not parse count as 0; a negative or NaN run time as 0.
        let mut d = Dict::new();
        d.set_i32("status", 1);
        d.set_str("files", "many");
        d.set_str("run-time", "NaN");
        let r = parse_report(&d).unwrap();
        assert_eq!(r.counters, Counters::default());
    }
}
