//! GD1's hook scripts as a node has them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One node's hook scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeHooks {
    /// The node's id.
    #[serde(rename = "peer-id")]
    pub peer_id: Uuid,
    /// By `<op>/<pre|post>` (`set/post`), the scripts that run, in order.
    pub scripts: BTreeMap<String, Vec<String>>,
}
