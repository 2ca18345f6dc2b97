//! Diagnostics: one node's view of the cluster (`GET /v1/state`, GD1's `get-state`), for
//! support bundles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Peer, TaskInfo, VolumeStatus};

/// `GET /v1/state`: what the node answering knows, read from the store, and what it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeState {
    pub node: NodeSelf,
    pub store: StoreView,
    pub peers: Vec<Peer>,
    /// Every volume with its bricks' published status.
    pub volumes: Vec<VolumeStatus>,
    /// The GlusterFS processes this node runs.
    pub services: Vec<ServiceState>,
    pub tasks: Vec<TaskInfo>,
}

/// The node answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeSelf {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "glusterd-version")]
    pub version: String,
    pub pid: u32,
    #[serde(rename = "peer-addresses")]
    pub peer_addresses: Vec<String>,
    #[serde(rename = "client-addresses")]
    pub client_addresses: Vec<String>,
}

/// How the node reaches the cluster's store, and the store's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreView {
    /// "local", "managed" or "etcd".
    pub mode: String,
    pub endpoints: Vec<String>,
    /// Whether this node runs an etcd member.
    pub member: bool,
    /// The cluster's etcd members, as the cluster records them (managed mode).
    pub members: Vec<StoreMember>,
}

/// One etcd member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreMember {
    #[serde(rename = "peer-id")]
    pub peer_id: Uuid,
    #[serde(rename = "client-url")]
    pub client_url: String,
    /// "voter" or "learner".
    pub role: String,
}

/// A GlusterFS process of this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceState {
    /// "brick" or "self-heal daemon".
    pub kind: String,
    pub volume: String,
    /// A brick's `host:path`; the daemon's volfile id.
    pub name: String,
    pub online: bool,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub port: u16,
}

/// `POST /v1/volumes/{v}/statedump` (GD1's `volume statedump <v> [all|mem|iobuf|callpool|priv|
/// fd|inode|history]...`): what the processes dump (nothing: everything), and which processes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatedumpReq {
    /// GlusterFS's dump sections: all, mem, iobuf, callpool, priv, fd, inode, inodectx, fdctx,
    /// history; none dumps everything.
    #[serde(default)]
    pub options: Vec<String>,
    /// The volume's self-heal daemons instead of its bricks.
    #[serde(default)]
    pub shd: bool,
    /// A client of the volume instead (GD1's `client <host>:<pid>`): its host (a name or an
    /// address) and process id. A gfapi application (Samba, NFS-Ganesha, QEMU) dumps its
    /// state on its own host, in its statedump path (`/var/run/gluster` by default); a FUSE
    /// mount does not answer (`kill -USR1 <pid>` on its host dumps it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client: String,
}

/// What a statedump produced: one file per process, on the process's node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatedumpResp {
    pub files: Vec<StatedumpFile>,
    /// A client statedump: the nodes the client is connected to, each with how many of its
    /// connections it told.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub told: Vec<ClientTold>,
}

/// A node that told a client to dump its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientTold {
    pub node: Uuid,
    pub connections: u32,
}

/// One dump file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatedumpFile {
    /// The node it is on.
    pub node: Uuid,
    /// The process dumped: a brick's `host:path`, or `shd/<volume>`.
    pub process: String,
    pub pid: u32,
    /// Its path on that node.
    pub file: String,
}

/// One brick's profile (GD1's `volume profile <v> info`, GD2's `GET …/profile/{option}`):
/// what its io-stats counted, cumulatively and since the last look.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BrickProfile {
    /// `host:path`.
    pub brick: String,
    pub node: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cumulative: Option<ProfileInterval>,
    /// Since the previous look (which this one ends, unless it peeked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<ProfileInterval>,
    /// After `info-clear`: whether the counters were cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared: Option<bool>,
}

/// A span of a brick's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfileInterval {
    /// -1 for the cumulative span, else the interval's number.
    pub number: i32,
    /// Seconds.
    pub duration: u64,
    #[serde(rename = "total-read")]
    pub total_read: u64,
    #[serde(rename = "total-write")]
    pub total_write: u64,
    /// Reads and writes by block size (powers of two), where any.
    #[serde(rename = "block-sizes", default, skip_serializing_if = "Vec::is_empty")]
    pub block_sizes: Vec<BlockCount>,
    /// Per file operation: calls and latencies in nanoseconds.
    pub fops: Vec<FopStats>,
}

/// Reads and writes of one block size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockCount {
    pub size: u64,
    pub reads: u64,
    pub writes: u64,
}

/// One file operation's calls and latencies (nanoseconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FopStats {
    pub fop: String,
    pub hits: u64,
    #[serde(rename = "avg-latency")]
    pub avg_latency: f64,
    #[serde(rename = "min-latency")]
    pub min_latency: f64,
    #[serde(rename = "max-latency")]
    pub max_latency: f64,
}

/// One brick's top list (GD1's `volume top <v> open|read|write|opendir|readdir|read-perf|
/// write-perf`): the files with the most calls (or the best throughput), from its io-stats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BrickTop {
    /// `host:path`.
    pub brick: String,
    pub node: Uuid,
    /// `open`: the files open now, the most ever open, and when that was.
    #[serde(
        rename = "current-open",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub current_open: Option<u64>,
    #[serde(rename = "max-open", default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u64>,
    #[serde(
        rename = "max-open-time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_open_time: Option<String>,
    /// The measured throughput (MB/s) and time (s) of a read-perf/write-perf run with `bs`
    /// and `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    pub files: Vec<TopFile>,
    /// After `clear`: whether its lists were cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared: Option<bool>,
}

/// A file in a top list: its count (calls, or MB/s for the perf lists) and, for the perf
/// lists, when (`seconds.microseconds` since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TopFile {
    pub file: String,
    pub value: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// One process's answer to `volume status <v> [<brick>|shd] clients|mem|inode|fd|callpool`
/// (GD1's words): what the brick (or self-heal daemon) reported of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProcessStatus {
    /// A brick's `host:path`, or `shd/<volume>`.
    pub process: String,
    pub node: Uuid,
    /// False when it does not run (nothing else is known then).
    pub online: bool,
    /// `clients`: the connections to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientConnection>,
    /// Everything else it reported, by GlusterFS's keys (`mallinfo.arena`,
    /// `conn0.itable.active_size`, `callpool.count`...), values as it sent them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub entries: std::collections::BTreeMap<String, String>,
}

/// A client connected to a brick.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientConnection {
    /// `ip:port`.
    pub hostname: String,
    /// What it is: fuse, gfapi, glustershd, rebalance...
    pub name: String,
    #[serde(rename = "bytes-read")]
    pub bytes_read: u64,
    #[serde(rename = "bytes-written")]
    pub bytes_written: u64,
    #[serde(rename = "op-version")]
    pub op_version: u32,
}
