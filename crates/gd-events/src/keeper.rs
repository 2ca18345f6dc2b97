//! The events keeper: one node at a time (elected with a lock on its lease) keeps the history
//! bounded — the oldest events go first once there are more than [`HISTORY_MAX`] — and tells
//! of peers going online and offline (their liveness keys come and go; the keeper sees the
//! changes while it leads: a change during a hand-over, while no node leads, is not told).

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use gd_core::{
    events::{self, EventRecord},
    keys::{ALIVE, EVENTS, EVENTS_KEEPER_LOCK},
};
use gd_node::{node::Node, peers::node_label};
use gd_store::{Store, Txn, TxnOp, lock};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The most events the store keeps.
pub const HISTORY_MAX: usize = 1000;
/// How soon a node campaigns again after a campaign ended, and how often the leader checks it
/// still leads.
const CAMPAIGN: Duration = Duration::from_secs(3);
/// How long one campaign waits for the lock (watching it) before it starts again.
const CAMPAIGN_WAIT: Duration = Duration::from_secs(30);
/// The slow tick of the leader's watches (they re-open a lost watch then).
const TICK: Duration = Duration::from_secs(60);
/// The most deletes in one store transaction.
const TRIM_BATCH: usize = 100;

/// Runs this node's part: campaigns, and while it leads, keeps the history and the peers'
/// comings and goings; until `cancel`.
pub async fn run(node: Arc<Node>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(CAMPAIGN) => {}
        }
        let Some(lease) = node.liveness.lease() else {
            continue;
        };
        let holder = format!("events keeper on {}", node.identity().peer_id);
        let store: Arc<dyn Store> = node.store.clone();
        // Waits for the lock by watching it: the nodes that do not keep cost the store nothing
        // at rest.
        let campaign = lock::lock(&store, EVENTS_KEEPER_LOCK, lease, &holder, CAMPAIGN_WAIT);
        let won = tokio::select! {
            _ = cancel.cancelled() => return,
            won = campaign => won,
        };
        let Ok(Ok(guard)) = won else {
            continue;
        };
        tracing::info!("keeping the events");
        let lead = cancel.child_token();
        let wake = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(crate::deliver::deliver(
            node.clone(),
            guard.held_compare(),
            wake.clone(),
            lead.clone(),
        ));
        let alive: Mutex<Option<BTreeSet<Uuid>>> = Mutex::new(None);
        let store = node.store.as_ref();
        let still = async {
            loop {
                tokio::select! {
                    _ = lead.cancelled() => return,
                    _ = tokio::time::sleep(CAMPAIGN) => {}
                }
                if node.liveness.lease() != Some(lease)
                    || !guard.still_held().await.unwrap_or(false)
                {
                    lead.cancel();
                    return;
                }
            }
        };
        tokio::join!(
            gd_store::follow_prefix(
                store,
                EVENTS,
                TICK,
                &lead,
                |_| true,
                || async {
                    wake.notify_waiters();
                    if let Err(e) = trim(store).await {
                        tracing::debug!(error = %e, "the events history was not trimmed");
                    }
                }
            ),
            gd_store::follow_prefix(
                store,
                ALIVE,
                TICK,
                &lead,
                |_| true,
                || async {
                    if let Err(e) = comings_and_goings(&node, &alive).await {
                        tracing::debug!(error = %e, "peers' liveness not read");
                    }
                }
            ),
            still,
        );
        let _ = guard.unlock().await;
        tracing::info!("no longer keeping the events");
    }
}

/// Deletes the oldest events beyond [`HISTORY_MAX`].
async fn trim(store: &dyn Store) -> Result<(), gd_store::StoreError> {
    let all = store.range(EVENTS, 0).await?;
    if all.kvs.len() <= HISTORY_MAX {
        return Ok(());
    }
    // Keys sort by time: the first are the oldest.
    let extra = all.kvs.len() - HISTORY_MAX;
    // A webhook down for long misses what goes now: said at each trim.
    if let Ok(cursors) = store.range(gd_core::keys::WEBHOOK_CURSORS, 0).await {
        for c in &cursors.kvs {
            let Ok(cursor) = gd_store::record::decode::<crate::webhooks::Cursor>(&c.key, &c.value)
            else {
                continue;
            };
            let missed = all.kvs[..extra]
                .iter()
                .filter(|kv| kv.create_revision > cursor.seq)
                .count();
            if missed > 0 {
                tracing::warn!(webhook = %c.key, missed, "a webhook that has been down long misses events the history no longer holds");
            }
        }
    }
    for chunk in all.kvs[..extra].chunks(TRIM_BATCH) {
        let ops: Vec<TxnOp> = chunk.iter().map(|kv| TxnOp::delete(&kv.key)).collect();
        store.txn(Txn::new().and_then(ops)).await?;
    }
    Ok(())
}

/// The peers online as the history last told: every peer, but those whose last liveness
/// event is `peer.offline`.
async fn last_told(store: &dyn Store) -> Result<BTreeSet<Uuid>, gd_store::StoreError> {
    let (events, _) = crate::history::after(store, None, usize::MAX).await?;
    let mut online: BTreeSet<Uuid> = gd_node::peers::list_peers(store)
        .await?
        .iter()
        .map(|p| p.id)
        .collect();
    for e in events {
        let Some(id) = e.fields.get("peer").and_then(|p| Uuid::parse_str(p).ok()) else {
            continue;
        };
        match e.event.as_str() {
            "peer.offline" => {
                online.remove(&id);
            }
            "peer.online" => {
                online.insert(id);
            }
            _ => {}
        }
    }
    Ok(online)
}

/// Tells of the peers whose liveness came or went since the last look.
async fn comings_and_goings(
    node: &Node,
    seen: &Mutex<Option<BTreeSet<Uuid>>>,
) -> Result<(), gd_store::StoreError> {
    let store = node.store.as_ref();
    let now: BTreeSet<Uuid> = store
        .range(ALIVE, 0)
        .await?
        .kvs
        .iter()
        .filter_map(|kv| {
            kv.key
                .strip_prefix(ALIVE)
                .and_then(|k| Uuid::parse_str(k).ok())
        })
        .collect();
    let before = seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .replace(now.clone());
    // A new keeper compares with what the history last told of each peer, so that a change
    // while no node kept the events (the last keeper died) is told all the same.
    let before = match before {
        Some(b) => b,
        None => last_told(store).await?,
    };
    let me = node.identity().peer_id;
    for (ids, event, what) in [
        (now.difference(&before), "peer.online", "is online"),
        (before.difference(&now), "peer.offline", "is offline"),
    ] {
        for id in ids {
            let label = node_label(store, *id).await;
            events::emit(
                store,
                EventRecord::new(me, event, format!("peer {label} {what}"))
                    .field("peer", id.to_string())
                    .field("address", label),
            )
            .await;
        }
    }
    Ok(())
}
