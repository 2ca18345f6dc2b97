//! Cluster options (`cluster/options`, one small record): the GD1 global options glusterd2
//! acts on. `cluster.localtime-logging` and `cluster.daemon-log-level` reach the command lines
//! of the processes the reconcilers start next; op-versions are reported, not set.

use std::collections::BTreeMap;

use gd_api::{ClusterOptionGetResp, ErrorCode};
use gd_core::OpError;
use gd_core::keys;
use gd_node::node::Node;
use gd_store::{
    Compare, CompareOp, Store, StoreError, Txn, TxnOp,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};

use crate::options::OPTIONS_PER_REQUEST_MAX;

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
