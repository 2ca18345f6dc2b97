//! Helpers the cases share: waiting for watch events, building expected events, and telling
//! store errors apart.

use std::time::{Duration, Instant};

use gd_store::{EventKind, StoreError, StoreResult, Watch, WatchEvent};

use crate::EVENT_WAIT;

pub async fn next_event(w: &mut Watch) -> WatchEvent {
    match tokio::time::timeout(EVENT_WAIT, w.next()).await {
        Err(_) => panic!("no watch event within {EVENT_WAIT:?}"),
        Ok(None) => panic!("the watch ended"),
        Ok(Some(Err(e))) => panic!("watch error: {e}"),
        Ok(Some(Ok(ev))) => ev,
    }
}

pub async fn assert_quiet(w: &mut Watch, wait: Duration) {
    if let Ok(item) = tokio::time::timeout(wait, w.next()).await {
        panic!("expected no watch event, got {item:?}");
    }
}

pub fn ev(kind: EventKind, key: &str, value: &str, revision: i64) -> WatchEvent {
    WatchEvent {
        kind,
        key: key.to_owned(),
        value: value.as_bytes().to_vec(),
        revision,
    }
}

pub fn put_ev(key: &str, value: &str, revision: i64) -> WatchEvent {
    ev(EventKind::Put, key, value, revision)
}

pub fn del_ev(key: &str, revision: i64) -> WatchEvent {
    ev(EventKind::Delete, key, "", revision)
}

pub fn keys(kvs: &[gd_store::KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| kv.key.as_str()).collect()
}

pub fn is_invalid<T: std::fmt::Debug>(r: StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Invalid { .. }))
}

pub fn is_lease_not_found<T: std::fmt::Debug>(r: StoreResult<T>, lease: i64) -> bool {
    matches!(r, Err(StoreError::LeaseNotFound { lease: l }) if l == lease)
}

/// Polls `check` every 50 ms until it holds; false after `bound`.
pub async fn eventually<F, Fut>(bound: Duration, mut check: F) -> StoreResult<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<bool>>,
{
    let give_up = Instant::now() + bound;
    loop {
        if check().await? {
            return Ok(true);
        }
        if Instant::now() >= give_up {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
