//! Peers: the storage servers of the cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A peer as the API shows it (GD2's `Peer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Peer {
    /// The peer's id, fixed at its first start.
    pub id: Uuid,
    /// The peer's host name.
    pub name: String,
    /// Addresses other glusterd2 nodes reach this peer at (`host:port`).
    #[serde(rename = "peer-addresses")]
    pub peer_addresses: Vec<String>,
    /// Addresses clients (REST, SunRPC) reach this peer at (`host:port`).
    #[serde(rename = "client-addresses")]
    pub client_addresses: Vec<String>,
    /// Whether the peer's liveness key is present in the store.
    pub online: bool,
    /// The glusterd2 process id, when online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Free-form key/values; keys starting with `_` are reserved (`_zone`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// `GET /v1/peers`.
pub type PeerListResp = Vec<Peer>;
