//! Each node tells when it lost its store's quorum and when it had it back: both events are
//! written once the store answers again (nothing can be written without a quorum), the first
//! dated when the loss began.
//!
//! The node's liveness refreshes its lease every 2.5 s, a call its store's leader must answer:
//! whether the store answers those is what tells a loss ([`gd_node::liveness::Silence`]), so
//! this asks the store nothing of its own. One call left unanswered (a slow second under load)
//! is not a loss; [`UNANSWERED`] in a row are.

use std::sync::Arc;

use gd_core::events::{self, EventRecord};
use gd_node::{liveness::Silence, node::Node};
use gd_store::Store;
use tokio_util::sync::CancellationToken;

/// How many liveness calls in a row the store must leave unanswered (each waits 2 s, a second
/// apart) before its quorum is taken as lost: about 5 s without an answer.
const UNANSWERED: u32 = 2;

/// Runs until `cancel`.
pub async fn run(node: Arc<Node>, cancel: CancellationToken) {
    let mut silence = node.liveness.silence();
    let mut lost: Option<Silence> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = silence.changed() => if changed.is_err() { return },
        }
        let now = *silence.borrow_and_update();
        match (now, lost) {
            (Some(s), None) if s.calls >= UNANSWERED => {
                tracing::warn!(
                    seconds = s.since.elapsed().as_secs(),
                    "the store does not answer: no quorum"
                );
                lost = Some(s);
            }
            (None, Some(s)) => {
                lost = None;
                record(&node, s).await;
            }
            _ => {}
        }
    }
}

/// Writes the two events of a loss that ended.
async fn record(node: &Node, loss: Silence) {
    let me = node.identity().peer_id;
    let secs = loss.since.elapsed().as_secs();
    tracing::info!(seconds = secs, "the store answers again");
    let mut lost = EventRecord::new(me, "store.quorum-lost", "this node's store lost its quorum");
    lost.ts_ms = loss.since_ms;
    let back = EventRecord::new(
        me,
        "store.quorum-regained",
        format!("this node's store has its quorum again, after {secs} s"),
    )
    .field("seconds", secs.to_string());
    let store: &dyn Store = node.store.as_ref();
    events::emit(store, lost).await;
    events::emit(store, back).await;
}
