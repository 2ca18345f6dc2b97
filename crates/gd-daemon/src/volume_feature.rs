//! The volume feature as the daemon wires it (`Feature`): its steps, its routes, its
//! process reconciler (bricks and self-heal daemons) and the volfiles GETSPEC serves.
//!
//! Why apart from `volumes`: the wiring depends on every part of the feature (the volume
//! operations, their options, volfiles, the REST module); the parts do not depend on it.

use std::sync::Arc;

use gd_core::keys::{BRICKS, VOLUMES};
use gd_core::txn::{DuplicateStep, Registry, Step};
use utoipa_axum::router::OpenApiRouter;

use crate::{
    feature::{Cluster, Feature, Parts, Task},
    node::Node,
    volume_options::StoreOptions,
    volumes::{
        ConvergeBricks, DeleteVolume, InitBricks, Processes, RecordState, StopProcesses,
        StoreVolume, ValidateBricks, processes,
    },
};

/// The name of every step of every transaction: the steps every node registers
/// ([`register`]), and the list the crash matrix covers.
pub const STEPS: [&str; 8] = [
    ValidateBricks::NAME,
    InitBricks::NAME,
    StoreVolume::NAME,
    StopProcesses::NAME,
    DeleteVolume::NAME,
    RecordState::NAME,
    ConvergeBricks::NAME,
    StoreOptions::NAME,
];

/// Registers the volume steps ([`STEPS`]); those that run a reconciler pass get `processes`.
pub fn register(
    node: &Arc<Node>,
    processes: &Arc<Processes>,
    r: &mut Registry,
) -> Result<(), DuplicateStep> {
    let node = || node.clone();
    let processes = || processes.clone();
    r.add(ValidateBricks { node: node() })?
        .add(InitBricks { node: node() })?
        .add(StoreVolume { node: node() })?
        .add(StopProcesses {
            node: node(),
            processes: processes(),
        })?
        .add(DeleteVolume { node: node() })?
        .add(RecordState {
            node: node(),
            processes: processes(),
        })?
        .add(ConvergeBricks {
            processes: processes(),
        })?
        .add(StoreOptions { node: node() })?;
    Ok(())
}

/// The volume feature: volumes and their options, bricks and self-heal daemons.
pub struct Volumes;

impl Feature for Volumes {
    fn name(&self) -> &'static str {
        "volumes"
    }

    fn assemble(&self, parts: &Parts, registry: &mut Registry) -> Result<Vec<Task>, DuplicateStep> {
        // Volfiles for GETSPEC: the SunRPC server reads them from the volume records.
        parts
            .rpc
            .set_volfile_source(Arc::new(crate::volfiles::StoreVolfiles {
                node: parts.node.clone(),
            }));
        let processes = processes(&parts.node, &parts.rpc);
        register(&parts.node, &processes, registry)?;
        let store = parts.node.store.clone();
        Ok(vec![Box::new(move |cancel| {
            tokio::spawn(processes.run(store, cancel))
        })])
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        crate::rest::volume_routes()
    }

    fn keys(&self) -> &'static [&'static str] {
        &[
            VOLUMES,
            BRICKS,
            gd_core::keys::BRICK_STATUS,
            gd_core::keys::OPTION_GROUPS,
            gd_core::keys::CLUSTER_OPTIONS,
        ]
    }
}
