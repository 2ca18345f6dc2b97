//! Processes glusterd2 starts and stops: known by pid and start time, stopped and waited for.
//!
//! Why apart from the bricks: every kind of process the reconciler runs (bricks, self-heal
//! daemons, and the next ones) is stopped the same way, and the generic reconciler needs this
//! without knowing what a brick is.
//!
//! Stopping returns when the processes are gone (DESIGN §3.18): SIGTERM, then SIGKILL after
//! [`STOP_GRACE`]; a process counts as gone when its pid is free again. GlusterFS daemons fork
//! away from their launcher, so they would become init's children, reaped whenever init gets
//! to it: glusterd2 makes itself their subreaper ([`adopt_daemons`]) and reaps them the moment
//! they exit. A process is known by its pid and start time ([`Proc`]), so a pid the kernel
//! gives to another process is never signalled or waited for in its place.

use std::time::Duration;

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
pub fn stat(pid: u32) -> Option<(char, u64)> {
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

    /// Sends `sig` to the process if it is still the one seen (not a later process the kernel
    /// gave its pid); whether it was sent.
    pub fn signal(&self, sig: nix::sys::signal::Signal) -> bool {
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

/// A GlusterFS daemon to launch (a self-heal daemon, a rebalance process): its launcher forks
/// the daemon away and exits once the daemon serves, and the daemon writes its pid file.
pub struct DaemonLaunch<'a> {
    pub bin: &'a std::path::Path,
    pub args: &'a [String],
    /// How messages name it ("the self-heal daemon of gv0").
    pub label: &'a str,
    /// Its log, which messages point to.
    pub log: &'a std::path::Path,
    /// How long the launcher may take to hand over.
    pub launch_timeout: Duration,
    /// How long the daemon may then take to write its pid file.
    pub pidfile_wait: Duration,
}

/// Launches `l` and waits (bounded) until `running` finds the daemon by its pid file. On an
/// error the daemon may linger: the caller stops what `running` finds.
pub async fn launch_daemon(
    l: &DaemonLaunch<'_>,
    running: impl Fn() -> Option<Proc>,
) -> Result<Proc, String> {
    use std::process::Stdio;
    adopt_daemons();
    let mut child = tokio::process::Command::new(l.bin)
        .args(l.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(false)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", l.bin.display()))?;
    match tokio::time::timeout(l.launch_timeout, child.wait()).await {
        Ok(Ok(s)) if s.success() => {}
        Ok(Ok(s)) => {
            return Err(format!(
                "{} exited with {s} (see {})",
                l.label,
                l.log.display()
            ));
        }
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => {
            let _ = child.start_kill();
            return Err(format!(
                "{} did not start within {} s",
                l.label,
                l.launch_timeout.as_secs()
            ));
        }
    }
    // The daemon writes its pid file once it has its volfile.
    let deadline = tokio::time::Instant::now() + l.pidfile_wait;
    loop {
        if let Some(p) = running() {
            return Ok(p);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "{} wrote no pid file (see {})",
                l.label,
                l.log.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

pub async fn stop_within(
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Starts `script` under `sh` with `marker` as its `$0`, and returns it once it runs.
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
