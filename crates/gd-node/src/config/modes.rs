//! The settings that are one of a few words: which store backend the node uses and who may
//! make a lone node join a cluster; each parsed alike from a flag, a variable or the file.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Where the cluster configuration is kept (DESIGN §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreMode {
    /// `etcd` when endpoints are configured, `managed` when an `etcd` binary is on PATH,
    /// else `local`.
    Auto,
    /// In-process, persistent, single node.
    Local,
    /// glusterd2 starts and supervises a local etcd member.
    Managed,
    /// An external etcd cluster at `etcdendpoints`.
    Etcd,
}

impl fmt::Display for StoreMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreMode::Auto => "auto",
            StoreMode::Local => "local",
            StoreMode::Managed => "managed",
            StoreMode::Etcd => "etcd",
        })
    }
}

impl FromStr for StoreMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(StoreMode::Auto),
            "local" => Ok(StoreMode::Local),
            "managed" => Ok(StoreMode::Managed),
            "etcd" => Ok(StoreMode::Etcd),
            _ => Err(format!(
                "{s:?} is not a store mode (auto, local, managed, etcd)"
            )),
        }
    }
}

/// Who may make a lone node join a cluster (`peer-join`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PeerJoin {
    /// Only a caller that shows the node's join token (`<localstatedir>/join-token`).
    Token,
    /// Anyone who reaches the node's port, as GD1 (trusted networks only).
    Open,
}

impl FromStr for PeerJoin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "token" => Ok(PeerJoin::Token),
            "open" => Ok(PeerJoin::Open),
            _ => Err(format!("{s:?} is not a join policy (token, open)")),
        }
    }
}
