//! Events: every change of the cluster an administrator or a program may want to hear of
//! (a peer added, a volume started, a brick down, a task ended), as one record in the store,
//! written once by whoever made the change — in the same store transaction when it can be
//! (a task's start and end), else right after it (an operation's commit, by its initiator) —
//! so every node lists and streams the same events, in the store's order.
//!
//! `events/<ms since the epoch, 13 digits>-<id>`: the key sorts by time, so the oldest are the
//! first a trim deletes (the events feature keeps a bounded history). An event's place in the
//! stream is the store revision it was written at (`seq`), which clocks cannot reorder.

use std::collections::BTreeMap;

use gd_store::{Store, StoreError, TxnOp, record};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keys::EVENTS;

/// One event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Its identity: a receiver that gets it twice sees the same id.
    pub id: Uuid,
    /// When it happened, in milliseconds since the epoch (the writer's clock).
    pub ts_ms: u64,
    /// The node that wrote it.
    pub node: Uuid,
    /// What happened, dotted (`volume.started`).
    pub event: String,
    /// One sentence for people.
    pub message: String,
    /// The details, for programs (`volume`, `peer`...).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl record::Record for EventRecord {
    const KIND: &'static str = "event";
    const VERSION: u32 = 1;
}

impl EventRecord {
    /// A new event of `node`, now.
    pub fn new(node: Uuid, event: &str, message: impl Into<String>) -> EventRecord {
        EventRecord {
            id: Uuid::new_v4(),
            ts_ms: now_ms(),
            node,
            event: event.to_owned(),
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    /// Adds a detail.
    pub fn field(mut self, key: &str, value: impl Into<String>) -> EventRecord {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Its key in the store.
    pub fn key(&self) -> String {
        format!("{EVENTS}{:013}-{}", self.ts_ms, self.id)
    }

    /// The store operation that writes it (to join the store transaction of its change).
    pub fn put(&self) -> TxnOp {
        TxnOp::put(self.key(), record::encode(self))
    }

    /// Writes it on its own (right after its change).
    pub async fn write(&self, store: &dyn Store) -> Result<(), StoreError> {
        store
            .put(&self.key(), record::encode(self), None)
            .await
            .map(drop)
    }
}

/// Writes `event`, logging instead of failing: an event that cannot be written must not fail
/// the change it tells of, which has happened.
pub async fn emit(store: &dyn Store, event: EventRecord) {
    if let Err(e) = event.write(store).await {
        tracing::warn!(event = %event.event, error = %e, "an event could not be recorded");
    }
}

/// Now, in milliseconds since the Unix epoch: how events date what they record (and a node's
/// liveness the start of a silence, which a quorum event is dated by).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_is_written_under_its_time_and_read_back() {
        let store = gd_store::LocalStore::open_in_memory().await.unwrap();
        let node = Uuid::new_v4();
        let e = EventRecord::new(node, "volume.started", "volume v1 started").field("volume", "v1");
        emit(store.as_ref(), e.clone()).await;
        let got = store.range(EVENTS, 0).await.unwrap();
        assert_eq!(got.kvs.len(), 1);
        assert!(
            got.kvs[0]
                .key
                .starts_with(&format!("{EVENTS}{:013}-", e.ts_ms))
        );
        let back: EventRecord = record::decode(&got.kvs[0].key, &got.kvs[0].value).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.fields["volume"], "v1");
    }
}
