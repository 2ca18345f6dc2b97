//! Behaviour of the local backend alone: reopening a store file, and opening a bad path.

use std::time::Duration;

use gd_store::{LocalStore, Store, StoreError, StoreResult};

use crate::EVENT_WAIT;
use crate::backend::tempdir;
use crate::support::{is_lease_not_found, next_event, put_ev};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_reopen_keeps_data_revision_and_leases() -> StoreResult<()> {
    let dir = tempdir();
    let path = dir.path().join("store.redb");
    let (rev, long, short) = {
        let s = LocalStore::open(&path).await?;
        s.put("a", b"1".to_vec(), None).await?;
        s.put("a", b"2".to_vec(), None).await?;
        let long = s.lease_grant(60).await?;
        let short = s.lease_grant(1).await?;
        s.put("long", b"l".to_vec(), Some(long)).await?;
        s.put("short", b"s".to_vec(), Some(short)).await?;
        (s.revision().await?, long, short)
    };
    // Closed for longer than the short lease's TTL.
    tokio::time::sleep(Duration::from_millis(1300)).await;

    let s = LocalStore::open(&path).await?;
    let kv = s.get("a").await?.expect("data survives");
    assert_eq!((kv.value.as_slice(), kv.version), (&b"2"[..], 2));
    assert_eq!(
        s.get("short").await?,
        None,
        "a lease that expired while closed is revoked at open"
    );
    assert_eq!(
        s.revision().await?,
        rev + 1,
        "the revision survives; the expiry is one more"
    );
    assert_eq!(
        s.get("long").await?.expect("live lease key").lease,
        Some(long)
    );
    assert_eq!(s.lease_keep_alive(long).await?, 60);
    assert!(is_lease_not_found(s.lease_keep_alive(short).await, short));
    let new = s.lease_grant(5).await?;
    assert!(new > long && new > short, "lease ids are never reused");
    assert_eq!(s.put("b", b"x".to_vec(), None).await?, rev + 2);

    // Events from before the reopen are gone; the stream says so.
    let mut old = s.watch("", Some(rev)).await?;
    match tokio::time::timeout(EVENT_WAIT, old.next()).await {
        Ok(Some(Err(StoreError::Compacted {
            requested,
            compacted,
        }))) => {
            assert_eq!((requested, compacted), (rev, rev + 1));
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(
        old.next().await.is_none(),
        "the stream ends after the error"
    );
    let mut w = s.watch("", Some(rev + 2)).await?;
    assert_eq!(next_event(&mut w).await, put_ev("b", "x", rev + 2));

    // Reopen once more right after a drop, while a watch is open.
    drop(s);
    let s = LocalStore::open(&path).await?;
    assert_eq!(s.revision().await?, rev + 2);
    match tokio::time::timeout(EVENT_WAIT, w.next()).await {
        Ok(Some(Err(StoreError::Unavailable { .. }))) => {}
        other => panic!("a watch on a closed store must end with Unavailable, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn local_open_reports_bad_paths() {
    let dir = tempdir();
    let err = LocalStore::open(&dir.path().join("missing-dir/store.redb"))
        .await
        .err()
        .expect("a store in a missing directory");
    assert!(err.to_string().contains("missing-dir"), "{err}");
}
