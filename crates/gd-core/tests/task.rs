//! Tasks under an elected leader, on a real (in-memory) store shared by three runners, each
//! with its own lease as a node has: one task per kind and object; one leader at a time; the
//! leader's node dies (its runner stops, its lease is revoked) and another takes the task over
//! from its saved progress and ends it; a handler's failure is recorded with its words.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use gd_core::task::{self, Ended, Leading, TaskHandler, TaskRunner, TaskState};
use gd_store::{LocalStore, Store};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Counts from its saved progress to `until`, a step at a time, saving each: a step (and which
/// node did it) is recorded in `steps`; `active` counts the handlers running at once.
struct Counter {
    until: u64,
    me: Uuid,
    steps: Arc<Mutex<Vec<(u64, Uuid)>>>,
    active: Arc<AtomicUsize>,
    most_active: Arc<AtomicUsize>,
}

#[async_trait]
impl TaskHandler for Counter {
    fn kind(&self) -> &'static str {
        "count"
    }

    async fn run(&self, task: &mut Leading) -> Result<Ended, String> {
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_active.fetch_max(now, Ordering::SeqCst);
        let result = async {
            let mut n = task.record.progress["done"].as_u64().unwrap_or(0);
            if task.record.object == "doomed" {
                return Err("the object cannot be counted".to_owned());
            }
            if task.record.object == "halted" {
                return Ok(Ended::Stopped);
            }
            while n < self.until {
                if task.is_cancelled() {
                    return Ok(Ended::Succeeded);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                n += 1;
                self.steps.lock().unwrap().push((n, self.me));
                if task.save(json!({ "done": n })).await.is_err() {
                    return Ok(Ended::Succeeded);
                }
            }
            Ok(Ended::Succeeded)
        }
        .await;
        self.active.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

struct Node {
    id: Uuid,
    lease: i64,
    cancel: CancellationToken,
    runner: tokio::task::JoinHandle<()>,
}

#[tokio::test]
async fn one_leader_at_a_time_and_another_takes_over_when_it_dies() {
    let store: Arc<dyn Store> = LocalStore::open_in_memory().await.unwrap();
    let steps = Arc::new(Mutex::new(vec![]));
    let active = Arc::new(AtomicUsize::new(0));
    let most_active = Arc::new(AtomicUsize::new(0));
    let mut nodes = vec![];
    for _ in 0..3 {
        let id = Uuid::new_v4();
        let lease = store.lease_grant(30).await.unwrap();
        let counter = Arc::new(Counter {
            until: 40,
            me: id,
            steps: steps.clone(),
            active: active.clone(),
            most_active: most_active.clone(),
        });
        let runner = Arc::new(TaskRunner::new(store.clone(), id, vec![counter]));
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(runner.run(move || Some(lease), cancel.clone()));
        nodes.push(Node {
            id,
            lease,
            cancel,
            runner: handle,
        });
    }

    // One task per kind and object: a second start returns the running one.
    let t = task::start(store.as_ref(), "count", "vol1", json!({}))
        .await
        .unwrap();
    assert!(t.is_ok());
    let again = task::start(store.as_ref(), "count", "vol1", json!({}))
        .await
        .unwrap();
    assert_eq!(again.unwrap_err().state, TaskState::Running);

    // A leader takes it and counts.
    let leader = wait_for(|| async {
        let t = task::get(store.as_ref(), "count", "vol1").await.unwrap()?;
        (t.progress["done"].as_u64()? >= 5).then_some(t.leader?)
    })
    .await;
    // Its node dies: its runner stops (and its handler with it), its lease goes.
    let dead = nodes.iter().position(|n| n.id == leader).unwrap();
    let dead = nodes.remove(dead);
    dead.cancel.cancel();
    dead.runner.await.unwrap();
    store.lease_revoke(dead.lease).await.unwrap();

    // Another node takes the task over and ends it.
    let ended = wait_for(|| async {
        let t = task::get(store.as_ref(), "count", "vol1").await.unwrap()?;
        (t.state != TaskState::Running).then_some(t)
    })
    .await;
    assert_eq!(ended.state, TaskState::Succeeded);
    assert_eq!(ended.progress["done"], 40);
    let successor = ended.leader.unwrap();
    assert_ne!(successor, leader);
    assert!(nodes.iter().any(|n| n.id == successor));
    assert_eq!(
        most_active.load(Ordering::SeqCst),
        1,
        "never two leaders at once"
    );
    // Every step was done, in order, each by the leader of its time; a step the dead leader
    // did but could not save may be done again by its successor, nothing else.
    let steps = steps.lock().unwrap().clone();
    let numbers: Vec<u64> = steps.iter().map(|s| s.0).collect();
    let mut expected: Vec<u64> = (1..=40).collect();
    let handover = steps.iter().position(|s| s.1 == successor).unwrap();
    if numbers[handover] == numbers[handover - 1] {
        expected.insert(handover, numbers[handover]);
    }
    assert_eq!(numbers, expected);
    assert!(steps[..handover].iter().all(|s| s.1 == leader));
    assert!(steps[handover..].iter().all(|s| s.1 == successor));

    // A task whose handler fails is recorded failed, with its words; it can start again.
    task::start(store.as_ref(), "count", "doomed", json!({}))
        .await
        .unwrap()
        .unwrap();
    let failed = wait_for(|| async {
        let t = task::get(store.as_ref(), "count", "doomed")
            .await
            .unwrap()?;
        (t.state != TaskState::Running).then_some(t)
    })
    .await;
    assert_eq!(
        (failed.state, failed.message.as_str()),
        (TaskState::Failed, "the object cannot be counted")
    );
    assert!(
        task::start(store.as_ref(), "count", "doomed", json!({}))
            .await
            .unwrap()
            .is_ok()
    );
    // A handler that stops its task records it stopped.
    task::start(store.as_ref(), "count", "halted", json!({}))
        .await
        .unwrap()
        .unwrap();
    let halted = wait_for(|| async {
        let t = task::get(store.as_ref(), "count", "halted")
            .await
            .unwrap()?;
        (t.state != TaskState::Running).then_some(t)
    })
    .await;
    assert_eq!(halted.state, TaskState::Stopped);
    assert_eq!(task::list(store.as_ref()).await.unwrap().len(), 3);
    for n in nodes {
        n.cancel.cancel();
        n.runner.await.unwrap();
    }
}

/// Polls `f` every 20 ms until it gives a value (at most 20 s).
async fn wait_for<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..1000 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out");
}
