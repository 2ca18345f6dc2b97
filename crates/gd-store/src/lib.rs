//! The cluster store.
//!
//! Everything glusterd2 knows about the cluster (peers, volumes, bricks, options) lives in
//! one key-value store shaped like etcd v3: keys carry revisions, transactions compare and
//! then/else, prefix watches replay from a revision, and leases make keys ephemeral.
//! The rest of the daemon sees only the [`Store`] trait, so the same code runs on
//!
//! - [`EtcdStore`]: a real etcd v3 cluster (external, or the member glusterd2 manages), and
//! - [`LocalStore`]: an in-process, persistent (redb) single-node store with the same
//!   semantics, for a server that runs alone and has no etcd.
//!
//! [`Namespaced`] confines a store to `gluster-<cluster-id>/`, so several clusters can share
//! one external etcd. [`lock`] builds per-object locks on leases; [`record`] is the versioned
//! envelope every stored value is wrapped in. [`CachedStore`] keeps reads answering from a
//! local replica, and makes writes fail within a bound, when the store loses its quorum.
//!
//! One conformance suite (`tests/conformance/`) runs against both backends.

pub mod cache;
mod error;
pub mod etcd;
mod follow;
pub mod local;
pub mod lock;
pub mod managed;
mod namespace;
mod paged;
pub mod record;
mod switchable;
mod types;
mod validate;

pub use cache::{CacheOptions, CachedStore, Staleness, track_staleness};
pub use error::{StoreError, StoreResult};
pub use etcd::EtcdStore;
pub use follow::{Wake, follow_prefix, follow_prefixes};
pub use local::LocalStore;
pub use namespace::{Namespaced, cluster_namespace};
pub use paged::range_all;
pub use switchable::{StoreObserver, Switchable};
pub use types::*;
pub use validate::{MAX_LEASE_TTL, MAX_REQUEST_BYTES, MAX_TXN_OPS};

use async_trait::async_trait;

/// The operations glusterd2 needs from its store, with etcd v3 semantics.
///
/// Semantics every backend keeps (the conformance suite checks them):
/// - every successful mutation (put, delete that deleted something, a txn that wrote) bumps the
///   store revision by exactly one; revisions only increase, also across restarts;
/// - a read-only txn or a delete of nothing does not bump the revision;
/// - a txn is atomic: all of its ops apply at one revision, or none;
/// - watches deliver every event after `start_revision` in revision order, deletes included,
///   and keys deleted by a lease's expiry or revocation produce delete events;
/// - a key put with a lease disappears when that lease expires or is revoked.
///
/// Keys are UTF-8 strings; values are bytes. Backends differ only in failure modes (an etcd
/// backend can lose quorum; the local one cannot) and in compaction horizons.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The value and metadata of one key, or `None` when it does not exist.
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>>;

    /// Keys that start with `prefix`, in key order, at most `limit` of them (`0` = no limit).
    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse>;

    /// Keys that start with `prefix` and sort after `prefix` + `after`, in key order, at most
    /// `limit` of them (`0` = no limit): the pages of a long listing, each costing its size.
    async fn range_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse>;

    /// Sets `key` to `value`, optionally bound to `lease`. Returns the new store revision.
    async fn put(&self, key: &str, value: Vec<u8>, lease: Option<LeaseId>)
    -> StoreResult<Revision>;

    /// Deletes one key. Returns how many keys were deleted (0 or 1).
    async fn delete(&self, key: &str) -> StoreResult<u64>;

    /// Deletes every key that starts with `prefix`. Returns how many were deleted.
    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64>;

    /// Evaluates every compare; if all hold runs `success`, otherwise `failure`, atomically.
    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse>;

    /// Watches every key under `prefix`, starting with the events of revision `start_revision`
    /// (`None` = only changes after now). Events arrive in revision order on a bounded channel;
    /// a watcher that falls too far behind or whose start revision was compacted receives one
    /// `Err` and then the stream ends.
    async fn watch(&self, prefix: &str, start_revision: Option<Revision>) -> StoreResult<Watch>;

    /// Grants a lease of `ttl_s` seconds.
    async fn lease_grant(&self, ttl_s: i64) -> StoreResult<LeaseId>;

    /// Refreshes a lease to its full TTL. Returns the TTL granted; `Err(LeaseNotFound)` when the
    /// lease has already expired or was revoked.
    async fn lease_keep_alive(&self, lease: LeaseId) -> StoreResult<i64>;

    /// Revokes a lease and deletes every key bound to it. Revoking an unknown lease is an error.
    async fn lease_revoke(&self, lease: LeaseId) -> StoreResult<()>;

    /// The current store revision.
    async fn revision(&self) -> StoreResult<Revision>;

    /// Whether this store's local replica follows the store now (loaded, its watches
    /// running), for a store that keeps one (a [`CachedStore`]); `None` for a store that
    /// answers every read itself.
    fn replica_synced(&self) -> Option<bool> {
        None
    }

    /// The revision up to which this store's local replica has applied every change it
    /// follows, for a store that keeps one (`None` otherwise): its watches are asked for their
    /// progress, and the answer waits, up to `wait`, until every one has reported `revision`
    /// (the store's, just read) or later. `revision` minus the answer is how far the replica
    /// lags behind the store.
    async fn replica_applied(
        &self,
        revision: Revision,
        wait: std::time::Duration,
    ) -> Option<Revision> {
        let _ = (revision, wait);
        None
    }
}
