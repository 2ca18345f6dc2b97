//! Setting and resetting a volume's options.
//!
//! A set or reset is a transaction (`gd_core::txn`) locked on the volume's name with one step
//! on the initiator, `volume-options.store`: compare-and-swap of the volume's options from
//! what was checked to the new ones; its undo swaps them back. Every node's reconciler watches
//! the volume records, and when the options of a started volume change it sends FETCHSPEC to
//! the GlusterFS processes connected to it (bricks, self-heal daemons, mounts), which fetch
//! their new volfiles and reconfigure in place (see [`crate::processes`]). A change that starts
//! or stops processes (the self-heal daemon turned off or on) also runs a reconciler pass on
//! every brick node (`volume-state.bricks`), so the answer comes when the daemons run or are
//! gone (DESIGN §3.18), not at some later pass.

use std::{collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use gd_api::{VolOptionReq, VolOptionResetReq, VolumeInfo, VolumeOptionGetResp};
use gd_core::OpError;
use gd_core::txn::{HookCall, Step, StepError, Transaction};
use gd_feature::Cluster;
use gd_node::node::Node;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    model::{self, VolumeRecord},
    option_groups::group_map,
    options, volumes,
};

/// `POST /v1/volumes/{name}/options`.
pub async fn set(cx: &Cluster, name: &str, req: VolOptionReq) -> Result<VolumeInfo, OpError> {
    model::check_name(name)?;
    let node = &cx.node;
    let vol = volume(node, name).await?;
    let groups = group_map(node.store.as_ref()).await?;
    let change = options::catalog().set(&vol, &req.options, &|g| groups.get(g).cloned())?;
    swap(cx, &vol, change.options, "set").await
}

/// `DELETE /v1/volumes/{name}/options`.
pub async fn reset(
    cx: &Cluster,
    name: &str,
    req: VolOptionResetReq,
) -> Result<VolumeInfo, OpError> {
    model::check_name(name)?;
    let node = &cx.node;
    let vol = volume(node, name).await?;
    let groups = group_map(node.store.as_ref()).await?;
    let after =
        options::catalog().reset(&vol, &req.options, req.all, &|g| groups.get(g).cloned())?;
    swap(cx, &vol, after, "reset").await
}

/// `GET /v1/volumes/{name}/options`.
pub async fn list(node: &Node, name: &str) -> Result<Vec<VolumeOptionGetResp>, OpError> {
    model::check_name(name)?;
    let vol = volume(node, name).await?;
    options::catalog().list(&vol.options)
}

/// `GET /v1/volumes/{name}/options/{key}`.
pub async fn get(node: &Node, name: &str, key: &str) -> Result<VolumeOptionGetResp, OpError> {
    model::check_name(name)?;
    let vol = volume(node, name).await?;
    options::catalog().describe(&vol.options, key)
}

async fn volume(node: &Node, name: &str) -> Result<VolumeRecord, OpError> {
    model::get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| model::not_found(name))
}

/// The arguments of `volume-options.store`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct SwapArgs {
    volume: String,
    volume_id: Uuid,
    before: BTreeMap<String, String>,
    after: BTreeMap<String, String>,
}

async fn swap(
    cx: &Cluster,
    vol: &VolumeRecord,
    after: BTreeMap<String, String>,
    verb: &str,
) -> Result<VolumeInfo, OpError> {
    if after == vol.options {
        return Ok(vol.to_api());
    }
    let node = &cx.node;
    let args = SwapArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        before: vol.options.clone(),
        after: after.clone(),
    };
    let mut steps = vec![StoreOptions::call(vec![node.identity().peer_id], &args)];
    let mut after_vol = vol.clone();
    after_vol.options = after.clone();
    if vol.state == model::VolumeState::Started
        && vol.wants_self_heal_daemon() != after_vol.wants_self_heal_daemon()
    {
        steps.push(volumes::converge_step(vol));
    }
    // GD1's set hooks are told each option set and its value; its reset hooks, the volume.
    let mut hook = HookCall::new(verb, &vol.name);
    if verb == "set" {
        hook.options = after
            .iter()
            .filter(|(k, v)| vol.options.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
    let txn = Transaction {
        operation: format!("volume options {verb} {}", vol.name),
        kind: if verb == "set" {
            "volume-options-set"
        } else {
            "volume-options-reset"
        },
        locks: vec![model::volume_lock(&vol.name)],
        steps,
        hook: Some(hook),
    };
    // What the pass had to force (a self-heal daemon killed) is in the nodes' logs.
    gd_feature::operation::run(cx, txn).await?;
    Ok(volume(node, &vol.name).await?.to_api())
}

/// Swaps a volume's options (compare-and-swap); undo swaps them back.
pub(crate) struct StoreOptions {
    pub(crate) node: Arc<Node>,
}

impl StoreOptions {
    async fn swap(
        &self,
        a: &SwapArgs,
        from: &BTreeMap<String, String>,
        to: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        model::update_volume(&*self.node.store, &a.volume, a.volume_id, |v| {
            if v.options != *from && v.options != *to {
                return Err(format!(
                    "the options of volume {} changed meanwhile; nothing was changed",
                    a.volume
                ));
            }
            v.options = to.clone();
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Step for StoreOptions {
    const NAME: &'static str = "volume-options.store";
    type Args = SwapArgs;

    async fn run(&self, a: &SwapArgs) -> Result<(), StepError> {
        Ok(self.swap(a, &a.before, &a.after).await?)
    }
    async fn undo(&self, a: &SwapArgs) -> Result<(), StepError> {
        Ok(self.swap(a, &a.after, &a.before).await?)
    }
}
