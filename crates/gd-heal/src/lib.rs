//! The self-heal feature: what an administrator asks of the self-heal machinery of replicated
//! and dispersed volumes, done by GlusterFS's own tools as GD1 uses them.
//!
//! Its parts:
//! - [`glfsheal`]: GlusterFS's `glfsheal`, its command lines and its answers;
//! - [`info`]: heal info (entries, summary, split-brain) and split-brain resolution, run on
//!   the node that is asked;
//! - [`shd`]: what glusterd says to a self-heal daemon (XLATOR_OP) and what it answers;
//! - [`count`]: the counts of entries to be healed, one daemon per set;
//! - [`daemon`]: the calls to this node's self-heal daemons, and the crawl statistics;
//! - [`launch`]: index and full heal launches, each node's daemon told its sets;
//! - [`full`]: a full heal as a task (one crawl per volume), led until its crawls end;
//! - [`returned`]: a peer back online: each node's daemon heals what it missed at once;
//! - [`switch`]: the self-heal daemon and granular entry heal turned on or off (options);
//! - [`rest`]: their routes (GD2's paths), and the node-to-node one of launches.
//!
//! The self-heal daemons themselves are the volume feature's processes (its reconciler runs
//! them); this feature reads the volume feature's model.

pub mod count;
pub mod daemon;
pub mod full;
pub mod glfsheal;
pub mod info;
pub mod launch;
pub mod rest;
pub mod returned;
pub mod shd;
pub mod switch;

use std::sync::Arc;

use gd_core::{
    task::TaskHandler,
    txn::{DuplicateStep, Registry},
};
use gd_feature::{Cluster, Feature, Parts, Task};
use utoipa_axum::router::OpenApiRouter;

/// The self-heal feature.
pub struct Heal;

impl Feature for Heal {
    fn name(&self) -> &'static str {
        "heal"
    }

    fn assemble(
        &self,
        parts: &Parts,
        _registry: &mut Registry,
    ) -> Result<Vec<Task>, DuplicateStep> {
        let node = parts.node.clone();
        Ok(vec![Box::new(move |cancel| {
            tokio::spawn(returned::run(node, cancel))
        })])
    }

    fn task_handlers(&self, parts: &Parts) -> Vec<Arc<dyn TaskHandler>> {
        vec![full::handler(parts.node.clone())]
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        rest::routes()
    }

    fn keys(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Volume records for the unit tests.
#[cfg(test)]
mod fixtures {
    use gd_api::{BrickKind, SubvolType};
    use gd_volume::model::{BrickRecord, SubvolRecord, VolumeAuth, VolumeRecord, VolumeState};
    use uuid::Uuid;

    pub(crate) fn node(i: u8) -> Uuid {
        Uuid::from_bytes([i; 16])
    }

    /// A started volume `gv0` with a set of each `(kind, nodes)`, one brick `/b` per node.
    pub(crate) fn volume(sets: &[(SubvolType, &[u8])]) -> VolumeRecord {
        let set = |kind, nodes: &[u8]| SubvolRecord {
            kind,
            replica: nodes.len() as u32,
            arbiter: 0,
            disperse: 0,
            redundancy: 0,
            bricks: nodes
                .iter()
                .map(|n| BrickRecord {
                    id: Uuid::new_v4(),
                    peer_id: node(*n),
                    host: format!("h{n}"),
                    path: "/b".into(),
                    kind: BrickKind::default(),
                    index: None,
                    reset: false,
                })
                .collect(),
            pending: false,
            decommissioned: false,
        };
        VolumeRecord {
            id: Uuid::new_v4(),
            name: "gv0".into(),
            transport: "tcp".into(),
            state: VolumeState::Started,
            subvols: sets.iter().map(|(k, n)| set(*k, n)).collect(),
            options: Default::default(),
            metadata: Default::default(),
            auth: VolumeAuth {
                username: Uuid::nil(),
                password: Uuid::nil(),
            },
        }
    }
}
