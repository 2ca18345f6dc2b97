//! Delivering events to the webhooks, by the keeper (one node at a time): for each webhook,
//! its events in order, each retried with back-off until the webhook takes it, then its
//! cursor (`webhook-cursors/<id>`) moved on — written only while this node still keeps the
//! events, so a new keeper goes on from the last event a webhook took, and delivers at least
//! once. Each webhook has its own loop: one that stays down holds up no other, nor anything
//! else; the history's bound is how far behind it may fall (the keeper logs what it misses).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use gd_core::keys::WEBHOOKS;
use gd_node::node::Node;
use gd_store::{Compare, Store, Txn, TxnOp, record};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    history,
    webhooks::{self, Cursor},
};

/// The first pause after a failed delivery; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How often a delivery loop looks for new events without being woken.
const LOOK: Duration = Duration::from_secs(5);
/// The most events read at once for one webhook.
const BATCH: usize = 100;

/// Runs one delivery loop per webhook while `lead` lasts; `fence` holds while this node
/// keeps the events; `wake` is notified when events are written.
pub async fn deliver(node: Arc<Node>, fence: Compare, wake: Arc<Notify>, lead: CancellationToken) {
    let loops: std::sync::Mutex<BTreeMap<Uuid, CancellationToken>> = Default::default();
    let store = node.store.clone();
    gd_store::follow_prefix(
        store.as_ref(),
        WEBHOOKS,
        LOOK,
        &lead,
        |_| true,
        || async {
            let hooks = match webhooks::list(store.as_ref()).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::debug!(error = %e, "the webhooks cannot be read");
                    return;
                }
            };
            let mut loops = loops.lock().unwrap_or_else(|e| e.into_inner());
            loops.retain(|id, stop| {
                let keep = hooks.contains_key(id) && !stop.is_cancelled();
                if !keep {
                    stop.cancel();
                }
                keep
            });
            for id in hooks.keys() {
                if !loops.contains_key(id) {
                    let stop = lead.child_token();
                    loops.insert(*id, stop.clone());
                    tokio::spawn(one(node.clone(), *id, fence.clone(), wake.clone(), stop));
                }
            }
        },
    )
    .await;
    for stop in loops.lock().unwrap_or_else(|e| e.into_inner()).values() {
        stop.cancel();
    }
}

/// The delivery loop of the webhook `id`: ends when the webhook or the lead goes.
async fn one(
    node: Arc<Node>,
    id: Uuid,
    fence: Compare,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let store = node.store.as_ref();
    let client = webhooks::client();
    let me = node.identity().peer_id;
    loop {
        let waiting = wake.notified();
        let (hook, cursor) = match (
            store.get(&webhooks::key(id)).await,
            store.get(&webhooks::cursor_key(id)).await,
        ) {
            (Ok(Some(h)), Ok(Some(c))) => match (
                record::decode::<webhooks::Webhook>(&h.key, &h.value),
                record::decode::<Cursor>(&c.key, &c.value),
            ) {
                (Ok(h), Ok(c)) => (h, c),
                _ => return,
            },
            (Ok(None), _) | (_, Ok(None)) => return,
            _ => {
                if pause(&stop, LOOK).await {
                    return;
                }
                continue;
            }
        };
        let events = match history::after(store, Some(cursor.seq), BATCH).await {
            Ok((e, _)) => e,
            Err(_) => {
                if pause(&stop, LOOK).await {
                    return;
                }
                continue;
            }
        };
        if events.is_empty() {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = waiting => {}
                _ = tokio::time::sleep(LOOK) => {}
            }
            continue;
        }
        for e in events {
            let body = webhooks::body(&e);
            let subject = body["event"].as_str().unwrap_or_default().to_owned();
            let ts = body["ts"].as_u64().unwrap_or_default();
            let mut backoff = BACKOFF_MIN;
            loop {
                match webhooks::post(&client, &hook, &subject, ts, &body, me).await {
                    Ok(()) => break,
                    Err(why) => {
                        tracing::warn!(webhook = %hook.url, event = %e.id, retry_in = ?backoff, "{why}");
                        if pause(&stop, backoff).await {
                            return;
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
            // Delivered: the cursor moves on, only while this node keeps the events and the
            // webhook is still there.
            let moved = store
                .txn(
                    Txn::new()
                        .when([fence.clone(), Compare::present(webhooks::key(id))])
                        .and_then([TxnOp::put(
                            webhooks::cursor_key(id),
                            record::encode(&Cursor { seq: e.seq }),
                        )]),
                )
                .await;
            if !moved.is_ok_and(|r| r.succeeded) {
                return;
            }
        }
    }
}

/// Sleeps `d` unless stopped first; true when stopped.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
