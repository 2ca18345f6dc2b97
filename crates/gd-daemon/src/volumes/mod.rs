//! Volumes: the stored model, and create / list / info / delete as cluster transactions.
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
use gd_api::{
    BrickInfo, BrickKind, BrickReq, ErrorCode, SubvolInfo, SubvolType, VolCreateReq, VolumeInfo,
};
use gd_core::OpError;
use gd_core::keys::{BRICKS, VOLUME_LOCK, VOLUMES};
use gd_core::txn::{Call, Step, StepError, Transaction};
use gd_store::{
    Compare, Store, StoreError, Txn, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{feature::Cluster, node::Node, peers, transactions::run};

/// The lock of a volume's transactions.
pub fn volume_lock(name: &str) -> String {
    format!("{VOLUME_LOCK}{name}")
}
/// The xattr that marks a directory as a brick of a volume (16 raw bytes of the volume id).
pub const VOLUME_ID_XATTR: &str = "trusted.glusterfs.volume-id";
/// The xattr GlusterFS puts on every file of a volume; on a candidate brick it means "was used".
const GFID_XATTR: &str = "trusted.gfid";
/// Bounds of a create request.
const BRICKS_MAX: usize = 1024;
/// How long the brick steps may take on all brick nodes.
const BRICK_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The state of a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeState {
    Created,
    Started,
    Stopped,
}

/// A brick as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BrickRecord {
    pub id: Uuid,
    pub peer_id: Uuid,
    /// The host the brick's node is reached at (the host part of its peer address).
    pub host: String,
    pub path: String,
    pub kind: BrickKind,
}

/// A subvolume as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SubvolRecord {
    pub kind: SubvolType,
    #[serde(default)]
    pub replica: u32,
    #[serde(default)]
    pub arbiter: u32,
    #[serde(default)]
    pub disperse: u32,
    #[serde(default)]
    pub redundancy: u32,
    pub bricks: Vec<BrickRecord>,
}

/// A volume as stored (`volumes/<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct VolumeRecord {
    pub id: Uuid,
    pub name: String,
    pub transport: String,
    pub state: VolumeState,
    pub subvols: Vec<SubvolRecord>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The login the volume's trusted clients (servers, self-heal daemon) present to its
    /// bricks; random, made at create (GD1's `username`/`password`).
    pub auth: VolumeAuth,
}

/// See [`VolumeRecord::auth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeAuth {
    pub username: Uuid,
    pub password: Uuid,
}

impl Record for VolumeRecord {
    const KIND: &'static str = "volume";
    const VERSION: u32 = 1;
}

/// The reference a node keeps of each of its bricks (`bricks/<peer-id>/<brick-id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BrickRef {
    pub volume: String,
    pub volume_id: Uuid,
    pub path: String,
}

impl Record for BrickRef {
    const KIND: &'static str = "brick-ref";
    const VERSION: u32 = 1;
}

pub fn volume_key(name: &str) -> String {
    format!("{VOLUMES}{name}")
}

fn brick_ref_key(peer: Uuid, brick: Uuid) -> String {
    format!("{BRICKS}{peer}/{brick}")
}

impl VolumeRecord {
    pub fn bricks(&self) -> impl Iterator<Item = &BrickRecord> {
        self.subvols.iter().flat_map(|s| s.bricks.iter())
    }

    /// Whether the volume wants a self-heal daemon: replicate and disperse volumes do, unless
    /// their self-heal-daemon option is off (GD1's keys: `cluster.self-heal-daemon` for
    /// replicate, `cluster.disperse-self-heal-daemon` for disperse; a value that is not a
    /// boolean counts as on, as in GD1).
    pub fn wants_self_heal_daemon(&self) -> bool {
        let key = match self.subvols.first().map(|s| s.kind) {
            Some(SubvolType::Replicate) => "cluster.self-heal-daemon",
            Some(SubvolType::Disperse) => "cluster.disperse-self-heal-daemon",
            _ => return false,
        };
        self.options
            .get(key)
            .and_then(|v| gd_volgen::options::parse_bool(v))
            .unwrap_or(true)
    }

    /// The nodes that hold bricks of the volume, each once.
    pub fn brick_nodes(&self) -> Vec<Uuid> {
        self.bricks()
            .map(|b| b.peer_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// GD2's type names.
    pub fn type_name(&self) -> &'static str {
        let many = self.subvols.len() > 1;
        match (self.subvols.first().map(|s| s.kind), many) {
            (Some(SubvolType::Replicate), false) => "Replicate",
            (Some(SubvolType::Replicate), true) => "Distributed-Replicate",
            (Some(SubvolType::Disperse), false) => "Disperse",
            (Some(SubvolType::Disperse), true) => "Distributed-Disperse",
            _ => "Distribute",
        }
    }

    /// The API view.
    pub fn to_api(&self) -> VolumeInfo {
        let first = self.subvols.first();
        let subvol_kind = |k: SubvolType| match k {
            SubvolType::Distribute => "Distribute",
            SubvolType::Replicate => "Replicate",
            SubvolType::Disperse => "Disperse",
        };
        VolumeInfo {
            id: self.id,
            name: self.name.clone(),
            kind: self.type_name().to_owned(),
            transport: self.transport.clone(),
            distribute_count: self.subvols.len() as u32,
            replica_count: first.map(|s| s.replica.max(1)).unwrap_or(1),
            arbiter_count: first.map(|s| s.arbiter).unwrap_or(0),
            disperse_count: first.map(|s| s.disperse).unwrap_or(0),
            disperse_redundancy_count: first.map(|s| s.redundancy).unwrap_or(0),
            options: self.options.clone(),
            state: match self.state {
                VolumeState::Created => "Created",
                VolumeState::Started => "Started",
                VolumeState::Stopped => "Stopped",
            }
            .to_owned(),
            metadata: self.metadata.clone(),
            subvols: self
                .subvols
                .iter()
                .enumerate()
                .map(|(i, s)| SubvolInfo {
                    name: format!(
                        "{}-{}-{i}",
                        self.name,
                        subvol_kind(s.kind).to_ascii_lowercase()
                    ),
                    kind: subvol_kind(s.kind).to_owned(),
                    replica_count: s.replica.max(1),
                    arbiter_count: s.arbiter,
                    disperse_count: s.disperse,
                    bricks: s
                        .bricks
                        .iter()
                        .map(|b| BrickInfo {
                            id: b.id,
                            path: b.path.clone(),
                            volume_id: self.id,
                            volume_name: self.name.clone(),
                            peer_id: b.peer_id,
                            host: b.host.clone(),
                            kind: match b.kind {
                                BrickKind::Brick => "Brick",
                                BrickKind::Arbiter => "Arbiter",
                            }
                            .to_owned(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

// ---- reads ----

/// One volume.
pub async fn get_volume(store: &dyn Store, name: &str) -> Result<Option<VolumeRecord>, StoreError> {
    let key = volume_key(name);
    match store.get(&key).await? {
        Some(kv) => Ok(Some(record::decode(&key, &kv.value)?)),
        None => Ok(None),
    }
}

/// Every volume, in name order.
pub async fn list_volumes(store: &dyn Store) -> Result<Vec<VolumeRecord>, StoreError> {
    let r = store.range(VOLUMES, 0).await?;
    r.kvs
        .iter()
        .map(|kv| record::decode(&kv.key, &kv.value))
        .collect()
}

// ---- create ----

/// Checks a volume name (GD2's rule, `gd_api::check_volume_name`).
pub fn check_name(name: &str) -> Result<(), OpError> {
    gd_api::check_volume_name(name).map_err(|m| invalid(m).field("name", name))
}

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
        locks: vec![volume_lock(name)],
        steps: vec![
            StopProcesses::call(vol.brick_nodes(), &vol).within(PROCESS_STEP_TIMEOUT),
            DeleteVolume::call(vec![me], &vol),
        ],
    };
    run(cx, txn).await
}

/// How long a step that runs a reconciler pass may take on all of its nodes: a pass may wait
/// for another one (starting bricks of another volume) before its own starts or stops.
const PROCESS_STEP_TIMEOUT: Duration =
    Duration::from_secs(crate::bricks::START_TIMEOUT.as_secs() + 15);

/// Refuses an operation that must confirm something on every brick node of `vol` while one
/// of them is offline: its step would wait for that node until its bound and then fail.
async fn require_online(node: &Node, vol: &VolumeRecord, done: &str) -> Result<(), OpError> {
    let mut down = vec![];
    for id in vol.brick_nodes() {
        match peers::get_peer(node.store.as_ref(), id).await? {
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

use gd_node::peers::peer_label;

fn invalid(msg: impl Into<String>) -> OpError {
    OpError::new(ErrorCode::InvalidRequest, msg)
}

/// The answer about a volume that does not exist (404, its name as a field).
pub fn not_found(name: &str) -> OpError {
    OpError::new(ErrorCode::NotFound, format!("volume {name} not found")).field("name", name)
}

mod brick_service;
mod brick_steps;
mod plan;
mod processes;
mod shd_service;
mod size;
mod state;
#[cfg(test)]
mod tests;
pub use brick_service::{BrickService, BrickStatusRecord, brick_statuses, status_key};
pub(crate) use brick_steps::{DeleteVolume, InitBricks, StoreVolume, ValidateBricks};
pub use plan::*;
pub use processes::*;
pub use shd_service::{ShdService, shd_pidfile};
pub use size::*;
pub use state::*;
pub(crate) use state::{ConvergeBricks, RecordState, StopProcesses};
