//! Liveness: one key per node, bound to the node's own lease (DESIGN §3.3).
//!
//! The node grants a lease (TTL [`LEASE_TTL_S`]), puts `alive/<peer-id>` bound to it, and
//! refreshes the lease every [`KEEPALIVE_INTERVAL`]. If the node dies, the lease expires and the
//! store deletes the key: every other node sees it offline within the TTL, and nobody writes
//! anything periodically — keep-alives are not store writes. If the lease is lost (the store
//! was unreachable for longer than the TTL, or the node switched stores when it joined or left
//! a cluster) the node grants a new one and publishes again.
//!
//! The same lease carries the node's locks, so they vanish with the node — and at once when it
//! restarts: a new process revokes its predecessor's lease (found on the alive key).
//!
//! Its calls are also how the node knows whether its store answers ([`Liveness::silence`]): a
//! refresh every 2.5 s is a request to the store's leader anyway, so nothing else needs to ask
//! the store at rest whether it has a quorum (at a thousand nodes, a probe of its own every few
//! seconds was most of what the store read while nothing happened).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use gd_store::{LeaseId, Store, StoreError, record};
use tokio::sync::{Mutex, Notify, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::peers::{AliveRecord, alive_key};

/// 8 s rather than 10: when the killed node held the etcd leadership, etcd renews every lease
/// on electing a new leader (about a second later), so a dead node's key may live TTL plus an
/// election; 8 s keeps that within 10 s.
pub const LEASE_TTL_S: i64 = 8;
/// Three refreshes fit in one TTL: two may be lost without losing the lease.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_millis(2500);
/// How long to wait before retrying after the store failed.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Since when this node's store has not answered its liveness calls, as [`Liveness::silence`]
/// tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// When the first call of the row went unanswered: its bound passed, or no member or
    /// leader could take it (ms since the Unix epoch).
    pub since_ms: u64,
    /// The same instant, for durations.
    pub since: std::time::Instant,
    /// How many calls in a row went unanswered.
    pub calls: u32,
}

/// This node's liveness key and lease.
pub struct Liveness {
    store: Arc<dyn Store>,
    key: String,
    value: Vec<u8>,
    lease: Mutex<Option<LeaseId>>,
    paused: AtomicBool,
    wake: Notify,
    published: watch::Sender<Option<LeaseId>>,
    silence: watch::Sender<Option<Silence>>,
}

impl Liveness {
    pub fn new(store: Arc<dyn Store>, peer_id: Uuid) -> Arc<Liveness> {
        let value = record::encode(&AliveRecord {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        });
        Arc::new(Liveness {
            store,
            key: alive_key(peer_id),
            value,
            lease: Mutex::new(None),
            paused: AtomicBool::new(false),
            wake: Notify::new(),
            published: watch::channel(None).0,
            silence: watch::channel(None).0,
        })
    }

    /// The current lease, if liveness is published.
    pub fn lease(&self) -> Option<LeaseId> {
        *self.published.borrow()
    }

    /// Waits (at most `timeout`) until liveness is published; returns the lease.
    pub async fn wait_published(&self, timeout: Duration) -> Option<LeaseId> {
        let mut rx = self.published.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(Option::is_some))
            .await
            .ok()?
            .ok()
            .and_then(|v| *v)
    }

    /// Whether the store answered this node's last liveness call (`None`) or since when it has
    /// not. An error the store sent is an answer; only no answer in time, or no reachable
    /// member or leader, is silence. Unchanged while liveness is withdrawn.
    pub fn silence(&self) -> watch::Receiver<Option<Silence>> {
        self.silence.subscribe()
    }

    /// Records whether the store answered a liveness call; returns its result.
    fn answered<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let unanswered = matches!(
            &result,
            Err(StoreError::Unavailable { .. } | StoreError::Timeout { .. })
        );
        self.silence
            .send_if_modified(|s| match (unanswered, s.as_mut()) {
                (false, None) => false,
                (false, Some(_)) => {
                    *s = None;
                    true
                }
                (true, Some(silence)) => {
                    silence.calls += 1;
                    true
                }
                (true, None) => {
                    *s = Some(Silence {
                        since_ms: gd_core::events::now_ms(),
                        since: std::time::Instant::now(),
                        calls: 1,
                    });
                    true
                }
            });
        result
    }

    /// Stops publishing and revokes the lease (the node shows offline at once), until
    /// [`Liveness::resume`].
    pub async fn withdraw(&self) {
        self.paused.store(true, Ordering::SeqCst);
        let mut lease = self.lease.lock().await;
        if let Some(id) = lease.take() {
            self.published.send_replace(None);
            match tokio::time::timeout(Duration::from_secs(2), self.store.lease_revoke(id)).await {
                Ok(Ok(())) => tracing::info!("liveness withdrawn"),
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot revoke the liveness lease"),
                Err(_) => tracing::warn!("revoking the liveness lease timed out"),
            }
        }
    }

    /// Publishes again after [`Liveness::withdraw`].
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Publishes and refreshes until cancelled, then withdraws.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let wait = if self.paused.load(Ordering::SeqCst) {
                Duration::from_secs(3600)
            } else {
                self.step().await
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        self.withdraw().await;
    }

    /// One publish or refresh; returns how long to wait before the next.
    async fn step(&self) -> Duration {
        let mut lease = self.lease.lock().await;
        if self.paused.load(Ordering::SeqCst) {
            return Duration::from_secs(3600);
        }
        match *lease {
            None => match self.answered(self.publish().await) {
                Ok(id) => {
                    tracing::info!(lease = id, "liveness published");
                    *lease = Some(id);
                    self.published.send_replace(Some(id));
                    KEEPALIVE_INTERVAL
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot publish liveness; retrying");
                    RETRY_INTERVAL
                }
            },
            Some(id) => match self.answered(self.store.lease_keep_alive(id).await) {
                Ok(_) => KEEPALIVE_INTERVAL,
                Err(StoreError::LeaseNotFound { .. }) => {
                    tracing::warn!(lease = id, "liveness lease lost; publishing again");
                    *lease = None;
                    self.published.send_replace(None);
                    Duration::ZERO
                }
                Err(e) => {
                    tracing::warn!(error = %e, "liveness keep-alive failed; retrying");
                    RETRY_INTERVAL
                }
            },
        }
    }

    /// Grants a lease and binds the alive key to it; then revokes the lease the key was bound
    /// to before, if any: that of this node's previous process (a crash, a `kill -9`), whose
    /// locks would otherwise hold its objects busy until that lease ran out.
    async fn publish(&self) -> Result<LeaseId, StoreError> {
        let before = self.store.get(&self.key).await?.and_then(|kv| kv.lease);
        let id = self.store.lease_grant(LEASE_TTL_S).await?;
        if let Err(e) = self
            .store
            .put(&self.key, self.value.clone(), Some(id))
            .await
        {
            let _ = self.store.lease_revoke(id).await;
            return Err(e);
        }
        if let Some(old) = before.filter(|old| *old != id) {
            match self.store.lease_revoke(old).await {
                Ok(()) => tracing::info!(
                    lease = old,
                    "revoked the lease of this node's previous process"
                ),
                Err(StoreError::LeaseNotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(lease = old, error = %e, "cannot revoke the lease of this node's previous process")
                }
            }
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout() -> Result<(), StoreError> {
        Err(StoreError::Timeout { timeout_ms: 2000 })
    }

    #[tokio::test]
    async fn silence_counts_unanswered_calls_until_the_store_answers() {
        let store = gd_store::LocalStore::open_in_memory().await.unwrap();
        let liveness = Liveness::new(store, Uuid::new_v4());
        let rx = liveness.silence();
        assert_eq!(*rx.borrow(), None, "silent before any call");

        let before_ms = gd_core::events::now_ms();
        assert!(liveness.answered(timeout()).is_err());
        let first = rx.borrow().expect("silent after a call timed out");
        assert_eq!(first.calls, 1);
        assert!(first.since_ms >= before_ms);
        let _ = liveness.answered(Err::<(), _>(StoreError::Unavailable {
            reason: "no leader".into(),
        }));
        let second = rx.borrow().expect("still silent");
        assert_eq!(second.calls, 2);
        assert_eq!(
            (second.since_ms, second.since),
            (first.since_ms, first.since),
            "dated from the first call left unanswered"
        );

        // An error the store sent is an answer, as is a result.
        let _ = liveness.answered(Err::<(), _>(StoreError::LeaseNotFound { lease: 7 }));
        assert_eq!(*rx.borrow(), None);
        let _ = liveness.answered(timeout());
        assert_eq!(rx.borrow().map(|s| s.calls), Some(1));
        assert_eq!(liveness.answered(Ok(5)).unwrap(), 5);
        assert_eq!(*rx.borrow(), None);
    }

    #[tokio::test]
    async fn a_refresh_the_store_answers_leaves_no_silence() {
        let store = gd_store::LocalStore::open_in_memory().await.unwrap();
        let liveness = Liveness::new(store, Uuid::new_v4());
        let _ = liveness.answered(timeout());
        assert!(liveness.silence().borrow().is_some());
        // Publishing, then a refresh: both answered.
        assert_eq!(liveness.step().await, KEEPALIVE_INTERVAL);
        assert!(liveness.silence().borrow().is_none());
        assert!(liveness.lease().is_some());
        assert_eq!(liveness.step().await, KEEPALIVE_INTERVAL);
        assert!(liveness.silence().borrow().is_none());
    }
}
