//! How the initiator waits for the nodes of a step to report: one watch of the step's report
//! directory, opened once, and each report taken from its event. A node that has not reported
//! is looked for among the living only while nothing arrives, all of them in one read: the
//! wait costs what the nodes write, not the square of their number (it re-read everything
//! on every report before, which made a step on 16 nodes take 100 ms more than on 3).

use std::collections::BTreeMap;
use std::time::Duration;

use gd_store::{EventKind, StoreError, Txn as StoreTxn, TxnOp, TxnOpResponse, Watch, record};
use uuid::Uuid;

use super::{Call, Engine, Phase, Report, TxnError, report_dir};
use crate::keys::ALIVE;

/// How long a wait goes without a report before it looks for nodes that went offline.
const QUIET: Duration = Duration::from_millis(500);

impl Engine {
    /// Waits until every node reported (`index`, `phase`), one failed, or `timeout` passed.
    pub(super) async fn wait_reports(
        &self,
        id: Uuid,
        index: usize,
        phase: Phase,
        nodes: &[Uuid],
        timeout: Duration,
    ) -> Result<Outcome, StoreError> {
        let dir = report_dir(id, index, phase);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut got: BTreeMap<Uuid, Report> = BTreeMap::new();
        // `None`: the watch must be (re)opened, and everything read again.
        let mut watch: Option<Watch> = None;
        // Nodes already gone when the wait starts fail the step at once.
        let mut look_for_gone = phase == Phase::Do;
        loop {
            if watch.is_none() {
                // Opened before the read, so no report between the two is missed.
                watch = self.store.watch(&dir, None).await.ok();
                match self.store.range(&dir, nodes.len() + 1).await {
                    Ok(reports) => {
                        for kv in &reports.kvs {
                            take(&mut got, &dir, &kv.key, &kv.value)?;
                        }
                    }
                    // A read the store failed (a member dying): again, within the step's bound.
                    Err(e) if e.retryable() && tokio::time::Instant::now() < deadline => {
                        tracing::debug!(txn = %id, error = %e, "reading the reports failed; again");
                        watch = None;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some((node, r)) = got.iter().find(|(_, r)| !r.ok) {
                return Ok(Outcome::Failed {
                    node: *node,
                    error: r.error.clone(),
                    refused: (!r.refused.is_empty()).then(|| r.refused.clone()),
                });
            }
            let missing: Vec<Uuid> = nodes
                .iter()
                .filter(|n| !got.contains_key(n))
                .copied()
                .collect();
            if missing.is_empty() {
                let notes = got
                    .into_iter()
                    .filter(|(n, r)| nodes.contains(n) && !r.note.is_empty())
                    .map(|(n, r)| (n, r.note))
                    .collect();
                return Ok(Outcome::AllOk(notes));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(Outcome::Missing(missing));
            }
            if std::mem::take(&mut look_for_gone) {
                let gone = self.gone(&missing).await?;
                if !gone.is_empty() {
                    return Ok(Outcome::Gone(gone));
                }
            }
            // Wake on the next report; after a quiet while, look for nodes gone.
            let event = match watch.as_mut() {
                Some(w) => tokio::time::timeout(left.min(QUIET), w.next()).await.ok(),
                None => {
                    tokio::time::sleep(left.min(Duration::from_millis(100))).await;
                    continue;
                }
            };
            match event {
                Some(Some(Ok(ev))) => {
                    if ev.kind == EventKind::Put {
                        take(&mut got, &dir, &ev.key, &ev.value)?;
                    }
                }
                // The watch failed or ended: open it again and read everything.
                Some(_) => watch = None,
                // Quiet: a node that is gone (its lease ended) will not report before it
                // returns, so the step fails now rather than at its bound. (Undo waits only
                // for live nodes anyway.)
                None => look_for_gone = phase == Phase::Do,
            }
        }
    }

    /// Which of `nodes` have no liveness key: one read per 128 nodes.
    async fn gone(&self, nodes: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
        let mut gone = vec![];
        for chunk in nodes.chunks(gd_store::MAX_TXN_OPS) {
            let gets = chunk.iter().map(|n| TxnOp::Get {
                key: format!("{ALIVE}{n}"),
            });
            let resp = self.store.txn(StoreTxn::new().and_then(gets)).await?;
            for (n, r) in chunk.iter().zip(resp.responses) {
                if matches!(r, TxnOpResponse::Get(None)) {
                    gone.push(*n);
                }
            }
        }
        Ok(gone)
    }
}

/// Records the report stored at `key` (under `dir`), if it names a node.
fn take(
    got: &mut BTreeMap<Uuid, Report>,
    dir: &str,
    key: &str,
    value: &[u8],
) -> Result<(), StoreError> {
    if let Some(node) = key.strip_prefix(dir).and_then(|n| Uuid::parse_str(n).ok()) {
        got.insert(node, record::decode(key, value)?);
    }
    Ok(())
}

pub(super) enum Outcome {
    /// Every node succeeded; the notes some gave.
    AllOk(Vec<(Uuid, String)>),
    Failed {
        node: Uuid,
        error: String,
        refused: Option<String>,
    },
    Missing(Vec<Uuid>),
    /// Nodes that went offline without reporting.
    Gone(Vec<Uuid>),
}

impl Outcome {
    pub(super) fn into_error(self, step: &Call, timeout: Duration) -> TxnError {
        match self {
            Outcome::AllOk(_) => {
                TxnError::Invalid("internal: a successful step reported as failed".into())
            }
            Outcome::Failed {
                node,
                error,
                refused,
            } => TxnError::StepFailed {
                step: step.name.clone(),
                node,
                error,
                refused,
            },
            Outcome::Gone(nodes) => TxnError::NodesGone {
                step: step.name.clone(),
                nodes,
            },
            Outcome::Missing(nodes) => TxnError::Timeout {
                step: step.name.clone(),
                nodes,
                timeout_s: timeout.as_secs(),
            },
        }
    }
}
