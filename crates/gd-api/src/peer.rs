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

/// `POST /v1/peers`: add the node at one of `addresses` to the cluster (GD2's `PeerAddReq`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerAddReq {
    /// Where the new node's glusterd2 listens, `host[:port]` (port 24007 when omitted).
    /// The first address that answers is used.
    #[schema(min_items = 1, max_items = 16)]
    pub addresses: Vec<String>,
    /// The new peer's failure zone (stored as metadata `_zone`; default: the peer's id):
    /// 1 to 255 bytes, not only blanks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 255)]
    pub zone: Option<String>,
    /// Free-form key/values; keys starting with `_` are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The new node's join token (`GET /v1/join-token` on that node, `glustercli peer token`):
    /// a node that is alone joins a cluster only when shown it, unless it runs with
    /// `peer-join = "open"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[!-~]{1,256}$")]
    pub token: Option<String>,
}

/// `GET /v1/join-token`: the token a cluster must show to make this node join it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JoinToken {
    pub token: String,
}

/// `POST /v1/peers/{peerid}`: edit a peer's metadata (GD2's `PeerEditReq`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerEditReq {
    /// A new failure zone: 1 to 255 bytes, not only blanks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 255)]
    pub zone: Option<String>,
    /// Keys to set or overwrite.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Keys to delete.
    #[serde(
        default,
        rename = "delete-metadata",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_metadata: Vec<String>,
}

/// The largest total size of a peer's user metadata (keys and values), as GD2.
pub const METADATA_BYTES_MAX: usize = 4096;
