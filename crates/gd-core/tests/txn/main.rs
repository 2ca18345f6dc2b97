//! The transaction engine with several engines (nodes) on one store.

mod lost_answer;
mod path;
mod support;
mod typed;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use gd_core::txn::{Engine, Failure, Note, Step, StepError, Transaction, TxnError, TxnStatus};
use gd_store::{LocalStore, Store, lock};
use serde_json::json;
use support::*;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[tokio::test]
async fn notes_of_completed_steps_reach_the_initiator() {
    let (_store, _log, a, b, c, lease) = setup(true).await;
    let mut steps = steps(a.id, b.id, c.id, "");
    steps[1].args = json!({"note_on": "B"});
    let txn = Transaction {
        operation: "volume stop v1".into(),
        locks: vec!["v1".into()],
        steps,
        ..Default::default()
    };
    let notes = a.engine.execute(txn, lease).await.unwrap();
    assert_eq!(
        notes,
        [Note {
            step: "create".into(),
            node: b.id,
            text: "B had to force it".into(),
        }]
    );
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_transaction_wakes_only_the_nodes_it_involves() {
    let (store, log, a, b, c, lease) = setup(true).await;
    // A fourth node, on a store that counts what its watches deliver.
    let metrics = Arc::new(gd_core::metrics::Metrics::default());
    let counted = gd_store::Switchable::observed(store.clone(), metrics.clone());
    let d_id = Uuid::new_v4();
    store
        .put(&format!("alive/{d_id}"), b"{}".to_vec(), None)
        .await
        .unwrap();
    let d = Engine::new(counted, d_id, support::registry("D", &log));
    let cancel = CancellationToken::new();
    tokio::spawn(d.clone().run_participant(cancel.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..5 {
        let txn = Transaction {
            operation: format!("volume create v{i}"),
            locks: vec![format!("v{i}")],
            steps: steps(a.id, b.id, c.id, if i == 3 { "B" } else { "" }),
            ..Default::default()
        };
        let _ = a.engine.execute(txn, lease).await;
    }
    assert_eq!(
        metrics.watch_events_total(),
        0,
        "the node no step names was woken"
    );
    assert!(!entries(&log).iter().any(|e| e.starts_with("D:")));
    assert!(
        store.range("txn-inbox/", 0).await.unwrap().kvs.is_empty(),
        "every inbox is emptied once its transactions ended"
    );
    cancel.cancel();
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_step_on_more_nodes_than_one_store_transaction_holds_reaches_them_all() {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let mut nodes = vec![];
    for _ in 0..150 {
        nodes.push(node(&store, "N", &log, true).await);
    }
    let ids: Vec<Uuid> = nodes.iter().map(|n| n.id).collect();
    let lease = store.lease_grant(30).await.unwrap();
    let txn = Transaction {
        operation: "volume start wide".into(),
        locks: vec!["wide".into()],
        steps: vec![
            call::<Validate>(ids.clone(), json!({})),
            call::<Create>(ids, json!({})),
        ],
        ..Default::default()
    };
    nodes[0].engine.execute(txn, lease).await.unwrap();
    let log = entries(&log);
    for step in ["validate", "create"] {
        let ran = log
            .iter()
            .filter(|e| **e == format!("N:{step}:run"))
            .count();
        assert_eq!(ran, 150, "{step}");
    }
    assert!(store.range("txn-inbox/", 0).await.unwrap().kvs.is_empty());
    for n in nodes {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn steps_run_in_order_on_their_nodes_and_leave_nothing_behind() {
    let (store, log, a, b, c, lease) = setup(true).await;
    let txn = Transaction {
        operation: "volume create v1".into(),
        locks: vec!["v1".into()],
        steps: steps(a.id, b.id, c.id, ""),
        ..Default::default()
    };
    a.engine.execute(txn, lease).await.unwrap();
    let log = entries(&log);
    let pos = |e: &str| {
        log.iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("{e} missing in {log:?}"))
    };
    for n in ["A", "B", "C"] {
        assert!(pos(&format!("{n}:validate:run")) < pos("A:create:run"));
        assert!(pos(&format!("{n}:validate:run")) < pos("B:create:run"));
    }
    assert!(pos("A:create:run") < pos("A:commit:run") && pos("B:create:run") < pos("A:commit:run"));
    assert!(
        !log.iter()
            .any(|e| e.starts_with("C:create") || e.ends_with(":undo")),
        "{log:?}"
    );
    assert!(
        store.range("txn/", 0).await.unwrap().kvs.is_empty(),
        "the transaction is forgotten"
    );
    assert!(
        store.range("locks/", 0).await.unwrap().kvs.is_empty(),
        "its locks are released"
    );
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_failed_step_undoes_the_done_steps_in_reverse_order() {
    let (store, log, a, b, c, lease) = setup(true).await;
    let txn = Transaction {
        operation: "volume create v2".into(),
        locks: vec!["v2".into()],
        steps: steps(a.id, b.id, c.id, "B"),
        ..Default::default()
    };
    let err = a.engine.execute(txn, lease).await.unwrap_err();
    match &err {
        TxnError::StepFailed {
            step,
            node,
            error,
            refused,
        } => {
            assert_eq!(*refused, None, "it failed; it did not refuse its input");
            assert_eq!(step, "create");
            assert_eq!(*node, b.id);
            assert!(error.contains("B refuses"));
        }
        other => panic!("{other:?}"),
    }
    let log = entries(&log);
    let pos = |e: &str| {
        log.iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("{e} missing in {log:?}"))
    };
    // The failed step is undone on its nodes, then the validation step on all of its nodes.
    for n in ["A", "B"] {
        for m in ["A", "B", "C"] {
            assert!(pos(&format!("{n}:create:undo")) < pos(&format!("{m}:validate:undo")));
        }
    }
    assert!(
        !log.contains(&"A:commit:run".to_owned()),
        "no step after the failed one ran"
    );
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    assert!(store.range("locks/", 0).await.unwrap().kvs.is_empty());
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_busy_object_fails_at_once_naming_the_operation() {
    let (store, log, a, b, c, lease) = setup(true).await;
    let other = store.lease_grant(30).await.unwrap();
    let held = lock::try_lock(&store, "v3", other, "volume start v3 (from elsewhere)")
        .await
        .unwrap()
        .unwrap();
    let txn = Transaction {
        operation: "volume delete v3".into(),
        locks: vec!["v3".into()],
        steps: steps(a.id, b.id, c.id, ""),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let err = a.engine.execute(txn, lease).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(err.to_string().contains("volume start v3"), "{err}");
    assert!(entries(&log).is_empty(), "nothing ran");
    for nothing in ["txn/", "txn-inbox/"] {
        assert!(
            store.range(nothing, 0).await.unwrap().kvs.is_empty(),
            "nothing written under {nothing}"
        );
    }
    held.unlock().await.unwrap();
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_node_that_is_down_fails_its_step_at_once_and_undoes_when_it_returns() {
    let (store, log, a, b, c, lease) = setup(false).await;
    // C is down: no engine, no liveness.
    store.delete(&format!("alive/{}", c.id)).await.unwrap();
    let mut s = steps(a.id, b.id, c.id, "");
    s[0].timeout = Some(Duration::from_secs(60));
    let txn = Transaction {
        operation: "volume create v4".into(),
        locks: vec!["v4".into()],
        steps: s,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let err = a.engine.execute(txn, lease).await.unwrap_err();
    assert!(
        matches!(&err, TxnError::NodesGone { nodes, .. } if nodes == &vec![c.id]),
        "{err:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // A and B undid; C has not confirmed: the transaction is kept as failed.
    assert!(entries(&log).contains(&"A:validate:undo".to_owned()));
    assert!(!store.range("txn/", 0).await.unwrap().kvs.is_empty());
    // What it owes waits in C's inbox, and only there.
    let inboxes = store.range("txn-inbox/", 0).await.unwrap().kvs;
    assert_eq!(inboxes.len(), 1, "{inboxes:?}");
    assert!(inboxes[0].key.starts_with(&format!("txn-inbox/{}/", c.id)));
    // C comes back, runs its undo; the cleanup leader then forgets the transaction.
    c.engine.participate_once().await.unwrap();
    assert!(entries(&log).contains(&"C:validate:undo".to_owned()));
    a.engine.cleanup_once().await.unwrap();
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    assert!(store.range("txn-inbox/", 0).await.unwrap().kvs.is_empty());
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn the_cleanup_leader_rolls_back_the_transaction_of_a_dead_initiator() {
    let (store, log, a, b, c, _lease) = setup(true).await;
    // The initiator runs in a task that dies after the first step (its node goes offline),
    // while it runs its own part of the second one, which never gets past its gate.
    let mut reg = registry_but("D", &log, Create::NAME);
    reg.add(Gated::<Create> {
        inner: Recorder::new("D", &log),
        gate: Arc::new(tokio::sync::Notify::new()),
    })
    .unwrap();
    let dead = node_with(&store, reg, false).await;
    let dead_lease = store.lease_grant(30).await.unwrap();
    let mut s = steps(a.id, b.id, c.id, "");
    s[1].nodes = vec![dead.id];
    s[1].timeout = Some(Duration::from_secs(600));
    let txn = Transaction {
        operation: "volume create v5".into(),
        locks: vec!["v5".into()],
        steps: s,
        ..Default::default()
    };
    let engine = dead.engine.clone();
    let run = tokio::spawn(async move { engine.execute(txn, dead_lease).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    dead.engine.shutdown();
    assert!(run.await.unwrap().is_err());
    store.delete(&format!("alive/{}", dead.id)).await.unwrap();
    store.lease_revoke(dead_lease).await.unwrap();
    assert!(entries(&log).contains(&"C:validate:run".to_owned()));

    b.engine.cleanup_once().await.unwrap();
    let log = entries(&log);
    assert!(!log.contains(&"D:create:run".to_owned()), "{log:?}");
    for n in ["A", "B", "C"] {
        assert!(log.contains(&format!("{n}:validate:undo")), "{log:?}");
    }
    // The dead node never confirms its undo of `create`: kept as failed, then forgotten when
    // it returns and undoes.
    dead.engine.participate_once().await.unwrap();
    b.engine.cleanup_once().await.unwrap();
    assert!(
        store.range("txn/", 0).await.unwrap().kvs.is_empty(),
        "{:?}",
        store.range("txn/", 0).await.unwrap().kvs
    );
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

/// A step that "kills" its initiator (stops its engine's coordinators) while it runs, as a
/// `kill -9` of the initiator at that moment would.
struct KillInitiator<N> {
    inner: Recorder<N>,
    initiator: Arc<Mutex<Option<Arc<Engine>>>>,
}

#[async_trait]
impl<N: Name> Step for KillInitiator<N> {
    const NAME: &'static str = N::NAME;
    type Args = serde_json::Value;

    async fn run(&self, args: &serde_json::Value) -> Result<(), StepError> {
        if let Some(e) = self.initiator.lock().unwrap().as_ref() {
            e.shutdown();
        }
        self.inner.run(args).await
    }
    async fn undo(&self, args: &serde_json::Value) -> Result<(), StepError> {
        self.inner.undo(args).await
    }
}

/// Three nodes; `killer_step` on node K kills the initiator I while it runs. Returns the
/// store, the log, I's id, the other engines and the outcome of I's call.
async fn killed_during(
    killer_step: &'static str,
) -> (Arc<dyn Store>, Log, Uuid, Arc<Engine>, Vec<Node>) {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let initiator = node(&store, "I", &log, true).await;
    let b = node(&store, "B", &log, true).await;
    let slot: Arc<Mutex<Option<Arc<Engine>>>> =
        Arc::new(Mutex::new(Some(initiator.engine.clone())));
    let k_id = Uuid::new_v4();
    store
        .put(&format!("alive/{k_id}"), b"{}".to_vec(), None)
        .await
        .unwrap();
    let mut r = registry_but("K", &log, killer_step);
    match killer_step {
        "validate" => r.add(KillInitiator::<Validate> {
            inner: Recorder::new("K", &log),
            initiator: slot,
        }),
        "create" => r.add(KillInitiator::<Create> {
            inner: Recorder::new("K", &log),
            initiator: slot,
        }),
        _ => r.add(KillInitiator::<Commit> {
            inner: Recorder::new("K", &log),
            initiator: slot,
        }),
    }
    .unwrap();
    let k_engine = Engine::new(store.clone(), k_id, r);
    let k_cancel = CancellationToken::new();
    tokio::spawn(k_engine.clone().run_participant(k_cancel.clone()));
    let k = Node {
        id: k_id,
        engine: k_engine,
        cancel: k_cancel,
    };
    let lease = store.lease_grant(30).await.unwrap();
    let txn = Transaction {
        operation: "volume create v9".into(),
        locks: vec!["v9".into()],
        steps: vec![
            call::<Validate>(vec![initiator.id, b.id, k.id], json!({})),
            call::<Create>(vec![b.id, k.id], json!({})),
            call::<Commit>(vec![k.id], json!({})),
        ],
        ..Default::default()
    };
    let err = initiator.engine.execute(txn, lease).await.unwrap_err();
    assert!(matches!(err, TxnError::Invalid(_)), "{err:?}");
    // Let the killer's report land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    initiator.cancel.cancel();
    let id = initiator.id;
    (store, log, id, b.engine.clone(), vec![b, k])
}

#[tokio::test]
async fn an_abandoned_transaction_whose_last_step_completed_is_committed_never_undone() {
    let (store, log, initiator, b, rest) = killed_during("commit").await;
    assert!(!store.range("txn/", 0).await.unwrap().kvs.is_empty());
    // The initiator is gone for good: the cleanup leader ends its transaction.
    store.delete(&format!("alive/{initiator}")).await.unwrap();
    b.cleanup_once().await.unwrap();
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    let log = entries(&log);
    assert!(log.contains(&"K:commit:run".to_owned()), "{log:?}");
    assert!(!log.iter().any(|e| e.ends_with(":undo")), "{log:?}");
    for n in rest {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_restarted_initiator_ends_its_own_transactions_at_once() {
    // Killed during the last step: committed.
    let (store, log, initiator, _b, rest) = killed_during("commit").await;
    let restarted = Engine::new(store.clone(), initiator, registry("I", &log));
    assert_eq!(restarted.recover_own().await.unwrap(), 1);
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    assert!(!entries(&log).iter().any(|e| e.ends_with(":undo")));
    // The dead coordinator's lock is free at once, not when its lease runs out.
    let lease = store.lease_grant(30).await.unwrap();
    assert!(
        lock::try_lock(&store, "v9", lease, "next")
            .await
            .unwrap()
            .is_ok()
    );
    for n in rest {
        n.cancel.cancel();
    }
    // Killed during an earlier step: undone, in reverse order, on every node that did it.
    let (store, log, initiator, _b, rest) = killed_during("create").await;
    let restarted = Engine::new(store.clone(), initiator, registry("I", &log));
    let cancel = CancellationToken::new();
    tokio::spawn(restarted.clone().run_participant(cancel.clone()));
    assert_eq!(restarted.recover_own().await.unwrap(), 1);
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    let log = entries(&log);
    for n in ["I", "B", "K"] {
        assert!(log.contains(&format!("{n}:validate:undo")), "{log:?}");
    }
    assert!(log.contains(&"K:create:undo".to_owned()), "{log:?}");
    // A transaction the restarted engine runs itself is never taken for an abandoned one.
    assert_eq!(restarted.recover_own().await.unwrap(), 0);
    cancel.cancel();
    for n in rest {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_caller_that_goes_away_leaves_the_transaction_to_finish() {
    let (store, log, a, b, c, lease) = setup(true).await;
    let txn = Transaction {
        operation: "volume create v10".into(),
        locks: vec!["v10".into()],
        steps: steps(a.id, b.id, c.id, ""),
        ..Default::default()
    };
    // The caller (an HTTP request) is dropped right after the transaction starts.
    let call = a.engine.execute(txn, lease);
    let _ = tokio::time::timeout(Duration::from_millis(1), call).await;
    let done = || async {
        store.range("txn/", 0).await.unwrap().kvs.is_empty()
            && entries(&log).contains(&"A:commit:run".to_owned())
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            entries(&log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its lock is free again.
    let again = lock::try_lock(&store, "v10", lease, "next").await.unwrap();
    assert!(again.is_ok());
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn an_ended_transaction_keeps_its_outcome_for_whoever_asks() {
    let (_store, _log, a, b, c, lease) = setup(true).await;
    // Succeeded: the outcome carries the notes, and any node reads it.
    let mut ok_steps = steps(a.id, b.id, c.id, "");
    ok_steps[1].args = json!({"note_on": "B"});
    let mut started = a.engine.start(
        Transaction {
            operation: "volume create v11".into(),
            locks: vec!["v11".into()],
            steps: ok_steps,
            ..Default::default()
        },
        lease,
    );
    let id = started.id;
    started
        .wait_for(Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    match b.engine.status(id).await.unwrap() {
        Some(TxnStatus::Ended(r)) => {
            assert_eq!(r.failure, None);
            assert_eq!(r.operation, "volume create v11");
            assert_eq!(r.initiator, a.id);
            assert_eq!(r.steps, ["validate", "create", "commit"]);
            assert_eq!(r.notes.len(), 1, "{r:?}");
            assert!(r.finished_unix_ms >= r.started_unix_ms);
        }
        other => panic!("{other:?}"),
    }
    // Failed: the outcome says which step failed where, and that it was undone.
    let err = a
        .engine
        .execute(
            Transaction {
                operation: "volume create v12".into(),
                locks: vec!["v12".into()],
                steps: steps(a.id, b.id, c.id, "B"),
                ..Default::default()
            },
            lease,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TxnError::StepFailed { .. }), "{err:?}");
    let listed = c.engine.list(10).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    match &listed[0] {
        TxnStatus::Ended(r) => {
            assert_eq!(r.operation, "volume create v12", "newest first");
            assert_eq!(
                r.failure,
                Some(Failure::StepFailed {
                    step: "create".into(),
                    node: b.id,
                    error: "B refuses".into(),
                    refused: None,
                })
            );
            assert!(r.undo_pending.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(listed[1].id(), id);
    // Unknown: nothing.
    assert_eq!(a.engine.status(Uuid::new_v4()).await.unwrap(), None);
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_running_transaction_says_which_step_it_is_at() {
    // C is not running (but alive): the transaction waits at "create", C's step.
    let (_store, _log, a, b, c, lease) = setup(false).await;
    let mut started = a.engine.start(
        Transaction {
            operation: "volume create v13".into(),
            locks: vec!["v13".into()],
            steps: vec![
                call::<Validate>(vec![a.id, b.id], json!({})),
                call::<Create>(vec![c.id], json!({})),
            ],
            ..Default::default()
        },
        lease,
    );
    let mut seen = None;
    for _ in 0..100 {
        if let Some(s @ TxnStatus::Running { step: 1, .. }) =
            b.engine.status(started.id).await.unwrap()
        {
            seen = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match seen {
        Some(TxnStatus::Running {
            operation,
            steps,
            undoing,
            ..
        }) => {
            assert_eq!(operation, "volume create v13");
            assert_eq!(steps, ["validate", "create"]);
            assert!(!undoing);
        }
        other => panic!("{other:?}"),
    }
    assert!(started.wait_for(Duration::from_millis(10)).await.is_none());
    let listed = b.engine.list(0).await.unwrap();
    assert!(
        matches!(listed.as_slice(), [TxnStatus::Running { .. }]),
        "{listed:?}"
    );
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_coordinator_taken_over_never_starts_a_later_step() {
    // A waits at "create" for B (held until the gate opens). The cleanup leader (C) judges A
    // gone and takes over...
    let HeldAtCreate {
        store,
        log,
        a,
        b,
        c,
        gate,
        mut started,
        ..
    } = held_at_create("volume create v14", &["v14"]).await;
    store.delete(&format!("alive/{}", a.id)).await.unwrap();
    let cleanup = tokio::spawn({
        let c = c.engine.clone();
        async move { c.cleanup_once().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...then B completes "create": A, still alive, must not go on to "commit".
    gate.notify_one();
    cleanup.await.unwrap().unwrap();
    let err = started
        .wait_for(Duration::from_secs(40))
        .await
        .expect("the old coordinator stops")
        .unwrap_err();
    assert!(matches!(err, TxnError::Abandoned { .. }), "{err:?}");
    let log = entries(&log);
    assert!(!log.iter().any(|e| e.contains(":commit:run")), "{log:?}");
    for n in ["A", "B", "C"] {
        assert!(log.contains(&format!("{n}:validate:undo")), "{log:?}");
    }
    match c.engine.status(started.id).await.unwrap() {
        Some(TxnStatus::Ended(r)) => {
            assert!(
                matches!(r.failure, Some(Failure::Abandoned { .. })),
                "{r:?}"
            );
            assert!(r.ended_by.contains("cleanup leader"), "{r:?}");
        }
        other => panic!("{other:?}"),
    }
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}
