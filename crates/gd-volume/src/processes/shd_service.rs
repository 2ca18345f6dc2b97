//! Self-heal daemons as a service of the reconciler: one per started replicate or disperse
//! volume with a brick on this node, unless its self-heal-daemon option is off (GD1 stops it
//! then too). The daemon is one process per volume (not GD1's multiplexed one), so stopping a
//! volume stops exactly its own.

use std::{net::SocketAddr, sync::Arc};

use async_trait::async_trait;

use gd_node::{
    node::Node,
    process::Proc,
    reconcile::{Instance, Service},
};

use super::{VolumeView, bricks, node_ip};
use crate::model::{VolumeRecord, VolumeState};

/// The self-heal daemons of this node.
pub struct ShdService {
    node: Arc<Node>,
}

impl ShdService {
    pub fn new(node: Arc<Node>) -> ShdService {
        ShdService { node }
    }

    fn instance(vol: &VolumeRecord) -> Instance {
        Instance {
            id: vol.name.clone(),
            scope: vol.name.clone(),
            name: "self-heal daemon".to_owned(),
            label: format!("the self-heal daemon of {}", vol.name),
        }
    }

    fn wants(view: &VolumeView, v: &VolumeRecord) -> bool {
        v.state == VolumeState::Started && v.wants_self_heal_daemon() && Self::here(view, v)
    }

    fn here(view: &VolumeView, v: &VolumeRecord) -> bool {
        v.bricks().any(|b| b.peer_id == view.me)
    }
}

#[async_trait]
impl Service<VolumeView> for ShdService {
    fn kind(&self) -> &'static str {
        "self-heal daemon"
    }

    fn wanted(&self, view: &VolumeView) -> Vec<Instance> {
        view.volumes
            .iter()
            .filter(|v| Self::wants(view, v))
            .map(Self::instance)
            .collect()
    }

    /// Every volume with a brick here whose daemon is not wanted (stopped, or its option off).
    fn leftovers(&self, view: &VolumeView) -> Vec<Instance> {
        view.volumes
            .iter()
            .filter(|v| Self::here(view, v) && !Self::wants(view, v))
            .map(Self::instance)
            .collect()
    }

    fn find(&self, _: &VolumeView, inst: &Instance) -> Option<Proc> {
        bricks::running_shd(&shd_pidfile(&self.node, &inst.scope), &inst.scope)
    }

    async fn start(&self, view: &VolumeView, inst: &Instance) -> Result<Proc, String> {
        let launch = bricks::ShdLaunch {
            volume: inst.scope.clone(),
            node_id: view.me,
            volfile_server: SocketAddr::new(
                node_ip(&self.node),
                self.node.config.client_addr.port(),
            ),
            pidfile: shd_pidfile(&self.node, &inst.scope),
            localtime_logging: view.cluster.localtime_logging(),
            log_level: view.cluster.daemon_log_level(),
        };
        bricks::start_shd(&self.node.config, &launch).await
    }

    /// A failed start is tried again at the next pass, as GD1 does.
    fn backs_off(&self) -> bool {
        false
    }

    async fn stopped(&self, inst: &Instance) {
        let _ = std::fs::remove_file(shd_pidfile(&self.node, &inst.scope));
    }
}

/// The pid file of a volume's self-heal daemon on this node.
pub fn shd_pidfile(node: &Node, vol: &str) -> std::path::PathBuf {
    node.config
        .rundir
        .join("shd")
        .join(vol)
        .join(format!("{vol}-shd.pid"))
}
