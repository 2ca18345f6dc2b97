//! Rebalance start, stop and status, as the REST routes and tests call them (no HTTP here).
//!
//! Start checks what GD1 checks (a started volume of more than one distribute set) and what
//! the rebalance processes need (every node with bricks online, every brick running: the
//! processes refuse to run with a brick down), then records the task and waits, bounded, until
//! every node's part has begun. Stop records a request the nodes obey and waits until the
//! task has ended. Status reads the store only: the task, the parts, the nodes' liveness.

use std::time::Duration;

use gd_api::{ErrorCode, RebalanceNode, RebalanceStartReq, RebalanceState, RebalanceStatus};
use gd_core::{
    OpError,
    task::{self, TaskState},
};
use gd_feature::Cluster;
use gd_store::{Store, TxnOp, record};
use gd_volume::model::{self as volumes, VolumeRecord, VolumeState};
use uuid::Uuid;

use crate::model::{self, Command, KIND, Plan, StopRequest};

/// How long start waits for every part to begin, and stop for the task to end.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);
/// How far ahead the processes' common start is set: every node's agent (passes every second)
/// has seen the task by then.
const START_DELAY: Duration = Duration::from_millis(2500);

pub(crate) async fn volume(cx: &Cluster, name: &str) -> Result<VolumeRecord, OpError> {
    volumes::check_name(name)?;
    volumes::get_volume(cx.node.store.as_ref(), name)
        .await?
        .ok_or_else(|| volumes::not_found(name))
}

/// Starts a rebalance of `name`; answers once every node's process runs (or its part failed).
pub async fn start(
    cx: &Cluster,
    name: &str,
    req: RebalanceStartReq,
) -> Result<RebalanceStatus, OpError> {
    let command = Command::from_option(&req.option).ok_or_else(|| {
        OpError::invalid(format!(
            "unknown rebalance option {:?}: it is \"\", \"fix-layout\" or \"force\"",
            req.option
        ))
        .field("option", req.option.clone())
    })?;
    let vol = volume(cx, name).await?.serving();
    if vol.subvols.len() < 2 {
        return Err(OpError::invalid(format!(
            "volume {name} has one distribute set: there is nothing to rebalance"
        )));
    }
    let nodes = vol.brick_nodes();
    preflight(cx, &vol, &nodes).await?;
    launch(cx, &vol, command, nodes).await
}

/// What a rebalance and a remove-brick's migration check before anything changes: a started
/// volume with no migration running or waiting for its commit, every node that runs a part
/// online, every brick running (the processes refuse to run with a brick down).
pub(crate) async fn preflight(
    cx: &Cluster,
    vol: &VolumeRecord,
    nodes: &[Uuid],
) -> Result<(), OpError> {
    let name = &vol.name;
    if vol.state != VolumeState::Started {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {name} is not started: start it before moving its files"),
        ));
    }
    let store = cx.node.store.as_ref();
    if let Some(t) = task::get(store, KIND, name).await?
        && t.state == TaskState::Running
    {
        return Err(already_running(name));
    }
    if vol.subvols.iter().any(|s| s.decommissioned) {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("a remove-brick of {name} waits for its commit: commit or stop it first"),
        ));
    }
    for n in nodes {
        let peer = gd_node::peers::get_peer(store, *n).await?;
        if !peer.as_ref().is_some_and(|p| p.online) {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!(
                    "peer {} is offline: it runs a part of the migration of {name}'s files",
                    gd_node::peers::node_label(store, *n).await
                ),
            ));
        }
    }
    let down: Vec<String> = gd_volume::processes::brick_statuses(store, vol)
        .await?
        .into_iter()
        .filter(|b| !b.online)
        .map(|b| format!("{}:{}", b.info.host, b.info.path))
        .collect();
    if !down.is_empty() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "bricks of {name} are not running ({}): moving its files needs every brick",
                down.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The plan of a new rebalance (or of a remove-brick's migration, `removing`) of `vol`, run by
/// one process on each of `nodes`, all starting a moment from now.
pub(crate) fn new_plan(
    vol: &VolumeRecord,
    command: Command,
    nodes: Vec<Uuid>,
    removing: Vec<gd_volume::model::BrickRecord>,
) -> Plan {
    let now = std::time::SystemTime::now();
    Plan {
        id: Uuid::new_v4(),
        volume_id: vol.id,
        command,
        commit_hash: commit_hash(now),
        nodes,
        start_at_ms: (now + START_DELAY)
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64,
        removing,
    }
}

/// Records `plan` as the volume's running task, unless one runs (`Err`: that one). The last
/// rebalance's parts and stop request go with the new task's record, or not at all.
pub(crate) async fn record_task(
    store: &dyn Store,
    name: &str,
    plan: &Plan,
) -> Result<Result<(), task::TaskRecord>, OpError> {
    let progress = serde_json::to_value(plan).map_err(|e| OpError::internal(e.to_string()))?;
    let clear = vec![
        TxnOp::delete_prefix(model::parts_prefix(name)),
        TxnOp::delete(model::stop_key(name)),
    ];
    let started = task::start_with(store, KIND, name, progress, clear).await?;
    if started.is_ok() {
        tracing::info!(volume = name, rebalance = %plan.id, "rebalance started");
    }
    Ok(started.map(drop))
}

/// Starts a rebalance of `vol` run by one process on each of `nodes`, and waits, bounded,
/// until every part has begun.
async fn launch(
    cx: &Cluster,
    vol: &VolumeRecord,
    command: Command,
    nodes: Vec<Uuid>,
) -> Result<RebalanceStatus, OpError> {
    let plan = new_plan(vol, command, nodes, vec![]);
    if record_task(cx.node.store.as_ref(), &vol.name, &plan)
        .await?
        .is_err()
    {
        return Err(already_running(&vol.name));
    }
    wait_begun(cx, &vol.name, plan.id).await
}

/// Waits, bounded, until every part of rebalance `id` of `name` has begun; returns the status.
pub(crate) async fn wait_begun(
    cx: &Cluster,
    name: &str,
    id: Uuid,
) -> Result<RebalanceStatus, OpError> {
    wait_until(cx, name, |s| {
        s.id != id
            || s.nodes
                .iter()
                .all(|n| n.status != RebalanceState::NotStarted)
    })
    .await
}

/// GD1's commit hash for a rebalance (`gd_set_commit_hash`): the seconds since the epoch
/// shifted left by 3, with one of the low three bits set — never 0 (DHT's "never set"), and
/// different from the last rebalance's unless 2^29 s apart.
pub fn commit_hash(now: std::time::SystemTime) -> u32 {
    let t = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let low = 1u32 << ((t.subsec_micros() >> 10) % 3);
    ((t.as_secs() as u32) << 3) | low
}

pub(crate) fn already_running(name: &str) -> OpError {
    OpError::new(
        ErrorCode::Conflict,
        format!("a rebalance of {name} is running already: stop it or wait for its end"),
    )
}

/// Stops the running rebalance of `name`; answers once it has ended.
pub async fn stop(cx: &Cluster, name: &str) -> Result<RebalanceStatus, OpError> {
    volume(cx, name).await?;
    let store = cx.node.store.as_ref();
    let running = task::get(store, KIND, name)
        .await?
        .filter(|t| t.state == TaskState::Running)
        .ok_or_else(|| {
            OpError::new(
                ErrorCode::Conflict,
                format!("no rebalance of {name} is running"),
            )
        })?;
    let plan = model::plan_of(&running).map_err(OpError::internal)?;
    if !plan.removing.is_empty() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("the files of {name} move for a remove-brick: stop that instead"),
        ));
    }
    stop_task(cx, name, &plan).await
}

/// Asks every node to stop its part of `plan` and waits, bounded, until the task ended.
pub(crate) async fn stop_task(
    cx: &Cluster,
    name: &str,
    plan: &Plan,
) -> Result<RebalanceStatus, OpError> {
    cx.node
        .store
        .put(
            &model::stop_key(name),
            record::encode(&StopRequest { rebalance: plan.id }),
            None,
        )
        .await?;
    tracing::info!(volume = name, rebalance = %plan.id, "rebalance stop requested");
    wait_until(cx, name, |s| s.id != plan.id || s.status.ended()).await
}

/// Polls the status of `name` until `done` says so or [`WAIT`] passes; returns the last.
pub(crate) async fn wait_until(
    cx: &Cluster,
    name: &str,
    done: impl Fn(&RebalanceStatus) -> bool,
) -> Result<RebalanceStatus, OpError> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = status(cx, name).await?;
        if done(&s) || tokio::time::Instant::now() >= deadline {
            return Ok(s);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The last rebalance of `name`, from the store.
pub async fn status(cx: &Cluster, name: &str) -> Result<RebalanceStatus, OpError> {
    let vol = volume(cx, name).await?;
    let store = cx.node.store.as_ref();
    let never = || {
        OpError::new(
            ErrorCode::NotFound,
            format!("volume {name} has not been rebalanced"),
        )
    };
    let t = task::get(store, KIND, name).await?.ok_or_else(never)?;
    let plan = model::plan_of(&t).map_err(OpError::internal)?;
    // The last rebalance of a volume deleted and created again under this name is not this
    // volume's.
    if plan.volume_id != vol.id {
        return Err(never());
    }
    let parts = model::parts(store, name).await?;
    let mut nodes = vec![];
    for n in &plan.nodes {
        let peer = gd_node::peers::get_peer(store, *n).await?;
        let part = parts.get(n).filter(|p| p.rebalance == plan.id);
        let c = part.map(|p| p.counters).unwrap_or_default();
        nodes.push(RebalanceNode {
            peer_id: *n,
            node: peer
                .as_ref()
                .map(gd_node::peers::peer_label)
                .unwrap_or_else(|| n.to_string()),
            status: part.map_or(RebalanceState::NotStarted, |p| p.state),
            files: c.files,
            size: c.size,
            lookups: c.lookups,
            skipped: c.skipped,
            failed: c.failures,
            run_time: c.run_time,
            time_left: c.time_left,
            online: peer.is_some_and(|p| p.online),
            message: part.map(|p| p.message.clone()).unwrap_or_default(),
        });
    }
    let status = match t.state {
        TaskState::Running => plan.command.running_state(),
        TaskState::Succeeded if plan.command == Command::FixLayout => {
            RebalanceState::FixLayoutCompleted
        }
        TaskState::Succeeded => RebalanceState::Completed,
        TaskState::Stopped => plan.command.stopped_state(),
        TaskState::Failed => plan.command.failed_state(),
    };
    Ok(RebalanceStatus {
        volume: name.to_owned(),
        id: plan.id,
        option: plan.command.option().to_owned(),
        status,
        leader: t.leader,
        message: t.message,
        nodes,
        removing: plan
            .removing
            .iter()
            .map(|b| format!("{}:{}", b.host, b.path))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn the_commit_hash_is_gd1s() {
        let t = UNIX_EPOCH + Duration::from_micros(1_765_000_000_000_000 + 2048);
        // 1765000000 << 3 (mod 2^32), and bit (2048 >> 10) % 3 = 2.
        assert_eq!(commit_hash(t), (1_765_000_000u32 << 3) | 4);
        assert_ne!(commit_hash(UNIX_EPOCH), 0);
    }
}
