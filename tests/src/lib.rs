//! The test harness: real `glusterd2`, `glustercli` and etcd processes on loopback.
//!
//! Each test takes its own loopback address (127.0.x.y) and its own temporary directories, so
//! tests run in parallel without colliding. Every process a test starts is killed when its
//! handle drops, so a failing test leaves nothing running behind it. Waits are bounded.
//!
//! The binaries are the workspace's own build (`cargo build --workspace --bins`, which the
//! test script runs first); a missing binary fails the test with that instruction.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

pub mod etcd_cluster;
pub mod hosts;
pub mod netns;
pub mod rpc;
pub use rpc::Rpc;

use anyhow::{Context, bail};
use serde_json::json;
use tempfile::TempDir;

/// The directory holding the workspace's binaries (`target/<profile>/`).
pub fn bin_dir() -> PathBuf {
    // Test executables live in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_owned()
}

/// The path of a workspace binary, or a failure that says how to build it.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        p.display()
    );
    p
}

/// A TCP port that is free on `ip` right now.
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .expect("bind port 0")
        .local_addr()
        .expect("local addr")
        .port()
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The directories of one node; kept across restarts of the node. Removed when dropped,
/// unless `GD2_TEST_KEEP` is set (to read the logs of a failed test).
pub struct NodeDirs {
    _tmp: Option<TempDir>,
    pub state: PathBuf,
    pub run: PathBuf,
    pub log: PathBuf,
    /// Environment variables of the node's glusterd2 (a faster clock for the crash matrix).
    pub env: Vec<(String, String)>,
}

impl NodeDirs {
    pub fn new() -> NodeDirs {
        let tmp = tempfile::Builder::new()
            .prefix("gd2-test-")
            .tempdir()
            .expect("tempdir");
        let state = tmp.path().join("state");
        let run = tmp.path().join("run");
        let log = tmp.path().join("log");
        let keep = std::env::var_os("GD2_TEST_KEEP").is_some();
        let tmp = if keep {
            eprintln!("keeping {}", tmp.keep().display());
            None
        } else {
            Some(tmp)
        };
        NodeDirs {
            state,
            run,
            log,
            env: vec![],
            _tmp: tmp,
        }
    }

    pub fn secret_file(&self) -> PathBuf {
        self.state.join("auth")
    }

    /// The node's failpoint file (`GD2_FAILPOINTS`, see `gd_core::failpoint`): lines
    /// `<point> <action>`, read at every point, so a test arms a running node.
    pub fn failpoints(&self) -> PathBuf {
        self.state
            .parent()
            .expect("state dir has a parent")
            .join("failpoints")
    }
}

impl Default for NodeDirs {
    fn default() -> Self {
        Self::new()
    }
}

/// A running `glusterd2`. Killed (SIGKILL) when dropped unless stopped first.
pub struct Daemon {
    child: Option<std::process::Child>,
    pub ip: String,
    pub port: u16,
    pub log_file: PathBuf,
}

/// Starts `glusterd2` on `ip:24007` with `dirs` and the extra `args`, waits until `/ping`
/// answers (at most 30 s), and returns it. The daemon logs to `<log>/glusterd2.log`.
pub fn start_daemon(dirs: &NodeDirs, ip: &str, args: &[&str]) -> anyhow::Result<Daemon> {
    let port = 24007;
    let mut d = spawn_daemon(dirs, ip, port, args)?;
    let url = format!("http://{ip}:{port}/ping");
    let started = wait_for("glusterd2 to answer /ping", Duration::from_secs(30), || {
        if let Some(status) = d.try_exit() {
            return Some(Err(status));
        }
        http_status(&url).filter(|s| *s == 200).map(|_| Ok(()))
    })
    .and_then(|r| r.map_err(|status| anyhow::anyhow!("glusterd2 exited with {status}")));
    if let Err(e) = started {
        let log = std::fs::read_to_string(&d.log_file).unwrap_or_default();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" ERROR ") || l.contains(" WARN "))
            .collect();
        bail!(
            "{e}\n--- stderr ---\n{}\n--- warnings and errors ---\n{}\n--- glusterd2 log ---\n{}",
            tail(&read(&d.log_file.with_file_name("stderr.log")), 20),
            tail(&errors.join("\n"), 20),
            tail(&log, 15)
        );
    }
    Ok(d)
}

/// `cmd` (glusterd2, or a wrapper that runs it) given node `dirs`' directories, a debug log at
/// `<log>/glusterd2.log` and stderr appended to `<log>/stderr.log`.
pub fn glusterd2_command(mut cmd: Command, dirs: &NodeDirs) -> anyhow::Result<Command> {
    std::fs::create_dir_all(&dirs.log)?;
    let stderr_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dirs.log.join("stderr.log"))?;
    cmd.arg("--localstatedir")
        .arg(&dirs.state)
        .arg("--rundir")
        .arg(&dirs.run)
        .arg("--logdir")
        .arg(&dirs.log)
        .args(["--logfile", "glusterd2.log", "--loglevel", "debug"])
        .env_remove("RUST_LOG")
        .env("GD2_FAILPOINTS", dirs.failpoints())
        .envs(dirs.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr_file));
    Ok(cmd)
}

/// Starts `glusterd2` without waiting for it.
pub fn spawn_daemon(dirs: &NodeDirs, ip: &str, port: u16, args: &[&str]) -> anyhow::Result<Daemon> {
    let log_file = dirs.log.join("glusterd2.log");
    let mut cmd = glusterd2_command(Command::new(bin("glusterd2")), dirs)?;
    cmd.arg("--clientaddress")
        .arg(format!("{ip}:{port}"))
        .args(args);
    let child = cmd.spawn().context("spawn glusterd2")?;
    Ok(Daemon {
        child: Some(child),
        ip: ip.to_owned(),
        port,
        log_file,
    })
}

impl Daemon {
    /// A handle on a node's `glusterd2` that runs on `ip:24007`, for addressing it only (it
    /// neither owns nor stops the process).
    pub fn attach(ip: &str) -> Daemon {
        Daemon {
            child: None,
            ip: ip.to_owned(),
            port: 24007,
            log_file: PathBuf::new(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.ip, self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// The exit status if the process has exited.
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, then waits (at most 20 s) for a clean exit; returns the exit status.
    pub fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let mut child = self.child.take().context("already stopped")?;
        signal(child.id(), nix::sys::signal::Signal::SIGTERM);
        let status = wait_for(
            "glusterd2 to exit after SIGTERM",
            Duration::from_secs(20),
            || child.try_wait().ok().flatten(),
        );
        if status.is_err() {
            let _ = child.kill();
            let _ = child.wait();
        }
        status
    }

    /// SIGKILL: a crash, with no cleanup.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the process to exit on its own (at most `timeout`); returns status and stderr.
    pub fn wait_exit(
        mut self,
        timeout: Duration,
    ) -> anyhow::Result<(std::process::ExitStatus, String)> {
        let mut child = self.child.take().context("already stopped")?;
        let status = wait_for("glusterd2 to exit", timeout, || {
            child.try_wait().ok().flatten()
        })?;
        Ok((status, read(&self.log_file.with_file_name("stderr.log"))))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends `sig` to process `pid` (a process gone already is no error).
pub fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
}

pub fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// The HTTP status of a GET, or `None` when nothing answers.
pub fn http_status(url: &str) -> Option<u16> {
    blocking_client()
        .get(url)
        .send()
        .ok()
        .map(|r| r.status().as_u16())
}

/// A plain HTTP client with short timeouts.
pub fn blocking_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// Runs `glustercli` with `args`; never waits more than 60 s.
pub fn cli(args: &[&str]) -> Output {
    cli_with_env(args, &[])
}

/// Runs `glustercli` with `args` and the environment variables `env` set.
pub fn cli_with_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(bin("glustercli"));
    cmd.args(args)
        .env_remove("GD2_ENDPOINTS")
        .env_remove("GD2_AUTH_SECRET")
        .env_remove("GD2_STATE_DIR")
        .envs(env.iter().map(|(k, v)| (*k, *v)));
    run_bounded(cmd, Duration::from_secs(60))
}

/// Runs `cmd` to completion with its output captured, reading it while it runs (a full pipe
/// would block it), and kills it past `bound`.
pub fn run_bounded(mut cmd: Command, bound: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output().expect("output"));
    });
    match rx.recv_timeout(bound) {
        Ok(out) => out,
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            rx.recv().expect("output after kill")
        }
    }
}

/// Node `d`'s join token, as a user reads it: `glustercli peer token` on that node.
pub fn join_token(dirs: &NodeDirs, d: &Daemon) -> String {
    let out = cli_on(d, dirs, &["peer", "token"]);
    assert!(out.status.success(), "peer token: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

/// `glustercli` against a node, with its secret file.
pub fn cli_on(d: &Daemon, dirs: &NodeDirs, args: &[&str]) -> Output {
    let endpoint = d.url();
    let secret = dirs.secret_file();
    let mut all = vec![
        "--endpoints",
        endpoint.as_str(),
        "--secret-file",
        secret.to_str().expect("utf-8 path"),
    ];
    all.extend_from_slice(args);
    cli(&all)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The standard output of a command that must have succeeded (else the test fails with
/// `what` and both outputs).
pub fn succeeded(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// A real etcd for a test, on `ip` with free ports, data in a temporary directory.
pub struct TestEtcd {
    pub process: Option<gd_store::managed::EtcdProcess>,
    pub client_url: String,
    _dir: TempDir,
}

impl TestEtcd {
    pub async fn start(ip: &str) -> anyhow::Result<TestEtcd> {
        let dir = tempfile::Builder::new().prefix("gd2-etcd-").tempdir()?;
        let client_url = format!("http://{ip}:{}", free_port(ip));
        let peer_url = format!("http://{ip}:{}", free_port(ip));
        let mut cfg = gd_store::managed::EtcdMemberConfig::new(
            "test-etcd".to_owned(),
            dir.path().join("data"),
            client_url.clone(),
            peer_url,
        );
        cfg.log_file = dir.path().join("etcd.log");
        let process = gd_store::managed::EtcdProcess::start(cfg).await?;
        Ok(TestEtcd {
            process: Some(process),
            client_url,
            _dir: dir,
        })
    }

    /// A raw (not namespaced) client of this etcd.
    pub async fn store(&self) -> anyhow::Result<std::sync::Arc<gd_store::EtcdStore>> {
        Ok(
            gd_store::EtcdStore::connect(
                std::slice::from_ref(&self.client_url),
                Default::default(),
            )
            .await?,
        )
    }
}

/// Reads a file to a string, or an empty string.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// One authenticated REST call to a node, as the CLI makes it; returns the status and the
/// JSON body (`Null` when empty).
pub fn api(
    dirs: &NodeDirs,
    d: &Daemon,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    try_api(&dirs.secret_file(), &d.url(), method, path, body).expect("request")
}

/// [`api`] to the node at `base` (`http://ip:port`), signed with the secret in
/// `secret_file`; `None` when the request got no answer (the connection failed or broke).
pub fn try_api(
    secret_file: &Path,
    base: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Option<(u16, serde_json::Value)> {
    let secret = gd_auth::read_secret(secret_file).expect("the node's secret file");
    let token = gd_auth::issue_token(
        gd_auth::CLI_USER,
        &secret,
        method,
        path,
        gd_auth::TOKEN_VALIDITY,
    );
    let url = format!("{base}{path}");
    // The daemon bounds every operation itself (the longest, a peer removal that hands over
    // an etcd member and then tells the peer to leave, within 90 + 30 s); this bound only
    // keeps a broken daemon from hanging the test.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(150))
        .build()
        .expect("client");
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client.request(m, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().ok()?;
    let status = resp.status().as_u16();
    let text = resp.text().ok()?;
    Some((
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// The peers a node lists, or `None` when it cannot answer.
pub fn peers_of(dirs: &NodeDirs, d: &Daemon) -> Option<Vec<gd_api::Peer>> {
    let (status, body) = api(dirs, d, "GET", "/v1/peers", None);
    if status != 200 {
        return None;
    }
    serde_json::from_value(body).ok()
}

/// Waits (at most `timeout`) until `d` lists exactly `n` peers, all with the given online state.
pub fn wait_peers(
    dirs: &NodeDirs,
    d: &Daemon,
    n: usize,
    online: bool,
    timeout: Duration,
) -> anyhow::Result<Vec<gd_api::Peer>> {
    let mut last = None;
    wait_for(
        &format!("{} to list {n} peers, online = {online}", d.ip),
        timeout,
        || {
            let peers = peers_of(dirs, d)?;
            let ok = peers.len() == n && peers.iter().all(|p| p.online == online);
            last = Some(peers.clone());
            ok.then_some(peers)
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}; last seen: {last:?}"))
}

/// The members of the etcd cluster reachable at `url`, or `None` when it does not answer.
pub async fn etcd_members(url: &str) -> Option<Vec<gd_store::etcd::EtcdMember>> {
    let opts = gd_store::etcd::EtcdOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let store = gd_store::EtcdStore::connect(&[url.to_owned()], opts)
        .await
        .ok()?;
    store.members().await.ok()
}

/// Kills (SIGKILL) every process whose command line contains `needle`: the bricks and
/// FUSE clients a test started outlive glusterd2 by design, so tests end them with this.
pub fn kill_processes_matching(needle: &str) -> usize {
    let found = processes_matching(needle);
    for (pid, _) in &found {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    found.len()
}

/// Whether process `pid` runs (a zombie has exited: only its parent has not reaped it yet).
pub fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// The processes (other than this one) whose command line contains `needle`: pid and command
/// line, arguments separated by spaces.
pub fn processes_matching(needle: &str) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != std::process::id() as i32)
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(needle).then_some((pid, text))
        })
        .collect()
}

/// A FUSE mount of a volume, unmounted (lazily, so it never hangs) when dropped.
pub struct Mount {
    pub dir: PathBuf,
    /// The FUSE client's log file.
    pub log: PathBuf,
    _tmp: TempDir,
}

impl Mount {
    /// `mount -t glusterfs <server>:/<volume> <dir>`, bounded by 60 s.
    pub fn new(server: &str, volume: &str) -> anyhow::Result<Mount> {
        let tmp = tempfile::Builder::new().prefix("gd2-mnt-").tempdir()?;
        let dir = tmp.path().join("mnt");
        std::fs::create_dir(&dir)?;
        let log = tmp.path().join("client.log");
        let mut child = Command::new("mount")
            .args(["-t", "glusterfs", "-o"])
            .arg(format!("log-file={}", log.display()))
            .arg(format!("{server}:/{volume}"))
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("run mount")?;
        let status = wait_for("mount to finish", Duration::from_secs(60), || {
            child.try_wait().ok().flatten()
        });
        let m = Mount {
            dir,
            log: log.clone(),
            _tmp: tmp,
        };
        match status {
            Ok(s) if s.success() => {}
            other => {
                let _ = child.kill();
                bail!(
                    "mount failed ({other:?}); client log:\n{}",
                    tail(&read(&log), 30)
                );
            }
        }
        // mount.glusterfs returns once the client runs; wait until the mount answers.
        wait_for("the mount to answer", Duration::from_secs(30), || {
            let mounted = read(Path::new("/proc/mounts"))
                .lines()
                .any(|l| l.contains(m.dir.to_str().unwrap_or("?")));
            (mounted && std::fs::read_dir(&m.dir).is_ok()).then_some(())
        })
        .map_err(|e| anyhow::anyhow!("{e}; client log:\n{}", tail(&read(&log), 30)))?;
        Ok(m)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        kill_processes_matching(self.dir.to_str().unwrap_or("\u{0}"));
    }
}

/// Waits (at most `timeout`) until the managed etcd of nodes at `ips` has `voters` voting
/// members and no learner: a cluster still growing its store loses quorum more easily, and
/// tests that kill nodes wait for this first.
pub fn wait_voters(ips: &[String], voters: usize, timeout: Duration) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    wait_for(&format!("{voters} etcd voters"), timeout, || {
        let members = ips
            .iter()
            .find_map(|ip| rt.block_on(etcd_members(&format!("http://{ip}:24379"))))?;
        (members.len() == voters && members.iter().all(|m| !m.is_learner && !m.name.is_empty()))
            .then_some(())
    })
}

// ---- a three-node cluster ----

/// How long cluster-wide waits of the three-node tests may take.
pub const THREE_WAIT: Duration = Duration::from_secs(30);

/// A three-node cluster and its directories.
pub struct Three {
    pub dirs: Vec<NodeDirs>,
    pub daemons: Vec<Daemon>,
    pub ips: Vec<String>,
    /// Ends the GlusterFS processes of the nodes (bricks, self-heal daemons) with the test,
    /// even a failed one: they outlive glusterd2 by design.
    pub reaper: Reaper,
}

impl Three {
    /// [`api`] on node `i`.
    pub fn api(
        &self,
        i: usize,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        api(&self.dirs[i], &self.daemons[i], method, path, body)
    }

    /// [`cli_on`] node `i`.
    pub fn cli(&self, i: usize, args: &[&str]) -> Output {
        cli_on(&self.daemons[i], &self.dirs[i], args)
    }
}

/// Kills, when dropped, every process whose command line contains one of its strings.
pub struct Reaper(pub Vec<String>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for needle in &self.0 {
            kill_processes_matching(needle);
        }
    }
}

/// Three daemons on 127.0.<block>.1–3, joined into one cluster with 3 etcd voters.
pub fn three(block: u8) -> Three {
    three_with(block, &[])
}

/// [`three`] with environment variables for every node's glusterd2 (kept across restarts).
pub fn three_with(block: u8, env: &[(&str, &str)]) -> Three {
    let ips: Vec<String> = (1..=3).map(|i| format!("127.0.{block}.{i}")).collect();
    let dirs: Vec<NodeDirs> = ips
        .iter()
        .map(|_| {
            let mut d = NodeDirs::new();
            d.env = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            d
        })
        .collect();
    let daemons: Vec<Daemon> = ips
        .iter()
        .zip(&dirs)
        .map(|(ip, d)| start_daemon(d, ip, &[]).unwrap())
        .collect();
    for (i, ip) in ips.iter().enumerate().skip(1) {
        let token = join_token(&dirs[i], &daemons[i]);
        let (s, b) = api(
            &dirs[0],
            &daemons[0],
            "POST",
            "/v1/peers",
            Some(json!({"addresses": [ip], "token": token})),
        );
        assert_eq!(s, 201, "{b}");
    }
    for (d, n) in dirs.iter().zip(&daemons) {
        wait_peers(d, n, 3, true, THREE_WAIT).unwrap();
    }
    // Tests kill nodes: let the store finish growing to 3 voters first.
    wait_voters(&ips, 3, Duration::from_secs(60)).unwrap();
    let reaper = Reaper(
        dirs.iter()
            .map(|d| node_root(d).display().to_string())
            .collect(),
    );
    Three {
        dirs,
        daemons,
        ips,
        reaper,
    }
}

/// The directory that holds a node's state, run and log directories, and its test bricks.
pub fn node_root(d: &NodeDirs) -> &Path {
    d.state.parent().expect("state dir has a parent")
}

/// A brick directory `name` on node `i` (created by the volume create's `create-brick-dir`).
pub fn brick(t: &Three, i: usize, name: &str) -> (String, std::path::PathBuf) {
    let path = node_root(&t.dirs[i]).join("bricks").join(name);
    (t.ips[i].clone(), path)
}

/// A create request body for one subvolume of `kind` over `bricks`, with `extra` subvolume fields.
pub fn create_body(
    name: &str,
    kind: &str,
    bricks: &[(String, std::path::PathBuf)],
    extra: serde_json::Value,
) -> serde_json::Value {
    let bricks: Vec<_> = bricks
        .iter()
        .map(|(h, p)| json!({"host": h, "path": p}))
        .collect();
    let mut subvol = json!({"type": kind, "bricks": bricks});
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            subvol[k] = v;
        }
    }
    json!({"name": name, "subvols": [subvol], "flags": {"create-brick-dir": true, "allow-root-dir": true}})
}
