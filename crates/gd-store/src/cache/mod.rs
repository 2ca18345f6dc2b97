//! A store wrapper that keeps reads answering, and makes writes fail fast, when the store has
//! no quorum (DESIGN §3.12).
//!
//! etcd without a quorum cannot serve a linearizable read nor apply a write: a request waits
//! for a leader that may not come back for a long time. A daemon whose REST handlers wait on
//! such a store hangs with it, and an operator then cannot even look at the cluster he is
//! trying to repair. [`CachedStore`] bounds both kinds of call:
//!
//! - **Reads** (`get`, `range`, a txn of only `Get` ops) go to the store first, under
//!   [`CacheOptions::read_timeout`]. When the store answers, that answer is returned (fresh).
//!   When it fails with a retryable error (`Unavailable`, `Timeout`), the read is answered from
//!   a local replica that a background task keeps with watches, and the answer is
//!   recorded as *stale* in the current [`track_staleness`] scope, so the REST layer can say so
//!   in its response. A cache that has never loaded cannot answer: the store's error is
//!   returned.
//! - **Writes** (`put`, `delete`, `delete_prefix`, a txn with any write op), lease calls and
//!   `revision` are never answered locally. They go to the store under
//!   [`CacheOptions::write_timeout`]; when the store is unavailable or silent they fail with
//!   `StoreError::Unavailable` whose reason starts with `store has no quorum: `. A write that
//!   timed out may still be applied later by etcd, and the message says so. A read the
//!   replica cannot answer fails the same way.
//! - **While the store is down** (its last call failed for want of it, and the replica's
//!   watch is not following it), every call still goes to the store, so the first answer
//!   ends the outage, but under [`CacheOptions::down_timeout`]: a node cut off from its
//!   cluster refuses a write in a fraction of a second, not after the full bound each time
//!   (an etcd member without a leader answers at once; a connection to a member on the far
//!   side of a cut does not answer at all until its keep-alive gives up on it).
//! - `watch` is passed through: a watcher must see the store's own events and errors.
//!
//! The replica is the key space of the wrapped store, or the prefixes of
//! [`CacheOptions::scope`] (the daemon follows membership only: following every key would
//! deliver every change of the cluster to every node): a range of each, then a watch of each
//! from the revision after its range. A read outside the scope is answered, while the store
//! cannot, as the store last answered that same read, if that answer was kept (the last
//! answers, up to [`CacheOptions::remember_bytes`], with their own revision). When the watch fails or ends, the task loads everything again and watches anew,
//! retrying with a backoff of [`CacheOptions::resync_backoff_min`] doubling to
//! [`CacheOptions::resync_backoff_max`]; until then the previous replica keeps answering.
//! The replica is bounded by [`CacheOptions::max_keys`]: a store with more keys disables the
//! cache (logged as an error) rather than let it grow without bound; reads then simply fail
//! with the store.
//!
//! What a stale answer can differ in besides age: watch events do not carry the lease of a
//! put, so a key written since the last full load carries `lease: None`, and the revision of a
//! stale answer is the newest revision the replica has seen (writes outside the wrapped
//! namespace do not reach it).
//!
//! The replica itself and the task that keeps it are in `replica`; this module is the store
//! wrapper and its bounds.

mod remembered;
mod replica;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::{
    KeyValue, LeaseId, RangeResponse, Revision, Store, StoreError, StoreResult, Txn, TxnOp,
    TxnResponse, Watch, WatchTap, validate,
};

use remembered::{Answerable, Remembered};
use replica::{Phase, Replica, Shared, keep_replica};

/// How every "no quorum" error reason starts, so callers and tests can recognise it.
pub const NO_QUORUM: &str = "store has no quorum: ";

/// Bounds and limits of a [`CachedStore`].
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// How long a read waits for the store before it is answered from the replica
    /// (default 2 s).
    pub read_timeout: Duration,
    /// How long a write, lease call or `revision` waits for the store before it fails with
    /// "store has no quorum" (default 2 s).
    pub write_timeout: Duration,
    /// Both bounds while the store is down (default 500 ms; see the module documentation).
    pub down_timeout: Duration,
    /// The most keys the replica holds; a store with more disables the cache (default
    /// 1 000 000).
    pub max_keys: usize,
    /// The first pause before loading the replica again after a failure (default 100 ms).
    pub resync_backoff_min: Duration,
    /// The longest pause between two attempts to load the replica (default 2 s).
    pub resync_backoff_max: Duration,
    /// Told of every event the replica's watch delivers (default none).
    pub tap: Option<WatchTap>,
    /// The prefixes the replica follows (default: none given, every key). A read outside them
    /// is answered, while the store cannot, as the store last answered it, if this store
    /// kept that answer (see `remember_bytes`).
    pub scope: Vec<String>,
    /// How many bytes of answers to reads outside the scope are kept for that (default
    /// 4 MiB, a fifth of what the daemon takes at rest; an answer over an eighth of it is not
    /// kept).
    pub remember_bytes: usize,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(2),
            down_timeout: Duration::from_millis(500),
            max_keys: 1_000_000,
            resync_backoff_min: Duration::from_millis(100),
            resync_backoff_max: Duration::from_secs(2),
            tap: None,
            scope: Vec::new(),
            remember_bytes: 4 << 20,
        }
    }
}

/// How old an answer served from the replica is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staleness {
    /// The newest store revision the replica had seen when it answered.
    pub revision: Revision,
    /// The last moment the replica is known to have matched the store: its last full load,
    /// its last watch event, or the moment its watch failed, whichever is latest.
    pub as_of: SystemTime,
}

impl Staleness {
    /// How long ago [`Staleness::as_of`] was (zero if the clock went backwards).
    pub fn age(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.as_of)
            .unwrap_or_default()
    }
}

tokio::task_local! {
    static STALE: Cell<Option<Staleness>>;
}

/// Runs `f` and reports whether any read of a [`CachedStore`] inside it was answered from the
/// replica; when several were, the oldest (lowest revision) is reported.
///
/// The scope is task-local: reads made by tasks that `f` spawns are not seen. Outside any
/// scope, stale reads are served all the same and simply not reported.
pub async fn track_staleness<F: Future>(f: F) -> (F::Output, Option<Staleness>) {
    STALE
        .scope(Cell::new(None), async move {
            let out = f.await;
            let stale = STALE.try_with(Cell::get).ok().flatten();
            (out, stale)
        })
        .await
}

/// Records a stale answer in the current scope, if there is one.
fn mark_stale(s: Staleness) {
    let _ = STALE.try_with(|cell| {
        let oldest = match cell.get() {
            Some(old) if old.revision <= s.revision => old,
            _ => s,
        };
        cell.set(Some(oldest));
    });
}

/// A [`Store`] that answers reads from a local replica when the store it wraps cannot, and
/// fails writes within a bound when that store has no quorum. See the module documentation.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    opts: CacheOptions,
    shared: Arc<Shared>,
    stop: CancellationToken,
    /// When a call last failed for want of the store (unavailable, or no answer within its
    /// bound); cleared by the next answer. With the replica's watch not following, the store
    /// is down: calls are bounded by [`CacheOptions::down_timeout`], and a read the replica can
    /// answer that comes less than [`FAST_STALE_WINDOW`] after the failure is answered from
    /// it at once.
    last_failure: std::sync::Mutex<Option<std::time::Instant>>,
    /// The last answers to reads outside the replica's scope.
    remembered: std::sync::Mutex<Remembered>,
    /// The newest store revision an answer or the replica has shown (what a kept answer
    /// without a revision of its own is true at, at least).
    seen_revision: std::sync::atomic::AtomicI64,
}

/// See [`CachedStore::last_failure`].
const FAST_STALE_WINDOW: Duration = Duration::from_secs(1);

impl CachedStore {
    /// Wraps `inner` and starts the task that keeps the replica; the task stops when the
    /// returned store is dropped. Must be called inside a Tokio runtime.
    pub fn new(inner: Arc<dyn Store>, opts: CacheOptions) -> Arc<CachedStore> {
        let shared = Arc::new(Shared::new());
        let stop = CancellationToken::new();
        tokio::spawn(keep_replica(
            inner.clone(),
            shared.clone(),
            opts.clone(),
            stop.clone(),
        ));
        Arc::new(CachedStore {
            inner,
            shared,
            remembered: std::sync::Mutex::new(Remembered::new(if opts.scope.is_empty() {
                0
            } else {
                opts.remember_bytes
            })),
            seen_revision: std::sync::atomic::AtomicI64::new(0),
            opts,
            stop,
            last_failure: std::sync::Mutex::new(None),
        })
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// True while the replica is loaded and following the store through its watch.
    pub fn is_synced(&self) -> bool {
        self.shared.read().phase == Phase::Following
    }

    /// The newest store revision the replica has seen, when it can answer reads (it has been
    /// loaded at least once and has not been disabled).
    pub fn cached_revision(&self) -> Option<Revision> {
        let replica = self.shared.read();
        replica.loaded().then_some(replica.revision)
    }

    /// Whether the replica follows `key`, or every key under `prefix` when given so.
    fn covers(&self, key_or_prefix: &str) -> bool {
        self.opts.scope.is_empty()
            || self
                .opts
                .scope
                .iter()
                .any(|p| key_or_prefix.starts_with(p.as_str()))
    }

    /// Runs a read on the store; on a retryable failure answers it from the replica instead
    /// (`covered`: the replica follows what it reads), or else as the store last answered
    /// `query`, if that answer was kept.
    async fn read<T: Answerable>(
        &self,
        query: String,
        covered: bool,
        fut: impl Future<Output = StoreResult<T>> + Send,
        from_replica: impl FnOnce(&Replica) -> T + Send,
    ) -> StoreResult<T> {
        let bound = self.bound(self.opts.read_timeout);
        let recently_failed = self
            .failure_lock()
            .is_some_and(|t| t.elapsed() < FAST_STALE_WINDOW);
        let answerable = if covered {
            !self.is_synced() && self.cached_revision().is_some()
        } else {
            self.remembered_lock().contains(&query)
        };
        let err = if recently_failed && answerable {
            StoreError::Unavailable {
                reason: "the store failed a moment ago".into(),
            }
        } else {
            let err = match tokio::time::timeout(bound, fut).await {
                Ok(Ok(v)) => {
                    self.answered();
                    if !covered {
                        self.keep(query, &v);
                    }
                    return Ok(v);
                }
                Ok(Err(e)) if e.retryable() => e,
                Ok(Err(e)) => {
                    self.answered();
                    return Err(e);
                }
                Err(_) => StoreError::Timeout {
                    timeout_ms: ms(bound),
                },
            };
            self.failed();
            err
        };
        let (value, stale) = if covered {
            let replica = self.shared.read();
            let Some(stale) = replica.staleness() else {
                return Err(unanswered_read(err));
            };
            (from_replica(&replica), stale)
        } else {
            let kept = self.remembered_lock().get(&query);
            match kept.and_then(|(a, stale)| Some((T::from_answer(a)?, stale))) {
                Some(v) => v,
                None => return Err(unanswered_read(err)),
            }
        };
        tracing::debug!(error = %err, revision = stale.revision, "store read answered from the local cache");
        mark_stale(stale);
        Ok(value)
    }

    fn failure_lock(&self) -> std::sync::MutexGuard<'_, Option<std::time::Instant>> {
        self.last_failure.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn answered(&self) {
        *self.failure_lock() = None;
    }

    fn failed(&self) {
        *self.failure_lock() = Some(std::time::Instant::now());
    }

    /// Whether the store is down: its last call failed for want of it and the replica's
    /// watch does not follow it.
    fn store_down(&self) -> bool {
        self.failure_lock().is_some() && !self.is_synced()
    }

    /// `normal`, or the down bound while the store is down.
    fn bound(&self, normal: Duration) -> Duration {
        if self.store_down() {
            normal.min(self.opts.down_timeout)
        } else {
            normal
        }
    }

    fn remembered_lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.remembered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a fresh answer to a read outside the replica's scope.
    fn keep<T: Answerable>(&self, query: String, v: &T) {
        use std::sync::atomic::Ordering::Relaxed;
        let revision = match v.revision() {
            Some(r) => {
                self.seen_revision.fetch_max(r, Relaxed);
                r
            }
            None => self
                .seen_revision
                .load(Relaxed)
                .max(self.cached_revision().unwrap_or(0)),
        };
        let mut kept = self.remembered_lock();
        if kept.enabled() {
            kept.keep(query, v.clone().into_answer(), revision);
        }
    }

    /// Runs a call that must reach the store, within the write bound.
    async fn must_reach<T>(
        &self,
        caveat: &str,
        fut: impl Future<Output = StoreResult<T>> + Send,
    ) -> StoreResult<T> {
        let bound = self.bound(self.opts.write_timeout);
        let out = match tokio::time::timeout(bound, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(StoreError::Unavailable { reason })) => Err(no_quorum(reason)),
            Ok(Err(StoreError::Timeout { timeout_ms })) => Err(no_quorum(format!(
                "no answer within {}{caveat}",
                human(Duration::from_millis(timeout_ms))
            ))),
            Ok(Err(e)) => {
                self.answered();
                return Err(e);
            }
            Err(_) => Err(no_quorum(format!(
                "no answer within {}{caveat}",
                human(bound)
            ))),
        };
        match out {
            Ok(_) => self.answered(),
            Err(_) => self.failed(),
        }
        out
    }
}

impl Drop for CachedStore {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

const WRITE_CAVEAT: &str = " (the write may not have been applied)";
const LEASE_CAVEAT: &str = " (the lease request may not have been applied)";

fn no_quorum(reason: String) -> StoreError {
    let reason = if reason.starts_with(NO_QUORUM) {
        reason
    } else {
        format!("{NO_QUORUM}{reason}")
    };
    StoreError::Unavailable { reason }
}

/// The error of a read neither the store nor this node's copy could answer.
fn unanswered_read(err: StoreError) -> StoreError {
    match err {
        StoreError::Timeout { timeout_ms } => no_quorum(format!(
            "no answer within {}, and this node keeps no copy of what was asked",
            human(Duration::from_millis(timeout_ms))
        )),
        StoreError::Unavailable { reason } => no_quorum(format!(
            "{reason}, and this node keeps no copy of what was asked"
        )),
        other => other,
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `2 s` for whole seconds, `250 ms` otherwise.
fn human(d: Duration) -> String {
    let ms = ms(d);
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn read_only(txn: &Txn) -> bool {
    txn.success
        .iter()
        .chain(&txn.failure)
        .all(|op| matches!(op, TxnOp::Get { .. }))
}

#[async_trait]
impl Store for CachedStore {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        validate::key(key)?;
        let covered = self.covers(key);
        self.read(format!("get\0{key}"), covered, self.inner.get(key), |r| {
            r.get(key)
        })
        .await
    }

    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        let covered = self.covers(prefix);
        let query = format!("range\0{prefix}\0{limit}");
        self.read(query, covered, self.inner.range(prefix, limit), |r| {
            r.range(prefix, None, limit)
        })
        .await
    }

    async fn range_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
        let covered = self.covers(prefix);
        let query = format!("range-after\0{prefix}\0{after}\0{limit}");
        let fut = self.inner.range_after(prefix, after, limit);
        self.read(query, covered, fut, |r| r.range(prefix, Some(after), limit))
            .await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.must_reach(WRITE_CAVEAT, self.inner.put(key, value, lease))
            .await
    }

    async fn delete(&self, key: &str) -> StoreResult<u64> {
        self.must_reach(WRITE_CAVEAT, self.inner.delete(key)).await
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.must_reach(WRITE_CAVEAT, self.inner.delete_prefix(prefix))
            .await
    }

    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse> {
        if !read_only(&txn) {
            return self.must_reach(WRITE_CAVEAT, self.inner.txn(txn)).await;
        }
        validate::txn(&txn)?;
        let covered = txn
            .compares
            .iter()
            .map(|c| c.key.as_str())
            .chain(
                txn.success
                    .iter()
                    .chain(&txn.failure)
                    .filter_map(|op| match op {
                        TxnOp::Get { key } => Some(key.as_str()),
                        _ => None,
                    }),
            )
            .all(|k| self.covers(k));
        let query = format!("txn\0{txn:?}");
        let copy = txn.clone();
        self.read(query, covered, self.inner.txn(txn), move |r| {
            r.read_txn(&copy)
        })
        .await
    }

    async fn watch(&self, prefix: &str, start_revision: Option<Revision>) -> StoreResult<Watch> {
        let bound = self.opts.read_timeout;
        match tokio::time::timeout(bound, self.inner.watch(prefix, start_revision)).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout {
                timeout_ms: ms(bound),
            }),
        }
    }

    async fn lease_grant(&self, ttl_s: i64) -> StoreResult<LeaseId> {
        self.must_reach(LEASE_CAVEAT, self.inner.lease_grant(ttl_s))
            .await
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> StoreResult<i64> {
        self.must_reach(LEASE_CAVEAT, self.inner.lease_keep_alive(lease))
            .await
    }

    async fn lease_revoke(&self, lease: LeaseId) -> StoreResult<()> {
        self.must_reach(LEASE_CAVEAT, self.inner.lease_revoke(lease))
            .await
    }

    async fn revision(&self) -> StoreResult<Revision> {
        self.must_reach("", self.inner.revision()).await
    }
    fn replica_synced(&self) -> Option<bool> {
        Some(self.is_synced())
    }

    async fn replica_applied(&self, revision: Revision, wait: Duration) -> Option<Revision> {
        let askers = {
            let replica = self.shared.read();
            if replica.phase != Phase::Following {
                return Some(replica.applied_through());
            }
            replica.askers.clone()
        };
        let deadline = tokio::time::Instant::now() + wait;
        for asker in &askers {
            asker.ask();
        }
        loop {
            let progressed = self.shared.progressed.notified();
            tokio::pin!(progressed);
            progressed.as_mut().enable();
            let applied = self.shared.read().applied_through();
            if applied >= revision {
                return Some(applied);
            }
            if tokio::time::timeout_at(deadline, progressed).await.is_err() {
                return Some(self.shared.read().applied_through());
            }
        }
    }
}
