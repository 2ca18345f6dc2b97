//! Tasks: work that must run once per object, by one node at a time, and go on when that node
//! dies — a volume's rebalance or remove-brick migration, later a heal crawl (DESIGN: "jobs
//! that must run once have a leader elected through the store").
//!
//! A task is one record, `tasks/<kind>/<object>` (a volume's rebalance: `tasks/rebalance/gv0`):
//! at most one per kind and object, so a second rebalance of a volume is refused while one
//! runs ([`start`]). Its leader holds the lock `task/<kind>/<object>`, bound to the leader's
//! liveness lease. Every node runs a [`TaskRunner`] with the handlers of the kinds its
//! features bring; it looks for running tasks without a leader and takes the lock of those it
//! can handle. When the leader's node dies, its lease expires, the lock goes, and another
//! node's runner takes the task over and continues from the state the record holds
//! ([`TaskRecord::progress`], the handler's own). Every write of a leader is fenced on its lock
//! (one store transaction compares the lock and writes the record), so a leader that lost its
//! lease can never overwrite its successor's progress; its handler learns so at its next save
//! and stops.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use gd_store::{
    Compare, CompareOp, LeaseId, Store, StoreError, Txn, TxnOp,
    lock::{self, LockGuard},
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::keys::{LOCKS, TASK_LOCK, TASKS};

/// How often a runner looks for tasks without a leader when its watches report nothing: it
/// looks at once when a task without a leader is written or a task's lock goes (a dead
/// leader's lease expired: its task is taken over within the lease's time to live), so at rest
/// a runner reads nothing but this safety look.
pub const RESCAN: Duration = Duration::from_secs(30);
/// How long a look waits for this node's lease (a node just started has none yet).
const LEASE_WAIT: Duration = Duration::from_secs(10);

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Running,
    Succeeded,
    /// Stopped on request before it ended.
    Stopped,
    Failed,
}

/// How a task's handler ended it (a failure is its `Err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Succeeded,
    Stopped,
}

/// A task as stored (`tasks/<kind>/<object>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TaskRecord {
    /// What it does (`rebalance`): the handler that runs it.
    pub kind: String,
    /// What it works on (a volume's name).
    pub object: String,
    pub state: TaskState,
    /// The handler's own state, saved as it goes: where a new leader continues.
    pub progress: serde_json::Value,
    /// The node leading it now (or last).
    pub leader: Option<Uuid>,
    /// Why it failed, or "".
    #[serde(default)]
    pub message: String,
}

impl Record for TaskRecord {
    const KIND: &'static str = "task";
    const VERSION: u32 = 1;
}

impl TaskRecord {
    /// As the REST API shows it (`GET /v1/tasks`, a node's state).
    pub fn to_api(self) -> gd_api::TaskInfo {
        gd_api::TaskInfo {
            state: match self.state {
                TaskState::Running => "running",
                TaskState::Succeeded => "succeeded",
                TaskState::Stopped => "stopped",
                TaskState::Failed => "failed",
            }
            .to_owned(),
            kind: self.kind,
            object: self.object,
            leader: self.leader,
            message: self.message,
            progress: self.progress,
        }
    }
}

/// The key of the task of `kind` on `object`.
pub fn task_key(kind: &str, object: &str) -> String {
    format!("{TASKS}{kind}/{object}")
}

fn lock_name(kind: &str, object: &str) -> String {
    format!("{TASK_LOCK}{kind}/{object}")
}

/// Records a new running task of `kind` on `object`, starting from `progress`. Returns the
/// running task instead (`Err`) when there is one already; a task that ended is replaced.
pub async fn start(
    store: &dyn Store,
    kind: &str,
    object: &str,
    progress: serde_json::Value,
) -> Result<Result<TaskRecord, TaskRecord>, StoreError> {
    start_with(store, kind, object, progress, vec![]).await
}

/// [`start`], writing `also` in the same store transaction (what the task's last run left,
/// cleared only if this one starts).
pub async fn start_with(
    store: &dyn Store,
    kind: &str,
    object: &str,
    progress: serde_json::Value,
    also: Vec<TxnOp>,
) -> Result<Result<TaskRecord, TaskRecord>, StoreError> {
    let key = task_key(kind, object);
    let rec = TaskRecord {
        kind: kind.to_owned(),
        object: object.to_owned(),
        state: TaskState::Running,
        progress,
        leader: None,
        message: String::new(),
    };
    let when = match store.get(&key).await? {
        None => Compare::absent(&key),
        Some(kv) => {
            let old: TaskRecord = record::decode(&key, &kv.value)?;
            if old.state == TaskState::Running {
                return Ok(Err(old));
            }
            Compare::mod_revision(&key, CompareOp::Equal, kv.mod_revision)
        }
    };
    let put = TxnOp::put(&key, record::encode(&rec));
    if store
        .txn(
            Txn::new()
                .when([when])
                .and_then(std::iter::once(put).chain(also)),
        )
        .await?
        .succeeded
    {
        Ok(Ok(rec))
    } else {
        // Someone started one meanwhile: that one is the task.
        match get(store, kind, object).await? {
            Some(t) => Ok(Err(t)),
            None => Err(StoreError::Invalid {
                reason: format!("task {key} was started and deleted at once"),
            }),
        }
    }
}

/// Ends the running task of `kind` on `object` as `state` with `message`, if `ours` says it
/// is the one meant (a transaction that recorded it and is undone); its leader, if one runs
/// it, sees that at its next look and stops. Returns whether it ended it.
pub async fn end_unled(
    store: &dyn Store,
    kind: &str,
    object: &str,
    ours: impl Fn(&TaskRecord) -> bool,
    state: TaskState,
    message: &str,
) -> Result<bool, StoreError> {
    let key = task_key(kind, object);
    for _ in 0..5 {
        let Some(kv) = store.get(&key).await? else {
            return Ok(false);
        };
        let mut rec: TaskRecord = record::decode(&key, &kv.value)?;
        if rec.state != TaskState::Running || !ours(&rec) {
            return Ok(false);
        }
        rec.state = state;
        rec.message = message.to_owned();
        let txn = Txn::new()
            .when([Compare::mod_revision(
                &key,
                CompareOp::Equal,
                kv.mod_revision,
            )])
            .and_then([TxnOp::put(&key, record::encode(&rec))]);
        if store.txn(txn).await?.succeeded {
            return Ok(true);
        }
    }
    Err(StoreError::Invalid {
        reason: format!("task {key} changes concurrently"),
    })
}

/// The task of `kind` on `object`, if there is one.
pub async fn get(
    store: &dyn Store,
    kind: &str,
    object: &str,
) -> Result<Option<TaskRecord>, StoreError> {
    let key = task_key(kind, object);
    match store.get(&key).await? {
        Some(kv) => Ok(Some(record::decode(&key, &kv.value)?)),
        None => Ok(None),
    }
}

/// Every task of `kind` (running and ended), by object.
pub async fn list_kind(store: &dyn Store, kind: &str) -> Result<Vec<TaskRecord>, StoreError> {
    let r = store.range(&format!("{TASKS}{kind}/"), 0).await?;
    r.kvs
        .iter()
        .map(|kv| record::decode(&kv.key, &kv.value))
        .collect()
}

/// Every task (running and ended), by kind then object.
pub async fn list(store: &dyn Store) -> Result<Vec<TaskRecord>, StoreError> {
    let r = store.range(TASKS, 0).await?;
    r.kvs
        .iter()
        .map(|kv| record::decode(&kv.key, &kv.value))
        .collect()
}

/// Why a leader cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    /// Its lock is gone (its lease expired, or another node leads now): it must stop.
    #[error("this node no longer leads task {0}")]
    NotLeader(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A task as its leader holds it: the record, and fenced saves.
pub struct Leading {
    store: Arc<dyn Store>,
    guard: LockGuard,
    key: String,
    /// The record as last saved.
    pub record: TaskRecord,
    cancel: CancellationToken,
}

impl Leading {
    /// Saves `progress` (and the record with it), only while this node still leads.
    pub async fn save(&mut self, progress: serde_json::Value) -> Result<(), LeadError> {
        let mut rec = self.record.clone();
        rec.progress = progress;
        self.write(rec).await
    }

    /// Resolves when the runner stops (its node shuts down): the handler should stop at its
    /// next safe point; the task stays running for another node to take over.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// Whether the runner stops.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    async fn write(&mut self, rec: TaskRecord) -> Result<(), LeadError> {
        self.write_with(rec, None).await
    }

    /// [`Leading::write`] with an event that tells of it, in the same store transaction.
    async fn write_with(
        &mut self,
        rec: TaskRecord,
        event: Option<crate::events::EventRecord>,
    ) -> Result<(), LeadError> {
        let txn = Txn::new().when([self.guard.held_compare()]).and_then(
            std::iter::once(TxnOp::put(&self.key, record::encode(&rec)))
                .chain(event.map(|e| e.put())),
        );
        if self.store.txn(txn).await?.succeeded {
            self.record = rec;
            Ok(())
        } else {
            Err(LeadError::NotLeader(self.key.clone()))
        }
    }
}

/// What runs the tasks of one kind (a feature brings it).
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// The kind it runs (`rebalance`).
    fn kind(&self) -> &'static str;

    /// Runs the task from where its record says (`task.record.progress`), saving progress as
    /// it goes. `Ok`: how it ended; `Err`: it failed, with a sentence saying why. It
    /// returns early (with anything) when `task.save` says this node no longer leads, or when
    /// `task.cancelled()` fires; the runner then leaves the task running for another node.
    async fn run(&self, task: &mut Leading) -> Result<Ended, String>;
}

/// Whether a change may leave a task without a leader: a running task written with none (a
/// new one), or a task's lock gone (its leader ended it, or died). A leader's saves of its
/// progress are not.
fn wants_a_leader(ev: &gd_store::WatchEvent, locks: &str) -> bool {
    if ev.key.starts_with(locks) {
        return ev.kind == gd_store::EventKind::Delete;
    }
    ev.kind == gd_store::EventKind::Put
        && record::decode::<TaskRecord>(&ev.key, &ev.value)
            .is_ok_and(|t| t.state == TaskState::Running && t.leader.is_none())
}

/// This node's lease, waiting for it (bounded) when it has none yet.
async fn wait_for_lease(
    lease: &impl Fn() -> Option<LeaseId>,
    cancel: &CancellationToken,
) -> Option<LeaseId> {
    let deadline = tokio::time::Instant::now() + LEASE_WAIT;
    loop {
        if let Some(l) = lease() {
            return Some(l);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::select! {
            _ = cancel.cancelled() => return None,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// A node's task runner: takes over running tasks without a leader, for the kinds it has
/// handlers for.
pub struct TaskRunner {
    store: Arc<dyn Store>,
    me: Uuid,
    handlers: BTreeMap<&'static str, Arc<dyn TaskHandler>>,
    /// The keys of the tasks this node leads now.
    leading: Arc<Mutex<BTreeSet<String>>>,
}

impl TaskRunner {
    pub fn new(store: Arc<dyn Store>, me: Uuid, handlers: Vec<Arc<dyn TaskHandler>>) -> Self {
        TaskRunner {
            store,
            me,
            handlers: handlers.into_iter().map(|h| (h.kind(), h)).collect(),
            leading: Arc::default(),
        }
    }

    /// Looks for tasks to lead when a task without a leader is written or a task's lock goes
    /// (and every [`RESCAN`]), while this node has a lease, until `cancel`; then waits for the
    /// handlers it runs to stop.
    pub async fn run(
        self: Arc<Self>,
        lease: impl Fn() -> Option<LeaseId> + Send + 'static,
        cancel: CancellationToken,
    ) {
        let handlers = Mutex::new(tokio::task::JoinSet::new());
        let locks = format!("{LOCKS}{TASK_LOCK}");
        let (this, handlers_ref, lease, cancel_ref) = (&self, &handlers, &lease, &cancel);
        gd_store::follow_prefixes(
            &*self.store,
            &[TASKS, &locks],
            RESCAN,
            &cancel,
            |ev| wants_a_leader(ev, &locks),
            |_| async move {
                {
                    let mut h = handlers_ref.lock().unwrap_or_else(|e| e.into_inner());
                    while h.try_join_next().is_some() {}
                }
                let Some(lease) = wait_for_lease(lease, cancel_ref).await else {
                    return;
                };
                match this.claim(lease).await {
                    Ok(claimed) => {
                        let mut h = handlers_ref.lock().unwrap_or_else(|e| e.into_inner());
                        for leading in claimed {
                            h.spawn(this.clone().lead(leading, cancel_ref.child_token()));
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "cannot look for tasks to lead yet"),
                }
            },
        )
        .await;
        let mut handlers = handlers.into_inner().unwrap_or_else(|e| e.into_inner());
        while handlers.join_next().await.is_some() {}
    }

    /// Takes the lock of every running task without a leader that this node can run.
    async fn claim(&self, lease: LeaseId) -> Result<Vec<(LockGuard, TaskRecord)>, StoreError> {
        let mut claimed = vec![];
        for task in list(self.store.as_ref()).await? {
            let key = task_key(&task.kind, &task.object);
            if task.state != TaskState::Running
                || !self.handlers.contains_key(task.kind.as_str())
                || self.lock_leading().contains(&key)
            {
                continue;
            }
            let holder = format!("{} {} on {}", task.kind, task.object, self.me);
            if let Ok(guard) = lock::try_lock(
                &self.store,
                &lock_name(&task.kind, &task.object),
                lease,
                &holder,
            )
            .await?
            {
                self.lock_leading().insert(key);
                claimed.push((guard, task));
            }
        }
        Ok(claimed)
    }

    /// Leads one task until its handler returns, then records how it ended (if this node
    /// still leads and is not stopping) and lets the lock go.
    async fn lead(
        self: Arc<Self>,
        (guard, task): (LockGuard, TaskRecord),
        cancel: CancellationToken,
    ) {
        let key = task_key(&task.kind, &task.object);
        let Some(handler) = self.handlers.get(task.kind.as_str()).cloned() else {
            return;
        };
        // The record as it is now: a leader that died may have saved after we listed it.
        let record = match get(self.store.as_ref(), &task.kind, &task.object).await {
            Ok(Some(r)) if r.state == TaskState::Running => r,
            _ => {
                let _ = guard.unlock().await;
                self.lock_leading().remove(&key);
                return;
            }
        };
        let mut leading = Leading {
            store: self.store.clone(),
            guard,
            key: key.clone(),
            record,
            cancel,
        };
        let mut rec = leading.record.clone();
        // Its first leader tells of its start (a take-over does not).
        let first = rec.leader.is_none();
        rec.leader = Some(self.me);
        let started = first.then(|| self.event(&rec, "started", ""));
        let result = match leading.write_with(rec, started).await {
            Ok(()) => {
                tracing::info!(task = %key, "leading the task");
                Some(handler.run(&mut leading).await)
            }
            Err(e) => {
                tracing::debug!(task = %key, error = %e, "lost the task before starting it");
                None
            }
        };
        if let Some(result) = result
            && !leading.is_cancelled()
        {
            let mut rec = leading.record.clone();
            match result {
                Ok(Ended::Succeeded) => rec.state = TaskState::Succeeded,
                Ok(Ended::Stopped) => rec.state = TaskState::Stopped,
                Err(why) => {
                    rec.state = TaskState::Failed;
                    rec.message = why;
                }
            }
            let word = match rec.state {
                TaskState::Succeeded => "succeeded",
                TaskState::Stopped => "stopped",
                _ => "failed",
            };
            let ended = self.event(&rec, word, &rec.message);
            match leading.write_with(rec, Some(ended)).await {
                Ok(()) => tracing::info!(task = %key, state = ?leading.record.state, "task ended"),
                Err(e) => tracing::info!(task = %key, error = %e, "stopped leading the task"),
            }
        }
        let _ = leading.guard.unlock().await;
        self.lock_leading().remove(&key);
    }

    /// The event `task.<what>` of `rec`, written by this node.
    fn event(&self, rec: &TaskRecord, what: &str, why: &str) -> crate::events::EventRecord {
        let mut message = format!("{} of {} {what}", rec.kind, rec.object);
        if !why.is_empty() {
            message = format!("{message}: {why}");
        }
        crate::events::EventRecord::new(self.me, &format!("task.{what}"), message)
            .field("kind", rec.kind.clone())
            .field("object", rec.object.clone())
    }

    fn lock_leading(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.leading.lock().unwrap_or_else(|e| e.into_inner())
    }
}
