//! Request checks shared by every backend.
//!
//! etcd refuses some requests (an empty key, a txn that writes one key twice, too many ops);
//! the local store must refuse exactly the same ones, or code tested on one backend would break
//! on the other. Checking before the request leaves also gives both backends the same clear
//! message instead of etcd's terse gRPC text.

use std::collections::HashSet;

use crate::{StoreError, StoreResult, Txn, TxnOp};

/// The most compares or ops one txn branch may hold (etcd's default `--max-txn-ops`).
pub const MAX_TXN_OPS: usize = 128;

/// The largest lease TTL etcd grants, in seconds.
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// The most key and value bytes one request may carry (etcd's default request limit, 1.5 MiB).
pub const MAX_REQUEST_BYTES: usize = 1536 * 1024;

fn invalid(reason: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        reason: reason.into(),
    }
}

/// A key must be non-empty.
pub(crate) fn key(key: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(invalid("empty key"));
    }
    Ok(())
}

/// A put's key and value must fit in one request.
pub(crate) fn put(k: &str, value: &[u8]) -> StoreResult<()> {
    key(k)?;
    if k.len() + value.len() > MAX_REQUEST_BYTES {
        return Err(invalid(format!(
            "put of {k:?}: {} bytes exceed the request limit of {MAX_REQUEST_BYTES} bytes",
            k.len() + value.len()
        )));
    }
    Ok(())
}

/// A lease TTL must be positive and at most [`MAX_LEASE_TTL`].
pub(crate) fn ttl(ttl_s: i64) -> StoreResult<()> {
    if ttl_s <= 0 || ttl_s > MAX_LEASE_TTL {
        return Err(invalid(format!(
            "lease TTL {ttl_s} s is out of range (1..={MAX_LEASE_TTL} s)"
        )));
    }
    Ok(())
}

/// A watch start revision, when given, must be positive.
pub(crate) fn start_revision(start: Option<i64>) -> StoreResult<()> {
    match start {
        Some(rev) if rev <= 0 => Err(invalid(format!(
            "watch start revision {rev} must be positive (or None for now)"
        ))),
        _ => Ok(()),
    }
}

/// The rules etcd applies to a txn: non-empty keys, at most [`MAX_TXN_OPS`] compares and ops
/// per branch, within a branch no key put twice and no put inside a deleted range, and the
/// request within [`MAX_REQUEST_BYTES`].
pub(crate) fn txn(txn: &Txn) -> StoreResult<()> {
    for (what, n) in [
        ("compares", txn.compares.len()),
        ("success ops", txn.success.len()),
        ("failure ops", txn.failure.len()),
    ] {
        if n > MAX_TXN_OPS {
            return Err(invalid(format!(
                "txn has {n} {what}; at most {MAX_TXN_OPS} are allowed"
            )));
        }
    }
    for c in &txn.compares {
        key(&c.key)?;
    }
    let mut bytes = 0usize;
    for branch in [&txn.success, &txn.failure] {
        let mut puts = HashSet::new();
        let mut deleted_keys = Vec::new();
        let mut deleted_prefixes = Vec::new();
        for op in branch {
            match op {
                TxnOp::Put { key: k, value, .. } => {
                    key(k)?;
                    bytes = bytes.saturating_add(k.len() + value.len());
                    if !puts.insert(k.as_str()) {
                        return Err(invalid(format!("txn puts key {k:?} twice in one branch")));
                    }
                }
                TxnOp::Delete { key: k } => {
                    key(k)?;
                    deleted_keys.push(k.as_str());
                }
                TxnOp::DeletePrefix { prefix } => deleted_prefixes.push(prefix.as_str()),
                TxnOp::Get { key: k } => key(k)?,
            }
        }
        for k in &puts {
            if deleted_keys.contains(k) || deleted_prefixes.iter().any(|p| k.starts_with(p)) {
                return Err(invalid(format!(
                    "txn both puts and deletes key {k:?} in one branch"
                )));
            }
        }
    }
    if bytes > MAX_REQUEST_BYTES {
        return Err(invalid(format!(
            "txn carries {bytes} bytes, more than the request limit of {MAX_REQUEST_BYTES} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Compare;

    #[test]
    fn refuses_what_etcd_refuses() {
        assert!(key("").is_err());
        assert!(ttl(0).is_err() && ttl(-1).is_err() && ttl(MAX_LEASE_TTL + 1).is_err());
        assert!(ttl(1).is_ok());
        assert!(start_revision(Some(0)).is_err());
        assert!(start_revision(None).is_ok() && start_revision(Some(1)).is_ok());
        assert!(put("k", &vec![0; MAX_REQUEST_BYTES]).is_err());

        let dup = Txn::new().and_then([TxnOp::put("a", "1"), TxnOp::put("a", "2")]);
        assert!(txn(&dup).is_err());
        let overlap = Txn::new().or_else([TxnOp::delete_prefix("a/"), TxnOp::put("a/b", "1")]);
        assert!(txn(&overlap).is_err());
        let too_many = Txn::new().and_then((0..=MAX_TXN_OPS).map(|i| TxnOp::get(format!("k{i}"))));
        assert!(txn(&too_many).is_err());
        let empty_compare = Txn::new().when([Compare::absent("")]);
        assert!(txn(&empty_compare).is_err());

        // The same key in different branches, and deletes that overlap, are fine.
        let ok = Txn::new()
            .when([Compare::absent("a")])
            .and_then([
                TxnOp::put("a", "1"),
                TxnOp::delete("b"),
                TxnOp::delete_prefix("b"),
            ])
            .or_else([TxnOp::put("a", "2"), TxnOp::get("a")]);
        assert!(txn(&ok).is_ok());
    }
}
