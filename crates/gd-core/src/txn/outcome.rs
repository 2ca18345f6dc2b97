//! The outcome of a transaction: how it is ended (once, by whoever gets there first), kept,
//! and read back, with what is known of the ones still running.

use super::*;
use crate::keys::{TXN, TXN_RESULTS};

/// Why a transaction failed, as its kept outcome says it (the stored form of [`TxnError`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Failure {
    Busy {
        object: String,
        holder: String,
    },
    StepFailed {
        step: String,
        node: Uuid,
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<String>,
    },
    Timeout {
        step: String,
        nodes: Vec<Uuid>,
        timeout_s: u64,
    },
    NodesGone {
        step: String,
        nodes: Vec<Uuid>,
    },
    Abandoned {
        reason: String,
    },
    Other {
        message: String,
    },
}

impl From<&TxnError> for Failure {
    fn from(e: &TxnError) -> Failure {
        match e {
            TxnError::Busy { object, holder } => Failure::Busy {
                object: object.clone(),
                holder: holder.clone(),
            },
            TxnError::StepFailed {
                step,
                node,
                error,
                refused,
            } => Failure::StepFailed {
                step: step.clone(),
                node: *node,
                error: error.clone(),
                refused: refused.clone(),
            },
            TxnError::Timeout {
                step,
                nodes,
                timeout_s,
            } => Failure::Timeout {
                step: step.clone(),
                nodes: nodes.clone(),
                timeout_s: *timeout_s,
            },
            TxnError::NodesGone { step, nodes } => Failure::NodesGone {
                step: step.clone(),
                nodes: nodes.clone(),
            },
            TxnError::Abandoned { reason } => Failure::Abandoned {
                reason: reason.clone(),
            },
            TxnError::Invalid(m) => Failure::Other { message: m.clone() },
            TxnError::Store(e) => Failure::Other {
                message: e.to_string(),
            },
        }
    }
}

impl From<Failure> for TxnError {
    fn from(f: Failure) -> TxnError {
        match f {
            Failure::Busy { object, holder } => TxnError::Busy { object, holder },
            Failure::StepFailed {
                step,
                node,
                error,
                refused,
            } => TxnError::StepFailed {
                step,
                node,
                error,
                refused,
            },
            Failure::Timeout {
                step,
                nodes,
                timeout_s,
            } => TxnError::Timeout {
                step,
                nodes,
                timeout_s,
            },
            Failure::NodesGone { step, nodes } => TxnError::NodesGone { step, nodes },
            Failure::Abandoned { reason } => TxnError::Abandoned { reason },
            Failure::Other { message } => TxnError::Invalid(message),
        }
    }
}

/// The outcome of an ended transaction, kept [`RESULT_KEEP_S`] under [`TXN_RESULTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TxnResult {
    pub id: Uuid,
    pub operation: String,
    pub initiator: Uuid,
    pub started_unix_ms: u64,
    pub finished_unix_ms: u64,
    /// The names of its steps.
    pub steps: Vec<String>,
    /// Why it failed (what it did was undone); `None` when it succeeded.
    pub failure: Option<Failure>,
    /// Nodes that were down when their part was undone: they undo it when they return.
    #[serde(default)]
    pub undo_pending: Vec<Uuid>,
    /// What nodes said about steps they completed (see [`Note`]).
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Who ended it: its coordinator, its initiator after a restart, or the cleanup leader.
    pub ended_by: String,
}

impl Record for TxnResult {
    const KIND: &'static str = "txn-result";
    const VERSION: u32 = 1;
}

/// What is known of a transaction: still running (or being undone), or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnStatus {
    Running {
        id: Uuid,
        operation: String,
        initiator: Uuid,
        started_unix_ms: u64,
        steps: Vec<String>,
        /// The step under the cursor.
        step: usize,
        /// Whether its steps are being undone.
        undoing: bool,
    },
    Ended(TxnResult),
}

impl TxnStatus {
    pub fn id(&self) -> Uuid {
        match self {
            TxnStatus::Running { id, .. } => *id,
            TxnStatus::Ended(r) => r.id,
        }
    }
}

impl Engine {
    /// Ends a transaction: keeps its outcome and forgets its records (or keeps them, marked
    /// failed, while `undo_pending` nodes owe their undo), in one store transaction that
    /// applies only while the transaction is still running, so that of two nodes ending it
    /// (its coordinator and the cleanup leader) exactly one does; the transaction's locks go
    /// in the same store transaction. Returns the outcome that stands: this one, or the one
    /// written first.
    pub(super) async fn end(
        &self,
        spec: &TxnSpec,
        failure: Option<Failure>,
        undo_pending: Vec<Uuid>,
        notes: Vec<Note>,
        ended_by: &str,
    ) -> Result<TxnResult, StoreError> {
        let id = spec.id;
        let result = TxnResult {
            id,
            operation: spec.operation.clone(),
            initiator: spec.initiator,
            started_unix_ms: spec.created_unix_ms,
            finished_unix_ms: now_ms(),
            steps: spec.steps.iter().map(|s| s.name.clone()).collect(),
            failure,
            undo_pending,
            notes,
            ended_by: ended_by.to_owned(),
        };
        // The inboxes are emptied but for the nodes that still owe an undo.
        let done_nodes = spec
            .nodes()
            .into_iter()
            .filter(|n| !result.undo_pending.contains(n));
        let mut cleared = clear_inboxes(id, done_nodes);
        let mut ops = std::mem::take(&mut cleared.first);
        ops.push(if result.undo_pending.is_empty() {
            TxnOp::DeletePrefix {
                prefix: format!("{TXN}{id}/"),
            }
        } else {
            let failed = Failed {
                reason: result
                    .failure
                    .clone()
                    .map(|f| TxnError::from(f).to_string())
                    .unwrap_or_default(),
                failed_unix_ms: result.finished_unix_ms,
            };
            TxnOp::put(failed_key(id), record::encode(&failed))
        });
        let kept = record::encode(&result);
        let mut lease = self.results_lease(None).await?;
        let keep = |lease| TxnOp::put_with_lease(result_key(id), kept.clone(), lease);
        let running = [
            Compare::present(spec_key(id)),
            Compare::absent(result_key(id)),
        ];
        // Its locks go with it, while they are still this transaction's (the holder names it).
        let (held, freed): (Vec<Compare>, Vec<TxnOp>) = spec
            .locks
            .iter()
            .map(|name| lock::release_in_txn(name, &spec.holder))
            .unzip();
        let end = |lease| {
            StoreTxn::new()
                .when(running.iter().chain(&held).cloned())
                .and_then(
                    ops.iter()
                        .cloned()
                        .chain([keep(lease)])
                        .chain(freed.clone()),
                )
                .or_else([TxnOp::get(result_key(id)), TxnOp::get(spec_key(id))])
        };
        let applied = match self.store.txn(end(lease)).await {
            // The shared lease is gone (a store that lost it): a new one.
            Err(StoreError::LeaseNotFound { .. }) => {
                lease = self.results_lease(Some(lease)).await?;
                self.store.txn(end(lease)).await?
            }
            r => r?,
        };
        let ended = if applied.succeeded {
            true
        } else {
            match applied.responses.as_slice() {
                [TxnOpResponse::Get(Some(kv)), ..] => {
                    return record::decode(&kv.key, &kv.value);
                }
                [_, TxnOpResponse::Get(None)] => return Ok(result),
                // Still running, but a lock is no longer this transaction's (its lease ended):
                // ended without touching the locks; whichever are still its own are freed.
                _ => {
                    ops.push(keep(lease));
                    let again = self
                        .store
                        .txn(StoreTxn::new().when(running).and_then(ops))
                        .await?;
                    for name in &spec.locks {
                        // Best effort: the outcome stands; a lock left goes with its lease.
                        if let Err(e) =
                            lock::release_held_by(self.store.as_ref(), name, &spec.holder).await
                        {
                            tracing::warn!(txn = %id, lock = %name, error = %e, "a lock of an ended transaction was not freed; its lease will free it");
                        }
                    }
                    again.succeeded
                }
            }
        };
        if ended {
            cleared.write_rest(self.store.as_ref()).await?;
            return Ok(result);
        }
        match self.store.get(&result_key(id)).await? {
            Some(kv) => record::decode(&kv.key, &kv.value),
            None => Ok(result),
        }
    }

    /// The lease kept outcomes are bound to: one for every [`RESULT_KEEP_S`], granted for
    /// twice that (an outcome is kept one to two of them), not one per transaction (a store
    /// request on every transaction's path, and a lease for each in the store). `lost`: the
    /// store no longer has that one.
    async fn results_lease(&self, lost: Option<LeaseId>) -> Result<LeaseId, StoreError> {
        let keep = Duration::from_secs(RESULT_KEEP_S.unsigned_abs());
        let mut held = self.results_lease.lock().await;
        if let Some((lease, at)) = *held
            && at.elapsed() < keep
            && lost != Some(lease)
        {
            return Ok(lease);
        }
        let lease = self.store.lease_grant(2 * RESULT_KEEP_S).await?;
        *held = Some((lease, std::time::Instant::now()));
        Ok(lease)
    }

    // ---- reading ----

    /// What is known of transaction `id`: running, or ended within [`RESULT_KEEP_S`] (or up to
    /// twice that).
    pub async fn status(&self, id: Uuid) -> Result<Option<TxnStatus>, StoreError> {
        // One snapshot: read one by one, a transaction ending between the reads would be
        // neither running nor ended.
        let read = self
            .store
            .txn(StoreTxn::new().and_then([
                TxnOp::Get {
                    key: result_key(id),
                },
                TxnOp::Get { key: spec_key(id) },
                TxnOp::Get {
                    key: cursor_key(id),
                },
            ]))
            .await?;
        let mut got = read.responses.into_iter().map(|r| match r {
            gd_store::TxnOpResponse::Get(kv) => kv,
            _ => None,
        });
        let (result, spec, cursor) = (
            got.next().flatten(),
            got.next().flatten(),
            got.next().flatten(),
        );
        if let Some(kv) = result {
            return Ok(Some(TxnStatus::Ended(record::decode(&kv.key, &kv.value)?)));
        }
        let (Some(spec), Some(cursor)) = (spec, cursor) else {
            return Ok(None);
        };
        let spec: TxnSpec = record::decode(&spec.key, &spec.value)?;
        let cursor: Cursor = record::decode(&cursor.key, &cursor.value)?;
        Ok(Some(running(&spec, cursor)))
    }

    /// The running transactions, and at most `ended_max` of the latest ended ones, newest
    /// first.
    pub async fn list(&self, ended_max: usize) -> Result<Vec<TxnStatus>, StoreError> {
        let mut out = vec![];
        // Running ones first: one that ends meanwhile is then found ended too (and shown
        // once, ended), never in neither list.
        let running_now = self.transactions().await?;
        let ended_kvs = self.store.range(TXN_RESULTS, 0).await?;
        let mut ended = vec![];
        let mut ended_ids = BTreeSet::new();
        for kv in &ended_kvs.kvs {
            let r: TxnResult = record::decode(&kv.key, &kv.value)?;
            ended_ids.insert(r.id);
            ended.push(r);
        }
        for (id, spec, cursor) in running_now {
            if !ended_ids.contains(&id) {
                out.push(running(&spec, cursor));
            }
        }
        ended.sort_by_key(|r| std::cmp::Reverse(r.finished_unix_ms));
        out.extend(ended.into_iter().take(ended_max).map(TxnStatus::Ended));
        Ok(out)
    }
}

pub(super) fn running(spec: &TxnSpec, cursor: Cursor) -> TxnStatus {
    TxnStatus::Running {
        id: spec.id,
        operation: spec.operation.clone(),
        initiator: spec.initiator,
        started_unix_ms: spec.created_unix_ms,
        steps: spec.steps.iter().map(|s| s.name.clone()).collect(),
        step: cursor.step,
        undoing: cursor.phase == Phase::Undo,
    }
}
