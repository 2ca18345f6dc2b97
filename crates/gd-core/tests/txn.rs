//! The transaction engine with several engines (nodes) on one store.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use gd_core::txn::{
    Call, Engine, Failure, Note, Registry, Step, StepError, Transaction, TxnError, TxnStatus,
};
use gd_store::{LocalStore, Store, lock};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

type Log = Arc<Mutex<Vec<String>>>;

/// The three steps of these tests, by name.
trait Name: Send + Sync + 'static {
    const NAME: &'static str;
}
struct Validate;
struct Create;
struct Commit;
impl Name for Validate {
    const NAME: &'static str = "validate";
}
impl Name for Create {
    const NAME: &'static str = "create";
}
impl Name for Commit {
    const NAME: &'static str = "commit";
}

/// Records every call as "<node>:<step>:<run|undo>"; fails `run` when args say so for a node,
/// and notes something when they say `note_on` that node.
struct Recorder<N> {
    node: &'static str,
    log: Log,
    name: std::marker::PhantomData<N>,
}

impl<N> Recorder<N> {
    fn new(node: &'static str, log: &Log) -> Recorder<N> {
        Recorder {
            node,
            log: log.clone(),
            name: std::marker::PhantomData,
        }
    }
}

#[async_trait]
impl<N: Name> Step for Recorder<N> {
    const NAME: &'static str = N::NAME;
    type Args = serde_json::Value;

    async fn run(&self, args: &serde_json::Value) -> Result<(), StepError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{}:run", self.node, N::NAME));
        if args["fail_on"] == self.node {
            return Err(format!("{} refuses", self.node).into());
        }
        Ok(())
    }
    async fn undo(&self, _: &serde_json::Value) -> Result<(), StepError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{}:undo", self.node, N::NAME));
        Ok(())
    }
    async fn run_noted(&self, args: &serde_json::Value) -> Result<Option<String>, StepError> {
        self.run(args).await?;
        Ok((args["note_on"] == self.node).then(|| format!("{} had to force it", self.node)))
    }
}

/// The call of step `N` (a [`Recorder`]).
fn call<N: Name>(nodes: Vec<Uuid>, args: serde_json::Value) -> Call {
    Recorder::<N>::call(nodes, &args)
}

struct Node {
    id: Uuid,
    engine: Arc<Engine>,
    cancel: CancellationToken,
}

fn registry(node: &'static str, log: &Log) -> Registry {
    registry_but(node, log, "")
}

/// The three recording steps but `except` (which the test registers itself).
fn registry_but(node: &'static str, log: &Log, except: &str) -> Registry {
    let mut r = Registry::new();
    if except != Validate::NAME {
        r.add(Recorder::<Validate>::new(node, log)).unwrap();
    }
    if except != Create::NAME {
        r.add(Recorder::<Create>::new(node, log)).unwrap();
    }
    if except != Commit::NAME {
        r.add(Recorder::<Commit>::new(node, log)).unwrap();
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

fn steps(a: Uuid, b: Uuid, c: Uuid, fail_on: &str) -> Vec<Call> {
    vec![
        call::<Validate>(vec![a, b, c], json!({})),
        call::<Create>(vec![a, b], json!({"fail_on": fail_on})),
        call::<Commit>(vec![a], json!({})),
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
    dead.engine.shutdown();
    assert!(run.await.unwrap().is_err());
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

/// A step that holds until its gate opens, then runs like a [`Recorder`].
struct Gated<N> {
    inner: Recorder<N>,
    gate: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl<N: Name> Step for Gated<N> {
    const NAME: &'static str = N::NAME;
    type Args = serde_json::Value;

    async fn run(&self, args: &serde_json::Value) -> Result<(), StepError> {
        self.gate.notified().await;
        self.inner.run(args).await
    }
    async fn undo(&self, args: &serde_json::Value) -> Result<(), StepError> {
        self.inner.undo(args).await
    }
}

#[tokio::test]
async fn a_coordinator_taken_over_never_starts_a_later_step() {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let gate = Arc::new(tokio::sync::Notify::new());
    let a = node(&store, "A", &log, true).await;
    // B's "create" holds until the gate opens.
    let b_id = Uuid::new_v4();
    store
        .put(&format!("alive/{b_id}"), b"{}".to_vec(), None)
        .await
        .unwrap();
    let mut reg = registry_but("B", &log, Create::NAME);
    reg.add(Gated::<Create> {
        inner: Recorder::new("B", &log),
        gate: gate.clone(),
    })
    .unwrap();
    let b_engine = Engine::new(store.clone(), b_id, reg);
    let b_cancel = CancellationToken::new();
    tokio::spawn(b_engine.clone().run_participant(b_cancel.clone()));
    let c = node(&store, "C", &log, true).await;
    let lease = store.lease_grant(30).await.unwrap();
    let mut started = a.engine.start(
        Transaction {
            operation: "volume create v14".into(),
            locks: vec!["v14".into()],
            steps: steps(a.id, b_id, c.id, ""),
        },
        lease,
    );
    // A waits at "create" for B. The cleanup leader (C) judges A gone and takes over...
    for _ in 0..100 {
        if entries(&log).contains(&"A:create:run".to_owned()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    b_cancel.cancel();
    for n in [a, c] {
        n.cancel.cancel();
    }
}

/// A check with typed arguments: refuses a brick named "/etc", fails on "broken".
struct CheckBricks;

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckArgs {
    bricks: Vec<String>,
}

#[async_trait]
impl Step for CheckBricks {
    const NAME: &'static str = "check-bricks";
    type Args = CheckArgs;

    async fn run(&self, args: &CheckArgs) -> Result<(), StepError> {
        for b in &args.bricks {
            match b.as_str() {
                "/etc" => return Err(StepError::refused("brick check", "brick /etc is /etc")),
                "broken" => return Err("the disk is broken".into()),
                _ => {}
            }
        }
        Ok(())
    }
    async fn undo(&self, _: &CheckArgs) -> Result<(), StepError> {
        Ok(())
    }
}

#[tokio::test]
async fn steps_are_typed_and_the_engine_refuses_what_nobody_registered() {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let a = node(&store, "A", &log, false).await;
    let mut reg = registry("A", &log);
    reg.add(CheckBricks).unwrap();
    // One name, one step.
    let again = reg.add(CheckBricks).map(|_| ()).unwrap_err();
    assert_eq!(
        again.to_string(),
        "internal: step check-bricks is registered twice"
    );
    assert_eq!(
        reg.names(),
        ["check-bricks", "commit", "create", "validate"]
    );
    let engine = Engine::new(store.clone(), a.id, reg);
    let cancel = CancellationToken::new();
    tokio::spawn(engine.clone().run_participant(cancel.clone()));
    let lease = store.lease_grant(30).await.unwrap();
    let txn = |name: &str, steps: Vec<Call>| Transaction {
        operation: format!("volume create {name}"),
        locks: vec![name.to_owned()],
        steps,
    };

    // A name nobody registered: refused before anything is locked or written.
    let err = engine
        .execute(
            txn(
                "v20",
                vec![
                    call::<Validate>(vec![a.id], json!({})),
                    Call::raw("volume-frobnicate", vec![a.id], json!({})),
                ],
            ),
            lease,
        )
        .await
        .unwrap_err();
    match &err {
        TxnError::Invalid(m) => assert_eq!(m, "no step is registered as volume-frobnicate"),
        other => panic!("{other:?}"),
    }
    assert!(entries(&log).is_empty(), "{:?}", entries(&log));
    assert!(store.range("txn/", 0).await.unwrap().kvs.is_empty());
    assert!(store.range("locks/", 0).await.unwrap().kvs.is_empty());

    // A step that refuses its input says which check refused it.
    let check = |bricks: &[&str]| {
        CheckBricks::call(
            vec![a.id],
            &CheckArgs {
                bricks: bricks.iter().map(|b| b.to_string()).collect(),
            },
        )
    };
    let err = engine
        .execute(txn("v21", vec![check(&["/srv/b1", "/etc"])]), lease)
        .await
        .unwrap_err();
    match &err {
        TxnError::StepFailed {
            step,
            error,
            refused,
            ..
        } => {
            assert_eq!(step, "check-bricks");
            assert_eq!(error, "brick /etc is /etc");
            assert_eq!(refused.as_deref(), Some("brick check"));
        }
        other => panic!("{other:?}"),
    }
    // One that fails is not a refusal.
    let err = engine
        .execute(txn("v22", vec![check(&["broken"])]), lease)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TxnError::StepFailed { error, refused: None, .. } if error == "the disk is broken"),
        "{err:?}"
    );
    // Arguments of another shape fail the step with a clear error, on the node.
    let err = engine
        .execute(
            txn(
                "v23",
                vec![Call::raw("check-bricks", vec![a.id], json!({"disks": 3}))],
            ),
            lease,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TxnError::StepFailed { error, refused: None, .. }
            if error.starts_with("bad arguments for step check-bricks: missing field `bricks`")),
        "{err:?}"
    );
    engine
        .execute(txn("v24", vec![check(&["/srv/b1"])]), lease)
        .await
        .unwrap();
    cancel.cancel();
    a.cancel.cancel();
}
