//! Between etcd-client's types and the store's.

use super::*;
use crate::WatchEvent;

pub(super) fn header_revision(header: Option<&ec::ResponseHeader>) -> StoreResult<Revision> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| unavailable("etcd answered without a header"))
}

pub(super) fn convert_kv(kv: &ec::KeyValue) -> StoreResult<KeyValue> {
    let key = std::str::from_utf8(kv.key()).map_err(|_| StoreError::Invalid {
        reason: format!(
            "etcd key {:?} is not UTF-8",
            String::from_utf8_lossy(kv.key())
        ),
    })?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
        lease: (kv.lease() != 0).then_some(kv.lease()),
    })
}

pub(super) fn convert_event(ev: &ec::Event) -> Option<StoreResult<WatchEvent>> {
    let kv = ev.kv()?;
    let key = match std::str::from_utf8(kv.key()) {
        Ok(k) => k.to_owned(),
        Err(_) => {
            return Some(Err(StoreError::Invalid {
                reason: format!(
                    "etcd key {:?} is not UTF-8",
                    String::from_utf8_lossy(kv.key())
                ),
            }));
        }
    };
    let (kind, value) = match ev.event_type() {
        ec::EventType::Put => (EventKind::Put, kv.value().to_vec()),
        ec::EventType::Delete => (EventKind::Delete, Vec::new()),
    };
    Some(Ok(WatchEvent {
        kind,
        key,
        value,
        revision: kv.mod_revision(),
    }))
}

pub(super) fn compare(c: Compare) -> ec::Compare {
    let op = match c.op {
        CompareOp::Equal => ec::CompareOp::Equal,
        CompareOp::NotEqual => ec::CompareOp::NotEqual,
        CompareOp::Less => ec::CompareOp::Less,
        CompareOp::Greater => ec::CompareOp::Greater,
    };
    match c.target {
        CompareTarget::Value(v) => ec::Compare::value(c.key, op, v),
        CompareTarget::ModRevision(r) => ec::Compare::mod_revision(c.key, op, r),
        CompareTarget::CreateRevision(r) => ec::Compare::create_revision(c.key, op, r),
        CompareTarget::Version(v) => ec::Compare::version(c.key, op, v),
    }
}

pub(super) fn txn_op(op: TxnOp) -> ec::TxnOp {
    match op {
        TxnOp::Put { key, value, lease } => ec::TxnOp::put(
            key,
            value,
            lease.map(|l| ec::PutOptions::new().with_lease(l)),
        ),
        TxnOp::Delete { key } => ec::TxnOp::delete(key, None),
        TxnOp::DeletePrefix { prefix } => {
            ec::TxnOp::delete(prefix, Some(ec::DeleteOptions::new().with_prefix()))
        }
        TxnOp::Get { key } => ec::TxnOp::get(key, None),
    }
}

/// The end (excluded) of the keys that start with `prefix`, as etcd's `range_end` wants it:
/// the prefix with its last byte below 0xff incremented and what follows dropped; `\0` (every
/// key) for an empty prefix or one of only 0xff bytes.
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
