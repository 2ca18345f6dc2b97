//! The transaction engine with several engines (nodes) on one store.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use gd_core::txn::{Engine, Note, Registry, Step, StepHandler, Transaction, TxnError};
use gd_store::{LocalStore, Store, lock};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

type Log = Arc<Mutex<Vec<String>>>;

/// Records every call as "<node>:<step>:<run|undo>"; fails `run` when args say so for a node,
/// and notes something when they say `note_on` that node.
struct Recorder {
    node: &'static str,
    step: &'static str,
    log: Log,
}

#[async_trait]
impl StepHandler for Recorder {
    async fn run(&self, args: &serde_json::Value) -> Result<(), String> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{}:run", self.node, self.step));
        if args["fail_on"] == self.node {
            return Err(format!("{} refuses", self.node));
        }
        Ok(())
    }
    async fn undo(&self, _: &serde_json::Value) -> Result<(), String> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{}:undo", self.node, self.step));
        Ok(())
    }
    async fn run_noted(&self, args: &serde_json::Value) -> Result<Option<String>, String> {
        self.run(args).await?;
        Ok((args["note_on"] == self.node).then(|| format!("{} had to force it", self.node)))
    }
}

struct Node {
    id: Uuid,
    engine: Arc<Engine>,
    cancel: CancellationToken,
}

fn registry(node: &'static str, log: &Log) -> Registry {
    let mut r = Registry::new();
    for step in ["validate", "create", "commit"] {
        r.register(
            step,
            Arc::new(Recorder {
                node,
                step,
                log: log.clone(),
            }),
        );
    }
    r
}

async fn node(store: &Arc<dyn Store>, name: &'static str, log: &Log, start: bool) -> Node {
    let id = Uuid::new_v4();
    store
        .put(&format!("alive/{id}"), b"{}".to_vec(), None)
        .await
        .unwrap();
    let engine = Engine::new(store.clone(), id, registry(name, log));
    let cancel = CancellationToken::new();
    if start {
        tokio::spawn(engine.clone().run_participant(cancel.clone()));
    }
    Node { id, engine, cancel }
}

fn steps(a: Uuid, b: Uuid, c: Uuid, fail_on: &str) -> Vec<Step> {
    vec![
        Step::new("validate", vec![a, b, c], json!({})),
        Step::new("create", vec![a, b], json!({"fail_on": fail_on})),
        Step::new("commit", vec![a], json!({})),
    ]
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

async fn setup(start_c: bool) -> (Arc<dyn Store>, Log, Node, Node, Node, i64) {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let a = node(&store, "A", &log, true).await;
    let b = node(&store, "B", &log, true).await;
    let c = node(&store, "C", &log, start_c).await;
    let lease = store.lease_grant(30).await.unwrap();
    (store, log, a, b, c, lease)
}

#[tokio::test]
async fn notes_of_completed_steps_reach_the_initiator() {
    let (_store, _log, a, b, c, lease) = setup(true).await;
    let mut steps = steps(a.id, b.id, c.id, "");
    steps[1].args = json!({"note_on": "B"});
    let txn = Transaction {
        operation: "volume stop v1".into(),
        locks: vec!["v1".into()],
        steps,
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
async fn steps_run_in_order_on_their_nodes_and_leave_nothing_behind() {
    let (store, log, a, b, c, lease) = setup(true).await;
    let txn = Transaction {
        operation: "volume create v1".into(),
        locks: vec!["v1".into()],
        steps: steps(a.id, b.id, c.id, ""),
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
    };
    let err = a.engine.execute(txn, lease).await.unwrap_err();
    match &err {
        TxnError::StepFailed { step, node, error } => {
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
    };
    let t = std::time::Instant::now();
    let err = a.engine.execute(txn, lease).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(err.to_string().contains("volume start v3"), "{err}");
    assert!(entries(&log).is_empty(), "nothing ran");
    held.unlock().await.unwrap();
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn a_node_that_is_down_times_out_and_undoes_when_it_returns() {
    let (store, log, a, b, c, lease) = setup(false).await;
    // C is down: no engine, no liveness.
    store.delete(&format!("alive/{}", c.id)).await.unwrap();
    let mut s = steps(a.id, b.id, c.id, "");
    s[0].timeout = Some(Duration::from_millis(800));
    let txn = Transaction {
        operation: "volume create v4".into(),
        locks: vec!["v4".into()],
        steps: s,
    };
    let err = a.engine.execute(txn, lease).await.unwrap_err();
    assert!(
        matches!(&err, TxnError::Timeout { nodes, .. } if nodes == &vec![c.id]),
        "{err:?}"
    );
    // A and B undid; C has not confirmed: the transaction is kept as failed.
    assert!(entries(&log).contains(&"A:validate:undo".to_owned()));
    assert!(!store.range("txn/", 0).await.unwrap().kvs.is_empty());
    // C comes back, runs its undo; the cleanup leader then forgets the transaction.
    c.engine.participate_once().await.unwrap();
    assert!(entries(&log).contains(&"C:validate:undo".to_owned()));
    a.engine.cleanup_once().await.unwrap();
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    for n in [a, b, c] {
        n.cancel.cancel();
    }
}

#[tokio::test]
async fn the_cleanup_leader_rolls_back_the_transaction_of_a_dead_initiator() {
    let (store, log, a, b, c, _lease) = setup(true).await;
    // The initiator runs in a task that dies after the first step (its node goes offline).
    let dead = node(&store, "D", &log, false).await;
    let dead_lease = store.lease_grant(30).await.unwrap();
    let mut s = steps(a.id, b.id, c.id, "");
    s[1].nodes = vec![dead.id]; // the dead initiator's own step never runs
    s[1].timeout = Some(Duration::from_secs(600));
    let txn = Transaction {
        operation: "volume create v5".into(),
        locks: vec!["v5".into()],
        steps: s,
    };
    let engine = dead.engine.clone();
    let run = tokio::spawn(async move { engine.execute(txn, dead_lease).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    run.abort();
    store.delete(&format!("alive/{}", dead.id)).await.unwrap();
    store.lease_revoke(dead_lease).await.unwrap();
    assert!(entries(&log).contains(&"C:validate:run".to_owned()));

    b.engine.cleanup_once().await.unwrap();
    let log = entries(&log);
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
