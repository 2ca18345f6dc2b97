//! remove-brick's changes of a volume's shape (the migration between them is the rebalance
//! feature's task): GD1's `remove-brick <vol> [replica N] <bricks…> start|stop|commit|force`.
//!
//! - **Decommission** (`start`, and `stop` undoing it): the sets that leave are marked in the
//!   record (`volume-shrink.decommission`, undo clears the mark), so every graph's DHT names
//!   them in `decommissioned-bricks`: no new file is placed on them and the rebalance
//!   processes move their files away.
//! - **Remove** (`commit`, or `force` without migration): `volume-shrink.remove` on the
//!   initiator writes the volume without the leaving bricks and deletes their brick
//!   references, by compare-and-swap on the sets as they were planned (undo writes them
//!   back); then, for a started volume, `volume-shrink.services` on every online node of the
//!   volume stops the leaving bricks there (found by their pid files) and the volume's
//!   self-heal daemon, whose sets changed, and converges, so the daemon starts again on the
//!   new graph. Clients load the new graph when told to fetch it.
//!
//! Whole sets leave, or — lowering the replica count, with `force` as in GD1 since nothing
//! needs moving — the same number of bricks from each replica set. The bricks that stay keep
//! their client numbers (`<vol>-client-<i>`), so pending heals keep their meaning. The
//! leaving bricks' directories keep their data, as with GD1.

use super::*;

/// The arguments of `volume-shrink.decommission`: the sets holding `bricks` are marked
/// (`on`) or unmarked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Decommission {
    pub volume: String,
    pub volume_id: Uuid,
    pub bricks: Vec<Uuid>,
    pub on: bool,
}

/// A planned removal: what leaves the volume, and its sets before and after.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Removal {
    pub volume: String,
    pub volume_id: Uuid,
    /// The leaving bricks.
    pub bricks: Vec<BrickRecord>,
    /// The sets as they were planned from (what undo writes back).
    pub before: Vec<SubvolRecord>,
    /// The sets once the bricks left.
    pub after: Vec<SubvolRecord>,
    /// Whether the replica count is lowered (bricks leave every set) rather than sets leaving.
    pub lowers_replica: bool,
}

impl Removal {
    /// The nodes of the leaving bricks, each once.
    pub fn nodes(&self) -> Vec<Uuid> {
        self.bricks
            .iter()
            .map(|b| b.peer_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The leaving bricks as `host:path`.
    pub fn labels(&self) -> Vec<String> {
        self.bricks
            .iter()
            .map(|b| format!("{}:{}", b.host, b.path))
            .collect()
    }
}

/// Plans the removal of `bricks` from `vol`, lowering its replica count to `replica` when it
/// is given and below the volume's; changes nothing.
pub async fn plan_removal(
    node: &Node,
    vol: &VolumeRecord,
    bricks: &[BrickReq],
    replica: Option<u32>,
) -> Result<Removal, OpError> {
    let name = &vol.name;
    if bricks.is_empty() {
        return Err(invalid("remove-brick needs at least one brick"));
    }
    if bricks.len() > BRICKS_MAX {
        return Err(invalid(format!("a volume has 1 to {BRICKS_MAX} bricks")));
    }
    let mut vol = vol.clone();
    vol.fix_client_indexes();
    let mut leaving: Vec<(usize, BrickRecord)> = vec![];
    for b in bricks {
        let (set, brick) = replace::find_brick(node, &vol, b).await?;
        if leaving.iter().any(|(_, l)| l.id == brick.id) {
            return Err(invalid(format!(
                "brick {}:{} is named twice",
                brick.host, brick.path
            )));
        }
        if vol.subvols[set].pending {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!(
                    "brick {}:{} joins volume {name} by an add-brick that has not ended",
                    brick.host, brick.path
                ),
            ));
        }
        leaving.push((set, brick));
    }
    let first = &vol.subvols[0];
    let current = first.replica.max(1);
    let lowers_replica = match replica {
        Some(r) if r < current => {
            if first.kind != SubvolType::Replicate {
                return Err(invalid(format!(
                    "volume {name} ({}) has no replica count to lower",
                    vol.type_name()
                ))
                .field("replica", r.to_string()));
            }
            if r == 0 {
                return Err(invalid("a replica count is at least 1").field("replica", "0"));
            }
            true
        }
        Some(r) if r > current => {
            return Err(invalid(format!(
                "volume {name} has replica {current}: raising it is add-brick's job"
            ))
            .field("replica", r.to_string()));
        }
        _ => false,
    };
    let mut after = vec![];
    if lowers_replica {
        let r = replica.unwrap_or(current);
        let per_set = (current - r) as usize;
        for (k, s) in vol.subvols.iter().enumerate() {
            let gone = leaving.iter().filter(|(set, _)| *set == k).count();
            if gone != per_set {
                return Err(invalid(format!(
                    "lowering volume {name} from replica {current} to {r} takes {per_set} brick(s) from every set; set {k} would lose {gone}"
                )));
            }
            let arbiter_leaves = s
                .bricks
                .iter()
                .any(|b| b.kind == BrickKind::Arbiter && leaving.iter().any(|(_, l)| l.id == b.id));
            if s.arbiter == 1 && !arbiter_leaves {
                return Err(invalid(format!(
                    "volume {name} has an arbiter in each set: lowering its replica count removes the arbiter bricks first"
                )));
            }
            let stay: Vec<BrickRecord> = s
                .bricks
                .iter()
                .filter(|b| !leaving.iter().any(|(_, l)| l.id == b.id))
                .cloned()
                .collect();
            if r == 1 {
                // Replica 1 is distribute: one set per brick, as distribute volumes are stored.
                after.extend(stay.into_iter().map(|b| SubvolRecord {
                    kind: SubvolType::Distribute,
                    replica: 1,
                    arbiter: 0,
                    disperse: 0,
                    redundancy: 0,
                    bricks: vec![b],
                    pending: false,
                    decommissioned: false,
                }));
            } else {
                after.push(SubvolRecord {
                    replica: r,
                    arbiter: 0,
                    bricks: stay,
                    decommissioned: false,
                    ..s.clone()
                });
            }
        }
    } else {
        for (k, s) in vol.subvols.iter().enumerate() {
            let gone = leaving.iter().filter(|(set, _)| *set == k).count();
            if gone == 0 {
                after.push(SubvolRecord {
                    decommissioned: false,
                    ..s.clone()
                });
            } else if gone != s.bricks.len() {
                return Err(invalid(format!(
                    "bricks leave volume {name} ({}) in whole sets of {}: set {k} would keep {} of them",
                    vol.type_name(),
                    s.bricks.len(),
                    s.bricks.len() - gone
                )));
            }
        }
        if after.is_empty() {
            return Err(invalid(format!(
                "removing every set of volume {name} leaves no volume: delete it instead"
            )));
        }
    }
    Ok(Removal {
        volume: vol.name.clone(),
        volume_id: vol.id,
        bricks: leaving.into_iter().map(|(_, b)| b).collect(),
        before: vol.subvols.clone(),
        after,
        lowers_replica,
    })
}

/// `remove-brick start` (`on`) and `stop`: marks or unmarks the sets of `removal` as
/// decommissioned, as a transaction locked on the volume.
pub async fn decommission(cx: &Cluster, removal: &Removal, on: bool) -> Result<(), OpError> {
    let args = Decommission {
        volume: removal.volume.clone(),
        volume_id: removal.volume_id,
        bricks: removal.bricks.iter().map(|b| b.id).collect(),
        on,
    };
    let txn = Transaction {
        operation: format!(
            "volume remove-brick {} {}",
            removal.volume,
            if on { "start" } else { "stop" }
        ),
        locks: vec![volume_lock(&removal.volume)],
        steps: vec![MarkDecommissioned::call(
            vec![cx.node.identity().peer_id],
            &args,
        )],
    };
    run(cx, txn).await.map(drop)
}

/// `remove-brick commit` (after migration) and `force` (without): the bricks leave the
/// volume, as a transaction locked on it. Returns the volume as it is now.
pub async fn remove_bricks(cx: &Cluster, removal: &Removal) -> Result<VolumeInfo, OpError> {
    let node = &cx.node;
    let name = &removal.volume;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .filter(|v| v.id == removal.volume_id)
        .ok_or_else(|| not_found(name))?;
    let mut steps = vec![RemoveBricks::call(vec![node.identity().peer_id], removal)];
    if vol.state == VolumeState::Started {
        // Every online node of the volume: the leaving bricks' nodes stop them, every node's
        // self-heal daemon starts again on the new sets. A node found offline now converges
        // when it is back (its leaving brick is then named by no record: see replace-brick).
        let mut nodes = vec![];
        for n in vol.brick_nodes() {
            let online = peers::get_peer(node.store.as_ref(), n)
                .await?
                .is_some_and(|p| p.online);
            if online {
                nodes.push(n);
            }
        }
        steps.push(ShrinkServices::call(nodes, removal).within(PROCESS_STEP_TIMEOUT));
    }
    let txn = Transaction {
        operation: format!("volume remove-brick {name} commit"),
        locks: vec![volume_lock(name)],
        steps,
    };
    run(cx, txn).await?;
    Ok(get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// Marks or unmarks the sets holding the leaving bricks as decommissioned; undo does the
/// opposite. Both are idempotent.
pub(crate) struct MarkDecommissioned {
    pub(crate) node: Arc<Node>,
}

impl MarkDecommissioned {
    async fn mark(&self, a: &Decommission, on: bool) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        // Undo of a volume that is gone or another one: nothing of ours to mark.
        let there = get_volume(store, &a.volume)
            .await?
            .is_some_and(|v| v.id == a.volume_id);
        if !there && on != a.on {
            return Ok(());
        }
        update_volume(store, &a.volume, a.volume_id, |v| {
            for s in &mut v.subvols {
                if s.bricks.iter().any(|b| a.bricks.contains(&b.id)) {
                    s.decommissioned = on;
                }
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Step for MarkDecommissioned {
    const NAME: &'static str = "volume-shrink.decommission";
    type Args = Decommission;

    async fn run(&self, a: &Decommission) -> Result<(), StepError> {
        self.mark(a, a.on).await
    }

    async fn undo(&self, a: &Decommission) -> Result<(), StepError> {
        self.mark(a, !a.on).await
    }
}

/// The brick ids of some sets, in order.
fn ids(sets: &[SubvolRecord]) -> Vec<Uuid> {
    sets.iter()
        .flat_map(|s| s.bricks.iter().map(|b| b.id))
        .collect()
}

/// Writes the volume without the leaving bricks and deletes their references; undo writes
/// the sets as they were and the references back. Both are idempotent.
pub(crate) struct RemoveBricks {
    pub(crate) node: Arc<Node>,
}

impl RemoveBricks {
    /// Writes `to` over `from`; the leaving bricks' references stay (`keep`) or go.
    async fn write(
        &self,
        a: &Removal,
        from: &[SubvolRecord],
        to: &[SubvolRecord],
        keep: bool,
    ) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        let there = get_volume(store, &a.volume)
            .await?
            .is_some_and(|v| v.id == a.volume_id);
        if there {
            let (from_ids, to_ids) = (ids(from), ids(to));
            update_volume(store, &a.volume, a.volume_id, |v| {
                let now = ids(&v.subvols);
                if now == to_ids {
                    return Ok(());
                }
                if now != from_ids {
                    return Err(format!(
                        "the bricks of volume {} changed meanwhile",
                        a.volume
                    ));
                }
                v.subvols = to.to_vec();
                Ok(())
            })
            .await?;
        }
        let ops: Vec<TxnOp> = a
            .bricks
            .iter()
            .map(|b| {
                let key = brick_ref_key(b.peer_id, b.id);
                if !keep || !there {
                    TxnOp::delete(key)
                } else {
                    TxnOp::put(
                        key,
                        record::encode(&BrickRef {
                            volume: a.volume.clone(),
                            volume_id: a.volume_id,
                            path: b.path.clone(),
                        }),
                    )
                }
            })
            .collect();
        store.txn(Txn::new().and_then(ops)).await?;
        Ok(())
    }
}

#[async_trait]
impl Step for RemoveBricks {
    const NAME: &'static str = "volume-shrink.remove";
    type Args = Removal;

    async fn run(&self, a: &Removal) -> Result<(), StepError> {
        self.write(a, &a.before, &a.after, false).await
    }

    async fn undo(&self, a: &Removal) -> Result<(), StepError> {
        self.write(a, &a.after, &a.before, true).await
    }
}

/// Stops the leaving bricks on this node and the volume's self-heal daemon, and converges
/// (see the module's documentation).
pub(crate) struct ShrinkServices {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

#[async_trait]
impl Step for ShrinkServices {
    const NAME: &'static str = "volume-shrink.services";
    type Args = Removal;

    async fn run(&self, a: &Removal) -> Result<(), StepError> {
        self.run_noted(a).await.map(drop)
    }

    async fn run_noted(&self, a: &Removal) -> Result<Option<String>, StepError> {
        let me = self.node.identity().peer_id;
        for b in a.bricks.iter().filter(|b| b.peer_id == me) {
            replace::stop_brick(&self.node, &a.volume, b).await;
        }
        let pidfile = crate::processes::shd_pidfile(&self.node, &a.volume);
        if let Some(shd) = bricks::running_shd(&pidfile, &a.volume) {
            gd_node::process::stop_all(&[shd]).await;
        }
        Ok(converge_volume(&self.processes, &a.volume).await?)
    }

    /// With the sets written back, a pass starts the leaving bricks here again.
    async fn undo(&self, a: &Removal) -> Result<(), StepError> {
        converge_volume(&self.processes, &a.volume).await?;
        Ok(())
    }
}
