//! Each node tells when it lost its store's quorum and when it had it back: both events are
//! written once the store answers again (nothing can be written without a quorum), the first
//! dated when the loss began.

use std::{sync::Arc, time::Duration};

use gd_core::events::{self, EventRecord};
use gd_node::node::Node;
use gd_store::Store;
use tokio_util::sync::CancellationToken;

/// How often a node asks its store for its revision.
const PROBE: Duration = Duration::from_secs(3);
/// How long an answer may take before the store is taken as having no quorum.
const ANSWER: Duration = Duration::from_secs(2);

/// Runs until `cancel`.
pub async fn run(node: Arc<Node>, cancel: CancellationToken) {
    let mut lost_at: Option<(u64, std::time::Instant)> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(PROBE) => {}
        }
        let answers = matches!(
            tokio::time::timeout(ANSWER, node.store.revision()).await,
            Ok(Ok(_))
        );
        match (answers, lost_at) {
            (false, None) => {
                tracing::warn!("the store does not answer: no quorum");
                lost_at = Some((now_ms(), std::time::Instant::now()));
            }
            (true, Some((at, since))) => {
                lost_at = None;
                let me = node.identity().peer_id;
                let secs = since.elapsed().as_secs();
                let mut lost =
                    EventRecord::new(me, "store.quorum-lost", "this node's store lost its quorum");
                lost.ts_ms = at;
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
            _ => {}
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}
