//! Cluster transactions (DESIGN §3.5): named steps, each on a set of nodes, each with an undo,
//! executed in order, recorded in the store.
//!
//! Why in the store: a transaction must survive the death of any node taking part. The
//! initiator writes the transaction (`txn/<id>/spec`) and then moves a cursor
//! (`txn/<id>/cursor`: step index and phase) one step at a time, writing with each move an
//! entry in the inbox of each node of the step (`txn-inbox/<peer>/<id>`); every node's
//! [`Engine`] watches its own inbox only (so a transaction wakes the nodes it involves, and
//! costs nothing on the others), runs the current step when it is one of the step's nodes, and reports
//! (`txn/<id>/do/<step>/<peer>` or `.../undo/...`). A step completes on all of its nodes before
//! the cursor moves on. When a step fails or a node does not report within the step's bound,
//! the coordinator undoes the steps from the failed one down to the first, in reverse order;
//! undo runs on every node of a step and must be idempotent (it may find nothing to undo).
//!
//! - A participant that restarts rescans its inbox and runs the step under the cursor if it has
//!   not reported it yet (steps are idempotent), so a crash mid-step is retried, not lost.
//! - If the initiator dies, its lease ends, so its object locks vanish and its liveness key
//!   goes; the **cleanup leader** (one node, elected with a store lock) then takes over as
//!   coordinator and ends the transaction: committed when its last step completed on every
//!   node (nothing that completed is ever undone), else rolled back. A transaction whose
//!   cursor has not moved for its step's bound plus [`TXN_STALL_MARGIN`] is ended the same way;
//!   an initiator that restarts ends its own at once ([`Engine::recover_own`]).
//! - A step on a node that is gone (no liveness key) fails at once, not at its bound.
//! - The coordinator runs in a task of its own, so a client that goes away changes nothing;
//!   [`Engine::start`] gives the transaction's id at once, and its outcome is kept an hour or two
//!   (`txn-results/<id>`, [`Engine::status`]), written by whoever ends it in the same store
//!   transaction that forgets its records, so exactly one of them does.
//! - The coordinator moves the cursor forward only if nobody else wrote it since: once the
//!   cleanup leader has taken the transaction over, a coordinator that was only slow can never
//!   start a later step after the undo.
//! - Undo that a node could not confirm (it was down) stays recorded: the transaction keeps
//!   `state = failed` until that node comes back and runs its undos, or [`TXN_KEEP_MAX`] passes.
//!
//! A node that completed a step may attach a note to its report (a process it had to kill to
//! get there); [`Engine::execute`] returns the notes, so the user reads in the answer what
//! happened on every node, not only in that node's log.
//!
//! Locks are per object (`locks/<object>`), bound to the initiator's lease, taken in the store
//! transaction that records the transaction and freed in the one that ends it (no store
//! request of their own on an operation's path); a busy object fails at once with the
//! operation that holds it, and nothing is written. Reads take no locks.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use gd_store::{
    Compare, CompareOp, LeaseId, Store, StoreError, Txn as StoreTxn, TxnOp, TxnOpResponse, lock,
    record::{self, Record},
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::failpoint::{self, When};
use crate::keys::{TXN, TXN_INBOX, TXN_RESULTS};

mod inbox;
mod reports;
mod step;
mod transaction;
use inbox::*;
use reports::Outcome;
pub use step::*;
pub use transaction::{HookCall, Transaction};
/// How long the outcome of a transaction is kept (seconds).
pub const RESULT_KEEP_S: i64 = 3600;
/// A transaction whose cursor has not moved for its current step's bound plus this long is
/// stalled (its coordinator is gone without its node being gone), and the cleanup leader ends
/// it.
pub const TXN_STALL_MARGIN: Duration = Duration::from_secs(60);
/// A failed transaction whose undo some node never confirmed is forgotten after this long.
pub const TXN_KEEP_MAX: Duration = Duration::from_secs(3600);
/// The default bound on one step (on all of its nodes).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The bound on undoing one step.
const UNDO_TIMEOUT: Duration = Duration::from_secs(30);
/// How many steps a transaction may have.
pub const STEPS_MAX: usize = 64;
/// How many objects a transaction may lock (its locks are taken in the store transaction
/// that records it, with up to [`inbox::INBOX_IN_TXN`] inbox writes).
pub const LOCKS_MAX: usize = 16;
/// How long a coordinator the store failed keeps trying to end its transaction itself.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);
/// How often the cleanup leader looks for abandoned and stalled transactions.
const RESCAN: Duration = Duration::from_secs(5);
/// How often a participant reads its inbox when no change arrives (its watch wakes it for
/// every change; a watch that ends is opened again at once).
const PARTICIPANT_TICK: Duration = Duration::from_secs(30);
/// How long one campaign for the cleanup lock waits (watching the lock) before checking the
/// node's lease again.
const CAMPAIGN_WAIT: Duration = Duration::from_secs(30);

/// The stored transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct TxnSpec {
    id: Uuid,
    operation: String,
    initiator: Uuid,
    /// The initiator's engine instance (one per process): tells a restarted initiator its
    /// own abandoned transactions from the ones it runs now.
    #[serde(default)]
    instance: Option<Uuid>,
    /// The objects it locked and the holder text of its locks, so that whoever ends it after
    /// its coordinator died frees them at once.
    #[serde(default)]
    locks: Vec<String>,
    #[serde(default)]
    holder: String,
    created_unix_ms: u64,
    steps: Vec<Call>,
    /// The W3C trace context of its coordinator's span (when traces are exported), so each
    /// node's steps join the transaction's trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
}

impl Record for TxnSpec {
    const KIND: &'static str = "txn";
    const VERSION: u32 = 1;
}

impl TxnSpec {
    /// Every node some step of it runs on, each once.
    fn nodes(&self) -> BTreeSet<Uuid> {
        self.steps
            .iter()
            .flat_map(|s| s.nodes.iter().copied())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Do,
    Undo,
}

impl Phase {
    fn dir(self) -> &'static str {
        match self {
            Phase::Do => "do",
            Phase::Undo => "undo",
        }
    }
}

/// Which step runs now, and in which direction, and since when (the transaction's last
/// progress: a transaction is stalled when its cursor has not moved for too long, whatever
/// its age).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    step: usize,
    phase: Phase,
    #[serde(default)]
    moved_unix_ms: u64,
}

impl Cursor {
    fn at(step: usize, phase: Phase) -> Cursor {
        Cursor {
            step,
            phase,
            moved_unix_ms: now_ms(),
        }
    }
}

impl Record for Cursor {
    const KIND: &'static str = "txn-cursor";
    const VERSION: u32 = 1;
}

/// A node's report on one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Report {
    ok: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    error: String,
    /// What a successful step wants the initiator to tell the user (see [`Note`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    note: String,
    /// The check that refused the step's input (see [`StepError::Refused`]); empty when the
    /// step failed otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    refused: String,
}

impl Record for Report {
    const KIND: &'static str = "txn-report";
    const VERSION: u32 = 1;
}

/// The final state of a failed transaction kept for its pending undos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Failed {
    reason: String,
    failed_unix_ms: u64,
}

impl Record for Failed {
    const KIND: &'static str = "txn-failed";
    const VERSION: u32 = 1;
}

fn result_key(id: Uuid) -> String {
    format!("{TXN_RESULTS}{id}")
}
fn spec_key(id: Uuid) -> String {
    format!("{TXN}{id}/spec")
}
fn cursor_key(id: Uuid) -> String {
    format!("{TXN}{id}/cursor")
}
fn failed_key(id: Uuid) -> String {
    format!("{TXN}{id}/failed")
}
fn report_dir(id: Uuid, step: usize, phase: Phase) -> String {
    format!("{TXN}{id}/{}/{step}/", phase.dir())
}
fn report_key(id: Uuid, step: usize, phase: Phase, node: Uuid) -> String {
    format!("{}{node}", report_dir(id, step, phase))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What a node said about a step it completed, for the initiator to pass on to the user: a
/// step that succeeded only by force (a process that had to be killed) says so, and the user
/// reads it in the answer, not only in that node's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub step: String,
    pub node: Uuid,
    pub text: String,
}

/// Why a transaction did not succeed. Its completed steps have been undone (as far as the
/// nodes could confirm) when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// An object is locked by another operation; nothing was done.
    #[error("{object} is busy: {holder} is in progress")]
    Busy { object: String, holder: String },
    /// A step failed on a node; `refused` names the check that refused the request, when
    /// the step refused its input rather than failed (see [`StepError::Refused`]).
    #[error("step {step} failed on node {node}: {error}")]
    StepFailed {
        step: String,
        node: Uuid,
        error: String,
        refused: Option<String>,
    },
    /// Nodes did not report a step in time.
    #[error("step {step} did not complete within {timeout_s} s on nodes {nodes:?}")]
    Timeout {
        step: String,
        nodes: Vec<Uuid>,
        timeout_s: u64,
    },
    /// Nodes of a step went offline (their lease ended) before reporting it.
    #[error("step {step} cannot complete: nodes {nodes:?} are offline")]
    NodesGone { step: String, nodes: Vec<Uuid> },
    /// Its coordinator died before it ended, and it was ended (undone) by the initiator when it
    /// restarted or by the cleanup leader.
    #[error("it was undone because {reason}")]
    Abandoned { reason: String },
    /// The transaction is malformed (no steps, a step without nodes, an unknown step name...).
    #[error("invalid transaction: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TxnError {
    /// How a transaction that failed so ended, in a word (a metric's label).
    pub fn outcome(&self) -> &'static str {
        match self {
            TxnError::Busy { .. } => "busy",
            TxnError::StepFailed {
                refused: Some(_), ..
            } => "refused",
            TxnError::StepFailed { .. } => "failed",
            TxnError::Timeout { .. } => "timed-out",
            TxnError::NodesGone { .. } => "nodes-gone",
            TxnError::Abandoned { .. } => "abandoned",
            TxnError::Invalid(_) => "invalid",
            TxnError::Store(_) => "store-error",
        }
    }
}

/// A transaction that [`Engine::start`] started: its id at once, its end when it comes.
pub struct Started {
    pub id: Uuid,
    task: tokio::task::JoinHandle<Result<Vec<Note>, TxnError>>,
}

impl Started {
    /// Waits for the end of the transaction at most `bound`; `None` if it is still running
    /// then (it goes on; wait again, or read [`Engine::status`]).
    pub async fn wait_for(&mut self, bound: Duration) -> Option<Result<Vec<Note>, TxnError>> {
        let joined = tokio::time::timeout(bound, &mut self.task).await.ok()?;
        Some(joined.unwrap_or_else(|e| {
            Err(TxnError::Invalid(format!(
                "internal: the transaction's task ended abnormally: {e}"
            )))
        }))
    }

    /// Waits for the end of the transaction.
    pub async fn wait(mut self) -> Result<Vec<Note>, TxnError> {
        loop {
            if let Some(r) = self.wait_for(Duration::from_secs(3600)).await {
                return r;
            }
        }
    }
}

/// One node's transaction engine: participant, coordinator of the transactions it starts,
/// and (when elected) cleanup leader.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    me: Uuid,
    /// This process's engine, as recorded in the transactions it starts.
    instance: Uuid,
    /// Ends the coordinators of this engine's transactions (the node is shutting down); their
    /// transactions are then ended by the node when it restarts, or by the cleanup leader.
    coordinators: CancellationToken,
    registry: Registry,
    /// Where its transactions and steps are counted (the node's figures).
    metrics: Arc<crate::metrics::Metrics>,
    /// The steps its coordinators run on this node themselves (transaction, step index).
    running_here: Arc<std::sync::Mutex<BTreeSet<(Uuid, usize)>>>,
    /// The lease the outcomes it keeps are bound to, and when it was granted.
    results_lease: Arc<tokio::sync::Mutex<Option<(LeaseId, std::time::Instant)>>>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, me: Uuid, registry: Registry) -> Arc<Engine> {
        Engine::counted(store, me, registry, Arc::default())
    }

    /// An engine that counts its transactions and steps in `metrics`.
    pub fn counted(
        store: Arc<dyn Store>,
        me: Uuid,
        registry: Registry,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Arc<Engine> {
        Arc::new(Engine {
            store,
            me,
            instance: Uuid::new_v4(),
            coordinators: CancellationToken::new(),
            registry,
            metrics,
            running_here: Arc::default(),
            results_lease: Arc::default(),
        })
    }

    /// The names of the steps this engine runs, sorted.
    pub fn steps(&self) -> Vec<&'static str> {
        self.registry.names()
    }

    // ---- initiator ----

    /// Runs a transaction to the end: takes its locks (bound to `lease`), records it, drives
    /// every step, and on failure undoes what was done. Returns when the transaction is over,
    /// with the notes the nodes gave on the steps they completed.
    pub async fn execute(&self, txn: Transaction, lease: LeaseId) -> Result<Vec<Note>, TxnError> {
        self.start(txn, lease).wait().await
    }

    /// Starts a transaction ([`Engine::execute`]) and returns its id at once.
    ///
    /// The transaction runs in a task of its own: the caller (an HTTP request) may go away —
    /// a client that gives up, a dropped connection — and the transaction still ends,
    /// committed or undone, instead of stopping half-way with its locks held; its outcome is
    /// kept ([`Engine::status`]).
    pub fn start(&self, txn: Transaction, lease: LeaseId) -> Started {
        let engine = self.clone();
        let id = Uuid::new_v4();
        // The transaction's span, a child of the request's.
        let span = tracing::info_span!(
            "transaction",
            operation = %txn.operation,
            kind = txn.kind,
            txn = %id
        );
        let task = tokio::spawn(tracing::Instrument::instrument(
            async move {
                let started = std::time::Instant::now();
                let operation = match txn.kind {
                    "" => "other",
                    kind => kind,
                };
                let out = tokio::select! {
                    r = engine.execute_here(id, txn, lease) => r,
                    _ = engine.coordinators.cancelled() => Err(TxnError::Invalid(
                        "this node is shutting down; the transaction will be ended when it restarts \
                         or by another node".into(),
                    )),
                };
                let outcome = match &out {
                    Ok(_) => "committed",
                    Err(e) => e.outcome(),
                };
                engine
                    .metrics
                    .transaction(operation, outcome, started.elapsed());
                out
            },
            span,
        ));
        Started { id, task }
    }

    /// Runs this node's part of step `index` of transaction `id` in its coordinator, and
    /// reports it as a participant does (`report`), or returns the report; this node's
    /// participant leaves the step alone meanwhile.
    async fn run_here(
        &self,
        id: Uuid,
        trace: Option<&str>,
        index: usize,
        step: &Call,
        report: bool,
    ) -> Result<Option<Report>, StoreError> {
        lock_here(&self.running_here).insert((id, index));
        let ran = match report {
            true => self
                .run_step(id, trace, index, step, Phase::Do, Some(false))
                .await
                .map(|()| None),
            false => Ok(Some(self.perform(id, trace, step, Phase::Do).await)),
        };
        lock_here(&self.running_here).remove(&(id, index));
        ran
    }

    /// Whether this node's coordinator runs step `index` of transaction `id` itself now.
    fn runs_here(&self, id: Uuid, index: usize) -> bool {
        lock_here(&self.running_here).contains(&(id, index))
    }

    /// Stops coordinating: the transactions this engine drives stop where they are (as if
    /// the process died), to be ended by [`Engine::recover_own`] or the cleanup leader.
    pub fn shutdown(&self) {
        self.coordinators.cancel();
    }

    async fn execute_here(
        &self,
        id: Uuid,
        txn: Transaction,
        lease: LeaseId,
    ) -> Result<Vec<Note>, TxnError> {
        if txn.steps.is_empty() || txn.steps.len() > STEPS_MAX {
            return Err(TxnError::Invalid(format!(
                "a transaction has 1 to {STEPS_MAX} steps"
            )));
        }
        for s in &txn.steps {
            if s.nodes.is_empty() {
                return Err(TxnError::Invalid(format!("step {} has no nodes", s.name)));
            }
            if self.registry.get(&s.name).is_none() {
                return Err(TxnError::Invalid(format!(
                    "no step is registered as {}",
                    s.name
                )));
            }
            if let Some(e) = &s.unencodable {
                return Err(TxnError::Invalid(format!(
                    "the arguments of step {} cannot be encoded: {e}",
                    s.name
                )));
            }
        }
        let holder = format!(
            "{} (transaction {id}, from node {})",
            txn.operation, self.me
        );
        let objects: Vec<String> = txn
            .locks
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        if objects.len() > LOCKS_MAX {
            return Err(TxnError::Invalid(format!(
                "a transaction locks at most {LOCKS_MAX} objects"
            )));
        }
        let spec = TxnSpec {
            id,
            operation: txn.operation.clone(),
            initiator: self.me,
            instance: Some(self.instance),
            locks: objects,
            holder,
            created_unix_ms: now_ms(),
            steps: txn.steps,
            trace: crate::tracing_context::current(),
        };
        let result = self.coordinate(&spec, lease).await;
        // Whoever ends a transaction frees its locks in the same store transaction; one that
        // stopped short of its end (the store failed it) frees them here, as far as the
        // store lets it (the cleanup leader ends the transaction).
        if let Err(e) = &result
            && !matches!(e, TxnError::Busy { .. } | TxnError::Invalid(_))
        {
            for name in &spec.locks {
                let _ = lock::release_held_by(self.store.as_ref(), name, &spec.holder).await;
            }
        }
        // A coordinator the store failed may have left the transaction recorded (a write
        // that timed out may still be applied): it ends it itself once the store answers,
        // without keeping the answer waiting.
        if let Err(TxnError::Store(_)) = &result {
            let engine = self.clone();
            tokio::spawn(async move { engine.settle_own(id).await });
        }
        result
    }

    async fn coordinate(&self, spec: &TxnSpec, lease: LeaseId) -> Result<Vec<Note>, TxnError> {
        let id = spec.id;
        let mut notes = vec![];
        // The revision of this coordinator's last cursor write: every move forward requires
        // the cursor unchanged since, so that once another node has taken the transaction over
        // (the cleanup leader judged this coordinator gone and is undoing it), this one can
        // never start a later step after that undo.
        let mut cursor_rev = 0;
        for (index, step) in spec.steps.iter().enumerate() {
            failpoint::hit(&failpoint::coordinator(&step.name, When::Before)).await;
            let cursor = Cursor::at(index, Phase::Do);
            // This node's part of the step runs here, in the coordinator: its inbox is not
            // written (an entry of an earlier step goes), the other nodes' are.
            let mine = step.nodes.contains(&self.me);
            let others: Vec<Uuid> = step
                .nodes
                .iter()
                .copied()
                .filter(|n| *n != self.me)
                .collect();
            let mut told = tell_nodes(id, cursor, &others);
            let mut ops = vec![TxnOp::put(cursor_key(id), record::encode(&cursor))];
            ops.append(&mut told.first);
            if mine {
                ops.push(TxnOp::delete(inbox_key(self.me, id)));
            }
            if index == 0 {
                // The transaction is written with its locks taken, in one store transaction:
                // a busy object leaves nothing written.
                ops.push(TxnOp::put(spec_key(id), record::encode(spec)));
                let mut free = vec![Compare::absent(spec_key(id))];
                let mut reads = vec![];
                for name in &spec.locks {
                    let (is_free, take, read) = lock::take_in_txn(name, &spec.holder, lease);
                    free.push(is_free);
                    ops.push(take);
                    reads.push(read);
                }
                let created = self
                    .store
                    .txn(StoreTxn::new().when(free).and_then(ops).or_else(reads))
                    .await?;
                if !created.succeeded {
                    let held = spec
                        .locks
                        .iter()
                        .zip(&created.responses)
                        .find_map(|(name, read)| lock::held_in(name, read));
                    return Err(match held {
                        Some(h) => TxnError::Busy {
                            object: h.name,
                            holder: h.holder,
                        },
                        None => TxnError::Invalid(format!("transaction {id} exists already")),
                    });
                }
                cursor_rev = created.revision;
                tracing::info!(txn = %id, operation = %spec.operation, steps = spec.steps.len(), "transaction started");
            } else {
                let moved = self
                    .store
                    .txn(
                        StoreTxn::new()
                            .when([Compare::mod_revision(
                                cursor_key(id),
                                CompareOp::Equal,
                                cursor_rev,
                            )])
                            .and_then(ops),
                    )
                    .await?;
                if !moved.succeeded {
                    tracing::warn!(txn = %id, "another node took the transaction over; this coordinator stops");
                    return Err(match self.status(id).await? {
                        Some(TxnStatus::Ended(r)) => {
                            r.failure
                                .map(TxnError::from)
                                .unwrap_or(TxnError::Abandoned {
                                    reason: "another node ended it".into(),
                                })
                        }
                        _ => TxnError::Abandoned {
                            reason: "another node took it over, judging its coordinator gone"
                                .into(),
                        },
                    });
                }
                cursor_rev = moved.revision;
            }
            told.write_rest(self.store.as_ref()).await?;
            let timeout = step.timeout.unwrap_or(STEP_TIMEOUT);
            let last = index + 1 == spec.steps.len();
            let outcome = if mine && last {
                // Its own part of the last step needs no report: the end that follows says
                // it (a coordinator that dies before the end leaves it unreported, and the
                // transaction is undone).
                let here = self.run_here(id, spec.trace.as_deref(), index, step, false);
                let reports = async {
                    match others.is_empty() {
                        true => Ok(Outcome::AllOk(vec![])),
                        false => {
                            self.wait_reports(id, index, Phase::Do, &others, timeout)
                                .await
                        }
                    }
                };
                let (here, reports) = tokio::join!(here, reports);
                match (here?, reports?) {
                    (Some(r), _) if !r.ok => Outcome::Failed {
                        node: self.me,
                        error: r.error,
                        refused: (!r.refused.is_empty()).then_some(r.refused),
                    },
                    (Some(r), Outcome::AllOk(mut said)) => {
                        if !r.note.is_empty() {
                            said.push((self.me, r.note));
                        }
                        Outcome::AllOk(said)
                    }
                    (_, outcome) => outcome,
                }
            } else if mine {
                let here = self.run_here(id, spec.trace.as_deref(), index, step, true);
                let reports = self.wait_reports(id, index, Phase::Do, &step.nodes, timeout);
                let (here, reports) = tokio::join!(here, reports);
                here?;
                reports?
            } else {
                self.wait_reports(id, index, Phase::Do, &step.nodes, timeout)
                    .await?
            };
            match outcome {
                Outcome::AllOk(said) => notes.extend(said.into_iter().map(|(node, text)| Note {
                    step: step.name.clone(),
                    node,
                    text,
                })),
                outcome => {
                    let err = outcome.into_error(step, timeout);
                    tracing::warn!(txn = %id, error = %err, "transaction failed; undoing");
                    let ended = self
                        .roll_back(spec, index, Failure::from(&err), "its initiator")
                        .await?;
                    return Err(ended.failure.map(TxnError::from).unwrap_or(err));
                }
            }
            failpoint::hit(&failpoint::coordinator(&step.name, When::After)).await;
        }
        let ended = self.end(spec, None, vec![], notes, "its initiator").await?;
        match ended.failure {
            None => {
                tracing::info!(txn = %id, "transaction succeeded");
                Ok(ended.notes)
            }
            // Another node ended it first (it judged this coordinator gone).
            Some(f) => Err(f.into()),
        }
    }

    /// Undoes steps `from..=0` in reverse order, then ends the transaction as failed (kept
    /// while some node has not confirmed its undo).
    async fn roll_back(
        &self,
        spec: &TxnSpec,
        from: usize,
        failure: Failure,
        ended_by: &str,
    ) -> Result<TxnResult, StoreError> {
        let id = spec.id;
        let mut unconfirmed = BTreeSet::new();
        // Nodes that are down cannot undo now: do not wait for them (they undo when they
        // return, see `participate_once`).
        let alive = self.alive_nodes().await?;
        for index in (0..=from.min(spec.steps.len().saturating_sub(1))).rev() {
            let step = &spec.steps[index];
            let cursor = Cursor::at(index, Phase::Undo);
            let mut told = tell_nodes(id, cursor, &step.nodes);
            let mut ops = vec![TxnOp::put(cursor_key(id), record::encode(&cursor))];
            ops.append(&mut told.first);
            self.store.txn(StoreTxn::new().and_then(ops)).await?;
            told.write_rest(self.store.as_ref()).await?;
            let (up, down): (Vec<Uuid>, Vec<Uuid>) =
                step.nodes.iter().partition(|n| alive.contains(n));
            for node in &down {
                if self
                    .store
                    .get(&report_key(id, index, Phase::Undo, *node))
                    .await?
                    .is_none()
                {
                    unconfirmed.insert(*node);
                }
            }
            if up.is_empty() {
                continue;
            }
            match self
                .wait_reports(id, index, Phase::Undo, &up, UNDO_TIMEOUT)
                .await?
            {
                Outcome::AllOk(_) => {}
                Outcome::Failed { node, error, .. } => {
                    tracing::error!(txn = %id, step = %step.name, %node, %error, "undo failed");
                }
                Outcome::Missing(nodes) | Outcome::Gone(nodes) => {
                    tracing::warn!(txn = %id, step = %step.name, ?nodes, "undo not confirmed; kept for when the nodes return");
                    unconfirmed.extend(nodes);
                }
            }
        }
        self.end(
            spec,
            Some(failure),
            unconfirmed.into_iter().collect(),
            vec![],
            ended_by,
        )
        .await
    }
}

fn lock_here<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Optional durations as milliseconds in the stored record.
mod opt_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

mod cleanup;
mod outcome;
mod participant;

pub use outcome::{Failure, TxnResult, TxnStatus};
