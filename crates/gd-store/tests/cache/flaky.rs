//! `Flaky`: a `LocalStore` that can be switched to fail every call (`Mode::Unavailable`) or
//! to hang every call (`Mode::Hang`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use gd_store::{
    KeyValue, LeaseId, LocalStore, RangeResponse, Revision, Store, StoreError, StoreResult, Txn,
    TxnResponse, WATCH_QUEUE_MAX, Watch,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// A store that can go down

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// Every call fails at once with `Unavailable`; open watches end with that error.
    Unavailable,
    /// Every call waits forever; open watches go silent, and fail when the store is up again
    /// (as a dead connection is noticed).
    Hang,
}

pub struct Flaky {
    pub local: Arc<LocalStore>,
    mode: watch::Sender<Mode>,
    pub open_watches: Arc<AtomicUsize>,
}

fn down() -> StoreError {
    StoreError::Unavailable {
        reason: "fake: no leader".into(),
    }
}

/// Decrements the open-watch count when a watch's forwarding task ends.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Flaky {
    pub async fn new() -> Arc<Flaky> {
        Arc::new(Flaky {
            local: LocalStore::open_in_memory()
                .await
                .expect("open an in-memory store"),
            mode: watch::Sender::new(Mode::Up),
            open_watches: Arc::new(AtomicUsize::new(0)),
        })
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    async fn gate(&self) -> StoreResult<()> {
        let mode = *self.mode.borrow();
        match mode {
            Mode::Up => Ok(()),
            Mode::Unavailable => Err(down()),
            Mode::Hang => std::future::pending().await,
        }
    }
}

/// Forwards `inner` to `tx` while the fake store is up.
async fn forward(
    mut inner: Watch,
    mut mode: watch::Receiver<Mode>,
    tx: mpsc::Sender<StoreResult<gd_store::WatchItem>>,
    stop: CancellationToken,
    _open: Open,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = *mode.borrow_and_update();
                match now {
                    Mode::Up => {}
                    Mode::Unavailable => {
                        let _ = tx.send(Err(down())).await;
                        return;
                    }
                    Mode::Hang => {
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            up = mode.wait_for(|m| *m == Mode::Up) => if up.is_err() { return },
                        }
                        let reset = StoreError::Unavailable { reason: "fake: connection reset".into() };
                        let _ = tx.send(Err(reset)).await;
                        return;
                    }
                }
            }
            ev = inner.next_item() => match ev {
                None => return,
                Some(ev) => if tx.send(ev).await.is_err() { return },
            },
        }
    }
}

#[async_trait]
impl Store for Flaky {
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        self.gate().await?;
        self.local.get(key).await
    }
    async fn range(&self, prefix: &str, limit: usize) -> StoreResult<RangeResponse> {
        self.gate().await?;
        self.local.range(prefix, limit).await
    }
    async fn range_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> StoreResult<RangeResponse> {
        self.gate().await?;
        self.local.range_after(prefix, after, limit).await
    }
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        lease: Option<LeaseId>,
    ) -> StoreResult<Revision> {
        self.gate().await?;
        self.local.put(key, value, lease).await
    }
    async fn delete(&self, key: &str) -> StoreResult<u64> {
        self.gate().await?;
        self.local.delete(key).await
    }
    async fn delete_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.gate().await?;
        self.local.delete_prefix(prefix).await
    }
    async fn txn(&self, txn: Txn) -> StoreResult<TxnResponse> {
        self.gate().await?;
        self.local.txn(txn).await
    }
    async fn watch(&self, prefix: &str, start_revision: Option<Revision>) -> StoreResult<Watch> {
        self.gate().await?;
        let inner = self.local.watch(prefix, start_revision).await?;
        let (tx, rx) = mpsc::channel(WATCH_QUEUE_MAX);
        let cancel = CancellationToken::new();
        self.open_watches.fetch_add(1, Ordering::SeqCst);
        let open = Open(self.open_watches.clone());
        let asker = inner
            .progress_asker()
            .expect("a local watch reports its progress");
        tokio::spawn(forward(
            inner,
            self.mode.subscribe(),
            tx,
            cancel.clone(),
            open,
        ));
        Ok(Watch::with_progress(rx, asker, cancel))
    }
    async fn lease_grant(&self, ttl_s: i64) -> StoreResult<LeaseId> {
        self.gate().await?;
        self.local.lease_grant(ttl_s).await
    }
    async fn lease_keep_alive(&self, lease: LeaseId) -> StoreResult<i64> {
        self.gate().await?;
        self.local.lease_keep_alive(lease).await
    }
    async fn lease_revoke(&self, lease: LeaseId) -> StoreResult<()> {
        self.gate().await?;
        self.local.lease_revoke(lease).await
    }
    async fn revision(&self) -> StoreResult<Revision> {
        self.gate().await?;
        self.local.revision().await
    }
}
