//! Node-to-node messages. Not part of the public API (not in the OpenAPI document): only
//! glusterd2 daemons send them, under `/v1/internal/`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The JWT issuer of node-to-node calls, signed with the cluster secret.
pub const PEER_USER: &str = "glusterd2";

/// How a node reaches the cluster's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// etcd members run by glusterd2 itself.
    Managed,
    /// An external etcd cluster.
    Etcd,
}

/// `POST /v1/internal/join`: the initiator asks a lone node to join its cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JoinReq {
    pub cluster_id: Uuid,
    /// The secret node-to-node calls are signed with from now on.
    pub cluster_secret: String,
    /// The peer id of the node that sent the request.
    pub initiator: Uuid,
    pub store: StoreKind,
    /// Client URLs of the cluster's etcd.
    pub endpoints: Vec<String>,
    /// The IP the initiator reached the joining node at: how other hosts reach it (a node
    /// listening on every address learns its address from it).
    #[serde(default)]
    pub joiner_ip: Option<std::net::IpAddr>,
    /// The joining node's join token, as the user gave it to the initiator.
    #[serde(default)]
    pub join_token: Option<String>,
    /// The metadata (zone included) its peer record starts with.
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// The address the initiator reached it at, first of its peer addresses.
    #[serde(default)]
    pub reached_at: Option<String>,
}

/// `POST /v1/internal/leave`: the cluster tells a node it was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LeaveReq {
    pub initiator: Uuid,
}
