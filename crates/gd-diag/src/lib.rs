//! The diagnostics feature: what an administrator or a support bundle asks of one node.
//!
//! - [`state`]: the node's view of the cluster (GD1's `get-state`): itself, its store, the
//!   peers, the volumes with their bricks' published status, the processes it runs, the
//!   tasks. Read from the store and this node's pid files: no call to any other node.
//! - [`statedump`]: the volume's processes dump their state, each node signalling its own;
//!   [`client_dump`]: a client told to, by the node it is connected to.
//! - [`profile`]: profiling turned on and off, and each brick's counters read from its io-stats.
//! - [`top`]: each brick's lists of its busiest files, from its io-stats.
//! - [`status`]: what the bricks and self-heal daemons report of themselves (clients, memory,
//!   inode tables, call pool).
//! - [`rest`]: their routes, and the node-to-node one of statedumps.

pub mod client_dump;
pub mod profile;
pub mod rest;
pub mod state;
pub mod statedump;
pub mod status;
pub mod top;

use gd_api::ErrorCode;
use gd_core::{
    OpError,
    txn::{DuplicateStep, Registry},
};
use gd_feature::{Cluster, Feature, Parts, Task};
use gd_node::node::Node;
use gd_rpc_server::client::BrickCall;
use gd_volume::{
    model::{self as volumes, BrickRecord, VolumeRecord, VolumeState},
    processes::bricks,
};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

/// The diagnostics feature.
pub struct Diagnostics;

impl Feature for Diagnostics {
    fn name(&self) -> &'static str {
        "diagnostics"
    }

    fn assemble(
        &self,
        _parts: &Parts,
        _registry: &mut Registry,
    ) -> Result<Vec<Task>, DuplicateStep> {
        Ok(vec![])
    }

    fn routes(&self) -> OpenApiRouter<Cluster> {
        rest::routes()
    }

    fn keys(&self) -> &'static [&'static str] {
        &[]
    }
}

/// The volume `name`.
pub(crate) async fn volume(cx: &Cluster, name: &str) -> Result<VolumeRecord, OpError> {
    volumes::check_name(name)?;
    volumes::get_volume(cx.node.store.as_ref(), name)
        .await?
        .ok_or_else(|| volumes::not_found(name))
}

/// The volume `name`, started (its processes run).
pub(crate) async fn started(cx: &Cluster, name: &str) -> Result<VolumeRecord, OpError> {
    let vol = volume(cx, name).await?;
    if vol.state != VolumeState::Started {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {name} is not started: its processes do not run"),
        ));
    }
    Ok(vol)
}

/// The nodes a per-brick look at `vol` asks: every node with bricks of it, or the node of the
/// one brick named (`host:path`).
pub(crate) fn nodes_of(vol: &VolumeRecord, brick: Option<&String>) -> Result<Vec<Uuid>, OpError> {
    match brick {
        None => Ok(vol.brick_nodes()),
        Some(b) => vol
            .bricks()
            .find(|x| brick_name(x) == *b)
            .map(|x| vec![x.peer_id])
            .ok_or_else(|| {
                OpError::invalid(format!("volume {} has no brick {b}", vol.name))
                    .field("brick", b.clone())
            }),
    }
}

/// A brick as the answers name it: `host:path`.
pub(crate) fn brick_name(b: &BrickRecord) -> String {
    format!("{}:{}", b.host, b.path)
}

/// Asks each of `nodes` for its part of a look at volume `vol`: this node by `here`, the others
/// over the internal route `path` (its `{volname}` filled) with `req`; returns every item,
/// sorted by `brick_of` in the volume's brick order (GD1's).
pub(crate) async fn each_node<Req, Item, Here, Fut>(
    cx: &Cluster,
    vol: &VolumeRecord,
    nodes: Vec<Uuid>,
    path: &str,
    req: &Req,
    here: Here,
    brick_of: impl Fn(&Item) -> &str,
) -> Result<Vec<Item>, OpError>
where
    Req: serde::Serialize + Sync,
    Item: serde::de::DeserializeOwned,
    Here: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Item>, OpError>>,
{
    let me = cx.node.identity().peer_id;
    let path = path.replace("{volname}", &vol.name);
    let calls = nodes.into_iter().map(|id| {
        let (node, path, here) = (&cx.node, &path, &here);
        async move {
            if id == me {
                here().await
            } else {
                node.call_peer::<_, Vec<Item>>(id, path, req).await
            }
        }
    });
    let mut out = vec![];
    for answer in futures::future::join_all(calls).await {
        out.extend(answer?);
    }
    let order: Vec<String> = vol.bricks().map(brick_name).collect();
    out.sort_by_key(|item| order.iter().position(|b| b == brick_of(item)));
    Ok(out)
}

/// Calls `procedure` with `req` on the control socket of brick `b` of `vol` on this node
/// (bounded by `timeout`), refusing a brick that does not run; its answer's dict.
pub(crate) async fn ask_brick(
    node: &Node,
    vol: &VolumeRecord,
    b: &BrickRecord,
    procedure: u32,
    req: &gd_sunrpc::programs::brick::BrickOpReq,
    timeout: std::time::Duration,
) -> Result<gd_sunrpc::Dict, OpError> {
    let name = brick_name(b);
    let files = bricks::files(&node.config, &vol.name, &b.host, &b.path, b.id);
    if bricks::running_pid(&files.pidfile, &b.path).is_none() {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("brick {name} is not running"),
        ));
    }
    let mut call = BrickCall::to(&files.socket);
    call.timeout = timeout;
    let rsp = call
        .call(procedure, req)
        .await
        .map_err(|e| OpError::new(ErrorCode::Conflict, format!("brick {name}: {e}")))?;
    if rsp.op_ret != 0 {
        return Err(OpError::new(
            ErrorCode::Conflict,
            if rsp.op_errstr.is_empty() {
                format!("brick {name} refused (op_ret {})", rsp.op_ret)
            } else {
                format!("brick {name} refused: {}", rsp.op_errstr)
            },
        ));
    }
    rsp.decode_output()
        .map_err(|e| OpError::internal(format!("brick {name} answered garbage: {e}")))
}
