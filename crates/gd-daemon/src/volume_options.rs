//! Setting and resetting volume options, option groups and cluster options, in the store.
//!
//! A set or reset is a transaction (`gd_core::txn`) locked on the volume's name with one step
//! on the initiator, `volume-options.store`: compare-and-swap of the volume's options from
//! what was checked to the new ones; its undo swaps them back. Every node's reconciler watches
//! the volume records, and when the options of a started volume change it sends FETCHSPEC to
//! the GlusterFS processes connected to it (bricks, self-heal daemons, mounts), which fetch
//! their new volfiles and reconfigure in place (see [`crate::reconcile`]). A change that starts
//! or stops processes (the self-heal daemon turned off or on) also runs a reconciler pass on
//! every brick node (`volume-state.bricks`), so the answer comes when the daemons run or are
//! gone (DESIGN §3.18), not at some later pass.
//!
//! Option groups: the shipped ones live in code ([`crate::options::builtin_groups`]), so a
//! restart never overwrites or loses anything (GD2 rewrote its group key at every start);
//! groups users add are one record each, `option-groups/<name>`.
//!
//! Cluster options (`cluster/options`, one small record): the GD1 global options glusterd2
//! acts on. `cluster.localtime-logging` and `cluster.daemon-log-level` reach the command lines
//! of the processes the reconcilers start next; op-versions are reported, not set.

use std::{collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use gd_api::{
    ClusterOptionGetResp, ErrorCode, OptionGroup, OptionGroupReq, VolOptionReq, VolOptionResetReq,
    VolumeInfo, VolumeOptionGetResp,
};
use gd_core::OpError;
use gd_core::keys::{self, OPTION_GROUPS};
use gd_core::txn::{Step, StepError, Transaction};
use gd_store::{
    Compare, CompareOp, Store, StoreError, Txn, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    feature::Cluster,
    node::Node,
    options::{self, OPTIONS_PER_REQUEST_MAX},
    volumes::{self, VolumeRecord},
};
/// The most groups users may add.
const GROUPS_MAX: usize = 256;

// ---- volume options ----

/// `POST /v1/volumes/{name}/options`.
pub async fn set(cx: &Cluster, name: &str, req: VolOptionReq) -> Result<VolumeInfo, OpError> {
    volumes::check_name(name)?;
    let node = &cx.node;
    let vol = volume(node, name).await?;
    let groups = group_map(node.store.as_ref()).await?;
    let change = options::catalog().set(&vol, &req.options, &|g| groups.get(g).cloned())?;
    swap(cx, &vol, change.options, "set").await
}

/// `DELETE /v1/volumes/{name}/options`.
pub async fn reset(
    cx: &Cluster,
    name: &str,
    req: VolOptionResetReq,
) -> Result<VolumeInfo, OpError> {
    volumes::check_name(name)?;
    let node = &cx.node;
    let vol = volume(node, name).await?;
    let groups = group_map(node.store.as_ref()).await?;
    let after =
        options::catalog().reset(&vol, &req.options, req.all, &|g| groups.get(g).cloned())?;
    swap(cx, &vol, after, "reset").await
}

/// `GET /v1/volumes/{name}/options`.
pub async fn list(node: &Node, name: &str) -> Result<Vec<VolumeOptionGetResp>, OpError> {
    volumes::check_name(name)?;
    let vol = volume(node, name).await?;
    options::catalog().list(&vol.options)
}

/// `GET /v1/volumes/{name}/options/{key}`.
pub async fn get(node: &Node, name: &str, key: &str) -> Result<VolumeOptionGetResp, OpError> {
    volumes::check_name(name)?;
    let vol = volume(node, name).await?;
    options::catalog().describe(&vol.options, key)
}

async fn volume(node: &Node, name: &str) -> Result<VolumeRecord, OpError> {
    volumes::get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| volumes::not_found(name))
}

/// The arguments of `volume-options.store`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct SwapArgs {
    volume: String,
    volume_id: Uuid,
    before: BTreeMap<String, String>,
    after: BTreeMap<String, String>,
}

async fn swap(
    cx: &Cluster,
    vol: &VolumeRecord,
    after: BTreeMap<String, String>,
    verb: &str,
) -> Result<VolumeInfo, OpError> {
    if after == vol.options {
        return Ok(vol.to_api());
    }
    let node = &cx.node;
    let args = SwapArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        before: vol.options.clone(),
        after: after.clone(),
    };
    let mut steps = vec![StoreOptions::call(vec![node.identity().peer_id], &args)];
    let mut after_vol = vol.clone();
    after_vol.options = after;
    if vol.state == volumes::VolumeState::Started
        && vol.wants_self_heal_daemon() != after_vol.wants_self_heal_daemon()
    {
        steps.push(volumes::converge_step(vol));
    }
    let txn = Transaction {
        operation: format!("volume options {verb} {}", vol.name),
        locks: vec![volumes::volume_lock(&vol.name)],
        steps,
    };
    // What the pass had to force (a self-heal daemon killed) is in the nodes' logs.
    crate::transactions::run(cx, txn).await?;
    Ok(volume(node, &vol.name).await?.to_api())
}

/// Swaps a volume's options (compare-and-swap); undo swaps them back.
pub(crate) struct StoreOptions {
    pub(crate) node: Arc<Node>,
}

impl StoreOptions {
    async fn swap(
        &self,
        a: &SwapArgs,
        from: &BTreeMap<String, String>,
        to: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        volumes::update_volume(&*self.node.store, &a.volume, a.volume_id, |v| {
            if v.options != *from && v.options != *to {
                return Err(format!(
                    "the options of volume {} changed meanwhile; nothing was changed",
                    a.volume
                ));
            }
            v.options = to.clone();
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Step for StoreOptions {
    const NAME: &'static str = "volume-options.store";
    type Args = SwapArgs;

    async fn run(&self, a: &SwapArgs) -> Result<(), StepError> {
        Ok(self.swap(a, &a.before, &a.after).await?)
    }
    async fn undo(&self, a: &SwapArgs) -> Result<(), StepError> {
        Ok(self.swap(a, &a.after, &a.before).await?)
    }
}

// ---- option groups ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct GroupRecord {
    group: OptionGroup,
}

impl Record for GroupRecord {
    const KIND: &'static str = "option-group";
    const VERSION: u32 = 1;
}

/// Every group: the shipped ones, then the users', by name.
pub async fn list_groups(store: &dyn Store) -> Result<Vec<OptionGroup>, StoreError> {
    let mut out = options::builtin_groups();
    let r = store.range(OPTION_GROUPS, GROUPS_MAX + 1).await?;
    for kv in &r.kvs {
        let g: GroupRecord = record::decode(&kv.key, &kv.value)?;
        out.push(g.group);
    }
    Ok(out)
}

/// Groups by name, for expanding a request.
async fn group_map(store: &dyn Store) -> Result<BTreeMap<String, OptionGroup>, StoreError> {
    Ok(list_groups(store)
        .await?
        .into_iter()
        .map(|g| (g.name.clone(), g))
        .collect())
}

/// A group's name: 1 to 64 letters, digits, `-` and `_`, and not `group`
/// (`gd_api::GROUP_NAME_PATTERN`).
pub fn check_group_name(name: &str) -> Result<(), OpError> {
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name != "group";
    if well_formed {
        Ok(())
    } else {
        Err(OpError::new(
            ErrorCode::InvalidRequest,
            format!(
                "invalid group name {name:?}: use 1 to 64 letters, digits, '-' and '_' (not \"group\")"
            ),
        )
        .field("name", name))
    }
}

/// `POST /v1/volumes/options-group`.
pub async fn create_group(node: &Node, req: OptionGroupReq) -> Result<OptionGroup, OpError> {
    let name = req.name.as_str();
    check_group_name(name)?;
    let catalog = options::catalog();
    if catalog.is_option_key(name) {
        return Err(OpError::new(
            ErrorCode::InvalidRequest,
            format!("{name:?} names an option; a group needs a name of its own"),
        )
        .field("name", name));
    }
    if options::builtin_group(name).is_some() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("{name} is a built-in group"),
        ));
    }
    if req.description.len() > 1024 {
        return Err(OpError::new(
            ErrorCode::InvalidRequest,
            "the description is longer than 1024 bytes",
        ));
    }
    catalog.check_group(&req.options)?;
    let group = OptionGroup {
        name: name.to_string(),
        options: req.options,
        description: req.description,
        built_in: false,
    };
    let store = node.store.as_ref();
    let existing = store.range(OPTION_GROUPS, GROUPS_MAX + 1).await?;
    if existing.kvs.len() >= GROUPS_MAX {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("there are already {GROUPS_MAX} groups; delete one first"),
        ));
    }
    let key = format!("{OPTION_GROUPS}{name}");
    let r = store
        .txn(
            Txn::new()
                .when([Compare::absent(&key)])
                .and_then([TxnOp::put(
                    &key,
                    record::encode(&GroupRecord {
                        group: group.clone(),
                    }),
                )]),
        )
        .await?;
    if !r.succeeded {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("group {name} already exists"),
        ));
    }
    Ok(group)
}

/// `DELETE /v1/volumes/options-group/{name}`.
pub async fn delete_group(node: &Node, name: &str) -> Result<(), OpError> {
    if options::builtin_group(name).is_some() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("{name} is a built-in group and cannot be deleted"),
        ));
    }
    check_group_name(name)?;
    let key = format!("{OPTION_GROUPS}{name}");
    let r = node
        .store
        .txn(
            Txn::new()
                .when([Compare::present(&key)])
                .and_then([TxnOp::delete(&key)]),
        )
        .await?;
    if r.succeeded {
        Ok(())
    } else {
        Err(OpError::new(ErrorCode::NotFound, format!("no group {name:?}")).field("name", name))
    }
}

// ---- cluster options ----

/// The op-version of GlusterFS 10 (`GD_OP_VERSION_10_0`), what GD1 10.3 reports.
pub const OP_VERSION: &str = "100000";

struct ClusterOptionDef {
    key: &'static str,
    default: &'static str,
    description: &'static str,
    check: fn(&str) -> Result<(), String>,
}

fn read_only(_: &str) -> Result<(), String> {
    Err("it is reported, not set: every glusterd2 of a cluster runs the same op-version".into())
}

fn boolean(v: &str) -> Result<(), String> {
    gd_volgen::options::parse_bool(v)
        .map(drop)
        .ok_or_else(|| format!("{v:?} is not on/off, yes/no, true/false, enable/disable or 1/0"))
}

fn brick_multiplex(v: &str) -> Result<(), String> {
    match gd_volgen::options::parse_bool(v) {
        Some(false) => Ok(()),
        Some(true) => Err(
            "brick multiplexing is not supported: every brick runs in its own glusterfsd".into(),
        ),
        None => boolean(v),
    }
}

fn log_level(v: &str) -> Result<(), String> {
    const LEVELS: [&str; 7] = [
        "DEBUG", "WARNING", "ERROR", "INFO", "CRITICAL", "NONE", "TRACE",
    ];
    if LEVELS.contains(&v) {
        Ok(())
    } else {
        Err(format!("{v:?} is not one of {}", LEVELS.join(", ")))
    }
}

const CLUSTER_OPTIONS: &[ClusterOptionDef] = &[
    ClusterOptionDef {
        key: "cluster.op-version",
        default: OP_VERSION,
        description: "the cluster's operating version (read-only)",
        check: read_only,
    },
    ClusterOptionDef {
        key: "cluster.max-op-version",
        default: OP_VERSION,
        description: "the highest op-version the installed GlusterFS supports (read-only)",
        check: read_only,
    },
    ClusterOptionDef {
        key: "cluster.brick-multiplex",
        default: "disable",
        description: "one glusterfsd for several bricks (not supported: must stay disabled)",
        check: brick_multiplex,
    },
    ClusterOptionDef {
        key: "cluster.localtime-logging",
        default: "disable",
        description: "bricks and self-heal daemons log local time instead of UTC (from their next start)",
        check: boolean,
    },
    ClusterOptionDef {
        key: "cluster.daemon-log-level",
        default: "INFO",
        description: "log level of the self-heal daemons (from their next start)",
        check: log_level,
    },
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterOptionsRecord {
    pub options: BTreeMap<String, String>,
}

impl Record for ClusterOptionsRecord {
    const KIND: &'static str = "cluster-options";
    const VERSION: u32 = 1;
}

impl ClusterOptionsRecord {
    /// The value of `key` (its default when unset).
    pub fn value(&self, key: &str) -> Option<String> {
        self.options.get(key).cloned().or_else(|| {
            CLUSTER_OPTIONS
                .iter()
                .find(|d| d.key == key)
                .map(|d| d.default.to_string())
        })
    }

    /// Whether the processes glusterd2 starts log local time.
    pub fn localtime_logging(&self) -> bool {
        self.value("cluster.localtime-logging")
            .and_then(|v| gd_volgen::options::parse_bool(&v))
            .unwrap_or(false)
    }

    /// The self-heal daemons' log level.
    pub fn daemon_log_level(&self) -> String {
        self.value("cluster.daemon-log-level")
            .unwrap_or_else(|| "INFO".into())
    }
}

/// The stored cluster options (defaults when none were set).
pub async fn cluster_options(store: &dyn Store) -> Result<ClusterOptionsRecord, StoreError> {
    match store.get(keys::CLUSTER_OPTIONS).await? {
        Some(kv) => record::decode(keys::CLUSTER_OPTIONS, &kv.value),
        None => Ok(ClusterOptionsRecord::default()),
    }
}

fn cluster_view(rec: &ClusterOptionsRecord) -> Vec<ClusterOptionGetResp> {
    CLUSTER_OPTIONS
        .iter()
        .map(|d| ClusterOptionGetResp {
            key: d.key.into(),
            value: rec.value(d.key).unwrap_or_default(),
            default: d.default.into(),
            modified: rec.options.contains_key(d.key),
            description: d.description.into(),
        })
        .collect()
}

/// `GET /v1/cluster/options`.
pub async fn get_cluster_options(node: &Node) -> Result<Vec<ClusterOptionGetResp>, OpError> {
    Ok(cluster_view(&cluster_options(node.store.as_ref()).await?))
}

/// `POST /v1/cluster/options`: all or nothing, compare-and-swap on the record.
pub async fn set_cluster_options(
    node: &Node,
    req: gd_api::ClusterOptionReq,
) -> Result<Vec<ClusterOptionGetResp>, OpError> {
    if req.options.is_empty() || req.options.len() > OPTIONS_PER_REQUEST_MAX {
        return Err(OpError::new(
            ErrorCode::InvalidRequest,
            format!("give 1 to {OPTIONS_PER_REQUEST_MAX} options"),
        ));
    }
    for (k, v) in &req.options {
        let Some(def) = CLUSTER_OPTIONS.iter().find(|d| d.key == k) else {
            let known: Vec<&str> = CLUSTER_OPTIONS.iter().map(|d| d.key).collect();
            return Err(OpError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "unknown cluster option {k:?}; cluster options are {}",
                    known.join(", ")
                ),
            )
            .field("key", k.as_str()));
        };
        (def.check)(v).map_err(|why| {
            OpError::new(
                ErrorCode::InvalidRequest,
                format!("cannot set {k} to {v:?}: {why}"),
            )
            .field("key", k.as_str())
        })?;
    }
    let store = node.store.as_ref();
    for _ in 0..5 {
        let current = store.get(keys::CLUSTER_OPTIONS).await?;
        let mut rec: ClusterOptionsRecord = match &current {
            Some(kv) => record::decode(keys::CLUSTER_OPTIONS, &kv.value)?,
            None => ClusterOptionsRecord::default(),
        };
        for (k, v) in &req.options {
            rec.options.insert(k.clone(), v.clone());
        }
        let guard = match &current {
            Some(kv) => {
                Compare::mod_revision(keys::CLUSTER_OPTIONS, CompareOp::Equal, kv.mod_revision)
            }
            None => Compare::absent(keys::CLUSTER_OPTIONS),
        };
        let r = store
            .txn(
                Txn::new()
                    .when([guard])
                    .and_then([TxnOp::put(keys::CLUSTER_OPTIONS, record::encode(&rec))]),
            )
            .await?;
        if r.succeeded {
            return Ok(cluster_view(&rec));
        }
    }
    Err(OpError::new(
        ErrorCode::OperationInProgress,
        "the cluster options change concurrently; retry",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_option_checks() {
        assert!(brick_multiplex("off").is_ok());
        assert!(brick_multiplex("on").unwrap_err().contains("not supported"));
        assert!(read_only("100000").is_err());
        assert!(log_level("DEBUG").is_ok());
        assert!(log_level("LOUD").is_err());
        let rec = ClusterOptionsRecord::default();
        assert!(!rec.localtime_logging());
        assert_eq!(rec.daemon_log_level(), "INFO");
        assert_eq!(rec.value("cluster.op-version").as_deref(), Some(OP_VERSION));
        let view = cluster_view(&rec);
        assert_eq!(view.len(), CLUSTER_OPTIONS.len());
        assert!(view.iter().all(|o| !o.modified));
    }
}
