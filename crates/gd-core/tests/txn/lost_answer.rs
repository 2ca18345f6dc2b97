//! A coordinator whose store applied the transaction's first write but never answered (a
//! timeout during an election): the transaction must not hold its objects until the cleanup
//! leader's stall bound; its initiator ends it as soon as the store answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use gd_store::{
    KeyValue, LeaseId, RangeResponse, Revision, StoreError, StoreResult, Txn, TxnOp, TxnResponse,
    Watch,
};

use super::*;

/// A store that applies the first transaction writing a `txn/<id>/spec` and then answers it
/// with a timeout, as etcd may when its leader changes under a request.
struct LostAnswer {
    inner: Arc<dyn Store>,
    lost: AtomicBool,
}

#[async_trait]
impl Store for LostAnswer {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        self.inner.get(key).await
    }
    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        self.inner.range(prefix, limit).await
    }
    async fn range_after(&self, p: &str, after: &str, limit: usize) -> StoreResult<RangeResponse> {
        self.inner.range_after(p, after, limit).await
    }
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.inner.put(key, value, lease).await
    }
    async fn delete(&self, key: &str) -> StoreResult<u64> {
        self.inner.delete(key).await
    }
    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.inner.delete_prefix(prefix).await
    }
    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse> {
        let records = txn
            .success
            .iter()
            .any(|op| matches!(op, TxnOp::Put { key, .. } if key.ends_with("/spec")));
        let out = self.inner.txn(txn).await;
        if records && !self.lost.swap(true, Ordering::SeqCst) {
            return Err(StoreError::Timeout { timeout_ms: 2000 });
        }
        out
    }
    async fn watch(&self, prefix: &str, start: Option<Revision>) -> StoreResult<Watch> {
        self.inner.watch(prefix, start).await
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

#[tokio::test]
async fn a_transaction_recorded_without_an_answer_is_ended_by_its_initiator_at_once() {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let lossy: Arc<dyn Store> = Arc::new(LostAnswer {
        inner: store.clone(),
        lost: AtomicBool::new(false),
    });
    let a = node(&lossy, "A", &log, true).await;
    let b = node(&store, "B", &log, true).await;
    let c = node(&store, "C", &log, true).await;
    let lease = store.lease_grant(30).await.unwrap();
    let txn = || Transaction {
        operation: "volume set v1".into(),
        locks: vec!["v1".into()],
        steps: steps(a.id, b.id, c.id, ""),
        ..Default::default()
    };
    let err = a.engine.execute(txn(), lease).await.unwrap_err();
    assert!(matches!(err, TxnError::Store(_)), "{err}");
    // Recorded all the same, with its lock: ended and freed within seconds, not minutes.
    let t = Instant::now();
    loop {
        let left = store.range("txn/", 0).await.unwrap().kvs;
        let busy = store.get("locks/v1").await.unwrap();
        if left.iter().all(|kv| !kv.key.ends_with("/spec")) && busy.is_none() {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "still recorded: {:?}, lock {busy:?}",
            left.iter().map(|kv| &kv.key).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The next operation on the object goes through.
    a.engine.execute(txn(), lease).await.unwrap();
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}
