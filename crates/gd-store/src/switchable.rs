//! A store whose backend can be replaced while the daemon runs.
//!
//! A node changes stores when it joins a cluster (it drops its own single-node store for the
//! cluster's) and when it leaves one. Everything in the daemon holds the one
//! [`Switchable`]; a switch is one pointer swap. Calls in flight finish on the old backend;
//! watches opened on the old backend end when it is dropped, and their owners open new ones.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use async_trait::async_trait;

use crate::{
    KeyValue, LeaseId, RangeResponse, Revision, Store, StoreResult, Txn, TxnResponse, Watch,
};

/// Told of every request a [`Switchable`] forwards: its kind, how long it took, whether it
/// succeeded (a node's metrics).
pub trait StoreObserver: Send + Sync {
    fn observe(&self, request: &'static str, took: Duration, ok: bool);
    /// An event (a change of `key`) delivered to one of the node's watches.
    fn watch_event(&self, key: &str) {
        let _ = key;
    }
}

/// A [`Store`] that forwards every call to its current backend.
pub struct Switchable {
    current: RwLock<Arc<dyn Store>>,
    observer: Option<Arc<dyn StoreObserver>>,
}

impl Switchable {
    pub fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(inner),
            observer: None,
        })
    }

    /// A switchable store whose requests `observer` is told of.
    pub fn observed(inner: Arc<dyn Store>, observer: Arc<dyn StoreObserver>) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(inner),
            observer: Some(observer),
        })
    }

    /// Runs `call` on the current backend, telling the observer.
    async fn timed<T>(
        &self,
        request: &'static str,
        call: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let Some(observer) = &self.observer else {
            return call.await;
        };
        let started = Instant::now();
        let out = call.await;
        observer.observe(request, started.elapsed(), out.is_ok());
        out
    }

    /// The backend calls go to now.
    pub fn current(&self) -> Arc<dyn Store> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes `next` the backend and returns the previous one.
    pub fn switch(&self, next: Arc<dyn Store>) -> Arc<dyn Store> {
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *cur, next)
    }
}

#[async_trait]
impl Store for Switchable {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        self.timed("get", self.current().get(key)).await
    }
    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        self.timed("range", self.current().range(prefix, limit))
            .await
    }
    async fn range_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
        self.timed("range", self.current().range_after(prefix, after, limit))
            .await
    }
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.timed("put", self.current().put(key, value, lease))
            .await
    }
    async fn delete(&self, key: &str) -> StoreResult<u64> {
        self.timed("delete", self.current().delete(key)).await
    }
    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.timed("delete-prefix", self.current().delete_prefix(prefix))
            .await
    }
    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse> {
        self.timed("txn", self.current().txn(txn)).await
    }
    async fn watch(&self, prefix: &str, start_revision: Option<Revision>) -> StoreResult<Watch> {
        let watch = self
            .timed("watch", self.current().watch(prefix, start_revision))
            .await?;
        Ok(match &self.observer {
            Some(o) => {
                let o = o.clone();
                watch.tapped(crate::WatchTap(Arc::new(move |ev| o.watch_event(&ev.key))))
            }
            None => watch,
        })
    }
    async fn lease_grant(&self, ttl_s: i64) -> StoreResult<LeaseId> {
        self.timed("lease-grant", self.current().lease_grant(ttl_s))
            .await
    }
    async fn lease_keep_alive(&self, lease: LeaseId) -> StoreResult<i64> {
        self.timed("lease-keep-alive", self.current().lease_keep_alive(lease))
            .await
    }
    async fn lease_revoke(&self, lease: LeaseId) -> StoreResult<()> {
        self.timed("lease-revoke", self.current().lease_revoke(lease))
            .await
    }
    async fn revision(&self) -> StoreResult<Revision> {
        self.timed("revision", self.current().revision()).await
    }
    fn replica_synced(&self) -> Option<bool> {
        self.current().replica_synced()
    }

    async fn replica_applied(
        &self,
        revision: Revision,
        wait: std::time::Duration,
    ) -> Option<Revision> {
        self.current().replica_applied(revision, wait).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalStore;

    #[tokio::test]
    async fn calls_follow_the_switch() {
        let a = LocalStore::open_in_memory().await.unwrap();
        let b = LocalStore::open_in_memory().await.unwrap();
        let s = Switchable::new(a.clone());
        s.put("k", b"a".to_vec(), None).await.unwrap();
        s.switch(b.clone());
        assert!(s.get("k").await.unwrap().is_none());
        s.put("k", b"b".to_vec(), None).await.unwrap();
        assert_eq!(a.get("k").await.unwrap().unwrap().value, b"a");
        assert_eq!(b.get("k").await.unwrap().unwrap().value, b"b");
    }
}
