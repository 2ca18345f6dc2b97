//! Cases on leases: expiry, keep-alive and revocation, and the keys bound to them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gd_store::{EventKind, StoreResult};

use crate::TTL;
use crate::backend::Backend;
use crate::support::{
    assert_quiet, del_ev, eventually, is_invalid, is_lease_not_found, keys, next_event, put_ev,
};

pub async fn lease_expiry_and_keep_alive(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let granted = Instant::now();
    let short = s.lease_grant(TTL).await?;
    let kept = s.lease_grant(TTL).await?;
    assert!(short > 0 && kept > 0 && short != kept);
    let start = s.revision().await? + 1;
    let r_short = s.put("l/short", b"s".to_vec(), Some(short)).await?;
    s.put("l/kept", b"k".to_vec(), Some(kept)).await?;
    s.put("l/plain", b"p".to_vec(), None).await?;
    assert_eq!(s.get("l/short").await?.expect("put").lease, Some(short));
    let mut w = s.watch("l/short", Some(start)).await?;

    // Keep one lease alive in the background, more often than its TTL.
    let stop = Arc::new(AtomicBool::new(false));
    let keeper = {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let ttl = s.lease_keep_alive(kept).await?;
                assert!(ttl >= TTL, "keep-alive granted {ttl} s");
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            StoreResult::Ok(())
        })
    };

    let expired = eventually(Duration::from_secs(10), || async {
        Ok(s.get("l/short").await?.is_none())
    })
    .await?;
    assert!(
        expired,
        "the key of an expired lease is still there after 10 s"
    );
    let took = granted.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "the lease expired early, after {took:?}"
    );

    // Its delete arrives on the watch, after its put.
    assert_eq!(next_event(&mut w).await, put_ev("l/short", "s", r_short));
    let gone = next_event(&mut w).await;
    assert_eq!(
        (gone.kind, gone.key.as_str()),
        (EventKind::Delete, "l/short")
    );
    assert!(gone.revision > r_short);

    // Well past the TTL, the kept lease's key is still there.
    let past_ttl = Duration::from_secs(TTL as u64) + Duration::from_millis(1500);
    if let Some(rest) = past_ttl.checked_sub(granted.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    assert!(
        s.get("l/kept").await?.is_some(),
        "keep-alive did not keep the lease"
    );
    assert!(s.get("l/plain").await?.is_some());
    stop.store(true, Ordering::SeqCst);
    keeper.await.expect("keeper task")?;

    // The expired lease is gone for good.
    assert!(is_lease_not_found(s.lease_keep_alive(short).await, short));
    assert!(is_lease_not_found(
        s.put("l/again", b"x".to_vec(), Some(short)).await,
        short
    ));
    assert!(is_lease_not_found(s.lease_revoke(short).await, short));
    assert!(is_invalid(s.lease_grant(0).await));
    Ok(())
}

pub async fn lease_revoke(b: &Backend) -> StoreResult<()> {
    let s = &b.store;
    let lease = s.lease_grant(60).await?;
    s.put("r/1", b"1".to_vec(), Some(lease)).await?;
    s.put("r/2", b"2".to_vec(), Some(lease)).await?;
    s.put("r/3", b"3".to_vec(), None).await?;
    // Re-putting without the lease detaches the key from it.
    s.put("r/4", b"4".to_vec(), Some(lease)).await?;
    s.put("r/4", b"4".to_vec(), None).await?;
    assert_eq!(s.get("r/4").await?.expect("put").lease, None);

    let mut w = s.watch("r/", None).await?;
    let before = s.revision().await?;
    s.lease_revoke(lease).await?;
    let after = s.revision().await?;
    assert_eq!(
        after,
        before + 1,
        "revoking deletes all its keys in one revision"
    );
    assert_eq!(next_event(&mut w).await, del_ev("r/1", after));
    assert_eq!(next_event(&mut w).await, del_ev("r/2", after));
    assert_quiet(&mut w, Duration::from_millis(200)).await;
    assert_eq!(keys(&s.range("r/", 0).await?.kvs), ["r/3", "r/4"]);

    assert!(is_lease_not_found(s.lease_revoke(lease).await, lease));
    assert!(is_lease_not_found(s.lease_keep_alive(lease).await, lease));
    let never = 0x5eed;
    assert!(is_lease_not_found(
        s.put("r/5", b"5".to_vec(), Some(never)).await,
        never
    ));
    Ok(())
}
