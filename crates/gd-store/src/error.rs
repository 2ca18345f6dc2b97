//! The store's error type.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot answer: etcd unreachable or without quorum, or the local DB closed.
    #[error("store unavailable: {reason}")]
    Unavailable { reason: String },
    /// The lease expired, was revoked, or never existed.
    #[error("lease {lease} not found (expired or revoked)")]
    LeaseNotFound { lease: i64 },
    /// A watch asked for a revision that has been compacted away.
    #[error("revision {requested} has been compacted (oldest kept: {compacted})")]
    Compacted { requested: i64, compacted: i64 },
    /// A watcher fell more than the queue bound behind and was cancelled.
    #[error("watch cancelled: consumer fell behind by more than {queue_max} events")]
    WatchLagged { queue_max: usize },
    /// A request was malformed (empty key, non-UTF-8 key from etcd, bad TTL...).
    #[error("invalid store request: {reason}")]
    Invalid { reason: String },
    /// A stored record could not be decoded.
    #[error("stored record {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The local database failed.
    #[error("local store: {0}")]
    Local(String),
    /// An operation did not finish in its time bound.
    #[error("store operation timed out after {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
}

impl StoreError {
    /// True when retrying the same call later may succeed.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. } | StoreError::Timeout { .. }
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
