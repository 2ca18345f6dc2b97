//! remove-brick (GD1's `remove-brick <vol> [replica N] <bricks…> start|status|stop|commit|
//! force`): the leaving sets are decommissioned in the volume's record (the volume feature's
//! transaction), and their files move off them as a rebalance task of the volume run by
//! GlusterFS's rebalance processes in GD1's remove-brick mode (`GF_DEFRAG_CMD_START_FORCE`, on
//! the nodes of the leaving bricks, as GD1 runs them); `commit` then writes the volume without
//! them. No HTTP here.
//!
//! - `start` checks everything first (the bricks, then what a rebalance checks), so a refusal
//!   changes nothing; then one transaction locked on the volume decommissions the sets
//!   (`volume-reshape.decommission`) and records the migration's task (`rebalance.begin`), so
//!   neither is ever left without the other.
//! - `stop` stops the migration (files moved stay moved) and takes the mark back.
//! - `commit` is refused while the migration runs, or after it failed, was stopped, or left
//!   files behind, unless forced; forced, a running migration is stopped first. Without a
//!   start, only `force` removes bricks (with whatever files they hold), as in GD1; lowering
//!   the replica count is always such a removal, since the other copies hold every file.

use std::sync::Arc;

use async_trait::async_trait;
use gd_api::{ErrorCode, RebalanceStatus, RemoveBrickReq, VolumeInfo};
use gd_core::{
    OpError,
    task::{self, TaskState},
    txn::{HookCall, Step, StepError, Transaction},
};
use gd_feature::{Cluster, operation::run};
use gd_node::node::Node;
use gd_volume::{
    model::{VolumeRecord, volume_lock},
    volumes::{self, Reshape},
};
use serde::{Deserialize, Serialize};

use crate::{
    model::{self, Command, KIND, Plan},
    ops,
};

/// `remove-brick … start`: decommissions the leaving sets and starts moving their files off;
/// answers once every node's process runs.
pub async fn start(
    cx: &Cluster,
    name: &str,
    req: RemoveBrickReq,
) -> Result<RebalanceStatus, OpError> {
    if req.force {
        return Err(OpError::invalid(
            "start takes no force: commit with force removes bricks without moving their files",
        )
        .field("force", "true"));
    }
    let vol = ops::volume(cx, name).await?;
    let removal = volumes::plan_removal(&cx.node, &vol, &req.bricks, req.replica).await?;
    if removal.lowers_replica {
        return Err(OpError::invalid(format!(
            "lowering the replica count of {name} moves no file (the other copies hold them): commit it with force"
        )));
    }
    let nodes = removal.nodes();
    ops::preflight(cx, &vol, &nodes).await?;
    let plan = ops::new_plan(&vol, Command::Force, nodes, removal.bricks.clone());
    let me = cx.node.identity().peer_id;
    let begin = Begin {
        volume: name.to_owned(),
        plan: plan.clone(),
    };
    let txn = Transaction {
        operation: format!("volume remove-brick {name} start"),
        kind: "volume-remove-brick-start",
        hook: Some(HookCall::new("remove-brick", name)),
        locks: vec![volume_lock(name)],
        steps: vec![
            volumes::decommission_step(me, &removal, true),
            BeginTask::call(vec![me], &begin),
        ],
    };
    run(cx, txn).await?;
    ops::wait_begun(cx, name, plan.id).await
}

/// The arguments of `rebalance.begin`: the volume and the plan of its migration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Begin {
    pub volume: String,
    pub plan: Plan,
}

/// Records a remove-brick's migration as the volume's running task, in the transaction that
/// decommissions its sets; undo ends that task as stopped (every node's agent then stops a
/// process it may have started for it). Both are idempotent.
pub struct BeginTask {
    pub node: Arc<Node>,
}

#[async_trait]
impl Step for BeginTask {
    const NAME: &'static str = "rebalance.begin";
    type Args = Begin;

    async fn run(&self, a: &Begin) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        if let Some(t) = task::get(store, KIND, &a.volume).await?
            && model::plan_of(&t).is_ok_and(|p| p.id == a.plan.id)
        {
            return Ok(());
        }
        match ops::record_task(store, &a.volume, &a.plan).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ops::already_running(&a.volume).message.into()),
            Err(e) => Err(e.message.into()),
        }
    }

    async fn undo(&self, a: &Begin) -> Result<(), StepError> {
        task::end_unled(
            self.node.store.as_ref(),
            KIND,
            &a.volume,
            |t| model::plan_of(t).is_ok_and(|p| p.id == a.plan.id),
            TaskState::Stopped,
            "its remove-brick start was undone",
        )
        .await?;
        Ok(())
    }
}

/// The removal the last remove-brick of `vol` started, with its task and plan, if its sets
/// are still decommissioned (not committed, not stopped).
async fn started(
    cx: &Cluster,
    vol: &VolumeRecord,
) -> Result<Option<(Reshape, task::TaskRecord, Plan)>, OpError> {
    if !vol.subvols.iter().any(|s| s.decommissioned) {
        return Ok(None);
    }
    let store = cx.node.store.as_ref();
    let Some(t) = task::get(store, KIND, &vol.name).await? else {
        return Ok(None);
    };
    let plan = model::plan_of(&t).map_err(OpError::internal)?;
    if plan.volume_id != vol.id || plan.removing.is_empty() {
        return Ok(None);
    }
    let bricks: Vec<gd_api::BrickReq> = plan
        .removing
        .iter()
        .map(|b| gd_api::BrickReq {
            peerid: Some(b.peer_id),
            host: None,
            path: b.path.clone(),
            kind: Default::default(),
        })
        .collect();
    let removal = volumes::plan_removal(&cx.node, vol, &bricks, None).await?;
    Ok(Some((removal, t, plan)))
}

/// Refuses a request whose bricks are not those of the started remove-brick (none named
/// means those).
async fn same_bricks(
    cx: &Cluster,
    vol: &VolumeRecord,
    removal: &Reshape,
    req: &RemoveBrickReq,
) -> Result<(), OpError> {
    if req.bricks.is_empty() {
        return Ok(());
    }
    let named = volumes::plan_removal(&cx.node, vol, &req.bricks, None).await?;
    let ids = |r: &Reshape| {
        let mut v: Vec<_> = r.bricks.iter().map(|b| b.id).collect();
        v.sort();
        v
    };
    if ids(&named) != ids(removal) {
        return Err(OpError::invalid(format!(
            "the remove-brick of {} that started removes {}: name those bricks, or none",
            vol.name,
            removal.labels().join(" ")
        )));
    }
    Ok(())
}

fn none_started(name: &str) -> OpError {
    OpError::new(
        ErrorCode::Conflict,
        format!("no remove-brick of {name} has started (or it was committed or stopped)"),
    )
}

/// `remove-brick … status`: the last remove-brick's migration, from the store.
pub async fn status(cx: &Cluster, name: &str) -> Result<RebalanceStatus, OpError> {
    let s = ops::status(cx, name).await.map_err(|e| {
        if e.code == ErrorCode::NotFound {
            OpError::new(
                ErrorCode::NotFound,
                format!("volume {name} has had no remove-brick"),
            )
        } else {
            e
        }
    })?;
    if s.removing.is_empty() {
        return Err(OpError::new(
            ErrorCode::NotFound,
            format!("volume {name} has had no remove-brick since its last rebalance"),
        ));
    }
    Ok(s)
}

/// `remove-brick … stop`: stops the migration (files moved stay moved) and takes the
/// decommission back: the bricks stay in the volume and get new files again.
pub async fn stop(
    cx: &Cluster,
    name: &str,
    req: RemoveBrickReq,
) -> Result<RebalanceStatus, OpError> {
    let vol = ops::volume(cx, name).await?;
    let (removal, t, plan) = started(cx, &vol).await?.ok_or_else(|| none_started(name))?;
    same_bricks(cx, &vol, &removal, &req).await?;
    if t.state == TaskState::Running {
        ops::stop_task(cx, name, &plan).await?;
    }
    volumes::recommission(cx, &removal).await?;
    status(cx, name).await
}

/// `remove-brick … commit` (and `force`): the bricks leave the volume (see the module's
/// documentation for when this is refused).
pub async fn commit(cx: &Cluster, name: &str, req: RemoveBrickReq) -> Result<VolumeInfo, OpError> {
    let vol = ops::volume(cx, name).await?;
    let Some((removal, t, plan)) = started(cx, &vol).await? else {
        // Nothing migrated: only force removes the bricks, files and all.
        let removal = volumes::plan_removal(&cx.node, &vol, &req.bricks, req.replica).await?;
        if !req.force {
            return Err(OpError::invalid(format!(
                "the files on {} have not been moved off: start the remove-brick first, or commit with force to remove the bricks with their files",
                removal.labels().join(" ")
            )));
        }
        if let Some(t) = task::get(cx.node.store.as_ref(), KIND, name).await?
            && t.state == TaskState::Running
        {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!("a rebalance of {name} is running: stop it or wait for its end"),
            ));
        }
        return volumes::remove_bricks(cx, &removal).await;
    };
    if req
        .replica
        .is_some_and(|r| Some(r) != removal.before.first().map(|s| s.replica.max(1)))
    {
        return Err(OpError::invalid(format!(
            "the remove-brick of {name} that started removes whole sets: it changes no replica count"
        )));
    }
    same_bricks(cx, &vol, &removal, &req).await?;
    let what = removal.labels().join(" ");
    match t.state {
        TaskState::Running if !req.force => {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!(
                    "the files on {what} are still moving: wait for the end (remove-brick status), or commit with force"
                ),
            ));
        }
        TaskState::Running => {
            ops::stop_task(cx, name, &plan).await?;
        }
        TaskState::Failed | TaskState::Stopped if !req.force => {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!(
                    "moving the files off {what} {}: files may be left on them; start the remove-brick again, or commit with force",
                    if t.state == TaskState::Failed {
                        "failed"
                    } else {
                        "was stopped"
                    }
                ),
            ));
        }
        _ => {}
    }
    if !req.force {
        let left: u64 = model::parts(cx.node.store.as_ref(), name)
            .await?
            .values()
            .filter(|p| p.rebalance == plan.id)
            .map(|p| p.counters.failures + p.counters.skipped)
            .sum();
        if left > 0 {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!(
                    "{left} file(s) could not be moved off {what} (see the rebalance logs): move them by hand, or commit with force"
                ),
            ));
        }
    }
    volumes::remove_bricks(cx, &removal).await
}
