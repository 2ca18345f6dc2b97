//! The membership and the store as figures of a scrape: the peers and which are online
//! (gluster-prometheus's `gluster_peer_count` and `gluster_peer_connected`), and how this
//! node sees its store (quorum, revision, whether its local replica follows, and how far
//! behind).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use gd_core::metrics::{Gauges, labels};
use gd_feature::Figures;
use gd_node::{node::Node, peers::list_peers};
use gd_store::{Store, StoreError};

/// The longest a scrape waits for the store's revision before it reports no quorum.
const QUORUM_WAIT: Duration = Duration::from_secs(1);
/// The longest a scrape waits for the replica's watches to report their progress; a watch
/// that has not caught up by then counts as behind by what it has not confirmed.
const PROGRESS_WAIT: Duration = Duration::from_millis(250);

/// The membership's figures, and this node's view of the store.
pub struct PeerFigures {
    pub node: Arc<Node>,
}

#[async_trait]
impl Figures for PeerFigures {
    async fn collect(&self, out: &mut Gauges) -> Result<(), StoreError> {
        let store = &self.node.store;
        // The store first: the peers' read below answers from the replica when it has no
        // quorum, and this says so.
        let head = tokio::time::timeout(QUORUM_WAIT, store.revision()).await;
        let head = match head {
            Ok(Ok(rev)) => Some(rev),
            _ => None,
        };
        out.set(
            "gd2_store_quorum",
            "1 when this node's store answers (has a quorum), 0 when it does not",
            labels([]),
            i64::from(head.is_some()),
        );
        if let Some(rev) = head {
            out.set(
                "gd2_store_revision",
                "The store's revision, as this node last read it",
                labels([]),
                rev,
            );
            if let Some(synced) = store.replica_synced() {
                out.set(
                    "gd2_store_replica_synced",
                    "1 while this node's local replica of the store (what answers reads \
                     without quorum) follows the store through its watches, 0 while it \
                     reloads",
                    labels([]),
                    i64::from(synced),
                );
            }
            if let Some(applied) = store.replica_applied(rev, PROGRESS_WAIT).await {
                out.set(
                    "gd2_store_watch_lag_revisions",
                    "How far this node's local replica of the store is behind: the store's \
                     revision minus the revision up to which its watches have delivered every \
                     change (their progress, asked at the scrape)",
                    labels([]),
                    (rev - applied).max(0),
                );
            }
        }
        let me = self.node.identity().peer_id;
        let peers = list_peers(store.as_ref()).await?;
        let instance = peers
            .iter()
            .find(|p| p.id == me)
            .map_or_else(|| me.to_string(), |p| p.name.clone());
        out.set(
            "gluster_peer_count",
            "Peers in the cluster, this node included",
            labels([("instance", instance.clone())]),
            peers.len() as i64,
        );
        for p in &peers {
            out.set(
                "gluster_peer_connected",
                "1 when the peer is online (its liveness key is in the store)",
                labels([
                    ("instance", instance.clone()),
                    ("hostname", p.name.clone()),
                    ("uuid", p.id.to_string()),
                ]),
                i64::from(p.online),
            );
        }
        Ok(())
    }
}
