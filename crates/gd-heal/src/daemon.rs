//! Talking to a node's self-heal daemons (what launches, statistics and a full heal's leader
//! share): the XLATOR_OP call on the daemon's control socket, and the crawl statistics of this
//! node's bricks, or of every node's (`POST /v1/internal/heal/{volname}/statistics`).

use std::collections::BTreeMap;

use gd_api::{BrickCrawls, ErrorCode, SubvolType};
use gd_core::OpError;
use gd_node::node::Node;
use gd_rpc_server::client::BrickCall;
use gd_volume::{model::VolumeRecord, processes::bricks};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::shd::{self, HealOp};

/// The internal route a node is asked its bricks' crawls on.
pub const STATISTICS_PATH: &str = "/v1/internal/heal/{volname}/statistics";

/// Which heal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealKind {
    Index,
    Full,
}

impl HealKind {
    pub fn from_word(w: &str) -> Option<HealKind> {
        match w {
            "" | "index" => Some(HealKind::Index),
            "full" => Some(HealKind::Full),
            _ => None,
        }
    }

    pub(crate) fn op(self) -> HealOp {
        match self {
            HealKind::Index => HealOp::Index,
            HealKind::Full => HealOp::Full,
        }
    }

    pub(crate) fn word(self) -> &'static str {
        match self {
            HealKind::Index => "index",
            HealKind::Full => "full",
        }
    }
}

/// A node's part: the sets its daemon crawls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePart {
    pub kind: HealKind,
    pub sets: Vec<u32>,
}

/// Whether a set of `kind` has copies a self-heal daemon heals.
pub(crate) fn heals(kind: SubvolType) -> bool {
    matches!(kind, SubvolType::Replicate | SubvolType::Disperse)
}

/// The crawls of this node's bricks of `vol`'s sets `sets`, from its self-heal daemon
/// (STATISTICS).
pub async fn crawls_here(
    node: &Node,
    vol: &VolumeRecord,
    sets: &[u32],
) -> Result<Vec<BrickCrawls>, OpError> {
    let me = node.identity().peer_id;
    let name = &vol.name;
    let mut chosen = vec![];
    for &k in sets {
        match vol.subvols.get(k as usize) {
            Some(s) if heals(s.kind) => chosen.push((k, s.kind)),
            _ => {
                return Err(OpError::invalid(format!(
                    "volume {name} has no set {k} of copies to heal"
                )));
            }
        }
    }
    let out = ask(node, vol, &chosen, HealOp::Statistics).await?.1;
    let mut bricks = vec![];
    for (k, _) in &chosen {
        for (i, b) in vol.subvols[*k as usize].bricks.iter().enumerate() {
            if b.peer_id != me {
                continue;
            }
            bricks.push(BrickCrawls {
                brick: format!("{}:{}", b.host, b.path),
                host_id: me,
                crawls: shd::crawls(&out, *k, i).map_err(|e| {
                    OpError::internal(format!("the self-heal daemon of volume {name}: {e}"))
                })?,
            });
        }
    }
    Ok(bricks)
}

/// Asks this node's self-heal daemon of `vol` for `op` on `sets`: its `op_ret` and answer.
pub(crate) async fn ask(
    node: &Node,
    vol: &VolumeRecord,
    sets: &[(u32, SubvolType)],
    op: HealOp,
) -> Result<(i32, gd_sunrpc::Dict), OpError> {
    let name = &vol.name;
    let pidfile = gd_volume::processes::shd_pidfile(node, name);
    if bricks::running_shd(&pidfile, name).is_none() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "the self-heal daemon of volume {name} is not running on {}: see its log",
                gd_node::node::hostname()
            ),
        ));
    }
    let req = shd::request(name, sets, op).map_err(|e| OpError::internal(e.to_string()))?;
    let rsp = BrickCall::to(bricks::shd_socket(&node.config, name))
        .call(gd_sunrpc::programs::brick::XLATOR_OP, &req)
        .await
        .map_err(|e| {
            OpError::new(
                ErrorCode::Conflict,
                format!("the self-heal daemon of volume {name} did not answer: {e}"),
            )
        })?;
    let out = rsp.decode_output().map_err(|e| {
        OpError::internal(format!(
            "the self-heal daemon of volume {name} answered garbage: {e}"
        ))
    })?;
    Ok((rsp.op_ret, out))
}

/// The crawls of the bricks of `parts` (node → sets), each node asked for its own.
pub async fn crawls_of(
    node: &Node,
    vol: &VolumeRecord,
    parts: &BTreeMap<Uuid, Vec<u32>>,
) -> Result<Vec<BrickCrawls>, OpError> {
    let me = node.identity().peer_id;
    let path = STATISTICS_PATH.replace("{volname}", &vol.name);
    let calls = parts.iter().map(|(id, sets)| {
        let path = &path;
        let part = NodePart {
            kind: HealKind::Index,
            sets: sets.clone(),
        };
        async move {
            if *id == me {
                crawls_here(node, vol, &part.sets).await
            } else {
                node.call_peer::<_, Vec<BrickCrawls>>(*id, path, &part)
                    .await
            }
        }
    });
    let mut out = vec![];
    for answer in futures::future::join_all(calls).await {
        out.extend(answer?);
    }
    in_brick_order(vol, &mut out, |b| &b.brick);
    Ok(out)
}

/// Sorts `items` in `vol`'s brick order, each named by `brick_of` as `host:path`.
pub(crate) fn in_brick_order<T>(
    vol: &VolumeRecord,
    items: &mut [T],
    brick_of: impl Fn(&T) -> &str,
) {
    let order: Vec<String> = vol
        .bricks()
        .map(|b| format!("{}:{}", b.host, b.path))
        .collect();
    items.sort_by_key(|item| order.iter().position(|x| x == brick_of(item)));
}

/// Whether each node with bricks of `vol` is online, as the store says.
pub(crate) async fn online_nodes(
    node: &Node,
    vol: &VolumeRecord,
) -> Result<BTreeMap<Uuid, bool>, OpError> {
    let mut online = BTreeMap::new();
    for id in vol.brick_nodes() {
        let peer = gd_node::peers::get_peer(node.store.as_ref(), id).await?;
        online.insert(id, peer.is_some_and(|p| p.online));
    }
    Ok(online)
}
