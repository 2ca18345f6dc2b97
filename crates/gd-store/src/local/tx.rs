//! One write transaction with its tables open: puts, deletes and compare-and-swap txns, and
//! the effects (events, lease deadlines) that are applied to memory once it commits.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use redb::{MultimapTable, ReadableTable, Table, WriteTransaction};

use super::db::{KV, KvRow, LEASE_KEYS, LEASES};
use super::{dberr, kv_from_row, unix_ms};
use crate::{
    Compare, CompareOp, CompareTarget, EventKind, KeyValue, LeaseId, Revision, StoreError,
    StoreResult, Txn, TxnOp, TxnOpResponse, WatchEvent,
};

/// What a write did besides changing tables, applied to memory after the commit.
#[derive(Default)]
pub(super) struct Effects {
    pub(super) events: Vec<WatchEvent>,
    /// New monotonic deadline of a lease, or `None` when the lease is gone.
    pub(super) deadlines: Vec<(LeaseId, Option<Instant>)>,
    pub(super) next_lease: Option<LeaseId>,
    /// Something was written that does not bump the revision (lease grant, keep-alive...).
    pub(super) dirty: bool,
}

/// One write transaction with its tables open.
pub(super) struct Tx<'a> {
    pub(super) kv: Table<'a, &'static str, KvRow>,
    pub(super) leases: Table<'a, i64, (i64, i64)>,
    pub(super) lease_keys: MultimapTable<'a, i64, &'static str>,
    /// The revision this transaction's changes get if it makes any.
    pub(super) rev: Revision,
    pub(super) next_lease: LeaseId,
    pub(super) now: Instant,
    pub(super) now_ms: i64,
    pub(super) deadlines: &'a Mutex<HashMap<LeaseId, Instant>>,
    pub(super) fx: Effects,
}

impl<'a> Tx<'a> {
    pub(super) fn open(
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

    pub(super) fn put(
        &mut self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> StoreResult<()> {
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
    pub(super) fn remove(&mut self, key: &str, unbind: bool) -> StoreResult<u64> {
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

    pub(super) fn delete_prefix(&mut self, prefix: &str) -> StoreResult<u64> {
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

    pub(super) fn txn(&mut self, txn: Txn) -> StoreResult<(bool, Vec<TxnOpResponse>)> {
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
}
