//! replace-brick (`POST /v1/volumes/{name}/replacebrick`, GD2's path; GD1's only form,
//! `replace-brick <vol> <old> <new> commit force`): a new brick takes an old one's place and
//! client number (`<vol>-client-<i>`, the name AFR's pending marks use), also when the old
//! brick's node is down — the usual reason to replace one. A transaction locked on the volume:
//! 1. `volume-create.validate-bricks` and 2. `volume-create.init-bricks` on the new brick's
//!    node: the checks and marks of create, with their undo;
//! 3. `volume-replace.prepare` on the new brick's node: for a started replicate volume, as GD1
//!    does, the new brick's root is marked dirty (entry), and through a temporary mount (client
//!    pid -12, the one AFR accepts it from) `trusted.replace-brick` names the brick being
//!    replaced, so that AFR marks the set's other bricks as holding what it lacks and the
//!    self-heal daemons fill the new brick. Its undo (after the swap's) stops the new brick,
//!    which every reconciler may have started once the record had it, and takes away what
//!    its run left in the directory, so that the same replace works again;
//! 4. `volume-replace.swap` on the initiator: the record's brick swapped by compare-and-swap,
//!    its brick reference with it; undo swaps back;
//! 5. for a started volume, `volume-replace.services` on every online node of the volume: the
//!    old brick (on its node, found by its pid file) and the volume's self-heal daemon there
//!    are stopped and the node's reconciler converges, so the new brick starts and signs in,
//!    the old one stays stopped (its node may be down: see below), and the self-heal
//!    daemons start again on the new graph — as GD1 does: a multiplexed daemon cannot take a
//!    graph whose client points at another brick in place (GlusterFS's client refuses to
//!    reconfigure its remote host), while mounts load such a graph anew when told to fetch it.
//!
//! Left open: an old brick whose node was down for the replace but whose process survived
//! (only glusterd2 had stopped) keeps running when the node comes back, since no record names
//! it any more; stopping bricks by their pid files alone is for a later pass.

use super::{mount, *};

/// How long the temporary mount of `volume-replace.prepare` may take to come up.
pub(super) const MARK_MOUNT_TIMEOUT: Duration = Duration::from_secs(30);
/// The client pid AFR accepts `trusted.replace-brick` from (GlusterFS's
/// `GF_CLIENT_PID_ADD_REPLICA_MOUNT`).
pub(super) const ADD_REPLICA_MOUNT_PID: &str = "--client-pid=-12";

/// The arguments of the replace steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Swap {
    pub(super) volume: String,
    pub(super) volume_id: Uuid,
    pub(super) old: BrickRecord,
    pub(super) new: BrickRecord,
    /// The client name both answer to (`<vol>-client-<i>`).
    pub(super) client: String,
    /// Whether the new brick is marked for heal (a started replicate volume).
    #[serde(default)]
    pub(super) heal: bool,
}

/// `POST /v1/volumes/{name}/replacebrick`.
pub async fn replace_brick(
    cx: &Cluster,
    name: &str,
    req: gd_api::ReplaceBrickReq,
) -> Result<VolumeInfo, OpError> {
    check_name(name)?;
    let node = &cx.node;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    refuse_while_changing(node, &vol).await?;
    let (set, old) = find_brick(node, &vol, &req.src()).await?;
    let set = &vol.subvols[set];
    if set.pending {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "brick {}:{} joins volume {name} by an add-brick that has not ended",
                old.host, old.path
            ),
        ));
    }
    let healed = set.kind != SubvolType::Distribute;
    if healed && vol.state != VolumeState::Started {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "volume {name} is not started: start it first, so that the self-heal daemons fill the new brick"
            ),
        ));
    }
    let dst = req.dst();
    let request = gd_api::SubvolReq {
        kind: SubvolType::Distribute,
        bricks: vec![dst.clone()],
        replica: 0,
        arbiter: 0,
        disperse_count: 0,
        disperse_data: 0,
        disperse_redundancy: 0,
    };
    let planned = plan_subvols(node, std::slice::from_ref(&request)).await?;
    let Some(mut new) = planned.into_iter().flat_map(|s| s.bricks).next() else {
        return Err(OpError::internal("the new brick was not planned"));
    };
    if vol
        .bricks()
        .any(|b| b.peer_id == new.peer_id && b.path == new.path)
    {
        return Err(invalid(format!(
            "brick {}:{} is already in volume {name}",
            new.host, new.path
        ))
        .field("dst-brickpath", new.path.as_str()));
    }
    let index = vol
        .client_indexes()
        .zip(vol.bricks())
        .find(|(_, b)| b.id == old.id)
        .map(|(i, _)| i)
        .ok_or_else(|| OpError::internal("the old brick has no client number"))?;
    new.index = Some(index);
    new.kind = old.kind;
    let swap = Swap {
        volume: vol.name.clone(),
        volume_id: vol.id,
        old: old.clone(),
        new: new.clone(),
        client: format!("{name}-client-{index}"),
        heal: set.kind == SubvolType::Replicate,
    };
    let args = BrickArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        bricks: vec![new.clone()],
        force: req.force,
        flags: req.flags,
    };
    let me = node.identity().peer_id;
    let mut steps = vec![
        ValidateBricks::call(vec![new.peer_id], &args).within(BRICK_STEP_TIMEOUT),
        InitBricks::call(vec![new.peer_id], &args).within(BRICK_STEP_TIMEOUT),
    ];
    steps.push(PrepareBrick::call(vec![new.peer_id], &swap).within(PROCESS_STEP_TIMEOUT));
    steps.push(SwapBrick::call(vec![me], &swap));
    if vol.state == VolumeState::Started {
        // Every online node of the volume (the new brick's among them): a node found offline
        // now is skipped, its reconciler converges when it is back.
        let mut nodes = vec![new.peer_id];
        for n in peers::online_of(node.store.as_ref(), &vol.brick_nodes()).await? {
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
        steps.push(RestartServices::call(nodes, &swap).within(PROCESS_STEP_TIMEOUT));
    }
    let txn = Transaction {
        operation: format!("volume replace-brick {name}"),
        kind: "volume-replace-brick",
        locks: vec![volume_lock(name)],
        steps,
        hook: None,
    };
    run(cx, txn).await?;
    Ok(get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// The set and brick of `vol` that `src` names: by its node (peer id, or any name the node
/// is known by or the volume names it by) and its path. The node may be offline.
pub(super) async fn find_brick(
    node: &Node,
    vol: &VolumeRecord,
    src: &BrickReq,
) -> Result<(usize, BrickRecord), OpError> {
    let path = clean_path(&src.path)?;
    let peers = peers::list_peers(node.store.as_ref()).await?;
    let host = src.host.as_deref().map(|h| h.trim_matches(['[', ']']));
    let found = vol.subvols.iter().enumerate().find_map(|(i, s)| {
        s.bricks
            .iter()
            .find(|b| {
                b.path == path
                    && match (src.peerid, host) {
                        (Some(id), _) => b.peer_id == id,
                        (None, Some(h)) => {
                            b.host == h || peers.iter().any(|p| p.id == b.peer_id && known_as(p, h))
                        }
                        (None, None) => false,
                    }
            })
            .map(|b| (i, b.clone()))
    });
    found.ok_or_else(|| {
        invalid(format!(
            "brick {}:{path} is not in volume {}",
            src.peerid
                .map(|i| i.to_string())
                .or(src.host.clone())
                .unwrap_or_default(),
            vol.name
        ))
        .field("src-brickpath", path.as_str())
    })
}

/// `vol` with `old` swapped for `new` in its set.
fn swap_in(vol: &mut VolumeRecord, old: &BrickRecord, new: &BrickRecord) {
    for b in vol.subvols.iter_mut().flat_map(|s| s.bricks.iter_mut()) {
        if b.id == old.id {
            *b = new.clone();
        }
    }
}

/// GlusterFS's `trusted.afr.dirty` with the entry count 1 (three big-endian 32-bit counts:
/// data, metadata, entry), as GD1 marks a replacing brick's root.
pub(super) const ENTRY_DIRTY: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub(super) const AFR_DIRTY_XATTR: &str = "trusted.afr.dirty";
pub(super) const REPLACE_BRICK_XATTR: &str = "trusted.replace-brick";

/// On the new brick's node: marks it for heal, as GD1 does (see the module's step 3). Its undo,
/// which runs once the record has the old brick back, stops the new brick and takes away what
/// its run left, so that the same replace works again.
pub(crate) struct PrepareBrick {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

#[async_trait]
impl Step for PrepareBrick {
    const NAME: &'static str = "volume-replace.prepare";
    type Args = Swap;

    async fn run(&self, a: &Swap) -> Result<(), StepError> {
        if !a.heal || a.new.peer_id != self.node.identity().peer_id {
            return Ok(());
        }
        xattr::set(&a.new.path, AFR_DIRTY_XATTR, &ENTRY_DIRTY)
            .map_err(|e| StepError::Failed(format!("cannot mark {} for heal: {e}", a.new.path)))?;
        let marked = mount::mark_for_heal(
            &self.node,
            &a.volume,
            None,
            REPLACE_BRICK_XATTR,
            vec![a.client.clone()],
        )
        .await;
        marked.map_err(|e| {
            StepError::Failed(format!(
                "cannot mark {} of volume {} as replaced for the self-heal daemons: {e}",
                a.client, a.volume
            ))
        })
    }

    /// Every node's reconciler may have started the new brick as soon as the record had it:
    /// with the old record back, a pass stops it here; then the new brick's directory loses
    /// what it gained (a directory this transaction created goes whole; in one that was
    /// there, `.glusterfs`, the root's gfid and heal mark go). The pending marks on the set's
    /// other bricks stay: they ask for a heal the old brick does not need, which is harmless.
    async fn undo(&self, a: &Swap) -> Result<(), StepError> {
        if a.new.peer_id != self.node.identity().peer_id {
            return Ok(());
        }
        stop_brick(&self.processes, &self.node, &a.volume, &a.new).await;
        converge_volume(&self.processes, &a.volume).await?;
        let path = std::path::PathBuf::from(&a.new.path);
        let volume_id = a.volume_id;
        tokio::task::spawn_blocking(move || undo_brick_run(&path, volume_id))
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Stops brick `b` of `volume` on this node if its process runs (found by its pid file: a
/// glusterd2 that restarted does not know a brick its record no longer has), and forgets its
/// pid file; under the reconciler's pass lock, so that a pass that read the record before it
/// changed cannot start the brick unseen (see [`Processes::stop_found`]).
pub(super) async fn stop_brick(processes: &Processes, node: &Node, volume: &str, b: &BrickRecord) {
    let files = bricks::files(&node.config, volume, &b.host, &b.path, b.id);
    processes
        .stop_found(|| {
            let found = bricks::running_pid(&files.pidfile, &b.path);
            let _ = std::fs::remove_file(&files.pidfile);
            found.into_iter().collect()
        })
        .await;
}

/// Stops the volume's self-heal daemon on this node (a pass then starts it on the new graph),
/// under the reconciler's pass lock as [`stop_brick`].
pub(super) async fn stop_shd(processes: &Processes, node: &Node, volume: &str) {
    let pidfile = crate::processes::shd_pidfile(node, volume);
    processes
        .stop_found(|| bricks::running_shd(&pidfile, volume).into_iter().collect())
        .await;
}

/// See [`PrepareBrick::undo`]. Best effort: what stays is named by the brick checks of a retry.
pub(super) fn undo_brick_run(path: &std::path::Path, volume_id: Uuid) {
    let created = xattr::get(path, brick_steps::CREATED_MARKER)
        .ok()
        .flatten()
        .is_some_and(|v| v == volume_id.as_bytes());
    if created {
        let _ = std::fs::remove_dir_all(path);
        return;
    }
    let _ = std::fs::remove_dir_all(path.join(".glusterfs"));
    for name in [GFID_XATTR, AFR_DIRTY_XATTR] {
        let _ = xattr::remove(path, name);
    }
}

/// Swaps the brick in the record, with its brick reference; undo swaps back. Both are
/// idempotent.
pub(crate) struct SwapBrick {
    pub(crate) node: Arc<Node>,
}

impl SwapBrick {
    async fn swap(&self, a: &Swap, from: &BrickRecord, to: &BrickRecord) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        // Undo of a volume that is gone or another one: nothing of ours is in a record.
        let there = get_volume(store, &a.volume)
            .await?
            .is_some_and(|v| v.id == a.volume_id);
        if there {
            update_volume(store, &a.volume, a.volume_id, |v| {
                swap_in(v, from, to);
                Ok(())
            })
            .await?;
        }
        let put = TxnOp::put(
            brick_ref_key(to.peer_id, to.id),
            record::encode(&BrickRef {
                volume: a.volume.clone(),
                volume_id: a.volume_id,
                path: to.path.clone(),
            }),
        );
        let mut ops = vec![TxnOp::delete(brick_ref_key(from.peer_id, from.id))];
        if there {
            ops.push(put);
        }
        store.txn(Txn::new().and_then(ops)).await?;
        Ok(())
    }
}

#[async_trait]
impl Step for SwapBrick {
    const NAME: &'static str = "volume-replace.swap";
    type Args = Swap;

    async fn run(&self, a: &Swap) -> Result<(), StepError> {
        self.swap(a, &a.old, &a.new).await
    }

    async fn undo(&self, a: &Swap) -> Result<(), StepError> {
        self.swap(a, &a.new, &a.old).await
    }
}

/// Restarts the volume's self-heal daemon on this node and converges the volume's processes
/// (see the module's step 5).
pub(crate) struct RestartServices {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

#[async_trait]
impl Step for RestartServices {
    const NAME: &'static str = "volume-replace.services";
    type Args = Swap;

    async fn run(&self, a: &Swap) -> Result<(), StepError> {
        self.run_noted(a).await.map(drop)
    }

    async fn run_noted(&self, a: &Swap) -> Result<Option<String>, StepError> {
        // The old brick, when it is another (a reset brick comes back as itself: stopping it
        // here would race this node's reconciler, which wants it).
        if a.old.peer_id == self.node.identity().peer_id && a.old.id != a.new.id {
            stop_brick(&self.processes, &self.node, &a.volume, &a.old).await;
        }
        stop_shd(&self.processes, &self.node, &a.volume).await;
        Ok(converge_volume(&self.processes, &a.volume).await?)
    }

    /// Nothing: the record swapped back and [`PrepareBrick`]'s undo stop the new brick.
    async fn undo(&self, _: &Swap) -> Result<(), StepError> {
        Ok(())
    }
}
