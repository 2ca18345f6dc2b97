//! Every key of the cluster namespace (`gluster-<cluster-id>/`), in one place, each with the
//! module that owns it: who writes it, and what it holds. A prefix is declared here and
//! nowhere else (a tidy test checks), so that two features can never claim the same keys and
//! a reader finds the whole layout at once. Every value is a versioned record
//! (`gd_store::record`).

// ---- membership (gd-daemon `peers`, `liveness`, `node`, `membership`) ----

/// `peers/<peer-id>`: a peer's record (addresses, name, metadata).
pub const PEERS: &str = "peers/";
/// `alive/<peer-id>`: present while the peer's lease lives; `online` is its presence.
pub const ALIVE: &str = "alive/";
/// `removed/<peer-id>`: the tombstone of a removed peer, which it obeys by resetting itself.
pub const REMOVED: &str = "removed/";
/// `store/nodes/<peer-id>`: a node that can run an etcd member (the membership controller's).
pub const STORE_NODES: &str = "store/nodes/";
/// `store/members/<peer-id>`: the etcd member a node runs (learner or voter).
pub const STORE_MEMBERS: &str = "store/members/";
/// `store/leaving/<peer-id>`: a node being removed, whose member is handed over first
/// (bound to the remover's lease).
pub const STORE_LEAVING: &str = "store/leaving/";

// ---- locks (gd-store `lock`) ----

/// `locks/<name>`: object locks, bound to their holder's lease (the prefix is gd-store's).
pub const LOCKS: &str = gd_store::lock::LOCK_PREFIX;
/// Lock names: a volume's transactions.
pub const VOLUME_LOCK: &str = "volume/";
/// Lock names: a peer being removed.
pub const PEER_LOCK: &str = "peer/";
/// Lock names: a peer being added, by its first address.
pub const PEER_ADDRESS_LOCK: &str = "peer-address/";
/// Lock names: the transaction cleanup leader.
pub const TXN_CLEANUP_LOCK: &str = "txn-cleanup";
/// Lock names: the etcd membership controller.
pub const STORE_CONTROLLER_LOCK: &str = "store-controller";
/// The lock of the events keeper (the node that bounds the history and tells of peers going
/// online and offline).
pub const EVENTS_KEEPER_LOCK: &str = "events-keeper";

// ---- transactions (gd-core `txn`) ----

/// `txn/<id>/{spec,cursor,failed,do/<step>/<peer>,undo/<step>/<peer>}`: running transactions.
pub const TXN: &str = "txn/";
/// `txn-results/<id>`: the outcome of an ended transaction (bound to a one-hour lease).
pub const TXN_RESULTS: &str = "txn-results/";
/// `txn-inbox/<peer-id>/<id>`: a running transaction that has asked this peer for a step (or
/// its undo), written with each move of the cursor to the nodes of the step it moves to: a
/// node watches its own inbox only, so a transaction wakes the nodes it involves, not all.
pub const TXN_INBOX: &str = "txn-inbox/";

// ---- tasks (gd-core `task`) ----

/// `tasks/<kind>/<object>`: a task that runs once per object (a volume's rebalance).
pub const TASKS: &str = "tasks/";
/// `locks/task/<kind>/<object>`: the lock of a task's leader (lease-bound).
pub const TASK_LOCK: &str = "task/";

// ---- rebalance (gd-rebalance) ----

/// `rebalance/<volume>/<peer-id>`: how the rebalance process of a volume on one node did
/// (its counters and state, as the process reports them), for the last rebalance.
pub const REBALANCE: &str = "rebalance/";
/// `rebalance-stop/<volume>`: a request to stop the volume's running rebalance (its id).
pub const REBALANCE_STOP: &str = "rebalance-stop/";

// ---- volumes (gd-volume) ----

/// `volumes/<name>`: a volume (a node with any is not alone).
pub const VOLUMES: &str = "volumes/";
/// `bricks/<peer-id>/<brick-id>`: a brick's reference under its node (a peer with any cannot
/// be removed).
pub const BRICKS: &str = "bricks/";
/// `volume-wake/<peer-id>/<volume>`: touched (the volume's id) with every change of a
/// volume's record, for each node with a brick of it: a node's reconciler watches its own
/// wake keys and brick references only, so a change wakes the volume's nodes, not all. A
/// hint, not state: the node deletes the wake keys of volumes it no longer hosts.
pub const VOLUME_WAKE: &str = "volume-wake/";
/// `brick-status/<peer-id>/<brick-id>`: a running brick's port and pid (lease-bound).
pub const BRICK_STATUS: &str = "brick-status/";
/// `option-groups/<name>`: option groups users add.
pub const OPTION_GROUPS: &str = "option-groups/";
/// `cluster/options`: the cluster-wide options (one key).
pub const CLUSTER_OPTIONS: &str = "cluster/options";

// ---- events (gd-events; written by whoever makes a change, see `crate::events`) ----

/// `events/<ms>-<id>`: an event (a bounded history).
pub const EVENTS: &str = "events/";
/// `webhooks/<id>`: a webhook events are delivered to.
pub const WEBHOOKS: &str = "webhooks/";
/// `webhook-cursors/<id>`: the last event delivered to a webhook.
pub const WEBHOOK_CURSORS: &str = "webhook-cursors/";

// ---- hooks (gd-hooks) ----

/// `hooks/<peer-id>`: the hook scripts a node has (lease-bound).
pub const HOOKS: &str = "hooks/";

/// Every prefix (or key) above, for what reports by part of the key space (a watch event's
/// prefix is a metric's label).
pub const TOP: [&str; 23] = [
    PEERS,
    ALIVE,
    REMOVED,
    STORE_NODES,
    STORE_MEMBERS,
    STORE_LEAVING,
    LOCKS,
    TXN,
    TXN_RESULTS,
    TXN_INBOX,
    TASKS,
    REBALANCE,
    REBALANCE_STOP,
    VOLUMES,
    BRICKS,
    VOLUME_WAKE,
    BRICK_STATUS,
    OPTION_GROUPS,
    CLUSTER_OPTIONS,
    HOOKS,
    EVENTS,
    WEBHOOKS,
    WEBHOOK_CURSORS,
];

/// The declared prefix `key` is under, or `"other"`.
pub fn top_prefix(key: &str) -> &'static str {
    TOP.iter()
        .find(|p| key.starts_with(**p))
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_under_another() {
        let top = TOP;
        assert_eq!(top_prefix("volume-wake/a/b"), VOLUME_WAKE);
        assert_eq!(top_prefix("volumes/v"), VOLUMES);
        assert_eq!(top_prefix("nowhere"), "other");
        for a in top {
            for b in top {
                assert!(a == b || !b.starts_with(a), "{b} is under {a}");
            }
        }
        let locks = [
            VOLUME_LOCK,
            PEER_LOCK,
            PEER_ADDRESS_LOCK,
            TXN_CLEANUP_LOCK,
            STORE_CONTROLLER_LOCK,
            EVENTS_KEEPER_LOCK,
            TASK_LOCK,
        ];
        for a in locks {
            for b in locks {
                assert!(a == b || !b.starts_with(a), "lock {b} is under {a}");
            }
        }
    }
}
