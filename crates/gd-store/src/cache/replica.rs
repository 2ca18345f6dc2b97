//! The local replica of the store's keys that answers reads while the store cannot, and the
//! background task that loads it and keeps it following the store through a watch.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use super::{CacheOptions, Staleness, human};
use crate::{
    CompareOp, CompareTarget, EventKind, KeyValue, ProgressAsker, RangeResponse, Revision, Store,
    Txn, TxnOp, TxnOpResponse, TxnResponse, WatchEvent, WatchItem,
};

/// Where the replica is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Never loaded: cannot answer.
    Empty,
    /// Loaded and following the store through its watch.
    Following,
    /// Loaded, but its watch has failed: answers what it had, while the task reloads it.
    Behind,
    /// Disabled because the store has more keys than `max_keys`.
    Unusable,
}

/// The local copy of the store's keys.
pub(super) struct Replica {
    pub(super) phase: Phase,
    pub(super) kvs: BTreeMap<String, KeyValue>,
    pub(super) revision: Revision,
    pub(super) as_of: SystemTime,
    /// Per prefix of the scope, the revision up to which every change has been applied (its
    /// load, then its watch's progress reports).
    pub(super) applied: Vec<Revision>,
    /// Per prefix of the scope, how to ask its watch for its progress (while following).
    pub(super) askers: Vec<ProgressAsker>,
}

/// A put event would make the replica larger than `max_keys`.
pub(super) struct TooManyKeys;

impl Replica {
    pub(super) fn new() -> Self {
        Self {
            phase: Phase::Empty,
            kvs: BTreeMap::new(),
            revision: 0,
            as_of: SystemTime::UNIX_EPOCH,
            applied: vec![],
            askers: vec![],
        }
    }

    /// The revision up to which every change of the scope has been applied: the smallest of
    /// the prefixes' (0 before the first load).
    pub(super) fn applied_through(&self) -> Revision {
        self.applied.iter().copied().min().unwrap_or(0)
    }

    pub(super) fn loaded(&self) -> bool {
        matches!(self.phase, Phase::Following | Phase::Behind)
    }

    pub(super) fn staleness(&self) -> Option<Staleness> {
        self.loaded().then_some(Staleness {
            revision: self.revision,
            as_of: self.as_of,
        })
    }

    /// Replaces the contents with a full load (`applied`: each prefix's load revision); the
    /// watches are not running yet.
    pub(super) fn load(&mut self, resp: RangeResponse, applied: Vec<Revision>) {
        self.applied = applied;
        self.askers.clear();
        self.kvs = resp
            .kvs
            .into_iter()
            .map(|kv| (kv.key.clone(), kv))
            .collect();
        self.revision = resp.revision;
        self.as_of = SystemTime::now();
        self.phase = Phase::Behind;
    }

    pub(super) fn apply(&mut self, ev: WatchEvent, max_keys: usize) -> Result<(), TooManyKeys> {
        match ev.kind {
            EventKind::Put => {
                let kv = match self.kvs.get(&ev.key) {
                    Some(old) => KeyValue {
                        key: ev.key,
                        value: ev.value,
                        create_revision: old.create_revision,
                        mod_revision: ev.revision,
                        version: old.version.saturating_add(1),
                        lease: None,
                    },
                    None => {
                        if self.kvs.len() >= max_keys {
                            return Err(TooManyKeys);
                        }
                        KeyValue {
                            key: ev.key,
                            value: ev.value,
                            create_revision: ev.revision,
                            mod_revision: ev.revision,
                            version: 1,
                            lease: None,
                        }
                    }
                };
                self.kvs.insert(kv.key.clone(), kv);
            }
            EventKind::Delete => {
                self.kvs.remove(&ev.key);
            }
        }
        self.revision = self.revision.max(ev.revision);
        self.as_of = SystemTime::now();
        Ok(())
    }

    pub(super) fn give_up(&mut self) {
        self.kvs = BTreeMap::new();
        self.phase = Phase::Unusable;
    }

    pub(super) fn get(&self, key: &str) -> Option<KeyValue> {
        self.kvs.get(key).cloned()
    }

    /// Keys under `prefix`, after `prefix` + `after` when given (see `Store::range_after`).
    pub(super) fn range(&self, prefix: &str, after: Option<&str>, limit: usize) -> RangeResponse {
        let start = after.map(|a| format!("{prefix}{a}"));
        let bounds = match &start {
            Some(s) => (Bound::Excluded(s.as_str()), Bound::Unbounded),
            None => (Bound::Included(prefix), Bound::Unbounded),
        };
        let mut matching = self
            .kvs
            .range::<str, _>(bounds)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, kv)| kv);
        let kvs: Vec<KeyValue> = if limit == 0 {
            matching.by_ref().cloned().collect()
        } else {
            matching.by_ref().take(limit).cloned().collect()
        };
        RangeResponse {
            kvs,
            more: matching.next().is_some(),
            revision: self.revision,
        }
    }

    /// Evaluates a txn whose ops are all `Get`s, as the store would.
    pub(super) fn read_txn(&self, txn: &Txn) -> TxnResponse {
        let succeeded = txn.compares.iter().all(|c| {
            let kv = self.kvs.get(&c.key);
            let ord = match &c.target {
                // A missing key never matches a value compare, whatever the operator (etcd).
                CompareTarget::Value(v) => match kv {
                    None => return false,
                    Some(kv) => kv.value.as_slice().cmp(v.as_slice()),
                },
                CompareTarget::ModRevision(r) => kv.map_or(0, |kv| kv.mod_revision).cmp(r),
                CompareTarget::CreateRevision(r) => kv.map_or(0, |kv| kv.create_revision).cmp(r),
                CompareTarget::Version(v) => kv.map_or(0, |kv| kv.version).cmp(v),
            };
            match c.op {
                CompareOp::Equal => ord.is_eq(),
                CompareOp::NotEqual => ord.is_ne(),
                CompareOp::Less => ord.is_lt(),
                CompareOp::Greater => ord.is_gt(),
            }
        });
        let ops = if succeeded {
            &txn.success
        } else {
            &txn.failure
        };
        let responses = ops
            .iter()
            .filter_map(|op| match op {
                TxnOp::Get { key } => Some(TxnOpResponse::Get(self.get(key))),
                _ => None,
            })
            .collect();
        TxnResponse {
            succeeded,
            revision: self.revision,
            responses,
        }
    }
}

/// The replica, shared between the store and its background task.
pub(super) struct Shared {
    pub(super) replica: RwLock<Replica>,
    /// Woken whenever a watch reports its progress.
    pub(super) progressed: tokio::sync::Notify,
}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            replica: RwLock::new(Replica::new()),
            progressed: tokio::sync::Notify::new(),
        }
    }
    pub(super) fn read(&self) -> RwLockReadGuard<'_, Replica> {
        self.replica.read().unwrap_or_else(|e| e.into_inner())
    }
    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Replica> {
        self.replica.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why one attempt to follow the store stopped.
enum Stopped {
    /// The load or the watch failed or ended; `followed` says whether the watch had started.
    Failed { followed: bool, reason: String },
    /// The store holds more keys than the replica may.
    TooManyKeys,
}

/// The background task: loads the replica and follows the store, again after every failure,
/// until `stop` is cancelled or the store turns out too large.
pub(super) async fn keep_replica(
    inner: Arc<dyn Store>,
    shared: Arc<Shared>,
    opts: CacheOptions,
    stop: CancellationToken,
) {
    let mut backoff = opts.resync_backoff_min;
    // Whether the current run of failures has been logged at warn level already.
    let mut warned = false;
    loop {
        let stopped = tokio::select! {
            _ = stop.cancelled() => return,
            stopped = follow(&inner, &shared, &opts) => stopped,
        };
        match stopped {
            Stopped::TooManyKeys => {
                shared.write().give_up();
                tracing::error!(
                    max_keys = opts.max_keys,
                    "the store holds more keys than the local cache may ({}); the cache is \
                     disabled, and reads fail while the store has no quorum",
                    opts.max_keys
                );
                return;
            }
            Stopped::Failed { followed, reason } => {
                {
                    let mut replica = shared.write();
                    if replica.phase == Phase::Following {
                        replica.phase = Phase::Behind;
                        replica.as_of = SystemTime::now();
                    }
                }
                if followed {
                    backoff = opts.resync_backoff_min;
                    warned = false;
                }
                if warned {
                    tracing::debug!(%reason, retry_in = ?backoff, "store cache: still cannot follow the store");
                } else {
                    tracing::warn!(%reason, retry_in = ?backoff, "store cache: lost the store; reloading");
                    warned = true;
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = backoff.saturating_mul(2).min(opts.resync_backoff_max);
    }
}

/// What the replica's watches send it: the index of the watch's prefix in the scope, and its
/// item.
type Merged = (usize, crate::StoreResult<WatchItem>);

/// One attempt: loads every key of the scope, then applies the watches' events until one
/// fails or ends.
async fn follow(inner: &Arc<dyn Store>, shared: &Shared, opts: &CacheOptions) -> Stopped {
    let bound = opts.read_timeout;
    let failed = |reason: String| Stopped::Failed {
        followed: false,
        reason,
    };
    let timed_out = || failed(format!("no answer within {}", human(bound)));
    // The whole key space, or each prefix of the scope: loaded, then watched from the
    // revision after its load (each prefix at its own).
    let scope: Vec<&str> = if opts.scope.is_empty() {
        vec![""]
    } else {
        opts.scope.iter().map(String::as_str).collect()
    };
    let mut loaded = RangeResponse {
        kvs: vec![],
        more: false,
        revision: 0,
    };
    let mut starts = vec![];
    let mut applied = vec![];
    for prefix in &scope {
        let left = opts.max_keys.saturating_sub(loaded.kvs.len());
        let resp =
            match tokio::time::timeout(bound, inner.range(prefix, left.saturating_add(1))).await {
                Ok(Ok(resp)) => resp,
                Ok(Err(e)) => return failed(e.to_string()),
                Err(_) => return timed_out(),
            };
        if resp.more || resp.kvs.len() > left {
            return Stopped::TooManyKeys;
        }
        starts.push((*prefix, resp.revision + 1));
        applied.push(resp.revision);
        loaded.revision = loaded.revision.max(resp.revision);
        loaded.kvs.extend(resp.kvs);
    }
    let revision = loaded.revision;
    let keys = loaded.kvs.len();
    shared.write().load(loaded, applied);
    // One stream of the events of every prefix (a forwarding task each, ended with this
    // attempt); a watch that fails or ends ends the stream.
    let (tx, mut events) = tokio::sync::mpsc::channel::<Merged>(crate::WATCH_QUEUE_MAX);
    let forwarders = CancellationToken::new();
    let _end_forwarders = forwarders.clone().drop_guard();
    // The watches are opened side by side (each a round trip to the store), so that the
    // replica follows as soon after its load as it can: a task each opens its watch, says
    // whether it could, then forwards its events.
    let mut opened = vec![];
    for (index, (prefix, start)) in starts.into_iter().enumerate() {
        let (said, open) = tokio::sync::oneshot::channel::<Result<Option<ProgressAsker>, String>>();
        opened.push(open);
        let (inner, tx, stop, tap) = (
            inner.clone(),
            tx.clone(),
            forwarders.clone(),
            opts.tap.clone(),
        );
        let prefix = prefix.to_owned();
        tokio::spawn(async move {
            let mut watch =
                match tokio::time::timeout(bound, inner.watch(&prefix, Some(start))).await {
                    Ok(Ok(w)) => match tap {
                        Some(tap) => w.tapped(tap),
                        None => w,
                    },
                    Ok(Err(e)) => {
                        let _ = said.send(Err(e.to_string()));
                        return;
                    }
                    Err(_) => {
                        let _ = said.send(Err(format!("no answer within {}", human(bound))));
                        return;
                    }
                };
            let _ = said.send(Ok(watch.progress_asker()));
            loop {
                let item = tokio::select! {
                    _ = stop.cancelled() => return,
                    item = watch.next_item() => item,
                };
                let end = !matches!(item, Some(Ok(_)));
                let item = item.unwrap_or_else(|| {
                    Err(crate::StoreError::Unavailable {
                        reason: "the watch ended".into(),
                    })
                });
                if tx.send((index, item)).await.is_err() || end {
                    return;
                }
            }
        });
    }
    let mut askers = vec![];
    for open in opened {
        match open.await {
            Ok(Ok(asker)) => askers.extend(asker),
            Ok(Err(reason)) => return failed(reason),
            Err(_) => return failed("a watch task ended".into()),
        }
    }
    drop(tx);
    {
        let mut replica = shared.write();
        replica.phase = Phase::Following;
        replica.askers = askers;
    }
    tracing::info!(revision, keys, scope = ?opts.scope, "store cache: loaded; following the store");
    loop {
        match events.recv().await {
            Some((_, Ok(WatchItem::Event(ev)))) => {
                if shared.write().apply(ev, opts.max_keys).is_err() {
                    return Stopped::TooManyKeys;
                }
            }
            Some((index, Ok(WatchItem::Progress(rev)))) => {
                if let Some(applied) = shared.write().applied.get_mut(index) {
                    *applied = (*applied).max(rev);
                }
                shared.progressed.notify_waiters();
            }
            Some((_, Err(e))) => {
                return Stopped::Failed {
                    followed: true,
                    reason: format!("watch failed: {e}"),
                };
            }
            None => {
                return Stopped::Failed {
                    followed: true,
                    reason: "the watch ended".into(),
                };
            }
        }
    }
}
