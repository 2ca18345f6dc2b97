//! Lease refreshes over one stream per lease, kept open between refreshes.
//!
//! etcd refreshes leases over a bidirectional stream. Opened for each refresh, a stream cost
//! etcd its set-up and its end, and etcd-client's opening sends a refresh of its own whose
//! answer it does not report (the TTL), so each refresh was two. A node refreshes its liveness
//! lease every 2.5 s for as long as it runs: its stream now stays open, one request and one
//! answer a refresh. A stream that failed, or that was given up on in the middle of a refresh
//! (an answer may still be on its way), is never used again; one whose lease is gone or
//! revoked is ended as etcd expects: our side closed, its end read, never reset (etcd counts a
//! reset refresh stream as failed, "no leader").

use std::{collections::HashMap, sync::Mutex, time::Duration};

use etcd_client as ec;

use crate::{LeaseId, StoreError, StoreResult};

/// The most streams kept open (a daemon refreshes one lease; the scale bench's agents, a
/// thousand, share a store). A lease past it is refreshed over a stream of its own each time.
const KEPT_MAX: usize = 4096;
/// How long ending a stream may wait for etcd's end of it.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A lease's refresh stream.
pub(super) struct Kept {
    keeper: ec::LeaseKeeper,
    stream: ec::LeaseKeepAliveStream,
}

impl Kept {
    /// Opens `lease`'s stream (etcd-client refreshes the lease once on the way, and fails if
    /// it does not exist).
    pub(super) async fn open(lc: &mut ec::LeaseClient, lease: LeaseId) -> Result<Kept, ec::Error> {
        let (keeper, stream) = lc.keep_alive(lease).await?;
        Ok(Kept { keeper, stream })
    }

    /// One refresh: etcd's answer (its TTL is 0 when the lease is gone), or `None` when etcd
    /// ended the stream.
    pub(super) async fn refresh(
        &mut self,
    ) -> Result<Option<ec::LeaseKeepAliveResponse>, ec::Error> {
        self.keeper.keep_alive().await?;
        self.stream.message().await
    }

    /// Ends the stream as etcd expects, in the background.
    pub(super) fn close(self) {
        let Kept { keeper, mut stream } = self;
        drop(keeper);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Ok(Some(_)) = stream.message().await {}
            })
            .await;
        });
    }
}

/// The open refresh streams, by lease.
#[derive(Default)]
pub(super) struct Refreshers {
    kept: Mutex<HashMap<LeaseId, Kept>>,
}

impl Refreshers {
    /// `lease`'s open stream, taken out while it is used.
    pub(super) fn take(&self, lease: LeaseId) -> Option<Kept> {
        self.lock().remove(&lease)
    }

    /// Keeps `kept` open for `lease`'s next refresh (one refreshed meanwhile by another call
    /// is ended; beyond [`KEPT_MAX`], `kept` is).
    fn keep(&self, lease: LeaseId, kept: Kept) {
        let mut map = self.lock();
        if map.len() >= KEPT_MAX && !map.contains_key(&lease) {
            drop(map);
            kept.close();
            return;
        }
        if let Some(older) = map.insert(lease, kept) {
            drop(map);
            older.close();
        }
    }

    /// What etcd answered a refresh of `lease` over `kept`: its TTL (the stream kept for the
    /// next refresh), or that the lease is gone (the stream ended).
    pub(super) fn answered(
        &self,
        lease: LeaseId,
        answer: Option<ec::LeaseKeepAliveResponse>,
        kept: Kept,
    ) -> StoreResult<i64> {
        match answer {
            Some(r) if r.ttl() > 0 => {
                self.keep(lease, kept);
                Ok(r.ttl())
            }
            Some(_) => {
                kept.close();
                Err(StoreError::LeaseNotFound { lease })
            }
            None => Err(super::unavailable(
                "etcd closed the lease keep-alive stream",
            )),
        }
    }

    /// Ends `lease`'s stream, if one is open (the lease was revoked).
    pub(super) fn forget(&self, lease: LeaseId) {
        if let Some(kept) = self.take(lease) {
            kept.close();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LeaseId, Kept>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}
