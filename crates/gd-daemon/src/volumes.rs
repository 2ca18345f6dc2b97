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
use gd_core::txn::{Engine, Registry, Step, StepHandler, Transaction, TxnError};
use gd_store::{
    Compare, Store, StoreError, Txn, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{node::Node, peers, rest::ApiErr};

pub const VOLUMES_PREFIX: &str = "volumes/";
pub const BRICKS_PREFIX: &str = "bricks/";
/// The xattr that marks a directory as a brick of a volume (16 raw bytes of the volume id).
pub const VOLUME_ID_XATTR: &str = "trusted.glusterfs.volume-id";
/// The xattr GlusterFS puts on every file of a volume; on a candidate brick it means "was used".
const GFID_XATTR: &str = "trusted.gfid";
/// Bounds of a create request.
const BRICKS_MAX: usize = 1024;
const NAME_MAX: usize = 64;
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
    format!("{VOLUMES_PREFIX}{name}")
}

fn brick_ref_key(peer: Uuid, brick: Uuid) -> String {
    format!("{BRICKS_PREFIX}{peer}/{brick}")
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
    let r = store.range(VOLUMES_PREFIX, 0).await?;
    r.kvs
        .iter()
        .map(|kv| record::decode(&kv.key, &kv.value))
        .collect()
}

// ---- create ----

/// Checks a volume name (GD2's rule).
pub fn check_name(name: &str) -> Result<(), ApiErr> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-')
        // The option-group routes live beside the volumes': /v1/volumes/options-group.
        && name != "options-group";
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "invalid volume name {name:?}: use 1 to {NAME_MAX} letters, digits, '_' and '-' (not first)"
        ))
        .field("name", name))
    }
}

/// Checks a create request and lays the volume out, without changing anything.
async fn plan_volume(node: &Node, req: &VolCreateReq) -> Result<VolumeRecord, ApiErr> {
    check_name(&req.name)?;
    if let Some(t) = &req.transport
        && t != "tcp"
    {
        return Err(
            invalid(format!("transport {t:?} is not supported (only tcp)"))
                .field("transport", t.as_str()),
        );
    }
    for k in req.metadata.keys() {
        if k.starts_with('_') || k.trim().is_empty() {
            return Err(invalid(format!("metadata key {k:?} is reserved or empty"))
                .field("key", k.as_str()));
        }
    }
    if req.subvols.is_empty() {
        return Err(invalid("a volume needs at least one subvolume with bricks"));
    }
    let total: usize = req.subvols.iter().map(|s| s.bricks.len()).sum();
    if total == 0 || total > BRICKS_MAX {
        return Err(invalid(format!("a volume has 1 to {BRICKS_MAX} bricks")));
    }
    let first = &req.subvols[0];
    if req.subvols.iter().any(|s| s.kind != first.kind) {
        return Err(invalid("all subvolumes of a volume have the same type"));
    }
    if first.kind != SubvolType::Distribute
        && req
            .subvols
            .iter()
            .any(|s| s.bricks.len() != first.bricks.len())
    {
        return Err(invalid(
            "all subvolumes of a volume have the same number of bricks",
        ));
    }

    let peers = peers::list_peers(node.store.as_ref()).await?;
    // Names no peer is recorded under are looked up (forward only, bounded) and matched by
    // address, as GD1 accepts a node's hostname, FQDN or any of its IPs.
    let mut resolved: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for b in req.subvols.iter().flat_map(|s| s.bricks.iter()) {
        if let (None, Some(h)) = (&b.peerid, &b.host) {
            let h = h.trim_matches(['[', ']']);
            if !resolved.contains_key(h) && !peers.iter().any(|p| known_as(p, h)) {
                resolved.insert(h.to_owned(), lookup_host(h).await);
            }
        }
    }
    let resolve = |b: &BrickReq| -> Result<(Uuid, String), ApiErr> {
        let given = b.host.as_deref().map(|h| h.trim_matches(['[', ']']));
        let found = match (&b.peerid, given) {
            (Some(id), _) => peers.iter().find(|p| p.id == *id),
            (None, Some(h)) => peers.iter().find(|p| known_as(p, h)).or_else(|| {
                let ips = resolved.get(h)?;
                peers
                    .iter()
                    .find(|p| peer_ips(p).any(|ip| ips.contains(&ip)))
            }),
            (None, None) => return Err(invalid("every brick names its peer (peerid) or host")),
        };
        let loopback = given.is_some_and(|h| {
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        });
        if found.is_none() && loopback {
            return Err(invalid(format!(
                "brick {}: name its node by an address or name other hosts reach, not {}",
                b.path,
                given.unwrap_or_default()
            ))
            .field("path", b.path.as_str()));
        }
        let p = found.ok_or_else(|| {
            invalid(format!(
                "brick {}: no such peer ({})",
                b.path,
                b.peerid
                    .map(|i| i.to_string())
                    .or(b.host.clone())
                    .unwrap_or_default()
            ))
            .field("path", b.path.as_str())
        })?;
        if !p.online {
            return Err(ApiErr::new(
                ErrorCode::Conflict,
                format!("brick {}: peer {} is offline", b.path, p.id),
            )
            .field("peer-id", p.id.to_string()));
        }
        // The volfiles name the brick's node as the user did; by id, by its first address.
        let host = match given {
            Some(h) => h.to_owned(),
            None => p
                .peer_addresses
                .first()
                .or(p.client_addresses.first())
                .map(|a| host_of(a).to_owned())
                .unwrap_or_default(),
        };
        Ok((p.id, host))
    };

    let mut seen = BTreeSet::new();
    let mut subvols = vec![];
    // GD2's CLI sends one distribute subvolume per brick; several bricks in one distribute
    // subvolume mean the same.
    let groups: Vec<&gd_api::SubvolReq> = req.subvols.iter().collect();
    for s in groups {
        let (replica, arbiter, disperse, redundancy) = match s.kind {
            SubvolType::Distribute => (1, 0, 0, 0),
            SubvolType::Replicate => {
                let n = s.bricks.len() as u32;
                match (s.replica, s.arbiter) {
                    (r, 0) if r >= 2 && r == n => (r, 0, 0, 0),
                    (2, 1) if n == 3 => (2, 1, 0, 0),
                    (r, a) => {
                        return Err(invalid(format!(
                            "a replicate subvolume has replica >= 2 bricks (or replica 2 + arbiter 1 = 3 bricks); got replica {r}, arbiter {a}, {n} bricks"
                        )));
                    }
                }
            }
            SubvolType::Disperse => {
                let n = s.bricks.len() as u32;
                let count = if s.disperse_count > 0 {
                    s.disperse_count
                } else {
                    n
                };
                let redundancy = match (s.disperse_redundancy, s.disperse_data) {
                    (r, _) if r > 0 => r,
                    (0, d) if d > 0 && d < count => count - d,
                    _ => default_redundancy(count),
                };
                if count != n || count < 3 || 2 * redundancy >= count || redundancy == 0 {
                    return Err(invalid(format!(
                        "a disperse subvolume has at least 3 bricks and 0 < 2 x redundancy < bricks; got {n} bricks, count {count}, redundancy {redundancy}"
                    )));
                }
                if s.disperse_data > 0 && s.disperse_data + redundancy != count {
                    return Err(invalid(
                        "disperse-data + disperse-redundancy must equal the disperse count",
                    ));
                }
                (1, 0, count, redundancy)
            }
        };
        let mut bricks = vec![];
        for (i, b) in s.bricks.iter().enumerate() {
            let path = clean_path(&b.path)?;
            let (peer_id, host) = resolve(b)?;
            if !seen.insert((peer_id, path.clone())) {
                return Err(
                    invalid(format!("duplicate brick {host}:{path}")).field("path", path.as_str())
                );
            }
            let kind = if arbiter == 1 && i == 2 {
                BrickKind::Arbiter
            } else {
                b.kind
            };
            if kind == BrickKind::Arbiter && !(arbiter == 1 && i == 2) {
                return Err(invalid(
                    "only the last brick of a replica 2 + arbiter 1 subvolume is an arbiter",
                ));
            }
            bricks.push(BrickRecord {
                id: Uuid::new_v4(),
                peer_id,
                host,
                path,
                kind,
            });
        }
        if s.kind == SubvolType::Distribute {
            // One subvolume per brick, as GD2 stores distribute volumes.
            for b in bricks {
                subvols.push(SubvolRecord {
                    kind: SubvolType::Distribute,
                    replica: 1,
                    arbiter: 0,
                    disperse: 0,
                    redundancy: 0,
                    bricks: vec![b],
                });
            }
        } else {
            subvols.push(SubvolRecord {
                kind: s.kind,
                replica,
                arbiter,
                disperse,
                redundancy,
                bricks,
            });
        }
    }
    let mut vol = VolumeRecord {
        id: Uuid::new_v4(),
        name: req.name.clone(),
        transport: "tcp".into(),
        state: VolumeState::Created,
        subvols,
        options: BTreeMap::new(),
        metadata: req.metadata.clone(),
        auth: VolumeAuth {
            username: Uuid::new_v4(),
            password: Uuid::new_v4(),
        },
    };
    // The options GD1 sets at create; kept in the record, as GD1 keeps them in its info file.
    vol.options = create_defaults(&vol);
    if !req.options.is_empty() {
        let groups = crate::volume_options::list_groups(node.store.as_ref()).await?;
        let group = |name: &str| groups.iter().find(|g| g.name == name).cloned();
        vol.options = crate::options::catalog()
            .set(&vol, &req.options, &group)?
            .options;
    }
    Ok(vol)
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
    /// The volume as volgen sees it. Brick indexes follow the stored order, which never
    /// changes for a brick once it is in the volume.
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
                .enumerate()
                .map(|(index, b)| gd_volgen::Brick {
                    peer_id: b.peer_id,
                    host: b.host.clone(),
                    path: b.path.clone(),
                    index,
                    fsid: None,
                })
                .collect(),
            username: self.auth.username,
            password: self.auth.password,
            quota_version: 0,
            options,
        }
    }
}

/// GlusterFS's default redundancy for a disperse count: the count without its highest power
/// of two (1 when that leaves nothing).
fn default_redundancy(count: u32) -> u32 {
    if count < 3 {
        return 0;
    }
    let high = 1u32 << (31 - count.leading_zeros());
    let r = count & !high;
    if r == 0 || 2 * r >= count { 1 } else { r }
}

/// Whether peer `p` is known as `host`: one of its addresses' hosts, its hostname, or an
/// FQDN whose first label is its hostname (or the other way round).
fn known_as(p: &gd_api::Peer, host: &str) -> bool {
    let first_label = |h: &str| h.split('.').next().unwrap_or(h).to_ascii_lowercase();
    let name = p.name.to_ascii_lowercase();
    let host_lc = host.to_ascii_lowercase();
    let is_name = !peers::is_ip_address(host);
    p.peer_addresses
        .iter()
        .chain(p.client_addresses.iter())
        .any(|a| host_of(a).eq_ignore_ascii_case(host))
        || (is_name
            && !name.is_empty()
            && (name == host_lc
                || (!name.contains('.') && first_label(&host_lc) == name)
                || (!host_lc.contains('.') && first_label(&name) == host_lc)))
}

/// The IPs peer `p`'s addresses name.
fn peer_ips(p: &gd_api::Peer) -> impl Iterator<Item = IpAddr> + '_ {
    p.peer_addresses
        .iter()
        .chain(p.client_addresses.iter())
        .filter_map(|a| host_of(a).parse::<IpAddr>().ok())
}

/// Bound on looking up a brick's host name.
const HOST_LOOKUP_MAX: Duration = Duration::from_secs(5);

/// The addresses `host` resolves to (forward lookup, bounded); none when it does not.
async fn lookup_host(host: &str) -> Vec<IpAddr> {
    let target = format!("{host}:0");
    match tokio::time::timeout(HOST_LOOKUP_MAX, tokio::net::lookup_host(target)).await {
        Ok(Ok(addrs)) => addrs.map(|a| a.ip()).take(16).collect(),
        _ => vec![],
    }
}

fn host_of(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h.trim_matches(['[', ']']),
        _ => addr,
    }
}

/// An absolute, normalised path without `.`/`..` parts, that volgen can put in a volfile
/// (`gd_volgen::check_brick_path`, the rule the volume's bricks will be started under).
fn clean_path(p: &str) -> Result<String, ApiErr> {
    gd_volgen::check_brick_path(p).map_err(|e| invalid(e.to_string()).field("path", p))?;
    let bad = |why: &str| invalid(format!("brick path {p:?}: {why}")).field("path", p);
    let mut parts = vec![];
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(bad("'..' is not allowed")),
            x if x.len() > 255 => return Err(bad("a component is longer than 255 bytes")),
            x => parts.push(x),
        }
    }
    if parts.is_empty() {
        return Err(bad("the root directory cannot be a brick"));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// The arguments of the brick steps: the volume and how strict the checks are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct BrickArgs {
    volume: String,
    volume_id: Uuid,
    bricks: Vec<BrickRecord>,
    force: bool,
    flags: gd_api::CreateFlags,
}

/// `POST /v1/volumes`.
pub async fn create_volume(node: &Node, req: VolCreateReq) -> Result<VolumeInfo, ApiErr> {
    let engine = engine(node)?;
    let vol = plan_volume(node, &req).await?;
    if get_volume(node.store.as_ref(), &vol.name).await?.is_some() {
        return Err(ApiErr::new(
            ErrorCode::Conflict,
            format!("volume {} already exists", vol.name),
        )
        .field("name", vol.name.as_str()));
    }
    let brick_nodes: Vec<Uuid> = vol
        .bricks()
        .map(|b| b.peer_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let args = serde_json::to_value(BrickArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        bricks: vol.bricks().cloned().collect(),
        force: req.force,
        flags: req.flags,
    })
    .map_err(|e| ApiErr::new(ErrorCode::Internal, e.to_string()))?;
    let me = node.identity().peer_id;
    let mut validate = Step::new(
        "volume-create.validate-bricks",
        brick_nodes.clone(),
        args.clone(),
    );
    validate.timeout = Some(BRICK_STEP_TIMEOUT);
    let mut init = Step::new("volume-create.init-bricks", brick_nodes, args);
    init.timeout = Some(BRICK_STEP_TIMEOUT);
    let store_step = Step::new(
        "volume-create.store",
        vec![me],
        serde_json::to_value(&vol).map_err(|e| ApiErr::new(ErrorCode::Internal, e.to_string()))?,
    );
    let txn = Transaction {
        operation: format!("volume create {}", vol.name),
        locks: vec![format!("volume/{}", vol.name)],
        steps: vec![validate, init, store_step],
    };
    run(node, &engine, txn).await?;
    Ok(vol.to_api())
}

/// `DELETE /v1/volumes/{name}`. Returns what the nodes had to force (processes killed).
pub async fn delete_volume(node: &Node, name: &str) -> Result<Vec<String>, ApiErr> {
    check_name(name)?;
    let engine = engine(node)?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    if vol.state == VolumeState::Started {
        return Err(ApiErr::new(
            ErrorCode::Conflict,
            format!("volume {name} is started; stop it before deleting it"),
        ));
    }
    require_online(node, &vol, "deleted").await?;
    let me = node.identity().peer_id;
    let args =
        serde_json::to_value(&vol).map_err(|e| ApiErr::new(ErrorCode::Internal, e.to_string()))?;
    let mut processes = Step::new("volume-delete.processes", vol.brick_nodes(), args.clone());
    processes.timeout = Some(PROCESS_STEP_TIMEOUT);
    let txn = Transaction {
        operation: format!("volume delete {name}"),
        locks: vec![format!("volume/{name}")],
        steps: vec![processes, Step::new("volume-delete.store", vec![me], args)],
    };
    run(node, &engine, txn).await
}

/// How long a step that runs a reconciler pass may take on all of its nodes: a pass may wait
/// for another one (starting bricks of another volume) before its own starts or stops.
const PROCESS_STEP_TIMEOUT: Duration =
    Duration::from_secs(crate::bricks::START_TIMEOUT.as_secs() + 15);

/// Refuses an operation that must confirm something on every brick node of `vol` while one
/// of them is offline: its step would wait for that node until its bound and then fail.
async fn require_online(node: &Node, vol: &VolumeRecord, done: &str) -> Result<(), ApiErr> {
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
        n => Err(ApiErr::new(
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

/// How messages name a node: its first peer address (what it was added by), else its id.
pub fn peer_label(p: &gd_api::Peer) -> String {
    p.peer_addresses
        .first()
        .or(p.client_addresses.first())
        .cloned()
        .unwrap_or_else(|| p.id.to_string())
}

/// [`peer_label`] of the node `id`, from the store; its id when the store has no record.
pub async fn node_label(store: &dyn Store, id: Uuid) -> String {
    match peers::get_peer(store, id).await {
        Ok(Some(p)) => peer_label(&p),
        _ => id.to_string(),
    }
}

/// `POST /v1/volumes/{name}/start`: records the volume as started, then waits until every
/// brick node runs and has signed in its bricks; undone (bricks stopped, state restored) when
/// a node cannot.
pub async fn start_volume(node: &Node, name: &str, force: bool) -> Result<VolumeInfo, ApiErr> {
    check_name(name)?;
    let engine = engine(node)?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    if vol.state == VolumeState::Started && !force {
        return Err(ApiErr::new(
            ErrorCode::Conflict,
            format!("volume {name} is already started"),
        ));
    }
    let txn = state_change(node, &vol, VolumeState::Started, "start")?;
    // What a start forces (nothing of its own volume is stopped) is in the nodes' logs.
    run(node, &engine, txn).await?;
    Ok(get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// `POST /v1/volumes/{name}/stop`: records the volume as stopped, then waits until every
/// brick node has stopped its bricks and self-heal daemon, and their processes are gone.
/// Returns the volume and what the nodes had to force (processes killed).
pub async fn stop_volume(node: &Node, name: &str) -> Result<(VolumeInfo, Vec<String>), ApiErr> {
    check_name(name)?;
    let engine = engine(node)?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    match vol.state {
        VolumeState::Started => {}
        VolumeState::Stopped => {
            return Err(ApiErr::new(
                ErrorCode::Conflict,
                format!("volume {name} is already stopped"),
            ));
        }
        VolumeState::Created => {
            return Err(ApiErr::new(
                ErrorCode::Conflict,
                format!("volume {name} was never started"),
            ));
        }
    }
    require_online(node, &vol, "stopped").await?;
    let txn = state_change(node, &vol, VolumeState::Stopped, "stop")?;
    let notes = run(node, &engine, txn).await?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api();
    Ok((vol, notes))
}

/// The arguments of the state and brick steps of start and stop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct StateArgs {
    volume: String,
    volume_id: Uuid,
    from: VolumeState,
    to: VolumeState,
}

/// A `volume-state.bricks` step for `vol` as it stands (its state unchanged): a reconciler
/// pass for the volume on every brick node, for a change that starts or stops its processes.
pub fn converge_step(vol: &VolumeRecord) -> Result<Step, ApiErr> {
    let args = serde_json::to_value(StateArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        from: vol.state,
        to: vol.state,
    })
    .map_err(|e| ApiErr::new(ErrorCode::Internal, e.to_string()))?;
    let mut step = Step::new("volume-state.bricks", vol.brick_nodes(), args);
    step.timeout = Some(PROCESS_STEP_TIMEOUT);
    Ok(step)
}

fn state_change(
    node: &Node,
    vol: &VolumeRecord,
    to: VolumeState,
    verb: &str,
) -> Result<Transaction, ApiErr> {
    let args = serde_json::to_value(StateArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        from: vol.state,
        to,
    })
    .map_err(|e| ApiErr::new(ErrorCode::Internal, e.to_string()))?;
    let mut bricks = Step::new("volume-state.bricks", vol.brick_nodes(), args.clone());
    bricks.timeout = Some(PROCESS_STEP_TIMEOUT);
    Ok(Transaction {
        operation: format!("volume {verb} {}", vol.name),
        locks: vec![format!("volume/{}", vol.name)],
        steps: vec![
            Step::new("volume-state.record", vec![node.identity().peer_id], args),
            bricks,
        ],
    })
}

/// Sets a volume's state (compare-and-swap on its id); undo sets it back.
struct RecordState {
    node: Arc<Node>,
}

impl RecordState {
    async fn set(&self, a: &StateArgs, state: VolumeState) -> Result<(), String> {
        update_volume(&*self.node.store, &a.volume, a.volume_id, |v| {
            v.state = state;
            Ok(())
        })
        .await
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
        let txn = Txn::new()
            .when([Compare::mod_revision(
                &key,
                gd_store::CompareOp::Equal,
                kv.mod_revision,
            )])
            .and_then([TxnOp::put(&key, record::encode(&v))]);
        if store.txn(txn).await.map_err(|e| e.to_string())?.succeeded {
            return Ok(());
        }
    }
    Err(format!("volume {name} changes concurrently"))
}

#[async_trait]
impl StepHandler for RecordState {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        let a: StateArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        self.set(&a, a.to).await
    }
    async fn undo(&self, args: &serde_json::Value) -> Result<(), String> {
        let a: StateArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        self.set(&a, a.from).await?;
        // Put the local processes back as they were.
        if let Some(r) = self.node.reconciler() {
            let _ = r.converge(Some(&a.volume)).await;
        }
        Ok(())
    }
}

/// Runs a reconciler pass for one volume on this node, now: returns once its processes
/// match the stored state (started, or gone); the note says what had to be killed.
async fn converge_volume(node: &Node, volume: &str) -> Result<Option<String>, String> {
    let r = node
        .reconciler()
        .ok_or("this node's reconciler is not running")?;
    let pass = r.converge(Some(volume)).await.map_err(|e| e.to_string())?;
    if !pass.problems.is_empty() {
        return Err(pass.problems.join("; "));
    }
    Ok((!pass.killed.is_empty()).then(|| pass.killed.join("; ")))
}

/// Makes this node's bricks and self-heal daemon of the volume match its (new) state, now.
struct ConvergeBricks {
    node: Arc<Node>,
}

#[async_trait]
impl StepHandler for ConvergeBricks {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        self.run_noted(args).await.map(drop)
    }
    async fn run_noted(&self, args: &serde_json::Value) -> Result<Option<String>, String> {
        let a: StateArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        converge_volume(&self.node, &a.volume).await
    }
    async fn undo(&self, args: &serde_json::Value) -> Result<(), String> {
        // The state step's undo restores the record and converges again; nothing else to do.
        let _ = args;
        Ok(())
    }
}

/// Before a delete: no process of the (not started) volume runs on this node any more; any
/// that does is stopped. Changes nothing in the store, so there is nothing to undo.
struct StopProcesses {
    node: Arc<Node>,
}

#[async_trait]
impl StepHandler for StopProcesses {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        self.run_noted(args).await.map(drop)
    }
    async fn run_noted(&self, args: &serde_json::Value) -> Result<Option<String>, String> {
        let vol: VolumeRecord =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        if let Some(v) = get_volume(self.node.store.as_ref(), &vol.name)
            .await
            .map_err(|e| e.to_string())?
            && v.state == VolumeState::Started
        {
            return Err(format!("volume {} was started meanwhile", vol.name));
        }
        converge_volume(&self.node, &vol.name).await
    }
    async fn undo(&self, _: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }
}

/// Runs a transaction through this node's engine, with the volume layer's error mapping.
/// Returns the nodes' notes ("on <node>: <note>").
pub async fn run_txn(node: &Node, txn: Transaction) -> Result<Vec<String>, ApiErr> {
    let engine = engine(node)?;
    run(node, &engine, txn).await
}

async fn run(node: &Node, engine: &Engine, txn: Transaction) -> Result<Vec<String>, ApiErr> {
    let operation = txn.operation.clone();
    let lease = node.lease().await?;
    let store = node.store.as_ref();
    match engine.execute(txn, lease).await {
        Ok(notes) => {
            let mut out = vec![];
            for n in notes {
                out.push(format!(
                    "on {}: {}",
                    node_label(store, n.node).await,
                    n.text
                ));
            }
            Ok(out)
        }
        Err(e) => {
            let mut labels = BTreeMap::new();
            let nodes = match &e {
                TxnError::StepFailed { node, .. } => vec![*node],
                TxnError::Timeout { nodes, .. } => nodes.clone(),
                _ => vec![],
            };
            for n in nodes {
                labels.insert(n, node_label(store, n).await);
            }
            Err(txn_error(&operation, e, &labels))
        }
    }
}

/// The answer to a failed transaction: one sentence, naming nodes by `labels` (their
/// addresses); the step, the node's id and the node's own words as fields for programs.
fn txn_error(operation: &str, e: TxnError, labels: &BTreeMap<Uuid, String>) -> ApiErr {
    let label = |n: &Uuid| labels.get(n).cloned().unwrap_or_else(|| n.to_string());
    match e {
        TxnError::Busy { .. } => ApiErr::new(ErrorCode::OperationInProgress, e.to_string()),
        TxnError::StepFailed { step, node, error } => {
            // A validation step that refuses is the caller's mistake (a brick in use, on the
            // root file system...): a 4xx, like every other bad input; nothing was changed.
            let (code, message) = if step.ends_with(".validate-bricks") {
                (
                    ErrorCode::InvalidRequest,
                    format!("brick check failed on {}: {error}", label(&node)),
                )
            } else {
                (
                    ErrorCode::TxnStepFailed,
                    format!("{operation} failed on {}: {error}", label(&node)),
                )
            };
            ApiErr::new(code, message)
                .field("step", step)
                .field("peer-id", node.to_string())
                .field("error", error)
        }
        TxnError::Timeout {
            step,
            nodes,
            timeout_s,
        } => ApiErr::new(
            ErrorCode::TxnStepFailed,
            format!(
                "{operation} did not complete within {timeout_s} s: no answer from {}",
                nodes.iter().map(label).collect::<Vec<_>>().join(", ")
            ),
        )
        .field("step", step)
        .field(
            "peer-ids",
            nodes
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        TxnError::NodesGone { step, nodes } => ApiErr::new(
            ErrorCode::TxnStepFailed,
            format!(
                "{operation} failed: {} went offline before doing its part; what was done is undone",
                nodes.iter().map(label).collect::<Vec<_>>().join(", ")
            ),
        )
        .field("step", step)
        .field(
            "peer-ids",
            nodes
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        TxnError::Invalid(m) => ApiErr::new(ErrorCode::Internal, m),
        TxnError::Store(s) => s.into(),
    }
}

fn engine(node: &Node) -> Result<Arc<Engine>, ApiErr> {
    node.txn_engine().ok_or_else(|| {
        ApiErr::new(
            ErrorCode::StoreUnavailable,
            "the transaction engine is not running yet",
        )
    })
}

fn invalid(msg: impl Into<String>) -> ApiErr {
    ApiErr::new(ErrorCode::InvalidRequest, msg)
}

fn not_found(name: &str) -> ApiErr {
    ApiErr::new(ErrorCode::NotFound, format!("volume {name} not found")).field("name", name)
}

// ---- steps ----

/// Brick checks on this node (changes nothing but a test xattr).
struct ValidateBricks {
    node: Arc<Node>,
}

#[async_trait]
impl StepHandler for ValidateBricks {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        let a: BrickArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        let me = self.node.identity().peer_id;
        // Bricks this node already serves, for the overlap check.
        let refs = self
            .node
            .store
            .range(&format!("{BRICKS_PREFIX}{me}/"), 0)
            .await
            .map_err(|e| e.to_string())?;
        let existing: Vec<String> = refs
            .kvs
            .iter()
            .filter_map(|kv| record::decode::<BrickRef>(&kv.key, &kv.value).ok())
            .map(|r| r.path)
            .collect();
        let protected = ProtectedDirs::of(&self.node.config);
        for b in a.bricks.iter().filter(|b| b.peer_id == me) {
            for e in &existing {
                if b.path == *e
                    || b.path.starts_with(&format!("{e}/"))
                    || e.starts_with(&format!("{}/", b.path))
                {
                    return Err(format!(
                        "brick {} overlaps {e}, a brick of another volume on this node",
                        b.path
                    ));
                }
            }
            let path = PathBuf::from(&b.path);
            tokio::task::spawn_blocking({
                let (force, flags, protected) = (a.force, a.flags, protected.clone());
                move || {
                    protected.check(&path)?;
                    check_brick(&path, force, flags)
                }
            })
            .await
            .map_err(|e| e.to_string())??;
        }
        Ok(())
    }

    async fn undo(&self, _: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }
}

/// The directories no brick may be, even with `force`: marking one (an xattr on `/etc`) or
/// exporting one (the node's secrets under its state directory) is never what was meant.
///
/// A brick is refused when it is one of [`SYSTEM_DIRS`], inside one of [`PSEUDO_FS_DIRS`], or
/// is, is inside or holds one of the node's own directories (state, run and log directories,
/// and [`DAEMON_STATE_DIRS`]). Paths are compared as given and with their symlinks resolved on
/// the brick's node (a link to `/etc` is `/etc`; with `/lib` a link to `usr/lib`, `/usr/lib`
/// is `/lib`); a brick that does not exist yet is resolved through its longest existing
/// ancestor.
#[derive(Debug, Clone)]
struct ProtectedDirs {
    /// Each as configured and as resolved.
    system: Vec<(PathBuf, PathBuf)>,
    pseudo: Vec<(PathBuf, PathBuf)>,
    own: Vec<(PathBuf, PathBuf)>,
}

/// The root and the directories of the operating system itself.
const SYSTEM_DIRS: [&str; 11] = [
    "/", "/etc", "/usr", "/boot", "/proc", "/sys", "/dev", "/bin", "/sbin", "/lib", "/lib64",
];
/// The kernel's and devices' file systems: nothing under them can hold data.
const PSEUDO_FS_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];
/// The state directories of glusterd2 and GD1 at their usual places, whatever this node uses.
const DAEMON_STATE_DIRS: [&str; 2] = ["/var/lib/glusterd2", "/var/lib/glusterd"];
/// How many symlinks resolving one brick path may follow (Linux's `MAXSYMLINKS`).
const SYMLINK_HOPS_MAX: usize = 40;

impl ProtectedDirs {
    fn of(config: &crate::config::Config) -> ProtectedDirs {
        ProtectedDirs::new(
            [&config.localstatedir, &config.rundir, &config.logdir]
                .into_iter()
                .cloned(),
        )
    }

    /// The protected directories of a node whose own directories are `own`.
    fn new(own: impl IntoIterator<Item = PathBuf>) -> ProtectedDirs {
        let own = own
            .into_iter()
            .chain(DAEMON_STATE_DIRS.iter().map(PathBuf::from));
        let both = |p: PathBuf| {
            let r = resolve(&p).unwrap_or_else(|_| p.clone());
            (p, r)
        };
        ProtectedDirs {
            system: SYSTEM_DIRS.iter().map(PathBuf::from).map(both).collect(),
            pseudo: PSEUDO_FS_DIRS.iter().map(PathBuf::from).map(both).collect(),
            own: own.map(both).collect(),
        }
    }

    /// Refuses `path` if it is, or resolves to, a protected directory (see the type).
    fn check(&self, path: &Path) -> Result<(), String> {
        let real = resolve(path).map_err(|e| format!("brick {}: {e}", path.display()))?;
        if let Some(what) = self.refusal(path, |d| &d.0) {
            return Err(format!(
                "brick {} is {what}: refused even with force",
                path.display()
            ));
        }
        match self.refusal(&real, |d| &d.1) {
            None => Ok(()),
            Some(what) => Err(format!(
                "brick {} resolves to {}, which is {what}: refused even with force",
                path.display(),
                real.display()
            )),
        }
    }

    /// What protected directory `path` is, is inside or holds, comparing it with each
    /// directory as `form` gives it (as configured, or resolved).
    fn refusal(&self, path: &Path, form: fn(&(PathBuf, PathBuf)) -> &PathBuf) -> Option<String> {
        if self.system.iter().any(|d| path == form(d)) {
            return Some("a system directory".to_owned());
        }
        if let Some(d) = self.pseudo.iter().find(|d| path.starts_with(form(d))) {
            return Some(format!("inside {} (a kernel file system)", d.0.display()));
        }
        self.own.iter().find_map(|d| {
            let what = format!("{} (a directory of the management daemon)", d.0.display());
            let dir = form(d);
            if path == dir {
                Some(what)
            } else if path.starts_with(dir) {
                Some(format!("inside {what}"))
            } else if dir.starts_with(path) {
                Some(format!("a parent of {what}, which the brick would export"))
            } else {
                None
            }
        })
    }
}

/// `path` with its symlinks resolved as far as it exists: its longest existing ancestor made
/// canonical, the rest (not made yet) appended. A dangling symlink on the way is followed to
/// where it points, as any later use of the path would once the target exists.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    let mut path = path.to_path_buf();
    for _ in 0..=SYMLINK_HOPS_MAX {
        let mut rest: Vec<std::ffi::OsString> = vec![];
        let mut cur = path.as_path();
        let next = loop {
            if let Ok(mut real) = std::fs::canonicalize(cur) {
                real.extend(rest.iter().rev());
                return Ok(real);
            }
            if let Ok(target) = std::fs::read_link(cur) {
                let mut target = cur.parent().unwrap_or(Path::new("/")).join(target);
                target.extend(rest.iter().rev());
                break target;
            }
            match (cur.parent(), cur.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    cur = parent;
                }
                _ => return Err("its path cannot be resolved".into()),
            }
        };
        path = next;
    }
    Err(format!(
        "its path goes through more than {SYMLINK_HOPS_MAX} symbolic links"
    ))
}

/// The brick checks of GD2 (research/gd2.md §5.5), relaxed by `force` and the flags.
fn check_brick(path: &Path, force: bool, flags: gd_api::CreateFlags) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let p = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("brick {p}: {e}")),
    };
    // The nearest existing directory: the brick itself, or the ancestor it will be made in.
    let existing = match &meta {
        Some(m) if !m.is_dir() => return Err(format!("brick {p} exists and is not a directory")),
        Some(_) => path.to_path_buf(),
        None => {
            if !(flags.create_brick_dir || force) {
                return Err(format!(
                    "brick {p} does not exist (use create-brick-dir to create it)"
                ));
            }
            path.ancestors()
                .find(|a| a.is_dir())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"))
        }
    };
    let dev = std::fs::metadata(&existing)
        .map_err(|e| format!("{}: {e}", existing.display()))?
        .dev();
    if meta.is_some() && !(force || flags.allow_mount_as_brick) {
        let parent_dev = path
            .parent()
            .and_then(|pp| std::fs::metadata(pp).ok())
            .map(|m| m.dev());
        if parent_dev.is_some_and(|d| d != dev) {
            return Err(format!(
                "brick {p} is a mount point (use allow-mount-as-brick to accept it)"
            ));
        }
    }
    if !(force || flags.allow_root_dir) {
        let root = std::fs::metadata("/").map_err(|e| e.to_string())?.dev();
        if dev == root {
            return Err(format!(
                "brick {p} is on the root file system (use allow-root-dir or force to accept it)"
            ));
        }
    }
    // xattrs must work where the brick lives.
    let probe = "trusted.glusterfs.test-xattr-support";
    xattr::set(&existing, probe, b"probe")
        .map_err(|e| format!("brick {p}: extended attributes do not work here: {e}"))?;
    let _ = xattr::remove(&existing, probe);
    if !(force || flags.reuse_bricks) {
        for a in existing.ancestors() {
            for key in [VOLUME_ID_XATTR, GFID_XATTR] {
                if xattr::get(a, key).ok().flatten().is_some() {
                    return Err(format!(
                        "brick {p}: {} carries {key}: it is (or is inside) a brick of a volume (use reuse-bricks or force)",
                        a.display()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Marks this node's bricks for the volume; undo takes back exactly what this made.
struct InitBricks {
    node: Arc<Node>,
}

#[async_trait]
impl StepHandler for InitBricks {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        let a: BrickArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        let me = self.node.identity().peer_id;
        let bricks: Vec<BrickRecord> = a.bricks.into_iter().filter(|b| b.peer_id == me).collect();
        let (id, force, create) = (a.volume_id, a.force, a.flags.create_brick_dir || a.force);
        let protected = ProtectedDirs::of(&self.node.config);
        tokio::task::spawn_blocking(move || {
            for b in &bricks {
                // Again, right before marking: a symlink may have changed since the checks.
                protected.check(Path::new(&b.path))?;
                init_brick(Path::new(&b.path), id, create, force)?;
            }
            Ok::<(), String>(())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn undo(&self, args: &serde_json::Value) -> Result<(), String> {
        let a: BrickArgs =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        let me = self.node.identity().peer_id;
        let bricks: Vec<BrickRecord> = a.bricks.into_iter().filter(|b| b.peer_id == me).collect();
        let id = a.volume_id;
        tokio::task::spawn_blocking(move || {
            for b in &bricks {
                undo_init_brick(Path::new(&b.path), id);
            }
        })
        .await
        .map_err(|e| e.to_string())
    }
}

/// A marker left in a brick directory this transaction created, so undo removes only that.
const CREATED_MARKER: &str = "trusted.glusterd2.created-by";

fn init_brick(path: &Path, volume_id: Uuid, create: bool, force: bool) -> Result<(), String> {
    let p = path.display();
    if !path.exists() {
        if !create {
            return Err(format!("brick {p} does not exist"));
        }
        std::fs::create_dir_all(path).map_err(|e| format!("cannot create brick {p}: {e}"))?;
        let _ = xattr::set(path, CREATED_MARKER, volume_id.as_bytes());
    }
    match xattr::get(path, VOLUME_ID_XATTR).map_err(|e| format!("brick {p}: {e}"))? {
        Some(v) if v == volume_id.as_bytes() => {}
        Some(_) if !force => return Err(format!("brick {p} belongs to another volume")),
        _ => xattr::set(path, VOLUME_ID_XATTR, volume_id.as_bytes())
            .map_err(|e| format!("brick {p}: cannot set {VOLUME_ID_XATTR}: {e}"))?,
    }
    let gl = path.join(".glusterfs");
    std::fs::create_dir_all(&gl).map_err(|e| format!("cannot create {}: {e}", gl.display()))?;
    Ok(())
}

fn undo_init_brick(path: &Path, volume_id: Uuid) {
    // Only what this volume made: its volume-id xattr, an empty .glusterfs, a directory it
    // created (if empty).
    if xattr::get(path, VOLUME_ID_XATTR)
        .ok()
        .flatten()
        .is_some_and(|v| v == volume_id.as_bytes())
    {
        let _ = xattr::remove(path, VOLUME_ID_XATTR);
        let _ = std::fs::remove_dir(path.join(".glusterfs"));
    }
    if xattr::get(path, CREATED_MARKER)
        .ok()
        .flatten()
        .is_some_and(|v| v == volume_id.as_bytes())
    {
        let _ = xattr::remove(path, CREATED_MARKER);
        let _ = std::fs::remove_dir(path);
    }
}

/// Writes the volume and its brick references, if the name is still free.
struct StoreVolume {
    node: Arc<Node>,
}

#[async_trait]
impl StepHandler for StoreVolume {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        let vol: VolumeRecord =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        let key = volume_key(&vol.name);
        let mut ops = vec![TxnOp::put(&key, record::encode(&vol))];
        for b in vol.bricks() {
            let r = BrickRef {
                volume: vol.name.clone(),
                volume_id: vol.id,
                path: b.path.clone(),
            };
            ops.push(TxnOp::put(
                brick_ref_key(b.peer_id, b.id),
                record::encode(&r),
            ));
        }
        let resp = self
            .node
            .store
            .txn(Txn::new().when([Compare::absent(&key)]).and_then(ops))
            .await
            .map_err(|e| e.to_string())?;
        if !resp.succeeded {
            // Idempotent: a retry of this very step finds its own volume.
            match get_volume(self.node.store.as_ref(), &vol.name)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(v) if v.id == vol.id => {}
                _ => return Err(format!("volume {} already exists", vol.name)),
            }
        }
        Ok(())
    }

    async fn undo(&self, args: &serde_json::Value) -> Result<(), String> {
        let vol: VolumeRecord =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        remove_records(&self.node, &vol).await
    }
}

/// Deletes a volume's records (only the volume with that id).
async fn remove_records(node: &Node, vol: &VolumeRecord) -> Result<(), String> {
    match get_volume(node.store.as_ref(), &vol.name)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(v) if v.id == vol.id => {}
        _ => return Ok(()),
    }
    let key = volume_key(&vol.name);
    let mut ops = vec![TxnOp::delete(&key)];
    for b in vol.bricks() {
        ops.push(TxnOp::delete(brick_ref_key(b.peer_id, b.id)));
    }
    node.store
        .txn(Txn::new().and_then(ops))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Deletes a volume's records; undo writes them back.
struct DeleteVolume {
    node: Arc<Node>,
}

#[async_trait]
impl StepHandler for DeleteVolume {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        let vol: VolumeRecord =
            serde_json::from_value(args.clone()).map_err(|e| format!("bad step arguments: {e}"))?;
        if let Some(v) = get_volume(self.node.store.as_ref(), &vol.name)
            .await
            .map_err(|e| e.to_string())?
            && v.state == VolumeState::Started
        {
            return Err(format!("volume {} was started meanwhile", vol.name));
        }
        remove_records(&self.node, &vol).await
    }

    async fn undo(&self, args: &serde_json::Value) -> Result<(), String> {
        StoreVolume {
            node: self.node.clone(),
        }
        .run(args)
        .await
    }
}

/// The step handlers every node registers.
pub fn registry(node: &Arc<Node>) -> Registry {
    let node = || node.clone();
    let handlers: [(&str, Arc<dyn StepHandler>); 8] = [
        (
            "volume-create.validate-bricks",
            Arc::new(ValidateBricks { node: node() }),
        ),
        (
            "volume-create.init-bricks",
            Arc::new(InitBricks { node: node() }),
        ),
        (
            "volume-create.store",
            Arc::new(StoreVolume { node: node() }),
        ),
        (
            "volume-delete.processes",
            Arc::new(StopProcesses { node: node() }),
        ),
        (
            "volume-delete.store",
            Arc::new(DeleteVolume { node: node() }),
        ),
        (
            "volume-state.record",
            Arc::new(RecordState { node: node() }),
        ),
        (
            "volume-state.bricks",
            Arc::new(ConvergeBricks { node: node() }),
        ),
        (
            "volume-options.store",
            Arc::new(crate::volume_options::StoreOptions { node: node() }),
        ),
    ];
    let mut r = Registry::new();
    for (name, handler) in handlers {
        r.register(name, handler);
    }
    r
}

/// Starts the transaction engine (participant and cleanup leader) and the brick reconciler;
/// returns their tasks.
pub fn spawn_background(
    node: Arc<Node>,
    rpc: crate::sunrpc::SunRpcServer,
    cancel: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let engine = Engine::new(node.store.clone(), node.identity().peer_id, registry(&node));
    node.set_txn_engine(engine.clone());
    let reconciler = crate::reconcile::Reconciler::new(node.clone(), rpc);
    node.set_reconciler(reconciler.clone());
    let liveness = node.liveness.clone();
    vec![
        tokio::spawn(engine.clone().run_participant(cancel.clone())),
        tokio::spawn(recover_own_transactions(engine.clone(), cancel.clone())),
        tokio::spawn(engine.run_cleanup(move || liveness.lease(), cancel.clone())),
        tokio::spawn(reconciler.run(cancel)),
    ]
}

/// Ends the transactions this node started before it restarted (their coordinator died with
/// the old process), retrying until the store answers.
async fn recover_own_transactions(engine: Arc<Engine>, cancel: CancellationToken) {
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

/// How long measuring a volume's space through a temporary mount may take.
const SIZE_TIMEOUT: Duration = Duration::from_secs(30);

/// A started volume's space as its clients see it, measured as GD2 did: a temporary
/// read-only FUSE mount under the run directory, `statvfs`, unmount. `None` when the volume
/// is not started or the mount did not come up in time. Returns once the temporary client
/// has exited (found by its pid file, stopped if the unmount did not end it), so no call
/// leaves a process behind.
pub async fn volume_size(node: &Node, vol: &VolumeRecord) -> Option<gd_api::SizeInfo> {
    if vol.state != VolumeState::Started {
        return None;
    }
    let dir = node
        .config
        .rundir
        .join(format!("gd2mount-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).ok()?;
    let pidfile = dir.with_extension("pid");
    let ip = crate::reconcile::node_ip(node);
    let log = node.config.logdir.join("gd2mount.log");
    let mounted = async {
        crate::bricks::adopt_daemons();
        let status = tokio::process::Command::new(crate::bricks::find_executable("glusterfs")?)
            .arg("--process-name=fuse")
            .arg(format!("--pid-file={}", pidfile.display()))
            .arg("--read-only")
            .arg(format!("--volfile-server={ip}"))
            .arg(format!(
                "--volfile-server-port={}",
                node.config.client_addr.port()
            ))
            .arg(format!("--volfile-id={}", vol.name))
            .arg(format!("--log-file={}", log.display()))
            .arg(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .ok()?;
        if !status.success() {
            return None;
        }
        // The launcher returns before the mount answers: wait for it (bounded by the caller).
        loop {
            let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
            if mounts
                .lines()
                .any(|l| l.split_whitespace().nth(1) == dir.to_str())
                && let Ok(st) = nix::sys::statvfs::statvfs(&dir)
            {
                let (frag, blocks, avail, bfree) = (
                    st.fragment_size(),
                    st.blocks(),
                    st.blocks_available(),
                    st.blocks_free(),
                );
                let capacity = blocks * frag;
                return Some(gd_api::SizeInfo {
                    capacity,
                    used: capacity.saturating_sub(bfree * frag),
                    free: avail * frag,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let size = tokio::time::timeout(SIZE_TIMEOUT, mounted)
        .await
        .ok()
        .flatten();
    let client = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .and_then(|pid| {
            let mountpoint = dir.as_os_str().as_encoded_bytes();
            crate::bricks::Proc::find(pid, |args| args.contains(&mountpoint))
        });
    let _ = tokio::process::Command::new("umount")
        .arg("-l")
        .arg(&dir)
        .status()
        .await;
    if let Some(p) = client {
        // Unmounted, it exits by itself; stopping it covers a mount that never came up.
        crate::bricks::stop_all(&[p]).await;
    }
    let _ = std::fs::remove_file(&pidfile);
    let _ = std::fs::remove_dir(&dir);
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brick_names_its_node_by_any_address_or_name_it_is_known_by() {
        let p = gd_api::Peer {
            id: Uuid::nil(),
            name: "server2".into(),
            peer_addresses: vec!["store-b:24007".into(), "198.51.100.12:24007".into()],
            client_addresses: vec!["198.51.100.12:24007".into(), "[2001:db8::12]:24007".into()],
            online: true,
            pid: None,
            metadata: BTreeMap::new(),
        };
        for host in [
            "store-b",
            "STORE-B",
            "198.51.100.12",
            "2001:db8::12",
            "server2",
            "server2.example.com",
        ] {
            assert!(known_as(&p, host), "{host}");
        }
        for host in [
            "server3",
            "198.51.100.13",
            "store",
            "server2x.example.com",
            "127.0.0.1",
        ] {
            assert!(!known_as(&p, host), "{host}");
        }
        assert_eq!(
            peer_ips(&p).collect::<Vec<_>>(),
            vec![
                "198.51.100.12".parse::<IpAddr>().unwrap(),
                "198.51.100.12".parse().unwrap(),
                "2001:db8::12".parse().unwrap()
            ]
        );
        let fqdn = gd_api::Peer {
            name: "server2.example.com".into(),
            ..p
        };
        assert!(known_as(&fqdn, "server2"));
        assert!(!known_as(&fqdn, "server2.other.org"));
    }

    #[test]
    fn failed_steps_read_as_one_sentence_naming_the_node_by_address() {
        let node = Uuid::new_v4();
        let labels = BTreeMap::from([(node, "127.0.0.2:24007".to_owned())]);
        let why =
            "brick /srv/b1 is on the root file system (use allow-root-dir or force to accept it)";
        let e = txn_error(
            "volume create v",
            TxnError::StepFailed {
                step: "volume-create.validate-bricks".into(),
                node,
                error: why.into(),
            },
            &labels,
        );
        assert_eq!(e.status, 400);
        let err = &e.body.errors[0];
        assert_eq!(
            err.message,
            format!("brick check failed on 127.0.0.2:24007: {why}")
        );
        assert_eq!(err.fields["step"], "volume-create.validate-bricks");
        assert_eq!(err.fields["peer-id"], node.to_string());
        assert_eq!(err.fields["error"], why);

        let e = txn_error(
            "volume stop v",
            TxnError::StepFailed {
                step: "volume-state.bricks".into(),
                node,
                error: "brick /b (pid 7) still runs 5 s after SIGKILL".into(),
            },
            &labels,
        );
        assert_eq!(e.status, 500);
        assert_eq!(
            e.body.errors[0].message,
            "volume stop v failed on 127.0.0.2:24007: brick /b (pid 7) still runs 5 s after SIGKILL"
        );

        // A node the store has no record of is named by its id.
        let other = Uuid::new_v4();
        let e = txn_error(
            "volume delete v",
            TxnError::Timeout {
                step: "volume-delete.processes".into(),
                nodes: vec![node, other],
                timeout_s: 75,
            },
            &labels,
        );
        assert_eq!(
            e.body.errors[0].message,
            format!(
                "volume delete v did not complete within 75 s: no answer from 127.0.0.2:24007, {other}"
            )
        );
        assert_eq!(
            e.body.errors[0].fields["peer-ids"],
            format!("{node},{other}")
        );
    }

    #[test]
    fn names_and_paths() {
        assert!(check_name("vol_1-a").is_ok());
        for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(clean_path("/data//b1/./").unwrap(), "/data/b1");
        for bad in ["data/b1", "/", "/a/../b", "/a\n"] {
            assert!(clean_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn self_heal_daemon_follows_the_type_and_its_own_option() {
        let vol = |kind, options: &[(&str, &str)]| VolumeRecord {
            id: Uuid::new_v4(),
            name: "v".into(),
            transport: "tcp".into(),
            state: VolumeState::Started,
            subvols: vec![SubvolRecord {
                kind,
                replica: 0,
                arbiter: 0,
                disperse: 0,
                redundancy: 0,
                bricks: vec![],
            }],
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            metadata: BTreeMap::new(),
            auth: VolumeAuth {
                username: Uuid::new_v4(),
                password: Uuid::new_v4(),
            },
        };
        use SubvolType::*;
        assert!(!vol(Distribute, &[]).wants_self_heal_daemon());
        assert!(vol(Replicate, &[]).wants_self_heal_daemon());
        assert!(vol(Disperse, &[]).wants_self_heal_daemon());
        assert!(!vol(Replicate, &[("cluster.self-heal-daemon", "off")]).wants_self_heal_daemon());
        assert!(
            !vol(Replicate, &[("cluster.self-heal-daemon", "Disable")]).wants_self_heal_daemon()
        );
        assert!(vol(Replicate, &[("cluster.self-heal-daemon", "on")]).wants_self_heal_daemon());
        // Each type has its own key.
        assert!(
            vol(Replicate, &[("cluster.disperse-self-heal-daemon", "off")])
                .wants_self_heal_daemon()
        );
        assert!(
            !vol(Disperse, &[("cluster.disperse-self-heal-daemon", "0")]).wants_self_heal_daemon()
        );
        assert!(vol(Disperse, &[("cluster.self-heal-daemon", "off")]).wants_self_heal_daemon());
    }

    #[test]
    fn redundancy_defaults_like_glusterfs() {
        assert_eq!(default_redundancy(3), 1);
        assert_eq!(default_redundancy(6), 2);
        assert_eq!(default_redundancy(4), 1);
        assert_eq!(default_redundancy(5), 1);
        assert_eq!(default_redundancy(10), 2);
        assert_eq!(default_redundancy(12), 4);
    }

    #[test]
    fn brick_init_and_undo_touch_only_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        let fresh = dir.path().join("made/b1");
        init_brick(&fresh, id, true, false).unwrap();
        assert_eq!(
            xattr::get(&fresh, VOLUME_ID_XATTR).unwrap().unwrap(),
            id.as_bytes()
        );
        assert!(fresh.join(".glusterfs").is_dir());
        init_brick(&fresh, id, true, false).unwrap(); // idempotent
        assert!(
            init_brick(&fresh, Uuid::new_v4(), true, false).is_err(),
            "another volume's brick"
        );
        undo_init_brick(&fresh, id);
        assert!(!fresh.exists(), "a directory it created is removed");

        let kept = dir.path().join("kept");
        std::fs::create_dir(&kept).unwrap();
        std::fs::write(kept.join("data"), b"x").unwrap();
        init_brick(&kept, id, false, false).unwrap();
        undo_init_brick(&kept, id);
        assert!(
            kept.join("data").exists() && xattr::get(&kept, VOLUME_ID_XATTR).unwrap().is_none()
        );
    }

    #[test]
    fn protected_directories_are_refused_whatever_the_path_says() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let state = root.join("state");
        std::fs::create_dir(&state).unwrap();
        let protected = ProtectedDirs::new([state.clone(), root.join("run")]);
        let refused = |p: &Path| protected.check(p).unwrap_err();

        for system in SYSTEM_DIRS {
            assert_eq!(
                refused(Path::new(system)),
                format!("brick {system} is a system directory: refused even with force")
            );
        }
        for pseudo in ["/proc/1/b", "/sys/b", "/dev/shm/b"] {
            assert!(
                refused(Path::new(pseudo)).contains("(a kernel file system)"),
                "{pseudo}"
            );
        }
        // Symbolic links are followed, also where the brick does not exist yet.
        symlink("/etc", root.join("etc-link")).unwrap();
        assert_eq!(
            refused(&root.join("etc-link")),
            format!(
                "brick {}/etc-link resolves to /etc, which is a system directory: refused even \
                 with force",
                root.display()
            )
        );
        symlink("/proc", root.join("proc-link")).unwrap();
        assert!(refused(&root.join("proc-link/new/b")).contains("which is inside /proc"));
        symlink("/dev/gd2-no-such-device", root.join("dangling")).unwrap();
        assert!(refused(&root.join("dangling/b")).contains("which is inside /dev"));
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        assert!(refused(&root.join("loop1/b")).contains("more than 40 symbolic links"));

        // The node's own directories: not them, not inside them, not above them.
        let own = format!("{} (a directory of the management daemon)", state.display());
        assert_eq!(
            refused(&state),
            format!(
                "brick {} is {own}: refused even with force",
                state.display()
            )
        );
        assert!(refused(&state.join("b")).contains(&format!("is inside {own}")));
        assert!(
            refused(&root.join("run/b")).contains("is inside"),
            "not made yet"
        );
        assert!(refused(&root).contains(&format!(
            "is a parent of {own}, which the brick would export"
        )));
        symlink(&state, root.join("state-link")).unwrap();
        assert!(refused(&root.join("state-link/b")).contains(&format!("which is inside {own}")));
        assert!(refused(Path::new("/var/lib/glusterd2/b")).contains("inside /var/lib/glusterd2"));

        // Everything else is for the other checks to judge.
        protected.check(&root.join("bricks/b1")).unwrap();
        symlink(root.join("bricks"), root.join("bricks-link")).unwrap();
        protected.check(&root.join("bricks-link/b1")).unwrap();
        protected.check(Path::new("/etc-data/b1")).unwrap();
        protected.check(Path::new("/srv/usr")).unwrap();
    }

    #[test]
    fn brick_paths_follow_volgens_rule() {
        for (path, character) in [("/b 1", "a blank (' ')"), ("/b#1", "'#'"), ("/b`1`", "'`'")] {
            let e = clean_path(path).unwrap_err();
            assert_eq!(e.status, 400);
            let err = &e.body.errors[0];
            assert!(
                err.message
                    .starts_with(&format!("brick path {path:?} contains {character};")),
                "{}",
                err.message
            );
            assert_eq!(err.fields["path"], path);
        }
        assert!(
            clean_path(&format!("/{}", "x".repeat(4095)))
                .unwrap_err()
                .body
                .errors[0]
                .message
                .contains("the limit is 4095 bytes")
        );
    }

    #[test]
    fn brick_checks() {
        let dir = tempfile::tempdir().unwrap();
        let flags = gd_api::CreateFlags {
            allow_root_dir: true,
            ..Default::default()
        };
        let b = dir.path().join("b1");
        assert!(
            check_brick(&b, false, flags)
                .unwrap_err()
                .contains("does not exist")
        );
        let create = gd_api::CreateFlags {
            create_brick_dir: true,
            ..flags
        };
        check_brick(&b, false, create).unwrap();
        std::fs::create_dir(&b).unwrap();
        xattr::set(&b, VOLUME_ID_XATTR, Uuid::new_v4().as_bytes()).unwrap();
        let inner = b.join("sub");
        assert!(
            check_brick(&inner, false, create)
                .unwrap_err()
                .contains("volume-id")
        );
        let reuse = gd_api::CreateFlags {
            reuse_bricks: true,
            ..create
        };
        check_brick(&inner, false, reuse).unwrap();
        let strict = gd_api::CreateFlags {
            create_brick_dir: true,
            ..Default::default()
        };
        assert!(
            check_brick(&dir.path().join("x"), false, strict)
                .unwrap_err()
                .contains("root file system")
        );
    }
}
