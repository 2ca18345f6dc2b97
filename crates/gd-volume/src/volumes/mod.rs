//! Volume operations: create, delete, start and stop as cluster transactions, with their
//! steps (the stored model is [`crate::model`]).
//!
//! A volume is one record, `volumes/<name>`; each brick also has a small reference under its
//! node, `bricks/<peer-id>/<brick-id>`, so "does this peer host bricks?" and "is this path
//! already a brick here?" cost what they touch, not the number of volumes.
//!
//! Create is a transaction (`gd_core::txn`) locked on the volume name:
//! 1. `volume-create.validate-bricks` on every brick node: checks that change nothing (path,
//!    directory, mount point, root file system, xattr support, traces of an earlier volume).
//!    First, and whatever `force` says, the path with its symlinks resolved on that node must
//!    not be a system directory or one of the node's own ([`ProtectedDirs`]): marking `/etc`
//!    as a brick, or exporting the node's secrets, is never what anyone meant;
//! 2. `volume-create.init-bricks` on every brick node: create the directory if asked, set
//!    `trusted.glusterfs.volume-id` and create `.glusterfs`; undo takes back exactly that;
//! 3. `volume-create.store` on the initiator: write the volume and brick references, only if
//!    the name is still free; undo deletes them.
//!
//! Delete (a stopped or never-started volume) first has every brick node confirm that no
//! process of the volume runs there (`volume-delete.processes`, stopping any it finds), then
//! removes the records; the brick directories keep their data and xattrs, as with GD1
//! (reusing them needs `reuse-bricks` or `force`).
//!
//! Start and stop record the new state, then every brick node runs a reconciler pass for the
//! volume (`volume-state.bricks`), so they return when their effect is real (DESIGN §3.18):
//! start when every brick signed in, stop when every brick and self-heal daemon of the volume
//! has exited (a process that ignores SIGTERM is killed, and the answer says so in a
//! `Warning` header). Stop and delete refuse at once while a brick node is offline, since
//! nothing could confirm that node's processes.
//!
//! A failed step is answered with one sentence naming the node by its address, the step, the
//! node's id and its own words staying in the error's fields for programs.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use gd_api::{BrickKind, BrickReq, ErrorCode, SubvolType, VolCreateReq, VolumeInfo};
use gd_core::OpError;
use gd_core::txn::{Call, HookCall, Step, StepError, Transaction};
use gd_feature::{Cluster, operation::run};
use gd_node::{node::Node, peers, peers::peer_label};
use gd_store::{
    Compare, Store, Txn, TxnOp,
    record::{self},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::*;
use crate::processes::{Processes, bricks, node_ip};

/// The xattr that marks a directory as a brick of a volume (16 raw bytes of the volume id).
pub const VOLUME_ID_XATTR: &str = "trusted.glusterfs.volume-id";
/// The xattr GlusterFS puts on every file of a volume; on a candidate brick it means "was used".
const GFID_XATTR: &str = "trusted.gfid";
/// Bounds of a create request.
const BRICKS_MAX: usize = 1024;
/// How long the brick steps may take on all brick nodes.
const BRICK_STEP_TIMEOUT: Duration = Duration::from_secs(30);

// ---- create ----

/// The arguments of the brick steps: the volume and how strict the checks are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct BrickArgs {
    volume: String,
    volume_id: Uuid,
    bricks: Vec<BrickRecord>,
    force: bool,
    flags: gd_api::CreateFlags,
}

impl BrickArgs {
    /// The bricks on node `me`.
    fn bricks_of(&self, me: Uuid) -> Vec<BrickRecord> {
        self.bricks
            .iter()
            .filter(|b| b.peer_id == me)
            .cloned()
            .collect()
    }
}

/// `POST /v1/volumes`.
pub async fn create_volume(cx: &Cluster, req: VolCreateReq) -> Result<VolumeInfo, OpError> {
    let node = &cx.node;
    let vol = plan_volume(node, &req).await?;
    if get_volume(node.store.as_ref(), &vol.name).await?.is_some() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {} already exists", vol.name),
        )
        .field("name", vol.name.as_str()));
    }
    let brick_nodes = vol.brick_nodes();
    let args = BrickArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        bricks: vol.bricks().cloned().collect(),
        force: req.force,
        flags: req.flags,
    };
    let me = node.identity().peer_id;
    let txn = Transaction {
        operation: format!("volume create {}", vol.name),
        kind: "volume-create",
        hook: Some(HookCall::new("create", &vol.name)),
        locks: vec![volume_lock(&vol.name)],
        steps: vec![
            ValidateBricks::call(brick_nodes.clone(), &args).within(BRICK_STEP_TIMEOUT),
            InitBricks::call(brick_nodes, &args).within(BRICK_STEP_TIMEOUT),
            StoreVolume::call(vec![me], &vol),
        ],
    };
    run(cx, txn).await?;
    Ok(vol.to_api())
}

/// `DELETE /v1/volumes/{name}`. Returns what the nodes had to force (processes killed).
pub async fn delete_volume(cx: &Cluster, name: &str) -> Result<Vec<String>, OpError> {
    check_name(name)?;
    let node = &cx.node;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    if vol.state == VolumeState::Started {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {name} is started; stop it before deleting it"),
        ));
    }
    require_online(node, &vol, "deleted").await?;
    let me = node.identity().peer_id;
    let txn = Transaction {
        operation: format!("volume delete {name}"),
        kind: "volume-delete",
        hook: Some(HookCall::new("delete", name)),
        locks: vec![volume_lock(name)],
        steps: vec![
            StopProcesses::call(vol.brick_nodes(), &vol).within(PROCESS_STEP_TIMEOUT),
            DeleteVolume::call(vec![me], &vol),
        ],
    };
    run(cx, txn).await
}

/// Refuses a change of `vol`'s bricks while a task works on the volume (a rebalance or a
/// remove-brick's migration moves files by the sets it was started with), or while a
/// remove-brick waits for its commit (its sets are decommissioned).
async fn refuse_while_changing(node: &Node, vol: &VolumeRecord) -> Result<(), OpError> {
    let name = &vol.name;
    let running: Vec<String> = gd_core::task::list(node.store.as_ref())
        .await?
        .into_iter()
        .filter(|t| &t.object == name && t.state == gd_core::task::TaskState::Running)
        .map(|t| t.kind)
        .collect();
    if let Some(kind) = running.first() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("a {kind} of volume {name} is running: stop it or wait for its end"),
        ));
    }
    if vol.subvols.iter().any(|s| s.decommissioned) {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("a remove-brick of {name} waits for its commit: commit or stop it first"),
        ));
    }
    Ok(())
}

/// How long a step that runs a reconciler pass may take on all of its nodes: a pass may wait
/// for another one (starting bricks of another volume) before its own starts or stops.
const PROCESS_STEP_TIMEOUT: Duration = Duration::from_secs(bricks::START_TIMEOUT.as_secs() + 15);

/// Refuses an operation that must confirm something on every brick node of `vol` while one
/// of them is offline: its step would wait for that node until its bound and then fail.
async fn require_online(node: &Node, vol: &VolumeRecord, done: &str) -> Result<(), OpError> {
    let ids = vol.brick_nodes();
    let found = peers::get_peers(node.store.as_ref(), &ids).await?;
    let mut down = vec![];
    for (id, p) in ids.iter().zip(found) {
        match p {
            Some(p) if p.online => {}
            Some(p) => down.push(peer_label(&p)),
            None => down.push(id.to_string()),
        }
    }
    match down.len() {
        0 => Ok(()),
        n => Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "volume {} cannot be {done}: {} {} offline, so nothing can confirm that the volume's processes there are gone",
                vol.name,
                if n == 1 { "node" } else { "nodes" },
                down.join(", ") + if n == 1 { " is" } else { " are" },
            ),
        )),
    }
}

mod brick_steps;
mod expand;
mod mount;
mod plan;
mod replace;
mod reset;
mod reshape;
mod size;
mod state;
#[cfg(test)]
mod tests;
pub(crate) use brick_steps::{DeleteVolume, InitBricks, StoreVolume, ValidateBricks};
pub use expand::expand_volume;
pub(crate) use expand::{AddSets, CommitSets};
use plan::*;
pub use replace::replace_brick;
pub(crate) use replace::{PrepareBrick, RestartServices, SwapBrick};
pub(crate) use reset::{MarkReset, PrepareReset};
pub use reset::{reset_brick_commit, reset_brick_start};
pub use reshape::{
    Decommission, Reshape, decommission_step, plan_removal, recommission, remove_bricks,
};
pub(crate) use reshape::{MarkDecommissioned, MarkJoining, ReshapeServices, StoreReshape};
pub use size::*;
pub use state::*;
pub(crate) use state::{ConvergeBricks, RecordState, StopProcesses};
