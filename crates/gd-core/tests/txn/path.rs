//! What is on a transaction's path and what is not: its locks are written with it and go with
//! its end; its kept outcome is bound to a lease it shares with the others; the initiator runs
//! its own part of a step in its coordinator, without its inbox.

use std::{sync::Arc, time::Duration};

use gd_core::txn::{Transaction, TxnStatus};
use gd_store::{Store, lock};

use crate::support::*;

/// The lease and value of `key`.
async fn lease_and_value(store: &Arc<dyn Store>, key: &str) -> Option<(Option<i64>, Vec<u8>)> {
    let kv = store.get(key).await.unwrap()?;
    Some((kv.lease, kv.value))
}

#[tokio::test]
async fn a_transaction_holds_its_locks_from_its_record_to_its_end() {
    let HeldAtCreate {
        store,
        a,
        b,
        c,
        lease,
        gate,
        mut started,
        ..
    } = held_at_create("volume create v20", &["v20", "peer-x"]).await;
    // While B holds "create", both locks are the transaction's, bound to its lease.
    let (held_lease, holder) = lease_and_value(&store, "locks/v20").await.expect("locked");
    assert_eq!(held_lease, Some(lease));
    let holder = String::from_utf8(holder).unwrap();
    assert!(
        holder.contains("volume create v20") && holder.contains(&started.id.to_string()),
        "{holder}"
    );
    assert!(store.get("locks/peer-x").await.unwrap().is_some());
    // Another operation is refused meanwhile, naming this one.
    let err = c
        .engine
        .execute(
            Transaction {
                operation: "volume delete v20".into(),
                locks: vec!["v20".into()],
                steps: steps(a.id, b.id, c.id, ""),
                ..Default::default()
            },
            lease,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("volume create v20"), "{err}");
    gate.notify_one();
    started
        .wait_for(Duration::from_secs(20))
        .await
        .expect("it ends")
        .unwrap();
    // Ended: its locks went with its records.
    assert!(store.range("locks/", 0).await.unwrap().kvs.is_empty());
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_lock_lost_during_a_transaction_is_left_to_its_new_holder() {
    let HeldAtCreate {
        store,
        a,
        b,
        c,
        gate,
        mut started,
        ..
    } = held_at_create("volume create v21", &["v21", "v22"]).await;
    // Its lock of v21 goes (as when a lease runs out) and another operation takes it.
    store.delete("locks/v21").await.unwrap();
    let other = store.lease_grant(30).await.unwrap();
    let theirs = lock::try_lock(&store, "v21", other, "volume set v21 (from elsewhere)")
        .await
        .unwrap()
        .unwrap();
    gate.notify_one();
    started
        .wait_for(Duration::from_secs(20))
        .await
        .expect("it ends")
        .unwrap();
    // It ended all the same; the lock still its own went, the other's stands.
    match a.engine.status(started.id).await.unwrap() {
        Some(TxnStatus::Ended(r)) => assert!(r.failure.is_none(), "{r:?}"),
        other => panic!("{other:?}"),
    }
    assert!(store.get("locks/v22").await.unwrap().is_none());
    assert!(theirs.still_held().await.unwrap());
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    theirs.unlock().await.unwrap();
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn kept_outcomes_share_a_lease_of_two_hours() {
    let (store, _log, a, b, c, lease) = setup(true).await;
    let mut ids = vec![];
    for i in 0..3 {
        let mut started = a.engine.start(
            Transaction {
                operation: format!("volume set v3{i}"),
                locks: vec![format!("v3{i}")],
                steps: steps(a.id, b.id, c.id, ""),
                ..Default::default()
            },
            lease,
        );
        started
            .wait_for(Duration::from_secs(20))
            .await
            .expect("it ends")
            .unwrap();
        ids.push(started.id);
    }
    let mut leases = vec![];
    for id in ids {
        let (kept, _) = lease_and_value(&store, &format!("txn-results/{id}"))
            .await
            .expect("its outcome is kept");
        leases.push(kept.expect("bound to a lease"));
    }
    assert!(leases.iter().all(|l| *l == leases[0]), "{leases:?}");
    let ttl = store.lease_keep_alive(leases[0]).await.unwrap();
    assert_eq!(ttl, 2 * gd_core::txn::RESULT_KEEP_S);
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn the_initiator_runs_its_own_part_of_a_step_without_its_inbox() {
    let (store, log, a, b, c, lease) = setup(true).await;
    // An initiator whose participant does not run: its own parts run all the same.
    let i = node(&store, "I", &log, false).await;
    let notes = i
        .engine
        .execute(
            Transaction {
                operation: "volume create v40".into(),
                locks: vec!["v40".into()],
                steps: vec![
                    call::<Validate>(vec![i.id, a.id], serde_json::json!({})),
                    call::<Create>(vec![i.id], serde_json::json!({"note_on": "I"})),
                    call::<Commit>(vec![i.id, b.id], serde_json::json!({"note_on": "I"})),
                ],
                ..Default::default()
            },
            lease,
        )
        .await
        .unwrap();
    let ran = entries(&log);
    for step in ["validate", "create", "commit"] {
        assert!(ran.contains(&format!("I:{step}:run")), "{ran:?}");
    }
    assert!(
        ran.iter().position(|e| e == "I:create:run")
            > ran.iter().position(|e| e == "A:validate:run"),
        "in order: {ran:?}"
    );
    // The notes of its own steps, the last one's (which it does not report) included.
    let noted: Vec<&str> = notes.iter().map(|n| n.step.as_str()).collect();
    assert_eq!(noted, ["create", "commit"], "{notes:?}");
    assert!(store.range("txn-inbox/", 0).await.unwrap().kvs.is_empty());
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn the_initiator_s_own_last_step_failing_undoes_the_transaction() {
    let (store, log, a, b, c, lease) = setup(true).await;
    let err = a
        .engine
        .execute(
            Transaction {
                operation: "volume create v41".into(),
                locks: vec!["v41".into()],
                // Its last step, on A (the initiator) and B, fails on A.
                steps: vec![
                    call::<Validate>(vec![a.id, b.id, c.id], serde_json::json!({})),
                    call::<Commit>(vec![a.id, b.id], serde_json::json!({"fail_on": "A"})),
                ],
                ..Default::default()
            },
            lease,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, gd_core::txn::TxnError::StepFailed { node, .. } if *node == a.id),
        "{err:?}"
    );
    let ran = entries(&log);
    for undone in [
        "A:commit:undo",
        "B:commit:undo",
        "A:validate:undo",
        "C:validate:undo",
    ] {
        assert!(ran.contains(&undone.to_owned()), "{ran:?}");
    }
    assert!(store.range("locks/", 0).await.unwrap().kvs.is_empty());
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}
