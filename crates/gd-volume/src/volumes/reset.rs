//! reset-brick (GD1's `reset-brick <vol> <brick> start` and `reset-brick <vol> <brick> <brick>
//! commit [force]`): a brick is taken out of service where it stands while its disk is
//! replaced, then brought back at the same path and client number, marked for heal as
//! replace-brick marks a new brick, so that the self-heal daemons fill it.
//!
//! - **start**: `volume-reset.mark` on the brick's node marks the brick reset in the record and
//!   runs a reconciler pass there: the brick stops, and stays stopped (also across restarts of
//!   glusterd2, which GD1 does not keep) until the commit. Undo unmarks it and starts it again.
//! - **commit**: `volume-reset.prepare` on the brick's node checks the path as create does
//!   (the brick must be stopped; a directory holding this volume's id — the old disk's data —
//!   needs `force`, as in GD1; one holding another volume's is refused), creates it if missing
//!   and marks it (volume id, `.glusterfs`); for a replicate volume, the root is marked dirty and,
//!   through a temporary mount (client pid -12), `trusted.replace-brick` names it, so that AFR
//!   blames it on the set's other bricks. Its undo takes back only what it made. Then
//!   `volume-reset.mark` unmarks the brick (undo: marks it and stops it again), and
//!   `volume-replace.services` on every online node of the volume starts it and restarts the
//!   self-heal daemons, whose start crawls at once.

use super::{
    brick_steps::ProtectedDirs,
    mount,
    replace::{self, Swap},
    *,
};

/// The markers a reset commit leaves on a brick directory it created, or on a brick root it
/// gave the volume's id (a fresh disk), so that its undo takes back only that: their value is
/// the commit's own id, so a later commit never takes them for its own.
const CREATED_MARKER: &str = "trusted.glusterd2.reset-created";
const MARKED_MARKER: &str = "trusted.glusterd2.reset-by";

/// The arguments of the reset steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ResetArgs {
    volume: String,
    volume_id: Uuid,
    brick: BrickRecord,
    /// Marks (start, and commit's undo) or unmarks (commit) the brick as reset.
    reset: bool,
    /// Reuse a directory that holds the volume's id (commit force).
    #[serde(default)]
    force: bool,
    /// The client name the brick answers to (`<vol>-client-<i>`).
    client: String,
    /// Whether it is marked for heal (a replicate volume).
    heal: bool,
    /// This commit's id, the value of its markers.
    #[serde(default)]
    nonce: Uuid,
}

/// The volume and the brick a reset-brick request names, with its client name.
async fn find(
    cx: &Cluster,
    name: &str,
    req: &gd_api::ResetBrickReq,
) -> Result<(VolumeRecord, BrickRecord, String, bool), OpError> {
    check_name(name)?;
    let node = &cx.node;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    if vol.state != VolumeState::Started {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {name} is not started: a brick of a stopped volume needs no reset"),
        ));
    }
    let (set, brick) = replace::find_brick(node, &vol, &req.brick()).await?;
    if vol.subvols[set].pending {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "brick {}:{} joins volume {name} by an add-brick that has not ended",
                brick.host, brick.path
            ),
        ));
    }
    let index = vol
        .client_indexes()
        .zip(vol.bricks())
        .find(|(_, b)| b.id == brick.id)
        .map(|(i, _)| i)
        .ok_or_else(|| OpError::internal("the brick has no client number"))?;
    let online = peers::get_peer(node.store.as_ref(), brick.peer_id)
        .await?
        .is_some_and(|p| p.online);
    if !online {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "the node of brick {}:{} is offline: replace the brick instead (replace-brick)",
                brick.host, brick.path
            ),
        ));
    }
    let heal = vol.subvols[set].kind == SubvolType::Replicate;
    Ok((vol, brick, format!("{name}-client-{index}"), heal))
}

/// `POST /v1/volumes/{name}/reset-brick/start`: the brick stops and stays stopped.
pub async fn reset_brick_start(
    cx: &Cluster,
    name: &str,
    req: gd_api::ResetBrickReq,
) -> Result<VolumeInfo, OpError> {
    let (vol, brick, client, heal) = find(cx, name, &req).await?;
    if brick.reset {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "brick {}:{} is being reset already: commit it",
                brick.host, brick.path
            ),
        ));
    }
    let args = ResetArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        brick: brick.clone(),
        reset: true,
        force: false,
        client,
        heal,
        nonce: Uuid::new_v4(),
    };
    let txn = Transaction {
        operation: format!("volume reset-brick {name} start"),
        kind: "volume-reset-brick-start",
        hook: None,
        locks: vec![volume_lock(name)],
        steps: vec![MarkReset::call(vec![brick.peer_id], &args).within(PROCESS_STEP_TIMEOUT)],
    };
    run(cx, txn).await?;
    Ok(get_volume(cx.node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// `POST /v1/volumes/{name}/reset-brick/commit`: the brick is back at its path, marked for
/// heal, and runs.
pub async fn reset_brick_commit(
    cx: &Cluster,
    name: &str,
    req: gd_api::ResetBrickReq,
) -> Result<VolumeInfo, OpError> {
    let (vol, brick, client, heal) = find(cx, name, &req).await?;
    if !brick.reset {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!(
                "brick {}:{} is not being reset: reset-brick start first",
                brick.host, brick.path
            ),
        ));
    }
    let args = ResetArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        brick: brick.clone(),
        reset: false,
        force: req.force,
        client: client.clone(),
        heal,
        nonce: Uuid::new_v4(),
    };
    let back = BrickRecord {
        reset: false,
        ..brick.clone()
    };
    let swap = Swap {
        volume: vol.name.clone(),
        volume_id: vol.id,
        old: back.clone(),
        new: back,
        client,
        heal,
    };
    let mut nodes = vec![brick.peer_id];
    for n in peers::online_of(cx.node.store.as_ref(), &vol.brick_nodes()).await? {
        if !nodes.contains(&n) {
            nodes.push(n);
        }
    }
    let txn = Transaction {
        operation: format!("volume reset-brick {name} commit"),
        kind: "volume-reset-brick-commit",
        hook: None,
        locks: vec![volume_lock(name)],
        steps: vec![
            PrepareReset::call(vec![brick.peer_id], &args).within(PROCESS_STEP_TIMEOUT),
            MarkReset::call(vec![brick.peer_id], &args).within(PROCESS_STEP_TIMEOUT),
            RestartServices::call(nodes, &swap).within(PROCESS_STEP_TIMEOUT),
        ],
    };
    run(cx, txn).await?;
    Ok(get_volume(cx.node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// On the brick's node: marks the brick reset (or not) in the record and makes this node's
/// processes match; undo does the opposite. Both are idempotent.
pub(crate) struct MarkReset {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

impl MarkReset {
    async fn mark(&self, a: &ResetArgs, reset: bool) -> Result<(), StepError> {
        let store = self.node.store.as_ref();
        let there = get_volume(store, &a.volume)
            .await?
            .is_some_and(|v| v.id == a.volume_id);
        if there {
            update_volume(store, &a.volume, a.volume_id, |v| {
                for b in v.subvols.iter_mut().flat_map(|s| s.bricks.iter_mut()) {
                    if b.id == a.brick.id {
                        b.reset = reset;
                    }
                }
                Ok(())
            })
            .await?;
        }
        if reset {
            // A brick whose record says reset is no longer the reconciler's to start: stop it
            // by its pid file, as a restarted glusterd2 may not know it runs.
            replace::stop_brick(&self.processes, &self.node, &a.volume, &a.brick).await;
        }
        converge_volume(&self.processes, &a.volume).await?;
        Ok(())
    }
}

#[async_trait]
impl Step for MarkReset {
    const NAME: &'static str = "volume-reset.mark";
    type Args = ResetArgs;

    async fn run(&self, a: &ResetArgs) -> Result<(), StepError> {
        // Unmarking (commit) starts nothing here: the services step starts the brick.
        if a.reset {
            self.mark(a, true).await
        } else {
            let store = self.node.store.as_ref();
            update_volume(store, &a.volume, a.volume_id, |v| {
                for b in v.subvols.iter_mut().flat_map(|s| s.bricks.iter_mut()) {
                    if b.id == a.brick.id {
                        b.reset = false;
                    }
                }
                Ok(())
            })
            .await?;
            Ok(())
        }
    }

    async fn undo(&self, a: &ResetArgs) -> Result<(), StepError> {
        self.mark(a, !a.reset).await
    }
}

/// On the brick's node: checks and marks the brick's directory, and marks it for heal (see the
/// module's documentation); undo takes back only what it made.
pub(crate) struct PrepareReset {
    pub(crate) node: Arc<Node>,
}

impl PrepareReset {
    /// Checks and marks the directory (blocking).
    fn init(
        path: &std::path::Path,
        a: &ResetArgs,
        protected: &ProtectedDirs,
    ) -> Result<(), String> {
        let p = path.display();
        protected.check(path)?;
        if !path.exists() {
            std::fs::create_dir_all(path).map_err(|e| format!("cannot create brick {p}: {e}"))?;
            let _ = xattr::set(path, CREATED_MARKER, a.nonce.as_bytes());
        }
        let ours = |marker: &str| {
            xattr::get(path, marker)
                .ok()
                .flatten()
                .is_some_and(|v| v == a.nonce.as_bytes())
        };
        let (created, marked) = (ours(CREATED_MARKER), ours(MARKED_MARKER));
        match xattr::get(path, VOLUME_ID_XATTR).map_err(|e| format!("brick {p}: {e}"))? {
            // Ours already: made by this step (a retry), or the old disk's data.
            Some(v) if v == a.volume_id.as_bytes() => {
                if !(created || marked || a.force) {
                    return Err(format!(
                        "brick {p} still holds volume {}'s data: commit with force to reuse it (the self-heal daemons then heal what differs)",
                        a.volume
                    ));
                }
            }
            Some(_) => return Err(format!("brick {p} belongs to another volume")),
            None => {
                if xattr::get(path, GFID_XATTR).ok().flatten().is_some() && !a.force {
                    return Err(format!(
                        "brick {p} carries {GFID_XATTR}: it was part of a volume (commit with force to reuse it)"
                    ));
                }
                xattr::set(path, MARKED_MARKER, a.nonce.as_bytes())
                    .map_err(|e| format!("brick {p}: {e}"))?;
                xattr::set(path, VOLUME_ID_XATTR, a.volume_id.as_bytes())
                    .map_err(|e| format!("brick {p}: cannot set {VOLUME_ID_XATTR}: {e}"))?;
            }
        }
        let gl = path.join(".glusterfs");
        std::fs::create_dir_all(&gl).map_err(|e| format!("cannot create {}: {e}", gl.display()))?;
        if a.heal {
            xattr::set(path, replace::AFR_DIRTY_XATTR, &replace::ENTRY_DIRTY)
                .map_err(|e| format!("cannot mark {p} for heal: {e}"))?;
        }
        Ok(())
    }

    /// Undoes [`PrepareReset::init`] (blocking): a directory it created goes whole; on a fresh
    /// disk it gave the volume's id, what it and the brick's run made goes; on a reused one
    /// only the heal mark.
    fn undo_init(path: &std::path::Path, nonce: Uuid) {
        let ours = |marker: &str| {
            xattr::get(path, marker)
                .ok()
                .flatten()
                .is_some_and(|v| v == nonce.as_bytes())
        };
        if ours(CREATED_MARKER) {
            let _ = std::fs::remove_dir_all(path);
            return;
        }
        if ours(MARKED_MARKER) {
            let _ = std::fs::remove_dir_all(path.join(".glusterfs"));
            for x in [VOLUME_ID_XATTR, GFID_XATTR, MARKED_MARKER] {
                let _ = xattr::remove(path, x);
            }
        }
        let _ = xattr::remove(path, replace::AFR_DIRTY_XATTR);
    }
}

#[async_trait]
impl Step for PrepareReset {
    const NAME: &'static str = "volume-reset.prepare";
    type Args = ResetArgs;

    async fn run(&self, a: &ResetArgs) -> Result<(), StepError> {
        let files = bricks::files(
            &self.node.config,
            &a.volume,
            &a.brick.host,
            &a.brick.path,
            a.brick.id,
        );
        if bricks::running_pid(&files.pidfile, &a.brick.path).is_some() {
            return Err(format!(
                "brick {} still runs: reset-brick start stops it",
                a.brick.path
            )
            .into());
        }
        let path = std::path::PathBuf::from(&a.brick.path);
        let protected = ProtectedDirs::of(&self.node.config);
        let args = a.clone();
        tokio::task::spawn_blocking(move || Self::init(&path, &args, &protected))
            .await
            .map_err(|e| e.to_string())??;
        if !a.heal {
            return Ok(());
        }
        let marked = mount::mark_for_heal(
            &self.node,
            &a.volume,
            None,
            replace::REPLACE_BRICK_XATTR,
            vec![a.client.clone()],
        )
        .await;
        marked.map_err(|e| {
            StepError::Failed(format!(
                "cannot mark {} of volume {} as reset for the self-heal daemons: {e}",
                a.client, a.volume
            ))
        })
    }

    async fn undo(&self, a: &ResetArgs) -> Result<(), StepError> {
        // The brick is stopped by the mark's undo, which runs first.
        let path = std::path::PathBuf::from(&a.brick.path);
        let nonce = a.nonce;
        tokio::task::spawn_blocking(move || Self::undo_init(&path, nonce))
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
