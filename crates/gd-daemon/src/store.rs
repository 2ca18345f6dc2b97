//! Opening the cluster store in the configured mode.
//!
//! - `local`: a redb file under `<localstatedir>/store/`; one node, no etcd.
//! - `managed`: glusterd2 starts an etcd member of its own (data under
//!   `<localstatedir>/store/etcd.data`, log under `<logdir>/store/etcd.log`) and connects to it.
//!   In this release the member serves this node only; growing the etcd cluster as peers join
//!   is the membership work.
//! - `etcd`: an external etcd cluster at `etcdendpoints`.
//!
//! In every mode the daemon sees the store through the cluster namespace
//! `gluster-<cluster-id>/`.

use std::{path::Path, sync::Arc};

use gd_store::{
    EtcdStore, LocalStore, Namespaced, Store, cluster_namespace,
    etcd::EtcdOptions,
    managed::{EtcdMemberConfig, EtcdProcess},
};

use crate::{
    config::{Config, StoreMode},
    identity::Identity,
};

/// The open store, and the etcd member behind it when glusterd2 manages one.
pub struct OpenStore {
    pub mode: StoreMode,
    /// The cluster's namespace of the store.
    pub store: Arc<dyn Store>,
    pub managed: Option<EtcdProcess>,
}

impl OpenStore {
    /// Stops the managed etcd member, if any.
    pub async fn close(self) {
        if let Some(etcd) = self.managed {
            match etcd.stop().await {
                Ok(()) => tracing::info!("managed etcd member stopped"),
                Err(e) => tracing::warn!(error = %e, "stopping the managed etcd member"),
            }
        }
    }
}

/// Whether an executable named `name` is on `PATH`.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(name))))
        .unwrap_or(false)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Opens the store the configuration asks for.
pub async fn open(config: &Config, identity: &Identity) -> anyhow::Result<OpenStore> {
    let (mode, why) = config.resolve_store_mode(on_path("etcd"));
    tracing::info!(store = %mode, reason = why, "store mode chosen");
    let store_dir = config.localstatedir.join("store");
    std::fs::create_dir_all(&store_dir)?;
    let (raw, managed): (Arc<dyn Store>, Option<EtcdProcess>) = match mode {
        StoreMode::Local => {
            let path = store_dir.join("local.redb");
            let store = LocalStore::open(&path).await.map_err(|e| {
                anyhow::anyhow!("cannot open the local store {}: {e}", path.display())
            })?;
            (store, None)
        }
        StoreMode::Managed => {
            if !on_path("etcd") {
                anyhow::bail!(
                    "store mode managed needs an etcd binary on PATH (Debian: apt-get install etcd-server)"
                );
            }
            let log_dir = config.logdir.join("store");
            std::fs::create_dir_all(&log_dir)?;
            let mut member = EtcdMemberConfig::new(
                identity.peer_id.to_string(),
                store_dir.join("etcd.data"),
                config.etcd_client_url.clone(),
                config.etcd_peer_url.clone(),
            );
            member.log_file = log_dir.join("etcd.log");
            let pid_file = store_dir.join("etcd.pid");
            stop_stale_member(&pid_file, &member.data_dir).await;
            for (key, url) in [
                ("etcdcurls", &config.etcd_client_url),
                ("etcdpurls", &config.etcd_peer_url),
            ] {
                ensure_port_free(key, url)?;
            }
            let etcd = EtcdProcess::start(member)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the managed etcd member: {e}"))?;
            if let Err(e) = std::fs::write(&pid_file, format!("{}\n", etcd.pid())) {
                tracing::warn!(error = %e, file = %pid_file.display(), "cannot record the etcd member's pid");
            }
            tracing::info!(url = %config.etcd_client_url, pid = etcd.pid(), "managed etcd member is up");
            let store = EtcdStore::connect(
                std::slice::from_ref(&config.etcd_client_url),
                EtcdOptions::default(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to the managed etcd member: {e}"))?;
            (store, Some(etcd))
        }
        StoreMode::Etcd => {
            let store = EtcdStore::connect(&config.etcd_endpoints, EtcdOptions::default())
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot connect to etcd at {}: {e}",
                        config.etcd_endpoints.join(",")
                    )
                })?;
            (store, None)
        }
        StoreMode::Auto => anyhow::bail!("internal error: store mode auto was not resolved"),
    };
    let ns = cluster_namespace(&identity.cluster_id.to_string());
    Ok(OpenStore {
        mode,
        store: Arc::new(Namespaced::new(raw, ns)),
        managed,
    })
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
