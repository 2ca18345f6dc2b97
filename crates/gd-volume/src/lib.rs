//! The volume feature: volumes and their options, the bricks and self-heal daemons that serve
//! them, and the volfiles GlusterFS processes fetch.
//!
//! Its parts, bottom up (no import runs the other way):
//! - [`model`]: the stored volume and brick records, reads, the compare-and-swap update;
//! - [`options`]: the option catalog (the installed xlators' tables, GD1's keys, groups
//!   shipped in code) — checks and volgen's view of a volume's options;
//! - [`option_groups`] and [`cluster_options`]: what users store besides volumes;
//! - [`processes`]: what this node's reconciler sees and the brick and self-heal services it
//!   keeps running (and how a brick is launched);
//! - [`volumes`]: create, delete, start, stop as transactions, with their steps;
//!   [`volume_options`]: option set and reset as transactions;
//! - [`volfiles`]: the volfiles GETSPEC serves; [`rest`]: the routes; [`figures`]: volumes
//!   and bricks as a metrics scrape reads them;
//! - this file: the wiring the daemon sees ([`Volumes`], a [`Feature`]): its steps, its
//!   routes, its reconciler, the volfile source, the store prefixes it owns.
//!
//! **API boundary:** [`Volumes`] (what the daemon lists), [`STEPS`] (what the crash matrix
//! covers), [`options::init`] (read the xlators' tables once at start-up). The rest is public
//! for the feature's own tests and for features that read volumes (through the model).

pub mod cluster_options;
pub mod figures;
pub mod model;
pub mod option_groups;
pub mod options;
pub mod processes;
pub mod rest;
pub mod volfiles;
pub mod volume_options;
pub mod volumes;

use std::sync::Arc;

use gd_core::keys::{BRICKS, VOLUMES};
use gd_core::txn::{DuplicateStep, Registry, Step};
use utoipa_axum::router::OpenApiRouter;

use gd_feature::{Cluster, Feature, Parts, Task};
use gd_node::node::Node;

use crate::{
    processes::{Processes, processes},
    volume_options::StoreOptions,
    volumes::{
        AddSets, CommitSets, ConvergeBricks, DeleteVolume, InitBricks, MarkDecommissioned,
        MarkJoining, MarkReset, PrepareBrick, PrepareReset, RecordState, ReshapeServices,
        RestartServices, StopProcesses, StoreReshape, StoreVolume, SwapBrick, ValidateBricks,
    },
};

/// The name of every step of every transaction: the steps every node registers
/// ([`register`]), and the list the crash matrix covers.
pub const STEPS: [&str; 19] = [
    ValidateBricks::NAME,
    InitBricks::NAME,
    StoreVolume::NAME,
    StopProcesses::NAME,
    DeleteVolume::NAME,
    RecordState::NAME,
    ConvergeBricks::NAME,
    StoreOptions::NAME,
    AddSets::NAME,
    CommitSets::NAME,
    PrepareBrick::NAME,
    SwapBrick::NAME,
    RestartServices::NAME,
    MarkDecommissioned::NAME,
    StoreReshape::NAME,
    ReshapeServices::NAME,
    MarkJoining::NAME,
    MarkReset::NAME,
    PrepareReset::NAME,
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
        .add(InitBricks {
            node: node(),
            processes: processes(),
        })?
        .add(StoreVolume { node: node() })?
        .add(StopProcesses {
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
        .add(StoreOptions { node: node() })?
        .add(AddSets { node: node() })?
        .add(CommitSets { node: node() })?
        .add(PrepareBrick {
            node: node(),
            processes: processes(),
        })?
        .add(SwapBrick { node: node() })?
        .add(RestartServices {
            node: node(),
            processes: processes(),
        })?
        .add(MarkDecommissioned { node: node() })?
        .add(StoreReshape { node: node() })?
        .add(ReshapeServices {
            node: node(),
            processes: processes(),
        })?
        .add(MarkJoining {
            node: node(),
            processes: processes(),
        })?
        .add(MarkReset {
            node: node(),
            processes: processes(),
        })?
        .add(PrepareReset { node: node() })?;
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

    fn figures(&self, parts: &Parts) -> Vec<Arc<dyn gd_feature::Figures>> {
        vec![Arc::new(figures::VolumeFigures {
            node: parts.node.clone(),
        })]
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        rest::routes()
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
