//! Cases on watches: replay from a revision, and watching from now.

use std::time::Duration;

use gd_store::{StoreResult, Txn, TxnOp, WatchItem};

use crate::backend::Backend;
use crate::support::{assert_quiet, del_ev, is_invalid, next_event, put_ev};

pub async fn watch_replays_from_revision(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let start = s.revision().await? + 1;
    let mut expected = Vec::new();

    let r = s.put("w/a", b"1".to_vec(), None).await?;
    expected.push(put_ev("w/a", "1", r));
    let r = s.put("w/b", b"2".to_vec(), None).await?;
    expected.push(put_ev("w/b", "2", r));
    s.put("other/x", b"not watched".to_vec(), None).await?;
    let r = s.put("w/a", b"3".to_vec(), None).await?;
    expected.push(put_ev("w/a", "3", r));
    let t = s
        .txn(Txn::new().and_then([TxnOp::put("w/d", "4"), TxnOp::put("w/c", "5")]))
        .await?;
    expected.push(put_ev("w/d", "4", t.revision));
    expected.push(put_ev("w/c", "5", t.revision));
    s.delete("w/b").await?;
    expected.push(del_ev("w/b", s.revision().await?));
    s.delete_prefix("w/").await?;
    let r = s.revision().await?;
    // A range delete deletes in key order.
    for k in ["w/a", "w/c", "w/d"] {
        expected.push(del_ev(k, r));
    }
    let lease = s.lease_grant(60).await?;
    let r = s.put("w/leased", b"6".to_vec(), Some(lease)).await?;
    expected.push(put_ev("w/leased", "6", r));
    s.lease_revoke(lease).await?;
    expected.push(del_ev("w/leased", s.revision().await?));

    // Started after all of it: everything is replayed, in order.
    let mut w = s.watch("w/", Some(start)).await?;
    for want in &expected {
        assert_eq!(&next_event(&mut w).await, want);
    }
    // Then live events follow without a gap.
    let r = s.put("w/live", b"7".to_vec(), None).await?;
    assert_eq!(next_event(&mut w).await, put_ev("w/live", "7", r));

    // A watch from the middle starts exactly there.
    let mid = expected[3].revision;
    let mut w2 = s.watch("w/", Some(mid)).await?;
    assert_eq!(next_event(&mut w2).await, expected[3]);
    assert_eq!(next_event(&mut w2).await, expected[4]);

    // A watch from a future revision waits for it.
    let future = s.revision().await? + 2;
    let mut w3 = s.watch("w/", Some(future)).await?;
    s.put("w/f1", b"x".to_vec(), None).await?;
    let r = s.put("w/f2", b"y".to_vec(), None).await?;
    assert_eq!(next_event(&mut w3).await, put_ev("w/f2", "y", r));

    assert!(is_invalid(s.watch("w/", Some(0)).await.map(|_| ())));
    Ok(())
}

pub async fn watch_from_now(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    s.put("n/before", b"0".to_vec(), None).await?;
    let mut w = s.watch("n/", None).await?;
    let mut all = s.watch("", None).await?;
    s.put("elsewhere", b"x".to_vec(), None).await?;
    let r1 = s.put("n/after", b"1".to_vec(), None).await?;
    let r2 = s.put("n/after", b"2".to_vec(), None).await?;
    s.delete("n/before").await?;
    let r3 = s.revision().await?;
    assert_eq!(next_event(&mut w).await, put_ev("n/after", "1", r1));
    assert_eq!(next_event(&mut w).await, put_ev("n/after", "2", r2));
    assert_eq!(next_event(&mut w).await, del_ev("n/before", r3));
    assert_quiet(&mut w, Duration::from_millis(200)).await;
    // The empty prefix watches everything.
    assert_eq!(next_event(&mut all).await.key, "elsewhere");
    assert_eq!(next_event(&mut all).await.key, "n/after");

    // Dropping a watch stops it; others go on.
    drop(all);
    let r4 = s.put("n/later", b"3".to_vec(), None).await?;
    assert_eq!(next_event(&mut w).await, put_ev("n/later", "3", r4));
    Ok(())
}

/// Asked, a watch says how far it has delivered: past writes under other prefixes too.
pub async fn watch_progress(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let mut w = s.watch("p/", None).await?;
    let asker = w
        .progress_asker()
        .expect("both backends report a watch's progress");
    let r1 = s.put("p/a", b"1".to_vec(), None).await?;
    assert_eq!(next_event(&mut w).await, put_ev("p/a", "1", r1));
    s.put("elsewhere/x", b"x".to_vec(), None).await?;
    let head = s.put("elsewhere/y", b"y".to_vec(), None).await?;
    asker.ask();
    let item = tokio::time::timeout(Duration::from_secs(5), w.next_item())
        .await
        .expect("the progress answer arrives")
        .expect("the watch goes on")?;
    match item {
        WatchItem::Progress(rev) => assert!(rev >= head, "progress {rev} < revision {head}"),
        other => panic!("expected the watch's progress, got {other:?}"),
    }
    // `next` passes progress over: the next event is the next change.
    asker.ask();
    let r2 = s.put("p/b", b"2".to_vec(), None).await?;
    assert_eq!(next_event(&mut w).await, put_ev("p/b", "2", r2));
    Ok(())
}
