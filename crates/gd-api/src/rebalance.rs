//! Rebalance and tasks: GD2's rebalance request and status (`/v1/volumes/{v}/rebalance`),
//! with GD1's state words, and the tasks that run once per object (`/v1/tasks`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /v1/volumes/{name}/rebalance/start` (GD2's body): what to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceStartReq {
    /// "" (fix the layout and migrate files), "fix-layout" (only the layout), "force"
    /// (migrate also files the target has less room for).
    #[serde(default)]
    pub option: String,
}

/// Where a node's rebalance is, in GD1's words (`gf_defrag_status_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum RebalanceState {
    #[serde(rename = "not started")]
    NotStarted,
    #[serde(rename = "in progress")]
    InProgress,
    #[serde(rename = "stopped")]
    Stopped,
    #[serde(rename = "completed")]
    Completed,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "fix-layout in progress")]
    FixLayoutInProgress,
    #[serde(rename = "fix-layout stopped")]
    FixLayoutStopped,
    #[serde(rename = "fix-layout completed")]
    FixLayoutCompleted,
    #[serde(rename = "fix-layout failed")]
    FixLayoutFailed,
}

impl RebalanceState {
    /// GD1's number for it (`gf_defrag_status_t`), as the rebalance process reports it.
    pub fn from_gd1(n: i64) -> Option<RebalanceState> {
        use RebalanceState::*;
        Some(match n {
            0 => NotStarted,
            1 => InProgress,
            2 => Stopped,
            3 => Completed,
            4 => Failed,
            5 => FixLayoutInProgress,
            6 => FixLayoutStopped,
            7 => FixLayoutCompleted,
            8 => FixLayoutFailed,
            _ => return None,
        })
    }

    /// Whether the node's part is over (for better or worse).
    pub fn ended(self) -> bool {
        !matches!(
            self,
            RebalanceState::NotStarted
                | RebalanceState::InProgress
                | RebalanceState::FixLayoutInProgress
        )
    }

    /// Whether it ended well.
    pub fn completed(self) -> bool {
        matches!(
            self,
            RebalanceState::Completed | RebalanceState::FixLayoutCompleted
        )
    }

    /// Whether it was stopped on request.
    pub fn stopped(self) -> bool {
        matches!(
            self,
            RebalanceState::Stopped | RebalanceState::FixLayoutStopped
        )
    }

    /// GD1's words ("in progress").
    pub fn as_str(self) -> &'static str {
        use RebalanceState::*;
        match self {
            NotStarted => "not started",
            InProgress => "in progress",
            Stopped => "stopped",
            Completed => "completed",
            Failed => "failed",
            FixLayoutInProgress => "fix-layout in progress",
            FixLayoutStopped => "fix-layout stopped",
            FixLayoutCompleted => "fix-layout completed",
            FixLayoutFailed => "fix-layout failed",
        }
    }
}

/// One node's part of a rebalance: its process's counters (GD2's `nodes-status` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RebalanceNode {
    #[serde(rename = "peerid")]
    pub peer_id: Uuid,
    /// How the node is named (its first address).
    pub node: String,
    pub status: RebalanceState,
    /// Files moved.
    #[serde(rename = "rebalanced-files")]
    pub files: u64,
    /// Bytes moved.
    pub size: u64,
    /// Files looked at.
    #[serde(rename = "lookedup")]
    pub lookups: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Seconds it has run.
    #[serde(rename = "run-time")]
    pub run_time: f64,
    /// Seconds it estimates are left (0 when unknown or ended).
    #[serde(rename = "time-left")]
    pub time_left: u64,
    /// Whether the node is online now (its counters are the last it published otherwise).
    pub online: bool,
    /// Why it failed, when the node knows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// `GET /v1/volumes/{name}/rebalance`: the volume's last rebalance (GD2's body, with the
/// overall state and the node leading it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RebalanceStatus {
    pub volume: String,
    #[serde(rename = "rebalance-id")]
    pub id: Uuid,
    /// "", "fix-layout" or "force": what was asked.
    pub option: String,
    /// The whole rebalance: in progress until every node's part ended; then completed,
    /// stopped or failed.
    pub status: RebalanceState,
    /// The node leading it (it decides when it ended), if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<Uuid>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(rename = "nodes-status")]
    pub nodes: Vec<RebalanceNode>,
    /// For a remove-brick's migration: the bricks it empties (`host:path`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing: Vec<String>,
}

/// `POST /v1/volumes/{name}/remove-brick/{start|stop|commit}` (GD1's `remove-brick <v>
/// [replica N] <bricks…> start|stop|commit|force`): the bricks that leave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBrickReq {
    /// The leaving bricks: whole sets, or (lowering the replica count) as many from each set.
    pub bricks: Vec<crate::BrickReq>,
    /// The replica count the volume is left with, when it lowers it (commit with `force`
    /// only: nothing needs moving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    /// For commit: remove without migrating (GD1's `force`), or though the migration has not
    /// completed.
    #[serde(default)]
    pub force: bool,
}

/// A task: work that runs once per object, led by one node (`GET /v1/tasks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskInfo {
    /// What it does ("rebalance").
    pub kind: String,
    /// What it works on (a volume's name).
    pub object: String,
    /// "running", "succeeded", "stopped" or "failed".
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<Uuid>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The task's own record of where it is.
    #[schema(value_type = Object)]
    pub progress: serde_json::Value,
}
