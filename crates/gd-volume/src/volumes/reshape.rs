//! Changes of a volume's sets made brick by brick: remove-brick's (GD1's `remove-brick <vol>
//! [replica N] <bricks…> start|stop|commit|force`; the migration between start and commit is
//! the rebalance feature's task) and add-brick's raising of the replica count (GD1's
//! `add-brick <vol> replica N [arbiter 1] <bricks…>`).
//!
//! - **Decommission** (`start`, and `stop` undoing it): the sets that leave are marked in the
//!   record (`volume-reshape.decommission`, undo clears the mark), so every graph's DHT names
//!   them in `decommissioned-bricks`: no new file is placed on them and the rebalance
//!   processes move their files away.
//! - **Remove** (`commit`, or `force` without migration): `volume-reshape.store` on the
//!   initiator writes the volume without the leaving bricks and deletes their brick
//!   references, by compare-and-swap on the sets as they were planned (undo writes them
//!   back); then, for a started volume, `volume-reshape.services` on every online node of the
//!   volume stops the leaving bricks there (found by their pid files) and the volume's
//!   self-heal daemon, whose sets changed, and converges, so the daemon starts again on the
//!   new graph. Clients load the new graph when told to fetch it.
//! - **Raise the replica count** (a started volume): the new bricks pass create's checks
//!   and marks; `volume-grow.mark` on their nodes marks each new brick's root dirty and,
//!   through a temporary mount of the grown graph (client pid -12, a volfile made here as
//!   GD1's add-brick makes its dummy one), names it in `trusted.add-brick`, so that AFR
//!   blames it on the set's other bricks and the self-heal daemons fill it; then the same
//!   store and services steps as a removal write the grown sets and start the new bricks.
//!
//! Whole sets leave, or — lowering the replica count, with `force` as in GD1 since nothing
//! needs moving — the same number of bricks from each replica set. The bricks that stay keep
//! their client numbers (`<vol>-client-<i>`), so pending heals keep their meaning; joining
//! bricks get the next ones. The leaving bricks' directories keep their data, as with GD1.

use super::{mount, *};

/// The arguments of `volume-reshape.decommission`: the sets holding `bricks` are marked
/// (`on`) or unmarked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Decommission {
    pub volume: String,
    pub volume_id: Uuid,
    pub bricks: Vec<Uuid>,
    pub on: bool,
}

/// A planned change of a volume's sets: the bricks that leave (or join), and its sets before
/// and after.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Reshape {
    pub volume: String,
    pub volume_id: Uuid,
    /// The leaving bricks, or the joining ones ([`Reshape::joining`]).
    pub bricks: Vec<BrickRecord>,
    /// Whether [`Reshape::bricks`] join the volume (add-brick raising the replica count).
    #[serde(default)]
    pub joining: bool,
    /// The sets as they were planned from (what undo writes back).
    pub before: Vec<SubvolRecord>,
    /// The sets once the bricks left.
    pub after: Vec<SubvolRecord>,
    /// Whether the replica count is lowered (bricks leave every set) rather than sets leaving.
    pub lowers_replica: bool,
}

impl Reshape {
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
) -> Result<Reshape, OpError> {
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
    let Some(first) = vol.subvols.first() else {
        return Err(invalid(format!("volume {name} has no bricks")));
    };
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
    Ok(Reshape {
        volume: vol.name.clone(),
        volume_id: vol.id,
        bricks: leaving.into_iter().map(|(_, b)| b).collect(),
        joining: false,
        before: vol.subvols.clone(),
        after,
        lowers_replica,
    })
}

/// The `volume-reshape.decommission` step that marks (`on`) or unmarks the sets of `reshape`,
/// run on the initiator `me`: remove-brick start puts it in a transaction of its own, beside
/// the step that records the migration's task.
pub fn decommission_step(me: Uuid, reshape: &Reshape, on: bool) -> Call {
    let args = Decommission {
        volume: reshape.volume.clone(),
        volume_id: reshape.volume_id,
        bricks: reshape.bricks.iter().map(|b| b.id).collect(),
        on,
    };
    MarkDecommissioned::call(vec![me], &args)
}

/// `remove-brick stop`: unmarks the sets of `reshape`, as a transaction locked on the volume.
pub async fn recommission(cx: &Cluster, reshape: &Reshape) -> Result<(), OpError> {
    let txn = Transaction {
        operation: format!("volume remove-brick {} stop", reshape.volume),
        kind: "volume-remove-brick-stop",
        hook: Some(HookCall::new("remove-brick", &reshape.volume)),
        locks: vec![volume_lock(&reshape.volume)],
        steps: vec![decommission_step(
            cx.node.identity().peer_id,
            reshape,
            false,
        )],
    };
    run(cx, txn).await.map(drop)
}

/// `remove-brick commit` (after migration) and `force` (without): the bricks leave the
/// volume, as a transaction locked on it. Returns the volume as it is now.
pub async fn remove_bricks(cx: &Cluster, reshape: &Reshape) -> Result<VolumeInfo, OpError> {
    let node = &cx.node;
    let name = &reshape.volume;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .filter(|v| v.id == reshape.volume_id)
        .ok_or_else(|| not_found(name))?;
    let mut steps = vec![StoreReshape::call(vec![node.identity().peer_id], reshape)];
    if vol.state == VolumeState::Started {
        // Every online node of the volume: the leaving bricks' nodes stop them, every node's
        // self-heal daemon starts again on the new sets. A node found offline now converges
        // when it is back (its leaving brick is then named by no record: see replace-brick).
        let nodes = online(node, vol.brick_nodes()).await?;
        steps.push(ReshapeServices::call(nodes, reshape).within(PROCESS_STEP_TIMEOUT));
    }
    let txn = Transaction {
        operation: format!("volume remove-brick {name} commit"),
        kind: "volume-remove-brick-commit",
        locks: vec![volume_lock(name)],
        steps,
        hook: Some(HookCall::new("remove-brick", name)),
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
    const NAME: &'static str = "volume-reshape.decommission";
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

/// Writes the volume's new sets, with the brick references of the joining bricks, or without
/// those of the leaving ones; undo writes the sets as they were and the references as they
/// were. Both are idempotent.
pub(crate) struct StoreReshape {
    pub(crate) node: Arc<Node>,
}

impl StoreReshape {
    /// Writes `to` over `from`; the changed bricks' references are there (`keep`) or not.
    async fn write(
        &self,
        a: &Reshape,
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
impl Step for StoreReshape {
    const NAME: &'static str = "volume-reshape.store";
    type Args = Reshape;

    async fn run(&self, a: &Reshape) -> Result<(), StepError> {
        self.write(a, &a.before, &a.after, a.joining).await
    }

    async fn undo(&self, a: &Reshape) -> Result<(), StepError> {
        self.write(a, &a.after, &a.before, !a.joining).await
    }
}

/// Stops the leaving bricks on this node and the volume's self-heal daemon, and converges, so
/// that joining bricks start (see the module's documentation).
pub(crate) struct ReshapeServices {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

#[async_trait]
impl Step for ReshapeServices {
    const NAME: &'static str = "volume-reshape.services";
    type Args = Reshape;

    async fn run(&self, a: &Reshape) -> Result<(), StepError> {
        self.run_noted(a).await.map(drop)
    }

    async fn run_noted(&self, a: &Reshape) -> Result<Option<String>, StepError> {
        let me = self.node.identity().peer_id;
        for b in a.bricks.iter().filter(|b| b.peer_id == me && !a.joining) {
            replace::stop_brick(&self.processes, &self.node, &a.volume, b).await;
        }
        replace::stop_shd(&self.processes, &self.node, &a.volume).await;
        Ok(converge_volume(&self.processes, &a.volume).await?)
    }

    /// With the sets written back, a pass starts the leaving bricks here again (joining ones
    /// are stopped by `volume-grow.mark`'s undo).
    async fn undo(&self, a: &Reshape) -> Result<(), StepError> {
        converge_volume(&self.processes, &a.volume).await?;
        Ok(())
    }
}

/// The nodes of `ids` that are online now.
async fn online(node: &Node, ids: impl IntoIterator<Item = Uuid>) -> Result<Vec<Uuid>, OpError> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut out = vec![];
    for n in peers::online_of(node.store.as_ref(), &ids).await? {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// add-brick raising the replica count of a started replicate (or distribute) volume, or
/// adding an arbiter to each replica 2 set: `req.bricks` are the new bricks, set by set.
pub(super) async fn raise_replica(
    cx: &Cluster,
    vol: &VolumeRecord,
    req: &gd_api::VolExpandReq,
) -> Result<VolumeInfo, OpError> {
    let node = &cx.node;
    let name = &vol.name;
    let Some(first) = vol.subvols.first() else {
        return Err(invalid(format!("volume {name} has no bricks")));
    };
    let current = first.replica.max(1);
    let target = req.replica.unwrap_or(current);
    let arbiter = req.arbiter.unwrap_or(0);
    if arbiter > 1 {
        return Err(invalid("an arbiter count is 0 or 1").field("arbiter", arbiter.to_string()));
    }
    if first.kind == SubvolType::Disperse {
        return Err(invalid(format!(
            "volume {name} ({}) has no replica count to raise",
            vol.type_name()
        )));
    }
    if first.arbiter == 1 {
        return Err(invalid(format!(
            "volume {name} has an arbiter in each set: its replica count cannot be raised"
        )));
    }
    if arbiter == 1 && !(current == 2 && target == 3) {
        return Err(invalid(format!(
            "an arbiter joins each set of a replica 2 volume (replica 3 arbiter 1); volume {name} has replica {current}"
        )));
    }
    if target <= current {
        return Err(invalid(format!(
            "volume {name} has replica {current}: replica {target} does not raise it"
        ))
        .field("replica", target.to_string()));
    }
    if vol.state != VolumeState::Started {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "volume {name} is not started: start it first, so that the self-heal daemons fill the new bricks"
            ),
        ));
    }
    if vol.subvols.iter().any(|s| s.pending) {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {name} is changing: an add-brick of it has not ended"),
        ));
    }
    let per_set = (target - current) as usize;
    let sets = vol.subvols.len();
    if req.bricks.len() != sets * per_set {
        return Err(invalid(format!(
            "raising volume {name} from replica {current} to {target} takes {per_set} new brick(s) for each of its {sets} set(s): {} bricks, not {}",
            sets * per_set,
            req.bricks.len()
        )));
    }
    if vol.bricks().count() + req.bricks.len() > BRICKS_MAX {
        return Err(invalid(format!("a volume has 1 to {BRICKS_MAX} bricks")));
    }
    let request = gd_api::SubvolReq {
        kind: SubvolType::Distribute,
        bricks: req.bricks.clone(),
        replica: 0,
        arbiter: 0,
        disperse_count: 0,
        disperse_data: 0,
        disperse_redundancy: 0,
    };
    let planned: Vec<BrickRecord> = plan_subvols(node, std::slice::from_ref(&request))
        .await?
        .into_iter()
        .flat_map(|s| s.bricks)
        .collect();
    if let Some(b) = planned.iter().find(|b| {
        vol.bricks()
            .any(|o| o.peer_id == b.peer_id && o.path == b.path)
    }) {
        return Err(invalid(format!(
            "brick {}:{} is already in volume {name}",
            b.host, b.path
        ))
        .field("path", b.path.as_str()));
    }
    let mut before = vol.clone();
    before.fix_client_indexes();
    let mut after = before.clone();
    let mut next = before.next_client_index();
    let mut joining = vec![];
    for (s, new) in after.subvols.iter_mut().zip(planned.chunks(per_set)) {
        for b in new {
            let mut b = b.clone();
            b.index = Some(next);
            next += 1;
            if arbiter == 1 {
                b.kind = BrickKind::Arbiter;
            }
            joining.push(b.clone());
            s.bricks.push(b);
        }
        s.kind = SubvolType::Replicate;
        s.replica = target;
        s.arbiter = arbiter;
    }
    let grow = Reshape {
        volume: name.clone(),
        volume_id: vol.id,
        bricks: joining.clone(),
        joining: true,
        before: before.subvols,
        after: after.subvols.clone(),
        lowers_replica: false,
    };
    let new_nodes: Vec<Uuid> = joining
        .iter()
        .map(|b| b.peer_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let args = BrickArgs {
        volume: name.clone(),
        volume_id: vol.id,
        bricks: joining,
        force: req.force,
        flags: req.flags,
    };
    let everyone = online(node, after.brick_nodes()).await?;
    let txn = Transaction {
        operation: format!("volume add-brick {name}"),
        kind: "volume-add-brick",
        hook: Some(HookCall::new("add-brick", name)),
        locks: vec![volume_lock(name)],
        steps: vec![
            ValidateBricks::call(new_nodes.clone(), &args).within(BRICK_STEP_TIMEOUT),
            InitBricks::call(new_nodes.clone(), &args).within(BRICK_STEP_TIMEOUT),
            MarkJoining::call(new_nodes, &grow).within(PROCESS_STEP_TIMEOUT),
            StoreReshape::call(vec![node.identity().peer_id], &grow),
            ReshapeServices::call(everyone, &grow).within(PROCESS_STEP_TIMEOUT),
        ],
    };
    run(cx, txn).await?;
    Ok(get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// GlusterFS's xattr that names a brick joining a replica set to AFR (`GF_AFR_ADD_BRICK`).
const ADD_BRICK_XATTR: &str = "trusted.add-brick";

/// On a joining brick's node, before any process uses the brick: marks its root dirty and,
/// through a temporary mount of the grown graph (made here from the planned sets: the record
/// does not have them yet), names it in `trusted.add-brick`, so that AFR blames it on the
/// set's other bricks and the self-heal daemons fill it, as GD1's add-brick does. Undo stops
/// the new brick if a reconciler started it and takes away what it left in the directory.
pub(crate) struct MarkJoining {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

impl MarkJoining {
    fn mine(&self, a: &Reshape) -> Vec<BrickRecord> {
        let me = self.node.identity().peer_id;
        a.bricks
            .iter()
            .filter(|b| a.joining && b.peer_id == me)
            .cloned()
            .collect()
    }
}

#[async_trait]
impl Step for MarkJoining {
    const NAME: &'static str = "volume-grow.mark";
    type Args = Reshape;

    async fn run(&self, a: &Reshape) -> Result<(), StepError> {
        let mine = self.mine(a);
        if mine.is_empty() {
            return Ok(());
        }
        for b in &mine {
            xattr::set(&b.path, replace::AFR_DIRTY_XATTR, &replace::ENTRY_DIRTY)
                .map_err(|e| StepError::Failed(format!("cannot mark {} for heal: {e}", b.path)))?;
        }
        let Some(mut grown) = get_volume(self.node.store.as_ref(), &a.volume)
            .await?
            .filter(|v| v.id == a.volume_id)
        else {
            return Err(format!("volume {} vanished", a.volume).into());
        };
        grown.subvols = a.after.clone();
        let spec = crate::volfiles::client_volfile(&grown, true).map_err(StepError::Failed)?;
        let volfile = self
            .node
            .config
            .rundir
            .join(format!("gd2grow-{}.vol", Uuid::new_v4().simple()));
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&volfile)
                .map_err(|e| format!("cannot write {}: {e}", volfile.display()))?;
            f.write_all(spec.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", volfile.display()))?;
        }
        let clients: Vec<String> = mine
            .iter()
            .map(|b| format!("{}-client-{}", a.volume, b.index.unwrap_or_default()))
            .collect();
        let marked = mount::mark_for_heal(
            &self.node,
            &a.volume,
            Some(&volfile),
            ADD_BRICK_XATTR,
            clients,
        )
        .await;
        let _ = std::fs::remove_file(&volfile);
        marked.map_err(|e| {
            StepError::Failed(format!(
                "cannot mark the new bricks of volume {} for the self-heal daemons: {e}",
                a.volume
            ))
        })
    }

    async fn undo(&self, a: &Reshape) -> Result<(), StepError> {
        let mine = self.mine(a);
        if mine.is_empty() {
            return Ok(());
        }
        for b in &mine {
            replace::stop_brick(&self.processes, &self.node, &a.volume, b).await;
        }
        converge_volume(&self.processes, &a.volume).await?;
        for b in mine {
            let path = std::path::PathBuf::from(&b.path);
            let volume_id = a.volume_id;
            tokio::task::spawn_blocking(move || replace::undo_brick_run(&path, volume_id))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
