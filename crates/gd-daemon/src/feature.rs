//! The seam features plug into, and what they run on.
//!
//! Why a seam: each feature (volumes today; bricks, rebalance, heal, metrics, events next)
//! brings the same kinds of parts — transaction steps every node registers, REST routes with
//! their OpenAPI, background tasks, store prefixes it owns — and the daemon must wire them in
//! one explicit place ([`crate::features`]) rather than each feature reaching into the node.
//!
//! [`Cluster`] is what a feature's operations run on: the node's context, the transaction
//! engine and the process reconciler, built once at start-up in dependency order
//! ([`Cluster::assemble`]): nothing is set late, so nothing can be missing when a request
//! arrives.

use std::sync::Arc;

use axum::extract::FromRef;
use gd_core::txn::{DuplicateStep, Engine, Registry};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    node::Node,
    reconcile::{Reconciler, Service},
    sunrpc::SunRpcServer,
};

/// One feature: its steps, routes, processes, background work and store prefixes.
pub trait Feature: Send + Sync {
    /// Its name, for logs ("volumes").
    fn name(&self) -> &'static str;

    /// Registers its transaction steps (every node registers the same ones). The steps get
    /// the node and the reconciler; they never start transactions themselves.
    fn steps(&self, parts: &Parts, registry: &mut Registry) -> Result<(), DuplicateStep>;

    /// Its REST routes, with their OpenAPI annotations.
    fn routes(&self) -> OpenApiRouter<Cluster>;

    /// The store prefixes it owns (declared in `gd_core::keys`); no two features own one
    /// ([`Cluster::assemble`] refuses that).
    fn keys(&self) -> &'static [&'static str];

    /// The kinds of process it keeps running on every node ([`crate::reconcile::Service`]),
    /// in the order a reconciler pass starts them.
    fn services(&self, node: &Arc<Node>, rpc: &SunRpcServer) -> Vec<Arc<dyn Service>> {
        let _ = (node, rpc);
        vec![]
    }

    /// Starts what it runs in the background on every node, until `cancel`.
    fn spawn(&self, cluster: &Cluster, cancel: &CancellationToken) -> Vec<JoinHandle<()>> {
        let _ = (cluster, cancel);
        vec![]
    }
}

/// Why the features cannot be assembled: a programming error, refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error(transparent)]
    DuplicateStep(#[from] DuplicateStep),
    #[error("internal: store prefix {prefix} is owned by both features {first} and {second}")]
    SharedPrefix {
        prefix: &'static str,
        first: &'static str,
        second: &'static str,
    },
}

/// Refuses a store prefix that two features own.
fn check_keys(features: &[Box<dyn Feature>]) -> Result<(), AssembleError> {
    let mut owners = std::collections::BTreeMap::new();
    for f in features {
        for prefix in f.keys() {
            if let Some(first) = owners.insert(*prefix, f.name()) {
                return Err(AssembleError::SharedPrefix {
                    prefix,
                    first,
                    second: f.name(),
                });
            }
        }
    }
    Ok(())
}

/// What steps are built from: the node and its reconciler (the engine comes after them).
pub struct Parts {
    pub node: Arc<Node>,
    pub reconciler: Arc<Reconciler>,
}

/// The node at work: its context, the transaction engine with every feature's steps, and the
/// reconciler. Cheap to clone; the REST state.
#[derive(Clone)]
pub struct Cluster {
    pub node: Arc<Node>,
    pub engine: Arc<Engine>,
    pub reconciler: Arc<Reconciler>,
    /// The SunRPC server: its port map, its volfile source, its clients to notify.
    pub rpc: SunRpcServer,
}

impl Cluster {
    /// Builds the reconciler, the registry of every feature's steps and the engine (none of
    /// them running yet: [`Cluster::spawn`]).
    pub fn assemble(
        node: Arc<Node>,
        rpc: SunRpcServer,
        features: &[Box<dyn Feature>],
    ) -> Result<Cluster, AssembleError> {
        check_keys(features)?;
        let services = features
            .iter()
            .flat_map(|f| f.services(&node, &rpc))
            .collect();
        let parts = Parts {
            reconciler: Reconciler::new(node.clone(), rpc.clone(), services),
            node,
        };
        let mut registry = Registry::new();
        for f in features {
            f.steps(&parts, &mut registry)?;
        }
        let engine = Engine::new(
            parts.node.store.clone(),
            parts.node.identity().peer_id,
            registry,
        );
        Ok(Cluster {
            node: parts.node,
            engine,
            reconciler: parts.reconciler,
            rpc,
        })
    }

    /// Starts the transaction engine (participant, recovery of this node's own abandoned
    /// transactions, cleanup leader), the reconciler, and every feature's background work;
    /// returns their tasks.
    pub fn spawn(
        &self,
        features: &[Box<dyn Feature>],
        cancel: &CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let liveness = self.node.liveness.clone();
        let engine = &self.engine;
        let mut tasks = vec![
            tokio::spawn(engine.clone().run_participant(cancel.clone())),
            tokio::spawn(crate::transactions::recover_own(
                engine.clone(),
                cancel.clone(),
            )),
            tokio::spawn(
                engine
                    .clone()
                    .run_cleanup(move || liveness.lease(), cancel.clone()),
            ),
            tokio::spawn(self.reconciler.clone().run(cancel.clone())),
        ];
        for f in features {
            tasks.extend(f.spawn(self, cancel));
        }
        tasks
    }
}

impl FromRef<Cluster> for Arc<Node> {
    fn from_ref(c: &Cluster) -> Arc<Node> {
        c.node.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Claims(&'static str, &'static [&'static str]);

    impl Feature for Claims {
        fn name(&self) -> &'static str {
            self.0
        }
        fn steps(&self, _: &Parts, _: &mut Registry) -> Result<(), DuplicateStep> {
            Ok(())
        }
        fn routes(&self) -> OpenApiRouter<Cluster> {
            OpenApiRouter::new()
        }
        fn keys(&self) -> &'static [&'static str] {
            self.1
        }
    }

    #[test]
    fn one_store_prefix_one_owner() {
        assert!(check_keys(&crate::features::all()).is_ok());
        let two: Vec<Box<dyn Feature>> = vec![
            Box::new(Claims("volumes", &["volumes/", "bricks/"])),
            Box::new(Claims("rebalance", &["rebalance/", "bricks/"])),
        ];
        assert_eq!(
            check_keys(&two).unwrap_err().to_string(),
            "internal: store prefix bricks/ is owned by both features volumes and rebalance"
        );
    }
}
