//! Unit tests of the local store's own behaviour beyond the conformance suite: history
//! bounds, lagging watchers, concurrent writers, overdue leases and the on-disk format check.

use super::db::{FORMAT_VERSION, META, META_FORMAT};
use super::*;
use crate::{TxnOp, WatchEvent};

fn small_history(events: usize) -> LocalStoreOptions {
    LocalStoreOptions {
        history_events: events,
        ..LocalStoreOptions::default()
    }
}

async fn next(w: &mut Watch) -> Option<StoreResult<WatchEvent>> {
    tokio::time::timeout(Duration::from_secs(30), w.next())
        .await
        .expect("watch stalled")
}

#[tokio::test]
async fn fresh_store_starts_at_revision_one_and_replays_from_it() {
    let s = LocalStore::open_in_memory().await.unwrap();
    assert_eq!(s.revision().await.unwrap(), 1);
    assert_eq!(s.put("a", b"1".to_vec(), None).await.unwrap(), 2);
    let mut w = s.watch("", Some(1)).await.unwrap();
    let ev = next(&mut w).await.unwrap().unwrap();
    assert_eq!((ev.key.as_str(), ev.revision), ("a", 2));
}

#[tokio::test]
async fn watch_before_the_history_is_compacted() {
    let s = LocalStore::open_in_memory_with(small_history(4))
        .await
        .unwrap();
    for i in 0..10u8 {
        s.put("k", vec![i], None).await.unwrap();
    }
    // Revisions 2..=11 were written; the last 4 (8..=11) are kept.
    let mut w = s.watch("", Some(3)).await.unwrap();
    match next(&mut w).await {
        Some(Err(StoreError::Compacted {
            requested: 3,
            compacted: 8,
        })) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(next(&mut w).await.is_none());
    let mut w = s.watch("", Some(8)).await.unwrap();
    assert_eq!(next(&mut w).await.unwrap().unwrap().value, vec![6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_falls_behind_gets_one_error() {
    let s = LocalStore::open_in_memory_with(small_history(300))
        .await
        .unwrap();
    let mut w = s.watch("", None).await.unwrap();
    // More events than the watch queue and the history hold together.
    let total = WATCH_QUEUE_MAX + 500;
    for chunk in (0..total).collect::<Vec<_>>().chunks(crate::MAX_TXN_OPS) {
        let ops = chunk.iter().map(|i| TxnOp::put(format!("k{i}"), "x"));
        s.txn(Txn::new().and_then(ops)).await.unwrap();
    }
    let mut ok = 0;
    loop {
        match next(&mut w).await {
            Some(Ok(_)) => ok += 1,
            Some(Err(StoreError::WatchLagged { .. })) => break,
            other => panic!("expected WatchLagged after {ok} events, got {other:?}"),
        }
    }
    // How many came before the error depends on how far the watch's task got while the writes
    // went on (it may fall out of the history before its queue is full): some, never all.
    assert!(ok < total, "{ok} events before the error");
    assert!(
        next(&mut w).await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_watchers_see_every_revision_once_in_order() {
    let s = LocalStore::open_in_memory().await.unwrap();
    let start = s.revision().await.unwrap() + 1;
    let mut live = s.watch("", None).await.unwrap();
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    s.put(&format!("w{t}/{i}"), vec![t], None).await.unwrap();
                }
            })
        })
        .collect();
    // Watches created while the writers run, replaying from the start.
    let mut late = Vec::new();
    for _ in 0..3 {
        tokio::task::yield_now().await;
        late.push(s.watch("", Some(start)).await.unwrap());
    }
    for w in writers {
        w.await.unwrap();
    }
    for w in std::iter::once(&mut live).chain(late.iter_mut()) {
        for rev in start..start + 200 {
            assert_eq!(next(w).await.unwrap().unwrap().revision, rev);
        }
    }
}

#[tokio::test]
async fn an_overdue_lease_is_dead_before_the_expiry_task_runs() {
    let opts = LocalStoreOptions {
        expiry_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let s = LocalStore::open_in_memory_with(opts).await.unwrap();
    let lease = s.lease_grant(1).await.unwrap();
    s.put("k", b"v".to_vec(), Some(lease)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(matches!(
        s.put("k2", vec![], Some(lease)).await,
        Err(StoreError::LeaseNotFound { .. })
    ));
    assert!(matches!(
        s.lease_keep_alive(lease).await,
        Err(StoreError::LeaseNotFound { .. })
    ));
    // Expiry itself deletes the keys.
    assert_eq!(s.inner.clone().expire_due().unwrap(), 1);
    assert_eq!(s.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn a_key_moved_to_another_lease_follows_it() {
    let s = LocalStore::open_in_memory().await.unwrap();
    let (a, b) = (
        s.lease_grant(60).await.unwrap(),
        s.lease_grant(60).await.unwrap(),
    );
    s.put("k", b"1".to_vec(), Some(a)).await.unwrap();
    s.put("k", b"2".to_vec(), Some(b)).await.unwrap();
    let rev = s.revision().await.unwrap();
    s.lease_revoke(a).await.unwrap();
    assert_eq!(
        s.revision().await.unwrap(),
        rev,
        "a's revoke deleted nothing"
    );
    assert_eq!(s.get("k").await.unwrap().unwrap().lease, Some(b));
    s.lease_revoke(b).await.unwrap();
    assert_eq!(s.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn refuses_a_file_from_a_newer_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    drop(LocalStore::open(&path).await.unwrap());
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_FORMAT, FORMAT_VERSION + 1)
            .unwrap();
        txn.commit().unwrap();
    }
    let err = LocalStore::open(&path)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("newer glusterd2"), "{err}");
}
