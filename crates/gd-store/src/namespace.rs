//! Confines a store to one key prefix.
//!
//! Every glusterd2 key lives under `gluster-<cluster-id>/`, so several clusters can share one
//! external etcd and a node that leaves a cluster starts from an empty namespace. Callers use
//! relative keys; this wrapper adds the prefix on the way in and strips it on the way out
//! (keys, compares, txn ops, watch events).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    Compare, KeyValue, LeaseId, RangeResponse, Revision, Store, StoreResult, Txn, TxnOp,
    TxnOpResponse, TxnResponse, WATCH_QUEUE_MAX, Watch, WatchItem,
};

/// The namespace of one cluster's keys.
pub fn cluster_namespace(cluster_id: &str) -> String {
    format!("gluster-{cluster_id}/")
}

/// A [`Store`] whose keys are all under one prefix.
#[derive(Clone)]
pub struct Namespaced {
    inner: Arc<dyn Store>,
    prefix: String,
}

impl Namespaced {
    pub fn new(inner: Arc<dyn Store>, prefix: impl Into<String>) -> Self {
        Self {
            inner,
            prefix: prefix.into(),
        }
    }

    /// The prefix every key is stored under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The store underneath, without the prefix.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn strip(&self, mut kv: KeyValue) -> KeyValue {
        kv.key = kv
            .key
            .strip_prefix(&self.prefix)
            .unwrap_or(&kv.key)
            .to_owned();
        kv
    }

    fn op(&self, op: TxnOp) -> TxnOp {
        match op {
            TxnOp::Put { key, value, lease } => TxnOp::Put {
                key: self.full(&key),
                value,
                lease,
            },
            TxnOp::Delete { key } => TxnOp::Delete {
                key: self.full(&key),
            },
            TxnOp::DeletePrefix { prefix } => TxnOp::DeletePrefix {
                prefix: self.full(&prefix),
            },
            TxnOp::Get { key } => TxnOp::Get {
                key: self.full(&key),
            },
        }
    }
}

#[async_trait]
impl Store for Namespaced {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        Ok(self
            .inner
            .get(&self.full(key))
            .await?
            .map(|kv| self.strip(kv)))
    }

    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        let mut resp = self.inner.range(&self.full(prefix), limit).await?;
        resp.kvs = resp.kvs.into_iter().map(|kv| self.strip(kv)).collect();
        Ok(resp)
    }

    async fn range_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
        let mut resp = self
            .inner
            .range_after(&self.full(prefix), after, limit)
            .await?;
        resp.kvs = resp.kvs.into_iter().map(|kv| self.strip(kv)).collect();
        Ok(resp)
    }

    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.inner.put(&self.full(key), value, lease).await
    }

    async fn delete(&self, key: &str) -> StoreResult<u64> {
        self.inner.delete(&self.full(key)).await
    }

    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.inner.delete_prefix(&self.full(prefix)).await
    }

    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse> {
        let txn = Txn {
            compares: txn
                .compares
                .into_iter()
                .map(|c| Compare {
                    key: self.full(&c.key),
                    ..c
                })
                .collect(),
            success: txn.success.into_iter().map(|op| self.op(op)).collect(),
            failure: txn.failure.into_iter().map(|op| self.op(op)).collect(),
        };
        let mut resp = self.inner.txn(txn).await?;
        for r in &mut resp.responses {
            if let TxnOpResponse::Get(Some(kv)) = r {
                *kv = self.strip(kv.clone());
            }
        }
        Ok(resp)
    }

    async fn watch(&self, prefix: &str, start_revision: Option<Revision>) -> StoreResult<Watch> {
        let mut inner = self.inner.watch(&self.full(prefix), start_revision).await?;
        let (tx, rx) = mpsc::channel(WATCH_QUEUE_MAX);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let ns = self.prefix.clone();
        // The inner watch's progress reports pass through; a producer that cannot report
        // gets asks that go nowhere.
        let asker = inner.progress_asker().unwrap_or_default();
        tokio::spawn(async move {
            loop {
                let item = tokio::select! {
                    _ = stop.cancelled() => return,
                    item = inner.next_item() => item,
                };
                let Some(item) = item else { return };
                let item = item.map(|item| match item {
                    WatchItem::Event(mut ev) => {
                        ev.key = ev.key.strip_prefix(&ns).unwrap_or(&ev.key).to_owned();
                        WatchItem::Event(ev)
                    }
                    progress => progress,
                });
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        });
        Ok(Watch::with_progress(rx, asker, cancel))
    }

    async fn lease_grant(&self, ttl_s: i64) -> StoreResult<LeaseId> {
        self.inner.lease_grant(ttl_s).await
    }

    async fn lease_keep_alive(&self, lease: LeaseId) -> StoreResult<i64> {
        self.inner.lease_keep_alive(lease).await
    }

    async fn lease_revoke(&self, lease: LeaseId) -> StoreResult<()> {
        self.inner.lease_revoke(lease).await
    }

    async fn revision(&self) -> StoreResult<Revision> {
        self.inner.revision().await
    }
}
