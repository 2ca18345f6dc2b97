//! Reading the events the store holds, in their order (the store revision each was written
//! at), as the API shows them.

use gd_core::{events::EventRecord, keys::EVENTS};
use gd_store::{KeyValue, Store, StoreError, record};

/// The events after `after` (a `seq`; all when `None`), oldest first, at most `limit`, and the
/// store revision they were read at (to follow on from).
pub async fn after(
    store: &dyn Store,
    after: Option<i64>,
    limit: usize,
) -> Result<(Vec<gd_api::Event>, i64), StoreError> {
    let r = store.range(EVENTS, 0).await?;
    let mut kvs: Vec<&KeyValue> = r
        .kvs
        .iter()
        .filter(|kv| after.is_none_or(|a| kv.create_revision > a))
        .collect();
    kvs.sort_by_key(|kv| kv.create_revision);
    let events = kvs.into_iter().filter_map(to_api).take(limit).collect();
    Ok((events, r.revision))
}

/// An event as the API shows it; `None` for a record this release cannot read (logged).
pub fn to_api(kv: &KeyValue) -> Option<gd_api::Event> {
    match record::decode::<EventRecord>(&kv.key, &kv.value) {
        Ok(e) => Some(api_of(e, kv.create_revision)),
        Err(e) => {
            tracing::warn!(key = %kv.key, error = %e, "an event record cannot be read");
            None
        }
    }
}

pub fn api_of(e: EventRecord, seq: i64) -> gd_api::Event {
    let ts = std::time::UNIX_EPOCH + std::time::Duration::from_millis(e.ts_ms);
    gd_api::Event {
        id: e.id,
        seq,
        ts: humantime::format_rfc3339_millis(ts).to_string(),
        node: e.node,
        event: e.event,
        message: e.message,
        fields: e.fields,
    }
}
