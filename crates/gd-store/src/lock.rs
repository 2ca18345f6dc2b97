//! Per-object locks, built on the store's transactions and leases.
//!
//! DESIGN §3.5: locks are per object (a volume name, a peer), bound to a lease, never global;
//! a busy object answers at once with a clear "operation in progress" error naming the
//! operation. So a lock is one key, `locks/<name>`, created only if absent, whose value
//! describes the holder ("volume start by node X") and which is bound to the holder's lease:
//! when the holder dies its lease expires and the lock goes with it. [`try_lock`] answers at
//! once with the current holder ([`Held`]); [`lock`] waits, bounded, watching the key for
//! its deletion rather than polling.
//!
//! Keys are relative: give these functions a [`crate::Namespaced`] store so locks live in the
//! cluster's namespace. A [`LockGuard`] unlocks only if the key is still the one it created
//! (compared by create revision), so a holder whose lease expired cannot remove a lock
//! someone else took since. Writes that must happen only while the lock is held can add
//! [`LockGuard::held_compare`] to their txn.

use std::sync::Arc;
use std::time::Duration;

use crate::{
    Compare, CompareOp, EventKind, LeaseId, Revision, Store, StoreError, StoreResult, Txn, TxnOp,
    TxnOpResponse,
};

/// The key prefix of every lock.
pub const LOCK_PREFIX: &str = "locks/";

/// Back-off between attempts when the lock's watch fails, so a broken watch cannot spin.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// The key of the lock named `name`.
pub fn lock_key(name: &str) -> String {
    format!("{LOCK_PREFIX}{name}")
}

/// The lock is taken: the object is busy with another operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} is busy: {holder} is in progress")]
pub struct Held {
    /// The lock's name (the object).
    pub name: String,
    /// The holder's own description of what it is doing.
    pub holder: String,
}

/// A held lock. Release it with [`LockGuard::unlock`]; dropping it releases it too, in the
/// background and best-effort (the lease bounds how long a lost release can keep it).
pub struct LockGuard {
    store: Arc<dyn Store>,
    name: String,
    key: String,
    revision: Revision,
    /// The value written: release compares it too, because a create revision alone can
    /// match another lock in another store (a node that switched clusters).
    value: Vec<u8>,
    lease: LeaseId,
    released: bool,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("key", &self.key)
            .field("revision", &self.revision)
            .field("lease", &self.lease)
            .finish()
    }
}

impl LockGuard {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The revision at which the lock was taken (its key's create revision). It only grows
    /// from one holder to the next, so it can serve as a fencing token.
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// The lease the lock is bound to.
    pub fn lease(&self) -> LeaseId {
        self.lease
    }

    /// A compare that holds only while this lock is still held by this guard: add it to a
    /// txn to make a write conditional on holding the lock.
    pub fn held_compare(&self) -> Compare {
        Compare::create_revision(self.key.clone(), CompareOp::Equal, self.revision)
    }

    /// Whether the lock is still held by this guard (its key exists, created by this guard,
    /// with this guard's value and lease).
    pub async fn still_held(&self) -> StoreResult<bool> {
        Ok(self.store.get(&self.key).await?.is_some_and(|kv| {
            kv.create_revision == self.revision
                && kv.value == self.value
                && kv.lease == Some(self.lease)
        }))
    }

    /// Releases the lock. Returns false when it was no longer ours (its lease ended and
    /// perhaps someone else took it): nothing was deleted then.
    pub async fn unlock(mut self) -> StoreResult<bool> {
        self.released = true;
        release(&*self.store, &self.key, self.revision, &self.value).await
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (store, key, revision, value) = (
            self.store.clone(),
            self.key.clone(),
            self.revision,
            self.value.clone(),
        );
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = release(&*store, &key, revision, &value).await {
                        tracing::warn!(lock = %key, error = %e, "releasing a dropped lock failed; its lease will release it");
                    }
                });
            }
            Err(_) => tracing::warn!(
                lock = %self.key,
                "lock dropped outside a runtime; its lease will release it"
            ),
        }
    }
}

/// Releases the lock `name` if `holder` holds it (whatever its lease): how the process that
/// ends an abandoned operation frees the objects its dead owner locked, at once rather than
/// when the dead owner's lease expires. Returns whether it released it.
pub async fn release_held_by(store: &dyn Store, name: &str, holder: &str) -> StoreResult<bool> {
    let (held, delete) = release_in_txn(name, holder);
    let txn = Txn::new().when([held]).and_then([delete]);
    Ok(store.txn(txn).await?.succeeded)
}

/// Lock `name` taken for `holder` (bound to `lease`) in a store transaction that writes more
/// (a cluster transaction recorded with its locks): the compare that it is free, the write
/// that takes it, and the read for the failure branch that [`held_in`] reads the holder from.
/// The holder must name its operation uniquely: [`release_in_txn`] frees it by that name.
pub fn take_in_txn(name: &str, holder: &str, lease: LeaseId) -> (Compare, TxnOp, TxnOp) {
    let key = lock_key(name);
    (
        Compare::absent(key.as_str()),
        TxnOp::put_with_lease(key.as_str(), holder, lease),
        TxnOp::get(key.as_str()),
    )
}

/// Who holds lock `name`, from the read [`take_in_txn`] gave a store transaction that failed;
/// `None` when the lock was free.
pub fn held_in(name: &str, read: &TxnOpResponse) -> Option<Held> {
    match read {
        TxnOpResponse::Get(Some(kv)) => Some(Held {
            name: name.to_owned(),
            holder: String::from_utf8_lossy(&kv.value).into_owned(),
        }),
        _ => None,
    }
}

/// Lock `name` freed in a store transaction that writes more, while `holder` holds it: the
/// compare (the lock's value is `holder`) and the delete.
pub fn release_in_txn(name: &str, holder: &str) -> (Compare, TxnOp) {
    let key = lock_key(name);
    (
        Compare::value(key.as_str(), CompareOp::Equal, holder.as_bytes().to_vec()),
        TxnOp::delete(key.as_str()),
    )
}

async fn release(
    store: &dyn Store,
    key: &str,
    revision: Revision,
    value: &[u8],
) -> StoreResult<bool> {
    let txn = Txn::new()
        .when([
            Compare::create_revision(key, CompareOp::Equal, revision),
            Compare::value(key, CompareOp::Equal, value.to_vec()),
        ])
        .and_then([TxnOp::delete(key)]);
    Ok(store.txn(txn).await?.succeeded)
}

/// One attempt; also returns the store revision it was made at.
async fn attempt(
    store: &Arc<dyn Store>,
    name: &str,
    lease: LeaseId,
    holder: &str,
) -> StoreResult<(Result<LockGuard, Held>, Revision)> {
    if name.is_empty() {
        return Err(StoreError::Invalid {
            reason: "empty lock name".into(),
        });
    }
    let key = lock_key(name);
    let txn = Txn::new()
        .when([Compare::absent(key.as_str())])
        .and_then([TxnOp::put_with_lease(key.as_str(), holder, lease)])
        .or_else([TxnOp::get(key.as_str())]);
    let resp = store.txn(txn).await?;
    if resp.succeeded {
        let guard = LockGuard {
            store: store.clone(),
            name: name.to_owned(),
            key,
            revision: resp.revision,
            value: holder.as_bytes().to_vec(),
            lease,
            released: false,
        };
        return Ok((Ok(guard), resp.revision));
    }
    let holder = match resp.responses.first() {
        Some(TxnOpResponse::Get(Some(kv))) => String::from_utf8_lossy(&kv.value).into_owned(),
        _ => "an unknown operation".to_owned(),
    };
    Ok((
        Err(Held {
            name: name.to_owned(),
            holder,
        }),
        resp.revision,
    ))
}

/// Takes the lock `name` for `holder` (a description such as "volume start by node X"),
/// bound to `lease`, or says at once who holds it.
///
/// `Err` is a store failure (including [`StoreError::LeaseNotFound`] when `lease` is gone);
/// `Ok(Err(Held))` means the object is busy.
pub async fn try_lock(
    store: &Arc<dyn Store>,
    name: &str,
    lease: LeaseId,
    holder: &str,
) -> StoreResult<Result<LockGuard, Held>> {
    Ok(attempt(store, name, lease, holder).await?.0)
}

/// Waits until the lock is free, watching for its release, and takes it; gives up after
/// `timeout` with the last holder seen (`Ok(Err(Held))`), or `Err(Timeout)` if the store
/// itself did not answer in time.
pub async fn lock(
    store: &Arc<dyn Store>,
    name: &str,
    lease: LeaseId,
    holder: &str,
    timeout: Duration,
) -> StoreResult<Result<LockGuard, Held>> {
    let key = lock_key(name);
    let mut last_holder: Option<Held> = None;
    let waiting = async {
        loop {
            let (result, revision) = attempt(store, name, lease, holder).await?;
            match result {
                Ok(guard) => return Ok(Ok(guard)),
                Err(held) => last_holder = Some(held),
            }
            if !released_after(store, &key, revision + 1).await? {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    };
    match tokio::time::timeout(timeout, waiting).await {
        Ok(result) => result,
        Err(_) => match last_holder {
            Some(held) => Ok(Err(held)),
            None => Err(StoreError::Timeout {
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        },
    }
}

/// Waits for `key` to be deleted at or after revision `from`. True when it was; false when
/// the watch ended first (then the caller looks again).
async fn released_after(store: &Arc<dyn Store>, key: &str, from: Revision) -> StoreResult<bool> {
    let mut watch = store.watch(key, Some(from)).await?;
    while let Some(event) = watch.next().await {
        match event {
            // The watch is on a prefix: `locks/a` also sees `locks/ab`.
            Ok(ev) if ev.key == key && ev.kind == EventKind::Delete => return Ok(true),
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(lock = %key, error = %e, "lock watch ended; retrying");
                return Ok(false);
            }
        }
    }
    Ok(false)
}
