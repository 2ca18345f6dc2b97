//! Running cluster transactions for REST requests, and telling what they did.
//!
//! Why the wait is bounded: a transaction ends whatever happens to the request that started
//! it (its coordinator runs in a task of its own, and another node ends it if this one dies).
//! The request waits for the end at most [`ANSWER_WAIT`] — less than a client's usual timeout
//! (`glustercli`'s 30 s) — and otherwise answers `202 Accepted` with the transaction
//! (`Location: /v1/transactions/{id}`), which the client follows. The outcome of an ended
//! transaction is kept an hour, so a client that lost its answer can still read it.
//!
//! Errors are rendered here, once, for both paths: the failed request's answer and the
//! `error` of a failed transaction read later say the same sentence.

use std::{collections::BTreeMap, time::Duration};

use gd_api::{ErrorCode, TxnState};
use gd_core::keys::VOLUME_LOCK;
use gd_core::txn::{Note, Transaction, TxnError, TxnResult, TxnStatus};
use gd_store::Store;
use uuid::Uuid;

use crate::Cluster;
use gd_core::OpError;
use gd_node::peers::node_label;

/// How long a request waits for its transaction to end before answering `202 Accepted`.
pub const ANSWER_WAIT: Duration = Duration::from_secs(20);

/// Runs a transaction through this node's engine; returns the nodes' notes ("on <node>:
/// <note>"), its error as one sentence, or — still running after [`ANSWER_WAIT`] — the
/// transaction to follow ([`OpError::still_running`]).
pub async fn run(cx: &Cluster, mut txn: Transaction) -> Result<Vec<String>, OpError> {
    let (node, engine) = (&cx.node, &cx.engine);
    for a in cx.around.iter() {
        a.before(&mut txn).await?;
    }
    // What the features are told once it committed (its steps are the engine's).
    let done = Transaction {
        steps: vec![],
        ..txn.clone()
    };
    let operation = txn.operation.clone();
    let resource = txn
        .locks
        .iter()
        .find_map(|l| l.strip_prefix(VOLUME_LOCK))
        .map(|name| format!("/v1/volumes/{name}"));
    let lease = node.lease().await?;
    let store = node.store.as_ref();
    let mut started = engine.start(txn, lease);
    let Some(ended) = started
        .wait_for(gd_core::failpoint::scaled(ANSWER_WAIT))
        .await
    else {
        let id = started.id;
        tracing::info!(txn = %id, %operation, "still running; answering 202 with the transaction");
        // The features hear of its commit when it comes, answer or not.
        let around = cx.around.clone();
        tokio::spawn(async move {
            if started.wait().await.is_ok() {
                futures::future::join_all(around.iter().map(|a| a.after(&done))).await;
            }
        });
        let status = engine.status(id).await?;
        let view = match status {
            Some(s) => gd_api::Transaction {
                resource,
                ..view(store, s).await
            },
            None => {
                return Err(OpError::new(
                    ErrorCode::Internal,
                    format!("transaction {id} of {operation} is neither running nor ended",),
                ));
            }
        };
        return Err(OpError::still_running(view));
    };
    match ended {
        Ok(notes) => {
            // The features hear of it side by side (what each does is its own).
            futures::future::join_all(cx.around.iter().map(|a| a.after(&done))).await;
            Ok(labelled_notes(store, notes).await)
        }
        Err(e) => Err(txn_error(store, &operation, e).await),
    }
}

async fn labelled_notes(store: &dyn Store, notes: Vec<Note>) -> Vec<String> {
    let mut out = vec![];
    for n in notes {
        out.push(format!(
            "on {}: {}",
            node_label(store, n.node).await,
            n.text
        ));
    }
    out
}

/// A transaction as the API shows it, nodes named by their addresses.
pub async fn view(store: &dyn Store, status: TxnStatus) -> gd_api::Transaction {
    match status {
        TxnStatus::Running {
            id,
            operation,
            initiator,
            started_unix_ms,
            steps,
            step,
            undoing,
        } => gd_api::Transaction {
            id,
            operation,
            state: if undoing {
                TxnState::Undoing
            } else {
                TxnState::Running
            },
            initiator,
            started: rfc3339(started_unix_ms),
            finished: None,
            current_step: steps.get(step).cloned(),
            steps,
            error: None,
            undo_pending: vec![],
            notes: vec![],
            resource: None,
            ended_by: None,
        },
        TxnStatus::Ended(r) => ended_view(store, r).await,
    }
}

async fn ended_view(store: &dyn Store, r: TxnResult) -> gd_api::Transaction {
    let error = match r.failure.clone() {
        Some(f) => txn_error(store, &r.operation, f.into())
            .await
            .body()
            .errors
            .into_iter()
            .next(),
        None => None,
    };
    let mut undo_pending = vec![];
    for n in &r.undo_pending {
        undo_pending.push(node_label(store, *n).await);
    }
    gd_api::Transaction {
        id: r.id,
        state: if r.failure.is_some() {
            TxnState::Failed
        } else {
            TxnState::Succeeded
        },
        initiator: r.initiator,
        started: rfc3339(r.started_unix_ms),
        finished: Some(rfc3339(r.finished_unix_ms)),
        steps: r.steps,
        current_step: None,
        error,
        undo_pending,
        notes: labelled_notes(store, r.notes).await,
        resource: None,
        ended_by: Some(r.ended_by),
        operation: r.operation,
    }
}

fn rfc3339(unix_ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(unix_ms);
    humantime::format_rfc3339_millis(t).to_string()
}

/// The answer to a failed transaction: one sentence, naming nodes by their addresses; the
/// step, the node's id and the node's own words as fields for programs.
pub async fn txn_error(store: &dyn Store, operation: &str, e: TxnError) -> OpError {
    let nodes = match &e {
        TxnError::StepFailed { node, .. } => vec![*node],
        TxnError::Timeout { nodes, .. } | TxnError::NodesGone { nodes, .. } => nodes.clone(),
        _ => vec![],
    };
    let mut labels = BTreeMap::new();
    for n in nodes {
        labels.insert(n, node_label(store, n).await);
    }
    render_error(operation, e, &labels)
}

/// [`txn_error`] with the nodes' names at hand (`labels`; a node without one is named by its
/// id).
fn render_error(operation: &str, e: TxnError, labels: &BTreeMap<Uuid, String>) -> OpError {
    let label = |n: &Uuid| labels.get(n).cloned().unwrap_or_else(|| n.to_string());
    let ids = |nodes: &[Uuid]| {
        nodes
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    match e {
        TxnError::Busy { .. } => OpError::new(ErrorCode::OperationInProgress, e.to_string()),
        TxnError::StepFailed {
            step,
            node,
            error,
            refused,
        } => {
            // A step that refuses its input is the caller's mistake (a brick in use, on the
            // root file system...): a 4xx, like every other bad input; nothing was changed.
            let (code, message) = if let Some(check) = refused {
                (
                    ErrorCode::InvalidRequest,
                    format!("{check} failed on {}: {error}", label(&node)),
                )
            } else {
                (
                    ErrorCode::TxnStepFailed,
                    format!("{operation} failed on {}: {error}", label(&node)),
                )
            };
            OpError::new(code, message)
                .field("step", step)
                .field("peer-id", node.to_string())
                .field("error", error)
        }
        TxnError::Timeout {
            step,
            nodes,
            timeout_s,
        } => OpError::new(
            ErrorCode::TxnStepFailed,
            format!(
                "{operation} did not complete within {timeout_s} s: no answer from {}",
                nodes.iter().map(label).collect::<Vec<_>>().join(", ")
            ),
        )
        .field("step", step)
        .field("peer-ids", ids(&nodes)),
        TxnError::NodesGone { step, nodes } => OpError::new(
            ErrorCode::TxnStepFailed,
            format!(
                "{operation} failed: {} went offline before doing its part; what was done is undone",
                nodes.iter().map(label).collect::<Vec<_>>().join(", ")
            ),
        )
        .field("step", step)
        .field("peer-ids", ids(&nodes)),
        TxnError::Abandoned { reason } => OpError::new(
            ErrorCode::TxnStepFailed,
            format!("{operation} did not complete: it was undone because {reason}"),
        ),
        TxnError::Invalid(m) => OpError::new(ErrorCode::Internal, m),
        TxnError::Store(s) => s.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_steps_read_as_one_sentence_naming_the_node_by_address() {
        let node = Uuid::new_v4();
        let labels = BTreeMap::from([(node, "127.0.0.2:24007".to_owned())]);
        let why =
            "brick /srv/b1 is on the root file system (use allow-root-dir or force to accept it)";
        let e = render_error(
            "volume create v",
            TxnError::StepFailed {
                step: "volume-create.validate-bricks".into(),
                node,
                error: why.into(),
                refused: Some("brick check".into()),
            },
            &labels,
        );
        assert_eq!(e.code.http_status(), 400);
        let body = e.body();
        let err = &body.errors[0];
        assert_eq!(
            err.message,
            format!("brick check failed on 127.0.0.2:24007: {why}")
        );
        assert_eq!(err.fields["step"], "volume-create.validate-bricks");
        assert_eq!(err.fields["peer-id"], node.to_string());
        assert_eq!(err.fields["error"], why);

        let e = render_error(
            "volume stop v",
            TxnError::StepFailed {
                step: "volume-state.bricks".into(),
                node,
                error: "brick /b (pid 7) still runs 5 s after SIGKILL".into(),
                refused: None,
            },
            &labels,
        );
        assert_eq!(e.code.http_status(), 500);
        assert_eq!(
            e.body().errors[0].message,
            "volume stop v failed on 127.0.0.2:24007: brick /b (pid 7) still runs 5 s after SIGKILL"
        );

        // A node the store has no record of is named by its id.
        let other = Uuid::new_v4();
        let e = render_error(
            "volume delete v",
            TxnError::Timeout {
                step: "volume-delete.processes".into(),
                nodes: vec![node, other],
                timeout_s: 75,
            },
            &labels,
        );
        assert_eq!(
            e.body().errors[0].message,
            format!(
                "volume delete v did not complete within 75 s: no answer from 127.0.0.2:24007, {other}"
            )
        );
        assert_eq!(
            e.body().errors[0].fields["peer-ids"],
            format!("{node},{other}")
        );
    }
}
