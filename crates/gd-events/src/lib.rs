//! The events feature: the cluster's events (`gd_core::events`: written once to the store by
//! whoever makes a change), listed (`GET /v1/events`) and streamed live (`GET
//! /v1/events/stream`, server-sent events resuming after a `seq`), with a bounded history.
//!
//! Who tells what: an operation's initiator, once it committed ([`operations`]: volumes
//! created, started, stopped, deleted, expanded, shrunk, options set and reset, bricks
//! replaced and reset); the peer add and remove initiator (`peer.added`, `peer.removed`); a
//! brick's node (`brick.up`, `brick.down`, `brick.restarted`); a task's leader, with the task's
//! record (`task.started`, `task.succeeded`, `task.stopped`, `task.failed`); the keeper
//! ([`keeper`], one node at a time: `peer.online`, `peer.offline`, and the history's bound);
//! every node of its own store ([`quorum`]: `store.quorum-lost`, `store.quorum-regained`).
//!
//! Webhooks ([`webhooks`]: GD2's API, GD1's body and JWT signing) get every event at least
//! once, in order, from the keeper ([`deliver`]), which retries each with back-off; a
//! webhook that stays down holds up nothing else.
//!
//! **API boundary:** [`Events`].

pub mod deliver;
pub mod follow;
pub mod history;
pub mod keeper;
pub mod operations;
pub mod quorum;
pub mod rest;
pub mod webhooks;

use std::sync::Arc;

use gd_core::{
    keys::{EVENTS, WEBHOOK_CURSORS, WEBHOOKS},
    txn::{DuplicateStep, Registry},
};
use gd_feature::{Around, Cluster, Feature, Parts, Task};
use utoipa_axum::router::OpenApiRouter;

/// The events feature, as the daemon lists it.
pub struct Events;

impl Feature for Events {
    fn name(&self) -> &'static str {
        "events"
    }

    fn assemble(
        &self,
        parts: &Parts,
        _registry: &mut Registry,
    ) -> Result<Vec<Task>, DuplicateStep> {
        let (node, node2) = (parts.node.clone(), parts.node.clone());
        Ok(vec![
            Box::new(move |cancel| tokio::spawn(keeper::run(node, cancel))),
            Box::new(move |cancel| tokio::spawn(quorum::run(node2, cancel))),
        ])
    }

    fn around(&self, parts: &Parts) -> Vec<Arc<dyn Around>> {
        vec![Arc::new(operations::OperationEvents {
            node: parts.node.clone(),
        })]
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        rest::routes()
    }

    fn keys(&self) -> &'static [&'static str] {
        &[EVENTS, WEBHOOKS, WEBHOOK_CURSORS]
    }
}
