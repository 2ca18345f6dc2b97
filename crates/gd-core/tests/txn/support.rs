//! What the engine tests share: recording steps, nodes on one store, the usual transaction.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use gd_core::txn::{Call, Engine, Registry, Step, StepError};
use gd_store::{LocalStore, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub type Log = Arc<Mutex<Vec<String>>>;

/// The three steps of these tests, by name.
pub trait Name: Send + Sync + 'static {
    const NAME: &'static str;
}
pub struct Validate;
pub struct Create;
pub struct Commit;
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
pub struct Recorder<N> {
    pub node: &'static str,
    pub log: Log,
    name: std::marker::PhantomData<N>,
}

impl<N> Recorder<N> {
    pub fn new(node: &'static str, log: &Log) -> Recorder<N> {
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
pub fn call<N: Name>(nodes: Vec<Uuid>, args: serde_json::Value) -> Call {
    Recorder::<N>::call(nodes, &args)
}

pub struct Node {
    pub id: Uuid,
    pub engine: Arc<Engine>,
    pub cancel: CancellationToken,
}

pub fn registry(node: &'static str, log: &Log) -> Registry {
    registry_but(node, log, "")
}

/// The three recording steps but `except` (which the test registers itself).
pub fn registry_but(node: &'static str, log: &Log, except: &str) -> Registry {
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

pub async fn node(store: &Arc<dyn Store>, name: &'static str, log: &Log, start: bool) -> Node {
    node_with(store, registry(name, log), start).await
}

/// A node whose steps are `registry`'s.
pub async fn node_with(store: &Arc<dyn Store>, registry: Registry, start: bool) -> Node {
    let id = Uuid::new_v4();
    store
        .put(&format!("alive/{id}"), b"{}".to_vec(), None)
        .await
        .unwrap();
    let engine = Engine::new(store.clone(), id, registry);
    let cancel = CancellationToken::new();
    if start {
        tokio::spawn(engine.clone().run_participant(cancel.clone()));
    }
    Node { id, engine, cancel }
}

pub fn steps(a: Uuid, b: Uuid, c: Uuid, fail_on: &str) -> Vec<Call> {
    vec![
        call::<Validate>(vec![a, b, c], json!({})),
        call::<Create>(vec![a, b], json!({"fail_on": fail_on})),
        call::<Commit>(vec![a], json!({})),
    ]
}

pub fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

pub async fn setup(start_c: bool) -> (Arc<dyn Store>, Log, Node, Node, Node, i64) {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let a = node(&store, "A", &log, true).await;
    let b = node(&store, "B", &log, true).await;
    let c = node(&store, "C", &log, start_c).await;
    let lease = store.lease_grant(30).await.unwrap();
    (store, log, a, b, c, lease)
}

/// A step that holds until its gate opens, then runs like a [`Recorder`].
pub struct Gated<N> {
    pub inner: Recorder<N>,
    pub gate: Arc<tokio::sync::Notify>,
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

/// A node named `name` whose `create` holds until the returned gate opens (its participant
/// running).
pub async fn gated_node(
    store: &Arc<dyn Store>,
    name: &'static str,
    log: &Log,
) -> (Node, Arc<tokio::sync::Notify>) {
    let gate = Arc::new(tokio::sync::Notify::new());
    let mut reg = registry_but(name, log, Create::NAME);
    reg.add(Gated::<Create> {
        inner: Recorder::new(name, log),
        gate: gate.clone(),
    })
    .unwrap();
    (node_with(store, reg, true).await, gate)
}

/// Waits (bounded) until `log` holds `entry`.
pub async fn logged(log: &Log, entry: &str) {
    for _ in 0..100 {
        if entries(log).iter().any(|e| e == entry) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{entry} not logged: {:?}", entries(log));
}

/// Three nodes on a fresh store, and a transaction A started (the usual steps, locking
/// `locks`) that holds at B's `create` until `gate` opens, A's own `create` done.
pub struct HeldAtCreate {
    pub store: Arc<dyn Store>,
    pub log: Log,
    pub a: Node,
    pub b: Node,
    pub c: Node,
    pub lease: i64,
    pub gate: Arc<tokio::sync::Notify>,
    pub started: gd_core::txn::Started,
}

pub async fn held_at_create(operation: &str, locks: &[&str]) -> HeldAtCreate {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let log: Log = Arc::default();
    let a = node(&store, "A", &log, true).await;
    let (b, gate) = gated_node(&store, "B", &log).await;
    let c = node(&store, "C", &log, true).await;
    let lease = store.lease_grant(30).await.unwrap();
    let started = a.engine.start(
        gd_core::txn::Transaction {
            operation: operation.into(),
            locks: locks.iter().map(|l| l.to_string()).collect(),
            steps: steps(a.id, b.id, c.id, ""),
            ..Default::default()
        },
        lease,
    );
    logged(&log, "A:create:run").await;
    HeldAtCreate {
        store,
        log,
        a,
        b,
        c,
        lease,
        gate,
        started,
    }
}
