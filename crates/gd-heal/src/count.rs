//! Counts of entries to be healed (GD1's `volume heal <v> statistics heal-count [replica
//! <brick>]`), from the bricks' indices.
//!
//! A self-heal daemon counts every brick of a set it serves, remote ones too (AFR reads each
//! child's index over its connection), so each set costs one call: to this node's daemon when
//! this node has a brick in the set, else to the daemon of the set's online node with the
//! greatest id (`POST /v1/internal/heal/{volname}/count`). Dispersed sets have no count: EC's
//! daemon answers only heal launches (`volume heal <v> info summary` counts them).

use std::collections::BTreeMap;

use gd_api::{BrickHealCount, ErrorCode, SubvolType};
use gd_core::OpError;
use gd_feature::Cluster;
use gd_node::node::Node;
use gd_volume::model::VolumeRecord;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    daemon,
    shd::{self, HealOp},
};

/// The internal route a node is asked its daemon's counts on.
pub const COUNT_PATH: &str = "/v1/internal/heal/{volname}/count";

/// What a node's daemon counts: the sets, and whether for one set (GD1's `replica <brick>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CountPart {
    pub sets: Vec<u32>,
    pub per_replica: bool,
}

/// The node whose daemon counts each of `sets` of `vol`: `me` when it has a brick in the set,
/// else the set's online node with the greatest id; an error names a set with no node online.
pub fn choose(
    vol: &VolumeRecord,
    sets: &[u32],
    me: Uuid,
    online: &dyn Fn(Uuid) -> bool,
) -> Result<BTreeMap<Uuid, Vec<u32>>, String> {
    let mut parts: BTreeMap<Uuid, Vec<u32>> = BTreeMap::new();
    for &k in sets {
        let nodes = vol.subvols[k as usize].bricks.iter().map(|b| b.peer_id);
        let node = if nodes.clone().any(|id| id == me) {
            Some(me)
        } else {
            nodes.filter(|id| online(*id)).max()
        };
        let node = node.ok_or_else(|| {
            format!(
                "no node of set {k} of volume {} is online to count its entries",
                vol.name
            )
        })?;
        parts.entry(node).or_default().push(k);
    }
    Ok(parts)
}

/// The count of every brick of volume `name` (or, with `replica`, `host:path` of a brick, of
/// that brick's set).
pub async fn heal_count(
    cx: &Cluster,
    name: &str,
    replica: Option<&str>,
) -> Result<Vec<BrickHealCount>, OpError> {
    let vol = crate::info::healable(cx, name, false).await?.serving();
    let sets: Vec<u32> = match replica {
        Some(word) => {
            let (host, path) = word.rsplit_once(':').ok_or_else(|| {
                OpError::invalid(format!("{word:?} is not a brick: it is host:/path"))
                    .field("replica", word)
            })?;
            let (k, _) = crate::info::named_brick(cx, &vol, host, path).await?;
            if vol.subvols[k].kind != SubvolType::Replicate {
                return Err(OpError::invalid(format!(
                    "brick {word} is not in a replicated set of volume {name}"
                ))
                .field("replica", word));
            }
            vec![k as u32]
        }
        None => (0..vol.subvols.len() as u32)
            .filter(|k| vol.subvols[*k as usize].kind == SubvolType::Replicate)
            .collect(),
    };
    let online = daemon::online_nodes(&cx.node, &vol).await?;
    let me = cx.node.identity().peer_id;
    let parts = choose(&vol, &sets, me, &|id| {
        online.get(&id).copied().unwrap_or(false)
    })
    .map_err(|e| OpError::new(ErrorCode::Conflict, e))?;
    let path = COUNT_PATH.replace("{volname}", name);
    let per_replica = replica.is_some();
    let calls = parts.into_iter().map(|(id, sets)| {
        let (path, vol, node) = (&path, &vol, &cx.node);
        let part = CountPart { sets, per_replica };
        async move {
            if id == me {
                count_here(node, vol, &part).await
            } else {
                node.call_peer::<_, Vec<BrickHealCount>>(id, path, &part)
                    .await
            }
        }
    });
    let mut out = vec![];
    for answer in futures::future::join_all(calls).await {
        out.extend(answer?);
    }
    daemon::in_brick_order(&vol, &mut out, |b| &b.brick);
    Ok(out)
}

/// The counts of every brick of `part`'s sets of `vol`, from this node's self-heal daemon.
pub async fn count_here(
    node: &Node,
    vol: &VolumeRecord,
    part: &CountPart,
) -> Result<Vec<BrickHealCount>, OpError> {
    let name = &vol.name;
    let mut chosen = vec![];
    for &k in &part.sets {
        match vol.subvols.get(k as usize) {
            Some(s) if s.kind == SubvolType::Replicate => chosen.push((k, s.kind)),
            _ => {
                return Err(OpError::invalid(format!(
                    "volume {name} has no replicated set {k} to count"
                )));
            }
        }
    }
    let op = if part.per_replica {
        HealOp::HealCountPerReplica
    } else {
        HealOp::HealCount
    };
    let out = daemon::ask(node, vol, &chosen, op).await?.1;
    let garbage =
        |e: gd_sunrpc::DictError| OpError::internal(format!("the self-heal daemon of {name}: {e}"));
    let mut counts = vec![];
    for (k, _) in &chosen {
        for (i, b) in vol.subvols[*k as usize].bricks.iter().enumerate() {
            let entries = shd::hardlinks(&out, *k, i).map_err(garbage)?;
            let status = shd::status(&out, *k, i).map_err(garbage)?;
            counts.push(BrickHealCount {
                brick: format!("{}:{}", b.host, b.path),
                host_id: b.peer_id,
                entries,
                status: match (entries, status) {
                    (Some(_), _) => String::new(),
                    (None, Some(s)) => s,
                    (None, None) => "No gathered input for this brick".into(),
                },
            });
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::node;

    fn volume() -> VolumeRecord {
        crate::fixtures::volume(&[
            (SubvolType::Replicate, &[1, 2, 3]),
            (SubvolType::Replicate, &[4, 5, 6]),
        ])
    }

    #[test]
    fn each_set_is_counted_by_one_daemon_this_nodes_first() {
        let parts = choose(&volume(), &[0, 1], node(2), &|_| true).unwrap();
        assert_eq!(
            parts,
            BTreeMap::from([(node(2), vec![0]), (node(6), vec![1])])
        );
        let parts = choose(&volume(), &[1], node(2), &|id| id != node(6)).unwrap();
        assert_eq!(parts, BTreeMap::from([(node(5), vec![1])]));
        let err = choose(&volume(), &[0, 1], node(9), &|id| id < node(4)).unwrap_err();
        assert!(err.contains("no node of set 1"), "{err}");
    }
}
