//! The rebalance task's leader: one node, elected through the store ([`gd_core::task`]),
//! decides when a volume's rebalance has ended, from the parts every node publishes.
//!
//! The parts run on their own nodes whoever leads; the leader only watches. So when the
//! leader's node dies, another node takes the task over and goes on watching: no process is
//! started or stopped by the handover, and no node ever runs two processes for one volume.
//! The rebalance ends when every node's part has: failed if one failed (with the nodes and
//! their reasons), stopped if one was stopped, else succeeded. A part of a node that is down
//! waits for the node (its process runs on, and its agent reports when it is back).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use gd_core::task::{self, Ended, Leading, TaskHandler, TaskState};
use gd_node::node::Node;

use crate::model::{self, KIND};

/// How often the leader looks at the parts.
const LOOK: Duration = Duration::from_secs(1);

/// Leads rebalance tasks.
pub struct Leader {
    pub node: Arc<Node>,
}

#[async_trait]
impl TaskHandler for Leader {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, task: &mut Leading) -> Result<Ended, String> {
        let plan = model::plan_of(&task.record)?;
        let vol = task.record.object.clone();
        let store = self.node.store.as_ref();
        loop {
            // Ended by another hand (its remove-brick start undone): nothing left to lead.
            match task::get(store, KIND, &vol).await {
                Ok(Some(t))
                    if t.state == TaskState::Running
                        && model::plan_of(&t).is_ok_and(|p| p.id == plan.id) => {}
                Ok(_) => return Ok(Ended::Stopped),
                Err(e) => tracing::debug!(error = %e, "cannot read the task yet"),
            }
            match gd_volume::model::get_volume(store, &vol).await {
                Ok(Some(v)) if v.id == plan.volume_id => {}
                Ok(_) => return Err(format!("volume {vol} was deleted during its rebalance")),
                Err(e) => tracing::debug!(error = %e, "cannot read the volume yet"),
            }
            match model::parts(store, &vol).await {
                Ok(parts) => {
                    let states: Vec<_> = plan
                        .nodes
                        .iter()
                        .map(|n| (n, parts.get(n).filter(|p| p.rebalance == plan.id)))
                        .collect();
                    if states
                        .iter()
                        .all(|(_, p)| p.is_some_and(|p| p.state.ended()))
                    {
                        let mut failed = vec![];
                        for (n, p) in &states {
                            let Some(p) = p else { continue };
                            if !p.state.completed() && !p.state.stopped() {
                                let label = gd_node::peers::node_label(store, **n).await;
                                failed.push(if p.message.is_empty() {
                                    label
                                } else {
                                    format!("{label} ({})", p.message)
                                });
                            }
                        }
                        if !failed.is_empty() {
                            return Err(format!(
                                "the rebalance of {vol} failed on {}",
                                failed.join(", ")
                            ));
                        }
                        return Ok(
                            if states
                                .iter()
                                .any(|(_, p)| p.is_some_and(|p| p.state.stopped()))
                            {
                                Ended::Stopped
                            } else {
                                Ended::Succeeded
                            },
                        );
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cannot read the rebalance parts yet"),
            }
            tokio::select! {
                _ = task.cancelled() => return Ok(Ended::Succeeded),
                _ = tokio::time::sleep(LOOK) => {}
            }
        }
    }
}
