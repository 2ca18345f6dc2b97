//! Index and full heal launches (GD1's `volume heal <v>` and `volume heal <v> full`): every
//! node's self-heal daemon is told which of the volume's sets to crawl, over its control
//! socket, as GD1's glusterd tells its own.
//!
//! Who crawls what, as GD1 decides it: an index heal goes to every node with a brick of a
//! set (each daemon heals from its own bricks' indices); a full heal crawls each set from one
//! brick only — the one at position `n-1-(k mod n)` of set `k`, so that the crawls spread
//! over the nodes — or, when that brick's node is offline, from the online node of the set
//! with the greatest id. The initiator decides it from the store and tells each node its
//! sets (`POST /v1/internal/heal/{volname}`); a node calls its own daemon.

use std::collections::BTreeMap;

use gd_api::{BrickCrawls, ErrorCode, HealBrickStatus, HealLaunchResp};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_node::node::Node;
use gd_volume::model::VolumeRecord;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::daemon::{HealKind, NodePart};
use crate::{
    daemon::{self, crawls_of, heals},
    shd,
};

/// The internal route a node is told its part on.
pub const INTERNAL_PATH: &str = "/v1/internal/heal/{volname}";

/// What a node's daemon answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAnswer {
    /// The node that answers.
    pub node: Uuid,
    /// Whether the daemon says it started all it was asked to.
    pub ok: bool,
    pub bricks: Vec<HealBrickStatus>,
}

/// The sets each node crawls, for a heal of `kind` of `vol` (its serving sets of copies),
/// given which nodes are online; an error names a set no online node can crawl.
pub fn assign(
    vol: &VolumeRecord,
    kind: HealKind,
    online: &dyn Fn(Uuid) -> bool,
) -> Result<BTreeMap<Uuid, Vec<u32>>, String> {
    let mut parts: BTreeMap<Uuid, Vec<u32>> = BTreeMap::new();
    for (k, set) in vol
        .subvols
        .iter()
        .enumerate()
        .filter(|(_, s)| heals(s.kind))
    {
        let k = k as u32;
        let nodes = set.bricks.iter().map(|b| b.peer_id);
        let chosen: Vec<Uuid> = match kind {
            HealKind::Index => {
                let mut all: Vec<Uuid> = nodes.collect();
                all.sort();
                all.dedup();
                all
            }
            HealKind::Full => {
                let n = set.bricks.len();
                let designated = set.bricks[n - 1 - (k as usize % n)].peer_id;
                let node = if online(designated) {
                    Some(designated)
                } else {
                    nodes.filter(|id| online(*id)).max()
                };
                match node {
                    Some(id) => vec![id],
                    None => {
                        return Err(format!(
                            "no node of set {k} of volume {} is online to crawl it",
                            vol.name
                        ));
                    }
                }
            }
        };
        for id in chosen {
            parts.entry(id).or_default().push(k);
        }
    }
    Ok(parts)
}

/// Launches a heal of `kind` of volume `name` on every node that has a part; answers with
/// every brick's status once every node's daemon answered.
pub async fn launch(cx: &Cluster, name: &str, kind: HealKind) -> Result<HealLaunchResp, OpError> {
    let vol = crate::info::healable(cx, name, true).await?.serving();
    if !vol.wants_self_heal_daemon() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "the self-heal daemon of volume {name} is disabled: enable it (volume heal {name} enable) to heal"
            ),
        ));
    }
    let store = cx.node.store.as_ref();
    let online = daemon::online_nodes(&cx.node, &vol).await?;
    let parts = assign(&vol, kind, &|id| online.get(&id).copied().unwrap_or(false))
        .map_err(|e| OpError::new(ErrorCode::Conflict, e))?;
    if let Some((id, _)) = parts.iter().find(|(id, _)| !online[id]) {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "peer {} is offline: its self-heal daemon heals from its bricks of {name}",
                gd_node::peers::node_label(store, *id).await
            ),
        ));
    }
    // A full heal is a task: one crawl at a time per volume.
    let task = match kind {
        HealKind::Full => Some(crate::full::begin(cx, &vol, &parts).await?),
        HealKind::Index => None,
    };
    let answer = send(cx, &vol, kind, parts).await;
    if let (Err(e), Some(plan)) = (&answer, &task) {
        crate::full::abandon(cx, name, plan.id, &e.message).await;
    }
    answer
}

/// Tells each node of `parts` its sets, and gathers what the daemons said.
async fn send(
    cx: &Cluster,
    vol: &VolumeRecord,
    kind: HealKind,
    parts: BTreeMap<Uuid, Vec<u32>>,
) -> Result<HealLaunchResp, OpError> {
    let name = &vol.name;
    let me = cx.node.identity().peer_id;
    let path = INTERNAL_PATH.replace("{volname}", name);
    let calls = parts.into_iter().map(|(id, sets)| {
        let part = NodePart { kind, sets };
        let (node, path) = (&cx.node, &path);
        async move {
            if id == me {
                launch_here(node, vol, &part).await
            } else {
                node.call_peer::<_, NodeAnswer>(id, path, &part).await
            }
        }
    });
    let answers = futures::future::join_all(calls).await;
    // Per brick, what its own node's daemon said, else what another saw.
    let mut bricks: BTreeMap<String, (bool, HealBrickStatus)> = BTreeMap::new();
    let mut ok = true;
    for answer in answers {
        let answer = answer?;
        ok &= answer.ok;
        for b in answer.bricks {
            let own = b.host_id == answer.node;
            if bricks
                .get(&b.name)
                .is_none_or(|(had_own, _)| own && !had_own)
            {
                bricks.insert(b.name.clone(), (own, b));
            }
        }
    }
    let bricks: Vec<HealBrickStatus> = bricks.into_values().map(|(_, b)| b).collect();
    let failed: Vec<String> = bricks
        .iter()
        .filter(|b| b.status != shd::STARTED)
        .map(|b| format!("{}: {}", b.name, b.status))
        .collect();
    if !ok || bricks.is_empty() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "the {} heal of volume {name} could not start on every brick: {}",
                kind.word(),
                if failed.is_empty() {
                    "no self-heal daemon started one".to_owned()
                } else {
                    failed.join("; ")
                }
            ),
        ));
    }
    Ok(HealLaunchResp {
        volume: name.clone(),
        kind: kind.word().into(),
        bricks,
    })
}

/// This node's part of a heal of `vol` (read by the caller): its self-heal daemon crawls
/// `part.sets`. Answers with the status of each of this node's bricks of those sets.
pub async fn launch_here(
    node: &Node,
    vol: &VolumeRecord,
    part: &NodePart,
) -> Result<NodeAnswer, OpError> {
    let me = node.identity().peer_id;
    let name = &vol.name;
    let mut sets = vec![];
    for &k in &part.sets {
        match vol.subvols.get(k as usize) {
            Some(s) if heals(s.kind) => sets.push((k, s.kind)),
            _ => {
                return Err(OpError::invalid(format!(
                    "volume {name} has no set {k} of copies to heal"
                )));
            }
        }
    }
    let (op_ret, out) = daemon::ask(node, vol, &sets, part.kind.op()).await?;
    // This node's bricks, and the others its daemon saw down ("Brick is not connected"): the
    // initiator keeps, for each brick, what its own node's daemon said if it said anything.
    let mut statuses = vec![];
    for (k, _) in &sets {
        for (i, b) in vol.subvols[*k as usize].bricks.iter().enumerate() {
            let said = shd::status(&out, *k, i).map_err(|e| {
                OpError::internal(format!("the self-heal daemon of volume {name}: {e}"))
            })?;
            let status = match said {
                Some(s) if b.peer_id != me && s == shd::REMOTE => continue,
                Some(s) => s,
                None if b.peer_id == me => {
                    "the self-heal daemon did not answer for this brick".to_owned()
                }
                None => continue,
            };
            statuses.push(HealBrickStatus {
                name: format!("{}:{}", b.host, b.path),
                host_id: b.peer_id,
                status,
            });
        }
    }
    Ok(NodeAnswer {
        node: me,
        ok: op_ret >= 0,
        bricks: statuses,
    })
}

/// Every brick's crawls of volume `name` (GD1's `volume heal <v> statistics`), each node's
/// daemon asked for its own bricks.
pub async fn statistics(cx: &Cluster, name: &str) -> Result<Vec<BrickCrawls>, OpError> {
    let vol = crate::info::healable(cx, name, false).await?.serving();
    let parts = assign(&vol, HealKind::Index, &|_| true).map_err(OpError::invalid)?;
    crawls_of(&cx.node, &vol, &parts).await
}

#[cfg(test)]
mod tests {
    use gd_api::SubvolType;

    use super::*;
    use crate::fixtures::node;

    /// Two replica 3 sets over nodes 1, 2, 3 (set 1 in the order 2, 3, 1).
    fn volume() -> VolumeRecord {
        crate::fixtures::volume(&[
            (SubvolType::Replicate, &[1, 2, 3]),
            (SubvolType::Replicate, &[2, 3, 1]),
        ])
    }

    #[test]
    fn an_index_heal_goes_to_every_node_of_each_set() {
        let parts = assign(&volume(), HealKind::Index, &|_| true).unwrap();
        assert_eq!(parts.len(), 3);
        assert!(parts.values().all(|sets| sets == &[0, 1]));
    }

    #[test]
    fn a_full_heal_crawls_each_set_once_from_a_rotating_brick() {
        // Set 0 from its last brick (node 3), set 1 from its second to last (node 3 too).
        let parts = assign(&volume(), HealKind::Full, &|_| true).unwrap();
        assert_eq!(parts, BTreeMap::from([(node(3), vec![0, 1])]));
        // Node 3 offline: the set's online node with the greatest id crawls it.
        let parts = assign(&volume(), HealKind::Full, &|id| id != node(3)).unwrap();
        assert_eq!(parts, BTreeMap::from([(node(2), vec![0, 1])]));
        let err = assign(&volume(), HealKind::Full, &|_| false).unwrap_err();
        assert!(err.contains("no node of set 0"), "{err}");
    }
}
