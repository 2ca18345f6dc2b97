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
            etcd.stop().await;
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
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
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
            let store = LocalStore::open(&path)
                .map_err(|e| anyhow::anyhow!("cannot open the local store {}: {e}", path.display()))?;
            (store, None)
        }
        StoreMode::Managed => {
            if !on_path("etcd") {
                anyhow::bail!("store mode managed needs an etcd binary on PATH (Debian: apt-get install etcd-server)");
            }
            let log_dir = config.logdir.join("store");
            std::fs::create_dir_all(&log_dir)?;
            let member = EtcdMemberConfig::new(
                identity.peer_id.to_string(),
                store_dir.join("etcd.data"),
                config.etcd_client_url.clone(),
                config.etcd_peer_url.clone(),
                log_dir.join("etcd.log"),
            );
            let etcd = EtcdProcess::start(member)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the managed etcd member: {e}"))?;
            tracing::info!(url = %config.etcd_client_url, pid = etcd.pid(), "managed etcd member is up");
            let store = EtcdStore::connect(&[config.etcd_client_url.clone()])
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to the managed etcd member: {e}"))?;
            (store, Some(etcd))
        }
        StoreMode::Etcd => {
            let store = EtcdStore::connect(&config.etcd_endpoints).await.map_err(|e| {
                anyhow::anyhow!("cannot connect to etcd at {}: {e}", config.etcd_endpoints.join(","))
            })?;
            (store, None)
        }
        StoreMode::Auto => anyhow::bail!("internal error: store mode auto was not resolved"),
    };
    let ns = cluster_namespace(&identity.cluster_id.to_string());
    Ok(OpenStore { mode, store: Arc::new(Namespaced::new(raw, ns)), managed })
}
