//! Cases on the locks built on leases (`gd_store::lock`): taking, holding, releasing, and
//! contention between clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gd_store::lock::{self, Held};
use gd_store::{StoreResult, Txn, TxnOp};

use crate::backend::Backend;
use crate::support::{eventually, is_invalid, is_lease_not_found};

pub async fn lock_basics(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let lease = s.lease_grant(60).await?;
    let guard = lock::try_lock(s, "vol1", lease, "volume start by n1")
        .await?
        .expect("free");
    assert_eq!(guard.name(), "vol1");
    assert_eq!(
        s.get("locks/vol1").await?.expect("lock key").lease,
        Some(lease)
    );

    // Busy: answered at once, naming the operation.
    let held = lock::try_lock(s, "vol1", lease, "volume stop by n2")
        .await?
        .expect_err("held");
    assert_eq!(
        held,
        Held {
            name: "vol1".into(),
            holder: "volume start by n1".into()
        }
    );
    assert!(
        held.to_string()
            .contains("volume start by n1 is in progress"),
        "{held}"
    );
    // Waiting is bounded.
    let t = Instant::now();
    let r = lock::lock(
        s,
        "vol1",
        lease,
        "volume stop by n2",
        Duration::from_millis(300),
    )
    .await?;
    assert_eq!(r.expect_err("still held").holder, "volume start by n1");
    assert!(t.elapsed() >= Duration::from_millis(300) && t.elapsed() < Duration::from_secs(3));
    // Locks are per object: a name that extends another is another lock.
    let other = lock::try_lock(s, "vol10", lease, "x").await?.expect("free");

    // Writes can be fenced on holding the lock.
    let fenced = Txn::new()
        .when([guard.held_compare()])
        .and_then([TxnOp::put("fenced", "1")]);
    assert!(s.txn(fenced.clone()).await?.succeeded);
    assert!(guard.unlock().await?, "unlock of a held lock");
    assert!(
        !s.txn(fenced).await?.succeeded,
        "the fence holds only while the lock is held"
    );
    assert!(other.unlock().await?);

    // A lock goes with its lease, and its late unlock does not remove the next holder's lock.
    let lease2 = s.lease_grant(60).await?;
    let stale = lock::try_lock(s, "vol2", lease2, "n2")
        .await?
        .expect("free");
    s.lease_revoke(lease2).await?;
    let next = lock::try_lock(s, "vol2", lease, "n1")
        .await?
        .expect("freed by the lease");
    assert!(!stale.unlock().await?, "a stale guard must not unlock");
    assert!(s.get("locks/vol2").await?.is_some());

    // A waiter gets the lock as soon as it is released.
    let waiter = {
        let s = s.clone();
        tokio::spawn(
            async move { lock::lock(&s, "vol2", lease, "n3", Duration::from_secs(10)).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let released = Instant::now();
    assert!(next.unlock().await?);
    let got = waiter
        .await
        .expect("waiter task")?
        .expect("acquired after release");
    assert!(
        released.elapsed() < Duration::from_secs(2),
        "the waiter took {:?}",
        released.elapsed()
    );
    assert_eq!(s.get("locks/vol2").await?.expect("held").value, b"n3");

    // Dropping a guard releases the lock in the background.
    drop(got);
    let freed = eventually(Duration::from_secs(5), || async {
        Ok(s.get("locks/vol2").await?.is_none())
    })
    .await?;
    assert!(freed, "a dropped guard did not release its lock");

    assert!(is_lease_not_found(
        lock::try_lock(s, "vol3", 0x5eed, "x")
            .await
            .map(|r| r.is_ok()),
        0x5eed
    ));
    assert!(is_invalid(
        lock::try_lock(s, "", lease, "x").await.map(|r| r.is_ok())
    ));
    Ok(())
}

pub async fn lock_contention(b: &Backend) -> StoreResult<()> {
    const ROUNDS: usize = 10;
    let inside = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for i in 0..2 {
        let store = b.client().await;
        let inside = inside.clone();
        workers.push(tokio::spawn(async move {
            let lease = store.lease_grant(30).await?;
            let mut rounds = 0;
            for _ in 0..ROUNDS {
                let guard = lock::lock(
                    &store,
                    "contended",
                    lease,
                    &format!("worker {i}"),
                    Duration::from_secs(10),
                )
                .await?
                .unwrap_or_else(|held| panic!("worker {i} waited 10 s: {held}"));
                assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.store(false, Ordering::SeqCst);
                assert!(guard.unlock().await?);
                rounds += 1;
                tokio::task::yield_now().await;
            }
            StoreResult::Ok(rounds)
        }));
    }
    let done = Arc::new(AtomicUsize::new(0));
    for w in workers {
        let rounds = w.await.expect("worker task")?;
        assert_eq!(rounds, ROUNDS);
        done.fetch_add(rounds, Ordering::SeqCst);
    }
    assert_eq!(done.load(Ordering::SeqCst), 2 * ROUNDS);
    Ok(())
}
