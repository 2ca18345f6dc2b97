//! The volume feature's processes: what the reconciler sees of the cluster (this node, the
//! volumes it acts on, the cluster options) and the services it keeps running for it — bricks
//! (`brick_service.rs`) and self-heal daemons (`shd_service.rs`) — and how a brick process
//! is launched (`bricks.rs`).
//!
//! Reading the view is also where a change of a started volume's graph (its options, its
//! bricks) is noticed: this node's connected GlusterFS processes are then told to fetch their
//! volfiles again (FETCHSPEC), and they reconfigure in place (DESIGN §3.8).
//!
//! Scope (what keeps a change of one volume from waking every node of a large cluster): a
//! node follows its own brick references (`bricks/<me>/`) and wake keys
//! (`volume-wake/<me>/`, touched with every change of a volume's record for each node of the
//! volume), and reads only the volumes named there, plus those its connected clients fetched
//! volfiles of. A client mounted through a node that hosts none of its volume's bricks is
//! told of a change of the graph by that node's next tick (5 s) rather than at once. The
//! cluster options (one record) are followed by every node.
//!
//! A change of one volume (its wake key) makes a pass for that volume, which reads it alone
//! into the last view; a change of a brick reference or the cluster options, a pass over all.
//! At rest a node reads nothing: its tick checks the processes against the last view (see
//! [`Reconciler::tick`]). A node whose clients fetched volfiles of a volume it has no brick
//! of reads its view on every tick all the same, since no change of that volume wakes it.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, Ipv4Addr},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use gd_core::keys::{BRICKS, CLUSTER_OPTIONS, VOLUME_WAKE};
use gd_store::{Store, StoreError, TxnOp};
use uuid::Uuid;

use gd_node::{
    node::Node,
    reconcile::{Reconciler, ViewSource, fresh},
};
use gd_rpc_server::SunRpcServer;

use crate::{
    cluster_options::{ClusterOptionsRecord, cluster_options},
    model::{
        SubvolRecord, VolumeRecord, VolumeState, get_volume, get_volumes, hosted_volumes,
        volume_wake_key, woken_volumes,
    },
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
    /// The volumes this node acts on (it has bricks of them, it was told of a change of them,
    /// or its clients fetched their volfiles), in name order.
    pub volumes: Vec<VolumeRecord>,
    pub cluster: ClusterOptionsRecord,
    /// Every volume name the view was read for (those of `volumes`, and names this node's
    /// clients asked for that the store does not hold).
    pub named: BTreeSet<String>,
    /// Whether some of them were read only because this node's clients asked for them (no
    /// change of theirs wakes this node).
    pub serves_others: bool,
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
    /// bricks running by then). The first sight of a volume this node acts on notifies
    /// nothing (processes fetch their volfiles when they connect, and every later change
    /// wakes this node); the first sight of one only its clients bring into view (`served`:
    /// the node follows it from their connection on, and a change may have come between
    /// their fetch and this pass) notifies them, and a client whose volfile is the same
    /// keeps its graph.
    fn notify_graph_changes(&self, vols: &[VolumeRecord], served: &BTreeSet<String>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut now = BTreeMap::new();
        for v in vols.iter().filter(|v| v.state == VolumeState::Started) {
            let graph = (v.options.clone(), v.serving().subvols);
            let changed = match seen.get(&v.name) {
                Some(before) => *before != graph,
                None => served.contains(&v.name),
            };
            if changed {
                let n = self.rpc.notify_fetchspec(Some(&v.name));
                tracing::info!(volume = %v.name, clients = n, "volume graph changed (options or bricks); clients told to fetch their volfiles");
            }
            now.insert(v.name.clone(), graph);
        }
        *seen = now;
    }

    /// [`Self::notify_graph_changes`] for the one volume `name` (`vol`: its record, if any),
    /// the others as they were.
    fn notify_graph_change_of(&self, name: &str, vol: Option<&VolumeRecord>) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match vol.filter(|v| v.state == VolumeState::Started) {
            Some(v) => {
                let graph = (v.options.clone(), v.serving().subvols);
                if seen.get(name).is_some_and(|before| *before != graph) {
                    let n = self.rpc.notify_fetchspec(Some(name));
                    tracing::info!(volume = %name, clients = n, "volume graph changed (options or bricks); clients told to fetch their volfiles");
                }
                seen.insert(name.to_owned(), graph);
            }
            None => {
                seen.remove(name);
            }
        }
    }
}

impl StoreView {
    /// Reads the view (and the volumes only this node's clients brought into it).
    async fn read_view(&self) -> Result<(VolumeView, BTreeSet<String>), StoreError> {
        let store = self.node.store.as_ref();
        let me = self.node.identity().peer_id;
        let hosted = hosted_volumes(store, me).await?;
        let woken = woken_volumes(store, me).await?;
        let mut names: BTreeSet<String> = hosted.iter().chain(&woken).cloned().collect();
        let served: BTreeSet<String> = served_volumes(&self.rpc)
            .into_iter()
            .filter(|v| !names.contains(v))
            .collect();
        names.extend(served.iter().cloned());
        let mut volumes = get_volumes(store, &names).await?;
        volumes.sort_by(|a, b| a.name.cmp(&b.name));
        // Wake keys of volumes gone, or no longer with a brick here, have done their work.
        let stale: Vec<TxnOp> = woken
            .iter()
            .filter(|n| {
                !hosted.contains(*n)
                    && !volumes
                        .iter()
                        .any(|v| v.name == **n && v.bricks().any(|b| b.peer_id == me))
            })
            .map(|n| TxnOp::delete(volume_wake_key(me, n)))
            .collect();
        // A hint's cleanup: a store that cannot take it now (no quorum) must not stop the
        // pass, which then answers from what the node kept.
        for chunk in stale.chunks(gd_store::MAX_TXN_OPS) {
            if let Err(e) = store
                .txn(gd_store::Txn::new().and_then(chunk.to_vec()))
                .await
            {
                tracing::debug!(error = %e, "stale volume wake keys not deleted; next pass");
                break;
            }
        }
        let cluster = cluster_options(store).await.unwrap_or_default();
        let view = VolumeView {
            me,
            volumes,
            cluster,
            named: names,
            serves_others: !served.is_empty(),
        };
        Ok((view, served))
    }
}

/// The volumes this node's connected clients fetched volfiles of.
fn served_volumes(rpc: &SunRpcServer) -> BTreeSet<String> {
    rpc.clients()
        .iter()
        .flat_map(|c| c.keys.iter().filter_map(|k| volume_of_key(k)))
        .map(str::to_owned)
        .collect()
}

/// The volume a GETSPEC key names: `<vol>`, `/<vol>`, `shd/<vol>`, `rebalance/<vol>`, or a
/// brick's `<vol>.<host>.<path>` (volume names have no '.' and no '/'); `None` when what is
/// left is no volume name (a stranger's key must not reach the store's reads).
fn volume_of_key(key: &str) -> Option<&str> {
    let key = key.rsplit('/').next().unwrap_or(key);
    let name = key.split('.').next().unwrap_or(key);
    gd_api::check_volume_name(name).is_ok().then_some(name)
}

#[async_trait]
impl ViewSource<VolumeView> for StoreView {
    fn prefixes(&self) -> Vec<String> {
        let me = self.node.identity().peer_id;
        vec![
            format!("{BRICKS}{me}/"),
            format!("{VOLUME_WAKE}{me}/"),
            CLUSTER_OPTIONS.to_owned(),
        ]
    }

    /// A volume's wake key (`volume-wake/<me>/<volume>`, touched with every change of its
    /// record) concerns that volume alone; a brick reference or the cluster options, every one.
    fn scope_of(&self, key: &str) -> Option<String> {
        let me = self.node.identity().peer_id;
        key.strip_prefix(&format!("{VOLUME_WAKE}{me}/"))
            .filter(|name| gd_api::check_volume_name(name).is_ok())
            .map(str::to_owned)
    }

    fn current(&self, view: &VolumeView) -> bool {
        !view.serves_others && served_volumes(&self.rpc).is_subset(&view.named)
    }

    /// The view as the store itself answers it (never a node's own copy: its graphs are
    /// what the processes are told of changes against).
    async fn load(&self) -> Result<VolumeView, StoreError> {
        let (view, served) = fresh(self.read_view()).await?;
        self.notify_graph_changes(&view.volumes, &served);
        Ok(view)
    }

    /// The volume `scope` read anew into `view`: replaced, gone, or added when it has a brick
    /// here (a wake key deleted by a pass's cleanup names a volume that has none: it stays
    /// out of the view).
    async fn refresh(&self, view: &mut VolumeView, scope: &str) -> Result<(), StoreError> {
        let read = fresh(get_volume(self.node.store.as_ref(), scope)).await?;
        let at = view
            .volumes
            .binary_search_by(|v| v.name.as_str().cmp(scope));
        let me = view.me;
        let read = read.filter(|v| at.is_ok() || v.bricks().any(|b| b.peer_id == me));
        self.notify_graph_change_of(scope, read.as_ref());
        match (at, read) {
            (Ok(i), Some(v)) => view.volumes[i] = v,
            (Ok(i), None) => {
                view.volumes.remove(i);
            }
            (Err(i), Some(v)) => {
                view.volumes.insert(i, v);
                view.named.insert(scope.to_owned());
            }
            (Err(_), None) => {}
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::volume_of_key;

    #[test]
    fn getspec_keys_name_their_volume_or_none() {
        for (key, vol) in [
            ("gv0", Some("gv0")),
            ("/gv0", Some("gv0")),
            ("shd/gv0", Some("gv0")),
            ("rebalance/gv0", Some("gv0")),
            ("gv0.10.0.0.1.data-brick1", Some("gv0")),
            ("", None),
            ("../..", None),
            ("a b", None),
            ("-x", None),
        ] {
            assert_eq!(volume_of_key(key), vol, "{key:?}");
        }
    }
}
