//! add-brick (`POST /v1/volumes/{name}/expand`): new sets of the volume's shape, on a started
//! or stopped volume, as a transaction locked on the volume's name:
//! 1. `volume-create.validate-bricks` and 2. `volume-create.init-bricks` on the new bricks'
//!    nodes: the checks and marks of create, with their undo;
//! 3. `volume-expand.store` on the initiator: the new sets appended to the record, marked
//!    pending (by compare-and-swap), and their brick references written; undo takes exactly
//!    them back;
//! 4. for a started volume, `volume-state.bricks` on the new bricks' nodes: the new bricks
//!    start and sign in (the other nodes have nothing to start);
//! 5. `volume-expand.commit` on the initiator: the sets are no longer pending. Only now do the
//!    client, self-heal and rebalance graphs have them: every node's reconciler sees the
//!    changed record and tells its connected clients to fetch the new graph (FETCHSPEC), with
//!    the new bricks running — a client never waits for a brick that has not started.
//!
//! A replica count given above the volume's raises it instead: a brick joins each set
//! (`reshape::raise_replica`).
//!
//! The new sets come after the existing ones, and their bricks get the next client numbers:
//! an existing brick keeps its client id (`<vol>-client-<i>`), so pending heals keep their
//! meaning.

use super::*;

/// The arguments of `volume-expand.store`: the sets to append.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct NewSets {
    volume: String,
    volume_id: Uuid,
    subvols: Vec<SubvolRecord>,
}

/// `POST /v1/volumes/{name}/expand`.
pub async fn expand_volume(
    cx: &Cluster,
    name: &str,
    req: gd_api::VolExpandReq,
) -> Result<VolumeInfo, OpError> {
    check_name(name)?;
    let node = &cx.node;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    refuse_while_changing(node, &vol).await?;
    let current = vol.subvols.first().map_or(1, |s| s.replica.max(1));
    if req.replica.is_some_and(|r| r > current) || req.arbiter.is_some_and(|a| a > 0) {
        return reshape::raise_replica(cx, &vol, &req).await;
    }
    let mut sets = plan_sets(node, &vol, &req).await?;
    let mut next = vol.next_client_index();
    for s in &mut sets {
        s.pending = true;
        for b in &mut s.bricks {
            b.index = Some(next);
            next += 1;
        }
    }
    let bricks: Vec<BrickRecord> = sets.iter().flat_map(|s| s.bricks.clone()).collect();
    let nodes: Vec<Uuid> = bricks
        .iter()
        .map(|b| b.peer_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let args = BrickArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        bricks,
        force: req.force,
        flags: req.flags,
    };
    let new = NewSets {
        volume: vol.name.clone(),
        volume_id: vol.id,
        subvols: sets.clone(),
    };
    let mut grown = vol.clone();
    grown.subvols.extend(sets);
    let mut steps = vec![
        ValidateBricks::call(nodes.clone(), &args).within(BRICK_STEP_TIMEOUT),
        InitBricks::call(nodes.clone(), &args).within(BRICK_STEP_TIMEOUT),
        AddSets::call(vec![node.identity().peer_id], &new),
    ];
    if vol.state == VolumeState::Started {
        steps.push(converge_step_on(&grown, nodes));
    }
    steps.push(CommitSets::call(vec![node.identity().peer_id], &new));
    let txn = Transaction {
        operation: format!("volume add-brick {name}"),
        kind: "volume-add-brick",
        locks: vec![volume_lock(name)],
        steps,
        hook: Some(HookCall::new("add-brick", name)),
    };
    run(cx, txn).await?;
    for s in &mut grown.subvols {
        s.pending = false;
    }
    Ok(get_volume(node.store.as_ref(), name)
        .await?
        .unwrap_or(grown)
        .to_api())
}

/// Checks an add-brick request against the volume and lays out its sets, changing nothing.
async fn plan_sets(
    node: &Node,
    vol: &VolumeRecord,
    req: &gd_api::VolExpandReq,
) -> Result<Vec<SubvolRecord>, OpError> {
    let Some(first) = vol.subvols.first() else {
        return Err(invalid(format!("volume {} has no bricks", vol.name)));
    };
    if req.bricks.is_empty() {
        return Err(invalid("add-brick needs at least one brick"));
    }
    if vol.bricks().count() + req.bricks.len() > BRICKS_MAX {
        return Err(invalid(format!("a volume has 1 to {BRICKS_MAX} bricks")));
    }
    let replica = first.replica.max(1);
    if let Some(r) = req.replica
        && r != replica
    {
        return Err(invalid(format!(
            "volume {} has replica {replica}: lowering it is remove-brick's job (remove-brick {} replica {r} <bricks> force)",
            vol.name, vol.name
        ))
        .field("replica", r.to_string()));
    }
    let set_size = first.bricks.len();
    if !req.bricks.len().is_multiple_of(set_size) {
        return Err(invalid(format!(
            "volume {} ({}) takes bricks in sets of {set_size}; {} bricks do not make whole sets",
            vol.name,
            vol.type_name(),
            req.bricks.len()
        )));
    }
    let requests: Vec<gd_api::SubvolReq> = req
        .bricks
        .chunks(set_size)
        .map(|set| gd_api::SubvolReq {
            kind: first.kind,
            bricks: set.to_vec(),
            replica: if first.kind == SubvolType::Replicate {
                first.replica
            } else {
                0
            },
            arbiter: first.arbiter,
            disperse_count: first.disperse,
            disperse_data: 0,
            disperse_redundancy: first.redundancy,
        })
        .collect();
    let sets = plan_subvols(node, &requests).await?;
    for b in sets.iter().flat_map(|s| s.bricks.iter()) {
        if vol
            .bricks()
            .any(|o| o.peer_id == b.peer_id && o.path == b.path)
        {
            return Err(invalid(format!(
                "brick {}:{} is already in volume {}",
                b.host, b.path, vol.name
            ))
            .field("path", b.path.as_str()));
        }
    }
    Ok(sets)
}

/// Whether the volume the sets were added to is still there (not deleted, not replaced by
/// another of its name).
async fn still_there(store: &dyn Store, a: &NewSets) -> Result<bool, StepError> {
    Ok(get_volume(store, &a.volume)
        .await?
        .is_some_and(|v| v.id == a.volume_id))
}

/// Appends the new sets to the volume's record and writes their brick references; undo takes
/// exactly them back. Both are idempotent.
pub(crate) struct AddSets {
    pub(crate) node: Arc<Node>,
}

impl AddSets {
    fn refs(a: &NewSets) -> impl Iterator<Item = (String, BrickRef)> + '_ {
        a.subvols.iter().flat_map(|s| s.bricks.iter()).map(|b| {
            (
                brick_ref_key(b.peer_id, b.id),
                BrickRef {
                    volume: a.volume.clone(),
                    volume_id: a.volume_id,
                    path: b.path.clone(),
                },
            )
        })
    }

    fn is_new(a: &NewSets, s: &SubvolRecord) -> bool {
        s.bricks.iter().any(|b| {
            a.subvols
                .iter()
                .any(|n| n.bricks.iter().any(|x| x.id == b.id))
        })
    }
}

#[async_trait]
impl Step for AddSets {
    const NAME: &'static str = "volume-expand.store";
    type Args = NewSets;

    async fn run(&self, a: &NewSets) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        update_volume(store, &a.volume, a.volume_id, |v| {
            if !v.subvols.iter().any(|s| Self::is_new(a, s)) {
                v.subvols.extend(a.subvols.iter().cloned());
            }
            Ok(())
        })
        .await?;
        let ops: Vec<TxnOp> = Self::refs(a)
            .map(|(key, r)| TxnOp::put(key, record::encode(&r)))
            .collect();
        store.txn(Txn::new().and_then(ops)).await?;
        Ok(())
    }

    async fn undo(&self, a: &NewSets) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        // The volume gone, or another one: nothing of ours is left in a record.
        if still_there(store, a).await? {
            update_volume(store, &a.volume, a.volume_id, |v| {
                v.subvols.retain(|s| !Self::is_new(a, s));
                Ok(())
            })
            .await?;
        }
        let ops: Vec<TxnOp> = Self::refs(a).map(|(key, _)| TxnOp::delete(key)).collect();
        store.txn(Txn::new().and_then(ops)).await?;
        Ok(())
    }
}

/// Makes the new sets part of what the volume serves (no longer pending); undo makes them
/// pending again. Both are idempotent.
pub(crate) struct CommitSets {
    pub(crate) node: Arc<Node>,
}

impl CommitSets {
    async fn mark(&self, a: &NewSets, pending: bool) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        // Undo of a volume that is gone or another one: nothing of ours to mark.
        if pending && !still_there(store, a).await? {
            return Ok(());
        }
        update_volume(store, &a.volume, a.volume_id, |v| {
            for s in v.subvols.iter_mut().filter(|s| AddSets::is_new(a, s)) {
                s.pending = pending;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Step for CommitSets {
    const NAME: &'static str = "volume-expand.commit";
    type Args = NewSets;

    async fn run(&self, a: &NewSets) -> Result<(), StepError> {
        self.mark(a, false).await
    }

    async fn undo(&self, a: &NewSets) -> Result<(), StepError> {
        self.mark(a, true).await
    }
}
