//! The node's connection to the cluster store, and how it is persisted across restarts.
//!
//! A fresh node picks its store from the configuration:
//! - `local`: a redb file under `<localstatedir>/store/`; one node, no etcd;
//! - `managed`: glusterd2 starts an etcd member of its own (data under
//!   `<localstatedir>/store/etcd.data`, log under `<logdir>/store/etcd.log`);
//! - `etcd`: an external etcd cluster at `etcdendpoints`.
//!
//! Once the node has joined a cluster, how it reaches the cluster's store is no longer a
//! matter of its configuration but of the cluster: [`StoreState`] is written to
//! `<localstatedir>/store.toml` at join and removed at leave, and a restart uses it.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use gd_store::{
    EtcdStore, LocalStore, Store,
    etcd::EtcdOptions,
    managed::{EtcdMemberConfig, EtcdProcess},
};
use serde::{Deserialize, Serialize};

use crate::{
    address::EtcdUrls,
    config::{Config, StoreMode},
};

/// How this node reaches its store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StoreState {
    /// `local`, `managed` or `etcd` (never `auto`).
    pub mode: StoreMode,
    /// etcd client URLs (empty for `local`).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Whether this node runs an etcd member (managed mode only).
    #[serde(default)]
    pub member: bool,
    /// Whether the state was handed over by a cluster this node joined.
    #[serde(default)]
    pub joined: bool,
}

const STATE_FILE: &str = "store.toml";

impl StoreState {
    /// The state of a node that has joined no cluster, from its configuration.
    pub fn fresh(config: &Config, urls: &EtcdUrls) -> (StoreState, &'static str) {
        let (mode, why) = config.resolve_store_mode(on_path("etcd"));
        let state = match mode {
            StoreMode::Managed => StoreState {
                mode,
                endpoints: vec![urls.client.clone()],
                member: true,
                joined: false,
            },
            StoreMode::Etcd => StoreState {
                mode,
                endpoints: config.etcd_endpoints.clone(),
                member: false,
                joined: false,
            },
            _ => StoreState {
                mode: StoreMode::Local,
                endpoints: vec![],
                member: false,
                joined: false,
            },
        };
        (state, why)
    }

    /// The persisted state of a node that joined a cluster, if any.
    pub fn load(dir: &Path) -> anyhow::Result<Option<StoreState>> {
        let path = dir.join(STATE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let s: StoreState = toml::from_str(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "{} is damaged: {}",
                        path.display(),
                        e.to_string().trim_end()
                    )
                })?;
                if s.mode == StoreMode::Auto || s.mode == StoreMode::Local || s.endpoints.is_empty()
                {
                    anyhow::bail!(
                        "{} is inconsistent: a joined node uses etcd endpoints",
                        path.display()
                    );
                }
                Ok(Some(s))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        crate::identity::write_atomic(&dir.join(STATE_FILE), toml::to_string(self)?.as_bytes())
    }

    /// [`StoreState::save`] where the node goes on whatever happens (the running state is
    /// right; only a restart would read an older file): a failure is logged.
    pub fn save_or_log(&self, dir: &Path) {
        if let Err(e) = self.save(dir) {
            tracing::error!(error = %format!("{e:#}"), "cannot persist the store state");
        }
    }

    pub fn remove(dir: &Path) -> anyhow::Result<()> {
        match std::fs::remove_file(dir.join(STATE_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// An open store backend (not yet namespaced), and the etcd member behind it when this node
/// runs one.
pub struct Backend {
    pub state: StoreState,
    pub raw: Arc<dyn Store>,
    /// The etcd client behind `raw`, for membership changes (etcd modes only).
    pub etcd: Option<Arc<EtcdStore>>,
    pub member: Option<Box<dyn MemberProcess>>,
}

impl Backend {
    /// Stops the managed etcd member, if any.
    pub async fn close(self) {
        if let Some(etcd) = self.member {
            match etcd.stop().await {
                Ok(()) => tracing::info!("managed etcd member stopped"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "stopping the managed etcd member")
                }
            }
        }
    }
}

/// Starts etcd member processes. The daemon uses [`EtcdRunner`]; a simulation of many nodes in
/// one process (DESIGN §3.13) supplies a fake that starts nothing.
#[async_trait::async_trait]
pub trait MemberRunner: Send + Sync + 'static {
    /// Starts this node's member; see [`start_member`] for the arguments.
    async fn start(
        &self,
        config: &Config,
        urls: &EtcdUrls,
        name: &str,
        initial_cluster: Option<String>,
        wait_for_leader: bool,
    ) -> anyhow::Result<Box<dyn MemberProcess>>;
}

/// A running etcd member.
#[async_trait::async_trait]
pub trait MemberProcess: Send + Sync + 'static {
    fn pid(&self) -> u32;
    /// Stops it (gracefully, bounded).
    async fn stop(self: Box<Self>) -> anyhow::Result<()>;
}

/// A runner for simulations of many nodes in one process: starts nothing, counts the starts
/// it was asked for, and hands out members that stop at once.
#[derive(Debug, Default)]
pub struct SimulatedMembers {
    pub starts: std::sync::atomic::AtomicUsize,
}

struct SimulatedMember;

#[async_trait::async_trait]
impl MemberProcess for SimulatedMember {
    fn pid(&self) -> u32 {
        0
    }
    async fn stop(self: Box<Self>) -> anyhow::Result<()> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl MemberRunner for SimulatedMembers {
    async fn start(
        &self,
        _: &Config,
        _: &EtcdUrls,
        _: &str,
        _: Option<String>,
        _: bool,
    ) -> anyhow::Result<Box<dyn MemberProcess>> {
        self.starts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Box::new(SimulatedMember))
    }
}

/// The real runner: etcd processes.
pub struct EtcdRunner;

#[async_trait::async_trait]
impl MemberRunner for EtcdRunner {
    async fn start(
        &self,
        config: &Config,
        urls: &EtcdUrls,
        name: &str,
        initial_cluster: Option<String>,
        wait_for_leader: bool,
    ) -> anyhow::Result<Box<dyn MemberProcess>> {
        Ok(Box::new(
            start_member(config, urls, name, initial_cluster, wait_for_leader).await?,
        ))
    }
}

#[async_trait::async_trait]
impl MemberProcess for EtcdProcess {
    fn pid(&self) -> u32 {
        EtcdProcess::pid(self)
    }
    async fn stop(self: Box<Self>) -> anyhow::Result<()> {
        Ok(EtcdProcess::stop(*self).await?)
    }
}

/// Whether an executable named `name` is on `PATH`.
pub fn on_path(name: &str) -> bool {
    gd_store::managed::find_binary(Path::new(name)).is_some()
}

/// The data directory of this node's etcd member.
pub fn member_data_dir(config: &Config) -> PathBuf {
    config.localstatedir.join("store").join("etcd.data")
}

/// Opens the backend `state` describes. `check` makes an unreachable etcd an error at once
/// (a fresh node, where a wrong endpoint is a configuration mistake); without it the node
/// starts and the store calls fail until etcd answers (a restart of a cluster member, whose
/// peers may come back in any order).
pub async fn open_backend(
    runner: &dyn MemberRunner,
    config: &Config,
    urls: &EtcdUrls,
    name: &str,
    state: StoreState,
    check: bool,
) -> anyhow::Result<Backend> {
    let store_dir = config.localstatedir.join("store");
    std::fs::create_dir_all(&store_dir)?;
    match state.mode {
        StoreMode::Local => {
            let path = store_dir.join("local.redb");
            let raw = LocalStore::open(&path).await.map_err(|e| {
                anyhow::anyhow!("cannot open the local store {}: {e}", path.display())
            })?;
            Ok(Backend {
                state,
                raw,
                etcd: None,
                member: None,
            })
        }
        StoreMode::Managed | StoreMode::Etcd => {
            // A joined member without data never got as far as etcd writing any: starting it
            // without an initial cluster would found a new one; the member agent starts it
            // afresh instead.
            let member = if state.member && (!state.joined || member_data_dir(config).exists()) {
                // A member of a multi-member cluster waits for its peers in the background; a
                // lone founder has its leader at once.
                match runner.start(config, urls, name, None, !state.joined).await {
                    Ok(m) => Some(m),
                    // A member of a multi-member cluster that cannot start (removed from the
                    // cluster while this node was down, say) must not keep the node down: it
                    // runs as a client, and the member agent settles the member's fate.
                    Err(e) if state.joined => {
                        tracing::warn!(error = %format!("{e:#}"), "this node's etcd member did not start; running as a client for now");
                        None
                    }
                    Err(e) => return Err(e),
                }
            } else {
                None
            };
            // Every member of a managed store is glusterd2's own, started to accept the
            // managed client's faster pings.
            let opts = if state.mode == StoreMode::Managed {
                EtcdOptions::managed()
            } else {
                EtcdOptions::default()
            };
            let etcd = if check {
                EtcdStore::connect(&state.endpoints, opts).await
            } else {
                EtcdStore::connect_lazy(&state.endpoints, opts).await
            }
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot connect to etcd at {}: {e}",
                    state.endpoints.join(",")
                )
            })?;
            Ok(Backend {
                state,
                raw: etcd.clone(),
                etcd: Some(etcd),
                member,
            })
        }
        StoreMode::Auto => anyhow::bail!("internal error: store mode auto was not resolved"),
    }
}

/// Starts this node's etcd member. Its data directory decides whether it is new; a new member
/// of an existing cluster gets `initial_cluster` (from the membership controller).
pub async fn start_member(
    config: &Config,
    urls: &EtcdUrls,
    name: &str,
    initial_cluster: Option<String>,
    wait_for_leader: bool,
) -> anyhow::Result<EtcdProcess> {
    if !on_path("etcd") {
        anyhow::bail!(
            "store mode managed needs an etcd binary on PATH (Debian: apt-get install etcd-server)"
        );
    }
    let store_dir = config.localstatedir.join("store");
    let log_dir = config.logdir.join("store");
    std::fs::create_dir_all(&log_dir)?;
    let mut member = EtcdMemberConfig::new(
        name.to_owned(),
        member_data_dir(config),
        urls.client.clone(),
        urls.peer.clone(),
    );
    member.listen_client_url = urls.listen_client.clone();
    member.listen_peer_url = urls.listen_peer.clone();
    member.log_file = log_dir.join("etcd.log");
    member.wait_for_leader = wait_for_leader;
    // A member of a multi-member cluster answers only once a quorum is up: do not wait.
    member.wait_for_answer = wait_for_leader;
    if let Some(initial) = initial_cluster {
        member.initial_cluster = Some(initial);
        member.initial_cluster_state = gd_store::managed::ClusterState::Existing;
    }
    let pid_file = store_dir.join("etcd.pid");
    stop_stale_member(&pid_file, &member.data_dir).await;
    for (key, url) in [
        ("etcdcurls", &urls.listen_client),
        ("etcdpurls", &urls.listen_peer),
    ] {
        ensure_port_free(key, url)?;
    }
    let etcd = EtcdProcess::start(member)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the managed etcd member: {e}"))?;
    if let Err(e) = std::fs::write(&pid_file, format!("{}\n", etcd.pid())) {
        tracing::warn!(error = %e, file = %pid_file.display(), "cannot record the etcd member's pid");
    }
    tracing::info!(url = %urls.client, listen = %urls.listen_client, pid = etcd.pid(), "managed etcd member is up");
    Ok(etcd)
}

/// Stops an etcd member left running by a glusterd2 that died without stopping it, so this
/// start can own the data directory and the ports again. Only a process whose command line
/// names our data directory is touched: a pid file may be stale and its pid reused.
async fn stop_stale_member(pid_file: &Path, data_dir: &Path) {
    use nix::{
        sys::signal::{Signal, kill},
        unistd::Pid,
    };
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let ours = args
        .windows(2)
        .any(|w| w[0] == b"--data-dir" && w[1] == data_dir.as_os_str().as_encoded_bytes());
    if pid <= 1 || !ours {
        return;
    }
    tracing::warn!(
        pid,
        "stopping the etcd member left running by an earlier glusterd2"
    );
    let pid = Pid::from_raw(pid);
    let _ = kill(pid, Signal::SIGTERM);
    for _ in 0..100 {
        if kill(pid, None).is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = kill(pid, Signal::SIGKILL);
}

/// Fails with a clear message when the managed member's port is taken (by a system etcd, say):
/// otherwise the new member would exit and glusterd2 could end up talking to a stranger.
fn ensure_port_free(key: &str, url: &str) -> anyhow::Result<()> {
    let hostport = url.split("://").nth(1).unwrap_or(url).trim_end_matches('/');
    let addr: std::net::SocketAddr = hostport.parse().map_err(|_| {
        anyhow::anyhow!("{key} {url:?}: the managed etcd member needs an IP:port URL")
    })?;
    std::net::TcpListener::bind(addr).map(drop).map_err(|e| {
        anyhow::anyhow!(
            "{key} {url}: cannot listen on {addr} ({e}); another process (a system etcd?) uses it — \
             stop it or choose other URLs with --etcdcurls/--etcdpurls"
        )
    })
}
