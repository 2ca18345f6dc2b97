//! The nodes' transaction inboxes (`txn-inbox/<peer>/<id>`): how a move of a transaction's
//! cursor wakes the nodes of the step it moves to, and only them.

use super::*;

pub(super) fn inbox_dir(node: Uuid) -> String {
    format!("{TXN_INBOX}{node}/")
}
pub(super) fn inbox_key(node: Uuid, id: Uuid) -> String {
    format!("{}{id}", inbox_dir(node))
}

/// How many inbox writes go in the store transaction that moves a cursor or ends a
/// transaction; the writes of a step on more nodes follow in store transactions of their own
/// (etcd takes at most [`gd_store::MAX_TXN_OPS`] per transaction). Should the writer die in
/// between, the nodes not told see the step when the cleanup leader judges the transaction
/// stalled, and an entry whose transaction is gone is removed by its node.
pub(super) const INBOX_IN_TXN: usize = 100;

/// Inbox writes: the first few, for the store transaction they belong with; the rest, in
/// batches of their own.
pub(super) struct InboxWrites {
    pub(super) first: Vec<TxnOp>,
    rest: Vec<Vec<TxnOp>>,
}

impl InboxWrites {
    pub(super) fn of(mut ops: Vec<TxnOp>) -> InboxWrites {
        let rest_ops = ops.split_off(ops.len().min(INBOX_IN_TXN));
        InboxWrites {
            first: ops,
            rest: rest_ops
                .chunks(INBOX_IN_TXN)
                .map(<[TxnOp]>::to_vec)
                .collect(),
        }
    }

    /// Writes the batches that did not fit with the first.
    pub(super) async fn write_rest(self, store: &dyn Store) -> Result<(), StoreError> {
        for batch in self.rest {
            store.txn(StoreTxn::new().and_then(batch)).await?;
        }
        Ok(())
    }
}

/// The inbox writes that go with moving transaction `id`'s cursor to `cursor`: an entry for
/// each of `nodes` (the nodes of the step it moves to), which wakes them.
pub(super) fn tell_nodes(id: Uuid, cursor: Cursor, nodes: &[Uuid]) -> InboxWrites {
    let value = record::encode(&cursor);
    InboxWrites::of(
        nodes
            .iter()
            .map(|n| TxnOp::put(inbox_key(*n, id), value.clone()))
            .collect(),
    )
}

/// The writes that empty the inboxes of `nodes` of transaction `id`.
pub(super) fn clear_inboxes(id: Uuid, nodes: impl IntoIterator<Item = Uuid>) -> InboxWrites {
    InboxWrites::of(
        nodes
            .into_iter()
            .map(|n| TxnOp::delete(inbox_key(n, id)))
            .collect(),
    )
}
