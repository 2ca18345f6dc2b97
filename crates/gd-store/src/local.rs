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

use crate::types::deliver;
use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redb::{
    Database, MultimapTable, MultimapTableDefinition, ReadableDatabase, ReadableTable, Table,
    TableDefinition, WriteTransaction,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::{
    Compare, CompareOp, CompareTarget, EventKind, KeyValue, LeaseId, RangeResponse, Revision,
    Store, StoreError, StoreResult, Txn, TxnOp, TxnOpResponse, TxnResponse, WATCH_QUEUE_MAX, Watch,
    WatchEvent, validate,
};

/// A key's row: create revision, mod revision, version, lease (0 = none), value.
type KvRow = (i64, i64, i64, i64, &'static [u8]);

const KV: TableDefinition<&str, KvRow> = TableDefinition::new("kv");
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
/// Lease id → (TTL in seconds, deadline in unix milliseconds).
const LEASES: TableDefinition<i64, (i64, i64)> = TableDefinition::new("leases");
const LEASE_KEYS: MultimapTableDefinition<i64, &str> = MultimapTableDefinition::new("lease_keys");

const META_FORMAT: &str = "format";
const META_REVISION: &str = "revision";
const META_NEXT_LEASE: &str = "next_lease";
/// The on-disk format this build writes; a file with a higher one is refused.
const FORMAT_VERSION: i64 = 1;

/// How many events one watch copies out of the history per lock.
const WATCH_BATCH: usize = 256;
/// Bytes counted per history event on top of its key and value.
const EVENT_OVERHEAD: usize = 64;
/// How long `open` waits for a previous handle on the same file to finish closing.
const REOPEN_WAIT: Duration = Duration::from_secs(2);

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
    published: watch::Sender<Revision>,
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

impl Inner {
    fn open(backend: Backend, (max_events, max_bytes): (usize, usize)) -> StoreResult<Inner> {
        let (db, name) = match backend {
            Backend::Memory => (
                redb::Builder::new()
                    .create_with_backend(redb::backends::InMemoryBackend::new())
                    .map_err(dberr("create in-memory database"))?,
                "in-memory store".to_owned(),
            ),
            Backend::File(path) => (open_file(&path)?, path.display().to_string()),
        };
        let now = Instant::now();
        let now_ms = unix_ms();
        let txn = db.begin_write().map_err(dberr("begin write"))?;
        let (revision, next_lease, deadlines) = {
            let mut meta = txn.open_table(META).map_err(dberr("open meta table"))?;
            txn.open_table(KV).map_err(dberr("open kv table"))?;
            txn.open_multimap_table(LEASE_KEYS)
                .map_err(dberr("open lease_keys table"))?;
            let leases = txn.open_table(LEASES).map_err(dberr("open leases table"))?;
            let get = |meta: &Table<&str, i64>, k: &str| -> StoreResult<Option<i64>> {
                Ok(meta.get(k).map_err(dberr("read meta"))?.map(|g| g.value()))
            };
            match get(&meta, META_FORMAT)? {
                None => {
                    meta.insert(META_FORMAT, FORMAT_VERSION)
                        .map_err(dberr("init meta"))?;
                    meta.insert(META_REVISION, 1).map_err(dberr("init meta"))?;
                    // Seeded with the time so a store recreated later never reuses an id.
                    let first = now_ms.saturating_mul(1000).max(1);
                    meta.insert(META_NEXT_LEASE, first)
                        .map_err(dberr("init meta"))?;
                }
                Some(v) if v > FORMAT_VERSION => {
                    return Err(StoreError::Local(format!(
                        "{name}: written by a newer glusterd2 (store format {v}, this one reads up \
                         to {FORMAT_VERSION})"
                    )));
                }
                Some(_) => {}
            }
            let missing = |what: &str| StoreError::Corrupt {
                key: format!("meta/{what}"),
                reason: format!("{name}: missing from the meta table"),
            };
            let revision = get(&meta, META_REVISION)?.ok_or_else(|| missing(META_REVISION))?;
            let next_lease =
                get(&meta, META_NEXT_LEASE)?.ok_or_else(|| missing(META_NEXT_LEASE))?;
            let mut deadlines = HashMap::new();
            for row in leases.iter().map_err(dberr("read leases"))? {
                let (id, v) = row.map_err(dberr("read leases"))?;
                let (_ttl, deadline_ms) = v.value();
                let left = u64::try_from(deadline_ms.saturating_sub(now_ms)).unwrap_or(0);
                deadlines.insert(id.value(), instant_after(now, Duration::from_millis(left)));
            }
            (revision, next_lease, deadlines)
        };
        txn.commit().map_err(dberr("commit"))?;
        // The events of revisions up to `revision` are gone with the previous process; a fresh
        // store (revision 1) has none, so watching from 1 is still complete.
        let oldest = if revision <= 1 { 1 } else { revision + 1 };
        let history = History {
            events: VecDeque::new(),
            bytes: 0,
            oldest,
            max_events,
            max_bytes,
        };
        let (published, _) = watch::channel(revision);
        Ok(Inner {
            db,
            name,
            writer: Mutex::new(Writer {
                revision,
                next_lease,
            }),
            deadlines: Mutex::new(deadlines),
            history: Arc::new(Mutex::new(history)),
            published,
        })
    }

    fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        let txn = self.db.begin_read().map_err(dberr("begin read"))?;
        let kv = txn.open_table(KV).map_err(dberr("open kv table"))?;
        Ok(kv
            .get(key)
            .map_err(dberr("read key"))?
            .map(|g| kv_from_row(key, g.value())))
    }

    fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        let txn = self.db.begin_read().map_err(dberr("begin read"))?;
        let kv = txn.open_table(KV).map_err(dberr("open kv table"))?;
        let meta = txn.open_table(META).map_err(dberr("open meta table"))?;
        let revision = meta
            .get(META_REVISION)
            .map_err(dberr("read meta"))?
            .map(|g| g.value())
            .unwrap_or(1);
        let mut kvs = Vec::new();
        let mut more = false;
        for row in kv.range::<&str>(prefix..).map_err(dberr("read range"))? {
            let (k, v) = row.map_err(dberr("read range"))?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            if limit > 0 && kvs.len() == limit {
                more = true;
                break;
            }
            kvs.push(kv_from_row(k, v.value()));
        }
        Ok(RangeResponse {
            kvs,
            more,
            revision,
        })
    }

    /// Runs `f` in one redb write transaction. If it produced events, they all get the next
    /// revision, which is persisted, published to the watch history and returned; otherwise
    /// the revision stays. On error nothing is written.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> StoreResult<T>,
    ) -> StoreResult<(T, Revision)> {
        let mut w = lock(&self.writer);
        let txn = self.db.begin_write().map_err(dberr("begin write"))?;
        let rev = w.revision + 1;
        let (out, fx) = {
            let mut tx = Tx::open(&txn, rev, w.next_lease, &self.deadlines)?;
            let out = f(&mut tx)?;
            (out, tx.fx)
        };
        if !fx.dirty && fx.events.is_empty() {
            // Read-only: nothing to commit. An abort error only means the txn is gone anyway.
            let _ = txn.abort();
            return Ok((out, w.revision));
        }
        {
            let mut meta = txn.open_table(META).map_err(dberr("open meta table"))?;
            if !fx.events.is_empty() {
                meta.insert(META_REVISION, rev)
                    .map_err(dberr("write revision"))?;
            }
            if let Some(next) = fx.next_lease {
                meta.insert(META_NEXT_LEASE, next)
                    .map_err(dberr("write lease counter"))?;
            }
        }
        txn.commit()
            .map_err(|e| StoreError::Local(format!("{}: commit: {e}", self.name)))?;

        if let Some(next) = fx.next_lease {
            w.next_lease = next;
        }
        if !fx.deadlines.is_empty() {
            let mut deadlines = lock(&self.deadlines);
            for (id, deadline) in fx.deadlines {
                match deadline {
                    Some(d) => deadlines.insert(id, d),
                    None => deadlines.remove(&id),
                };
            }
        }
        if fx.events.is_empty() {
            return Ok((out, w.revision));
        }
        w.revision = rev;
        // Published under the history lock, so that whoever holds that lock sees a published
        // revision whose events are all in the history (see `watch`).
        let mut history = lock(&self.history);
        history.push(fx.events);
        self.published.send_replace(rev);
        drop(history);
        Ok((out, rev))
    }

    /// Revokes every lease whose deadline has passed, each in its own revision.
    fn expire_due(&self) -> StoreResult<usize> {
        let now = Instant::now();
        let due: Vec<LeaseId> = lock(&self.deadlines)
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut expired = 0;
        for id in due {
            let (gone, rev) = self.write(|tx| tx.lease_expire(id))?;
            if gone {
                tracing::debug!(lease = id, revision = rev, store = %self.name, "lease expired");
                expired += 1;
            }
        }
        Ok(expired)
    }

    fn has_due_lease(&self) -> bool {
        let now = Instant::now();
        lock(&self.deadlines).values().any(|d| *d <= now)
    }
}

fn open_file(path: &Path) -> StoreResult<Database> {
    let give_up = Instant::now() + REOPEN_WAIT;
    loop {
        match Database::create(path) {
            Ok(db) => return Ok(db),
            // A handle dropped a moment ago may still be finishing a write on the blocking
            // pool; it closes the file within milliseconds.
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < give_up => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(StoreError::Local(format!(
                    "cannot open store file {}: {e}",
                    path.display()
                )));
            }
        }
    }
}

/// What a write did besides changing tables, applied to memory after the commit.
#[derive(Default)]
struct Effects {
    events: Vec<WatchEvent>,
    /// New monotonic deadline of a lease, or `None` when the lease is gone.
    deadlines: Vec<(LeaseId, Option<Instant>)>,
    next_lease: Option<LeaseId>,
    /// Something was written that does not bump the revision (lease grant, keep-alive...).
    dirty: bool,
}

/// One write transaction with its tables open.
struct Tx<'a> {
    kv: Table<'a, &'static str, KvRow>,
    leases: Table<'a, i64, (i64, i64)>,
    lease_keys: MultimapTable<'a, i64, &'static str>,
    /// The revision this transaction's changes get if it makes any.
    rev: Revision,
    next_lease: LeaseId,
    now: Instant,
    now_ms: i64,
    deadlines: &'a Mutex<HashMap<LeaseId, Instant>>,
    fx: Effects,
}

impl<'a> Tx<'a> {
    fn open(
        txn: &'a WriteTransaction,
        rev: Revision,
        next_lease: LeaseId,
        deadlines: &'a Mutex<HashMap<LeaseId, Instant>>,
    ) -> StoreResult<Tx<'a>> {
        Ok(Tx {
            kv: txn.open_table(KV).map_err(dberr("open kv table"))?,
            leases: txn.open_table(LEASES).map_err(dberr("open leases table"))?,
            lease_keys: txn
                .open_multimap_table(LEASE_KEYS)
                .map_err(dberr("open lease_keys table"))?,
            rev,
            next_lease,
            now: Instant::now(),
            now_ms: unix_ms(),
            deadlines,
            fx: Effects::default(),
        })
    }

    fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        Ok(self
            .kv
            .get(key)
            .map_err(dberr("read key"))?
            .map(|g| kv_from_row(key, g.value())))
    }

    /// A lease is alive while it is stored and its deadline has not passed; an overdue lease
    /// is already dead even if the expiry task has not revoked it yet.
    fn lease_alive(&self, id: LeaseId) -> StoreResult<bool> {
        if self.leases.get(id).map_err(dberr("read lease"))?.is_none() {
            return Ok(false);
        }
        Ok(lock(self.deadlines).get(&id).is_none_or(|d| *d > self.now))
    }

    fn put(&mut self, key: &str, value: &[u8], lease: Option<LeaseId>) -> StoreResult<()> {
        if let Some(id) = lease
            && !self.lease_alive(id)?
        {
            return Err(StoreError::LeaseNotFound { lease: id });
        }
        let old = self.kv.get(key).map_err(dberr("read key"))?.map(|g| {
            let (create, _, version, lease, _) = g.value();
            (create, version, lease)
        });
        let (create, version, old_lease) = match old {
            Some((create, version, lease)) => (create, version + 1, lease),
            None => (self.rev, 1, 0),
        };
        let new_lease = lease.unwrap_or(0);
        if old_lease != new_lease {
            if old_lease != 0 {
                self.lease_keys
                    .remove(old_lease, key)
                    .map_err(dberr("unbind key from lease"))?;
            }
            if new_lease != 0 {
                self.lease_keys
                    .insert(new_lease, key)
                    .map_err(dberr("bind key to lease"))?;
            }
        }
        self.kv
            .insert(key, (create, self.rev, version, new_lease, value))
            .map_err(dberr("write key"))?;
        self.fx.events.push(WatchEvent {
            kind: EventKind::Put,
            key: key.to_owned(),
            value: value.to_vec(),
            revision: self.rev,
        });
        Ok(())
    }

    /// Removes `key`; `unbind` also drops it from its lease's key index.
    fn remove(&mut self, key: &str, unbind: bool) -> StoreResult<u64> {
        let lease = match self.kv.remove(key).map_err(dberr("delete key"))? {
            None => return Ok(0),
            Some(g) => g.value().3,
        };
        if unbind && lease != 0 {
            self.lease_keys
                .remove(lease, key)
                .map_err(dberr("unbind key from lease"))?;
        }
        self.fx.events.push(WatchEvent {
            kind: EventKind::Delete,
            key: key.to_owned(),
            value: Vec::new(),
            revision: self.rev,
        });
        Ok(1)
    }

    fn delete_prefix(&mut self, prefix: &str) -> StoreResult<u64> {
        let mut keys = Vec::new();
        for row in self
            .kv
            .range::<&str>(prefix..)
            .map_err(dberr("read range"))?
        {
            let (k, _) = row.map_err(dberr("read range"))?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            keys.push(k.to_owned());
        }
        let mut deleted = 0;
        for k in keys {
            deleted += self.remove(&k, true)?;
        }
        Ok(deleted)
    }

    fn holds(&self, c: &Compare) -> StoreResult<bool> {
        let kv = self.get(&c.key)?;
        let ord = match &c.target {
            // A missing key never matches a value compare, whatever the operator (etcd).
            CompareTarget::Value(v) => match &kv {
                None => return Ok(false),
                Some(kv) => kv.value.as_slice().cmp(v.as_slice()),
            },
            CompareTarget::ModRevision(r) => kv.as_ref().map_or(0, |kv| kv.mod_revision).cmp(r),
            CompareTarget::CreateRevision(r) => {
                kv.as_ref().map_or(0, |kv| kv.create_revision).cmp(r)
            }
            CompareTarget::Version(v) => kv.as_ref().map_or(0, |kv| kv.version).cmp(v),
        };
        Ok(match c.op {
            CompareOp::Equal => ord == Ordering::Equal,
            CompareOp::NotEqual => ord != Ordering::Equal,
            CompareOp::Less => ord == Ordering::Less,
            CompareOp::Greater => ord == Ordering::Greater,
        })
    }

    fn txn(&mut self, txn: Txn) -> StoreResult<(bool, Vec<TxnOpResponse>)> {
        let mut succeeded = true;
        for c in &txn.compares {
            if !self.holds(c)? {
                succeeded = false;
                break;
            }
        }
        let ops = if succeeded { txn.success } else { txn.failure };
        let mut responses = Vec::with_capacity(ops.len());
        for op in ops {
            responses.push(match op {
                TxnOp::Put { key, value, lease } => {
                    self.put(&key, &value, lease)?;
                    TxnOpResponse::Put
                }
                TxnOp::Delete { key } => TxnOpResponse::Delete {
                    deleted: self.remove(&key, true)?,
                },
                TxnOp::DeletePrefix { prefix } => TxnOpResponse::Delete {
                    deleted: self.delete_prefix(&prefix)?,
                },
                TxnOp::Get { key } => TxnOpResponse::Get(self.get(&key)?),
            });
        }
        Ok((succeeded, responses))
    }

    fn set_deadline(&mut self, id: LeaseId, ttl_s: i64) -> StoreResult<()> {
        let deadline_ms = self.now_ms.saturating_add(ttl_s.saturating_mul(1000));
        self.leases
            .insert(id, (ttl_s, deadline_ms))
            .map_err(dberr("write lease"))?;
        let ttl = Duration::from_secs(u64::try_from(ttl_s).unwrap_or(0));
        self.fx
            .deadlines
            .push((id, Some(instant_after(self.now, ttl))));
        self.fx.dirty = true;
        Ok(())
    }

    fn lease_grant(&mut self, ttl_s: i64) -> StoreResult<LeaseId> {
        let id = self.next_lease;
        if id <= 0 || id == i64::MAX {
            return Err(StoreError::Local("lease ids exhausted".to_owned()));
        }
        self.fx.next_lease = Some(id + 1);
        self.set_deadline(id, ttl_s)?;
        Ok(id)
    }

    fn lease_keep_alive(&mut self, id: LeaseId) -> StoreResult<i64> {
        if !self.lease_alive(id)? {
            return Err(StoreError::LeaseNotFound { lease: id });
        }
        let ttl = self
            .leases
            .get(id)
            .map_err(dberr("read lease"))?
            .map(|g| g.value().0)
            .ok_or(StoreError::LeaseNotFound { lease: id })?;
        self.set_deadline(id, ttl)?;
        Ok(ttl)
    }

    fn lease_revoke(&mut self, id: LeaseId) -> StoreResult<()> {
        if self.leases.get(id).map_err(dberr("read lease"))?.is_none() {
            return Err(StoreError::LeaseNotFound { lease: id });
        }
        self.drop_lease(id)
    }

    /// Revokes `id` if it is still overdue (a keep-alive may have won the race). Returns
    /// whether it was revoked.
    fn lease_expire(&mut self, id: LeaseId) -> StoreResult<bool> {
        if self.leases.get(id).map_err(dberr("read lease"))?.is_none() {
            // Stale in-memory deadline: forget it.
            self.fx.deadlines.push((id, None));
            self.fx.dirty = true;
            return Ok(false);
        }
        let overdue = lock(self.deadlines)
            .get(&id)
            .is_some_and(|d| *d <= self.now);
        if !overdue {
            return Ok(false);
        }
        self.drop_lease(id)?;
        Ok(true)
    }

    /// Deletes a lease and every key bound to it, all in this transaction's revision.
    fn drop_lease(&mut self, id: LeaseId) -> StoreResult<()> {
        let mut keys = Vec::new();
        for k in self
            .lease_keys
            .remove_all(id)
            .map_err(dberr("read lease keys"))?
        {
            keys.push(k.map_err(dberr("read lease keys"))?.value().to_owned());
        }
        self.leases.remove(id).map_err(dberr("delete lease"))?;
        for key in keys {
            // The index says the key is ours; check, in case it was rebound.
            let bound = self
                .kv
                .get(key.as_str())
                .map_err(dberr("read key"))?
                .is_some_and(|g| g.value().3 == id);
            if bound {
                self.remove(&key, false)?;
            }
        }
        self.fx.deadlines.push((id, None));
        self.fx.dirty = true;
        Ok(())
    }
}

/// The recent events watches replay from, oldest first.
struct History {
    events: VecDeque<WatchEvent>,
    bytes: usize,
    /// Every event of every revision `>= oldest` is in `events`.
    oldest: Revision,
    max_events: usize,
    max_bytes: usize,
}

/// What one look at the history gave a watch.
struct Batch {
    events: Vec<WatchEvent>,
    /// The next revision the watch owes its consumer.
    next: Revision,
    /// The batch was cut short; look again before waiting.
    more: bool,
}

fn event_bytes(e: &WatchEvent) -> usize {
    e.key.len() + e.value.len() + EVENT_OVERHEAD
}

impl History {
    fn push(&mut self, events: Vec<WatchEvent>) {
        for e in events {
            self.bytes += event_bytes(&e);
            self.events.push_back(e);
        }
        let newest = self.events.back().map_or(0, |e| e.revision);
        // Over the bounds, drop the oldest events, but never the newest revision's: a watch
        // that is keeping up must not lag because one write was large.
        while self.events.len() > self.max_events || self.bytes > self.max_bytes {
            if self.events.front().is_none_or(|e| e.revision >= newest) {
                break;
            }
            let Some(e) = self.events.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(event_bytes(&e));
            self.oldest = self.oldest.max(e.revision + 1);
        }
    }

    /// The events under `prefix` from revision `next` on, whole revisions at a time, about
    /// `max` of them.
    fn collect(&self, prefix: &str, next: Revision, max: usize) -> StoreResult<Batch> {
        if next < self.oldest {
            return Err(StoreError::WatchLagged {
                queue_max: self.max_events,
            });
        }
        let start = self.events.partition_point(|e| e.revision < next);
        let mut batch = Batch {
            events: Vec::new(),
            next,
            more: false,
        };
        for e in self.events.range(start..) {
            if batch.events.len() >= max && e.revision >= batch.next {
                batch.more = true;
                break;
            }
            if e.key.starts_with(prefix) {
                batch.events.push(e.clone());
            }
            batch.next = e.revision + 1;
        }
        Ok(batch)
    }
}

/// The task behind one watch: copies matching events from the history to the consumer.
async fn run_watch(
    history: Arc<Mutex<History>>,
    mut published: watch::Receiver<Revision>,
    prefix: String,
    mut next: Revision,
    tx: mpsc::Sender<StoreResult<WatchEvent>>,
    stop: CancellationToken,
) {
    let mut store_closed = false;
    loop {
        // Mark the current revision seen *before* looking, so a revision published while we
        // look wakes us below.
        let _ = published.borrow_and_update();
        loop {
            let batch = lock(&history).collect(&prefix, next, WATCH_BATCH);
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    deliver(&tx, &stop, Err(e)).await;
                    return;
                }
            };
            next = batch.next;
            for ev in batch.events {
                if !deliver(&tx, &stop, Ok(ev)).await {
                    return;
                }
            }
            if !batch.more {
                break;
            }
        }
        if store_closed {
            let closed = StoreError::Unavailable {
                reason: "the local store was closed".into(),
            };
            deliver(&tx, &stop, Err(closed)).await;
            return;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            changed = published.changed() => store_closed = changed.is_err(),
        }
    }
}

/// Revokes expired leases until the store is dropped.
async fn expiry_loop(inner: Weak<Inner>, stop: CancellationToken, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(inner) = inner.upgrade() else { return };
        if !inner.has_due_lease() {
            continue;
        }
        let name = inner.name.clone();
        match tokio::task::spawn_blocking(move || inner.expire_due()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(store = %name, error = %e, "lease expiry failed"),
            Err(e) => tracing::warn!(store = %name, error = %e, "lease expiry task failed"),
        }
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
        self.blocking(move |i| i.range(&prefix, limit)).await
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
                    return Ok(Watch::new(rx, cancel));
                }
                Some(rev) => rev,
            }
        };
        let published = self.inner.published.subscribe();
        tokio::spawn(run_watch(
            history,
            published,
            prefix.to_owned(),
            next,
            tx,
            cancel.clone(),
        ));
        Ok(Watch::new(rx, cancel))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn small_history(events: usize) -> LocalStoreOptions {
        LocalStoreOptions {
            history_events: events,
            ..LocalStoreOptions::default()
        }
    }

    async fn next(w: &mut Watch) -> Option<StoreResult<WatchEvent>> {
        tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("watch stalled")
    }

    #[tokio::test]
    async fn fresh_store_starts_at_revision_one_and_replays_from_it() {
        let s = LocalStore::open_in_memory().await.unwrap();
        assert_eq!(s.revision().await.unwrap(), 1);
        assert_eq!(s.put("a", b"1".to_vec(), None).await.unwrap(), 2);
        let mut w = s.watch("", Some(1)).await.unwrap();
        let ev = next(&mut w).await.unwrap().unwrap();
        assert_eq!((ev.key.as_str(), ev.revision), ("a", 2));
    }

    #[tokio::test]
    async fn watch_before_the_history_is_compacted() {
        let s = LocalStore::open_in_memory_with(small_history(4))
            .await
            .unwrap();
        for i in 0..10u8 {
            s.put("k", vec![i], None).await.unwrap();
        }
        // Revisions 2..=11 were written; the last 4 (8..=11) are kept.
        let mut w = s.watch("", Some(3)).await.unwrap();
        match next(&mut w).await {
            Some(Err(StoreError::Compacted {
                requested: 3,
                compacted: 8,
            })) => {}
            other => panic!("expected Compacted, got {other:?}"),
        }
        assert!(next(&mut w).await.is_none());
        let mut w = s.watch("", Some(8)).await.unwrap();
        assert_eq!(next(&mut w).await.unwrap().unwrap().value, vec![6]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_watcher_that_falls_behind_gets_one_error() {
        let s = LocalStore::open_in_memory_with(small_history(300))
            .await
            .unwrap();
        let mut w = s.watch("", None).await.unwrap();
        // More events than the watch queue and the history hold together.
        let total = WATCH_QUEUE_MAX + 500;
        for chunk in (0..total).collect::<Vec<_>>().chunks(crate::MAX_TXN_OPS) {
            let ops = chunk.iter().map(|i| TxnOp::put(format!("k{i}"), "x"));
            s.txn(Txn::new().and_then(ops)).await.unwrap();
        }
        let mut ok = 0;
        loop {
            match next(&mut w).await {
                Some(Ok(_)) => ok += 1,
                Some(Err(StoreError::WatchLagged { .. })) => break,
                other => panic!("expected WatchLagged after {ok} events, got {other:?}"),
            }
        }
        assert!(
            ok >= WATCH_QUEUE_MAX && ok < total,
            "{ok} events before the error"
        );
        assert!(
            next(&mut w).await.is_none(),
            "the stream ends after the error"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_and_watchers_see_every_revision_once_in_order() {
        let s = LocalStore::open_in_memory().await.unwrap();
        let start = s.revision().await.unwrap() + 1;
        let mut live = s.watch("", None).await.unwrap();
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let s = s.clone();
                tokio::spawn(async move {
                    for i in 0..50 {
                        s.put(&format!("w{t}/{i}"), vec![t], None).await.unwrap();
                    }
                })
            })
            .collect();
        // Watches created while the writers run, replaying from the start.
        let mut late = Vec::new();
        for _ in 0..3 {
            tokio::task::yield_now().await;
            late.push(s.watch("", Some(start)).await.unwrap());
        }
        for w in writers {
            w.await.unwrap();
        }
        for w in std::iter::once(&mut live).chain(late.iter_mut()) {
            for rev in start..start + 200 {
                assert_eq!(next(w).await.unwrap().unwrap().revision, rev);
            }
        }
    }

    #[tokio::test]
    async fn an_overdue_lease_is_dead_before_the_expiry_task_runs() {
        let opts = LocalStoreOptions {
            expiry_interval: Duration::from_secs(3600),
            ..Default::default()
        };
        let s = LocalStore::open_in_memory_with(opts).await.unwrap();
        let lease = s.lease_grant(1).await.unwrap();
        s.put("k", b"v".to_vec(), Some(lease)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(matches!(
            s.put("k2", vec![], Some(lease)).await,
            Err(StoreError::LeaseNotFound { .. })
        ));
        assert!(matches!(
            s.lease_keep_alive(lease).await,
            Err(StoreError::LeaseNotFound { .. })
        ));
        // Expiry itself deletes the keys.
        assert_eq!(s.inner.clone().expire_due().unwrap(), 1);
        assert_eq!(s.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_key_moved_to_another_lease_follows_it() {
        let s = LocalStore::open_in_memory().await.unwrap();
        let (a, b) = (
            s.lease_grant(60).await.unwrap(),
            s.lease_grant(60).await.unwrap(),
        );
        s.put("k", b"1".to_vec(), Some(a)).await.unwrap();
        s.put("k", b"2".to_vec(), Some(b)).await.unwrap();
        let rev = s.revision().await.unwrap();
        s.lease_revoke(a).await.unwrap();
        assert_eq!(
            s.revision().await.unwrap(),
            rev,
            "a's revoke deleted nothing"
        );
        assert_eq!(s.get("k").await.unwrap().unwrap().lease, Some(b));
        s.lease_revoke(b).await.unwrap();
        assert_eq!(s.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn refuses_a_file_from_a_newer_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        drop(LocalStore::open(&path).await.unwrap());
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(META_FORMAT, FORMAT_VERSION + 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = LocalStore::open(&path)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("newer glusterd2"), "{err}");
    }
}
