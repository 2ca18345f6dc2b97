//! The rebalance feature: after a volume's shape changes, GlusterFS's own rebalance processes
//! move its files to where the new layout puts them, one process on each node with bricks of
//! the volume, as GD1 runs them.
//!
//! Its parts, bottom up:
//! - [`model`]: the task's plan, each node's part, a stop request (what the store holds);
//! - [`process`]: one rebalance process (GD1's command line, its files, status and stop over
//!   its control socket);
//! - [`agent`]: every node runs its parts of the running rebalances and publishes them (and
//!   takes the processes' status pushes);
//! - [`leader`]: the task handler that decides, from the parts, when a rebalance ended; led
//!   by one node at a time, through the store (`gd_core::task`);
//! - [`ops`]: start, stop, status; [`remove`]: remove-brick, whose migration is a rebalance
//!   task of its own kind of process command; [`rest`]: their routes; [`figures`]: each
//!   node's part as a metrics scrape reads it.
//!
//! It builds on the volume feature's model (the volume's bricks and state): the one feature
//! others may read (the tidy rules allow it).

pub mod agent;
pub mod figures;
pub mod leader;
pub mod model;
pub mod ops;
pub mod process;
pub mod remove;
pub mod rest;

use std::sync::Arc;

use gd_core::{
    keys::{REBALANCE, REBALANCE_STOP},
    task::TaskHandler,
    txn::{DuplicateStep, Registry, Step},
};
use gd_feature::{Cluster, Feature, Parts, Task};
use utoipa_axum::router::OpenApiRouter;

/// The name of every transaction step of the feature (the crash matrix covers them).
pub const STEPS: [&str; 1] = [<remove::BeginTask as Step>::NAME];

/// The rebalance feature.
pub struct Rebalance;

impl Feature for Rebalance {
    fn name(&self) -> &'static str {
        "rebalance"
    }

    fn assemble(&self, parts: &Parts, registry: &mut Registry) -> Result<Vec<Task>, DuplicateStep> {
        registry.add(remove::BeginTask {
            node: parts.node.clone(),
        })?;
        let agent = agent::Agent::new(parts.node.clone());
        parts.rpc.set_event_sink(agent.clone());
        Ok(vec![Box::new(move |cancel| {
            tokio::spawn(agent.run(cancel))
        })])
    }

    fn task_handlers(&self, parts: &Parts) -> Vec<Arc<dyn TaskHandler>> {
        vec![Arc::new(leader::Leader {
            node: parts.node.clone(),
        })]
    }

    fn figures(&self, parts: &Parts) -> Vec<Arc<dyn gd_feature::Figures>> {
        vec![Arc::new(figures::RebalanceFigures {
            node: parts.node.clone(),
        })]
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        rest::routes()
    }

    fn keys(&self) -> &'static [&'static str] {
        &[REBALANCE, REBALANCE_STOP]
    }
}
