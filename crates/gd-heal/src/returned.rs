//! A peer back online: the heal of what it missed, started at once.
//!
//! Why: a replica set's self-heal daemons heal a brick that comes back when they see it come
//! back, that is when their connection to it drops and is made again. A server cut off for
//! less than a quiet connection takes to die (TCP keep-alive: about 40 s with the volumes'
//! socket settings) never drops, and what was written meanwhile waits for the daemons'
//! periodic crawl (`cluster.heal-timeout`, 10 minutes); GD1 leaves it there. Here each node
//! follows the peers' liveness and, when a peer comes back online, tells its own self-heal
//! daemon to run an index heal of the sets it shares with that peer (as `volume heal <v>`
//! does, for those sets only): a node heals from its own bricks' indices, which are what hold
//! the writes the peer missed. What it costs a node is the volumes it shares with the peer;
//! the peers online are kept from the liveness watch's events, read again only when it opens.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use gd_core::keys::ALIVE;
use gd_node::node::Node;
use gd_store::{EventKind, Wake};
use gd_volume::model::{VolumeRecord, VolumeState, get_volumes, hosted_volumes};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::daemon::{HealKind, NodePart, heals};

/// How often the loop wakes without a change (it does nothing then: at rest it costs the store
/// nothing).
const TICK: Duration = Duration::from_secs(60);

/// Follows the peers' liveness until `cancel`; see the module documentation. The set of peers
/// online is read when the watch opens (the first time, and after it ended: what came back
/// meanwhile is compared with what was online before) and kept from the watch's events after:
/// a change costs this node no read.
pub async fn run(node: Arc<Node>, cancel: CancellationToken) {
    // What the watch reported since the last pass: (online, peer).
    let reported: Mutex<Vec<(bool, Uuid)>> = Mutex::new(vec![]);
    // The peers online; none before the first read (what is online when this node starts came
    // back, if at all, before it could have missed anything of them).
    let online: Mutex<Option<BTreeSet<Uuid>>> = Mutex::new(None);
    let (node, reported, online) = (&node, &reported, &online);
    gd_store::follow_prefixes(
        node.store.as_ref(),
        &[ALIVE],
        TICK,
        &cancel,
        |ev| {
            if let Some(peer) = ev.key.strip_prefix(ALIVE).and_then(|id| id.parse().ok()) {
                lock(reported).push((ev.kind == EventKind::Put, peer));
            }
            true
        },
        |wake| async move {
            let back: Vec<Uuid> = match wake {
                Wake::Tick => return,
                Wake::Opened => {
                    // Events from here on are in the read, or come after it (applying them
                    // again changes nothing).
                    lock(reported).clear();
                    let now = match alive(node).await {
                        Ok(now) => now,
                        Err(e) => {
                            tracing::debug!(error = %e, "peers' liveness not read; the last set stands");
                            return;
                        }
                    };
                    let mut online = lock(online);
                    let back = match online.as_ref() {
                        Some(before) => now.difference(before).copied().collect(),
                        None => vec![],
                    };
                    *online = Some(now);
                    back
                }
                Wake::Changed => {
                    let events = std::mem::take(&mut *lock(reported));
                    let mut online = lock(online);
                    let Some(set) = online.as_mut() else {
                        return;
                    };
                    came_back(set, events)
                }
            };
            for peer in back {
                heal_shared_with(node, peer).await;
            }
        },
    )
    .await;
}

/// Applies the watch's reports (`(online, peer)`, in order) to `online`; returns the peers
/// that were not online and are now.
fn came_back(online: &mut BTreeSet<Uuid>, reports: Vec<(bool, Uuid)>) -> Vec<Uuid> {
    let mut back = vec![];
    for (up, peer) in reports {
        if !up {
            online.remove(&peer);
        } else if online.insert(peer) {
            back.push(peer);
        }
    }
    back
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The peers online now, as the store itself says (a node's own copy, while the store has no
/// quorum, tells of no return).
async fn alive(node: &Node) -> Result<BTreeSet<Uuid>, gd_store::StoreError> {
    let keys =
        gd_node::reconcile::fresh(gd_store::range_all(node.store.as_ref(), ALIVE, 1000)).await?;
    Ok(keys
        .iter()
        .filter_map(|kv| kv.key.strip_prefix(ALIVE)?.parse().ok())
        .collect())
}

/// The sets of `vol` (its serving ones) with copies on both `me` and `peer` that a self-heal
/// daemon heals.
pub fn shared_sets(vol: &VolumeRecord, me: Uuid, peer: Uuid) -> Vec<u32> {
    vol.subvols
        .iter()
        .enumerate()
        .filter(|(_, s)| heals(s.kind))
        .filter(|(_, s)| {
            s.bricks.iter().any(|b| b.peer_id == me) && s.bricks.iter().any(|b| b.peer_id == peer)
        })
        .map(|(k, _)| k as u32)
        .collect()
}

/// Tells this node's self-heal daemons to heal, from its bricks, the sets it shares with
/// `peer`, which has just come back online.
async fn heal_shared_with(node: &Node, peer: Uuid) {
    let me = node.identity().peer_id;
    if peer == me {
        return;
    }
    let store = node.store.as_ref();
    let volumes = match hosted_volumes(store, me).await {
        Ok(names) => get_volumes(store, &names).await,
        Err(e) => Err(e),
    };
    let volumes = match volumes {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "a peer is back; the volumes shared with it could not be read, so their heal waits for the self-heal daemons");
            return;
        }
    };
    for vol in volumes
        .iter()
        .filter(|v| v.state == VolumeState::Started && v.wants_self_heal_daemon())
    {
        let vol = vol.serving();
        let sets = shared_sets(&vol, me, peer);
        if sets.is_empty() {
            continue;
        }
        let part = NodePart {
            kind: HealKind::Index,
            sets: sets.clone(),
        };
        match crate::launch::launch_here(node, &vol, &part).await {
            Ok(answer) => {
                tracing::info!(volume = %vol.name, %peer, ?sets, ok = answer.ok, "a peer is back: this node's self-heal daemon heals what it missed")
            }
            Err(e) => {
                tracing::warn!(volume = %vol.name, %peer, error = %e.message, "a peer is back; its heal waits for the self-heal daemons")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{node, volume};
    use gd_api::SubvolType;

    #[test]
    fn a_peer_is_back_when_its_liveness_returns_not_when_it_is_refreshed() {
        let mut online: BTreeSet<Uuid> = [node(1), node(2)].into();
        // A new lease's publication over a key still there, and a peer that joins.
        assert_eq!(
            came_back(&mut online, vec![(true, node(2)), (true, node(3))]),
            vec![node(3)]
        );
        // Gone, then back.
        assert!(came_back(&mut online, vec![(false, node(2))]).is_empty());
        assert_eq!(
            came_back(&mut online, vec![(true, node(2)), (false, node(1))]),
            vec![node(2)]
        );
        assert_eq!(online, [node(2), node(3)].into());
    }

    #[test]
    fn only_the_sets_with_copies_on_both_nodes_that_heal() {
        let vol = volume(&[
            (SubvolType::Replicate, &[1, 2, 3]),
            (SubvolType::Replicate, &[1, 4, 5]),
            (SubvolType::Disperse, &[2, 3, 6]),
            (SubvolType::Distribute, &[2]),
        ]);
        assert_eq!(shared_sets(&vol, node(2), node(3)), vec![0, 2]);
        assert_eq!(shared_sets(&vol, node(1), node(4)), vec![1]);
        assert_eq!(shared_sets(&vol, node(4), node(6)), Vec::<u32>::new());
    }
}
