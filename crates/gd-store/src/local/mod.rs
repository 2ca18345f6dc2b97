//! The local backend: a persistent, single-node store on redb with etcd's semantics.
//!
//! A server that runs alone has no etcd to talk to, yet the daemon above the [`Store`] trait
//! must not care. So this store keeps exactly what etcd keeps for each key (create and mod
//! revision, version, lease), one store-wide revision that grows by one per write, leases that
//! expire on their own, and prefix watches that replay from a revision.
//!
//! How it is built:
//! - **Durability.** Every write is one redb write transaction, committed with redb's default
//!   durability (fsync) before the call returns. Four tables: `kv` (key → create revision, mod
//!   revision, version, lease, value), `meta` (format, current revision, next lease id),
//!   `leases` (id → TTL, deadline as wall-clock unix ms) and `lease_keys` (lease → its keys).
//!   Wall-clock deadlines survive a restart: a lease that expired while the process was down
//!   is revoked when the store opens, before any caller can read. While running, expiry uses a
//!   monotonic clock, so a wall-clock jump does not expire every lease at once.
//! - **One writer.** A mutex serialises writers so that committing, bumping the revision and
//!   publishing the events happen in one order. redb work runs in `spawn_blocking`.
//! - **Watches** read a bounded in-memory history of recent events (default 10 000 events or
//!   64 MiB), not a per-watcher copy: each watch is a task that remembers the next revision it
//!   owes its consumer, wakes when a new revision is published, and copies the matching
//!   events out of the history into the watch's bounded channel. Replay and live delivery are
//!   the same code path, so there is no gap and no duplicate between them. A watch that asks
//!   for a revision older than the history receives [`StoreError::Compacted`] as its only
//!   item, as from etcd; one whose consumer
//!   falls so far behind that the history moved past it gets one
//!   [`StoreError::WatchLagged`] and ends. The history is not persisted: after a reopen, only
//!   revisions after the reopened revision can be watched.
//! - **Lease expiry** is a background task (stopped when the store is dropped) that checks
//!   deadlines every 100 ms and revokes each expired lease in its own revision, producing
//!   delete events for its keys, as etcd does.
//!
//! Lease ids come from a persisted counter seeded with the creation time, so they are never
//! reused, not even by a store recreated from scratch.
//!
//! Where things are: `db` opens the file and runs the one writer, `tx` is one write
//! transaction (puts, deletes, compares), `lease` grants, refreshes, revokes and expires
//! leases, and `watch` keeps the replay history and feeds each watch.

mod db;
mod lease;
#[cfg(test)]
mod tests;
mod tx;
mod watch;

use std::collections::HashMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redb::Database;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::{
    KeyValue, LeaseId, ProgressAsker, RangeResponse, Revision, Store, StoreError, StoreResult, Txn,
    TxnResponse, WATCH_QUEUE_MAX, Watch, validate,
};

use lease::expiry_loop;
use watch::{History, run_watch};

/// Tuning of a [`LocalStore`]; the defaults suit the daemon.
#[derive(Debug, Clone)]
pub struct LocalStoreOptions {
    /// How many recent events are kept for watches to replay (default 10 000).
    pub history_events: usize,
    /// How many bytes of keys and values the replay history may hold (default 64 MiB).
    pub history_bytes: usize,
    /// How often lease deadlines are checked (default 100 ms): a lease expires at most this
    /// long after its deadline.
    pub expiry_interval: Duration,
}

impl Default for LocalStoreOptions {
    fn default() -> Self {
        Self {
            history_events: 10_000,
            history_bytes: 64 << 20,
            expiry_interval: Duration::from_millis(100),
        }
    }
}

/// The in-process, persistent, single-node [`Store`] (see the module docs).
///
/// Open it with [`LocalStore::open`]; it is used as an `Arc<dyn Store>`. Dropping the last
/// handle stops lease expiry, ends every watch (with one `Unavailable` error) and closes the
/// file, after which the same path can be opened again.
pub struct LocalStore {
    inner: Arc<Inner>,
    _stop_expiry: DropGuard,
}

enum Backend {
    File(PathBuf),
    Memory,
}

struct Inner {
    db: Database,
    /// The file path, or "in-memory store", for messages.
    name: String,
    writer: Mutex<Writer>,
    /// Monotonic deadline of every live lease. Lock order: `writer`, then this.
    deadlines: Mutex<HashMap<LeaseId, Instant>>,
    history: Arc<Mutex<History>>,
    /// The newest revision whose events are in `history`; watches wait on it.
    published: tokio::sync::watch::Sender<Revision>,
}

/// State only writers touch, under `Inner::writer`.
struct Writer {
    revision: Revision,
    next_lease: LeaseId,
}

impl LocalStore {
    /// Opens (or creates) the store in the redb file at `path`; its parent directory must
    /// exist. Leases whose deadline passed while the store was closed are revoked before this
    /// returns. Must be called inside a tokio runtime (it starts the lease expiry task).
    pub async fn open(path: &Path) -> StoreResult<Arc<LocalStore>> {
        Self::open_with(path, LocalStoreOptions::default()).await
    }

    /// [`LocalStore::open`] with explicit options.
    pub async fn open_with(path: &Path, opts: LocalStoreOptions) -> StoreResult<Arc<LocalStore>> {
        Self::start(Backend::File(path.to_owned()), opts).await
    }

    /// A store that lives in memory only, for tests.
    pub async fn open_in_memory() -> StoreResult<Arc<LocalStore>> {
        Self::open_in_memory_with(LocalStoreOptions::default()).await
    }

    /// [`LocalStore::open_in_memory`] with explicit options.
    pub async fn open_in_memory_with(opts: LocalStoreOptions) -> StoreResult<Arc<LocalStore>> {
        Self::start(Backend::Memory, opts).await
    }

    async fn start(backend: Backend, opts: LocalStoreOptions) -> StoreResult<Arc<LocalStore>> {
        let history = (opts.history_events.max(1), opts.history_bytes.max(1));
        let inner = tokio::task::spawn_blocking(move || -> StoreResult<Arc<Inner>> {
            let inner = Arc::new(Inner::open(backend, history)?);
            inner.expire_due()?;
            Ok(inner)
        })
        .await
        .map_err(join_error)??;
        let stop = CancellationToken::new();
        let every = opts.expiry_interval.max(Duration::from_millis(1));
        tokio::spawn(expiry_loop(Arc::downgrade(&inner), stop.clone(), every));
        Ok(Arc::new(LocalStore {
            inner,
            _stop_expiry: stop.drop_guard(),
        }))
    }

    /// Runs `f` on the blocking pool: redb is synchronous and commits fsync.
    async fn blocking<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(join_error)?
    }
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Local(format!("store worker failed: {e}"))
}

/// Maps a redb error, naming what was being done.
fn dberr<E: Display>(what: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Local(format!("{what}: {e}"))
}

/// Locks `m`; a poisoned lock (a panic elsewhere) is recovered: every critical section here
/// leaves its data consistent before anything that could panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `now + secs`, saturating far in the future instead of overflowing.
fn instant_after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(1 << 32)))
        .unwrap_or(now)
}

fn kv_from_row(key: &str, row: (i64, i64, i64, i64, &[u8])) -> KeyValue {
    let (create_revision, mod_revision, version, lease, value) = row;
    KeyValue {
        key: key.to_owned(),
        value: value.to_vec(),
        create_revision,
        mod_revision,
        version,
        lease: (lease != 0).then_some(lease),
    }
}

#[async_trait]
impl Store for LocalStore {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        validate::key(key)?;
        let key = key.to_owned();
        self.blocking(move |i| i.get(&key)).await
    }

    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        let prefix = prefix.to_owned();
        self.blocking(move |i| i.range(&prefix, None, limit)).await
    }

    async fn range_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
        let (prefix, after) = (prefix.to_owned(), after.to_owned());
        self.blocking(move |i| i.range(&prefix, Some(&after), limit))
            .await
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        validate::put(key, &value)?;
        let key = key.to_owned();
        self.blocking(move |i| Ok(i.write(|tx| tx.put(&key, &value, lease))?.1))
            .await
    }

    async fn delete(&self, key: &str) -> StoreResult<u64> {
        validate::key(key)?;
        let key = key.to_owned();
        self.blocking(move |i| Ok(i.write(|tx| tx.remove(&key, true))?.0))
            .await
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        let prefix = prefix.to_owned();
        self.blocking(move |i| Ok(i.write(|tx| tx.delete_prefix(&prefix))?.0))
            .await
    }

    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse> {
        validate::txn(&txn)?;
        self.blocking(move |i| {
            let ((succeeded, responses), revision) = i.write(|tx| tx.txn(txn))?;
            Ok(TxnResponse {
                succeeded,
                revision,
                responses,
            })
        })
        .await
    }

    async fn watch(&self, prefix: &str, start_revision: Option<Revision>) -> StoreResult<Watch> {
        validate::start_revision(start_revision)?;
        let history = self.inner.history.clone();
        let (tx, rx) = mpsc::channel(WATCH_QUEUE_MAX);
        let cancel = CancellationToken::new();
        let next = {
            let h = lock(&history);
            // `published` is updated under the history lock, so here it names the newest
            // revision whose events the history holds.
            let newest = *self.inner.published.borrow();
            match start_revision {
                None => newest + 1,
                Some(rev) if rev < h.oldest => {
                    // As etcd does: the watch starts, says why it cannot, and ends.
                    let compacted = StoreError::Compacted {
                        requested: rev,
                        compacted: h.oldest,
                    };
                    // The channel is new and empty: this cannot fail.
                    let _ = tx.try_send(Err(compacted));
                    return Ok(Watch::with_progress(rx, ProgressAsker::default(), cancel));
                }
                Some(rev) => rev,
            }
        };
        let published = self.inner.published.subscribe();
        let asker = ProgressAsker::default();
        tokio::spawn(run_watch(
            history,
            published,
            prefix.to_owned(),
            next,
            tx,
            asker.clone(),
            cancel.clone(),
        ));
        Ok(Watch::with_progress(rx, asker, cancel))
    }

    async fn lease_grant(&self, ttl_s: i64) -> StoreResult<LeaseId> {
        validate::ttl(ttl_s)?;
        self.blocking(move |i| Ok(i.write(|tx| tx.lease_grant(ttl_s))?.0))
            .await
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> StoreResult<i64> {
        self.blocking(move |i| Ok(i.write(|tx| tx.lease_keep_alive(lease))?.0))
            .await
    }

    async fn lease_revoke(&self, lease: LeaseId) -> StoreResult<()> {
        self.blocking(move |i| i.write(|tx| tx.lease_revoke(lease)).map(|_| ()))
            .await
    }

    async fn revision(&self) -> StoreResult<Revision> {
        Ok(*self.inner.published.borrow())
    }
}
