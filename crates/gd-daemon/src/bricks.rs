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
//! Stopping returns when the processes are gone (DESIGN §3.18): a user stops a volume to
//! unmount a brick's file system, to delete the volume or to take the node down, and relies
//! on nothing of it running any more. SIGTERM, then SIGKILL after [`STOP_GRACE`]; a process
//! counts as gone when its pid is free again. GlusterFS daemons fork away from their launcher,
//! so they would become init's children, reaped whenever init gets to it (seconds later on
//! some machines): glusterd2 makes itself their subreaper ([`adopt_daemons`]) and reaps them
//! the moment they exit. A process is known by its pid and start time ([`Proc`]), so a pid
//! the kernel gives to another process is never signalled or waited for in its place.

use std::{
    collections::BTreeSet,
    net::{IpAddr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use uuid::Uuid;

use crate::config::Config;

/// GD1's brick port range (`base-port` .. Debian's `max-port`).
pub const PORT_MIN: u16 = 49152;
pub const PORT_MAX: u16 = 60999;
/// How long a brick may take to fetch its volfile, bind and sign in.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to exit after SIGTERM before it is killed (SIGKILL). Bricks
/// and self-heal daemons exit within a second (they sign out and flush their logs); one that
/// takes longer is hung.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a killed process may take to exit: one that outlives it is stuck in the kernel (an
/// uninterruptible wait on a hung disk or mount), and the stop fails.
pub const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long the parent of an exited process that is not glusterd2's child (a process an
/// earlier glusterd2 started belongs to init) may take to reap it. Beyond it the process
/// counts as gone all the same: it has exited and holds nothing but its pid.
pub const REAP_WAIT: Duration = Duration::from_secs(5);
/// How often a stop looks at the processes it waits for.
const STOP_POLL: Duration = Duration::from_millis(20);
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

// ---- processes: identity, stopping, reaping ----

/// A process as it was seen: its pid and its start time (clock ticks after boot, field 22 of
/// `/proc/<pid>/stat`), which tells it from a later process the kernel gives the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Proc {
    pub pid: u32,
    start: u64,
}

/// Where a [`Proc`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Running,
    /// Exited, not reaped yet by its parent (a zombie).
    Exited,
    /// Its pid is free, or belongs to another process.
    Gone,
}

/// The state letter and start time of `pid`, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything, ") " included.
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3; the start time is field 22.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

impl Proc {
    /// The live process `pid` if `is_ours` accepts its arguments (a zombie has none).
    pub fn find(pid: u32, is_ours: impl Fn(&[&[u8]]) -> bool) -> Option<Proc> {
        if pid <= 1 {
            return None;
        }
        let (state, start) = stat(pid)?;
        if matches!(state, 'Z' | 'X') {
            return None;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if !is_ours(&args) {
            return None;
        }
        // Still the process whose arguments were read, not one that took its pid meanwhile.
        (stat(pid)?.1 == start).then_some(Proc { pid, start })
    }

    fn life(&self) -> Life {
        match stat(self.pid) {
            Some((_, start)) if start != self.start => Life::Gone,
            Some(('Z' | 'X', _)) => Life::Exited,
            Some(_) => Life::Running,
            None => Life::Gone,
        }
    }

    /// Whether the process still runs (it has not exited).
    pub fn is_running(&self) -> bool {
        self.life() == Life::Running
    }

    /// Reaps the process if it has exited and is glusterd2's child (see [`adopt_daemons`]);
    /// another parent's child is left to that parent. Only an exited process with the start
    /// time seen is waited for, so no other child's exit status is ever taken.
    pub fn reap(&self) {
        if self.life() == Life::Exited {
            let _ = nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(self.pid as i32),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
    }

    fn signal(&self, sig: nix::sys::signal::Signal) -> bool {
        self.is_running()
            && nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid as i32), sig).is_ok()
    }
}

/// Makes glusterd2 the subreaper of the processes it starts. A brick or self-heal daemon
/// forks away from its launcher, which exits once the daemon serves; the daemon then becomes
/// the child of its nearest subreaper ancestor, else of init. As their subreaper, glusterd2
/// reaps them itself the moment they exit ([`Proc::reap`]), so a stop can confirm that their
/// pids are free. The first call sets it; every start calls it.
pub fn adopt_daemons() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!(error = %e, "cannot become the subreaper of the GlusterFS processes; their exit is confirmed once init reaps them");
        }
    });
}

/// What stopping processes came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Still running [`STOP_GRACE`] after SIGTERM, and killed (SIGKILL).
    pub killed: Vec<Proc>,
    /// Still running [`KILL_WAIT`] after SIGKILL: not stopped.
    pub stuck: Vec<Proc>,
    /// Exited, but their parent (not glusterd2) had not reaped them within [`REAP_WAIT`].
    pub unreaped: Vec<Proc>,
}

/// Stops `procs` together: SIGTERM, SIGKILL to those still running after [`STOP_GRACE`];
/// returns when every one is gone, or what could not be confirmed (bounded by
/// [`STOP_GRACE`] + [`KILL_WAIT`] + [`REAP_WAIT`]).
pub async fn stop_all(procs: &[Proc]) -> Stopped {
    stop_within(procs, STOP_GRACE, KILL_WAIT, REAP_WAIT).await
}

async fn stop_within(
    procs: &[Proc],
    grace: Duration,
    kill_wait: Duration,
    reap_wait: Duration,
) -> Stopped {
    use nix::sys::signal::Signal;
    for p in procs {
        p.signal(Signal::SIGTERM);
    }
    let mut out = Stopped::default();
    let left = wait_while(procs, grace, Proc::is_running).await;
    out.killed = left
        .into_iter()
        .filter(|p| p.signal(Signal::SIGKILL))
        .collect();
    out.stuck = wait_while(&out.killed, kill_wait, Proc::is_running).await;
    let exited: Vec<Proc> = procs
        .iter()
        .filter(|p| !out.stuck.contains(p))
        .copied()
        .collect();
    out.unreaped = wait_while(&exited, reap_wait, |p| p.life() != Life::Gone).await;
    out
}

/// Waits (at most `bound`) until `pending` holds for none of `procs`, reaping the exited ones
/// as it goes; returns those it still holds for.
async fn wait_while(procs: &[Proc], bound: Duration, pending: impl Fn(&Proc) -> bool) -> Vec<Proc> {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        for p in procs {
            p.reap();
        }
        let left: Vec<Proc> = procs.iter().filter(|p| pending(p)).copied().collect();
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(STOP_POLL).await;
    }
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
        let taken: BTreeSet<u16> = (PORT_MIN..=PORT_MAX).filter(|x| *x != 50000).collect();
        assert_eq!(alloc_port(ip, &taken), Some(50000));
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

    /// Starts `script` under `sh` with `marker` as its `$0`, and returns it once it runs.
    /// Whether process `pid` ignores SIGTERM (bit 15 of `SigIgn` in `/proc/<pid>/status`).
    fn ignores_term(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                let mask = s.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
                u64::from_str_radix(mask.trim(), 16).ok()
            })
            .is_some_and(|m| m & (1 << (15 - 1)) != 0)
    }

    // The tests reap the child through `Proc::reap` (a stop), or wait for it themselves.
    #[allow(clippy::zombie_processes)]
    fn spawn_marked(script: &str, marker: &str) -> (std::process::Child, Proc) {
        let mut child = std::process::Command::new("sh")
            .args(["-c", script, marker])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(p) = Proc::find(child.id(), |args| args.contains(&marker.as_bytes())) {
                return (child, p);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{marker} did not start");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[tokio::test]
    async fn stopping_terms_kills_what_ignores_it_and_frees_the_pids() {
        let (_polite, polite) = spawn_marked("sleep 30; true", "gd2-test-polite");
        let (_deaf, deaf) = spawn_marked("trap '' TERM; sleep 3; true", "gd2-test-deaf");
        // The shell runs before it has ignored SIGTERM: wait for its trap.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !ignores_term(deaf.pid) {
            assert!(std::time::Instant::now() < deadline, "the trap never took");
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = std::time::Instant::now();
        let out = stop_within(
            &[polite, deaf],
            Duration::from_millis(300),
            Duration::from_secs(5),
            Duration::from_secs(1),
        )
        .await;
        assert_eq!(
            out,
            Stopped {
                killed: vec![deaf],
                stuck: vec![],
                unreaped: vec![],
            }
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        // Both were this process's children: reaped, their pids free.
        assert_eq!((stat(polite.pid), stat(deaf.pid)), (None, None));
    }

    #[tokio::test]
    async fn a_pid_taken_by_another_process_is_left_alone() {
        let (mut child, p) = spawn_marked("sleep 30; true", "gd2-test-other");
        // The process that had this pid before (another start time) is gone.
        let before = Proc {
            pid: p.pid,
            start: p.start.saturating_sub(1),
        };
        assert!(!before.is_running());
        let out = stop_within(
            &[before],
            Duration::from_millis(100),
            Duration::from_millis(100),
            Duration::from_millis(100),
        )
        .await;
        assert_eq!(out, Stopped::default());
        assert!(
            p.is_running(),
            "the process now under the pid was not signalled"
        );
        child.kill().unwrap();
        child.wait().unwrap();
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

async fn launch_shd(config: &Config, l: &ShdLaunch) -> Result<Proc, String> {
    let bin = find_executable("glusterfs")
        .ok_or("glusterfs is not installed (Debian: glusterfs-client)")?;
    // Unix socket paths are short (107 bytes): name it by a hash of the volume name.
    let hash = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        l.volume.hash(&mut h);
        h.finish()
    };
    let socket = config.rundir.join(format!("shd-{hash:016x}.socket"));
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
    adopt_daemons();
    let mut child = tokio::process::Command::new(bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| format!("cannot run glusterfs: {e}"))?;
    match tokio::time::timeout(START_TIMEOUT, child.wait()).await {
        Ok(Ok(s)) if s.success() => {}
        Ok(Ok(s)) => {
            return Err(format!(
                "the self-heal daemon of {} exited with {s} (see {})",
                l.volume,
                log.display()
            ));
        }
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => {
            let _ = child.start_kill();
            return Err(format!(
                "the self-heal daemon of {} did not start within {} s",
                l.volume,
                START_TIMEOUT.as_secs()
            ));
        }
    }
    // The daemon writes its pid file once it has its volfile; wait for it (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = running_shd(&l.pidfile, &l.volume) {
            return Ok(pid);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the self-heal daemon of {} wrote no pid file (see {})",
                l.volume,
                log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
