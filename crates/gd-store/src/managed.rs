//! Runs one etcd member as a child process.
//!
//! In "managed" store mode glusterd2 starts and supervises the local etcd member itself
//! (DESIGN §3.1), and the conformance and end-to-end tests start real etcd members the same
//! way. [`EtcdProcess::start`] launches the binary with an explicit argument list (never via
//! a shell), in its own process group so a terminal's Ctrl-C reaches glusterd2 and not etcd
//! directly, with its output appended to a log file, and returns only once the member answers
//! (and, by default, has a leader) — or fails within a bound with an error that quotes the
//! end of etcd's log, which is where the real reason is. Dropping an [`EtcdProcess`] kills
//! the member; [`EtcdProcess::stop`] stops it cleanly.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use etcd_client as ec;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::{StoreError, StoreResult};

/// How often a managed member lets a client ping it (etcd's `--grpc-keepalive-min-time`; its
/// default, 5 s, would make a client that pings more often a hostile one and drop it): what
/// lets glusterd2 give up on a connection to a member cut off within seconds
/// ([`crate::etcd::EtcdOptions::managed`]).
pub const PING_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// How much of the log's end an error quotes.
const LOG_TAIL_BYTES: u64 = 4096;
const LOG_TAIL_LINES: usize = 20;
/// How long `stop` waits after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Bound on one health probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const PROBE_PAUSE: Duration = Duration::from_millis(100);

/// Whether the member bootstraps a new cluster or joins an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterState {
    /// Bootstrap a new cluster from `initial_cluster`.
    New,
    /// Join a cluster that already exists (the member was added with member-add first).
    Existing,
}

impl ClusterState {
    fn as_arg(self) -> &'static str {
        match self {
            ClusterState::New => "new",
            ClusterState::Existing => "existing",
        }
    }
}

/// How to run one etcd member.
///
/// If `data_dir` already holds a member (`<data_dir>/member`), etcd restarts it from its own
/// data and ignores the `initial_*` settings.
#[derive(Debug, Clone)]
pub struct EtcdMemberConfig {
    /// The etcd binary: a path, or a name looked up on `PATH` (default `etcd`).
    pub binary: PathBuf,
    /// The member name, unique in its cluster.
    pub name: String,
    /// The member's data directory (etcd creates it, mode 0700).
    pub data_dir: PathBuf,
    /// The URL clients use, e.g. `http://127.0.0.2:2379` (advertised).
    pub client_url: String,
    /// The URL peers use, e.g. `http://127.0.0.2:2380` (advertised).
    pub peer_url: String,
    /// Where etcd listens for clients (default: `client_url`); e.g. `http://0.0.0.0:2379` on a
    /// host whose peers reach it at an address learned later.
    pub listen_client_url: String,
    /// Where etcd listens for peers (default: `peer_url`).
    pub listen_peer_url: String,
    /// Where etcd's output is appended (default: `<data_dir>.log`, beside the data dir).
    pub log_file: PathBuf,
    /// `name=peer_url,...` of the members to bootstrap with; `None` = this member alone.
    pub initial_cluster: Option<String>,
    /// New cluster (default) or joining an existing one.
    pub initial_cluster_state: ClusterState,
    /// The bootstrap token, the same on every member of a cluster (default: the name).
    pub initial_cluster_token: String,
    /// Bound on start-up, until the member answers (default 20 s).
    pub start_timeout: Duration,
    /// Whether start-up also waits for the cluster to have a leader (default true). A member
    /// restarting alone in a cluster that lost quorum has none until its peers return.
    pub wait_for_leader: bool,
    /// Whether start-up waits for the member to answer clients at all (default true). A member
    /// of a multi-member cluster serves clients only once a quorum of its peers is up, which
    /// after a whole-cluster power-off may be long after this start: then only a short check
    /// that the process did not exit at once is done.
    pub wait_for_answer: bool,
    /// More command-line arguments, appended last (e.g. `--heartbeat-interval=50`).
    pub extra_args: Vec<String>,
}

impl EtcdMemberConfig {
    /// A single-member configuration with the defaults described on each field.
    pub fn new(
        name: impl Into<String>,
        data_dir: impl Into<PathBuf>,
        client_url: impl Into<String>,
        peer_url: impl Into<String>,
    ) -> Self {
        let name = name.into();
        let data_dir = data_dir.into();
        let client_url = client_url.into();
        let peer_url = peer_url.into();
        let mut log_file = data_dir.clone().into_os_string();
        log_file.push(".log");
        Self {
            binary: PathBuf::from("etcd"),
            initial_cluster_token: name.clone(),
            name,
            data_dir,
            listen_client_url: client_url.clone(),
            listen_peer_url: peer_url.clone(),
            client_url,
            peer_url,
            log_file: PathBuf::from(log_file),
            initial_cluster: None,
            initial_cluster_state: ClusterState::New,
            start_timeout: Duration::from_secs(20),
            wait_for_leader: true,
            wait_for_answer: true,
            extra_args: Vec::new(),
        }
    }

    /// The command-line arguments etcd is started with.
    pub fn args(&self) -> Vec<OsString> {
        let initial_cluster = self
            .initial_cluster
            .clone()
            .unwrap_or_else(|| format!("{}={}", self.name, self.peer_url));
        let mut args: Vec<OsString> = vec![
            "--name".into(),
            self.name.clone().into(),
            "--data-dir".into(),
        ];
        args.push(self.data_dir.clone().into_os_string());
        for (flag, value) in [
            ("--listen-client-urls", self.listen_client_url.as_str()),
            ("--advertise-client-urls", &self.client_url),
            ("--listen-peer-urls", &self.listen_peer_url),
            ("--initial-advertise-peer-urls", &self.peer_url),
            ("--initial-cluster", &initial_cluster),
            (
                "--initial-cluster-state",
                self.initial_cluster_state.as_arg(),
            ),
            ("--initial-cluster-token", &self.initial_cluster_token),
        ] {
            args.push(flag.into());
            args.push(value.into());
        }
        for flag in ["--enable-v2=false", "--logger=zap", "--log-outputs=stderr"] {
            args.push(flag.into());
        }
        args.push(
            format!(
                "--grpc-keepalive-min-time={}ms",
                PING_MIN_INTERVAL.as_millis()
            )
            .into(),
        );
        args.extend(self.extra_args.iter().map(OsString::from));
        args
    }

    fn check(&self) -> StoreResult<()> {
        let invalid = |reason: String| Err(StoreError::Invalid { reason });
        if self.name.is_empty() || self.name.contains([',', '=', ' ']) {
            return invalid(format!(
                "etcd member name {:?} must be non-empty, without ',', '=' or spaces",
                self.name
            ));
        }
        for (what, url) in [("client", &self.client_url), ("peer", &self.peer_url)] {
            if !url.starts_with("http://") || url.len() <= "http://".len() {
                return invalid(format!("etcd {what} URL {url:?} must be http://host:port"));
            }
        }
        Ok(())
    }
}

/// Finds `binary`: used as is when it contains a `/`, else looked up on `PATH`. Returns an
/// executable regular file, or `None`.
pub fn find_binary(binary: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if binary.components().count() > 1 || binary.is_absolute() {
        return executable(binary).then(|| binary.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(binary))
        .find(|p| executable(p))
}

/// etcd 3.4 refuses to run on architectures it does not officially support unless told to.
fn unsupported_arch() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => None,
        "aarch64" => Some("arm64"),
        "powerpc64" => Some("ppc64le"),
        "x86" => Some("386"),
        other => Some(other),
    }
}

/// The last lines of `path`, for error messages.
fn log_tail(path: &Path) -> String {
    let read = || -> std::io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        let text = String::from_utf8_lossy(&buf);
        let lines: Vec<&str> = text.lines().collect();
        Ok(lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n"))
    };
    match read() {
        Ok(tail) if tail.trim().is_empty() => format!("({} is empty)", path.display()),
        Ok(tail) => tail,
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// One probe: does the member answer, and (if asked) does its cluster have a leader?
/// How long a member started without waiting for an answer is watched for an early exit (a
/// port in use, a damaged data directory).
const EARLY_EXIT_WATCH: Duration = Duration::from_secs(1);

async fn probe(client_url: &str, want_leader: bool) -> Result<(), String> {
    let opts = ec::ConnectOptions::new().with_connect_timeout(PROBE_TIMEOUT);
    let check = async {
        let mut client = ec::Client::connect([client_url], Some(opts))
            .await
            .map_err(|e| e.to_string())?;
        let status = client.status().await.map_err(|e| e.to_string())?;
        if want_leader && status.leader() == 0 {
            return Err("the member answers but its cluster has no leader yet".to_owned());
        }
        Ok(())
    };
    tokio::time::timeout(PROBE_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())))
}

/// A running etcd member (see the module docs). Dropping it kills the process.
#[derive(Debug)]
pub struct EtcdProcess {
    child: Child,
    pid: u32,
    cfg: EtcdMemberConfig,
}

impl EtcdProcess {
    /// Starts the member and waits until it answers (see [`EtcdMemberConfig`]). On failure the
    /// process is killed and the error quotes the end of its log.
    pub async fn start(cfg: EtcdMemberConfig) -> StoreResult<EtcdProcess> {
        cfg.check()?;
        let binary = find_binary(&cfg.binary).ok_or_else(|| StoreError::Unavailable {
            reason: format!(
                "etcd binary {:?} not found (not an executable file, nor on PATH); install etcd \
                 (Debian: etcd-server) or configure its path",
                cfg.binary
            ),
        })?;
        let local = |what: &str, e: std::io::Error| {
            StoreError::Local(format!("etcd member {}: {what}: {e}", cfg.name))
        };
        if let Some(dir) = cfg.log_file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| local(&format!("create log directory {}", dir.display()), e))?;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.log_file)
            .map_err(|e| local(&format!("open log file {}", cfg.log_file.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| local("duplicate log file handle", e))?;
        let restarting = cfg.data_dir.join("member").is_dir();

        let mut cmd = Command::new(&binary);
        cmd.args(cfg.args())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .process_group(0);
        if let Some(arch) = unsupported_arch() {
            cmd.env("ETCD_UNSUPPORTED_ARCH", arch);
        }
        // The member must not outlive a glusterd2 that is killed (kill -9, OOM): an orphaned
        // member would keep the data directory and ports of the next start. The kernel sends
        // SIGKILL to the child when the thread that spawned it exits; we spawn from a tokio
        // worker thread (never from spawn_blocking), which lives as long as the runtime.
        // SIGKILL, not SIGTERM: a member without quorum can hang in its graceful shutdown,
        // and etcd's write-ahead log is made to survive a kill.
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| local(&format!("cannot run {}", binary.display()), e))?;
        let pid = child.id().unwrap_or(0);
        tracing::info!(
            member = %cfg.name, pid, client_url = %cfg.client_url, restarting,
            log = %cfg.log_file.display(), "started etcd"
        );
        let mut member = EtcdProcess { child, pid, cfg };
        if let Err(reason) = member.wait_ready().await {
            // Kill it before reading the log, so the tail is final.
            let _ = member.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), member.child.wait()).await;
            return Err(StoreError::Unavailable {
                reason: format!(
                    "{reason}; last lines of {}:\n{}",
                    member.cfg.log_file.display(),
                    log_tail(&member.cfg.log_file)
                ),
            });
        }
        Ok(member)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = if self.cfg.wait_for_answer {
            Instant::now() + self.cfg.start_timeout
        } else {
            Instant::now() + EARLY_EXIT_WATCH
        };
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(format!(
                        "etcd member {} exited during start-up ({status})",
                        self.cfg.name
                    ));
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(format!(
                        "etcd member {}: cannot check on it: {e}",
                        self.cfg.name
                    ));
                }
            }
            if !self.cfg.wait_for_answer {
                if Instant::now() >= deadline {
                    return Ok(());
                }
                tokio::time::sleep(PROBE_PAUSE).await;
                continue;
            }
            let last = match probe(&self.cfg.client_url, self.cfg.wait_for_leader).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() + PROBE_PAUSE >= deadline {
                return Err(format!(
                    "etcd member {} did not become ready at {} within {} s (last probe: {last})",
                    self.cfg.name,
                    self.cfg.client_url,
                    self.cfg.start_timeout.as_secs_f32()
                ));
            }
            tokio::time::sleep(PROBE_PAUSE).await;
        }
    }

    /// The URL clients reach this member at.
    pub fn client_url(&self) -> &str {
        &self.cfg.client_url
    }

    /// The member's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &EtcdMemberConfig {
        &self.cfg
    }

    /// The last lines of the member's log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.cfg.log_file)
    }

    /// The exit status if the process has ended, without waiting.
    pub fn try_exit_status(&mut self) -> StoreResult<Option<ExitStatus>> {
        self.child
            .try_wait()
            .map_err(|e| StoreError::Local(format!("etcd member {}: {e}", self.cfg.name)))
    }

    /// Stops the member cleanly: SIGTERM, then SIGKILL if it has not exited within 10 s.
    pub async fn stop(mut self) -> StoreResult<()> {
        if self.try_exit_status()?.is_some() {
            return Ok(());
        }
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM);
        }
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Local(format!(
                "etcd member {}: wait: {e}",
                self.cfg.name
            ))),
            Err(_) => {
                tracing::warn!(member = %self.cfg.name, pid = self.pid, "etcd ignored SIGTERM for 10 s; killing it");
                self.kill().await
            }
        }
    }

    /// Kills the member at once (SIGKILL), as a crash would, and reaps it.
    pub async fn kill(mut self) -> StoreResult<()> {
        self.child
            .kill()
            .await
            .map_err(|e| StoreError::Local(format!("etcd member {}: kill: {e}", self.cfg.name)))
    }
}
