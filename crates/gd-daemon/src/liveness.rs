//! Liveness: one key per node, bound to the node's own lease (DESIGN §3.3).
//!
//! The node grants a lease (TTL [`LEASE_TTL_S`]), puts `alive/<peer-id>` bound to it, and
//! refreshes the lease every [`KEEPALIVE_INTERVAL`]. If the node dies, the lease expires and the
//! store deletes the key: every other node sees it offline within the TTL, and nobody writes
//! anything periodically — keep-alives are not store writes. If the lease is lost (the store
//! was unreachable for longer than the TTL) the node grants a new one and publishes again.

use std::{sync::Arc, time::Duration};

use gd_store::{LeaseId, Store, StoreError, record};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::peers::{AliveRecord, alive_key};

pub const LEASE_TTL_S: i64 = 10;
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(3);
/// How long to wait before retrying after the store failed.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Publishes this node's liveness until cancelled, then revokes the lease so the node shows
/// offline at once on a clean shutdown. `lease_tx` carries the current lease (0 while none).
pub async fn run(
    store: Arc<dyn Store>,
    peer_id: Uuid,
    lease_tx: watch::Sender<LeaseId>,
    cancel: CancellationToken,
) {
    let key = alive_key(peer_id);
    let value = record::encode(&AliveRecord {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    });
    let mut lease: Option<LeaseId> = None;
    loop {
        let wait = match lease {
            None => match publish(store.as_ref(), &key, &value).await {
                Ok(id) => {
                    tracing::info!(lease = id, "liveness published");
                    lease = Some(id);
                    let _ = lease_tx.send(id);
                    KEEPALIVE_INTERVAL
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot publish liveness; retrying");
                    RETRY_INTERVAL
                }
            },
            Some(id) => match store.lease_keep_alive(id).await {
                Ok(_) => KEEPALIVE_INTERVAL,
                Err(StoreError::LeaseNotFound { .. }) => {
                    tracing::warn!(lease = id, "liveness lease lost; publishing again");
                    lease = None;
                    let _ = lease_tx.send(0);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "liveness keep-alive failed; retrying");
                    RETRY_INTERVAL
                }
            },
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    if let Some(id) = lease {
        match tokio::time::timeout(Duration::from_secs(2), store.lease_revoke(id)).await {
            Ok(Ok(())) => tracing::info!("liveness withdrawn"),
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot revoke liveness lease"),
            Err(_) => tracing::warn!("revoking the liveness lease timed out"),
        }
    }
}

async fn publish(store: &dyn Store, key: &str, value: &[u8]) -> Result<LeaseId, StoreError> {
    let id = store.lease_grant(LEASE_TTL_S).await?;
    if let Err(e) = store.put(key, value.to_vec(), Some(id)).await {
        let _ = store.lease_revoke(id).await;
        return Err(e);
    }
    Ok(id)
}
