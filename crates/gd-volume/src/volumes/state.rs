//! Start, stop and the process steps: the volume's state record and making each node's processes match it.

use super::*;

/// `POST /v1/volumes/{name}/start`: records the volume as started, then waits until every
/// brick node runs and has signed in its bricks; undone (bricks stopped, state restored) when
/// a node cannot.
pub async fn start_volume(cx: &Cluster, name: &str, force: bool) -> Result<VolumeInfo, OpError> {
    check_name(name)?;
    let node = &cx.node;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    if vol.state == VolumeState::Started && !force {
        return Err(OpError::new(
            ErrorCode::Conflict,
            format!("volume {name} is already started"),
        ));
    }
    let txn = state_change(node, &vol, VolumeState::Started, "start");
    // What a start forces (nothing of its own volume is stopped) is in the nodes' logs.
    run(cx, txn).await?;
    Ok(get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api())
}

/// `POST /v1/volumes/{name}/stop`: records the volume as stopped, then waits until every
/// brick node has stopped its bricks and self-heal daemon, and their processes are gone.
/// Returns the volume and what the nodes had to force (processes killed).
pub async fn stop_volume(cx: &Cluster, name: &str) -> Result<(VolumeInfo, Vec<String>), OpError> {
    check_name(name)?;
    let node = &cx.node;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?;
    match vol.state {
        VolumeState::Started => {}
        VolumeState::Stopped => {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!("volume {name} is already stopped"),
            ));
        }
        VolumeState::Created => {
            return Err(OpError::new(
                ErrorCode::Conflict,
                format!("volume {name} was never started"),
            ));
        }
    }
    require_online(node, &vol, "stopped").await?;
    let txn = state_change(node, &vol, VolumeState::Stopped, "stop");
    let notes = run(cx, txn).await?;
    let vol = get_volume(node.store.as_ref(), name)
        .await?
        .ok_or_else(|| not_found(name))?
        .to_api();
    Ok((vol, notes))
}

/// The arguments of the state and brick steps of start and stop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct StateArgs {
    volume: String,
    volume_id: Uuid,
    from: VolumeState,
    to: VolumeState,
}

/// A `volume-state.bricks` step for `vol` as it stands (its state unchanged): a reconciler
/// pass for the volume on every brick node, for a change that starts or stops its processes.
pub fn converge_step(vol: &VolumeRecord) -> Call {
    converge_step_on(vol, vol.brick_nodes())
}

/// Like [`converge_step`], on `nodes` only (those whose processes the change concerns).
pub(super) fn converge_step_on(vol: &VolumeRecord, nodes: Vec<Uuid>) -> Call {
    let args = StateArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        from: vol.state,
        to: vol.state,
    };
    ConvergeBricks::call(nodes, &args).within(PROCESS_STEP_TIMEOUT)
}

pub(super) fn state_change(
    node: &Node,
    vol: &VolumeRecord,
    to: VolumeState,
    verb: &str,
) -> Transaction {
    let args = StateArgs {
        volume: vol.name.clone(),
        volume_id: vol.id,
        from: vol.state,
        to,
    };
    Transaction {
        operation: format!("volume {verb} {}", vol.name),
        kind: match to {
            VolumeState::Stopped => "volume-stop",
            _ => "volume-start",
        },
        hook: Some(HookCall::new(
            match to {
                VolumeState::Stopped => "stop",
                _ => "start",
            },
            &vol.name,
        )),
        locks: vec![volume_lock(&vol.name)],
        steps: vec![
            RecordState::call(vec![node.identity().peer_id], &args),
            ConvergeBricks::call(vol.brick_nodes(), &args).within(PROCESS_STEP_TIMEOUT),
        ],
    }
}

/// Sets a volume's state (compare-and-swap on its id); undo sets it back.
pub(crate) struct RecordState {
    pub(crate) node: Arc<Node>,
    pub(crate) processes: Arc<Processes>,
}

impl RecordState {
    async fn set(&self, a: &StateArgs, state: VolumeState) -> Result<(), String> {
        update_volume(&*self.node.store, &a.volume, a.volume_id, |v| {
            v.state = state;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Step for RecordState {
    const NAME: &'static str = "volume-state.record";
    type Args = StateArgs;

    async fn run(&self, a: &StateArgs) -> Result<(), StepError> {
        Ok(self.set(a, a.to).await?)
    }
    async fn undo(&self, a: &StateArgs) -> Result<(), StepError> {
        self.set(a, a.from).await?;
        // Put the local processes back as they were.
        let _ = self.processes.converge(Some(&a.volume)).await;
        Ok(())
    }
}

/// Runs a reconciler pass for one volume on this node, now: returns once its processes
/// match the stored state (started, or gone); the note says what had to be killed.
pub(super) async fn converge_volume(
    processes: &Processes,
    volume: &str,
) -> Result<Option<String>, String> {
    let pass = processes
        .converge(Some(volume))
        .await
        .map_err(|e| e.to_string())?;
    if !pass.problems.is_empty() {
        return Err(pass.problems.join("; "));
    }
    Ok((!pass.killed.is_empty()).then(|| pass.killed.join("; ")))
}

/// Makes this node's bricks and self-heal daemon of the volume match its (new) state, now.
pub(crate) struct ConvergeBricks {
    pub(crate) processes: Arc<Processes>,
}

#[async_trait]
impl Step for ConvergeBricks {
    const NAME: &'static str = "volume-state.bricks";
    type Args = StateArgs;

    async fn run(&self, a: &StateArgs) -> Result<(), StepError> {
        self.run_noted(a).await.map(drop)
    }
    async fn run_noted(&self, a: &StateArgs) -> Result<Option<String>, StepError> {
        Ok(converge_volume(&self.processes, &a.volume).await?)
    }
    async fn undo(&self, _: &StateArgs) -> Result<(), StepError> {
        // The state step's undo restores the record and converges again; nothing else to do.
        Ok(())
    }
}

/// Before a delete: no process of the (not started) volume runs on this node any more; any
/// that does is stopped. Changes nothing in the store, so there is nothing to undo. (A volume
/// started meanwhile keeps its processes: the delete's store step refuses it.)
pub(crate) struct StopProcesses {
    pub(crate) processes: Arc<Processes>,
}

#[async_trait]
impl Step for StopProcesses {
    const NAME: &'static str = "volume-delete.processes";
    type Args = VolumeRecord;

    async fn run(&self, vol: &VolumeRecord) -> Result<(), StepError> {
        self.run_noted(vol).await.map(drop)
    }
    async fn run_noted(&self, vol: &VolumeRecord) -> Result<Option<String>, StepError> {
        Ok(converge_volume(&self.processes, &vol.name).await?)
    }
    async fn undo(&self, _: &VolumeRecord) -> Result<(), StepError> {
        Ok(())
    }
}
