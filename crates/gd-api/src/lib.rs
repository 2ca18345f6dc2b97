//! The REST API's types: requests, responses and error codes.
//!
//! Shared by the daemon (which serves them), the CLI (which prints them) and the tests, so the
//! three can never disagree about a field. JSON names follow GD2's (`peer-addresses`,
//! `glusterd-version`...) so GD2's users' scripts keep working. This crate does no I/O.

mod diag;
mod error;
mod events;
mod heal;
mod hooks;
pub mod internal;
mod options;
mod peer;
mod rebalance;
mod rules;
mod txn;
mod volume;

pub use diag::{
    BlockCount, BrickProfile, BrickTop, ClientConnection, ClientTold, FopStats, NodeSelf,
    NodeState, ProcessStatus, ProfileInterval, ServiceState, StatedumpFile, StatedumpReq,
    StatedumpResp, StoreMember, StoreView, TopFile,
};
pub use error::{ApiError, ErrorCode, ErrorResp};
pub use events::{Event, WebhookDelReq, WebhookReq, WebhookTestResult};
pub use heal::{
    BrickCrawls, BrickHealCount, BrickHealInfo, CrawlEvent, HealBrickStatus, HealFile,
    HealLaunchResp, SplitBrainReq, SplitBrainResp,
};
pub use hooks::NodeHooks;
pub use options::{
    ClusterOptionGetResp, ClusterOptionReq, GroupOption, OptionGroup, OptionGroupReq, VolOptionReq,
    VolOptionResetReq, VolumeOptionGetResp,
};
pub use peer::{JoinToken, METADATA_BYTES_MAX, Peer, PeerAddReq, PeerEditReq, PeerListResp};
pub use rebalance::{
    RebalanceNode, RebalanceStartReq, RebalanceState, RebalanceStatus, RemoveBrickReq, TaskInfo,
};
pub use rules::{
    BRICK_PATH_PATTERN, GROUP_NAME_PATTERN, JOIN_TOKEN_PATTERN, VOLUME_NAME_MAX,
    VOLUME_NAME_PATTERN, check_group_name, check_volume_name,
};
pub use txn::{Transaction, TxnListResp, TxnState};
pub use volume::{
    BrickInfo, BrickKind, BrickReq, BrickStatus, CreateFlags, InodeInfo, ReplaceBrickReq,
    ResetBrickReq, SizeInfo, SubvolInfo, SubvolReq, SubvolType, VolCreateReq, VolExpandReq,
    VolumeInfo, VolumeStatus,
};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The REST API version this build serves (GD2's `APIVersion`).
pub const API_VERSION: u32 = 1;

/// `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionResp {
    /// The glusterd2 release.
    #[serde(rename = "glusterd-version")]
    pub glusterd_version: String,
    /// The REST API version.
    #[serde(rename = "api-version")]
    pub api_version: u32,
}

/// One entry of `GET /endpoints`: a route the daemon serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    /// A stable name of the operation (the OpenAPI operation id).
    pub name: String,
    pub description: String,
    /// HTTP methods of the route (one per entry in practice).
    pub methods: Vec<String>,
    /// The path, with `{param}` placeholders.
    pub path: String,
    /// The schema name of the request body, empty when there is none.
    #[serde(rename = "request-type")]
    pub request_type: String,
    /// The schema name of the success response body, empty when there is none.
    #[serde(rename = "response-type")]
    pub response_type: String,
}
