//! The events of operations: once an operation's transaction committed, its initiator records
//! what it did (`volume.created`, `volume.option-set`...). An initiator that dies between the
//! commit and this write loses the event (the operation itself stands).

use std::sync::Arc;

use async_trait::async_trait;
use gd_core::{
    OpError,
    events::{self, EventRecord},
    keys::VOLUME_LOCK,
    txn::Transaction,
};
use gd_feature::Around;
use gd_node::node::Node;

/// What an operation of `kind` is told as: its event and the words of its message.
fn event_of(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "volume-create" => ("volume.created", "was created"),
        "volume-start" => ("volume.started", "was started"),
        "volume-stop" => ("volume.stopped", "was stopped"),
        "volume-delete" => ("volume.deleted", "was deleted"),
        "volume-add-brick" => ("volume.expanded", "has new bricks"),
        "volume-options-set" => ("volume.option-set", "has options set"),
        "volume-options-reset" => ("volume.option-reset", "has options reset"),
        "volume-replace-brick" => ("brick.replaced", "had a brick replaced"),
        "volume-reset-brick-start" => ("brick.reset-started", "had a brick taken out for reset"),
        "volume-reset-brick-commit" => ("brick.reset-committed", "had a reset brick put back"),
        "volume-remove-brick-start" => (
            "volume.remove-brick-started",
            "is moving files off bricks to remove",
        ),
        "volume-remove-brick-stop" => ("volume.remove-brick-stopped", "stopped removing bricks"),
        "volume-remove-brick-commit" => ("volume.shrunk", "had bricks removed"),
        _ => return None,
    })
}

/// Records the event of every operation that committed.
pub struct OperationEvents {
    pub node: Arc<Node>,
}

#[async_trait]
impl Around for OperationEvents {
    async fn before(&self, _txn: &mut Transaction) -> Result<(), OpError> {
        Ok(())
    }

    async fn after(&self, txn: &Transaction) {
        let Some((event, what)) = event_of(txn.kind) else {
            return;
        };
        let volume = txn
            .locks
            .iter()
            .find_map(|l| l.strip_prefix(VOLUME_LOCK))
            .unwrap_or_default()
            .to_owned();
        let mut e = EventRecord::new(
            self.node.identity().peer_id,
            event,
            format!("volume {volume} {what}"),
        )
        .field("volume", volume);
        if let Some(hook) = &txn.hook {
            for (k, v) in &hook.options {
                e = e.field(&format!("option.{k}"), v.clone());
            }
        }
        events::emit(self.node.store.as_ref(), e).await;
    }
}
