//! The volume as stored: its record (`volumes/<name>`), the reference each brick's node keeps
//! (`bricks/<peer-id>/<brick-id>`), their keys, reads and the compare-and-swap update, and the
//! views of a record (the API's, volgen's).
//!
//! Why a module of its own: every part of the feature reads the model (operations, options,
//! process services, volfiles, REST); the model reads none of them, so it is the bottom of the
//! feature and no import runs in a circle.

use std::collections::{BTreeMap, BTreeSet};

use gd_api::{BrickInfo, BrickKind, ErrorCode, SubvolInfo, SubvolType, VolumeInfo};
use gd_core::OpError;
use gd_core::keys::{BRICKS, VOLUME_LOCK, VOLUME_WAKE, VOLUMES};
use gd_store::{
    Compare, Store, StoreError, Txn, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The lock of a volume's transactions.
pub fn volume_lock(name: &str) -> String {
    format!("{VOLUME_LOCK}{name}")
}
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
    /// Its client number (`<vol>-client-<index>` in every graph, the name AFR's pending
    /// marks use), fixed when it joins the volume so that it never changes while the volume's
    /// sets do. Records from before it was stored number their bricks by their place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Taken out of service by reset-brick start until its commit: stopped, and kept stopped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
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
    /// Added by an add-brick that has not ended yet: its bricks are marked (and start, on a
    /// started volume), but no client, self-heal daemon or rebalance graph has them until the
    /// add-brick commits, so no client ever waits for bricks that are not running yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// Being emptied by a remove-brick (started, not yet committed or stopped): DHT places no
    /// new file on it and the rebalance processes move its files away.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decommissioned: bool,
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

pub fn brick_ref_key(peer: Uuid, brick: Uuid) -> String {
    format!("{BRICKS}{peer}/{brick}")
}

/// Where node `peer` is told of changes to volume `name` (`gd_core::keys::VOLUME_WAKE`).
pub fn volume_wake_key(peer: Uuid, name: &str) -> String {
    format!("{VOLUME_WAKE}{peer}/{name}")
}

/// What a wake key holds: which volume of that name changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct VolumeWake {
    pub volume_id: Uuid,
}

impl Record for VolumeWake {
    const KIND: &'static str = "volume-wake";
    const VERSION: u32 = 1;
}

/// Touches the wake key of every node of the volume (before and after a change: one that
/// loses its bricks learns of it too).
fn wake_ops(before: &VolumeRecord, after: &VolumeRecord) -> Vec<TxnOp> {
    let peers: std::collections::BTreeSet<Uuid> = before
        .bricks()
        .chain(after.bricks())
        .map(|b| b.peer_id)
        .collect();
    peers
        .into_iter()
        .map(|p| {
            let wake = VolumeWake {
                volume_id: after.id,
            };
            TxnOp::put(volume_wake_key(p, &after.name), record::encode(&wake))
        })
        .collect()
}

impl VolumeRecord {
    /// The volume as its clients, self-heal daemons and rebalance process see it: without the
    /// sets of an add-brick that has not committed ([`SubvolRecord::pending`]).
    pub fn serving(&self) -> VolumeRecord {
        VolumeRecord {
            subvols: self
                .subvols
                .iter()
                .filter(|s| !s.pending)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

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

    /// Whether the boolean option `key` (GD1's name) is set and on.
    pub fn option_is_on(&self, key: &str) -> bool {
        self.options
            .get(key)
            .and_then(|v| gd_volgen::options::parse_bool(v))
            .unwrap_or(false)
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
                    decommissioned: s.decommissioned,
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
                            reset: b.reset,
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
    gd_store::range_all(store, VOLUMES, LIST_PAGE)
        .await?
        .iter()
        .map(|kv| record::decode(&kv.key, &kv.value))
        .collect()
}

/// How many volume records one read of a full listing takes: a record of a few hundred bricks
/// is under 100 KiB, so a page stays under etcd's 4 MiB answer.
const LIST_PAGE: usize = 32;

/// The volumes named `names` that exist, in name order: one read of the store per
/// `MAX_TXN_OPS` names, whatever the number of volumes.
pub async fn get_volumes(
    store: &dyn Store,
    names: &BTreeSet<String>,
) -> Result<Vec<VolumeRecord>, StoreError> {
    let keys: Vec<String> = names.iter().map(|n| volume_key(n)).collect();
    let mut vols = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(gd_store::MAX_TXN_OPS) {
        let gets = chunk.iter().map(|k| TxnOp::Get { key: k.clone() });
        let resp = store.txn(Txn::new().and_then(gets)).await?;
        for r in resp.responses {
            if let gd_store::TxnOpResponse::Get(Some(kv)) = r {
                vols.push(record::decode(&kv.key, &kv.value)?);
            }
        }
    }
    Ok(vols)
}

/// The names of the volumes node `peer` has bricks of (its brick references).
pub async fn hosted_volumes(store: &dyn Store, peer: Uuid) -> Result<BTreeSet<String>, StoreError> {
    let prefix = format!("{BRICKS}{peer}/");
    let refs = store.range(&prefix, 0).await?;
    refs.kvs
        .iter()
        .map(|kv| record::decode::<BrickRef>(&kv.key, &kv.value).map(|r| r.volume))
        .collect()
}

/// The volumes whose wake keys node `peer` has (`gd_core::keys::VOLUME_WAKE`).
pub async fn woken_volumes(store: &dyn Store, peer: Uuid) -> Result<BTreeSet<String>, StoreError> {
    let prefix = format!("{VOLUME_WAKE}{peer}/");
    let keys = store.range(&prefix, 0).await?;
    Ok(keys
        .kvs
        .iter()
        .filter_map(|kv| kv.key.strip_prefix(&prefix).map(str::to_owned))
        .collect())
}

/// One page of the volumes, in name order: at most `limit` (at least 1) after the volume named
/// `after` (from the first when `None`), and whether more follow. It reads only its page.
pub async fn list_volumes_page(
    store: &dyn Store,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<VolumeRecord>, bool), StoreError> {
    let limit = limit.max(1);
    let r = match after {
        Some(a) => store.range_after(VOLUMES, a, limit).await?,
        None => store.range(VOLUMES, limit).await?,
    };
    let vols = r
        .kvs
        .iter()
        .map(|kv| record::decode(&kv.key, &kv.value))
        .collect::<Result<_, _>>()?;
    Ok((vols, r.more))
}

/// Checks a volume name (GD2's rule, `gd_api::check_volume_name`).
pub fn check_name(name: &str) -> Result<(), OpError> {
    gd_api::check_volume_name(name).map_err(|m| invalid(m).field("name", name))
}

pub(crate) fn invalid(msg: impl Into<String>) -> OpError {
    OpError::new(ErrorCode::InvalidRequest, msg)
}

/// The answer about a volume that does not exist (404, its name as a field).
pub fn not_found(name: &str) -> OpError {
    OpError::new(ErrorCode::NotFound, format!("volume {name} not found")).field("name", name)
}

/// The options GD1 10.3 gives a new volume of this layout.
pub fn create_defaults(vol: &VolumeRecord) -> BTreeMap<String, String> {
    gd_volgen::VolumeOptions::create_defaults(&volgen_type(&vol.subvols))
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn volgen_type(subvols: &[SubvolRecord]) -> gd_volgen::VolumeType {
    match subvols.first() {
        Some(s) if s.kind == SubvolType::Replicate && s.arbiter == 1 => {
            gd_volgen::VolumeType::Arbiter
        }
        Some(s) if s.kind == SubvolType::Replicate => gd_volgen::VolumeType::Replicate {
            replica: s.replica as usize,
        },
        Some(s) if s.kind == SubvolType::Disperse => gd_volgen::VolumeType::Disperse {
            disperse: s.disperse as usize,
            redundancy: s.redundancy as usize,
        },
        _ => gd_volgen::VolumeType::Distribute,
    }
}

impl VolumeRecord {
    /// The client numbers of the bricks, in their order: each brick's own, or its place.
    pub fn client_indexes(&self) -> impl Iterator<Item = u32> + '_ {
        self.bricks()
            .enumerate()
            .map(|(place, b)| b.index.unwrap_or(place as u32))
    }

    /// The client number a brick joining the volume gets next.
    pub fn next_client_index(&self) -> u32 {
        self.client_indexes().max().map_or(0, |i| i + 1)
    }

    /// Gives every brick without a client number the one it has now (its place), so that a
    /// change of the sets keeps the numbers.
    pub fn fix_client_indexes(&mut self) {
        let indexes: Vec<u32> = self.client_indexes().collect();
        for (b, i) in self
            .subvols
            .iter_mut()
            .flat_map(|s| s.bricks.iter_mut())
            .zip(indexes)
        {
            b.index = Some(i);
        }
    }

    /// The volume as volgen sees it: each brick with its client number
    /// ([`BrickRecord::index`]).
    pub fn to_volgen(&self) -> gd_volgen::Volume {
        let mut options = gd_volgen::VolumeOptions::new();
        for (k, v) in &self.options {
            options.set(k.clone(), v.clone());
        }
        gd_volgen::Volume {
            name: self.name.clone(),
            id: self.id,
            volume_type: volgen_type(&self.subvols),
            transport: gd_volgen::Transport::Tcp,
            bricks: self
                .bricks()
                .zip(self.client_indexes())
                .map(|(b, index)| gd_volgen::Brick {
                    peer_id: b.peer_id,
                    host: b.host.clone(),
                    path: b.path.clone(),
                    index: index as usize,
                    fsid: None,
                })
                .collect(),
            username: self.auth.username,
            password: self.auth.password,
            quota_version: 0,
            options,
            decommissioned: self
                .subvols
                .iter()
                .enumerate()
                .filter(|(_, s)| s.decommissioned)
                .map(|(k, _)| k)
                .collect(),
        }
    }
}

/// Changes the record of volume `name` (if it is still the volume `id`) with `change`, by
/// compare-and-swap on its revision, retried a few times when it changes meanwhile.
pub async fn update_volume(
    store: &dyn Store,
    name: &str,
    id: Uuid,
    mut change: impl FnMut(&mut VolumeRecord) -> Result<(), String>,
) -> Result<(), String> {
    let key = volume_key(name);
    for _ in 0..5 {
        let Some(kv) = store.get(&key).await.map_err(|e| e.to_string())? else {
            return Err(format!("volume {name} vanished"));
        };
        let mut v: VolumeRecord = record::decode(&key, &kv.value).map_err(|e| e.to_string())?;
        if v.id != id {
            return Err(format!("volume {name} was replaced"));
        }
        let before = v.clone();
        change(&mut v)?;
        if v == before {
            return Ok(());
        }
        // The record and its nodes' wake keys in one transaction when they fit in one (a
        // volume's bricks do, as its creation wrote them in one); otherwise the wake keys
        // follow in transactions of their own, a hint the nodes' ticks make up for if lost.
        let wake = wake_ops(&before, &v);
        let together = wake.len() < gd_store::MAX_TXN_OPS;
        let mut ops = vec![TxnOp::put(&key, record::encode(&v))];
        if together {
            ops.extend(wake.iter().cloned());
        }
        let txn = Txn::new()
            .when([Compare::mod_revision(
                &key,
                gd_store::CompareOp::Equal,
                kv.mod_revision,
            )])
            .and_then(ops);
        if store.txn(txn).await.map_err(|e| e.to_string())?.succeeded {
            if !together {
                for chunk in wake.chunks(gd_store::MAX_TXN_OPS) {
                    if let Err(e) = store.txn(Txn::new().and_then(chunk.to_vec())).await {
                        tracing::warn!(volume = name, error = %e, "could not tell the volume's nodes of its change; their reconcilers' ticks will");
                    }
                }
            }
            return Ok(());
        }
    }
    Err(format!("volume {name} changes concurrently"))
}
