//! Where the status the rebalance processes push (EVENT_NOTIFY) goes: the seam between the RPC
//! server and the feature that runs rebalance, as [`crate::volfile`] is for volfiles.
//!
//! A rebalance process (`glusterfs --volfile-id rebalance/<vol>`) pushes its counters to
//! glusterd over the connection it fetched its volfile on (`EVENT_NOTIFY`, op
//! `GF_EN_DEFRAG_STATUS`, a dict of files, size, lookups, failures, skipped, status, run time,
//! time left). The push names no volume: the server knows it from the connection's GETSPEC key,
//! and hands it to the sink with the dict. The server answers as GD1 does (no reply to a
//! status push), whether or not a sink is set ([`NoEvents`] drops them).

use async_trait::async_trait;
use gd_sunrpc::Dict;

/// Receives the rebalance processes' status pushes.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// The rebalance process of `volume` (on this machine) reports `status`.
    async fn defrag_status(&self, volume: &str, status: Dict);
}

/// No sink: pushes are dropped (logged at debug level by the server).
pub struct NoEvents;

#[async_trait]
impl EventSink for NoEvents {
    async fn defrag_status(&self, volume: &str, _status: Dict) {
        tracing::debug!(volume, "a rebalance status push, and no feature to take it");
    }
}
