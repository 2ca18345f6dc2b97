//! Leases: grant, keep-alive and revoke inside a write transaction, and their expiry, both
//! the background task that revokes overdue leases and the check that an overdue lease is
//! already dead.

use std::sync::Weak;
use std::time::{Duration, Instant};

use redb::ReadableTable;
use tokio_util::sync::CancellationToken;

use super::tx::Tx;
use super::{Inner, dberr, instant_after, lock};
use crate::{LeaseId, StoreError, StoreResult};

impl Inner {
    /// Revokes every lease whose deadline has passed, each in its own revision.
    pub(super) fn expire_due(&self) -> StoreResult<usize> {
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

impl Tx<'_> {
    /// A lease is alive while it is stored and its deadline has not passed; an overdue lease
    /// is already dead even if the expiry task has not revoked it yet.
    pub(super) fn lease_alive(&self, id: LeaseId) -> StoreResult<bool> {
        if self.leases.get(id).map_err(dberr("read lease"))?.is_none() {
            return Ok(false);
        }
        Ok(lock(self.deadlines).get(&id).is_none_or(|d| *d > self.now))
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

    pub(super) fn lease_grant(&mut self, ttl_s: i64) -> StoreResult<LeaseId> {
        let id = self.next_lease;
        if id <= 0 || id == i64::MAX {
            return Err(StoreError::Local("lease ids exhausted".to_owned()));
        }
        self.fx.next_lease = Some(id + 1);
        self.set_deadline(id, ttl_s)?;
        Ok(id)
    }

    pub(super) fn lease_keep_alive(&mut self, id: LeaseId) -> StoreResult<i64> {
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

    pub(super) fn lease_revoke(&mut self, id: LeaseId) -> StoreResult<()> {
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

/// Revokes expired leases until the store is dropped.
pub(super) async fn expiry_loop(inner: Weak<Inner>, stop: CancellationToken, every: Duration) {
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
