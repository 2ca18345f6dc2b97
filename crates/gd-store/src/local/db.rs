//! The redb file and the one writer: the tables, opening (and upgrading or refusing) a file,
//! reads, and the commit that turns a write transaction's changes into one revision.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, Table, TableDefinition,
};
use tokio::sync::watch;

use super::tx::Tx;
use super::watch::History;
use super::{Backend, Inner, Writer, dberr, instant_after, kv_from_row, lock, unix_ms};
use crate::{KeyValue, RangeResponse, Revision, StoreError, StoreResult};

/// A key's row: create revision, mod revision, version, lease (0 = none), value.
pub(super) type KvRow = (i64, i64, i64, i64, &'static [u8]);

pub(super) const KV: TableDefinition<&str, KvRow> = TableDefinition::new("kv");
pub(super) const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
/// Lease id → (TTL in seconds, deadline in unix milliseconds).
pub(super) const LEASES: TableDefinition<i64, (i64, i64)> = TableDefinition::new("leases");
pub(super) const LEASE_KEYS: MultimapTableDefinition<i64, &str> =
    MultimapTableDefinition::new("lease_keys");

pub(super) const META_FORMAT: &str = "format";
const META_REVISION: &str = "revision";
const META_NEXT_LEASE: &str = "next_lease";
/// The on-disk format this build writes; a file with a higher one is refused.
pub(super) const FORMAT_VERSION: i64 = 1;
/// How long `open` waits for a previous handle on the same file to finish closing.
const REOPEN_WAIT: Duration = Duration::from_secs(2);

impl Inner {
    pub(super) fn open(
        backend: Backend,
        (max_events, max_bytes): (usize, usize),
    ) -> StoreResult<Inner> {
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

    pub(super) fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        let txn = self.db.begin_read().map_err(dberr("begin read"))?;
        let kv = txn.open_table(KV).map_err(dberr("open kv table"))?;
        Ok(kv
            .get(key)
            .map_err(dberr("read key"))?
            .map(|g| kv_from_row(key, g.value())))
    }

    /// Keys under `prefix`, after `prefix` + `after` when given (see `Store::range_after`).
    pub(super) fn range(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
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
        let start = after.map(|a| format!("{prefix}{a}"));
        let bounds = match &start {
            Some(s) => (
                std::ops::Bound::Excluded(s.as_str()),
                std::ops::Bound::Unbounded,
            ),
            None => (
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ),
        };
        for row in kv.range::<&str>(bounds).map_err(dberr("read range"))? {
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
    pub(super) fn write<T>(
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
