//! Brick processes: the `glusterfsd` of each local brick of a started volume.
//!
//! The command line is GD1 10.3's (research/glusterfs-protocol.md §4.1), so the real binary
//! behaves exactly as under GD1: it fetches its volfile from this daemon (GETSPEC with the
//! brick's volfile id), listens on the port it is given, signs in to the port map, and only
//! then does its launcher exit 0. glusterd2 therefore waits for that exit (bounded): when it
//! returns, the brick serves. The brick binds to this node's address, so several nodes on one
//! machine (127.0.0.2, .3, ...) never collide.
//!
//! A brick is found running again after a glusterd2 restart through its pid file and
//! `/proc/<pid>/cmdline`; it is never restarted then.
//!
//! Stopping them (and knowing a process by its pid and start time) is `gd_node::process`'s.

use std::{
    collections::BTreeSet,
    net::{IpAddr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use uuid::Uuid;

use gd_node::config::Config;
use gd_node::process::{
    DaemonLaunch, KILL_WAIT, Proc, REAP_WAIT, adopt_daemons, launch_daemon, stop_within,
};

/// GD1's brick port range (`base-port` .. Debian's `max-port`).
pub const PORT_MIN: u16 = 49152;
pub const PORT_MAX: u16 = 60999;
/// How long a brick may take to fetch its volfile, bind and sign in.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// glusterfsd's exit status when its port is taken (`-EADDRINUSE` as an exit code).
const EXIT_ADDR_IN_USE: i32 = 98;

/// The brick path as GD1 writes it in file names: without its first `/`, other `/` as `-`.
pub fn exp_path(path: &str) -> String {
    path.strip_prefix('/').unwrap_or(path).replace('/', "-")
}

/// The volfile id a brick asks for.
pub fn volfile_id(volume: &str, host: &str, path: &str) -> String {
    format!("{volume}.{host}.{}", exp_path(path))
}

/// Where a brick's pid file, control socket and log live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrickFiles {
    pub pidfile: PathBuf,
    pub socket: PathBuf,
    pub logfile: PathBuf,
}

/// The files of one brick. The socket name is short (unix socket paths are limited to 107
/// bytes): the brick id's first 16 hex digits.
pub fn files(config: &Config, volume: &str, host: &str, path: &str, brick_id: Uuid) -> BrickFiles {
    let exp = exp_path(path);
    BrickFiles {
        pidfile: config
            .rundir
            .join("vols")
            .join(volume)
            .join(format!("{host}-{exp}.pid")),
        socket: config
            .rundir
            .join(format!("b-{}.socket", &brick_id.simple().to_string()[..16])),
        logfile: config.logdir.join("bricks").join(format!("{exp}.log")),
    }
}

/// The process named by `pidfile` if it runs and is the glusterfsd of `brick_path`.
pub fn running_pid(pidfile: &Path, brick_path: &str) -> Option<Proc> {
    let pid: u32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    Proc::find(pid, |args| {
        args.windows(2)
            .any(|w| w[0] == b"--brick-name" && w[1] == brick_path.as_bytes())
    })
}

/// A free port for a brick on `ip`, not in `taken`: a random start in the range, then upward
/// with wrap-around (GD1 10's way, so restarts do not all race for the same port).
pub fn alloc_port(ip: IpAddr, taken: &BTreeSet<u16>) -> Option<u16> {
    let span = u32::from(PORT_MAX - PORT_MIN) + 1;
    let start = rand_u32() % span;
    (0..span)
        .map(|i| PORT_MIN + ((start + i) % span) as u16)
        .find(|p| !taken.contains(p) && TcpListener::bind(SocketAddr::new(ip, *p)).is_ok())
}

fn rand_u32() -> u32 {
    let b = *Uuid::new_v4().as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// An executable on `PATH`, or in the sbin directories GlusterFS installs its daemons in
/// (a service manager's `PATH` may lack them).
pub fn find_executable(name: &str) -> Option<PathBuf> {
    gd_store::managed::find_binary(Path::new(name)).or_else(|| {
        ["/usr/sbin", "/sbin", "/usr/bin"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| gd_store::managed::find_binary(p).is_some())
    })
}

/// The glusterfsd binary.
pub fn glusterfsd() -> Option<PathBuf> {
    find_executable("glusterfsd")
}

/// What starting a brick needs.
#[derive(Debug, Clone)]
pub struct BrickLaunch {
    pub volume: String,
    /// The host in the brick's volfile id and file names: the brick's host as recorded.
    pub host: String,
    /// The address the brick listens on: this node's configured address; `None` (every
    /// address) when glusterd2 listens on every address, as GD1 without a bind-address.
    pub bind: Option<std::net::IpAddr>,
    pub path: String,
    pub brick_id: Uuid,
    pub node_id: Uuid,
    pub port: u16,
    /// Where glusterd2 serves GETSPEC (this node's client address).
    pub volfile_server: SocketAddr,
    /// Log local time instead of UTC (`cluster.localtime-logging`).
    pub localtime_logging: bool,
}

/// Why a brick did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("port {0} is taken")]
    PortInUse(u16),
    #[error("{0}")]
    Failed(String),
}

/// The argument vector (GD1 10.3's order), without the binary.
pub fn argv(config: &Config, l: &BrickLaunch) -> Vec<String> {
    let f = files(config, &l.volume, &l.host, &l.path, l.brick_id);
    let mut args = vec![
        "-s".into(),
        l.volfile_server.ip().to_string(),
        "--volfile-server-port".into(),
        l.volfile_server.port().to_string(),
        "--volfile-id".into(),
        volfile_id(&l.volume, &l.host, &l.path),
        "-p".into(),
        f.pidfile.display().to_string(),
        "-S".into(),
        f.socket.display().to_string(),
        "--brick-name".into(),
        l.path.clone(),
        "-l".into(),
        f.logfile.display().to_string(),
        "--xlator-option".into(),
        format!("*-posix.glusterd-uuid={}", l.node_id),
        "--process-name".into(),
        "brick".into(),
        "--brick-port".into(),
        l.port.to_string(),
        "--xlator-option".into(),
        format!("{}-server.listen-port={}", l.volume, l.port),
    ];
    if let Some(bind) = l.bind {
        args.push("--xlator-option".into());
        args.push(format!("transport.socket.bind-address={bind}"));
    }
    if l.localtime_logging {
        args.push("--localtime-logging".into());
    }
    args
}

/// Starts a brick and waits (bounded) until its launcher exits, i.e. until it signed in.
/// Returns its process.
pub async fn start(config: &Config, l: &BrickLaunch) -> Result<Proc, StartError> {
    let f = files(config, &l.volume, &l.host, &l.path, l.brick_id);
    let started = launch(config, l, &f).await;
    if started.is_err() {
        // The daemonized glusterfsd of a failed start may still be alive for a moment (it
        // cleans up after its parent reported the failure): left alone, its pid file would
        // pass it off as a running brick to the next pass.
        reap(&f.pidfile, || running_pid(&f.pidfile, &l.path)).await;
    }
    started
}

/// Kills the process that `running` finds (by `pidfile`), if any, waits until it is gone and
/// removes the file: what a failed start of a daemonizing GlusterFS process leaves behind.
async fn reap(pidfile: &Path, running: impl Fn() -> Option<Proc>) {
    if let Some(p) = running() {
        stop_within(&[p], Duration::ZERO, KILL_WAIT, REAP_WAIT).await;
    }
    let _ = std::fs::remove_file(pidfile);
}

async fn launch(config: &Config, l: &BrickLaunch, f: &BrickFiles) -> Result<Proc, StartError> {
    let bin = glusterfsd().ok_or_else(|| {
        StartError::Failed("glusterfsd is not installed (Debian: glusterfs-server)".into())
    })?;
    for dir in [f.pidfile.parent(), f.logfile.parent()]
        .into_iter()
        .flatten()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StartError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    adopt_daemons();
    let mut child = tokio::process::Command::new(bin)
        .args(argv(config, l))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| StartError::Failed(format!("cannot run glusterfsd: {e}")))?;
    let status = match tokio::time::timeout(START_TIMEOUT, child.wait()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(StartError::Failed(format!("waiting for glusterfsd: {e}"))),
        Err(_) => {
            let _ = child.start_kill();
            return Err(StartError::Failed(format!(
                "brick {} did not sign in within {} s (see {})",
                l.path,
                START_TIMEOUT.as_secs(),
                f.logfile.display()
            )));
        }
    };
    match status.code() {
        Some(0) => running_pid(&f.pidfile, &l.path).ok_or_else(|| {
            StartError::Failed(format!(
                "brick {} started but its pid file {} names no live glusterfsd",
                l.path,
                f.pidfile.display()
            ))
        }),
        Some(EXIT_ADDR_IN_USE) => Err(StartError::PortInUse(l.port)),
        _ => Err(StartError::Failed(format!(
            "glusterfsd for {} exited with {status} (see {})",
            l.path,
            f.logfile.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gd_node::process::stat;

    #[test]
    fn names_follow_gd1() {
        assert_eq!(exp_path("/data/brick1"), "data-brick1");
        assert_eq!(
            volfile_id("vol1", "node1", "/data/brick1"),
            "vol1.node1.data-brick1"
        );
    }

    #[test]
    fn ports_are_in_range_and_skip_taken() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let p = alloc_port(ip, &BTreeSet::new()).unwrap();
        assert!((PORT_MIN..=PORT_MAX).contains(&p));
        // Every port but one the machine has free now (a fixed one may be any connection's
        // ephemeral port at that moment).
        let taken: BTreeSet<u16> = (PORT_MIN..=PORT_MAX).filter(|x| *x != p).collect();
        assert_eq!(alloc_port(ip, &taken), Some(p));
    }

    #[test]
    fn a_pid_file_of_another_process_is_not_a_brick() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("b.pid");
        std::fs::write(&pidfile, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(running_pid(&pidfile, "/data/b1"), None);
        std::fs::write(&pidfile, "garbage").unwrap();
        assert_eq!(running_pid(&pidfile, "/data/b1"), None);
    }

    #[tokio::test]
    async fn a_failed_start_leaves_no_process_that_passes_for_the_brick() {
        // A process whose command line names the brick, as a dying glusterfsd's does.
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("b.pid");
        let mut lingering = std::process::Command::new("sh")
            .args(["-c", "sleep 30; true", "--brick-name", "/data/b1"])
            .spawn()
            .unwrap();
        std::fs::write(&pidfile, format!("{}\n", lingering.id())).unwrap();
        // Until the child has exec'd, its command line is still the test's.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while running_pid(&pidfile, "/data/b1").is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let found = running_pid(&pidfile, "/data/b1").unwrap();
        assert_eq!(found.pid, lingering.id());
        reap(&pidfile, || running_pid(&pidfile, "/data/b1")).await;
        assert!(!pidfile.exists());
        // Killed and reaped (it is this process's child): its pid is free.
        assert_eq!(stat(found.pid), None);
        assert!(lingering.try_wait().is_err(), "already reaped");
    }
}

/// The self-heal daemon of one volume on this node (one `glusterfs` per volume: GD1 10.3
/// multiplexes them into one process, which research/glusterfs-protocol.md §4.2 says a
/// replacement need not do).
#[derive(Debug, Clone)]
pub struct ShdLaunch {
    pub volume: String,
    pub node_id: Uuid,
    pub volfile_server: SocketAddr,
    pub pidfile: PathBuf,
    /// Log local time instead of UTC (`cluster.localtime-logging`).
    pub localtime_logging: bool,
    /// `cluster.daemon-log-level`; INFO (glusterfs's own default) adds nothing to the command.
    pub log_level: String,
}

/// The running self-heal daemon of `volume` named by `pidfile`, if any.
pub fn running_shd(pidfile: &Path, volume: &str) -> Option<Proc> {
    let pid: u32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    let want = format!("shd/{volume}");
    Proc::find(pid, |args| args.contains(&want.as_bytes()))
}

/// Starts a self-heal daemon (GD1 10.3's command line) and waits (bounded) for its launcher.
/// A failed start leaves no process behind (see [`start`]).
pub async fn start_shd(config: &Config, l: &ShdLaunch) -> Result<Proc, String> {
    let started = launch_shd(config, l).await;
    if started.is_err() {
        reap(&l.pidfile, || running_shd(&l.pidfile, &l.volume)).await;
    }
    started
}

/// The control socket (`-S`) of `volume`'s self-heal daemon on this node. Unix socket paths are
/// short (107 bytes): it is named by a hash of the volume name, one that stays the same from
/// one glusterd2 build to the next (SHA-256), so a daemon left running by an earlier glusterd2
/// is still reached.
pub fn shd_socket(config: &Config, volume: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(volume.as_bytes());
    config
        .rundir
        .join(format!("shd-{}.socket", hex::encode(&hash[..8])))
}

async fn launch_shd(config: &Config, l: &ShdLaunch) -> Result<Proc, String> {
    let bin = find_executable("glusterfs")
        .ok_or("glusterfs is not installed (Debian: glusterfs-client)")?;
    let socket = shd_socket(config, &l.volume);
    let log = config.logdir.join("glustershd.log");
    if let Some(dir) = l.pidfile.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut args: Vec<String> = vec![
        "-s".into(),
        l.volfile_server.ip().to_string(),
        "--volfile-server-port".into(),
        l.volfile_server.port().to_string(),
        "--volfile-id".into(),
        format!("shd/{}", l.volume),
        "-p".into(),
        l.pidfile.display().to_string(),
        "-l".into(),
        log.display().to_string(),
        "-S".into(),
        socket.display().to_string(),
        "--xlator-option".into(),
        format!("*replicate*.node-uuid={}", l.node_id),
        "--process-name".into(),
        "glustershd".into(),
        "--client-pid=-6".into(),
    ];
    if l.localtime_logging {
        args.push("--localtime-logging".into());
    }
    if l.log_level != "INFO" {
        args.push(format!("--log-level={}", l.log_level));
    }
    let label = format!("the self-heal daemon of {}", l.volume);
    let launch = DaemonLaunch {
        bin: &bin,
        args: &args,
        label: &label,
        log: &log,
        launch_timeout: START_TIMEOUT,
        pidfile_wait: Duration::from_secs(10),
    };
    launch_daemon(&launch, || running_shd(&l.pidfile, &l.volume)).await
}
