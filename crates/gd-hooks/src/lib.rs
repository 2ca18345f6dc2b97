//! The hooks feature: GD1's hook scripts, run around the volume operations GD1 runs them for
//! (create, start, stop, delete, set, reset, add-brick, remove-brick), with GD1's layout,
//! order and arguments, so the scripts the glusterfs-server package ships (Samba, CTDB,
//! NFS-Ganesha, quota, SELinux) and an administrator's own run unmodified.
//!
//! Where: `hooks-dir` (`<localstatedir>/hooks/1` by default, GD2's place with GD1's layout;
//! `/var/lib/glusterd/hooks/1` runs the packaged scripts). Each node publishes which scripts
//! it has ([`inventory`]); an operation's transaction gets a `hooks.pre` step on the nodes with
//! pre-hooks for it, before its own steps — a script that fails refuses the operation with
//! what it said, and nothing of the operation is done (GD1 only logs it: a pre-hook is a veto
//! here) — and once it committed, the nodes with post-hooks queue them ([`run::PostQueue`]:
//! one at a time, in commit order, failures logged, as GD1). Every script is bounded in time
//! and its output logged. Before a volume's scripts run, `<localstatedir>/vols/<v>/info` is
//! written as GD1 writes it ([`volinfo`]), since the packaged scripts read it.
//!
//! **API boundary:** [`Hooks`], [`STEPS`].

pub mod inventory;
pub mod rest;
pub mod run;
pub mod scripts;
pub mod volinfo;

use std::sync::Arc;

use async_trait::async_trait;
use gd_core::{
    OpError,
    keys::HOOKS,
    txn::{DuplicateStep, HookCall, Registry, Step, Transaction},
};
use gd_feature::{Around, Cluster, Feature, Parts, Task};
use gd_node::node::Node;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    run::{PostQueue, PreHooks},
    scripts::Phase,
};

/// The name of its one step (the crash matrix covers it).
pub const STEPS: [&str; 1] = [PreHooks::NAME];

/// The hooks feature, as the daemon lists it.
pub struct Hooks;

/// A node's hooks: its directory and its post-hook queue.
fn hooks_of(node: &Arc<Node>) -> run::Hooks {
    run::Hooks {
        node: node.clone(),
        root: node.config.hooks_dir.clone(),
    }
}

impl Feature for Hooks {
    fn name(&self) -> &'static str {
        "hooks"
    }

    fn assemble(&self, parts: &Parts, registry: &mut Registry) -> Result<Vec<Task>, DuplicateStep> {
        registry.add(PreHooks(hooks_of(&parts.node)))?;
        let (node, root) = (parts.node.clone(), parts.node.config.hooks_dir.clone());
        let (_, worker) = post_queue(&parts.node);
        Ok(vec![
            Box::new(move |cancel| tokio::spawn(inventory::publish(node, root, cancel))),
            Box::new(worker),
        ])
    }

    fn around(&self, parts: &Parts) -> Vec<Arc<dyn Around>> {
        vec![Arc::new(AroundOperations {
            node: parts.node.clone(),
        })]
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        rest::routes()
    }

    fn keys(&self) -> &'static [&'static str] {
        &[HOOKS]
    }
}

/// The node's post-hook queue: one per node, made once (the internal route queues on it).
fn post_queue(
    node: &Arc<Node>,
) -> (
    PostQueue,
    Box<dyn FnOnce(tokio_util::sync::CancellationToken) -> tokio::task::JoinHandle<()> + Send>,
) {
    let (queue, worker) = PostQueue::new(hooks_of(node));
    let mut slot = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    slot.insert(node.identity().peer_id, queue.clone());
    (queue, Box::new(worker))
}

/// Each node's post-hook queue, by node id (several nodes run in one process in tests).
static QUEUES: std::sync::Mutex<std::collections::BTreeMap<uuid::Uuid, PostQueue>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Queues `call`'s post-hooks on this node.
pub(crate) fn queue_post(node: &Node, call: HookCall) {
    let queue = QUEUES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&node.identity().peer_id)
        .cloned();
    match queue {
        Some(q) => q.push(call),
        None => tracing::warn!("post-hook scripts not run: this node has no hook queue"),
    }
}

/// Adds the pre-hook step to an operation's transaction, and tells the nodes with post-hooks
/// once it committed.
struct AroundOperations {
    node: Arc<Node>,
}

#[async_trait]
impl Around for AroundOperations {
    async fn before(&self, txn: &mut Transaction) -> Result<(), OpError> {
        let Some(call) = &txn.hook else {
            return Ok(());
        };
        let nodes = inventory::nodes_with(self.node.store.as_ref(), &call.op, Phase::Pre).await?;
        if !nodes.is_empty() {
            txn.steps
                .insert(0, PreHooks::call(nodes, call).within(PRE_STEP_TIMEOUT));
        }
        Ok(())
    }

    async fn after(&self, txn: &Transaction) {
        let Some(call) = txn.hook.clone() else {
            return;
        };
        let nodes = match inventory::nodes_with(self.node.store.as_ref(), &call.op, Phase::Post)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "post-hook scripts not run: the store cannot say which nodes have them");
                return;
            }
        };
        let me = self.node.identity().peer_id;
        for peer in nodes {
            if peer == me {
                queue_post(&self.node, call.clone());
                continue;
            }
            // Told in the background: the answer does not wait for other nodes.
            let (node, call) = (self.node.clone(), call.clone());
            tokio::spawn(async move {
                if let Err(e) = node
                    .call_peer::<_, serde::de::IgnoredAny>(peer, rest::POST_PATH, &call)
                    .await
                {
                    tracing::warn!(%peer, error = %e.message, "a node was not told to run its post-hook scripts");
                }
            });
        }
    }
}

/// The longest the pre-hook step may take: every script of a node at its bound.
const PRE_STEP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
