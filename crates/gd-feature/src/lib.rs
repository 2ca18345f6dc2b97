//! The seam features plug into, and what they run on.
//!
//! Why a seam: each feature (volumes today; bricks, rebalance, heal, metrics, events next)
//! brings the same kinds of parts — transaction steps every node registers, REST routes with
//! their OpenAPI, background tasks, store prefixes it owns — and the daemon must wire them in
//! one explicit place (the daemon's list of features) rather than each feature reaching into
//! the node.
//!
//! [`Cluster`] is what a feature's operations run on: the node's context and the transaction
//! engine, built once at start-up in dependency order ([`Cluster::assemble`]: each feature's
//! own machinery — the volume feature's process reconciler — then every step, then the
//! engine): nothing is set late, so nothing can be missing when a request arrives.
//!
//! Also what every feature's operations and handlers share: [`operation`] runs a cluster
//! transaction for a request (answering when done, or 202 with where to follow) and renders
//! its failure once; [`http`] holds the error answer and the body extractors.
//!
//! Tasks that must run once per object (a volume's rebalance) are led by one node at a time:
//! a feature brings their handlers ([`Feature::task_handlers`]) and each node runs one
//! `gd_core::task::TaskRunner` with all of them.
//!
//! A feature's objects are also figures of a metrics scrape ([`Figures`]), read from the
//! store at each scrape.
//!
//! A feature may also work around every operation ([`Around`]: GD1's hook scripts run
//! before a transaction's steps and after its commit).
//!
//! **API boundary:** [`Feature`], [`Parts`], [`Task`], [`Cluster`], [`Figures`], [`Around`]; [`operation::run`];
//! [`http::ApiErr`] and the extractors. A feature crate depends on this crate, `gd-node` and
//! `gd-core`, never on the daemon, nor on another feature but the volume feature (whose model
//! the volume-centric features read).

use std::{sync::Arc, time::Duration};

use axum::extract::FromRef;
use gd_core::{
    OpError,
    metrics::Gauges,
    task::{TaskHandler, TaskRunner},
    txn::{DuplicateStep, Engine, Registry, Transaction},
};
use gd_node::node::Node;
use gd_rpc_server::SunRpcServer;
use gd_store::StoreError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

pub mod http;
pub mod operation;

/// One feature: its steps, routes, background work and store prefixes.
pub trait Feature: Send + Sync {
    /// Its name, for logs ("volumes").
    fn name(&self) -> &'static str;

    /// Builds what it runs on this node: registers its transaction steps (every node
    /// registers the same ones; they never start transactions themselves) and returns its
    /// background work, started once the node serves.
    fn assemble(&self, parts: &Parts, registry: &mut Registry) -> Result<Vec<Task>, DuplicateStep>;

    /// The handlers of the tasks it brings (work that runs once per object under a leader
    /// elected through the store, `gd_core::task`); one runner on each node runs them all.
    fn task_handlers(&self, _parts: &Parts) -> Vec<Arc<dyn TaskHandler>> {
        vec![]
    }

    /// Its REST routes, with their OpenAPI annotations.
    fn routes(&self) -> OpenApiRouter<Cluster>;

    /// What it adds to a metrics scrape: the state of its objects, read from the store.
    fn figures(&self, _parts: &Parts) -> Vec<Arc<dyn Figures>> {
        vec![]
    }

    /// What it does around every operation's transaction (GD1's hook scripts).
    fn around(&self, _parts: &Parts) -> Vec<Arc<dyn Around>> {
        vec![]
    }

    /// The store prefixes it owns (declared in `gd_core::keys`); no two features own one
    /// ([`Cluster::assemble`] refuses that).
    fn keys(&self) -> &'static [&'static str];
}

/// Figures a feature reads at each metrics scrape: its objects as the store holds them, so
/// every node answers the same, and none asks another.
#[async_trait::async_trait]
pub trait Figures: Send + Sync {
    /// Adds the figures to `out`.
    async fn collect(&self, out: &mut Gauges) -> Result<(), StoreError>;
}

/// Work a feature does around the operations of every feature ([`operation::run`] calls it):
/// before a transaction starts, it may add steps to it; once it committed, it is told.
#[async_trait::async_trait]
pub trait Around: Send + Sync {
    /// Before `txn` starts: may add steps (it runs under the same locks, all or nothing).
    async fn before(&self, txn: &mut Transaction) -> Result<(), OpError>;

    /// Once `txn` committed (what it was, without its steps). Must not wait long: the
    /// operation's answer waits for it (every feature's `after` at once).
    async fn after(&self, txn: &Transaction);
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

/// What a feature is assembled from (the engine comes after its steps).
pub struct Parts {
    pub node: Arc<Node>,
    /// The SunRPC server: its port map, its volfile source, its clients to notify.
    pub rpc: SunRpcServer,
}

/// Background work of a feature, started once the node serves.
pub type Task = Box<dyn FnOnce(CancellationToken) -> JoinHandle<()> + Send>;

/// The node at work: its context and the transaction engine with every feature's steps.
/// Cheap to clone; the REST state.
#[derive(Clone)]
pub struct Cluster {
    pub node: Arc<Node>,
    pub engine: Arc<Engine>,
    /// The SunRPC server (its clients, for the callbacks an operation sends them).
    pub rpc: SunRpcServer,
    /// Every feature's figures, for a metrics scrape.
    pub figures: Arc<[Arc<dyn Figures>]>,
    /// What features do around every operation.
    pub around: Arc<[Arc<dyn Around>]>,
}

impl Cluster {
    /// Assembles every feature (its steps, its background work) and the engine; nothing runs
    /// yet ([`Cluster::spawn`] starts it).
    pub fn assemble(
        node: Arc<Node>,
        rpc: SunRpcServer,
        features: &[Box<dyn Feature>],
    ) -> Result<(Cluster, Vec<Task>), AssembleError> {
        check_keys(features)?;
        let parts = Parts { node, rpc };
        let mut registry = Registry::new();
        let mut tasks: Vec<Task> = vec![];
        let mut handlers = vec![];
        let mut figures = vec![];
        let mut around = vec![];
        for f in features {
            tasks.extend(f.assemble(&parts, &mut registry)?);
            handlers.extend(f.task_handlers(&parts));
            figures.extend(f.figures(&parts));
            around.extend(f.around(&parts));
        }
        if !handlers.is_empty() {
            let node = parts.node.clone();
            let runner = Arc::new(TaskRunner::new(
                node.store.clone(),
                node.identity().peer_id,
                handlers,
            ));
            let liveness = node.liveness.clone();
            tasks.push(Box::new(move |cancel| {
                tokio::spawn(runner.run(move || liveness.lease(), cancel))
            }));
        }
        let engine = Engine::counted(
            parts.node.store.clone(),
            parts.node.identity().peer_id,
            registry,
            parts.node.metrics.clone(),
        );
        Ok((
            Cluster {
                node: parts.node,
                engine,
                rpc: parts.rpc,
                figures: figures.into(),
                around: around.into(),
            },
            tasks,
        ))
    }

    /// Starts the transaction engine (participant, recovery of this node's own abandoned
    /// transactions, cleanup leader) and the features' background work; returns their tasks.
    pub fn spawn(&self, tasks: Vec<Task>, cancel: &CancellationToken) -> Vec<JoinHandle<()>> {
        let liveness = self.node.liveness.clone();
        let engine = &self.engine;
        let mut handles = vec![
            tokio::spawn(engine.clone().run_participant(cancel.clone())),
            tokio::spawn(recover_own(engine.clone(), cancel.clone())),
            tokio::spawn(
                engine
                    .clone()
                    .run_cleanup(move || liveness.lease(), cancel.clone()),
            ),
        ];
        handles.extend(tasks.into_iter().map(|t| t(cancel.clone())));
        handles
    }
}

/// Ends the transactions this node started before it restarted (their coordinator died with
/// the old process), retrying until the store answers.
pub async fn recover_own(engine: Arc<Engine>, cancel: CancellationToken) {
    let mut delay = Duration::from_millis(200);
    loop {
        match engine.recover_own().await {
            Ok(0) => return,
            Ok(n) => {
                tracing::info!(
                    count = n,
                    "ended the transactions this node left when it stopped"
                );
                return;
            }
            Err(e) => tracing::debug!(error = %e, "cannot look for abandoned transactions yet"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(5));
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
        fn assemble(&self, _: &Parts, _: &mut Registry) -> Result<Vec<Task>, DuplicateStep> {
            Ok(vec![])
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
