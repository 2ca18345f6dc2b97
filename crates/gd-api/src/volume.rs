//! Volumes: requests and responses in GD2's JSON shapes (research/gd2.md §5.1, §5.4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The layout of one subvolume in a create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubvolType {
    Distribute,
    Replicate,
    Disperse,
}

/// Whether a brick holds data or only metadata (an arbiter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BrickKind {
    #[default]
    Brick,
    Arbiter,
}

/// One brick of a create request: on a peer (by id, or by one of its addresses' host).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrickReq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peerid: Option<Uuid>,
    /// A host (IP) of the peer, when `peerid` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The brick directory: an absolute path on that peer, shorter than 4096 bytes, without
    /// blanks, control characters, quotes (`"`), backslashes, backticks or `#`.
    #[schema(
        pattern = "^/[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\"\\\\`#]*$",
        max_length = 4095
    )]
    pub path: String,
    #[serde(default, rename = "type")]
    pub kind: BrickKind,
}

/// One subvolume of a create request (GD2's `SubvolReq`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubvolReq {
    #[serde(rename = "type")]
    pub kind: SubvolType,
    pub bricks: Vec<BrickReq>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replica: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub arbiter: u32,
    #[serde(default, rename = "disperse-count", skip_serializing_if = "is_zero")]
    pub disperse_count: u32,
    #[serde(default, rename = "disperse-data", skip_serializing_if = "is_zero")]
    pub disperse_data: u32,
    #[serde(
        default,
        rename = "disperse-redundancy",
        skip_serializing_if = "is_zero"
    )]
    pub disperse_redundancy: u32,
}

fn is_zero<N: Default + PartialEq>(n: &N) -> bool {
    *n == N::default()
}

/// Brick checks a create request may relax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFlags {
    /// Accept a brick that was part of a volume before (it carries a volume-id xattr).
    #[serde(default, rename = "reuse-bricks")]
    pub reuse_bricks: bool,
    /// Accept a brick on the root file system.
    #[serde(default, rename = "allow-root-dir")]
    pub allow_root_dir: bool,
    /// Accept a brick directory that is itself a mount point.
    #[serde(default, rename = "allow-mount-as-brick")]
    pub allow_mount_as_brick: bool,
    /// Create missing brick directories.
    #[serde(default, rename = "create-brick-dir")]
    pub create_brick_dir: bool,
}

/// `POST /v1/volumes` (GD2's `VolCreateReq`, without the size-based "smart volume" fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolCreateReq {
    /// 1 to 64 letters, digits, `_` and `-`, not starting with `-`; not `options-group`.
    #[schema(pattern = "^(?!options-group$)[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")]
    pub name: String,
    /// `tcp`, the only transport (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^tcp$")]
    pub transport: Option<String>,
    #[schema(min_items = 1)]
    pub subvols: Vec<SubvolReq>,
    /// Skip the brick checks that `flags` can relax.
    #[serde(default)]
    pub force: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub flags: CreateFlags,
    /// Volume options (`<xlator>.<option>` keys), validated against the installed xlators.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// `POST /v1/volumes/{name}/expand` (GD2's `VolExpandReq`, without the size-based fields):
/// new bricks, in whole sets of the volume's shape (`replica`, if given, is the volume's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolExpandReq {
    /// The volume's replica count (GD1's `add-brick <vol> replica N`): above the volume's, it
    /// raises it, and `bricks` are the bricks joining the sets (as many for each set, set by
    /// set) on a started volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    /// 1 adds an arbiter brick to each set of a replica 2 volume (with `replica` 3; GD1's
    /// `add-brick <vol> replica 3 arbiter 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbiter: Option<u32>,
    /// The new bricks, set by set, in the order of the volume's sets.
    #[schema(min_items = 1)]
    pub bricks: Vec<BrickReq>,
    /// Skip the brick checks that `flags` can relax.
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub flags: CreateFlags,
}

/// `POST /v1/volumes/{name}/reset-brick/{start|commit}` (GD1's `reset-brick <vol> <brick>
/// start`, `reset-brick <vol> <brick> <brick> commit [force]`): the brick, by its node (`peerid`,
/// or `host`: a name the volume or the node is known by) and path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBrickReq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peerid: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub path: String,
    /// For commit: reuse a directory that still holds the volume's data (the old disk).
    #[serde(default)]
    pub force: bool,
}

impl ResetBrickReq {
    /// The brick it names, as a create request names one.
    pub fn brick(&self) -> BrickReq {
        BrickReq {
            peerid: self.peerid,
            host: self.host.clone(),
            path: self.path.clone(),
            kind: BrickKind::default(),
        }
    }
}

/// `POST /v1/volumes/{name}/replacebrick` (GD2's path and `src-` names; GD2 chose the new
/// brick from its devices, here it is given, as in GD1's `replace-brick <vol> <old> <new>
/// commit force`). The old brick is named by its node (`src-peerid`, or `src-host`: a name the
/// volume or the node is known by) and path; its node may be offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceBrickReq {
    #[serde(
        rename = "src-peerid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub src_peerid: Option<Uuid>,
    #[serde(rename = "src-host", default, skip_serializing_if = "Option::is_none")]
    pub src_host: Option<String>,
    #[serde(rename = "src-brickpath")]
    pub src_path: String,
    #[serde(
        rename = "dst-peerid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dst_peerid: Option<Uuid>,
    #[serde(rename = "dst-host", default, skip_serializing_if = "Option::is_none")]
    pub dst_host: Option<String>,
    /// The new brick's directory, as at create.
    #[serde(rename = "dst-brickpath")]
    #[schema(
        pattern = "^/[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\"\\\\`#]*$",
        max_length = 4095
    )]
    pub dst_path: String,
    /// Skip the brick checks that `flags` can relax (for the new brick).
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub flags: CreateFlags,
}

impl ReplaceBrickReq {
    /// The old brick, as a brick request.
    pub fn src(&self) -> BrickReq {
        BrickReq {
            peerid: self.src_peerid,
            host: self.src_host.clone(),
            path: self.src_path.clone(),
            kind: BrickKind::default(),
        }
    }

    /// The new brick, as a brick request.
    pub fn dst(&self) -> BrickReq {
        BrickReq {
            peerid: self.dst_peerid,
            host: self.dst_host.clone(),
            path: self.dst_path.clone(),
            kind: BrickKind::default(),
        }
    }
}

/// A brick in a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrickInfo {
    pub id: Uuid,
    pub path: String,
    #[serde(rename = "volume-id")]
    pub volume_id: Uuid,
    #[serde(rename = "volume-name")]
    pub volume_name: String,
    #[serde(rename = "peer-id")]
    pub peer_id: Uuid,
    pub host: String,
    /// `Brick` or `Arbiter`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Taken out of service by reset-brick start, until its commit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

/// A subvolume in a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubvolInfo {
    pub name: String,
    /// `Distribute`, `Replicate` or `Disperse`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "replica-count")]
    pub replica_count: u32,
    #[serde(rename = "arbiter-count", default)]
    pub arbiter_count: u32,
    #[serde(rename = "disperse-count", default)]
    pub disperse_count: u32,
    pub bricks: Vec<BrickInfo>,
    /// Being emptied by a remove-brick that has started and not yet been committed or
    /// stopped: no new file is placed on it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decommissioned: bool,
}

/// A volume (GD2's `VolumeInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VolumeInfo {
    pub id: Uuid,
    pub name: String,
    /// `Distribute`, `Replicate`, `Disperse`, `Distributed-Replicate` or `Distributed-Disperse`.
    #[serde(rename = "type")]
    pub kind: String,
    pub transport: String,
    #[serde(rename = "distribute-count")]
    pub distribute_count: u32,
    #[serde(rename = "replica-count")]
    pub replica_count: u32,
    #[serde(rename = "arbiter-count", default, skip_serializing_if = "is_zero")]
    pub arbiter_count: u32,
    #[serde(rename = "disperse-count", default, skip_serializing_if = "is_zero")]
    pub disperse_count: u32,
    #[serde(
        rename = "disperse-redundancy-count",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub disperse_redundancy_count: u32,
    pub options: BTreeMap<String, String>,
    /// `Created`, `Started` or `Stopped`.
    pub state: String,
    pub metadata: BTreeMap<String, String>,
    pub subvols: Vec<SubvolInfo>,
}

/// One brick's status (`GET /v1/volumes/{name}/bricks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrickStatus {
    pub info: BrickInfo,
    pub online: bool,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub port: u16,
    /// The brick's file system (GD1's `status detail`), measured by its node while it runs.
    #[serde(rename = "fs-type", default, skip_serializing_if = "String::is_empty")]
    pub fs_type: String,
    #[serde(
        rename = "mount-opts",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub mount_opts: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// Bytes: total, used, and free for clients (`f_bavail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeInfo>,
    #[serde(rename = "block-size", default, skip_serializing_if = "is_zero")]
    pub block_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inodes: Option<InodeInfo>,
}

/// A file system's inodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InodeInfo {
    pub total: u64,
    pub free: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gd2_create_request_parses() {
        let req: VolCreateReq = serde_json::from_value(serde_json::json!({
            "name": "testvol",
            "subvols": [{"type": "replicate", "replica": 3,
                "bricks": [{"peerid": "6f1d0c6e-8a4e-4a57-9a36-0d3c8d3f1a01", "path": "/b/1"},
                           {"host": "127.0.0.3", "path": "/b/2"},
                           {"host": "127.0.0.4", "path": "/b/3", "type": "arbiter"}]}],
            "flags": {"create-brick-dir": true},
            "options": {"performance.cache-size": "64MB"}
        }))
        .unwrap();
        assert_eq!(req.subvols[0].kind, SubvolType::Replicate);
        assert_eq!(req.subvols[0].bricks[2].kind, BrickKind::Arbiter);
        assert!(req.flags.create_brick_dir);
        let unknown = serde_json::from_value::<VolCreateReq>(
            serde_json::json!({"name": "v", "subvols": [], "bogus": 1}),
        );
        assert!(unknown.is_err());
    }
}

/// The space of a volume, in bytes, as its clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SizeInfo {
    pub capacity: u64,
    pub used: u64,
    pub free: u64,
}

/// `GET /v1/volumes/{name}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VolumeStatus {
    pub info: VolumeInfo,
    /// Whether every brick is online.
    pub online: bool,
    /// The volume's space, measured through a client mount; absent when it is not started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeInfo>,
    pub bricks: Vec<BrickStatus>,
}
