//! What a rebalance stores: the task's own progress (in its task record), each node's part
//! (`rebalance/<volume>/<peer-id>`), and a stop request (`rebalance-stop/<volume>`).
//!
//! A node's part is its rebalance process's counters and state, written by that node alone
//! as the process reports them, and kept after the process ends (so `status` shows the last
//! rebalance, as GD1 does); a new rebalance of the volume clears them first. They are not
//! bound to the node's lease: whether the node is online is read beside them, so a dead
//! node's last figures stay visible, marked offline.

use std::collections::BTreeMap;

use gd_api::RebalanceState;
use gd_core::keys::{REBALANCE, REBALANCE_STOP};
use gd_store::{
    Store, StoreError,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The task kind (`tasks/rebalance/<volume>`).
pub const KIND: &str = "rebalance";

/// What GD1's rebalance process is told to do (`*dht.rebalance-cmd`, `gf_cli_defrag_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    /// Fix the layout and migrate files (GF_DEFRAG_CMD_START).
    Start,
    /// Fix the layout only (GF_DEFRAG_CMD_START_LAYOUT_FIX).
    FixLayout,
    /// Migrate also where the target has less free space (GF_DEFRAG_CMD_START_FORCE).
    Force,
}

impl Command {
    /// From GD2's `option` ("", "fix-layout", "force").
    pub fn from_option(option: &str) -> Option<Command> {
        match option {
            "" | "start" => Some(Command::Start),
            "fix-layout" => Some(Command::FixLayout),
            "force" => Some(Command::Force),
            _ => None,
        }
    }

    /// GD2's `option` for it.
    pub fn option(self) -> &'static str {
        match self {
            Command::Start => "",
            Command::FixLayout => "fix-layout",
            Command::Force => "force",
        }
    }

    /// GD1's number for it.
    pub fn gd1(self) -> i32 {
        match self {
            Command::Start => 1,
            Command::FixLayout => 4,
            Command::Force => 5,
        }
    }

    /// The state a node's part starts in.
    pub fn running_state(self) -> RebalanceState {
        match self {
            Command::FixLayout => RebalanceState::FixLayoutInProgress,
            _ => RebalanceState::InProgress,
        }
    }

    /// The state a node's part ends in when its process fails.
    pub fn failed_state(self) -> RebalanceState {
        match self {
            Command::FixLayout => RebalanceState::FixLayoutFailed,
            _ => RebalanceState::Failed,
        }
    }

    /// The state a node's part ends in when it is stopped.
    pub fn stopped_state(self) -> RebalanceState {
        match self {
            Command::FixLayout => RebalanceState::FixLayoutStopped,
            _ => RebalanceState::Stopped,
        }
    }
}

/// The rebalance task's progress (its task record's `progress`): set at start, never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// This rebalance's id: each node's part names it.
    pub id: Uuid,
    /// The volume's id: a volume deleted and created again under the name is another.
    pub volume_id: Uuid,
    pub command: Command,
    /// GD1's `*dht.commit-hash`: one value for every node of this rebalance.
    pub commit_hash: u32,
    /// The nodes that hold bricks of the volume: each runs one rebalance process.
    pub nodes: Vec<Uuid>,
    /// When the processes start (milliseconds since the epoch): all at once, so that none
    /// fixes the layout and settles a directory long before the others crawl it.
    #[serde(default)]
    pub start_at_ms: u64,
    /// For a remove-brick's migration: the bricks it empties (their sets are decommissioned
    /// in the volume's record until the remove-brick is committed or stopped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing: Vec<gd_volume::model::BrickRecord>,
}

/// One node's part of a rebalance, as its process reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NodeRun {
    /// The rebalance it belongs to ([`Plan::id`]).
    pub rebalance: Uuid,
    pub state: RebalanceState,
    #[serde(default)]
    pub counters: Counters,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl Record for NodeRun {
    const KIND: &'static str = "rebalance-node";
    const VERSION: u32 = 1;
}

/// A rebalance process's counters (the dict it pushes and answers status with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Counters {
    /// Files moved.
    pub files: u64,
    /// Bytes moved.
    pub size: u64,
    /// Files looked at.
    pub lookups: u64,
    pub failures: u64,
    pub skipped: u64,
    /// Seconds run.
    pub run_time: f64,
    /// Seconds estimated left.
    pub time_left: u64,
}

/// A request to stop a volume's rebalance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequest {
    /// The rebalance to stop ([`Plan::id`]).
    pub rebalance: Uuid,
}

impl Record for StopRequest {
    const KIND: &'static str = "rebalance-stop";
    const VERSION: u32 = 1;
}

/// Where the parts of `volume`'s rebalance are.
pub fn parts_prefix(volume: &str) -> String {
    format!("{REBALANCE}{volume}/")
}

/// The key of `node`'s part of `volume`'s rebalance.
pub fn part_key(volume: &str, node: Uuid) -> String {
    format!("{REBALANCE}{volume}/{node}")
}

/// The key of a stop request for `volume`'s rebalance.
pub fn stop_key(volume: &str) -> String {
    format!("{REBALANCE_STOP}{volume}")
}

/// Every node's part of `volume`'s last rebalance, by node.
pub async fn parts(store: &dyn Store, volume: &str) -> Result<BTreeMap<Uuid, NodeRun>, StoreError> {
    let prefix = parts_prefix(volume);
    let r = store.range(&prefix, 0).await?;
    let mut out = BTreeMap::new();
    for kv in &r.kvs {
        let Some(Ok(node)) = kv.key.strip_prefix(&prefix).map(Uuid::parse_str) else {
            continue;
        };
        out.insert(node, record::decode(&kv.key, &kv.value)?);
    }
    Ok(out)
}

/// The stop request for `volume`'s rebalance, if any.
pub async fn stop_request(store: &dyn Store, volume: &str) -> Result<Option<Uuid>, StoreError> {
    let key = stop_key(volume);
    Ok(match store.get(&key).await? {
        Some(kv) => Some(record::decode::<StopRequest>(&key, &kv.value)?.rebalance),
        None => None,
    })
}

/// The plan of a rebalance task, from its record's progress.
pub fn plan_of(task: &gd_core::task::TaskRecord) -> Result<Plan, String> {
    serde_json::from_value(task.progress.clone())
        .map_err(|e| format!("the rebalance task of {} is unreadable: {e}", task.object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_match_gd2_options_and_gd1_numbers() {
        for (option, cmd, n) in [
            ("", Command::Start, 1),
            ("fix-layout", Command::FixLayout, 4),
            ("force", Command::Force, 5),
        ] {
            assert_eq!(Command::from_option(option), Some(cmd));
            assert_eq!(cmd.option(), option);
            assert_eq!(cmd.gd1(), n);
        }
        assert_eq!(Command::from_option("fix_layout"), None);
    }

    #[test]
    fn keys_of_one_volume_are_not_under_another() {
        assert!(!part_key("ab", Uuid::nil()).starts_with(&parts_prefix("a")));
    }
}
