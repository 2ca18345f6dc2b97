//! A transaction as its initiator builds it, and what GD1's hook scripts are told of it.

use serde::{Deserialize, Serialize};

use super::Call;

/// A transaction as the initiator builds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transaction {
    /// What it does, for humans ("volume create vol1"): busy objects name it.
    pub operation: String,
    /// What it does, without its object ("volume-create"): how metrics group transactions.
    pub kind: &'static str,
    /// The objects it locks (volume names, peer ids); taken in sorted order.
    pub locks: Vec<String>,
    pub steps: Vec<Call>,
    /// What GD1's hook scripts are told of it, for an operation GD1 runs hooks for.
    pub hook: Option<HookCall>,
}

/// An operation as GD1's hook scripts see it: GD1's name for it (the directory its scripts
/// are in: `create`, `start`, `stop`, `delete`, `set`, `reset`, `add-brick`,
/// `remove-brick`), the volume, and for a set the options and their values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookCall {
    pub op: String,
    pub volume: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<(String, String)>,
}

impl HookCall {
    pub fn new(op: &str, volume: &str) -> HookCall {
        HookCall {
            op: op.to_owned(),
            volume: volume.to_owned(),
            options: vec![],
        }
    }
}
