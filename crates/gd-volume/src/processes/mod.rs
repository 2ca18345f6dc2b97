//! The volume feature's processes: what the reconciler sees of the cluster (this node, every
//! volume, the cluster options) and the services it keeps running for it — bricks
//! (`brick_service.rs`) and self-heal daemons (`shd_service.rs`) — and how a brick process
//! is launched (`bricks.rs`).
//!
//! Reading the view is also where a change of a started volume's graph (its options, its
//! bricks) is noticed: this node's connected GlusterFS processes are then told to fetch their
//! volfiles again (FETCHSPEC), and they reconfigure in place (DESIGN §3.8).

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use gd_core::keys::VOLUMES;
use gd_store::StoreError;
use uuid::Uuid;

use gd_node::{
    node::Node,
    reconcile::{Reconciler, ViewSource},
};
use gd_rpc_server::SunRpcServer;

use crate::{
    cluster_options::{ClusterOptionsRecord, cluster_options},
    model::{SubvolRecord, VolumeRecord, VolumeState, list_volumes},
};

mod brick_service;
pub mod bricks;
pub mod detail;
mod shd_service;

pub use brick_service::{BrickService, BrickStatusRecord, brick_statuses, status_key};
pub use shd_service::{ShdService, shd_pidfile};

/// The reconciler of the volumes' processes.
pub type Processes = Reconciler<VolumeView>;

/// What a pass sees.
pub struct VolumeView {
    pub me: Uuid,
    /// Every volume, in name order.
    pub volumes: Vec<VolumeRecord>,
    pub cluster: ClusterOptionsRecord,
}

impl VolumeView {
    /// The volume `name`.
    pub fn volume(&self, name: &str) -> Option<&VolumeRecord> {
        self.volumes
            .binary_search_by(|v| v.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.volumes[i])
    }
}

/// What a volume's volfiles are made of, besides its name and login: its options and its sets.
type Graph = (BTreeMap<String, String>, Vec<SubvolRecord>);

/// Reads the view from the store, and tells this node's GlusterFS processes when the graph of
/// a started volume (its options or its bricks) changed since the last pass.
pub struct StoreView {
    node: Arc<Node>,
    rpc: SunRpcServer,
    /// What the graph of each started volume is made of (options, sets), as last seen.
    seen: Mutex<BTreeMap<String, Graph>>,
}

impl StoreView {
    pub fn new(node: Arc<Node>, rpc: SunRpcServer) -> StoreView {
        StoreView {
            node,
            rpc,
            seen: Mutex::default(),
        }
    }

    /// FETCHSPEC to this node's connected processes for every started volume whose graph
    /// changed (its options, or the bricks it serves: an add-brick that committed, its new
    /// bricks running by then); the first sight of a volume notifies
    /// nothing (processes fetch their volfiles when they connect).
    fn notify_graph_changes(&self, vols: &[VolumeRecord]) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut now = BTreeMap::new();
        for v in vols.iter().filter(|v| v.state == VolumeState::Started) {
            let graph = (v.options.clone(), v.serving().subvols);
            if seen.get(&v.name).is_some_and(|before| *before != graph) {
                let n = self.rpc.notify_fetchspec(Some(&v.name));
                tracing::info!(volume = %v.name, clients = n, "volume graph changed (options or bricks); clients told to fetch their volfiles");
            }
            now.insert(v.name.clone(), graph);
        }
        *seen = now;
    }
}

#[async_trait]
impl ViewSource<VolumeView> for StoreView {
    fn prefix(&self) -> &'static str {
        VOLUMES
    }

    async fn load(&self) -> Result<VolumeView, StoreError> {
        let store = self.node.store.as_ref();
        let mut volumes = list_volumes(store).await?;
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        let cluster = cluster_options(store).await.unwrap_or_default();
        self.notify_graph_changes(&volumes);
        Ok(VolumeView {
            me: self.node.identity().peer_id,
            volumes,
            cluster,
        })
    }
}

/// The volume processes' reconciler of this node: bricks, then self-heal daemons.
pub fn processes(node: &Arc<Node>, rpc: &SunRpcServer) -> Arc<Processes> {
    Reconciler::counted(
        Arc::new(StoreView::new(node.clone(), rpc.clone())),
        vec![
            Arc::new(BrickService::new(node.clone(), rpc.clone())),
            Arc::new(ShdService::new(node.clone())),
        ],
        node.metrics.clone(),
    )
}

/// The address this node's bricks listen on: its configured client address; `None` (every
/// address) when it listens on every address.
pub fn bind_ip(node: &Node) -> Option<IpAddr> {
    let ip = node.config.client_addr.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// This node's IP for its own GlusterFS processes to reach it at: the client address, or
/// loopback when it listens on every address.
pub fn node_ip(node: &Node) -> IpAddr {
    let ip = node.config.client_addr.ip();
    if ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}
